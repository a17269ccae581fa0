//! The command line: `train`, `eval` and `bench`.

use crate::data::{self, Dataset, KnownDataset};
use crate::model::ModelKind;
use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Trains bottleneck's autoencoders on MNIST-format data and exports them as ONNX for the web page.
#[derive(Parser, Debug)]
#[command(name = "trainer", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The trainer's subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a model and write its ONNX files, model card, CSV log and loss curve to --out.
    Train(TrainArgs),
    /// Run an exported ONNX model through tract on a dataset's test split and print one JSON line.
    Eval(EvalArgs),
    /// Time training epochs at full scale and print seconds per epoch against the Keras reference.
    Bench(BenchArgs),
}

/// Where the images come from: a local folder or a download.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct DataSource {
    /// Folder holding the four canonical IDX files (train-images-idx3-ubyte.gz,
    /// train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Download a canonical dataset into the user cache folder (checked by SHA-256) and use it.
    #[arg(long, value_enum, value_name = "NAME")]
    pub dataset: Option<KnownDataset>,
}

impl DataSource {
    /// Reads the dataset, downloading it first when asked to.
    pub fn load(&self) -> Result<Dataset> {
        let dir = match (&self.data, self.dataset) {
            (Some(dir), _) => dir.clone(),
            (None, Some(dataset)) => data::fetch(dataset, None)?,
            (None, None) => unreachable!("clap requires --data or --dataset"),
        };
        data::load_dir(&dir)
    }
}

/// `train`: which model and how.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The model to train: `dense` is the anomaly detector.
    #[arg(value_enum)]
    pub model: ModelKind,
    #[command(flatten)]
    pub source: DataSource,
    /// Passes over the training set (the seed recipe: 66 on the 9,003-image mnist subset, about
    /// 590 steps, the same as 10 epochs on full MNIST).
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Folder for the outputs; files in it are replaced only once training has succeeded.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Images per training step.
    #[arg(long, default_value_t = 1024)]
    pub batch: usize,
    /// Seed for the initial weights and the shuffles: the same seed gives the same run.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Adam's learning rate (Keras' default).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f32,
}

/// `eval`: which model on which data.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The ONNX file to evaluate (dense.onnx).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Folder with the four canonical IDX files; its test split is the validation set.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Another dataset's folder whose test images count as anomalies: adds `auroc_vs_anomalies`
    /// and `auroc_vs_noise` (uniform-noise images) to the output.
    #[arg(long, value_name = "DIR2")]
    pub anomalies: Option<PathBuf>,
    /// Seed for the uniform-noise images.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `bench`: time epochs at full scale.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The model to time.
    #[arg(value_enum)]
    pub model: ModelKind,
    /// Folder with the four canonical IDX files; use the full 60,000-image fashion-mnist.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Epochs to time; the first is reported apart as a warm-up.
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// Images per step (the reference uses 1024 for dense).
    #[arg(long, default_value_t = 1024)]
    pub batch: usize,
}

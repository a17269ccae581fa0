//! The command line: `train`, `eval`, `bench`, `gallery` and `code-map`.

use crate::data::{self, Dataset, KnownDataset};
use crate::model::ModelKind;
use crate::onnx::WeightFormat;
use anyhow::Result;
use bottleneck::NoiseSpec;
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
    /// Train a model and write its ONNX files, model card, CSV log and loss curve to --out; for
    /// dense, also its code spread and map of codes (as `code-map` writes them).
    Train(TrainArgs),
    /// Run an exported ONNX model through tract on a dataset's test split and print one JSON line.
    Eval(EvalArgs),
    /// Time training epochs at full scale and compare them with the machine's f32 peak.
    ///
    /// Prints one line per epoch, then:
    ///
    /// - the CPU's name and the peak: the f32 multiply-add rate of a SIMD kernel (AVX-512F,
    ///   AVX2+FMA, NEON or scalar, the widest the CPU has) run on every training thread at once for
    ///   0.4 s, before and after the epochs, per thread and in total by the wall clock, and the share
    ///   of that time the threads were on a CPU (below 100 % when other work takes the cores);
    ///
    /// - the model's seconds per epoch (the median of the epochs after the first, which pays for
    ///   start-up), the FLOPs of one training step per image, counted from the layer list (matrix
    ///   products only, 2 per multiply-add: the forward pass, the weight gradients, and the input
    ///   gradients of all layers but the first), the GFLOP/s reached, counting the epoch's
    ///   validation pass too, and that as a percentage of the mean of the two peaks;
    ///
    /// - one JSON line with these figures and the load average, for scripts such as
    ///   bench/trainer-vs-keras.
    ///
    /// On a machine shared with other work, the peak and the epochs both run at what is left.
    Bench(BenchArgs),
    /// Write the page's gallery: test digits plus examples that are not digits, as one JSON file.
    Gallery(GalleryArgs),
    /// Compute a dense model's code spread (into dense.json) and map of codes (dense.map.json).
    ///
    /// Reads dense.encoder.onnx and dense.json in --models and runs the encoder through the
    /// page's engine on --data, so the figures describe the codes the page itself computes:
    ///
    /// - dense.json gains `code_spread`: per code dimension, the least and greatest value over the
    ///   training images' codes. The page makes them the ranges of its ten code sliders.
    ///
    /// - dense.map.json holds the test images' codes seen along their two principal axes: the
    ///   mean code, the two axes, the share of the codes' variance each holds, and every test
    ///   image's position on them (quantized to 0..=1000 over their extent, to keep the page's
    ///   download small) with its label. The page draws the map from it and decodes a point of it
    ///   as mean + a·axis1 + b·axis2.
    ///
    /// Both files are replaced atomically. `train dense` writes the same two things; this
    /// recomputes them for a model already trained, with the data it was trained on.
    CodeMap(CodeMapArgs),
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

/// `train`: which model and how. Unset flags take the seed article's recipe for that model.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The model to train: `dense` is the anomaly detector, `conv` the denoiser.
    #[arg(value_enum)]
    pub model: ModelKind,
    #[command(flatten)]
    pub source: DataSource,
    /// Passes over the training set. The seed recipe for dense is about 590 steps: 10 epochs of
    /// full MNIST, or 66 of the 9,003-image mnist subset.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Folder for the outputs; files in it are replaced only once training has succeeded.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Images per training step [default: 1024 for dense, 256 for conv].
    #[arg(long)]
    pub batch: Option<usize>,
    /// Seed for the initial weights, the shuffles and the noise: the same seed gives the same run.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The optimizer [default: adam for dense, adadelta for conv, as in the seed article].
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerKind>,
    /// Learning rate [default: 0.001 for adam, 1.0 for adadelta, Keras' defaults].
    #[arg(long)]
    pub lr: Option<f32>,
    /// Noise added to the conv model's inputs, drawn afresh every epoch: `gaussian:SIGMA`
    /// (then clipped to [0,1]), `salt-pepper:FRACTION`, `occlusion:BOXES`, or a mixture joined
    /// by `+`, e.g. `gaussian:0.3+occlusion:1` [default: gaussian:0.5].
    #[arg(long, value_name = "SPEC")]
    pub noise: Option<NoiseSpec>,
    /// How the ONNX files store weight matrices: `f32`, exactly as trained; `int8`, with one
    /// scale per output channel: a quarter of the bytes for the page to download; or `int4`, two
    /// weights to a byte with one scale per block of 32 along each matrix's input axis (for a
    /// convolution, its input channels at one kernel position; a tensor whose input axis is
    /// shorter than a block stays int8), in an opset 21 file. The model card's error
    /// distribution and PSNRs are measured on the files as written.
    #[arg(long, default_value = "f32", value_parser = weight_format_parser())]
    pub weights: WeightFormat,
    /// Epochs of quantization-aware fine-tuning after --epochs, for --weights int8 or int4: each
    /// step's forward pass uses the weights quantized and restored exactly as the file will store
    /// them, and its gradient updates the f32 weights as if unrounded (straight through). The
    /// validation loss of these epochs is that of the quantized weights.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub qat_epochs: usize,
    /// The learning rate of the --qat-epochs [default: a tenth of --lr's], so that the weights
    /// settle between rounding steps rather than jump across them.
    #[arg(long, value_name = "RATE")]
    pub qat_lr: Option<f32>,
}

/// The optimizers `--optimizer` offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OptimizerKind {
    /// Adam with Keras' defaults (β1 0.9, β2 0.999, ε 1e-7).
    Adam,
    /// Adadelta with Keras' defaults (ρ 0.95, ε 1e-7).
    Adadelta,
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
    /// For dense models: another dataset's folder whose test images count as anomalies; adds
    /// `auroc_vs_anomalies` and `auroc_vs_noise` (uniform-noise images) to the output.
    #[arg(long, value_name = "DIR2")]
    pub anomalies: Option<PathBuf>,
    /// For conv models: the noise put on the test images (same forms as `train --noise`).
    #[arg(long, value_name = "SPEC", default_value = "gaussian:0.5")]
    pub noise: NoiseSpec,
    /// Seed for the noise images and the noise put on images.
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
    /// Images per step [default: the seed recipe's, 1024 for dense and 256 for conv].
    #[arg(long)]
    pub batch: Option<usize>,
}

/// `gallery`: which images go into the page's examples.
#[derive(Args, Debug)]
pub struct GalleryArgs {
    /// Folder with the four canonical IDX files of the digits (its test split is used).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Folder of another MNIST-format data set (e.g. fashion-mnist) whose test images become the
    /// out-of-distribution examples, one per class.
    #[arg(long, value_name = "DIR2")]
    pub anomalies: PathBuf,
    /// Test digits per class.
    #[arg(long, default_value_t = 3)]
    pub per_digit: usize,
    /// Seed of the noise example.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The JSON file to write, e.g. www/gallery.json.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `code-map`: which model and which data.
#[derive(Args, Debug)]
pub struct CodeMapArgs {
    /// Folder holding dense.encoder.onnx and dense.json, e.g. www/models: dense.json is rewritten
    /// and dense.map.json written there.
    #[arg(long, value_name = "DIR")]
    pub models: PathBuf,
    /// Folder with the four canonical IDX files the model was trained on: its training split gives
    /// the code spread, its test split the map.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
}

/// Parses `--weights`, listing the formats in `--help` and in the error for an unknown one.
fn weight_format_parser() -> impl clap::builder::TypedValueParser<Value = WeightFormat> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(WeightFormat::ALL.map(WeightFormat::name)).map(
        |name| {
            name.parse::<WeightFormat>()
                .expect("every listed name parses")
        },
    )
}

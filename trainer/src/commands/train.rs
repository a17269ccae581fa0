//! `train`: fit a model, then write its ONNX files, model card, CSV log and loss curve.

use crate::atomic::write_atomic;
use crate::cli::TrainArgs;
use crate::loss::{Loss, MeanSquaredError};
use crate::model::{Model, ModelKind, Part};
use crate::optim::{Adam, Optimizer};
use crate::plot::loss_curve_svg;
use crate::train::{EpochStats, Pairs, TrainOptions, train};
use anyhow::{Context, Result};
use bottleneck::card::{DatasetInfo, ErrorDistribution, ModelCard, TrainingInfo, TrainingResults};
use super::eval::row_errors;
use ndarray::ArrayView2;
use prost::Message;
use std::path::Path;
use std::time::Instant;

/// Bins of the validation-error histogram the page draws.
const HISTOGRAM_BINS: usize = 40;

/// Runs `trainer train`.
pub fn run(args: &TrainArgs) -> Result<()> {
    let dataset = args.source.load()?;
    let train_x = dataset.train.images.as_array();
    let val_x = dataset.test.images.as_array();
    println!(
        "training {} on {} ({} train / {} validation images), {} epochs at batch {}, seed {}",
        args.model.name(), dataset.name, train_x.nrows(), val_x.nrows(), args.epochs, args.batch, args.seed
    );
    let options = TrainOptions { epochs: args.epochs, batch: args.batch, seed: args.seed, verbose: true };
    let started = Instant::now();
    let Fitted { mut model, history, optimizer, loss } = fit(args.model, train_x, val_x, &options, args.lr)?;
    let wall_time_s = started.elapsed().as_secs_f64();

    let errors = row_errors(val_x, model.predict(val_x, args.batch).view());
    let last = history.last().expect("at least one epoch");
    let steps = args.epochs * train_x.nrows().div_ceil(args.batch);
    let card = ModelCard {
        model: args.model.name().into(),
        architecture: model.architecture(),
        input_shape: model.input_shape().to_vec(),
        dataset: DatasetInfo { name: dataset.name.clone(), train_count: train_x.nrows(), val_count: val_x.nrows() },
        training: TrainingInfo {
            epochs: args.epochs,
            steps,
            batch: args.batch,
            seed: args.seed,
            optimizer,
            learning_rate: args.lr,
            loss: loss.into(),
            recipe: recipe(args, steps),
            noise: None,
        },
        results: TrainingResults {
            final_train_loss: last.train_loss,
            final_val_loss: last.val_loss,
            wall_time_s,
            seconds_per_epoch: wall_time_s / args.epochs as f64,
        },
        val_error: ErrorDistribution::from_errors(&errors, HISTOGRAM_BINS)
            .map_err(|e| anyhow::anyhow!("validation errors: {e}"))?,
        denoising: None,
    };
    write_outputs(&args.out, &model, &card, &history)?;
    println!(
        "wrote {}: val_loss {:.5}, reconstruction error p50 {:.3} p99 {:.3}, {:.1}s",
        args.out.display(), last.val_loss, card.val_error.p50, card.val_error.p99, wall_time_s
    );
    Ok(())
}

/// A trained model with what the card needs to say about its training.
pub struct Fitted {
    /// The trained model.
    pub model: Model,
    /// One record per epoch.
    pub history: Vec<EpochStats>,
    /// The optimizer's description.
    pub optimizer: String,
    /// The loss's name.
    pub loss: &'static str,
}

/// Initialises a model of `kind` and trains it with its recipe's loss and optimizer.
pub fn fit(kind: ModelKind, train_x: ArrayView2<f32>, val_x: ArrayView2<f32>, options: &TrainOptions, lr: f32) -> Result<Fitted> {
    let mut model = Model::new(kind, options.seed);
    let loss = MeanSquaredError;
    let mut optimizer = Adam::new(lr);
    let history = train(
        &mut model,
        &loss,
        &mut optimizer,
        train_x,
        &Pairs { inputs: val_x, targets: val_x },
        options,
        &|clean, _, _| clean,
    )?;
    Ok(Fitted { model, history, optimizer: optimizer.describe(), loss: loss.name() })
}

/// The seed recipe's step count: 10 epochs of the 60,000 MNIST images at batch 1024.
const SEED_STEPS: usize = 590;

/// `seed` when the run follows the seed article's recipe, otherwise what differs from it, so the
/// model card says plainly how a shipped model went beyond the recipe.
fn recipe(args: &TrainArgs, steps: usize) -> String {
    let mut changes = Vec::new();
    if steps.abs_diff(SEED_STEPS) > SEED_STEPS / 10 {
        changes.push(format!("{steps} steps instead of about {SEED_STEPS}"));
    }
    if args.batch != 1024 {
        changes.push(format!("batch {} instead of 1024", args.batch));
    }
    if args.lr != 1e-3 {
        changes.push(format!("learning rate {} instead of 0.001", args.lr));
    }
    if changes.is_empty() { "seed".into() } else { format!("seed, except: {}", changes.join("; ")) }
}

/// Encodes everything first, then writes each file atomically: a failure before this point leaves
/// the older files untouched, and no file is ever half-written.
fn write_outputs(out: &Path, model: &Model, card: &ModelCard, history: &[EpochStats]) -> Result<()> {
    let name = model.kind.name();
    let mut files: Vec<(String, Vec<u8>)> = vec![(format!("{name}.onnx"), model.to_onnx(Part::Full).encode_to_vec())];
    if model.has_bottleneck() {
        files.push((format!("{name}.encoder.onnx"), model.to_onnx(Part::Encoder).encode_to_vec()));
        files.push((format!("{name}.decoder.onnx"), model.to_onnx(Part::Decoder).encode_to_vec()));
    }
    files.push((format!("{name}.log.csv"), history_csv(history).into_bytes()));
    files.push((format!("{name}.loss.svg"), loss_curve_svg(&format!("{name} autoencoder"), &card.training.loss, history)?.into_bytes()));
    // The card goes last: the page reads it to find the model, so it only ever names finished files.
    files.push((format!("{name}.json"), card.to_json_pretty().into_bytes()));
    for (file, bytes) in files {
        let path = out.join(&file);
        write_atomic(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The per-epoch log as CSV.
fn history_csv(history: &[EpochStats]) -> String {
    let mut csv = String::from("epoch,train_loss,val_loss,seconds\n");
    for s in history {
        csv += &format!("{},{},{},{:.3}\n", s.epoch, s.train_loss, s.val_loss, s.seconds);
    }
    csv
}

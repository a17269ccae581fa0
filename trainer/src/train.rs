//! The training loop: seeded shuffles, mini-batches, a progress bar, one line per epoch, and a stop
//! with a clear message when the loss stops being a number.

use crate::cpu_time::process_cpu_seconds;
use crate::loss::Loss;
use crate::model::Model;
use crate::onnx::WeightFormat;
use crate::optim::Optimizer;
use crate::recipe::Qat;
use anyhow::{Result, bail};
use bottleneck::Rng;
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{Array2, ArrayView2, Axis};
use std::time::Instant;

/// A loss above this is treated as divergence: with inputs and targets in [0,1] no sane run gets near it.
const EXPLODED_LOSS: f64 = 1e6;

/// How to train.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Passes over the training set, fine-tuning included.
    pub epochs: usize,
    /// Samples per step.
    pub batch: usize,
    /// Fixes the shuffles (the weights are fixed by the model's own seed).
    pub seed: u64,
    /// Print the per-epoch lines and draw the progress bar.
    pub verbose: bool,
    /// Quantization-aware fine-tuning in the last epochs, if any.
    pub qat: Option<Qat>,
}

/// What one epoch measured.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochStats {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's steps.
    pub train_loss: f64,
    /// Loss on the validation set after the epoch.
    pub val_loss: f64,
    /// Wall time of the epoch, validation included.
    pub seconds: f64,
    /// The process's time on a CPU during the epoch, over all its threads (none where the system
    /// does not tell).
    pub cpu_seconds: Option<f64>,
}

/// The inputs and targets of one set: an autoencoder's target is its clean input.
pub struct Pairs<'a> {
    /// What the model sees, one sample per row.
    pub inputs: ArrayView2<'a, f32>,
    /// What it should give back.
    pub targets: ArrayView2<'a, f32>,
}

/// Trains `model` in place and returns one record per epoch. `make_inputs` turns the clean batch into
/// the model's input (identity for a plain autoencoder, fresh noise for a denoiser); it is given the
/// epoch and step so it can draw seeded noise.
pub fn train(
    model: &mut Model,
    loss: &dyn Loss,
    optimizer: &mut dyn Optimizer,
    train_set: ArrayView2<f32>,
    val: &Pairs,
    options: &TrainOptions,
    make_inputs: &dyn Fn(Array2<f32>, usize, usize) -> Array2<f32>,
) -> Result<Vec<EpochStats>> {
    let samples = train_set.nrows();
    if samples == 0 || options.batch == 0 || options.epochs == 0 {
        bail!(
            "nothing to train: {samples} samples, batch {}, {} epochs",
            options.batch,
            options.epochs
        );
    }
    crate::denormals::flush_denormals_everywhere();
    let upto = if loss.takes_logits() {
        model.len() - 1
    } else {
        model.len()
    };
    let steps = samples.div_ceil(options.batch);
    let mut order: Vec<usize> = (0..samples).collect();
    let mut rng = Rng::new(options.seed);
    let mut history = Vec::with_capacity(options.epochs);

    for epoch in 1..=options.epochs {
        let started = Instant::now();
        let cpu_started = process_cpu_seconds();
        let bar = progress_bar(options.verbose, steps, epoch, options.epochs);
        rng.shuffle(&mut order);
        let qat = options
            .qat
            .filter(|qat| epoch + qat.epochs > options.epochs);
        if let Some(qat) = qat {
            optimizer.set_learning_rate(qat.learning_rate);
        }
        let quantized = qat.map(|qat| qat.format);
        let mut loss_sum = 0.0;
        for (step, indices) in order.chunks(options.batch).enumerate() {
            let targets = gather_rows(train_set, indices);
            let inputs = make_inputs(targets.clone(), epoch, step);
            // A loss that is not a number stops the run before its gradient reaches the weights.
            let batch_loss = with_weights_as(model, quantized, |model| {
                let prediction = model.forward(inputs, true, upto);
                let (batch_loss, grad) = loss.loss_and_grad(prediction, targets.view());
                if batch_loss.is_finite() && batch_loss <= EXPLODED_LOSS {
                    model.backward(grad, upto);
                }
                batch_loss
            });
            if !batch_loss.is_finite() || batch_loss > EXPLODED_LOSS {
                bar.abandon();
                bail!(
                    "training diverged at epoch {epoch}, step {}: the loss is {batch_loss}. Nothing was \
                     written. Try a smaller --lr (now {}) or a different --seed.",
                    step + 1,
                    optimizer.learning_rate()
                );
            }
            optimizer.step(model.params());
            loss_sum += batch_loss;
            let rate =
                ((step + 1) * options.batch).min(samples) as f64 / started.elapsed().as_secs_f64();
            bar.set_message(format!(
                "loss {:.4}  {:.0} img/s",
                loss_sum / (step + 1) as f64,
                rate
            ));
            bar.inc(1);
        }
        bar.finish_and_clear();
        let stats = EpochStats {
            epoch,
            train_loss: loss_sum / steps as f64,
            val_loss: with_weights_as(model, quantized, |model| {
                evaluate_loss(model, loss, val, options.batch)
            }),
            seconds: started.elapsed().as_secs_f64(),
            cpu_seconds: cpu_started
                .zip(process_cpu_seconds())
                .map(|(start, end)| end - start),
        };
        if !stats.val_loss.is_finite() {
            bail!(
                "validation loss is {} after epoch {epoch}. Nothing was written. Try a smaller --lr.",
                stats.val_loss
            );
        }
        if options.verbose {
            println!(
                "epoch {epoch}/{}  loss {:.5}  val_loss {:.5}  {:.2}s",
                options.epochs, stats.train_loss, stats.val_loss, stats.seconds
            );
        }
        history.push(stats);
    }
    Ok(history)
}

/// `work` on `model`, with its parameters as a file in `format` stores them when there is one:
/// quantized for `work`, their f32 values put back after it.
fn with_weights_as<T>(
    model: &mut Model,
    format: Option<WeightFormat>,
    work: impl FnOnce(&mut Model) -> T,
) -> T {
    let originals = format.map(|format| model.quantize_params(format));
    let result = work(model);
    if let Some(originals) = originals {
        model.restore_params(originals);
    }
    result
}

/// The loss over a whole set, computed in chunks the way training computes it.
pub fn evaluate_loss(model: &mut Model, loss: &dyn Loss, set: &Pairs, chunk: usize) -> f64 {
    let upto = if loss.takes_logits() {
        model.len() - 1
    } else {
        model.len()
    };
    let mut total = 0.0;
    for (inputs, targets) in set
        .inputs
        .axis_chunks_iter(Axis(0), chunk)
        .zip(set.targets.axis_chunks_iter(Axis(0), chunk))
    {
        let prediction = model.forward(inputs.to_owned(), false, upto);
        total += loss.loss_and_grad(prediction, targets).0 * inputs.nrows() as f64;
    }
    total / set.inputs.nrows().max(1) as f64
}

/// The rows `indices` of `set`, in that order. ndarray's `select` copied them value by value, through
/// `concatenate`; whole rows copy as slices.
fn gather_rows(set: ArrayView2<f32>, indices: &[usize]) -> Array2<f32> {
    let mut values = Vec::with_capacity(indices.len() * set.ncols());
    for &i in indices {
        let row = set.row(i);
        match row.as_slice() {
            Some(row) => values.extend_from_slice(row),
            None => values.extend(row.iter()),
        }
    }
    Array2::from_shape_vec((indices.len(), set.ncols()), values).expect("whole rows")
}

/// A per-epoch bar with step, running loss and throughput; hidden when not verbose or not a terminal.
fn progress_bar(verbose: bool, steps: usize, epoch: usize, epochs: usize) -> ProgressBar {
    if !verbose {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] step {pos}/{len}  {msg}  ({elapsed})")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("epoch {epoch}/{epochs}"));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn gather_rows_matches_select() {
        let set = array![[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]];
        assert_eq!(
            gather_rows(set.view(), &[2, 0, 2]),
            set.select(Axis(0), &[2, 0, 2])
        );
        assert_eq!(
            gather_rows(set.t(), &[1, 0]),
            set.t().select(Axis(0), &[1, 0])
        );
    }
}

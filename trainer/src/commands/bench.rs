//! `bench`: seconds per training epoch at full scale, against the Keras reference.

use super::train::{ensure_mnist_sized, fit, validation_inputs};
use crate::cli::BenchArgs;
use crate::data::load_dir;
use crate::model::ModelKind;
use crate::recipe::Recipe;
use crate::train::Pairs;
use anyhow::Result;

/// Keras 3 / TensorFlow-CPU seconds per epoch on the 60,000 fashion-mnist images on this 2-core kind
/// of machine, from shared/data/README.md (dense at batch 1024, conv at batch 256).
fn keras_seconds_per_epoch(kind: ModelKind) -> f64 {
    match kind {
        ModelKind::Dense => 2.13,
        ModelKind::Conv => 21.9,
    }
}

/// Runs `trainer bench`: prints one line per epoch, then one JSON line with the figures.
pub fn run(args: &BenchArgs) -> Result<()> {
    let dataset = load_dir(&args.data)?;
    ensure_mnist_sized(&dataset)?;
    let train_x = dataset.train.images.as_array();
    let val_x = dataset.test.images.as_array();
    let recipe =
        Recipe::seed(args.model, args.epochs, 0).with_overrides(args.batch, None, None, None)?;
    let val_inputs = validation_inputs(&recipe, val_x)?;
    let fitted = fit(
        &recipe,
        train_x,
        &Pairs {
            inputs: val_inputs.view(),
            targets: val_x,
        },
        true,
    )?;
    // The first epoch pays for page faults and thread start-up; the rest are the steady state.
    let steady: Vec<f64> = fitted.history.iter().skip(1).map(|s| s.seconds).collect();
    let seconds = if steady.is_empty() {
        fitted.history[0].seconds
    } else {
        median(&steady)
    };
    let reference = keras_seconds_per_epoch(args.model);
    let summary = serde_json::json!({
        "model": args.model.name(),
        "data": dataset.name,
        "train_images": train_x.nrows(),
        "batch": recipe.batch,
        "epochs_timed": fitted.history.len(),
        "first_epoch_s": fitted.history[0].seconds,
        "seconds_per_epoch": seconds,
        "keras_seconds_per_epoch": reference,
        "ratio_vs_keras": seconds / reference,
        "final_val_loss": fitted.history.last().map(|s| s.val_loss),
        "threads": rayon::current_num_threads(),
    });
    println!("{summary}");
    Ok(())
}

/// The median of a non-empty list.
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

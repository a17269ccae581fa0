//! `train`: fit a model, then write its ONNX files, model card, CSV log, loss curve and, for the
//! denoiser, a picture of what it does; for the dense model, the map of its codes and, in the
//! card, their spread.

use super::code_map::code_figures;
use super::eval::{denoising_psnr, noisy_copy, row_errors, run_in_chunks};
use crate::atomic::write_atomic;
use crate::cli::TrainArgs;
use crate::data::Dataset;
use crate::model::{Model, Part};
use crate::onnx::{OnnxRunner, WeightFormat};
use crate::picture::denoising_png;
use crate::plot::loss_curve_svg;
use crate::recipe::Recipe;
use crate::train::{EpochStats, Pairs, TrainOptions, train};
use anyhow::{Context, Result, anyhow, bail};
use bottleneck::IMAGE_SIDE;
use bottleneck::card::{
    DatasetInfo, DenoisingResults, ErrorDistribution, ModelCard, TrainingInfo, TrainingResults,
};
use bottleneck::rng::derive_seed;
use ndarray::{Array2, ArrayView2};
use prost::Message;
use std::path::Path;
use std::time::Instant;

/// Bins of the validation-error histogram the page draws.
const HISTOGRAM_BINS: usize = 40;
/// Test digits in the clean / noisy / denoised picture.
const PICTURE_DIGITS: usize = 8;
/// Stream of the seed that draws the validation noise, apart from the training noise's streams.
const VAL_NOISE_STREAM: u64 = u64::MAX;

/// Runs `trainer train`.
pub fn run(args: &TrainArgs) -> Result<()> {
    let recipe = Recipe::seed(args.model, args.epochs, args.seed)
        .with_overrides(args.batch, args.optimizer, args.lr, args.noise.clone())?
        .with_qat(args.qat_epochs, args.weights, args.qat_lr)?;
    let dataset = args.source.load()?;
    ensure_mnist_sized(&dataset)?;
    let train_x = dataset.train.images.as_array();
    let val_x = dataset.test.images.as_array();
    println!(
        "training {} on {} ({} train / {} validation images), {} epochs at batch {}, {:?} lr {}, seed {}{}{}",
        recipe.model.name(),
        dataset.name,
        train_x.nrows(),
        val_x.nrows(),
        recipe.total_epochs(),
        recipe.batch,
        recipe.optimizer,
        recipe.learning_rate,
        recipe.seed,
        recipe
            .noise
            .as_ref()
            .map_or(String::new(), |n| format!(", noise {n}")),
        recipe.qat.map_or(String::new(), |qat| format!(
            ", the last {} on {} weights at lr {}",
            qat.epochs,
            qat.format.name(),
            qat.learning_rate
        )),
    );
    let val_inputs = validation_inputs(&recipe, val_x)?;
    let started = Instant::now();
    let Fitted {
        model,
        history,
        optimizer,
    } = fit(
        &recipe,
        train_x,
        &Pairs {
            inputs: val_inputs.view(),
            targets: val_x,
        },
        true,
    )?;
    let wall_time_s = started.elapsed().as_secs_f64();

    let full_onnx = model.to_onnx(Part::Full, args.weights).encode_to_vec();
    // The card describes the file that ships, run by the engine the page uses: with int8 weights
    // its outputs differ from the trained model's.
    let outputs = run_in_chunks(&mut OnnxRunner::from_bytes(&full_onnx)?, val_inputs.view())?;
    // Likewise the code spread and the map come from the encoder file that ships.
    let encoder_onnx = model
        .has_bottleneck()
        .then(|| model.to_onnx(Part::Encoder, args.weights).encode_to_vec());
    let (code_spread, code_map) = match &encoder_onnx {
        Some(bytes) => {
            let (spread, map) = code_figures(&mut OnnxRunner::from_bytes(bytes)?, &dataset)?;
            (Some(spread), Some(map))
        }
        None => (None, None),
    };
    let last = history.last().expect("at least one epoch");
    let card = ModelCard {
        model: recipe.model.name().into(),
        architecture: model.architecture(),
        input_shape: model.input_shape().to_vec(),
        weights: args.weights.name().into(),
        dataset: DatasetInfo {
            name: dataset.name.clone(),
            train_count: train_x.nrows(),
            val_count: val_x.nrows(),
        },
        training: TrainingInfo {
            epochs: recipe.total_epochs(),
            steps: recipe.steps(train_x.nrows()),
            batch: recipe.batch,
            seed: recipe.seed,
            optimizer,
            learning_rate: recipe.learning_rate,
            loss: recipe.loss().name().into(),
            recipe: recipe.differences_from_seed(train_x.nrows()),
            noise: recipe.noise.as_ref().map(|n| n.to_string()),
        },
        results: TrainingResults {
            final_train_loss: last.train_loss,
            final_val_loss: last.val_loss,
            wall_time_s,
            seconds_per_epoch: wall_time_s / recipe.total_epochs() as f64,
        },
        val_error: ErrorDistribution::from_errors(
            &row_errors(val_x, outputs.view()),
            HISTOGRAM_BINS,
        )
        .map_err(|e| anyhow!("validation errors: {e}"))?,
        denoising: recipe.noise.as_ref().map(|noise| {
            let (psnr_noisy_db, psnr_denoised_db) =
                denoising_psnr(val_x, val_inputs.view(), outputs.view());
            DenoisingResults {
                noise: noise.to_string(),
                psnr_noisy_db,
                psnr_denoised_db,
            }
        }),
        code_spread,
    };
    let mut files = model_files(
        &model,
        full_onnx,
        encoder_onnx,
        args.weights,
        &card,
        &history,
    )?;
    if recipe.noise.is_some() {
        let png = denoising_png(val_x, val_inputs.view(), outputs.view(), PICTURE_DIGITS)?;
        files.push((format!("{}.denoising.png", card.model), png));
    }
    if let Some(map) = &code_map {
        files.push((
            format!("{}.map.json", card.model),
            map.to_json().into_bytes(),
        ));
    }
    // The card goes last: the page reads it to find the model, so it must only ever name finished files.
    files.push((
        format!("{}.json", card.model),
        card.to_json_pretty().into_bytes(),
    ));
    write_all(&args.out, files)?;
    println!(
        "wrote {}: val_loss {:.5}, reconstruction error p50 {:.3} p99 {:.3}{}{}, {:.1}s",
        args.out.display(),
        last.val_loss,
        card.val_error.p50,
        card.val_error.p99,
        card.denoising.as_ref().map_or(String::new(), |d| format!(
            ", PSNR noisy {:.2} dB → denoised {:.2} dB",
            d.psnr_noisy_db, d.psnr_denoised_db
        )),
        code_map.as_ref().map_or(String::new(), |m| format!(
            ", code map axes hold {:.1}% + {:.1}% of the variance",
            100.0 * m.variance_share[0],
            100.0 * m.variance_share[1]
        )),
        wall_time_s
    );
    Ok(())
}

/// Both models take 28×28 images; anything else gets a message instead of a shape panic mid-run.
pub fn ensure_mnist_sized(dataset: &Dataset) -> Result<()> {
    let images = &dataset.train.images;
    if (images.rows, images.cols) != (IMAGE_SIDE, IMAGE_SIDE) {
        bail!(
            "the models take {IMAGE_SIDE}×{IMAGE_SIDE} images, but {} holds {}×{} images: use an MNIST-format dataset",
            dataset.name,
            images.rows,
            images.cols
        );
    }
    Ok(())
}

/// What the model sees of the validation set: the clean images, or for a denoiser the clean images
/// under noise drawn once from the run's seed, so every epoch is scored on the same inputs.
pub fn validation_inputs(recipe: &Recipe, val_x: ArrayView2<f32>) -> Result<Array2<f32>> {
    match &recipe.noise {
        None => Ok(val_x.to_owned()),
        Some(noise) => noisy_copy(noise, val_x, derive_seed(recipe.seed, VAL_NOISE_STREAM)),
    }
}

/// A trained model and the optimizer's description for its card.
pub struct Fitted {
    /// The trained model.
    pub model: Model,
    /// One record per epoch.
    pub history: Vec<EpochStats>,
    /// The optimizer's name and settings.
    pub optimizer: String,
}

/// Initialises the recipe's model and trains it. A denoiser sees fresh noise at every step, seeded
/// by (run seed, epoch, step), so the same seed gives the same run.
pub fn fit(
    recipe: &Recipe,
    train_x: ArrayView2<f32>,
    val: &Pairs,
    verbose: bool,
) -> Result<Fitted> {
    let mut model = Model::new(recipe.model, recipe.seed);
    let loss = recipe.loss();
    let mut optimizer = recipe.optimizer();
    let options = TrainOptions {
        epochs: recipe.total_epochs(),
        batch: recipe.batch,
        seed: recipe.seed,
        verbose,
        qat: recipe.qat,
    };
    let add_noise = |clean: Array2<f32>, epoch: usize, step: usize| match &recipe.noise {
        None => clean,
        Some(noise) => {
            let seed = derive_seed(derive_seed(recipe.seed, epoch as u64), step as u64);
            noisy_copy(noise, clean.view(), seed).expect("training images are whole 28×28 images")
        }
    };
    // Described before training: fine-tuning may change the learning rate, which the recipe
    // records apart.
    let described = optimizer.describe();
    let history = train(
        &mut model,
        loss.as_ref(),
        optimizer.as_mut(),
        train_x,
        val,
        &options,
        &add_noise,
    )?;
    Ok(Fitted {
        model,
        history,
        optimizer: described,
    })
}

/// The ONNX files (`full_onnx` and, for a model with a bottleneck, `encoder_onnx` already encoded,
/// the decoder in `weights` format), CSV log and loss curve of a trained model, encoded in memory.
fn model_files(
    model: &Model,
    full_onnx: Vec<u8>,
    encoder_onnx: Option<Vec<u8>>,
    weights: WeightFormat,
    card: &ModelCard,
    history: &[EpochStats],
) -> Result<Vec<(String, Vec<u8>)>> {
    let name = model.kind.name();
    let mut files = vec![(format!("{name}.onnx"), full_onnx)];
    if let Some(encoder_onnx) = encoder_onnx {
        files.push((format!("{name}.encoder.onnx"), encoder_onnx));
        files.push((
            format!("{name}.decoder.onnx"),
            model.to_onnx(Part::Decoder, weights).encode_to_vec(),
        ));
    }
    files.push((format!("{name}.log.csv"), history_csv(history).into_bytes()));
    let title = format!("{name} autoencoder");
    files.push((
        format!("{name}.loss.svg"),
        loss_curve_svg(&title, &card.training.loss, history)?.into_bytes(),
    ));
    Ok(files)
}

/// Writes each file atomically, in order. Everything was computed before, so a failed run never
/// gets here and leaves the older files untouched, and no file is ever half-written.
fn write_all(out: &Path, files: Vec<(String, Vec<u8>)>) -> Result<()> {
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
        csv += &format!(
            "{},{},{},{:.3}\n",
            s.epoch, s.train_loss, s.val_loss, s.seconds
        );
    }
    csv
}

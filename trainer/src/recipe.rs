//! A training recipe: every choice that defines a run, with the seed article's defaults filled in
//! for whatever the command line leaves unset.

use crate::cli::OptimizerKind;
use crate::loss::{BinaryCrossEntropy, Loss, MeanSquaredError};
use crate::model::ModelKind;
use crate::onnx::WeightFormat;
use crate::optim::{Adadelta, Adam, Optimizer};
use anyhow::{Result, bail};
use bottleneck::NoiseSpec;

/// The dense seed recipe's step count: 10 epochs of the 60,000 MNIST images at batch 1024.
const DENSE_SEED_STEPS: usize = 590;

/// Everything that defines a training run.
#[derive(Clone, Debug, PartialEq)]
pub struct Recipe {
    /// Which model.
    pub model: ModelKind,
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per step.
    pub batch: usize,
    /// Fixes the weights, the shuffles and the noise.
    pub seed: u64,
    /// Which optimizer.
    pub optimizer: OptimizerKind,
    /// Its learning rate.
    pub learning_rate: f32,
    /// Noise on the inputs (denoisers only).
    pub noise: Option<NoiseSpec>,
    /// Epochs of quantization-aware fine-tuning after `epochs`, if any.
    pub qat: Option<Qat>,
}

/// Quantization-aware fine-tuning: epochs whose forward passes see the weights as `format` stores
/// them (quantized, then restored to f32), and whose gradients update the f32 weights as if the
/// rounding were not there (the straight-through estimate).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Qat {
    /// The format the exported file stores the weights in.
    pub format: WeightFormat,
    /// How many epochs.
    pub epochs: usize,
    /// The optimizer's learning rate in those epochs.
    pub learning_rate: f32,
}

impl Recipe {
    /// The seed article's recipe for `model`.
    pub fn seed(model: ModelKind, epochs: usize, seed: u64) -> Recipe {
        let (batch, optimizer, noise) = match model {
            ModelKind::Dense => (1024, OptimizerKind::Adam, None),
            ModelKind::Conv => (256, OptimizerKind::Adadelta, Some(NoiseSpec::default())),
        };
        Recipe {
            model,
            epochs,
            batch,
            seed,
            optimizer,
            learning_rate: default_learning_rate(optimizer),
            noise,
            qat: None,
        }
    }

    /// The seed recipe with the given overrides; noise only makes sense for a denoiser.
    pub fn with_overrides(
        mut self,
        batch: Option<usize>,
        optimizer: Option<OptimizerKind>,
        learning_rate: Option<f32>,
        noise: Option<NoiseSpec>,
    ) -> Result<Recipe> {
        if let Some(batch) = batch {
            self.batch = batch;
        }
        if let Some(optimizer) = optimizer {
            self.optimizer = optimizer;
            self.learning_rate = default_learning_rate(optimizer);
        }
        if let Some(rate) = learning_rate {
            if !(rate.is_finite() && rate > 0.0) {
                bail!("--lr must be a positive number, got {rate}");
            }
            self.learning_rate = rate;
        }
        match (self.model, noise) {
            (ModelKind::Dense, Some(_)) => {
                bail!(
                    "--noise is for the conv denoiser; the dense model learns to rebuild clean images"
                )
            }
            (_, Some(noise)) => self.noise = Some(noise),
            (_, None) => {}
        }
        if self.batch == 0 || self.epochs == 0 {
            bail!(
                "--batch and --epochs must be at least 1 (got {} and {})",
                self.batch,
                self.epochs
            );
        }
        Ok(self)
    }

    /// The recipe with `epochs` of quantization-aware fine-tuning for `format` after its own
    /// epochs (none for 0), at `learning_rate` [default: a tenth of the recipe's, so that the
    /// weights settle between rounding steps rather than jump across them]. Errors for f32,
    /// which has no rounding to fine-tune for.
    pub fn with_qat(
        mut self,
        epochs: usize,
        format: WeightFormat,
        learning_rate: Option<f32>,
    ) -> Result<Recipe> {
        if epochs == 0 {
            return Ok(self);
        }
        // A tenth, to 6 significant digits: 0.0001 rather than the f32 quotient 0.000100000005,
        // so that the card says the rate as one would type it.
        let tenth = format!("{:.5e}", f64::from(self.learning_rate) / 10.0);
        let learning_rate = learning_rate.unwrap_or_else(|| tenth.parse().expect("a number"));
        if !(learning_rate.is_finite() && learning_rate > 0.0) {
            bail!("--qat-lr must be a positive number, got {learning_rate}");
        }
        if format == WeightFormat::F32 {
            bail!("--qat-epochs fine-tunes for quantized weights: give --weights int8 or int4 too");
        }
        self.qat = Some(Qat {
            format,
            epochs,
            learning_rate,
        });
        Ok(self)
    }

    /// Every epoch, fine-tuning included.
    pub fn total_epochs(&self) -> usize {
        self.epochs + self.qat.map_or(0, |qat| qat.epochs)
    }

    /// Training steps over `train_count` images, fine-tuning included.
    pub fn steps(&self, train_count: usize) -> usize {
        self.total_epochs() * train_count.div_ceil(self.batch)
    }

    /// The loss the model trains with: MSE for the anomaly detector, BCE for the denoiser.
    pub fn loss(&self) -> Box<dyn Loss> {
        match self.model {
            ModelKind::Dense => Box::new(MeanSquaredError),
            ModelKind::Conv => Box::new(BinaryCrossEntropy),
        }
    }

    /// A fresh optimizer.
    pub fn optimizer(&self) -> Box<dyn Optimizer> {
        match self.optimizer {
            OptimizerKind::Adam => Box::new(Adam::new(self.learning_rate)),
            OptimizerKind::Adadelta => Box::new(Adadelta::new(self.learning_rate)),
        }
    }

    /// `seed` when this is the seed article's recipe, otherwise what differs from it, so a model card
    /// says plainly how its model went beyond the recipe.
    pub fn differences_from_seed(&self, train_count: usize) -> String {
        let seed = Recipe::seed(self.model, self.epochs, self.seed);
        let mut changes = Vec::new();
        let steps = self.steps(train_count);
        if self.model == ModelKind::Dense
            && steps.abs_diff(DENSE_SEED_STEPS) > DENSE_SEED_STEPS / 10
        {
            changes.push(format!("{steps} steps instead of about {DENSE_SEED_STEPS}"));
        }
        if self.batch != seed.batch {
            changes.push(format!("batch {} instead of {}", self.batch, seed.batch));
        }
        if self.optimizer != seed.optimizer {
            changes.push(
                format!("{:?} instead of {:?}", self.optimizer, seed.optimizer).to_lowercase(),
            );
        }
        if self.learning_rate != default_learning_rate(self.optimizer) {
            changes.push(format!("learning rate {}", self.learning_rate));
        }
        if self.noise != seed.noise {
            changes.push(format!(
                "noise {}",
                self.noise.as_ref().map_or("none".into(), |n| n.to_string())
            ));
        }
        if let Some(qat) = self.qat {
            changes.push(format!(
                "then {} epochs of quantization-aware fine-tuning for {} weights at learning rate {}",
                qat.epochs,
                qat.format.name(),
                qat.learning_rate
            ));
        }
        if changes.is_empty() {
            "seed".into()
        } else {
            format!("seed, except: {}", changes.join("; "))
        }
    }
}

/// Keras' default learning rate for each optimizer.
fn default_learning_rate(optimizer: OptimizerKind) -> f32 {
    match optimizer {
        OptimizerKind::Adam => 1e-3,
        OptimizerKind::Adadelta => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_recipes_say_seed_and_changes_are_named() {
        let dense = Recipe::seed(ModelKind::Dense, 66, 0);
        assert_eq!(dense.differences_from_seed(9003), "seed");
        let longer = Recipe {
            epochs: 300,
            ..dense.clone()
        };
        assert_eq!(
            longer.differences_from_seed(9003),
            "seed, except: 2700 steps instead of about 590"
        );
        let conv = Recipe::seed(ModelKind::Conv, 20, 0);
        assert_eq!(conv.differences_from_seed(9003), "seed");
        let adam = conv
            .with_overrides(None, Some(OptimizerKind::Adam), None, None)
            .unwrap();
        assert_eq!(
            (
                adam.learning_rate,
                adam.differences_from_seed(9003).as_str()
            ),
            (1e-3, "seed, except: adam instead of adadelta")
        );
    }

    #[test]
    fn fine_tuning_adds_epochs_and_says_so() {
        let dense = Recipe::seed(ModelKind::Dense, 66, 0);
        let tuned = dense.clone().with_qat(5, WeightFormat::Int4, None).unwrap();
        assert_eq!((tuned.total_epochs(), tuned.steps(9003)), (71, 71 * 9));
        assert_eq!(
            tuned.differences_from_seed(9003),
            "seed, except: then 5 epochs of quantization-aware fine-tuning for int4 weights at \
             learning rate 0.0001"
        );
        let faster = dense
            .clone()
            .with_qat(5, WeightFormat::Int8, Some(0.01))
            .unwrap();
        assert_eq!(faster.qat.unwrap().learning_rate, 0.01);
        assert_eq!(
            dense.clone().with_qat(0, WeightFormat::F32, None).unwrap(),
            dense
        );
        assert!(
            dense
                .clone()
                .with_qat(5, WeightFormat::Int4, Some(-1.0))
                .is_err()
        );
        let error = dense.with_qat(5, WeightFormat::F32, None).unwrap_err();
        assert!(
            error.to_string().contains("--weights int8 or int4"),
            "{error}"
        );
    }

    #[test]
    fn bad_overrides_are_refused() {
        let dense = Recipe::seed(ModelKind::Dense, 1, 0);
        assert!(
            dense
                .clone()
                .with_overrides(None, None, None, Some(NoiseSpec::default()))
                .is_err()
        );
        assert!(
            dense
                .clone()
                .with_overrides(Some(0), None, None, None)
                .is_err()
        );
        assert!(
            dense
                .with_overrides(None, None, Some(f32::NAN), None)
                .is_err()
        );
    }
}

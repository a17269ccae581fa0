//! The model card: a JSON description of a trained model, written by the trainer next to the
//! ONNX files and read by the page, which has only the card and not the training data.

use serde::{Deserialize, Serialize};

use crate::CODE_SIZE;
use crate::error::Error;
use crate::metrics::percentile;

/// Everything the page shows about a trained model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// Model family: "dense" or "conv".
    pub model: String,
    /// One human-readable line per layer, e.g. "Dense 784→512, ELU".
    pub architecture: Vec<String>,
    /// Shape of one input sample: `[784]` or `[1, 28, 28]`.
    pub input_shape: Vec<usize>,
    /// How the ONNX files store the weight matrices: "f32", or "int8" with per-channel scales.
    /// The errors and PSNRs below are measured on the file as stored.
    #[serde(default = "f32_weights")]
    pub weights: String,
    /// The data the model was trained and validated on.
    pub dataset: DatasetInfo,
    /// How the model was trained.
    pub training: TrainingInfo,
    /// Final losses and timing.
    pub results: TrainingResults,
    /// Reconstruction error (L2 norm of x − y) over the validation images.
    pub val_error: ErrorDistribution,
    /// Denoising quality, for models trained to remove noise.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub denoising: Option<DenoisingResults>,
    /// For a model with a bottleneck: how far its training images' codes reach in each dimension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_spread: Option<CodeSpread>,
}

/// Per dimension of the code, the least and greatest value over the training images' codes: the
/// page gives each code slider this range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeSpread {
    /// Least value of each of the [`CODE_SIZE`] dimensions.
    pub lo: Vec<f32>,
    /// Greatest value of each of the [`CODE_SIZE`] dimensions.
    pub hi: Vec<f32>,
}

/// The data set a model was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// Data set name, e.g. "mnist".
    pub name: String,
    /// Number of training images.
    pub train_count: usize,
    /// Number of validation images.
    pub val_count: usize,
}

/// The training recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// Passes over the training set.
    pub epochs: usize,
    /// Optimizer steps taken in total.
    pub steps: usize,
    /// Images per optimizer step.
    pub batch: usize,
    /// Seed of every random choice in the run.
    pub seed: u64,
    /// Optimizer name, e.g. "adam".
    pub optimizer: String,
    /// Optimizer learning rate.
    pub learning_rate: f32,
    /// Loss name, e.g. "bce".
    pub loss: String,
    /// "seed" for the reference recipe, otherwise a description of what changed.
    pub recipe: String,
    /// Noise spec applied to the inputs, for denoising models.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub noise: Option<String>,
}

/// What training achieved and how long it took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingResults {
    /// Training loss of the last epoch.
    pub final_train_loss: f64,
    /// Validation loss after the last epoch.
    pub final_val_loss: f64,
    /// Total training time in seconds.
    pub wall_time_s: f64,
    /// Mean time per epoch in seconds.
    pub seconds_per_epoch: f64,
}

/// How well a denoising model cleans noisy validation images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DenoisingResults {
    /// Noise spec used for the evaluation, e.g. "gaussian:0.5".
    pub noise: String,
    /// PSNR of the noisy inputs against the clean images, in dB.
    pub psnr_noisy_db: f64,
    /// PSNR of the model's outputs against the clean images, in dB.
    pub psnr_denoised_db: f64,
}

/// Summary of a set of reconstruction errors, enough to place a new error on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDistribution {
    /// Median.
    pub p50: f32,
    /// 90th percentile.
    pub p90: f32,
    /// 95th percentile.
    pub p95: f32,
    /// 99th percentile.
    pub p99: f32,
    /// 99.9th percentile.
    pub p99_9: f32,
    /// Largest error.
    pub max: f32,
    /// Counts of errors in equal-width bins.
    pub histogram: Histogram,
}

/// Counts of values in equal-width bins spanning [`lo`, `hi`]; the last bin includes `hi`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Lower edge of the first bin.
    pub lo: f32,
    /// Upper edge of the last bin.
    pub hi: f32,
    /// Number of values in each bin.
    pub counts: Vec<u32>,
}

/// Cards written before int8 export existed stored f32 weights.
fn f32_weights() -> String {
    "f32".into()
}

impl ModelCard {
    /// The card as indented JSON. JSON has no NaN or infinity: serde_json writes non-finite
    /// numbers as `null`, which [`ModelCard::from_json`] then rejects, so keep them out.
    pub fn to_json_pretty(&self) -> String {
        // serde_json fails only on non-string map keys or failing custom serializers, and a
        // card has neither, so this cannot panic.
        serde_json::to_string_pretty(self).expect("a ModelCard always serializes to JSON")
    }

    /// Reads a card written by [`ModelCard::to_json_pretty`], checking what serde cannot: a
    /// code spread needs [`CODE_SIZE`] finite values on each side, each `lo` at most its `hi`.
    pub fn from_json(json: &str) -> Result<ModelCard, Error> {
        let card: ModelCard = serde_json::from_str(json).map_err(|error| Error::InvalidCard {
            reason: error.to_string(),
        })?;
        if let Some(spread) = &card.code_spread {
            spread
                .check()
                .map_err(|reason| Error::InvalidCard { reason })?;
        }
        Ok(card)
    }
}

impl CodeSpread {
    /// What is wrong with the spread, if anything, said so that the fix is plain.
    fn check(&self) -> Result<(), String> {
        const REMEDY: &str = "recompute it with `trainer code-map --models DIR --data DIR`";
        for (side, values) in [("lo", &self.lo), ("hi", &self.hi)] {
            if values.len() != CODE_SIZE {
                return Err(format!(
                    "code_spread.{side} has {} values but the code has {CODE_SIZE}: {REMEDY}",
                    values.len()
                ));
            }
            if let Some(index) = values.iter().position(|v| !v.is_finite()) {
                return Err(format!(
                    "code_spread.{side}[{index}] is not a finite number: {REMEDY}"
                ));
            }
        }
        match self.lo.iter().zip(&self.hi).position(|(lo, hi)| lo > hi) {
            Some(index) => Err(format!(
                "code_spread.lo[{index}] = {} is above code_spread.hi[{index}] = {}: {REMEDY}",
                self.lo[index], self.hi[index]
            )),
            None => Ok(()),
        }
    }
}

impl ErrorDistribution {
    /// Summarises `errors` with percentiles and a `bins`-bin histogram over [min(0, min), max].
    /// Errors if `errors` is empty, contains NaN or infinity, or `bins` is 0.
    pub fn from_errors(errors: &[f32], bins: usize) -> Result<ErrorDistribution, Error> {
        const WHAT: &str = "reconstruction errors";
        if errors.is_empty() {
            return Err(Error::Empty { what: WHAT });
        }
        if bins == 0 {
            return Err(Error::ZeroBins);
        }
        if let Some(index) = errors.iter().position(|e| !e.is_finite()) {
            return Err(Error::NonFinite { what: WHAT, index });
        }
        let mut sorted = errors.to_vec();
        sorted.sort_by(f32::total_cmp);
        let max = sorted[sorted.len() - 1];
        // Errors are distances, so the histogram starts at 0 and a near-perfect reconstruction
        // ranks near 0 %; a negative value (not a distance, but harmless) extends it downwards.
        let lo = sorted[0].min(0.0);
        Ok(ErrorDistribution {
            p50: percentile(&sorted, 50.0),
            p90: percentile(&sorted, 90.0),
            p95: percentile(&sorted, 95.0),
            p99: percentile(&sorted, 99.0),
            p99_9: percentile(&sorted, 99.9),
            max,
            histogram: Histogram::count(&sorted, lo, max, bins),
        })
    }

    /// Approximate percentile rank (0 to 100) of a new error, from the histogram alone.
    pub fn percentile_of(&self, error: f32) -> f64 {
        self.histogram.percentile_of(error)
    }
}

impl Histogram {
    /// Counts `values` (all within [`lo`, `hi`]) into `bins` ≥ 1 equal-width bins.
    fn count(values: &[f32], lo: f32, hi: f32, bins: usize) -> Histogram {
        let mut counts = vec![0u32; bins];
        // f64 keeps hi − lo finite even for extreme f32 values. When all values are equal the
        // range is empty and everything lands in the first bin.
        let (lo64, hi64) = (f64::from(lo), f64::from(hi));
        let bins_per_unit = if hi64 > lo64 {
            bins as f64 / (hi64 - lo64)
        } else {
            0.0
        };
        for &value in values {
            // The float-to-int cast saturates, so rounding below `lo` gives bin 0.
            let bin = (((f64::from(value) - lo64) * bins_per_unit) as usize).min(bins - 1);
            counts[bin] = counts[bin].saturating_add(1);
        }
        Histogram { lo, hi, counts }
    }

    /// Approximate percentage (0 to 100) of the counted values at or below `value`: the counts of
    /// the bins below plus the linear share of its own bin. NaN if `value` is NaN or nothing was
    /// counted. Values at or below `lo` rank 0, values at or above `hi` rank 100.
    pub fn percentile_of(&self, value: f32) -> f64 {
        let total: f64 = self.counts.iter().map(|&c| f64::from(c)).sum();
        if value.is_nan() || total == 0.0 {
            return f64::NAN;
        }
        let (lo, hi, value) = (f64::from(self.lo), f64::from(self.hi), f64::from(value));
        if value <= lo {
            return 0.0;
        }
        if value >= hi {
            return 100.0;
        }
        let position = (value - lo) / (hi - lo) * self.counts.len() as f64;
        let bin = (position as usize).min(self.counts.len() - 1);
        let below: f64 = self.counts[..bin].iter().map(|&c| f64::from(c)).sum();
        let share = (position - bin as f64).clamp(0.0, 1.0) * f64::from(self.counts[bin]);
        (100.0 * (below + share) / total).clamp(0.0, 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(denoising: Option<DenoisingResults>, noise: Option<String>) -> ModelCard {
        let errors: Vec<f32> = (0..1000)
            .map(|i| 2.0 + (i as f32 / 100.0).sin().abs() * 5.0)
            .collect();
        ModelCard {
            model: "dense".into(),
            architecture: vec!["Dense 784→512, ELU".into(), "Dense 512→784, sigmoid".into()],
            input_shape: vec![784],
            weights: "f32".into(),
            dataset: DatasetInfo {
                name: "mnist".into(),
                train_count: 60_000,
                val_count: 10_000,
            },
            training: TrainingInfo {
                epochs: 10,
                steps: 2350,
                batch: 256,
                seed: u64::MAX,
                optimizer: "adam".into(),
                learning_rate: 1e-3,
                loss: "bce".into(),
                recipe: "seed".into(),
                noise,
            },
            results: TrainingResults {
                final_train_loss: 0.0931,
                final_val_loss: 0.0925,
                wall_time_s: 61.5,
                seconds_per_epoch: 6.15,
            },
            val_error: ErrorDistribution::from_errors(&errors, 50).unwrap(),
            denoising,
            code_spread: None,
        }
    }

    fn spread() -> CodeSpread {
        CodeSpread {
            lo: (0..CODE_SIZE).map(|i| -1.5 - i as f32).collect(),
            hi: (0..CODE_SIZE).map(|i| 0.25 * i as f32).collect(),
        }
    }

    #[test]
    fn json_round_trips_with_and_without_optional_parts() {
        let denoising = DenoisingResults {
            noise: "gaussian:0.5".into(),
            psnr_noisy_db: 9.1,
            psnr_denoised_db: 17.3,
        };
        for card in [
            card(None, None),
            card(Some(denoising), Some("gaussian:0.5".into())),
        ] {
            let json = card.to_json_pretty();
            assert_eq!(ModelCard::from_json(&json).unwrap(), card);
            assert_eq!(json.contains("denoising"), card.denoising.is_some());
            assert_eq!(json.contains("\"noise\""), card.training.noise.is_some());
        }
    }

    #[test]
    fn code_spread_round_trips_and_cards_without_it_still_parse() {
        let with = ModelCard {
            code_spread: Some(spread()),
            ..card(None, None)
        };
        let json = with.to_json_pretty();
        assert!(json.contains("\"code_spread\""), "{json}");
        assert_eq!(ModelCard::from_json(&json).unwrap(), with);
        let without = card(None, None).to_json_pretty();
        assert!(!without.contains("code_spread"), "{without}");
        assert_eq!(ModelCard::from_json(&without).unwrap().code_spread, None);
    }

    #[test]
    fn bad_code_spreads_are_clear_errors() {
        let short = CodeSpread {
            lo: vec![0.0; CODE_SIZE - 1],
            ..spread()
        };
        let mut inverted = spread();
        inverted.lo[3] = inverted.hi[3] + 1.0;
        for (spread, expected) in [
            (short, "code_spread.lo has 9 values but the code has 10"),
            (
                inverted,
                "code_spread.lo[3] = 1.75 is above code_spread.hi[3] = 0.75",
            ),
        ] {
            let json = ModelCard {
                code_spread: Some(spread),
                ..card(None, None)
            }
            .to_json_pretty();
            let error = ModelCard::from_json(&json).unwrap_err();
            assert!(matches!(error, Error::InvalidCard { .. }), "{error:?}");
            let message = error.to_string();
            assert!(
                message.contains(expected) && message.contains("trainer code-map"),
                "{message}"
            );
        }
        // JSON has no infinity (serde_json writes it as null, which does not parse as a number),
        // but a number too large for f32 parses to one.
        let json = ModelCard {
            code_spread: Some(spread()),
            ..card(None, None)
        }
        .to_json_pretty()
        .replacen("-1.5", "-1e300", 1);
        let error = ModelCard::from_json(&json).unwrap_err().to_string();
        assert!(
            error.contains("code_spread.lo[0] is not a finite"),
            "{error}"
        );
    }

    #[test]
    fn bad_json_is_a_clear_error() {
        let error = ModelCard::from_json("{\"model\": \"dense\"}").unwrap_err();
        assert!(matches!(error, Error::InvalidCard { .. }));
        assert!(error.to_string().contains("missing field"), "{error}");
        assert!(ModelCard::from_json("not json").is_err());
    }

    #[test]
    fn distribution_has_percentiles_and_counts_every_error() {
        let errors: Vec<f32> = (1..=100).rev().map(|v| v as f32).collect();
        let distribution = ErrorDistribution::from_errors(&errors, 10).unwrap();
        assert_eq!((distribution.p50, distribution.max), (50.5, 100.0));
        assert!((distribution.p90 - 90.1).abs() < 1e-4);
        assert!((distribution.p99_9 - 99.901).abs() < 1e-4);
        let histogram = &distribution.histogram;
        assert_eq!((histogram.lo, histogram.hi), (0.0, 100.0));
        // Bins of width 10 over [0, 100]: 1..=9 in the first, 100 joins the last.
        assert_eq!(histogram.counts, [9, 10, 10, 10, 10, 10, 10, 10, 10, 11]);
    }

    #[test]
    fn bad_error_sets_are_rejected() {
        assert_eq!(
            ErrorDistribution::from_errors(&[], 10),
            Err(Error::Empty {
                what: "reconstruction errors"
            })
        );
        assert_eq!(
            ErrorDistribution::from_errors(&[1.0], 0),
            Err(Error::ZeroBins)
        );
        assert_eq!(
            ErrorDistribution::from_errors(&[1.0, f32::INFINITY], 4),
            Err(Error::NonFinite {
                what: "reconstruction errors",
                index: 1
            })
        );
        assert!(ErrorDistribution::from_errors(&[f32::NAN], 4).is_err());
    }

    #[test]
    fn percentile_of_is_monotonic_and_close_to_the_exact_rank() {
        let errors: Vec<f32> = (0..10_000)
            .map(|i| ((i * 7919) % 10_000) as f32 / 1000.0)
            .collect();
        let distribution = ErrorDistribution::from_errors(&errors, 64).unwrap();
        let mut sorted = errors.clone();
        sorted.sort_by(f32::total_cmp);
        let mut previous = 0.0;
        for step in -10..=1200 {
            let error = step as f32 / 100.0;
            let rank = distribution.percentile_of(error);
            assert!(
                rank >= previous && (0.0..=100.0).contains(&rank),
                "at {error}: {rank}"
            );
            let exact = crate::metrics::percentile_rank(&sorted, error);
            assert!(
                (rank - exact).abs() < 0.5,
                "at {error}: {rank} vs exact {exact}"
            );
            previous = rank;
        }
        assert_eq!(distribution.percentile_of(-1.0), 0.0);
        assert_eq!(distribution.percentile_of(1e9), 100.0);
        assert!(distribution.percentile_of(f32::NAN).is_nan());
    }

    #[test]
    fn degenerate_histograms_do_not_panic() {
        let constant = ErrorDistribution::from_errors(&[0.0; 5], 8).unwrap();
        assert_eq!(constant.histogram.counts[0], 5);
        assert_eq!(constant.percentile_of(0.0), 0.0);
        assert_eq!(constant.percentile_of(1.0), 100.0);
        let empty = Histogram {
            lo: 0.0,
            hi: 1.0,
            counts: vec![],
        };
        assert!(empty.percentile_of(0.5).is_nan());
        let inverted = Histogram {
            lo: 2.0,
            hi: 1.0,
            counts: vec![3, 4],
        };
        assert_eq!(inverted.percentile_of(1.5), 0.0);
        assert_eq!(inverted.percentile_of(2.5), 100.0);
    }
}

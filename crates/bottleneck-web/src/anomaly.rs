//! The anomaly score: how far a reconstruction is from its input, placed on the distribution of
//! the same error over the validation digits, which the model card carries.

use bottleneck::{ErrorDistribution, IMAGE_PIXELS, ModelCard};
use wasm_bindgen::prelude::*;

use crate::error::{WebError, check_values};

/// Errors above this percentile of the validation digits' errors are called unusual: one digit in
/// a hundred is flagged by mistake.
const UNUSUAL_PERCENTILE: f64 = 99.0;

/// The validation error distribution of one dense model, read from its card.
#[wasm_bindgen]
pub struct AnomalyScale {
    val_error: ErrorDistribution,
}

/// One image's score.
#[wasm_bindgen]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnomalyScore {
    /// L2 norm of input − reconstruction.
    pub error: f32,
    /// Share (0 to 100) of validation digits that rebuilt at least this well.
    pub percentile: f64,
    /// True when the error is beyond what 99 % of validation digits reach.
    pub unusual: bool,
}

#[wasm_bindgen]
impl AnomalyScale {
    /// Reads the `val_error` distribution from a model card (`dense.json`).
    #[wasm_bindgen(js_name = fromCardJson)]
    pub fn from_card_json(json: &str) -> Result<AnomalyScale, WebError> {
        let card = ModelCard::from_json(json)?;
        Ok(AnomalyScale {
            val_error: card.val_error,
        })
    }

    /// Scores a 784-pixel `input` by its reconstruction `output`.
    pub fn score(&self, input: &[f32], output: &[f32]) -> Result<AnomalyScore, WebError> {
        check_values(input, IMAGE_PIXELS, "input image")?;
        check_values(output, IMAGE_PIXELS, "reconstruction")?;
        let error = bottleneck::metrics::l2_error(input, output);
        let percentile = self.val_error.percentile_of(error);
        Ok(AnomalyScore {
            error,
            percentile,
            unusual: percentile > UNUSUAL_PERCENTILE,
        })
    }

    /// Counts of validation errors per histogram bin, for drawing the distribution.
    #[wasm_bindgen(getter, js_name = histogramCounts)]
    pub fn histogram_counts(&self) -> Vec<u32> {
        self.val_error.histogram.counts.clone()
    }

    /// Error at the left edge of the first histogram bin.
    #[wasm_bindgen(getter, js_name = histogramLo)]
    pub fn histogram_lo(&self) -> f32 {
        self.val_error.histogram.lo
    }

    /// Error at the right edge of the last histogram bin.
    #[wasm_bindgen(getter, js_name = histogramHi)]
    pub fn histogram_hi(&self) -> f32 {
        self.val_error.histogram.hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bottleneck::{DatasetInfo, TrainingInfo, TrainingResults};

    /// A card whose validation errors are 0.1, 0.2, …, 10.0, written as the trainer writes it.
    fn card_json() -> String {
        let errors: Vec<f32> = (1..=100).map(|i| i as f32 / 10.0).collect();
        ModelCard {
            model: "dense".into(),
            architecture: vec!["Dense 784→10".into(), "Dense 10→784, sigmoid".into()],
            input_shape: vec![IMAGE_PIXELS],
            weights: "f32".into(),
            dataset: DatasetInfo {
                name: "synthetic".into(),
                train_count: 100,
                val_count: errors.len(),
            },
            training: TrainingInfo {
                epochs: 1,
                steps: 1,
                batch: 100,
                seed: 0,
                optimizer: "adam".into(),
                learning_rate: 1e-3,
                loss: "mse".into(),
                recipe: "test".into(),
                noise: None,
            },
            results: TrainingResults {
                final_train_loss: 0.1,
                final_val_loss: 0.1,
                wall_time_s: 1.0,
                seconds_per_epoch: 1.0,
            },
            val_error: ErrorDistribution::from_errors(&errors, 20).unwrap(),
            denoising: None,
            code_spread: None,
        }
        .to_json_pretty()
    }

    /// A reconstruction at L2 distance `error` from an all-zero input.
    fn at_distance(error: f32) -> Vec<f32> {
        let mut output = vec![0.0; IMAGE_PIXELS];
        output[0] = error;
        output
    }

    #[test]
    fn scores_place_errors_on_the_cards_distribution() {
        let scale = AnomalyScale::from_card_json(&card_json()).unwrap();
        let input = vec![0.0; IMAGE_PIXELS];
        let perfect = scale.score(&input, &input).unwrap();
        assert_eq!(
            (perfect.error, perfect.percentile, perfect.unusual),
            (0.0, 0.0, false)
        );
        let median = scale.score(&input, &at_distance(5.0)).unwrap();
        // Exactly 50 of the errors are ≤ 5.0; the histogram's 0.5-wide bins place it within a point.
        assert!((median.percentile - 50.0).abs() <= 1.0, "{median:?}");
        assert!(!median.unusual);
        let far = scale.score(&input, &at_distance(10.5)).unwrap();
        assert_eq!((far.percentile, far.unusual), (100.0, true));
        assert_eq!(scale.histogram_counts().len(), 20);
        assert_eq!((scale.histogram_lo(), scale.histogram_hi()), (0.0, 10.0));
    }

    #[test]
    fn bad_cards_and_images_are_errors() {
        assert!(matches!(
            AnomalyScale::from_card_json("{}"),
            Err(WebError::Shared(bottleneck::Error::InvalidCard { .. }))
        ));
        let scale = AnomalyScale::from_card_json(&card_json()).unwrap();
        let image = vec![0.0; IMAGE_PIXELS];
        assert!(matches!(
            scale.score(&image, &image[1..]),
            Err(WebError::Runtime(
                bottleneck_runtime::RuntimeError::WrongLength { .. }
            ))
        ));
        let mut nan = image.clone();
        nan[0] = f32::NAN;
        assert!(matches!(
            scale.score(&nan, &image),
            Err(WebError::Runtime(
                bottleneck_runtime::RuntimeError::NonFinite { .. }
            ))
        ));
    }
}

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

    const CARD: &str = include_str!("../../../www/models/dense.json");

    #[test]
    fn scores_place_errors_on_the_cards_distribution() {
        let scale = AnomalyScale::from_card_json(CARD).unwrap();
        let input = vec![0.0; IMAGE_PIXELS];
        let perfect = scale.score(&input, &input).unwrap();
        assert_eq!(perfect.error, 0.0);
        assert_eq!(perfect.percentile, 0.0);
        assert!(!perfect.unusual);
        let mut far = input.clone();
        far[..100].fill(1.0);
        let far = scale.score(&input, &far).unwrap();
        assert_eq!(far.error, 10.0);
        assert_eq!(far.percentile, 100.0);
        assert!(far.unusual);
        assert_eq!(scale.histogram_counts().len(), 40);
        assert!(scale.histogram_lo() < scale.histogram_hi());
    }

    #[test]
    fn bad_cards_and_images_are_errors() {
        assert!(matches!(
            AnomalyScale::from_card_json("{}"),
            Err(WebError::Shared(bottleneck::Error::InvalidCard { .. }))
        ));
        let scale = AnomalyScale::from_card_json(CARD).unwrap();
        let image = vec![0.0; IMAGE_PIXELS];
        assert!(matches!(
            scale.score(&image, &image[1..]),
            Err(WebError::WrongLength { .. })
        ));
        let mut nan = image.clone();
        nan[0] = f32::NAN;
        assert!(matches!(
            scale.score(&nan, &image),
            Err(WebError::NonFinite { .. })
        ));
    }
}

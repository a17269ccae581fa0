//! Training losses: the mean over the batch and its gradient with respect to the prediction.

mod bce;
mod mse;

pub use bce::BinaryCrossEntropy;
pub use mse::MeanSquaredError;

use ndarray::{Array2, ArrayView2};

/// A loss comparing a batch of predictions with a batch of targets.
pub trait Loss {
    /// The name the model card records, e.g. `mse`.
    fn name(&self) -> &'static str;

    /// True when the loss reads the logits before the model's final sigmoid, for numerical
    /// stability; training then stops the forward pass one layer early.
    fn takes_logits(&self) -> bool {
        false
    }

    /// The mean loss over every value of the batch, and d loss / d prediction, written over the
    /// prediction, whose buffer training has no further use for.
    fn loss_and_grad(&self, prediction: Array2<f32>, target: ArrayView2<f32>)
    -> (f64, Array2<f32>);
}

//! Mean squared error, averaged over every pixel of the batch as Keras does.

use super::Loss;
use ndarray::{Array2, Zip};

/// Mean squared error.
pub struct MeanSquaredError;

impl Loss for MeanSquaredError {
    fn name(&self) -> &'static str {
        "mse"
    }

    fn loss_and_grad(&self, prediction: &Array2<f32>, target: &Array2<f32>) -> (f64, Array2<f32>) {
        let scale = 2.0 / prediction.len() as f32;
        let mut sum = 0.0f64;
        // One pass for the loss and the gradient: this runs on the whole output every step.
        let grad = Zip::from(prediction).and(target).map_collect(|&p, &t| {
            let d = p - t;
            sum += f64::from(d * d);
            scale * d
        });
        (sum / prediction.len() as f64, grad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::{check_loss, random_input};
    use bottleneck::Rng;

    #[test]
    fn value_and_gradient() {
        let mut rng = Rng::new(3);
        let (p, t) = (random_input(3, 4, &mut rng), random_input(3, 4, &mut rng));
        let (loss, _) = MeanSquaredError.loss_and_grad(&p, &t);
        let expected = (&p - &t).mapv(|d| f64::from(d * d)).mean().unwrap();
        assert!((loss - expected).abs() < 1e-6);
        check_loss(&MeanSquaredError, &p, &t);
    }
}

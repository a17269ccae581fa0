//! Mean squared error, averaged over every pixel of the batch as Keras does.

use super::Loss;
use crate::simd::wide;
use ndarray::{Array2, ArrayView2};

/// Partial sums of the squared errors: enough to fill AVX-512's eight-double registers twice.
const LANES: usize = 16;

/// Mean squared error.
pub struct MeanSquaredError;

impl Loss for MeanSquaredError {
    fn name(&self) -> &'static str {
        "mse"
    }

    fn loss_and_grad(
        &self,
        mut prediction: Array2<f32>,
        target: ArrayView2<f32>,
    ) -> (f64, Array2<f32>) {
        assert_eq!(
            prediction.dim(),
            target.dim(),
            "mse: prediction and target differ in shape"
        );
        let count = prediction.len();
        let scale = 2.0 / count as f32;
        let target = target.as_standard_layout();
        let t = target.as_slice().expect("standard layout");
        let p = prediction
            .as_slice_mut()
            .expect("activations are contiguous");
        // One pass for the loss and the gradient: this runs on the whole output every step.
        let sums = wide(
            #[inline(always)]
            move || squared_errors(p, t, scale),
        );
        (sums.iter().sum::<f64>() / count as f64, prediction)
    }
}

/// Σ (p − t)² in LANES interleaved partial sums, always added the same way: with one running sum,
/// every addition waited for the one before it. Writes `scale · (p − t)` over `p`.
#[inline(always)]
fn squared_errors(p: &mut [f32], t: &[f32], scale: f32) -> [f64; LANES] {
    let mut sums = [0.0f64; LANES];
    let (p_chunks, p_rest) = p.as_chunks_mut::<LANES>();
    let (t_chunks, t_rest) = t.as_chunks::<LANES>();
    for (p, t) in p_chunks.iter_mut().zip(t_chunks) {
        // All loads before any store, so the compiler sees whole vectors.
        let d: [f32; LANES] = std::array::from_fn(|i| p[i] - t[i]);
        for i in 0..LANES {
            sums[i] += f64::from(d[i] * d[i]);
            p[i] = scale * d[i];
        }
    }
    for ((p, &t), sum) in p_rest.iter_mut().zip(t_rest).zip(&mut sums) {
        let d = *p - t;
        *sum += f64::from(d * d);
        *p = scale * d;
    }
    sums
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
        let (loss, _) = MeanSquaredError.loss_and_grad(p.clone(), t.view());
        let expected = (&p - &t).mapv(|d| f64::from(d * d)).mean().unwrap();
        assert!((loss - expected).abs() < 1e-6);
        check_loss(&MeanSquaredError, &p, &t);
    }
}

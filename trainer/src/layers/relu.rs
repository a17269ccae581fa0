//! Rectified linear unit: y = max(x, 0).

use super::Layer;
use crate::onnx::GraphBuilder;
use crate::simd::wide;
use ndarray::Array2;
use rayon::prelude::*;

/// Values per parallel task: plain slices of this size, in loops compiled for AVX-512, where
/// ndarray's parallel `Zip` ran its element closures scalar.
const CHUNK: usize = 1 << 14;

/// ReLU activation, after every convolution but the last.
#[derive(Default)]
pub struct Relu {
    /// Where the training forward pass let the input through; a byte a value, a quarter of what
    /// keeping the output would cost on the 26 MB activations of the first layer.
    passed: Option<Array2<bool>>,
}

/// Clamps a negative value to zero; NaN passes, so a diverging run still shows in the loss.
#[inline(always)]
fn relu(v: f32) -> f32 {
    if v < 0.0 { 0.0 } else { v }
}

impl Layer for Relu {
    fn describe(&self) -> String {
        "ReLU".into()
    }

    fn forward(&mut self, mut x: Array2<f32>, train: bool) -> Array2<f32> {
        let shape = x.raw_dim();
        let values = x.as_slice_mut().expect("activations are contiguous").par_chunks_mut(CHUNK);
        if train {
            let mut passed = Array2::uninit(shape);
            let flags = passed.as_slice_mut().expect("fresh arrays are contiguous").par_chunks_mut(CHUNK);
            values.zip(flags).for_each(|(values, flags)| {
                wide(
                    #[inline(always)]
                    || {
                        for (v, p) in values.iter_mut().zip(flags) {
                            *v = relu(*v);
                            p.write(*v > 0.0);
                        }
                    },
                )
            });
            // SAFETY: the loop above wrote every flag, the chunks of both slices lining up one to one.
            self.passed = Some(unsafe { passed.assume_init() });
        } else {
            values.for_each(|values| wide(#[inline(always)] || values.iter_mut().for_each(|v| *v = relu(*v))));
        }
        x
    }

    fn backward(&mut self, mut grad: Array2<f32>, _need_input_grad: bool) -> Option<Array2<f32>> {
        let passed = self.passed.take().expect("Relu::backward without a training forward");
        // A select rather than a branch: the signs are close to random, so a branch mispredicts
        // about every other value and took three times as long.
        let grads = grad.as_slice_mut().expect("gradients are contiguous").par_chunks_mut(CHUNK);
        let flags = passed.as_slice().expect("owned arrays are contiguous").par_chunks(CHUNK);
        grads.zip(flags).for_each(|(grads, flags)| {
            wide(
                #[inline(always)]
                || grads.iter_mut().zip(flags).for_each(|(g, &p)| *g = if p { *g } else { 0.0 }),
            )
        });
        Some(grad)
    }

    fn to_onnx(&self, graph: &mut GraphBuilder, input: &str) -> String {
        graph.node("Relu", &[input], vec![])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::check_layer;

    #[test]
    fn gradients_match_finite_differences() {
        check_layer(&mut Relu::default(), 6, 4);
    }

    #[test]
    fn clamps_negatives_and_keeps_nan() {
        let y = Relu::default().forward(ndarray::array![[-1.0, 0.0, 2.5, f32::NAN]], false);
        assert_eq!(&y.as_slice().unwrap()[..3], &[0.0, 0.0, 2.5]);
        assert!(y[[0, 3]].is_nan());
    }
}

//! Exponential linear unit with α = 1: y = x for x > 0, eˣ − 1 otherwise.
//!
//! eˣ − 1 is computed as `exp(x) - 1` with the vectorising `fastexp::exp` rather than libm's
//! `expm1f`, which took an eighth of the training time; the two differ by under 1e-6 in absolute
//! terms, and tract computes ELU as exp(x) − 1 too.
//!
//! ELU and Sigmoid run on one thread on purpose: in the dense model, when both cores wrote halves
//! of an activation, the next matrix product reading it ran at half speed (146 against 270 GFLOPS,
//! measured on its backward pass), which cost more than the second core saved. (The conv model's
//! ReLU measured the other way, so it runs on both.)

use super::Layer;
use crate::fastexp::exp;
use crate::onnx::{GraphBuilder, attr_float};
use ndarray::Array2;

/// ELU activation (α = 1, the Keras default).
#[derive(Default)]
pub struct Elu {
    /// dy/dx saved by the training forward pass: 1 where x > 0, y + 1 elsewhere.
    slope: Option<Array2<f32>>,
}

/// ELU of one value, branch-free so loops over it vectorise.
#[inline(always)]
fn elu(x: f32) -> f32 {
    let negative = exp(x.min(0.0)) - 1.0;
    if x > 0.0 { x } else { negative }
}

impl Layer for Elu {
    fn describe(&self) -> String {
        "ELU".into()
    }

    fn forward(&mut self, mut x: Array2<f32>, train: bool) -> Array2<f32> {
        let mut slope = if train { Some(Array2::zeros(x.raw_dim())) } else { None };
        let values = x.as_slice_mut().expect("activations are contiguous");
        if let Some(slope) = &mut slope {
            let slopes = slope.as_slice_mut().expect("fresh array");
            // Plain slices and a branch-free body: this loop vectorises.
            for (v, s) in values.iter_mut().zip(slopes) {
                let y = elu(*v);
                *s = if *v > 0.0 { 1.0 } else { y + 1.0 };
                *v = y;
            }
        } else {
            values.iter_mut().for_each(|v| *v = elu(*v));
        }
        self.slope = slope;
        x
    }

    fn backward(&mut self, mut grad: Array2<f32>, _need_input_grad: bool) -> Option<Array2<f32>> {
        let slope = self.slope.take().expect("Elu::backward without a training forward");
        grad *= &slope;
        Some(grad)
    }

    fn to_onnx(&self, graph: &mut GraphBuilder, input: &str) -> String {
        graph.node("Elu", &[input], vec![attr_float("alpha", 1.0)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::check_layer;

    #[test]
    fn gradients_match_finite_differences() {
        check_layer(&mut Elu::default(), 6, 4);
    }
}

//! Logistic sigmoid: y = 1 / (1 + e⁻ˣ).

use super::Layer;
use crate::onnx::GraphBuilder;
use bottleneck::fastexp::exp;
use ndarray::{Array2, Zip};

/// Sigmoid activation, the output layer of both autoencoders.
#[derive(Default)]
pub struct Sigmoid {
    output: Option<Array2<f32>>,
}

/// The sigmoid of one value; saturates instead of overflowing to NaN.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

impl Layer for Sigmoid {
    fn describe(&self) -> String {
        "Sigmoid".into()
    }

    fn forward_flops(&self) -> u64 {
        0
    }

    fn forward(&mut self, mut x: Array2<f32>, train: bool) -> Array2<f32> {
        x.as_slice_mut()
            .expect("activations are contiguous")
            .iter_mut()
            .for_each(|v| *v = sigmoid(*v));
        if train {
            self.output = Some(x.clone());
        }
        x
    }

    fn backward(&mut self, mut grad: Array2<f32>, _need_input_grad: bool) -> Option<Array2<f32>> {
        let y = self
            .output
            .take()
            .expect("Sigmoid::backward without a training forward");
        Zip::from(&mut grad)
            .and(&y)
            .for_each(|g, &y| *g *= y * (1.0 - y));
        Some(grad)
    }

    fn to_onnx(&self, graph: &mut GraphBuilder, input: &str) -> String {
        graph.node("Sigmoid", &[input], vec![])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::check_layer;

    #[test]
    fn gradients_match_finite_differences() {
        check_layer(&mut Sigmoid::default(), 5, 3);
    }

    #[test]
    fn saturates_without_nan() {
        assert!((0.0..1e-37).contains(&sigmoid(-1000.0)));
        assert_eq!(sigmoid(1000.0), 1.0);
    }
}

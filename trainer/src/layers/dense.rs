//! Fully connected layer: y = x·W + b, exported as ONNX Gemm.

use super::{Layer, Param};
use crate::gemm::{matmul, matmul_into};
use crate::onnx::GraphBuilder;
use bottleneck::Rng;
use ndarray::{Array1, Array2, Axis};

/// A fully connected layer with weights `[inputs, outputs]` and a bias.
pub struct Dense {
    weights: Array2<f32>,
    bias: Array1<f32>,
    weights_grad: Array2<f32>,
    bias_grad: Array1<f32>,
    input: Option<Array2<f32>>,
}

impl Dense {
    /// Glorot-uniform weights and zero biases, as Keras initialises `Dense`.
    pub fn new(inputs: usize, outputs: usize, rng: &mut Rng) -> Dense {
        let limit = (6.0 / (inputs + outputs) as f32).sqrt();
        let weights = Array2::from_shape_simple_fn((inputs, outputs), || (2.0 * rng.uniform() - 1.0) * limit);
        Dense {
            weights,
            bias: Array1::zeros(outputs),
            weights_grad: Array2::zeros((inputs, outputs)),
            bias_grad: Array1::zeros(outputs),
            input: None,
        }
    }
}

impl Layer for Dense {
    fn describe(&self) -> String {
        format!("Dense {}→{}", self.weights.nrows(), self.weights.ncols())
    }

    fn forward(&mut self, x: Array2<f32>, train: bool) -> Array2<f32> {
        let mut y = Array2::from_shape_fn((x.nrows(), self.bias.len()), |(_, j)| self.bias[j]);
        matmul_into(x.view(), self.weights.view(), &mut y.view_mut(), true);
        if train {
            self.input = Some(x);
        }
        y
    }

    fn backward(&mut self, grad: Array2<f32>, need_input_grad: bool) -> Option<Array2<f32>> {
        let x = self.input.take().expect("Dense::backward without a training forward");
        matmul_into(x.t(), grad.view(), &mut self.weights_grad.view_mut(), false);
        self.bias_grad = grad.sum_axis(Axis(0));
        need_input_grad.then(|| matmul(grad.view(), self.weights.t()))
    }

    fn params(&mut self) -> Vec<Param<'_>> {
        vec![
            Param { value: self.weights.as_slice_mut().unwrap(), grad: self.weights_grad.as_slice().unwrap() },
            Param { value: self.bias.as_slice_mut().unwrap(), grad: self.bias_grad.as_slice().unwrap() },
        ]
    }

    fn to_onnx(&self, graph: &mut GraphBuilder, input: &str) -> String {
        let w = graph.initializer("W", self.weights.shape(), self.weights.as_slice().unwrap());
        let b = graph.initializer("B", self.bias.shape(), self.bias.as_slice().unwrap());
        graph.node("Gemm", &[input, &w, &b], vec![])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::check_layer;

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = Rng::new(1);
        check_layer(&mut Dense::new(7, 5, &mut rng), 7, 3);
    }

    #[test]
    fn glorot_limit_bounds_the_weights() {
        let dense = Dense::new(784, 512, &mut Rng::new(2));
        let limit = (6.0f32 / (784.0 + 512.0)).sqrt();
        assert!(dense.weights.iter().all(|w| w.abs() <= limit));
        assert!(dense.weights.iter().any(|w| w.abs() > 0.9 * limit));
    }
}

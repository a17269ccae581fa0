//! Fully connected layer with its activation: y = f(x·W + b), exported as ONNX Gemm followed by the
//! activation's node.

use super::{Activation, Layer, Param};
use crate::gemm::{matmul, matmul_into};
use crate::onnx::GraphBuilder;
use crate::simd::wide;
use bottleneck::Rng;
use ndarray::{Array1, Array2};

/// A fully connected layer with weights `[inputs, outputs]`, a bias and an activation.
pub struct Dense {
    weights: Array2<f32>,
    bias: Array1<f32>,
    activation: Activation,
    weights_grad: Array2<f32>,
    bias_grad: Array1<f32>,
    input: Option<Array2<f32>>,
    /// The activation's dy/dx at the last training forward pass, kept from step to step so the
    /// buffer is allocated once per batch size.
    slopes: Array2<f32>,
}

impl Dense {
    /// Glorot-uniform weights and zero biases, as Keras initialises `Dense`.
    pub fn new(inputs: usize, outputs: usize, activation: Activation, rng: &mut Rng) -> Dense {
        let limit = (6.0 / (inputs + outputs) as f32).sqrt();
        let weights = Array2::from_shape_simple_fn((inputs, outputs), || (2.0 * rng.uniform() - 1.0) * limit);
        Dense {
            weights,
            bias: Array1::zeros(outputs),
            activation,
            weights_grad: Array2::zeros((inputs, outputs)),
            bias_grad: Array1::zeros(outputs),
            input: None,
            slopes: Array2::zeros((0, outputs)),
        }
    }
}

impl Layer for Dense {
    fn describe(&self) -> String {
        let affine = format!("Dense {}→{}", self.weights.nrows(), self.weights.ncols());
        match self.activation.name() {
            Some(activation) => format!("{affine}, {activation}"),
            None => affine,
        }
    }

    fn forward(&mut self, x: Array2<f32>, train: bool) -> Array2<f32> {
        let mut y = matmul(x.view(), self.weights.view());
        let slopes = if train && self.activation != Activation::Linear {
            if self.slopes.dim() != y.dim() {
                self.slopes = Array2::zeros(y.dim());
            }
            Some(self.slopes.as_slice_mut().expect("fresh array"))
        } else {
            None
        };
        let values = y.as_slice_mut().expect("fresh array");
        self.activation.forward(values, self.bias.as_slice().expect("fresh array"), slopes);
        if train {
            self.input = Some(x);
        }
        y
    }

    fn backward(&mut self, mut grad: Array2<f32>, need_input_grad: bool) -> Option<Array2<f32>> {
        let x = self.input.take().expect("Dense::backward without a training forward");
        let linear = self.activation == Activation::Linear;
        assert!(linear || self.slopes.dim() == grad.dim(), "Dense::backward: gradient does not match the forward pass");
        let grads = grad.as_slice_mut().expect("gradients are contiguous");
        let bias_grad = self.bias_grad.as_slice_mut().expect("fresh array");
        bias_grad.fill(0.0);
        // One pass turns d loss / dy into d loss / d(x·W + b) and sums it into the bias gradient,
        // row after row in order, as ndarray's `sum_axis` does.
        if linear {
            wide(
                #[inline(always)]
                || sum_rows(grads, bias_grad),
            );
        } else {
            let slopes = self.slopes.as_slice().expect("fresh array");
            wide(
                #[inline(always)]
                || scale_and_sum_rows(grads, slopes, bias_grad),
            );
        }
        matmul_into(x.t(), grad.view(), &mut self.weights_grad.view_mut(), false);
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
        let affine = graph.node("Gemm", &[input, &w, &b], vec![]);
        self.activation.to_onnx(graph, affine)
    }
}

/// `sum += row` for every row of `values`, rows `sum.len()` wide.
#[inline(always)]
fn sum_rows(values: &[f32], sum: &mut [f32]) {
    for row in values.chunks_exact(sum.len()) {
        sum.iter_mut().zip(row).for_each(|(s, v)| *s += v);
    }
}

/// `v *= slope`, then `sum += row`, for every row of `values`.
#[inline(always)]
fn scale_and_sum_rows(values: &mut [f32], slopes: &[f32], sum: &mut [f32]) {
    for (row, slopes) in values.chunks_exact_mut(sum.len()).zip(slopes.chunks_exact(sum.len())) {
        for ((v, s), total) in row.iter_mut().zip(slopes).zip(sum.iter_mut()) {
            *v *= s;
            *total += *v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::check_layer;

    #[test]
    fn gradients_match_finite_differences() {
        for activation in [Activation::Linear, Activation::Elu, Activation::Sigmoid] {
            let mut rng = Rng::new(1);
            check_layer(&mut Dense::new(7, 5, activation, &mut rng), 7, 3);
        }
    }

    #[test]
    fn glorot_limit_bounds_the_weights() {
        let dense = Dense::new(784, 512, Activation::Elu, &mut Rng::new(2));
        let limit = (6.0f32 / (784.0 + 512.0)).sqrt();
        assert!(dense.weights.iter().all(|w| w.abs() <= limit));
        assert!(dense.weights.iter().any(|w| w.abs() > 0.9 * limit));
    }
}

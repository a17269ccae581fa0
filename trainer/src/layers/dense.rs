//! Fully connected layer with its activation: y = f(x·W + b), exported as ONNX Gemm followed by the
//! activation's node.
//!
//! Both passes cut the batch into one slice of rows per thread, and each thread takes a slice
//! through the product, on that thread alone, and then through the activation. Before, each product
//! split its own work across the cores and the element-wise passes ran on one thread, because a
//! product reading an activation of which both cores had written halves ran at half speed (146
//! against 270 GFLOPS); with whole slices per thread, the second core measured the other way
//! (`bench dense` 1.37 → 1.15 s/epoch). The weight gradient is the sum of the slices' products,
//! added in slice order, so a seed still fixes the run.

use super::{Activation, Layer, Param};
use crate::gemm::matmul_into_here;
use crate::onnx::GraphBuilder;
use crate::simd::wide;
use bottleneck::Rng;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rayon::prelude::*;

/// A fully connected layer with weights `[inputs, outputs]`, a bias and an activation.
pub struct Dense {
    weights: Array2<f32>,
    bias: Array1<f32>,
    activation: Activation,
    weights_grad: Array2<f32>,
    bias_grad: Array1<f32>,
    /// The weight and bias gradients of every slice of the batch but the first, which writes into
    /// `weights_grad` and `bias_grad`; kept from step to step.
    slice_grads: Vec<(Array2<f32>, Array1<f32>)>,
    input: Option<Array2<f32>>,
    /// The buffer of the last gradient `backward` was given, which has the shape of this layer's
    /// output: the next forward pass writes its output there instead of allocating and zeroing one.
    spare: Option<Array2<f32>>,
    /// The activation's dy/dx at the last training forward pass, kept from step to step so the
    /// buffer is allocated once per batch size.
    slopes: Array2<f32>,
}

impl Dense {
    /// Glorot-uniform weights and zero biases, as Keras initialises `Dense`.
    pub fn new(inputs: usize, outputs: usize, activation: Activation, rng: &mut Rng) -> Dense {
        let limit = (6.0 / (inputs + outputs) as f32).sqrt();
        let weights =
            Array2::from_shape_simple_fn((inputs, outputs), || (2.0 * rng.uniform() - 1.0) * limit);
        Dense {
            weights,
            bias: Array1::zeros(outputs),
            activation,
            weights_grad: Array2::zeros((inputs, outputs)),
            bias_grad: Array1::zeros(outputs),
            slice_grads: Vec::new(),
            input: None,
            spare: None,
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

    fn forward_flops(&self) -> u64 {
        2 * self.weights.len() as u64
    }

    fn forward(&mut self, x: Array2<f32>, train: bool) -> Array2<f32> {
        let (rows, width) = (x.nrows(), self.bias.len());
        // The product overwrites every value of `y` without reading it (`accumulate` is false: gemm
        // then scales the old contents by zero without loading them), so a spare buffer need not be
        // cleared.
        let mut y = match self.spare.take() {
            Some(spare) if spare.dim() == (rows, width) => spare,
            _ => Array2::zeros((rows, width)),
        };
        let keep_slopes = train && self.activation != Activation::Linear;
        if keep_slopes && self.slopes.dim() != y.dim() {
            self.slopes = Array2::zeros(y.dim());
        }
        let slice = slice_rows(rows);
        let mut slopes = keep_slopes.then(|| {
            self.slopes
                .as_slice_mut()
                .expect("fresh array")
                .chunks_mut(slice * width)
        });
        let slices: Vec<_> = x
            .axis_chunks_iter(Axis(0), slice)
            .zip(y.axis_chunks_iter_mut(Axis(0), slice))
            .map(|(x, y)| (x, y, slopes.as_mut().and_then(Iterator::next)))
            .collect();
        let (weights, bias, activation) = (
            self.weights.view(),
            self.bias.as_slice().expect("fresh array"),
            self.activation,
        );
        slices.into_par_iter().for_each(|(x, mut y, slopes)| {
            matmul_into_here(x, weights, &mut y, false);
            activation.forward(y.into_slice().expect("rows of a fresh array"), bias, slopes);
        });
        if train {
            self.input = Some(x);
        }
        y
    }

    fn backward(&mut self, mut grad: Array2<f32>, need_input_grad: bool) -> Option<Array2<f32>> {
        let mut x = self
            .input
            .take()
            .expect("Dense::backward without a training forward");
        let (rows, width) = (x.nrows(), self.bias.len());
        assert_eq!(
            grad.dim(),
            (rows, width),
            "Dense::backward: gradient does not match the forward pass"
        );
        let linear = self.activation == Activation::Linear;
        assert!(
            linear || self.slopes.dim() == grad.dim(),
            "Dense::backward: slopes do not match the forward pass"
        );
        let slice = slice_rows(rows);
        let count = rows.div_ceil(slice);
        let weights_dim = self.weights.dim();
        self.slice_grads.resize_with(count.saturating_sub(1), || {
            (Array2::zeros(weights_dim), Array1::zeros(width))
        });
        let mut slopes = (!linear).then(|| {
            self.slopes
                .as_slice()
                .expect("fresh array")
                .chunks(slice * width)
        });
        let grads = std::iter::once((&mut self.weights_grad, &mut self.bias_grad))
            .chain(self.slice_grads.iter_mut().map(|(w, b)| (w, b)));
        let slices: Vec<_> = grad
            .as_slice_mut()
            .expect("gradients are contiguous")
            .chunks_mut(slice * width)
            .zip(x.axis_chunks_iter_mut(Axis(0), slice))
            .zip(grads)
            .map(|((grad, x), grads)| (grad, x, grads, slopes.as_mut().and_then(Iterator::next)))
            .collect();
        let weights = self.weights.view();
        slices
            .into_par_iter()
            .for_each(|(grad, mut x, (weights_grad, bias_grad), slopes)| {
                let bias_grad = bias_grad.as_slice_mut().expect("fresh array");
                bias_grad.fill(0.0);
                // One pass turns d loss / dy into d loss / d(x·W + b) and sums it into the bias gradient.
                match slopes {
                    None => wide(
                        #[inline(always)]
                        || sum_rows(grad, bias_grad),
                    ),
                    Some(slopes) => wide(
                        #[inline(always)]
                        || scale_and_sum_rows(grad, slopes, bias_grad),
                    ),
                }
                let grad =
                    ArrayView2::from_shape((x.nrows(), width), grad).expect("rows of the gradient");
                matmul_into_here(x.t(), grad, &mut weights_grad.view_mut(), false);
                // This slice of the input has served its only use, so its buffer, of the input gradient's
                // shape, takes the input gradient: no allocation, and no zeroing since the product
                // overwrites without reading.
                if need_input_grad {
                    matmul_into_here(grad, weights.t(), &mut x, false);
                }
            });
        // The price of slicing the batch: one more pass over the weight gradient per extra slice,
        // shared out over the threads. Each value adds the slices in slice order, whatever thread
        // takes it, so a seed still fixes the run.
        let weights_parts: Vec<&[f32]> = self
            .slice_grads
            .iter()
            .map(|(w, _)| w.as_slice().expect("fresh array"))
            .collect();
        add_into(
            self.weights_grad.as_slice_mut().expect("fresh array"),
            &weights_parts,
        );
        let bias_parts: Vec<&[f32]> = self
            .slice_grads
            .iter()
            .map(|(_, b)| b.as_slice().expect("fresh array"))
            .collect();
        add_into(
            self.bias_grad.as_slice_mut().expect("fresh array"),
            &bias_parts,
        );
        self.spare = Some(grad);
        need_input_grad.then_some(x)
    }

    fn params(&mut self) -> Vec<Param<'_>> {
        vec![
            Param {
                dims: self.weights.shape().to_vec(),
                value: self.weights.as_slice_mut().unwrap(),
                grad: self.weights_grad.as_slice().unwrap(),
            },
            Param {
                dims: self.bias.shape().to_vec(),
                value: self.bias.as_slice_mut().unwrap(),
                grad: self.bias_grad.as_slice().unwrap(),
            },
        ]
    }

    fn to_onnx(&self, graph: &mut GraphBuilder, input: &str) -> String {
        let w = graph.initializer("W", self.weights.shape(), self.weights.as_slice().unwrap());
        let b = graph.initializer("B", self.bias.shape(), self.bias.as_slice().unwrap());
        let affine = graph.node("Gemm", &[input, &w, &b], vec![]);
        self.activation.to_onnx(graph, affine)
    }
}

/// Values per task when adding up the slices' weight gradients: the largest (401,408 values) splits
/// evenly over the threads, and a task's overhead vanishes.
const REDUCE_CHUNK: usize = 16 * 1024;

/// Rows per slice of a batch: one slice per rayon thread.
fn slice_rows(rows: usize) -> usize {
    rows.div_ceil(rayon::current_num_threads()).max(1)
}

/// `total += part` for each of `parts` in turn, element by element, in chunks over the threads.
fn add_into(total: &mut [f32], parts: &[&[f32]]) {
    total
        .par_chunks_mut(REDUCE_CHUNK)
        .enumerate()
        .for_each(|(i, total)| {
            for part in parts {
                let part = &part[i * REDUCE_CHUNK..][..total.len()];
                wide(
                    #[inline(always)]
                    || add(total, part),
                );
            }
        });
}

/// `total += part`, element by element.
#[inline(always)]
fn add(total: &mut [f32], part: &[f32]) {
    total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
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
    for (row, slopes) in values
        .chunks_exact_mut(sum.len())
        .zip(slopes.chunks_exact(sum.len()))
    {
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

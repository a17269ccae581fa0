//! The activation a `Dense` layer ends in. It runs in the pass over the output that adds the bias,
//! and keeps its derivative for the backward pass, which applies it in the pass that sums the bias
//! gradient: as layers of their own, bias, activation and derivative each cost one more trip through
//! a batch of activations in memory. The export still writes the activation as its own ONNX node.
//!
//! ELU's eˣ − 1 is computed as `exp(x) - 1` with the vectorising `fastexp::exp` rather than libm's
//! `expm1f`, which took an eighth of the training time; the two differ by under 1e-6 in absolute
//! terms, and tract computes ELU as exp(x) − 1 too.
//!
//! These passes run on the calling thread: `Dense` hands each thread its own slice of the batch.

use super::sigmoid;
use crate::onnx::{GraphBuilder, attr_float};
use crate::simd::wide;
use bottleneck::fastexp::exp;

/// What follows a `Dense` layer's affine map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// Nothing: the output is the affine map itself, as in the bottleneck.
    Linear,
    /// Exponential linear unit with α = 1 (the Keras default): x for x > 0, eˣ − 1 otherwise.
    Elu,
    /// Logistic sigmoid 1 / (1 + e⁻ˣ), the output layer.
    Sigmoid,
}

/// ELU of one value, branch-free so loops over it vectorise.
#[inline(always)]
fn elu(x: f32) -> f32 {
    let negative = exp(x.min(0.0)) - 1.0;
    if x > 0.0 { x } else { negative }
}

impl Activation {
    /// How the model card names it after the layer, e.g. `ELU`; nothing for `Linear`.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Activation::Linear => None,
            Activation::Elu => Some("ELU"),
            Activation::Sigmoid => Some("sigmoid"),
        }
    }

    /// Adds `bias` to each row of `values` (rows `bias.len()` wide) and applies the activation in
    /// place. With `slopes`, of the same size, also stores dy/dx there for the backward pass.
    pub fn forward(self, values: &mut [f32], bias: &[f32], slopes: Option<&mut [f32]>) {
        wide(
            #[inline(always)]
            move || match (self, slopes) {
                (Activation::Linear, _) => map_rows(values, bias, |x| x),
                (Activation::Elu, None) => map_rows(values, bias, elu),
                (Activation::Sigmoid, None) => map_rows(values, bias, sigmoid),
                (Activation::Elu, Some(slopes)) => {
                    map_rows_with_slopes(values, bias, slopes, |x| {
                        let y = elu(x);
                        (y, if x > 0.0 { 1.0 } else { y + 1.0 })
                    })
                }
                (Activation::Sigmoid, Some(slopes)) => {
                    map_rows_with_slopes(values, bias, slopes, |x| {
                        let y = sigmoid(x);
                        (y, y * (1.0 - y))
                    })
                }
            },
        );
    }

    /// Appends the activation's ONNX node reading `input`, if it has one; returns the output's name.
    pub fn to_onnx(self, graph: &mut GraphBuilder, input: String) -> String {
        match self {
            Activation::Linear => input,
            Activation::Elu => graph.node("Elu", &[&input], vec![attr_float("alpha", 1.0)]),
            Activation::Sigmoid => graph.node("Sigmoid", &[&input], vec![]),
        }
    }
}

/// `v = f(v + bias)` over rows of `values`. Plain slices and a branch-free `f`: this loop vectorises.
#[inline(always)]
fn map_rows(values: &mut [f32], bias: &[f32], f: impl Fn(f32) -> f32) {
    for row in values.chunks_exact_mut(bias.len()) {
        row.iter_mut().zip(bias).for_each(|(v, b)| *v = f(*v + b));
    }
}

/// `(v, slope) = f(v + bias)` over rows of `values` and `slopes`.
#[inline(always)]
fn map_rows_with_slopes(
    values: &mut [f32],
    bias: &[f32],
    slopes: &mut [f32],
    f: impl Fn(f32) -> (f32, f32),
) {
    for (row, slopes) in values
        .chunks_exact_mut(bias.len())
        .zip(slopes.chunks_exact_mut(bias.len()))
    {
        for ((v, s), b) in row.iter_mut().zip(slopes).zip(bias) {
            (*v, *s) = f(*v + b);
        }
    }
}

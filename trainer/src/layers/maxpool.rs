//! 2×2 max pooling with stride 2, exported as ONNX MaxPool. An odd height or width drops its last
//! row or column, as Keras' "valid" pooling and ONNX's default floor rounding both do.

use super::Layer;
use super::fresh::{Fresh, STANDARD};
use crate::onnx::{GraphBuilder, attr_ints};
use crate::simd::wide;
use ndarray::{Array2, Axis};
use rayon::prelude::*;
use std::ops::Range;

/// Max pooling over 2×2 windows of `channels` maps of `height`×`width`.
pub struct MaxPool2d {
    channels: usize,
    height: usize,
    width: usize,
    /// For every output of the training forward pass, which value of its window it took (0–3,
    /// row-major): a byte per output, where keeping the input would make backward read four floats.
    argmax: Option<Array2<u8>>,
}

impl MaxPool2d {
    /// Pooling for `channels` maps of `height`×`width`, halving both (rounding down).
    pub fn new(channels: usize, height: usize, width: usize) -> MaxPool2d {
        MaxPool2d {
            channels,
            height,
            width,
            argmax: None,
        }
    }

    /// Output pixels per channel.
    pub(super) fn pooled(&self) -> usize {
        (self.height / 2) * (self.width / 2)
    }

    /// Pools one sample `x` `[channels, h·w]` into `y` `[channels, pooled]` and notes in `argmax` which
    /// value of its window each output took.
    pub(super) fn pool(&self, x: &[f32], y: &mut [f32], argmax: &mut [u8]) {
        // Row by row over slices, compiled for AVX-512, so that the loop vectorises: taken a window
        // at a time through indices, it stays scalar.
        wide(
            #[inline(always)]
            || {
                self.row_pairs(|top, bottom, output| {
                    let (top, bottom) = (x[top].chunks_exact(2), x[bottom].chunks_exact(2));
                    let outputs = y[output.clone()].iter_mut().zip(&mut argmax[output]);
                    for ((y, at), (t, b)) in outputs.zip(top.zip(bottom)) {
                        (*y, *at) = first_max([t[0], t[1], b[0], b[1]]);
                    }
                })
            },
        );
    }

    /// Writes one sample's input gradient `dx` `[channels, h·w]` from its output gradient `g`: each
    /// output's gradient where `pool` found its maximum, zero everywhere else, the odd last row and
    /// column included.
    pub(super) fn unpool(&self, g: &[f32], argmax: &[u8], dx: &mut [f32]) {
        dx.fill(0.0);
        let width = self.width;
        self.row_pairs(|top, _, output| {
            for (j, (&g, &at)) in g[output.clone()].iter().zip(&argmax[output]).enumerate() {
                dx[top.start + 2 * j + usize::from(at & 1) + usize::from(at >> 1) * width] = g;
            }
        });
    }

    /// Calls `visit(top, bottom, outputs)` for every pair of input rows of a sample, with the indices
    /// of the two rows in the sample and of the row of outputs their windows make.
    #[inline(always)]
    fn row_pairs(&self, mut visit: impl FnMut(Range<usize>, Range<usize>, Range<usize>)) {
        let (height, width, half) = (self.height, self.width, self.width / 2);
        for c in 0..self.channels {
            for row in 0..height / 2 {
                let top = (c * height + 2 * row) * width;
                let output = (c * (height / 2) + row) * half;
                visit(
                    top..top + width,
                    top + width..top + 2 * width,
                    output..output + half,
                );
            }
        }
    }
}

/// The largest of a window's four values and the position of its first occurrence, the one
/// TensorFlow routes the gradient to on ties. Branch-free: on random data a branch per comparison
/// would mispredict every other time.
#[inline(always)]
fn first_max([a, b, c, d]: [f32; 4]) -> (f32, u8) {
    let (top, bottom) = (a.max(b), c.max(d));
    let (top_at, bottom_at) = (u8::from(b > a), 2 + u8::from(d > c));
    (
        top.max(bottom),
        if bottom > top { bottom_at } else { top_at },
    )
}

impl Layer for MaxPool2d {
    fn describe(&self) -> String {
        format!(
            "MaxPool2d 2×2 on {}×{}×{}",
            self.channels, self.height, self.width
        )
    }

    fn forward_flops(&self) -> u64 {
        0
    }

    fn forward(&mut self, x: Array2<f32>, train: bool) -> Array2<f32> {
        let (batch, pooled) = (x.nrows(), self.pooled());
        let mut y = Fresh::new(batch, self.channels, pooled);
        let mut argmax = Array2::zeros((batch, self.channels * pooled));
        let samples = x
            .axis_iter(Axis(0))
            .into_par_iter()
            .zip(argmax.axis_iter_mut(Axis(0)));
        samples.zip(y.samples()).for_each(|((x, mut argmax), y)| {
            let y = y
                .fill(|_| 0.0)
                .into_slice()
                .expect("fresh samples are contiguous");
            let argmax = argmax
                .as_slice_mut()
                .expect("a fresh array's rows are contiguous");
            self.pool(x.to_slice().expect(STANDARD), y, argmax);
        });
        if train {
            self.argmax = Some(argmax);
        }
        y.finish()
    }

    fn backward(&mut self, grad: Array2<f32>, _need_input_grad: bool) -> Option<Array2<f32>> {
        let argmax = self
            .argmax
            .take()
            .expect("MaxPool2d::backward without a training forward");
        let mut dx = Fresh::new(grad.nrows(), self.channels, self.height * self.width);
        let samples = grad
            .axis_iter(Axis(0))
            .into_par_iter()
            .zip(argmax.axis_iter(Axis(0)));
        samples.zip(dx.samples()).for_each(|((g, argmax), dx)| {
            let dx = dx
                .fill(|_| 0.0)
                .into_slice()
                .expect("fresh samples are contiguous");
            let (g, argmax) = (
                g.to_slice().expect(STANDARD),
                argmax.to_slice().expect("rows are contiguous"),
            );
            self.unpool(g, argmax, dx);
        });
        Some(dx.finish())
    }

    fn to_onnx(&self, graph: &mut GraphBuilder, input: &str) -> String {
        graph.node(
            "MaxPool",
            &[input],
            vec![
                attr_ints("kernel_shape", &[2, 2]),
                attr_ints("strides", &[2, 2]),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::check_layer_at;
    use bottleneck::Rng;
    use ndarray::array;

    #[test]
    fn gradients_match_finite_differences() {
        // Values 0.05 apart in shuffled order: no finite-difference step can change a window's maximum.
        let x = Array2::from_shape_fn((2, 48), |(b, i)| {
            0.05 * ((b * 48 + i) * 29 % 96) as f32 - 2.4
        });
        check_layer_at(&mut MaxPool2d::new(2, 4, 6), x, &mut Rng::new(1));
    }

    #[test]
    fn odd_sizes_drop_the_last_row_and_column() {
        let mut pool = MaxPool2d::new(1, 3, 5);
        let x = array![[
            1.0, 2.0, 3.0, 0.0, 9.0, 4.0, 0.0, 5.0, 6.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0
        ]];
        assert_eq!(pool.forward(x, true), array![[4.0, 6.0]]);
        let dx = pool.backward(array![[10.0, 20.0]], true).unwrap();
        assert_eq!(
            dx,
            array![[
                0.0, 0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 20.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
            ]]
        );
    }

    #[test]
    fn ties_go_to_the_first_maximum() {
        let mut pool = MaxPool2d::new(1, 2, 2);
        pool.forward(array![[1.0, 3.0, 3.0, 3.0]], true);
        assert_eq!(
            pool.backward(array![[1.0]], true).unwrap(),
            array![[0.0, 1.0, 0.0, 0.0]]
        );
    }
}

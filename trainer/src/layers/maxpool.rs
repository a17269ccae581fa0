//! 2×2 max pooling with stride 2, exported as ONNX MaxPool. An odd height or width drops its last
//! row or column, as Keras' "valid" pooling and ONNX's default floor rounding both do.

use super::Layer;
use super::fresh::Fresh;
use crate::onnx::{GraphBuilder, attr_ints};
use ndarray::{Array2, Axis};
use rayon::prelude::*;

/// Max pooling over 2×2 windows of `channels` maps of `height`×`width`.
pub struct MaxPool2d {
    channels: usize,
    height: usize,
    width: usize,
    /// For every output of the training forward pass, the index in its sample of the input it took.
    argmax: Option<Array2<u32>>,
}

impl MaxPool2d {
    /// Pooling for `channels` maps of `height`×`width`, halving both (rounding down).
    pub fn new(channels: usize, height: usize, width: usize) -> MaxPool2d {
        MaxPool2d { channels, height, width, argmax: None }
    }

    /// Output pixels per channel.
    fn pooled(&self) -> usize {
        (self.height / 2) * (self.width / 2)
    }

    /// Pools one sample into `y`, noting in `argmax` the sample index each output was taken from:
    /// the window's first largest value, row-major, as TensorFlow breaks ties.
    fn pool(&self, x: &[f32], y: &mut [f32], argmax: &mut [u32]) {
        let (width, plane) = (self.width, self.height * self.width);
        let mut outputs = y.iter_mut().zip(argmax);
        for (c, channel) in x.chunks_exact(plane).enumerate() {
            for (pair, rows) in channel.chunks_exact(2 * width).enumerate() {
                let (top, bottom) = rows.split_at(width);
                for (i, (a, b)) in top.chunks_exact(2).zip(bottom.chunks_exact(2)).enumerate() {
                    let candidates = [(a[0], 0), (a[1], 1), (b[0], width), (b[1], width + 1)];
                    let (max, offset) =
                        candidates.into_iter().fold(candidates[0], |best, next| if next.0 > best.0 { next } else { best });
                    let (y, argmax) = outputs.next().expect("one output per window");
                    *y = max;
                    *argmax = (c * plane + 2 * (pair * width + i) + offset) as u32;
                }
            }
        }
    }
}

impl Layer for MaxPool2d {
    fn describe(&self) -> String {
        format!("MaxPool2d 2×2 on {}×{}×{}", self.channels, self.height, self.width)
    }

    fn forward(&mut self, x: Array2<f32>, train: bool) -> Array2<f32> {
        let (batch, pooled) = (x.nrows(), self.pooled());
        let mut y = Fresh::new(batch, self.channels, pooled);
        let mut argmax = Fresh::new(batch, self.channels, pooled);
        let x = x.as_standard_layout();
        x.axis_iter(Axis(0)).into_par_iter().zip(y.samples()).zip(argmax.samples()).for_each(|((x, y), argmax)| {
            let (mut y, mut argmax) = (y.fill(|_| 0.0), argmax.fill(|_| 0));
            let x = x.to_slice().expect("standard layout rows are contiguous");
            self.pool(x, y.as_slice_mut().expect("fresh samples are contiguous"), argmax.as_slice_mut().expect("fresh samples are contiguous"));
        });
        if train {
            self.argmax = Some(argmax.finish());
        }
        y.finish()
    }

    fn backward(&mut self, grad: Array2<f32>, _need_input_grad: bool) -> Option<Array2<f32>> {
        let argmax = self.argmax.take().expect("MaxPool2d::backward without a training forward");
        let mut dx = Fresh::new(grad.nrows(), self.channels, self.height * self.width);
        let grad = grad.as_standard_layout();
        grad.axis_iter(Axis(0)).into_par_iter().zip(argmax.axis_iter(Axis(0))).zip(dx.samples()).for_each(
            |((g, argmax), dx)| {
                let mut dx = dx.fill(|_| 0.0);
                let dx = dx.as_slice_mut().expect("fresh samples are contiguous");
                g.iter().zip(argmax).for_each(|(&g, &at)| dx[at as usize] = g);
            },
        );
        Some(dx.finish())
    }

    fn to_onnx(&self, graph: &mut GraphBuilder, input: &str) -> String {
        graph.node("MaxPool", &[input], vec![attr_ints("kernel_shape", &[2, 2]), attr_ints("strides", &[2, 2])])
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
        let x = Array2::from_shape_fn((2, 48), |(b, i)| 0.05 * ((b * 48 + i) * 29 % 96) as f32 - 2.4);
        check_layer_at(&mut MaxPool2d::new(2, 4, 6), x, &mut Rng::new(1));
    }

    #[test]
    fn odd_sizes_drop_the_last_row_and_column() {
        let mut pool = MaxPool2d::new(1, 3, 5);
        let x = array![[1.0, 2.0, 3.0, 0.0, 9.0, 4.0, 0.0, 5.0, 6.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0]];
        assert_eq!(pool.forward(x, true), array![[4.0, 6.0]]);
        let dx = pool.backward(array![[10.0, 20.0]], true).unwrap();
        assert_eq!(dx, array![[0.0, 0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 20.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]);
    }

    #[test]
    fn ties_go_to_the_first_maximum() {
        let mut pool = MaxPool2d::new(1, 2, 2);
        pool.forward(array![[1.0, 3.0, 3.0, 3.0]], true);
        assert_eq!(pool.backward(array![[1.0]], true).unwrap(), array![[0.0, 1.0, 0.0, 0.0]]);
    }
}

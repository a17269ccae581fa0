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
    /// The training forward pass's input: backward finds each window's maximum in it again, which
    /// is cheaper than storing where it was.
    input: Option<Array2<f32>>,
}

impl MaxPool2d {
    /// Pooling for `channels` maps of `height`×`width`, halving both (rounding down).
    pub fn new(channels: usize, height: usize, width: usize) -> MaxPool2d {
        MaxPool2d { channels, height, width, input: None }
    }

    /// Output pixels per channel.
    fn pooled(&self) -> usize {
        (self.height / 2) * (self.width / 2)
    }

    /// Calls `visit(output index, input index)` for every window of one sample, with the input
    /// index of the window's first largest value (row-major, as TensorFlow breaks ties).
    fn windows(&self, sample: &[f32], mut visit: impl FnMut(usize, usize)) {
        let (width, plane) = (self.width, self.height * self.width);
        let mut output = 0;
        for (c, channel) in sample.chunks_exact(plane).enumerate() {
            for (row_pair, top_row) in channel.chunks_exact(2 * width).enumerate() {
                let (top, bottom) = top_row.split_at(width);
                for (x, (a, b)) in top.chunks_exact(2).zip(bottom.chunks_exact(2)).enumerate() {
                    let candidates = [(a[0], 0), (a[1], 1), (b[0], width), (b[1], width + 1)];
                    let (_, offset) = candidates.into_iter().fold(candidates[0], |best, c| if c.0 > best.0 { c } else { best });
                    visit(output, c * plane + row_pair * 2 * width + 2 * x + offset);
                    output += 1;
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
        let mut y = Fresh::new(x.nrows(), self.channels, self.pooled());
        {
            let x = x.as_standard_layout();
            x.axis_iter(Axis(0)).into_par_iter().zip(y.samples()).for_each(|(x, y)| {
                let x = x.to_slice().expect("standard layout rows are contiguous");
                let mut y = y.fill(|_| 0.0);
                let y = y.as_slice_mut().expect("fresh samples are contiguous");
                self.windows(x, |out, at| y[out] = x[at]);
            });
        }
        if train {
            self.input = Some(x);
        }
        y.finish()
    }

    fn backward(&mut self, grad: Array2<f32>, _need_input_grad: bool) -> Option<Array2<f32>> {
        let x = self.input.take().expect("MaxPool2d::backward without a training forward");
        let mut dx = Fresh::new(x.nrows(), self.channels, self.height * self.width);
        let (x, grad) = (x.as_standard_layout(), grad.as_standard_layout());
        x.axis_iter(Axis(0)).into_par_iter().zip(grad.axis_iter(Axis(0))).zip(dx.samples()).for_each(|((x, g), dx)| {
            let (x, g) = (x.to_slice().expect("contiguous row"), g.to_slice().expect("contiguous row"));
            let mut dx = dx.fill(|_| 0.0);
            let dx = dx.as_slice_mut().expect("fresh samples are contiguous");
            self.windows(x, |out, at| dx[at] = g[out]);
        });
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

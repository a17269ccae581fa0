//! Nearest-neighbour upsampling by 2, exported as ONNX Resize.

use super::Layer;
use super::fresh::Fresh;
use crate::onnx::{GraphBuilder, attr_string};
use ndarray::{Array2, Axis};
use rayon::prelude::*;

/// Repeats every pixel of `channels` maps of `height`×`width` into a 2×2 block.
pub struct UpSample2d {
    channels: usize,
    height: usize,
    width: usize,
}

impl UpSample2d {
    /// Doubles the height and width of `channels` maps of `height`×`width`.
    pub fn new(channels: usize, height: usize, width: usize) -> UpSample2d {
        UpSample2d {
            channels,
            height,
            width,
        }
    }

    /// Pixels per channel of the input.
    pub(super) fn pixels(&self) -> usize {
        self.height * self.width
    }

    /// Repeats each pixel of one sample `x` `[channels, h·w]` into a 2×2 block of `y`
    /// `[channels, 2h·2w]`.
    pub(super) fn upsample(&self, x: &[f32], y: &mut [f32]) {
        let width = self.width;
        // Each input row becomes two identical output rows of twice its width.
        for (row, pair) in x.chunks_exact(width).zip(y.chunks_exact_mut(4 * width)) {
            let (top, bottom) = pair.split_at_mut(2 * width);
            top.chunks_exact_mut(2)
                .zip(row)
                .for_each(|(block, &v)| block.fill(v));
            bottom.copy_from_slice(top);
        }
    }

    /// Writes one sample's input gradient `dx` `[channels, h·w]`: the output gradient `g`
    /// `[channels, 2h·2w]` summed over each 2×2 block.
    pub(super) fn sum_blocks(&self, g: &[f32], dx: &mut [f32]) {
        let width = self.width;
        for (row, pair) in dx.chunks_exact_mut(width).zip(g.chunks_exact(4 * width)) {
            let (top, bottom) = pair.split_at(2 * width);
            for ((d, t), b) in row
                .iter_mut()
                .zip(top.chunks_exact(2))
                .zip(bottom.chunks_exact(2))
            {
                *d = t[0] + t[1] + b[0] + b[1];
            }
        }
    }
}

impl Layer for UpSample2d {
    fn describe(&self) -> String {
        format!(
            "UpSample2d ×2 on {}×{}×{}",
            self.channels, self.height, self.width
        )
    }

    fn forward_flops(&self) -> u64 {
        0
    }

    fn forward(&mut self, x: Array2<f32>, _train: bool) -> Array2<f32> {
        let mut y = Fresh::new(x.nrows(), self.channels, 4 * self.pixels());
        let x = x.as_standard_layout();
        x.axis_iter(Axis(0))
            .into_par_iter()
            .zip(y.samples())
            .for_each(|(x, y)| {
                let y = y
                    .fill(|_| 0.0)
                    .into_slice()
                    .expect("fresh samples are contiguous");
                self.upsample(x.to_slice().expect("contiguous row"), y);
            });
        y.finish()
    }

    fn backward(&mut self, grad: Array2<f32>, _need_input_grad: bool) -> Option<Array2<f32>> {
        let mut dx = Fresh::new(grad.nrows(), self.channels, self.pixels());
        let grad = grad.as_standard_layout();
        grad.axis_iter(Axis(0))
            .into_par_iter()
            .zip(dx.samples())
            .for_each(|(g, dx)| {
                let dx = dx
                    .fill(|_| 0.0)
                    .into_slice()
                    .expect("fresh samples are contiguous");
                self.sum_blocks(g.to_slice().expect("contiguous row"), dx);
            });
        Some(dx.finish())
    }

    fn to_onnx(&self, graph: &mut GraphBuilder, input: &str) -> String {
        // Opset 13 Resize: inputs X, roi (unused by "asymmetric", so left empty) and scales.
        let scales = graph.initializer("scales", &[4], &[1.0, 1.0, 2.0, 2.0]);
        let attributes = vec![
            attr_string("mode", "nearest"),
            attr_string("coordinate_transformation_mode", "asymmetric"),
            attr_string("nearest_mode", "floor"),
        ];
        graph.node("Resize", &[input, "", &scales], attributes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::check_layer;
    use ndarray::array;

    #[test]
    fn gradients_match_finite_differences() {
        check_layer(&mut UpSample2d::new(2, 3, 3), 18, 2);
    }

    #[test]
    fn repeats_each_pixel_into_a_block() {
        let y = UpSample2d::new(1, 1, 2).forward(array![[1.0, 2.0]], false);
        assert_eq!(y, array![[1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]]);
    }
}

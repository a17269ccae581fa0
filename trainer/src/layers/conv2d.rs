//! 3×3 convolution, stride 1, zero "same" padding, exported as ONNX Conv.
//!
//! Each sample becomes one matrix product with the 3×3 patches (im2col) of whichever side has fewer
//! channels, so the 1→32 and 32→1 layers at 28×28 never build a 288-row patch matrix:
//!
//! - patches of the input:  y = W·patches(x),  dW = g·patches(x)ᵀ,  dx = fold(Wᵀ·g)
//! - patches of the output: y = fold(F·x),     dF = patches(g)·xᵀ,  dx = Fᵀ·patches(g)
//!
//! W is the `[out, in·9]` weight matrix (ONNX's layout), F the same weights as `[out·9, in]` with the
//! kernel turned half a turn, and `fold` the adjoint of `patches` (col2im). The forward and backward
//! passes pick their side separately, so a 32→32 layer unfolds x forward and g backward and never
//! folds at all.
//!
//! With `with_relu` the layer ends in a ReLU, with `with_pool` in 2×2 max pooling, and with
//! `after_upsample` it starts by upsampling its input ×2, each applied in the same pass over a sample
//! while it is in cache (see `relu`): the 26 MB activations at 32×28×28 then never go through memory
//! at full size. Pooling runs before the ReLU, which gives the same values and gradients (ReLU is
//! monotone, and routes no gradient where the maximum is not positive) on a quarter of the values.
//! The export still has the Resize, Conv, Relu and MaxPool nodes, in that order.
//!
//! The work is split over samples rather than done as one batch-wide product: a sample's patches (at
//! most 288×784 floats) stay in the core's L2 cache and its product lands straight in its NCHW row.
//! A batch-wide patch matrix (58 MB at 32×14×14) made every pass wait on memory instead.

use super::fresh::{Fresh, STANDARD};
use super::{Layer, MaxPool2d, Param, UpSample2d, relu};
use crate::gemm::matmul_into;
use crate::onnx::{GraphBuilder, attr_ints};
use bottleneck::Rng;
use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut1, ArrayViewMut2};
use rayon::prelude::*;
use std::ops::Range;

/// Taps of the 3×3 kernel, row-major: tap t sits at (t / 3, t % 3).
const TAPS: usize = 9;
/// Samples per partial weight gradient in the backward pass: enough work per task for both cores,
/// few enough partial sums to add.
const SAMPLES_PER_PARTIAL_SUM: usize = 16;

/// Where one tap reads in a flattened image: output pixel p reads pixel p + shift, for p in `range`
/// except in the `edge` column, whose neighbour lies beyond the left or right border.
struct Tap {
    range: Range<usize>,
    /// `range.start` + shift, never negative.
    source: usize,
    edge: Option<usize>,
}

impl Tap {
    fn new(t: usize, height: usize, width: usize) -> Tap {
        let (dy, dx) = (t / 3, t % 3);
        let pixels = (height * width) as isize;
        let shift = (dy as isize - 1) * width as isize + dx as isize - 1;
        // The rows whose neighbour row exists; in them only the edge column can step outside the
        // image, and it is zeroed separately, so one contiguous range covers the rest.
        let rows = usize::from(dy == 0)..height.saturating_sub(usize::from(dy == 2));
        let start = ((rows.start * width) as isize).max(-shift).clamp(0, pixels);
        let end = ((rows.end * width) as isize).min(pixels - shift).clamp(start, pixels);
        Tap {
            range: start as usize..end as usize,
            // An empty range reads nothing; 0 keeps the slicing in bounds.
            source: if start < end { (start + shift) as usize } else { 0 },
            edge: match dx {
                0 => Some(0),
                2 => Some(width - 1),
                _ => None,
            },
        }
    }

    /// Zeroes the edge column of one patch row.
    fn clear_edge(&self, row: &mut [f32], width: usize) {
        if let Some(x) = self.edge {
            row.iter_mut().skip(x).step_by(width).for_each(|v| *v = 0.0);
        }
    }
}

/// A 3×3 convolution with stride 1 and zero padding that keeps the image size.
pub struct Conv2d {
    in_channels: usize,
    out_channels: usize,
    height: usize,
    width: usize,
    /// `[out, in·9]`, which row-major is ONNX's `[out, in, 3, 3]`.
    weights: Array2<f32>,
    bias: Array1<f32>,
    weights_grad: Array2<f32>,
    bias_grad: Array1<f32>,
    taps: Vec<Tap>,
    input: Option<Array2<f32>>,
    /// Whether a ReLU follows the convolution.
    relu: bool,
    /// Where the training forward pass's ReLU let the output through.
    passed: Option<Array2<bool>>,
    /// The pooling that follows the convolution, if any.
    pool: Option<MaxPool2d>,
    /// Which value of its window each pooled output took, from the last forward pass.
    argmax: Option<Array2<u8>>,
    /// The upsampling that precedes the convolution, if any.
    upsample: Option<UpSample2d>,
}

impl Conv2d {
    /// Glorot-uniform weights (fans of in·9 and out·9) and zero biases, as Keras initialises
    /// `Conv2D`, for `height`×`width` images of `in_channels` channels.
    pub fn new(in_channels: usize, out_channels: usize, height: usize, width: usize, rng: &mut Rng) -> Conv2d {
        let limit = (6.0 / ((in_channels + out_channels) * TAPS) as f32).sqrt();
        let shape = (out_channels, in_channels * TAPS);
        Conv2d {
            in_channels,
            out_channels,
            height,
            width,
            weights: Array2::from_shape_simple_fn(shape, || (2.0 * rng.uniform() - 1.0) * limit),
            bias: Array1::zeros(out_channels),
            weights_grad: Array2::zeros(shape),
            bias_grad: Array1::zeros(out_channels),
            taps: (0..TAPS).map(|t| Tap::new(t, height, width)).collect(),
            input: None,
            relu: false,
            passed: None,
            pool: None,
            argmax: None,
            upsample: None,
        }
    }

    /// The same convolution followed by a ReLU.
    pub fn with_relu(mut self) -> Conv2d {
        self.relu = true;
        self
    }

    /// The same convolution followed by 2×2 max pooling, after the ReLU if there is one.
    pub fn with_pool(mut self) -> Conv2d {
        self.pool = Some(MaxPool2d::new(self.out_channels, self.height, self.width));
        self
    }

    /// The same convolution on its input upsampled ×2 first: it then takes images of half its height
    /// and width, whose every pixel it repeats into a 2×2 block (nearest neighbour).
    pub fn after_upsample(mut self) -> Conv2d {
        self.upsample = Some(UpSample2d::new(self.in_channels, self.height / 2, self.width / 2));
        self
    }

    /// Input pixels per channel: the image's, or the image's before upsampling.
    fn input_pixels(&self) -> usize {
        self.upsample.as_ref().map_or(self.height * self.width, UpSample2d::pixels)
    }

    /// Output pixels per channel: the image's, or the pooled image's.
    fn output_pixels(&self) -> usize {
        self.pool.as_ref().map_or(self.height * self.width, MaxPool2d::pooled)
    }

    /// Writes the patches of one sample `[channels, h·w]` into `cols` `[channels·9, h·w]`: row
    /// (c, t) is channel c shifted by tap t, zero where the tap falls outside the image.
    fn unfold(&self, sample: ArrayView2<f32>, cols: &mut Array2<f32>) {
        let pixels = self.height * self.width;
        let sample = sample.to_slice().expect("a sample is one contiguous row");
        let rows = cols.as_slice_mut().expect("scratch is contiguous").chunks_exact_mut(pixels);
        for (r, row) in rows.enumerate() {
            let (channel, tap) = (&sample[r / TAPS * pixels..][..pixels], &self.taps[r % TAPS]);
            row[..tap.range.start].fill(0.0);
            row[tap.range.end..].fill(0.0);
            row[tap.range.clone()].copy_from_slice(&channel[tap.source..][..tap.range.len()]);
            tap.clear_edge(row, self.width);
        }
    }

    /// Adds the adjoint of `unfold` of `cols` into one sample `out`; clobbers `cols`' edge columns.
    fn fold(&self, cols: &mut Array2<f32>, out: ArrayViewMut2<f32>) {
        let pixels = self.height * self.width;
        let out = out.into_slice().expect("a sample is one contiguous row");
        let rows = cols.as_slice_mut().expect("scratch is contiguous").chunks_exact_mut(pixels);
        for (r, row) in rows.enumerate() {
            let (channel, tap) = (&mut out[r / TAPS * pixels..][..pixels], &self.taps[r % TAPS]);
            tap.clear_edge(row, self.width);
            let target = &mut channel[tap.source..][..tap.range.len()];
            target.iter_mut().zip(&row[tap.range.clone()]).for_each(|(o, v)| *o += v);
        }
    }

    /// Position in W of F's entry `[o·9 + t, i]`: the same weight with the kernel turned half a turn,
    /// tap t ↔ tap 8 − t.
    fn weight_index(&self, (row, i): (usize, usize)) -> (usize, usize) {
        (row / TAPS, i * TAPS + TAPS - 1 - row % TAPS)
    }

    /// The weights as F `[out·9, in]`.
    fn flipped(&self) -> Array2<f32> {
        Array2::from_shape_fn((self.out_channels * TAPS, self.in_channels), |ri| self.weights[self.weight_index(ri)])
    }
}

impl Layer for Conv2d {
    fn describe(&self) -> String {
        let relu = if self.relu { ", ReLU" } else { "" };
        let pool = if self.pool.is_some() { ", MaxPool2d 2×2" } else { "" };
        let upsample = if self.upsample.is_some() { "UpSample2d ×2, " } else { "" };
        let (ins, outs, height, width) = (self.in_channels, self.out_channels, self.height, self.width);
        format!("{upsample}Conv2d 3×3 {ins}→{outs} on {height}×{width}{relu}{pool}")
    }

    fn forward(&mut self, x: Array2<f32>, train: bool) -> Array2<f32> {
        let (batch, pixels, outputs) = (x.nrows(), self.height * self.width, self.output_pixels());
        let mut y = Fresh::new(batch, self.out_channels, outputs);
        let unfold_input = self.in_channels <= self.out_channels;
        let flipped = (!unfold_input).then(|| self.flipped());
        let side = self.in_channels.min(self.out_channels);
        let mut passed = (self.relu && train).then(|| Array2::uninit((batch, self.out_channels * outputs)));
        let mut argmax = self.pool.as_ref().map(|_| Array2::zeros((batch, self.out_channels * outputs)));
        {
            let inputs = self.input_pixels();
            let samples = x.view().into_shape_with_order((batch, self.in_channels, inputs)).expect(STANDARD);
            let samples = samples.outer_iter().into_par_iter().zip(y.samples());
            let samples = samples.zip(per_sample(passed.as_mut(), batch)).zip(per_sample(argmax.as_mut(), batch));
            // An upsampled input and a not yet pooled output go to scratch arrays of the thread's.
            let full_size = if self.pool.is_some() { (self.out_channels, pixels) } else { (0, 0) };
            let wide_size = if self.upsample.is_some() { (self.in_channels, pixels) } else { (0, 0) };
            samples.for_each_init(
                || (Array2::zeros((side * TAPS, pixels)), Array2::zeros(full_size), Array2::zeros(wide_size)),
                |(cols, full, wide), (((x, y), passed), argmax)| {
                    let x = match &self.upsample {
                        Some(upsample) => {
                            let wide_slice = wide.as_slice_mut().expect("scratch is contiguous");
                            upsample.upsample(x.to_slice().expect(STANDARD), wide_slice);
                            wide.view()
                        }
                        None => x,
                    };
                    let mut y = match &self.pool {
                        None => y.fill(|c| self.bias[c]),
                        Some(_) => {
                            full.outer_iter_mut().enumerate().for_each(|(c, mut channel)| channel.fill(self.bias[c]));
                            y.fill(|_| 0.0)
                        }
                    };
                    let mut convolved = if self.pool.is_some() { full.view_mut() } else { y.view_mut() };
                    match &flipped {
                        None => {
                            self.unfold(x, cols);
                            matmul_into(self.weights.view(), cols.view(), &mut convolved, true);
                        }
                        Some(f) => {
                            matmul_into(f.view(), x, &mut cols.view_mut(), false);
                            self.fold(cols, convolved);
                        }
                    }
                    if let (Some(pool), Some(mut argmax)) = (&self.pool, argmax) {
                        let full = full.as_slice().expect("scratch is contiguous");
                        let argmax = argmax.as_slice_mut().expect("fresh arrays' rows are contiguous");
                        pool.pool(full, y.as_slice_mut().expect("fresh samples are contiguous"), argmax);
                    }
                    if self.relu {
                        let passed = passed.map(|p| p.into_slice().expect("fresh arrays' rows are contiguous"));
                        relu::forward(y.as_slice_mut().expect("fresh samples are contiguous"), passed);
                    }
                },
            );
        }
        if train {
            self.input = Some(x);
            // SAFETY: the loop above wrote every sample's flags.
            self.passed = passed.map(|p| unsafe { p.assume_init() });
            self.argmax = argmax;
        }
        y.finish()
    }

    fn backward(&mut self, mut grad: Array2<f32>, need_input_grad: bool) -> Option<Array2<f32>> {
        let mut x = self.input.take().expect("Conv2d::backward without a training forward");
        let (batch, pixels) = (x.nrows(), self.height * self.width);
        let (ins, outs) = (self.in_channels, self.out_channels);
        let unfold_grad = outs <= ins;
        let flipped = unfold_grad.then(|| self.flipped());
        let (side, kernel_shape) = if unfold_grad { (outs, (outs * TAPS, ins)) } else { (ins, (outs, ins * TAPS)) };
        let (mut passed, mut argmax) = (self.passed.take(), self.argmax.take());
        let outputs = self.output_pixels();
        let mut grads = grad.view_mut().into_shape_with_order((batch, outs, outputs)).expect(STANDARD);
        // A pooled sample's gradient is spread back to full size in a scratch array of the thread's.
        let full_size = if self.pool.is_some() { (outs, pixels) } else { (0, 0) };
        let zeros = || (Array2::zeros(kernel_shape), Array1::zeros(outs));
        // Each sample's input gradient overwrites the sample once its last use is past, so no
        // batch-sized array is allocated. The weight gradient is summed over fixed runs of samples,
        // then in order: with rayon's own splitting the float sums, and so the whole training run,
        // would change from one run to the next.
        let inputs = self.input_pixels();
        let mut samples = x.view_mut().into_shape_with_order((batch, ins, inputs)).expect(STANDARD);
        let wide_size = if self.upsample.is_some() { (ins, pixels) } else { (0, 0) };
        let partials: Vec<_> = samples
            .outer_iter_mut()
            .into_par_iter()
            .zip(grads.outer_iter_mut())
            .zip(per_sample(passed.as_mut(), batch))
            .zip(per_sample(argmax.as_mut(), batch))
            .fold_chunks(
                SAMPLES_PER_PARTIAL_SUM,
                || (zeros(), Array2::zeros((side * TAPS, pixels)), Array2::zeros(full_size), Array2::zeros(wide_size)),
                |((mut dk, mut db), mut cols, mut full, mut wide), (((mut narrow, mut g), passed), argmax)| {
                    // Upsampled again rather than kept from the forward pass: four times less to store.
                    let mut x = match &self.upsample {
                        Some(upsample) => {
                            let wide_slice = wide.as_slice_mut().expect("scratch is contiguous");
                            upsample.upsample(narrow.as_slice().expect(STANDARD), wide_slice);
                            wide.view_mut()
                        }
                        None => narrow.view_mut(),
                    };
                    if let Some(passed) = passed {
                        let g = g.as_slice_mut().expect(STANDARD);
                        relu::backward(g, passed.as_slice().expect("owned arrays' rows are contiguous"));
                    }
                    if let (Some(pool), Some(argmax)) = (&self.pool, argmax) {
                        let g = g.as_slice().expect(STANDARD);
                        let argmax = argmax.as_slice().expect("owned arrays' rows are contiguous");
                        pool.unpool(g, argmax, full.as_slice_mut().expect("scratch is contiguous"));
                    }
                    let g = if self.pool.is_some() { full.view() } else { g.view() };
                    db.iter_mut().zip(g.outer_iter()).for_each(|(d, channel)| *d += channel.sum());
                    match &flipped {
                        Some(f) => {
                            self.unfold(g, &mut cols);
                            matmul_into(cols.view(), x.t(), &mut dk.view_mut(), true);
                            if need_input_grad {
                                matmul_into(f.t(), cols.view(), &mut x, false);
                            }
                        }
                        None => {
                            self.unfold(x.view(), &mut cols);
                            matmul_into(g, cols.t(), &mut dk.view_mut(), true);
                            if need_input_grad {
                                matmul_into(self.weights.t(), g, &mut cols.view_mut(), false);
                                x.fill(0.0);
                                self.fold(&mut cols, x);
                            }
                        }
                    }
                    if let (Some(upsample), true) = (&self.upsample, need_input_grad) {
                        let narrow = narrow.as_slice_mut().expect(STANDARD);
                        upsample.sum_blocks(wide.as_slice().expect("scratch is contiguous"), narrow);
                    }
                    ((dk, db), cols, full, wide)
                },
            )
            .map(|(sums, ..)| sums)
            .collect();
        let (kernel_grad, bias_grad) =
            partials.into_iter().reduce(|(k1, b1), (k2, b2)| (k1 + k2, b1 + b2)).unwrap_or_else(zeros);
        self.bias_grad = bias_grad;
        if unfold_grad {
            for (ri, &v) in kernel_grad.indexed_iter() {
                let at = self.weight_index(ri);
                self.weights_grad[at] = v;
            }
        } else {
            self.weights_grad = kernel_grad;
        }
        need_input_grad.then_some(x)
    }

    fn params(&mut self) -> Vec<Param<'_>> {
        vec![
            Param { value: self.weights.as_slice_mut().unwrap(), grad: self.weights_grad.as_slice().unwrap() },
            Param { value: self.bias.as_slice_mut().unwrap(), grad: self.bias_grad.as_slice().unwrap() },
        ]
    }

    fn to_onnx(&self, graph: &mut GraphBuilder, input: &str) -> String {
        let input = &match &self.upsample {
            Some(upsample) => upsample.to_onnx(graph, input),
            None => input.to_string(),
        };
        let w = graph.initializer("W", &[self.out_channels, self.in_channels, 3, 3], self.weights.as_slice().unwrap());
        let b = graph.initializer("B", self.bias.shape(), self.bias.as_slice().unwrap());
        let attributes =
            vec![attr_ints("kernel_shape", &[3, 3]), attr_ints("pads", &[1, 1, 1, 1]), attr_ints("strides", &[1, 1])];
        let conv = graph.node("Conv", &[input, &w, &b], attributes);
        let relu = if self.relu { graph.node("Relu", &[&conv], vec![]) } else { conv };
        match &self.pool {
            Some(pool) => pool.to_onnx(graph, &relu),
            None => relu,
        }
    }
}

/// The rows of the ReLU's flags one sample at a time, to zip with a layer's samples; `None` for
/// every sample when there are none to read or write.
fn per_sample<'a, T: Send + Sync + 'a>(
    flags: Option<&'a mut Array2<T>>,
    batch: usize,
) -> impl IndexedParallelIterator<Item = Option<ArrayViewMut1<'a, T>>> {
    let rows: Vec<_> = match flags {
        Some(flags) => flags.outer_iter_mut().map(Some).collect(),
        None => (0..batch).map(|_| None).collect(),
    };
    rows.into_par_iter()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::{check_layer, random_input};
    use std::time::Instant;

    /// Gives the layer non-zero biases, so the checks see them too.
    fn with_bias(mut conv: Conv2d, rng: &mut Rng) -> Conv2d {
        conv.bias.mapv_inplace(|_| rng.uniform() - 0.5);
        conv
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = Rng::new(1);
        // Fewer inputs than outputs, more, and as many: each pairing of unfold and fold is exercised.
        for (ins, outs) in [(2, 3), (3, 2), (2, 2)] {
            let mut conv = with_bias(Conv2d::new(ins, outs, 5, 4, &mut rng), &mut rng);
            check_layer(&mut conv, ins * 20, 2);
        }
    }

    /// The fused upsampling, ReLU and pooling compute what an `UpSample2d` before the plain
    /// convolution and a ReLU and a `MaxPool2d` after it compute, forward and back (finite
    /// differences would straddle the ReLU's kink at some output).
    #[test]
    fn fused_layers_match_the_plain_convolution_between_separate_ones() {
        let mut rng = Rng::new(7);
        let (h, w) = (6, 4);
        for (ins, outs) in [(1, 3), (3, 1), (2, 2)] {
            for (upsampled, pooled) in [(false, false), (false, true), (true, false), (true, true)] {
                let mut plain = with_bias(Conv2d::new(ins, outs, h, w, &mut rng), &mut rng);
                let mut fused = Conv2d::new(ins, outs, h, w, &mut rng).with_relu();
                (fused.weights, fused.bias) = (plain.weights.clone(), plain.bias.clone());
                if upsampled {
                    fused = fused.after_upsample();
                }
                if pooled {
                    fused = fused.with_pool();
                }
                let (mut upsample, mut pool) = (UpSample2d::new(ins, h / 2, w / 2), MaxPool2d::new(outs, h, w));
                let x = random_input(2, ins * h * w / if upsampled { 4 } else { 1 }, &mut rng);
                let z = plain.forward(if upsampled { upsample.forward(x.clone(), true) } else { x.clone() }, true);
                let relu = z.mapv(|v| v.max(0.0));
                let expected = if pooled { pool.forward(relu, true) } else { relu };
                assert_eq!(fused.forward(x, true), expected);
                let r = random_input(2, expected.ncols(), &mut rng);
                let unpooled = if pooled { pool.backward(r.clone(), true).unwrap() } else { r.clone() };
                let dz = plain.backward(&unpooled * &z.mapv(|v| f32::from(u8::from(v > 0.0))), true).unwrap();
                let dx = if upsampled { upsample.backward(dz, true).unwrap() } else { dz };
                assert_eq!(fused.backward(r, true).unwrap(), dx);
                assert_eq!((&fused.weights_grad, &fused.bias_grad), (&plain.weights_grad, &plain.bias_grad));
            }
        }
    }

    #[test]
    fn matches_a_direct_convolution() {
        let mut rng = Rng::new(2);
        let (ins, outs, h, w) = (3, 2, 4, 6);
        for (ins, outs) in [(ins, outs), (outs, ins)] {
            let mut conv = with_bias(Conv2d::new(ins, outs, h, w, &mut rng), &mut rng);
            let x = random_input(2, ins * h * w, &mut rng);
            let y = conv.forward(x.clone(), false);
            for (b, o, py, px) in (0..2).flat_map(|b| (0..outs).flat_map(move |o| pixels(h, w).map(move |p| (b, o, p.0, p.1)))) {
                let mut expected = conv.bias[o];
                for (i, (ky, kx)) in (0..ins).flat_map(|i| pixels(3, 3).map(move |k| (i, k))) {
                    let (sy, sx) = ((py + ky) as isize - 1, (px + kx) as isize - 1);
                    if (0..h as isize).contains(&sy) && (0..w as isize).contains(&sx) {
                        let pixel = x[[b, (i * h + sy as usize) * w + sx as usize]];
                        expected += conv.weights[[o, i * TAPS + ky * 3 + kx]] * pixel;
                    }
                }
                let got = y[[b, (o * h + py) * w + px]];
                assert!((got - expected).abs() < 1e-5, "{ins}→{outs} y[{b},{o},{py},{px}]: {got} vs {expected}");
            }
        }
    }

    /// Every (row, column) of an h×w grid, row-major.
    fn pixels(h: usize, w: usize) -> impl Iterator<Item = (usize, usize)> {
        (0..h).flat_map(move |y| (0..w).map(move |x| (y, x)))
    }

    #[test]
    fn glorot_limit_bounds_the_weights() {
        let conv = Conv2d::new(32, 32, 14, 14, &mut Rng::new(3));
        let limit = (6.0f32 / (64.0 * 9.0)).sqrt();
        assert!(conv.weights.iter().all(|w| w.abs() <= limit));
        assert!(conv.weights.iter().any(|w| w.abs() > 0.9 * limit));
    }

    /// The speed of the model's convolutions, the bulk of its training time:
    /// `cargo test --release -p trainer --lib -- --ignored --nocapture conv2d`.
    #[test]
    #[ignore]
    fn benchmark() {
        let batch = 256;
        // The seed's layers; the first one has no input gradient to compute.
        for (ins, outs, side) in [(1, 32, 28), (32, 32, 14), (32, 32, 7), (32, 1, 28)] {
            let mut conv = Conv2d::new(ins, outs, side, side, &mut Rng::new(4));
            let x = random_input(batch, ins * side * side, &mut Rng::new(5));
            let grad = random_input(batch, outs * side * side, &mut Rng::new(6));
            let passes = if ins == 1 { 2.0 } else { 3.0 };
            let flops = passes * 2.0 * (batch * side * side * ins * outs * TAPS) as f64;
            let mut step = || {
                let (x, grad) = (x.clone(), grad.clone());
                let started = Instant::now();
                conv.forward(x, true);
                let forward = started.elapsed().as_secs_f64();
                conv.backward(grad, ins > 1);
                (forward, started.elapsed().as_secs_f64())
            };
            step();
            let reps = 20;
            let (forward, total) = (0..reps).map(|_| step()).fold((0.0, 0.0), |(f, t), (sf, st)| (f + sf, t + st));
            let (forward, total) = (forward / reps as f64, total / reps as f64);
            println!(
                "Conv2d {ins}→{outs} on {side}×{side}, batch {batch}: forward {:.2} ms, forward+backward {:.2} ms, {:.0} GFLOPS",
                forward * 1e3,
                total * 1e3,
                flops / total / 1e9
            );
        }
    }
}

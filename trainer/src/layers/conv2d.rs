//! 3×3 convolution, stride 1, zero "same" padding, exported as ONNX Conv.
//!
//! Each sample becomes one matrix product with the 3×3 patches (im2col) of whichever side has fewer
//! channels, so a layer from or to a single channel unfolds that one channel into nine rows instead
//! of unfolding the many channels of its other side:
//!
//! - patches of the input:  y = W·patches(x),  dW = g·patches(x)ᵀ,  dx = fold(Wᵀ·g)
//! - patches of the output: y = fold(F·x),     dF = patches(g)·xᵀ,  dx = Fᵀ·patches(g)
//!
//! W is the `[out, in·9]` weight matrix (ONNX's layout), F the same weights as `[out·9, in]` with the
//! kernel turned half a turn, and `fold` the adjoint of `patches` (col2im). The forward and backward
//! passes pick their side separately, so a layer with as many inputs as outputs unfolds x forward
//! and g backward and never folds at all.
//!
//! The layer can start by upsampling its input ×2 (`after_upsample`, its `Prologue`) and end in a
//! ReLU (`with_relu`) and 2×2 max pooling (`with_pool`, its `Epilogue`). These stages run in the
//! convolution's pass over each sample, while the sample is in the core's cache (see `relu`), so the
//! batch's full-size activations never travel through memory between them. Pooling runs before the
//! ReLU, which gives the same values and gradients (ReLU is monotone, and routes no gradient where
//! the maximum is not positive) on a quarter of the values. The export still has the Resize, Conv,
//! Relu and MaxPool nodes, in that order.
//!
//! The work is split over samples rather than done as one batch-wide product: a sample's patches are
//! small enough to stay in the core's cache and its product lands straight in its NCHW row, where a
//! batch-wide patch matrix would outgrow every cache and leave each pass waiting on memory.

use super::fresh::{Fresh, STANDARD, Sample};
use super::{Layer, MaxPool2d, Param, UpSample2d, relu};
use crate::gemm::matmul_into;
use crate::onnx::{GraphBuilder, attr_ints};
use bottleneck::Rng;
use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2};
use rayon::prelude::*;
use std::mem::MaybeUninit;
use std::ops::Range;

/// Taps of the 3×3 kernel, row-major: tap t sits at (t / 3, t % 3).
const TAPS: usize = 9;
/// Samples per partial weight gradient in the backward pass: enough work per task to be worth
/// handing to a thread, few enough partial sums to add.
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
        let end = ((rows.end * width) as isize)
            .min(pixels - shift)
            .clamp(start, pixels);
        Tap {
            range: start as usize..end as usize,
            // An empty range reads nothing; 0 keeps the slicing in bounds.
            source: if start < end {
                (start + shift) as usize
            } else {
                0
            },
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

/// The stage a convolution runs on each sample before its product: nothing, or upsampling ×2.
struct Prologue {
    /// The nearest-neighbour upsampling of the layer's input, if any.
    upsample: Option<UpSample2d>,
}

impl Prologue {
    /// Input pixels per channel of a convolution on images of `pixels`: the same, or a quarter.
    fn input_pixels(&self, pixels: usize) -> usize {
        self.upsample.as_ref().map_or(pixels, UpSample2d::pixels)
    }

    /// A thread's array for one upsampled sample of `channels` maps of `pixels`; empty when nothing
    /// is upsampled.
    fn scratch(&self, channels: usize, pixels: usize) -> Array2<f32> {
        Array2::zeros(if self.upsample.is_some() {
            (channels, pixels)
        } else {
            (0, 0)
        })
    }

    /// The convolution's input for one sample `x`: `x` itself, or `x` upsampled into `wide`. The
    /// backward pass upsamples again rather than keeping the forward pass's copy, four times the size
    /// of `x`, and writes the convolution's input gradient over what this returns.
    fn input<'a>(
        &self,
        x: ArrayViewMut2<'a, f32>,
        wide: &'a mut Array2<f32>,
    ) -> ArrayViewMut2<'a, f32> {
        match &self.upsample {
            Some(upsample) => {
                let wide_slice = wide.as_slice_mut().expect("scratch is contiguous");
                upsample.upsample(x.as_slice().expect(STANDARD), wide_slice);
                wide.view_mut()
            }
            None => x,
        }
    }

    /// One sample's backward step: sums the convolution's input gradient, which the backward pass
    /// wrote over the upsampled input in `wide`, into the layer's input gradient `dx`. Without
    /// upsampling it was written into `dx` itself, and there is nothing to do.
    fn backward(&self, wide: &Array2<f32>, dx: ArrayViewMut2<f32>) {
        if let Some(upsample) = &self.upsample {
            let dx = dx.into_slice().expect(STANDARD);
            upsample.sum_blocks(wide.as_slice().expect("scratch is contiguous"), dx);
        }
    }

    /// The stage for the model card, e.g. `UpSample2d ×2, `.
    fn describe(&self) -> &'static str {
        if self.upsample.is_some() {
            "UpSample2d ×2, "
        } else {
            ""
        }
    }

    /// Appends the Resize node, if any, reading `input`; returns the name of the convolution's input.
    fn to_onnx(&self, graph: &mut GraphBuilder, input: &str) -> String {
        match &self.upsample {
            Some(upsample) => upsample.to_onnx(graph, input),
            None => input.to_string(),
        }
    }
}

/// The stages a convolution runs on each sample after its product: 2×2 max pooling, then a ReLU,
/// either, both or neither.
struct Epilogue {
    /// The 2×2 max pooling of the convolution's output, if any.
    pool: Option<MaxPool2d>,
    /// Whether a ReLU ends the layer.
    relu: bool,
}

impl Epilogue {
    /// Output pixels per channel of a convolution on images of `pixels`: the same, or the pooled
    /// image's.
    fn output_pixels(&self, pixels: usize) -> usize {
        self.pool.as_ref().map_or(pixels, MaxPool2d::pooled)
    }

    /// A thread's array for the convolution of one sample, `channels` maps of `pixels`, before it is
    /// pooled; empty when nothing is pooled.
    fn scratch(&self, channels: usize, pixels: usize) -> Array2<f32> {
        Array2::zeros(if self.pool.is_some() {
            (channels, pixels)
        } else {
            (0, 0)
        })
    }

    /// An unwritten record for a forward pass over `batch` samples of `values` outputs each: the
    /// ReLU's flags in training, and the pooling's positions whenever it pools, as pooling writes them.
    fn record(&self, batch: usize, values: usize, train: bool) -> Record<MaybeUninit<bool>> {
        Record {
            passed: (self.relu && train).then(|| Array2::uninit((batch, values))),
            argmax: self.pool.as_ref().map(|_| Array2::zeros((batch, values))),
        }
    }

    /// One sample's forward step. `convolve` adds the sample's convolution into the array it is
    /// given, which holds the biases: the output `y` itself, or `full` when pooling follows. The
    /// stages then turn that into `y`, noting in `record` what the backward step needs.
    fn forward(
        &self,
        y: Sample,
        bias: &Array1<f32>,
        full: &mut Array2<f32>,
        record: SampleRecord<MaybeUninit<bool>>,
        convolve: impl FnOnce(ArrayViewMut2<f32>),
    ) {
        let mut y = match &self.pool {
            None => {
                let mut y = y.fill(|c| bias[c]);
                convolve(y.view_mut());
                y
            }
            Some(pool) => {
                full.outer_iter_mut()
                    .enumerate()
                    .for_each(|(c, mut channel)| channel.fill(bias[c]));
                let mut y = y.fill(|_| 0.0);
                convolve(full.view_mut());
                let argmax = record
                    .argmax
                    .expect("a pooling epilogue records its positions");
                let full = full.as_slice().expect("scratch is contiguous");
                pool.pool(
                    full,
                    y.as_slice_mut().expect("fresh samples are contiguous"),
                    argmax,
                );
                y
            }
        };
        if self.relu {
            relu::forward(
                y.as_slice_mut().expect("fresh samples are contiguous"),
                record.passed,
            );
        }
    }

    /// One sample's backward step: turns the layer's output gradient `g` into the convolution's, in
    /// place, or spread back to full size into `full` when pooling follows, and returns it.
    fn backward<'a>(
        &self,
        g: &'a mut ArrayViewMut2<f32>,
        record: SampleRecord<bool>,
        full: &'a mut Array2<f32>,
    ) -> ArrayView2<'a, f32> {
        if self.relu {
            let passed = record
                .passed
                .expect("a ReLU epilogue records where values passed");
            relu::backward(g.as_slice_mut().expect(STANDARD), passed);
        }
        match &self.pool {
            Some(pool) => {
                let argmax = record
                    .argmax
                    .expect("a pooling epilogue records its positions");
                pool.unpool(
                    g.as_slice().expect(STANDARD),
                    argmax,
                    full.as_slice_mut().expect("scratch is contiguous"),
                );
                full.view()
            }
            None => g.view(),
        }
    }

    /// The stages for the model card, e.g. `, ReLU, MaxPool2d 2×2`.
    fn describe(&self) -> String {
        let relu = if self.relu { ", ReLU" } else { "" };
        let pool = if self.pool.is_some() {
            ", MaxPool2d 2×2"
        } else {
            ""
        };
        format!("{relu}{pool}")
    }

    /// Appends the Relu and MaxPool nodes, those there are, reading the convolution's output `conv`;
    /// returns the name of the layer's output.
    fn to_onnx(&self, graph: &mut GraphBuilder, conv: String) -> String {
        let relu = if self.relu {
            graph.node("Relu", &[&conv], vec![])
        } else {
            conv
        };
        match &self.pool {
            Some(pool) => pool.to_onnx(graph, &relu),
            None => relu,
        }
    }
}

/// What an epilogue notes in a forward pass for the backward pass, a row per sample. `Flag` is
/// `MaybeUninit<bool>` while the forward pass writes the ReLU's flags, `bool` once it has.
struct Record<Flag> {
    /// Where the ReLU let a value through, when there is a ReLU and the pass trains.
    passed: Option<Array2<Flag>>,
    /// Which value of its window each pooled output took, when there is pooling.
    argmax: Option<Array2<u8>>,
}

/// One sample's rows of a `Record`.
struct SampleRecord<'a, Flag> {
    passed: Option<&'a mut [Flag]>,
    argmax: Option<&'a mut [u8]>,
}

impl<Flag: Send + Sync> Record<Flag> {
    /// The rows one sample at a time, to zip with a layer's `batch` samples.
    fn samples(
        &mut self,
        batch: usize,
    ) -> impl IndexedParallelIterator<Item = SampleRecord<'_, Flag>> {
        let rows =
            per_sample(self.passed.as_mut(), batch).zip(per_sample(self.argmax.as_mut(), batch));
        rows.map(|(passed, argmax)| SampleRecord { passed, argmax })
    }
}

impl Record<MaybeUninit<bool>> {
    /// The record with its flags initialised.
    ///
    /// # Safety
    /// Every sample's flags have been written.
    unsafe fn assume_init(self) -> Record<bool> {
        // SAFETY: the caller vouches for every flag.
        Record {
            passed: self.passed.map(|passed| unsafe { passed.assume_init() }),
            argmax: self.argmax,
        }
    }
}

/// The rows of `rows` one sample at a time; `None` for each of the `batch` samples when there is no
/// array.
fn per_sample<'a, T: Send + Sync + 'a>(
    rows: Option<&'a mut Array2<T>>,
    batch: usize,
) -> impl IndexedParallelIterator<Item = Option<&'a mut [T]>> {
    let rows: Vec<_> = match rows {
        Some(rows) => {
            let rows = rows
                .outer_iter_mut()
                .map(|row| row.into_slice().expect("owned arrays' rows are contiguous"));
            rows.map(Some).collect()
        }
        None => (0..batch).map(|_| None).collect(),
    };
    rows.into_par_iter()
}

/// A thread's working arrays for one sample's pass.
struct Scratch {
    /// The patches of the side with fewer channels.
    cols: Array2<f32>,
    /// The convolution's output before pooling; empty without pooling.
    full: Array2<f32>,
    /// The upsampled input; empty without upsampling.
    wide: Array2<f32>,
}

/// What a run of samples carries through the backward pass.
struct Run {
    /// The sum of the samples' kernel gradients, as dW or as dF, in the layout of the pass's products.
    kernel_grad: Array2<f32>,
    /// The sum of the samples' bias gradients.
    bias_grad: Array1<f32>,
    /// The working arrays for the run's samples.
    scratch: Scratch,
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
    /// The upsampling before the convolution, if any.
    prologue: Prologue,
    /// The pooling and ReLU after the convolution, if any.
    epilogue: Epilogue,
    /// What the last training forward pass's epilogue noted.
    record: Option<Record<bool>>,
}

impl Conv2d {
    /// Glorot-uniform weights (fans of in·9 and out·9) and zero biases, as Keras initialises
    /// `Conv2D`, for `height`×`width` images of `in_channels` channels.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        height: usize,
        width: usize,
        rng: &mut Rng,
    ) -> Conv2d {
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
            prologue: Prologue { upsample: None },
            epilogue: Epilogue {
                pool: None,
                relu: false,
            },
            record: None,
        }
    }

    /// The same convolution followed by a ReLU.
    pub fn with_relu(mut self) -> Conv2d {
        self.epilogue.relu = true;
        self
    }

    /// The same convolution followed by 2×2 max pooling, after the ReLU if there is one.
    pub fn with_pool(mut self) -> Conv2d {
        self.epilogue.pool = Some(MaxPool2d::new(self.out_channels, self.height, self.width));
        self
    }

    /// The same convolution on its input upsampled ×2 first: it then takes images of half its height
    /// and width, whose every pixel it repeats into a 2×2 block (nearest neighbour).
    pub fn after_upsample(mut self) -> Conv2d {
        self.prologue.upsample = Some(UpSample2d::new(
            self.in_channels,
            self.height / 2,
            self.width / 2,
        ));
        self
    }

    /// A thread's working arrays for this layer's samples.
    fn scratch(&self) -> Scratch {
        let pixels = self.height * self.width;
        let side = self.in_channels.min(self.out_channels);
        Scratch {
            cols: Array2::zeros((side * TAPS, pixels)),
            full: self.epilogue.scratch(self.out_channels, pixels),
            wide: self.prologue.scratch(self.in_channels, pixels),
        }
    }

    /// One sample's forward pass from its input `x` `[in, input pixels]` into its output `y`
    /// `[out, output pixels]`: prologue, convolution, epilogue. `flipped` is F when the pass unfolds
    /// the output, `None` when it unfolds the input.
    fn forward_sample(
        &self,
        x: ArrayViewMut2<f32>,
        y: Sample,
        flipped: Option<&Array2<f32>>,
        scratch: &mut Scratch,
        record: SampleRecord<MaybeUninit<bool>>,
    ) {
        let Scratch { cols, full, wide } = scratch;
        let x = self.prologue.input(x, wide);
        self.epilogue
            .forward(y, &self.bias, full, record, |mut convolved| match flipped {
                None => {
                    self.unfold(x.view(), cols);
                    matmul_into(self.weights.view(), cols.view(), &mut convolved, true);
                }
                Some(f) => {
                    matmul_into(f.view(), x.view(), &mut cols.view_mut(), false);
                    self.fold(cols, convolved);
                }
            });
    }

    /// One sample's backward pass from its output gradient `g`, which it clobbers: adds the sample's
    /// kernel and bias gradients into `run`'s sums and, with `need_input_grad`, writes its input
    /// gradient over its input `x`. `flipped` is F when the pass unfolds the gradient, `None` when it
    /// unfolds the input.
    fn backward_sample(
        &self,
        mut x: ArrayViewMut2<f32>,
        mut g: ArrayViewMut2<f32>,
        record: SampleRecord<bool>,
        flipped: Option<&Array2<f32>>,
        need_input_grad: bool,
        run: &mut Run,
    ) {
        let Run {
            kernel_grad: dk,
            bias_grad: db,
            scratch: Scratch { cols, full, wide },
        } = run;
        let mut input = self.prologue.input(x.view_mut(), wide);
        let g = self.epilogue.backward(&mut g, record, full);
        db.iter_mut()
            .zip(g.outer_iter())
            .for_each(|(d, channel)| *d += channel.sum());
        match flipped {
            Some(f) => {
                self.unfold(g, cols);
                matmul_into(cols.view(), input.t(), &mut dk.view_mut(), true);
                if need_input_grad {
                    matmul_into(f.t(), cols.view(), &mut input, false);
                }
            }
            None => {
                self.unfold(input.view(), cols);
                matmul_into(g, cols.t(), &mut dk.view_mut(), true);
                if need_input_grad {
                    matmul_into(self.weights.t(), g, &mut cols.view_mut(), false);
                    input.fill(0.0);
                    self.fold(cols, input);
                }
            }
        }
        if need_input_grad {
            self.prologue.backward(wide, x);
        }
    }

    /// Writes the patches of one sample `[channels, h·w]` into `cols` `[channels·9, h·w]`: row
    /// (c, t) is channel c shifted by tap t, zero where the tap falls outside the image.
    fn unfold(&self, sample: ArrayView2<f32>, cols: &mut Array2<f32>) {
        let pixels = self.height * self.width;
        let sample = sample.to_slice().expect("a sample is one contiguous row");
        let rows = cols
            .as_slice_mut()
            .expect("scratch is contiguous")
            .chunks_exact_mut(pixels);
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
        let rows = cols
            .as_slice_mut()
            .expect("scratch is contiguous")
            .chunks_exact_mut(pixels);
        for (r, row) in rows.enumerate() {
            let (channel, tap) = (
                &mut out[r / TAPS * pixels..][..pixels],
                &self.taps[r % TAPS],
            );
            tap.clear_edge(row, self.width);
            let target = &mut channel[tap.source..][..tap.range.len()];
            target
                .iter_mut()
                .zip(&row[tap.range.clone()])
                .for_each(|(o, v)| *o += v);
        }
    }

    /// Position in W of F's entry `[o·9 + t, i]`: the same weight with the kernel turned half a turn,
    /// tap t ↔ tap 8 − t.
    fn weight_index(&self, (row, i): (usize, usize)) -> (usize, usize) {
        (row / TAPS, i * TAPS + TAPS - 1 - row % TAPS)
    }

    /// The weights' shape as ONNX stores them, `[out, in, 3, 3]`.
    fn onnx_dims(&self) -> [usize; 4] {
        [self.out_channels, self.in_channels, 3, 3]
    }

    /// The weights as F `[out·9, in]`.
    fn flipped(&self) -> Array2<f32> {
        Array2::from_shape_fn((self.out_channels * TAPS, self.in_channels), |ri| {
            self.weights[self.weight_index(ri)]
        })
    }
}

impl Layer for Conv2d {
    fn describe(&self) -> String {
        let (ins, outs, height, width) =
            (self.in_channels, self.out_channels, self.height, self.width);
        let (prologue, epilogue) = (self.prologue.describe(), self.epilogue.describe());
        format!("{prologue}Conv2d 3×3 {ins}→{outs} on {height}×{width}{epilogue}")
    }

    fn forward_flops(&self) -> u64 {
        // Every output pixel of every output channel sums 9 taps of every input channel.
        let macs = self.out_channels * self.in_channels * TAPS * self.height * self.width;
        2 * macs as u64
    }

    fn forward(&mut self, mut x: Array2<f32>, train: bool) -> Array2<f32> {
        let (batch, pixels) = (x.nrows(), self.height * self.width);
        let outputs = self.epilogue.output_pixels(pixels);
        let mut y = Fresh::new(batch, self.out_channels, outputs);
        let unfold_input = self.in_channels <= self.out_channels;
        let flipped = (!unfold_input).then(|| self.flipped());
        let mut record = self
            .epilogue
            .record(batch, self.out_channels * outputs, train);
        {
            let inputs = self.prologue.input_pixels(pixels);
            let mut samples = x
                .view_mut()
                .into_shape_with_order((batch, self.in_channels, inputs))
                .expect(STANDARD);
            let samples = samples
                .outer_iter_mut()
                .into_par_iter()
                .zip(y.samples())
                .zip(record.samples(batch));
            samples.for_each_init(
                || self.scratch(),
                |scratch, ((x, y), record)| {
                    self.forward_sample(x, y, flipped.as_ref(), scratch, record)
                },
            );
        }
        if train {
            self.input = Some(x);
            // SAFETY: the loop above wrote every sample's flags.
            self.record = Some(unsafe { record.assume_init() });
        }
        y.finish()
    }

    fn backward(&mut self, mut grad: Array2<f32>, need_input_grad: bool) -> Option<Array2<f32>> {
        let trained = self.input.take().zip(self.record.take());
        let (mut x, mut record) = trained.expect("Conv2d::backward without a training forward");
        let (batch, pixels) = (x.nrows(), self.height * self.width);
        let (ins, outs) = (self.in_channels, self.out_channels);
        let unfold_grad = outs <= ins;
        let flipped = unfold_grad.then(|| self.flipped());
        let kernel_shape = if unfold_grad {
            (outs * TAPS, ins)
        } else {
            (outs, ins * TAPS)
        };
        let outputs = self.epilogue.output_pixels(pixels);
        let mut grads = grad
            .view_mut()
            .into_shape_with_order((batch, outs, outputs))
            .expect(STANDARD);
        let zeros = || (Array2::zeros(kernel_shape), Array1::zeros(outs));
        // Each sample's input gradient overwrites the sample once its last use is past, so no
        // batch-sized array is allocated. The weight gradient is summed over fixed runs of samples,
        // then in order: with rayon's own splitting the float sums, and so the whole training run,
        // would change from one run to the next.
        let inputs = self.prologue.input_pixels(pixels);
        let mut samples = x
            .view_mut()
            .into_shape_with_order((batch, ins, inputs))
            .expect(STANDARD);
        let partials: Vec<_> = samples
            .outer_iter_mut()
            .into_par_iter()
            .zip(grads.outer_iter_mut())
            .zip(record.samples(batch))
            .fold_chunks(
                SAMPLES_PER_PARTIAL_SUM,
                || {
                    let (kernel_grad, bias_grad) = zeros();
                    Run {
                        kernel_grad,
                        bias_grad,
                        scratch: self.scratch(),
                    }
                },
                |mut run, ((x, g), record)| {
                    self.backward_sample(x, g, record, flipped.as_ref(), need_input_grad, &mut run);
                    run
                },
            )
            .map(|run| (run.kernel_grad, run.bias_grad))
            .collect();
        let (kernel_grad, bias_grad) = partials
            .into_iter()
            .reduce(|(k1, b1), (k2, b2)| (k1 + k2, b1 + b2))
            .unwrap_or_else(zeros);
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
            Param {
                dims: self.onnx_dims().to_vec(),
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
        let input = self.prologue.to_onnx(graph, input);
        let w = graph.initializer("W", &self.onnx_dims(), self.weights.as_slice().unwrap());
        let b = graph.initializer("B", self.bias.shape(), self.bias.as_slice().unwrap());
        let attributes = vec![
            attr_ints("kernel_shape", &[3, 3]),
            attr_ints("pads", &[1, 1, 1, 1]),
            attr_ints("strides", &[1, 1]),
        ];
        let conv = graph.node("Conv", &[&input, &w, &b], attributes);
        self.epilogue.to_onnx(graph, conv)
    }
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
            for (upsampled, pooled) in [(false, false), (false, true), (true, false), (true, true)]
            {
                let mut plain = with_bias(Conv2d::new(ins, outs, h, w, &mut rng), &mut rng);
                let mut fused = Conv2d::new(ins, outs, h, w, &mut rng).with_relu();
                (fused.weights, fused.bias) = (plain.weights.clone(), plain.bias.clone());
                if upsampled {
                    fused = fused.after_upsample();
                }
                if pooled {
                    fused = fused.with_pool();
                }
                let (mut upsample, mut pool) = (
                    UpSample2d::new(ins, h / 2, w / 2),
                    MaxPool2d::new(outs, h, w),
                );
                let x = random_input(2, ins * h * w / if upsampled { 4 } else { 1 }, &mut rng);
                let z = plain.forward(
                    if upsampled {
                        upsample.forward(x.clone(), true)
                    } else {
                        x.clone()
                    },
                    true,
                );
                let relu = z.mapv(|v| v.max(0.0));
                let expected = if pooled {
                    pool.forward(relu, true)
                } else {
                    relu
                };
                assert_eq!(fused.forward(x, true), expected);
                let r = random_input(2, expected.ncols(), &mut rng);
                let unpooled = if pooled {
                    pool.backward(r.clone(), true).unwrap()
                } else {
                    r.clone()
                };
                let dz = plain
                    .backward(&unpooled * &z.mapv(|v| f32::from(u8::from(v > 0.0))), true)
                    .unwrap();
                let dx = if upsampled {
                    upsample.backward(dz, true).unwrap()
                } else {
                    dz
                };
                assert_eq!(fused.backward(r, true).unwrap(), dx);
                assert_eq!(
                    (&fused.weights_grad, &fused.bias_grad),
                    (&plain.weights_grad, &plain.bias_grad)
                );
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
            for (b, o, py, px) in (0..2).flat_map(|b| {
                (0..outs).flat_map(move |o| pixels(h, w).map(move |p| (b, o, p.0, p.1)))
            }) {
                let mut expected = conv.bias[o];
                for (i, (ky, kx)) in (0..ins).flat_map(|i| pixels(3, 3).map(move |k| (i, k))) {
                    let (sy, sx) = ((py + ky) as isize - 1, (px + kx) as isize - 1);
                    if (0..h as isize).contains(&sy) && (0..w as isize).contains(&sx) {
                        let pixel = x[[b, (i * h + sy as usize) * w + sx as usize]];
                        expected += conv.weights[[o, i * TAPS + ky * 3 + kx]] * pixel;
                    }
                }
                let got = y[[b, (o * h + py) * w + px]];
                assert!(
                    (got - expected).abs() < 1e-5,
                    "{ins}→{outs} y[{b},{o},{py},{px}]: {got} vs {expected}"
                );
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
            let (forward, total) = (0..reps)
                .map(|_| step())
                .fold((0.0, 0.0), |(f, t), (sf, st)| (f + sf, t + st));
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

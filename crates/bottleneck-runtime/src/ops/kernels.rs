//! The loops the page's own ops share: an image-to-image op's frame, and the multiply-add of
//! weighted rows, with wasm SIMD where the build has it.

use tract_onnx::tract_hir::internal::*;

/// The page's own image ops ([`MaxPool2x2`](max_pool), [`ZeroPad2d`](pad),
/// [`DirectConv`](direct_conv)) all map one f32 NCHW image input to f32 NCHW images: this checks
/// the input, makes a zeroed output of the shape `shape` gives for the input's `[N, C, H, W]`, and
/// lets `fill` compute it from the input's values.
pub(crate) fn image_to_image(
    op: &str,
    inputs: TVec<TValue>,
    shape: impl FnOnce([usize; 4]) -> TractResult<[usize; 4]>,
    fill: impl FnOnce([usize; 4], &[f32], &mut [f32]),
) -> TractResult<TVec<TValue>> {
    let input = args_1!(inputs);
    let dims: [usize; 4] = input.shape().try_into().map_err(|_| {
        format_err!(
            "{op} takes NCHW images, not a tensor of shape {:?}",
            input.shape()
        )
    })?;
    let mut output = Tensor::zero::<f32>(&shape(dims)?)?;
    let values = input.try_as_plain_ram()?;
    fill(
        dims,
        values.as_slice::<f32>()?,
        output.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?,
    );
    Ok(tvec!(output.into_tvalue()))
}

/// One weight and the values it multiplies, one per output: a kernel tap of [`DirectConv`]
/// (direct_conv), a row of [`MatVec`](mat_vec)'s weights (f32, or int8 widened as they are read).
#[derive(Clone, Copy)]
pub(crate) struct Tap<'a, T = f32> {
    pub(crate) values: &'a [T],
    pub(crate) weight: f32,
}

/// A type of the values a [`Tap`] multiplies: f32, or int8 weights widened to f32 as they are
/// read, so that they stay a quarter of the size in memory.
pub(crate) trait TapValue: Copy + Into<f32> {
    /// The first `4 × LANES` values of `values` as f32 lanes of four.
    ///
    /// # Safety
    /// `values` must hold at least `4 × LANES` values.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    unsafe fn load_lanes<const LANES: usize>(values: &[Self]) -> [std::arch::wasm32::v128; LANES];
}

impl TapValue for f32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    unsafe fn load_lanes<const LANES: usize>(values: &[f32]) -> [std::arch::wasm32::v128; LANES] {
        use std::arch::wasm32::{v128, v128_load};
        // SAFETY: the caller gives 4 × LANES floats, so each lane of four reads within them;
        // v128 loads need no alignment.
        std::array::from_fn(|lane| unsafe {
            v128_load(values.as_ptr().add(4 * lane).cast::<v128>())
        })
    }
}

impl TapValue for i8 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    unsafe fn load_lanes<const LANES: usize>(values: &[i8]) -> [std::arch::wasm32::v128; LANES] {
        use std::arch::wasm32::{
            f32x4_convert_i32x4, f32x4_splat, i16x8_extend_high_i8x16, i16x8_extend_low_i8x16,
            i32x4_extend_high_i16x8, i32x4_extend_low_i16x8, v128, v128_load, v128_load32_zero,
        };
        let mut lanes = [f32x4_splat(0.0); LANES];
        let mut lane = 0;
        // Sixteen bytes widened at a time, then four for the lanes left.
        while lane + 4 <= LANES {
            // SAFETY: the caller gives 4 × LANES bytes; these sixteen are within them.
            let bytes = unsafe { v128_load(values.as_ptr().add(4 * lane).cast::<v128>()) };
            let shorts = [
                i16x8_extend_low_i8x16(bytes),
                i16x8_extend_high_i8x16(bytes),
            ];
            for (half, shorts) in shorts.into_iter().enumerate() {
                lanes[lane + 2 * half] = f32x4_convert_i32x4(i32x4_extend_low_i16x8(shorts));
                lanes[lane + 2 * half + 1] = f32x4_convert_i32x4(i32x4_extend_high_i16x8(shorts));
            }
            lane += 4;
        }
        while lane < LANES {
            // SAFETY: the caller gives 4 × LANES bytes; these four are within them.
            let bytes = unsafe { v128_load32_zero(values.as_ptr().add(4 * lane).cast::<u32>()) };
            let shorts = i16x8_extend_low_i8x16(bytes);
            lanes[lane] = f32x4_convert_i32x4(i32x4_extend_low_i16x8(shorts));
            lane += 1;
        }
        lanes
    }
}

/// `out[i] += Σ tap.weight × tap.values[i]`, the taps added in order.
pub(crate) fn add_taps<'a, T: TapValue + 'a>(
    taps: impl Iterator<Item = Tap<'a, T>> + Clone,
    out: &mut [f32],
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let done = simd128_widths(&Taps(taps.clone()), out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let done = 0;
    for (i, sum) in out.iter_mut().enumerate().skip(done) {
        *sum = taps
            .clone()
            .fold(*sum, |sum, tap| sum + tap.weight * tap.values[i].into());
    }
}

/// A loop over `4 × LANES` outputs at a time with wasm SIMD, for [`simd128_widths`] to run.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
trait LaneKernel {
    /// Computes the `4 × LANES` outputs of `out` from `start`.
    fn run<const LANES: usize>(&self, out: &mut [f32], start: usize);
}

/// Runs `kernel` over `out` [`BLOCK`] outputs at a time, then 16, 8 and 4 for what is left;
/// returns how many outputs it wrote (all but the last three at most).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn simd128_widths(kernel: &impl LaneKernel, out: &mut [f32]) -> usize {
    let mut done = 0;
    while out.len() - done >= BLOCK {
        kernel.run::<{ BLOCK / 4 }>(out, done);
        done += BLOCK;
    }
    if out.len() - done >= 16 {
        kernel.run::<4>(out, done);
        done += 16;
    }
    if out.len() - done >= 8 {
        kernel.run::<2>(out, done);
        done += 8;
    }
    if out.len() - done >= 4 {
        kernel.run::<1>(out, done);
        done += 4;
    }
    done
}

/// [`add_taps`]'s taps, as a [`LaneKernel`].
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
struct Taps<I>(I);

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl<'a, T: TapValue + 'a, I: Iterator<Item = Tap<'a, T>> + Clone> LaneKernel for Taps<I> {
    fn run<const LANES: usize>(&self, out: &mut [f32], start: usize) {
        add_lanes::<T, LANES>(self.0.clone(), out, start);
    }
}

/// [`add_taps`] for the `4 × LANES` outputs from `start`, their sums held in registers across all
/// the taps and stored once. Each lane adds the taps in the same order as the scalar loop, so
/// both give the same values.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn add_lanes<'a, T: TapValue + 'a, const LANES: usize>(
    taps: impl Iterator<Item = Tap<'a, T>>,
    out: &mut [f32],
    start: usize,
) {
    let out = &mut out[start..][..4 * LANES];
    // SAFETY: `out` holds 4 × LANES floats.
    let sums = unsafe { f32::load_lanes::<LANES>(out) };
    store_lanes(sum_lanes(taps, start, sums), out);
}

/// `sums` plus each tap's weight times its `4 × LANES` values from `start`, tap after tap.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn sum_lanes<'a, T: TapValue + 'a, const LANES: usize>(
    taps: impl Iterator<Item = Tap<'a, T>>,
    start: usize,
    mut sums: [std::arch::wasm32::v128; LANES],
) -> [std::arch::wasm32::v128; LANES] {
    use std::arch::wasm32::{f32x4_add, f32x4_mul, f32x4_splat};
    for tap in taps {
        let weight = f32x4_splat(tap.weight);
        // SAFETY: the slice holds 4 × LANES values.
        let values = unsafe { T::load_lanes::<LANES>(&tap.values[start..][..4 * LANES]) };
        for (sum, four) in sums.iter_mut().zip(values) {
            *sum = f32x4_add(*sum, f32x4_mul(weight, four));
        }
    }
    sums
}

/// Stores `lanes` into `out`, which holds their `4 × LANES` floats.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn store_lanes<const LANES: usize>(lanes: [std::arch::wasm32::v128; LANES], out: &mut [f32]) {
    use std::arch::wasm32::{v128, v128_store};
    let out = &mut out[..4 * LANES];
    for (lane, four) in lanes.into_iter().enumerate() {
        // SAFETY: `out` holds 4 × LANES floats, so each lane of four writes within it; v128
        // stores need no alignment.
        unsafe { v128_store(out.as_mut_ptr().add(4 * lane).cast::<v128>(), four) };
    }
}

/// Taps whose sum is scaled per output before it is added: a block of rows of int8 weights and the
/// scales of that block, one per output.
pub(crate) type ScaledTaps<'a, I> = (I, &'a [f32]);

/// `out[i] += Σ scales[i] × (Σ tap.weight × tap.values[i])` over the groups of taps, each group
/// summed from 0 in order, then scaled: int8 weights whose scale changes from one block of rows
/// to the next.
pub(crate) fn add_scaled_taps<'a, T, I, G>(groups: G, out: &mut [f32])
where
    T: TapValue + 'a,
    I: Iterator<Item = Tap<'a, T>> + Clone,
    G: Iterator<Item = ScaledTaps<'a, I>> + Clone,
{
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let done = simd128_widths(&ScaledGroups(groups.clone()), out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let done = 0;
    for (i, sum) in out.iter_mut().enumerate().skip(done) {
        for (taps, scales) in groups.clone() {
            let group = taps.fold(0.0, |sum, tap| sum + tap.weight * tap.values[i].into());
            *sum += group * scales[i];
        }
    }
}

/// [`add_scaled_taps`]'s groups, as a [`LaneKernel`].
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
struct ScaledGroups<G>(G);

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl<'a, T, I, G> LaneKernel for ScaledGroups<G>
where
    T: TapValue + 'a,
    I: Iterator<Item = Tap<'a, T>> + Clone,
    G: Iterator<Item = ScaledTaps<'a, I>> + Clone,
{
    fn run<const LANES: usize>(&self, out: &mut [f32], start: usize) {
        add_scaled_lanes::<T, I, G, LANES>(self.0.clone(), out, start);
    }
}

/// [`add_scaled_taps`] for the `4 × LANES` outputs from `start`: each group's sums and the
/// running total held in registers, the total stored once. Each lane adds in the scalar loop's
/// order, so both give the same values.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn add_scaled_lanes<'a, T, I, G, const LANES: usize>(groups: G, out: &mut [f32], start: usize)
where
    T: TapValue + 'a,
    I: Iterator<Item = Tap<'a, T>>,
    G: Iterator<Item = ScaledTaps<'a, I>>,
{
    use std::arch::wasm32::{f32x4_add, f32x4_mul, f32x4_splat};
    let out = &mut out[start..][..4 * LANES];
    // SAFETY: `out` holds 4 × LANES floats.
    let mut totals = unsafe { f32::load_lanes::<LANES>(out) };
    for (taps, scales) in groups {
        let sums = sum_lanes(taps, start, [f32x4_splat(0.0); LANES]);
        // SAFETY: the slice holds 4 × LANES floats.
        let scales = unsafe { f32::load_lanes::<LANES>(&scales[start..][..4 * LANES]) };
        for ((total, sum), scale) in totals.iter_mut().zip(sums).zip(scales) {
            *total = f32x4_add(*total, f32x4_mul(sum, scale));
        }
    }
    store_lanes(totals, out);
}

/// Outputs [`add_taps`] computes together with SIMD: eight f32x4 sums, half the registers. Also
/// the width of the blocks [`MatVec`](mat_vec) stores its weights in.
pub(crate) const BLOCK: usize = 32;

/// For the ops' tests: `op` run out of a plan on one f32 tensor of `shape` holding `values`, and
/// its output's shape and values.
#[cfg(test)]
pub(crate) fn run_on(op: &impl EvalOp, shape: &[usize], values: &[f32]) -> (Vec<usize>, Vec<f32>) {
    let input = Tensor::from_shape(shape, values).unwrap();
    let output = op
        .eval(&EvalContext::out_of_plan(), tvec!(input.into_tvalue()))
        .unwrap();
    let plain = output[0].try_as_plain_ram().unwrap();
    (
        output[0].shape().to_vec(),
        plain.as_slice::<f32>().unwrap().to_vec(),
    )
}

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
    /// The [`BLOCK`] values at the start of `values` as f32 lanes of four.
    ///
    /// # Safety
    /// `values` must hold at least [`BLOCK`] values.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    unsafe fn load_block(values: &[Self]) -> [std::arch::wasm32::v128; BLOCK / 4];
}

impl TapValue for f32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    unsafe fn load_block(values: &[f32]) -> [std::arch::wasm32::v128; BLOCK / 4] {
        use std::arch::wasm32::{v128, v128_load};
        // SAFETY: the caller gives BLOCK floats, so each lane of four reads within them; v128
        // loads need no alignment.
        std::array::from_fn(|lane| unsafe {
            v128_load(values.as_ptr().add(4 * lane).cast::<v128>())
        })
    }
}

impl TapValue for i8 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    unsafe fn load_block(values: &[i8]) -> [std::arch::wasm32::v128; BLOCK / 4] {
        use std::arch::wasm32::{
            f32x4_convert_i32x4, f32x4_splat, i16x8_extend_high_i8x16, i16x8_extend_low_i8x16,
            i32x4_extend_high_i16x8, i32x4_extend_low_i16x8, v128, v128_load,
        };
        let mut lanes = [f32x4_splat(0.0); BLOCK / 4];
        for half in 0..BLOCK / 16 {
            // SAFETY: the caller gives BLOCK bytes, two loads of sixteen.
            let bytes = unsafe { v128_load(values.as_ptr().add(16 * half).cast::<v128>()) };
            let shorts = [
                i16x8_extend_low_i8x16(bytes),
                i16x8_extend_high_i8x16(bytes),
            ];
            for (quarter, shorts) in shorts.into_iter().enumerate() {
                let lane = 4 * half + 2 * quarter;
                lanes[lane] = f32x4_convert_i32x4(i32x4_extend_low_i16x8(shorts));
                lanes[lane + 1] = f32x4_convert_i32x4(i32x4_extend_high_i16x8(shorts));
            }
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
    let done = add_taps_simd128(taps.clone(), out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let done = 0;
    for (i, sum) in out.iter_mut().enumerate().skip(done) {
        *sum = taps
            .clone()
            .fold(*sum, |sum, tap| sum + tap.weight * tap.values[i].into());
    }
}

/// [`add_taps`] [`BLOCK`] outputs at a time with wasm SIMD, their sums held in registers across
/// all the taps and stored once; returns how many outputs it wrote. Each lane adds the taps in
/// the same order as the scalar loop, so both give the same values.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn add_taps_simd128<'a, T: TapValue + 'a>(
    taps: impl Iterator<Item = Tap<'a, T>> + Clone,
    out: &mut [f32],
) -> usize {
    use std::arch::wasm32::{f32x4_add, f32x4_mul, f32x4_splat, v128, v128_load, v128_store};
    let blocks = out.len() / BLOCK;
    for block in 0..blocks {
        let start = BLOCK * block;
        let out = &mut out[start..][..BLOCK];
        // SAFETY: `out` holds BLOCK floats, so each lane of four reads within it; v128 loads
        // need no alignment.
        let mut sums: [v128; BLOCK / 4] =
            std::array::from_fn(|lane| unsafe { v128_load(out.as_ptr().add(4 * lane).cast()) });
        for tap in taps.clone() {
            let weight = f32x4_splat(tap.weight);
            // SAFETY: the slice holds BLOCK values.
            let values = unsafe { T::load_block(&tap.values[start..][..BLOCK]) };
            for (sum, four) in sums.iter_mut().zip(values) {
                *sum = f32x4_add(*sum, f32x4_mul(weight, four));
            }
        }
        for (lane, sum) in sums.into_iter().enumerate() {
            // SAFETY: `out` holds BLOCK floats, so each lane of four writes within it.
            unsafe { v128_store(out.as_mut_ptr().add(4 * lane).cast::<v128>(), sum) };
        }
    }
    BLOCK * blocks
}

/// Outputs [`add_taps`] computes together with SIMD: eight f32x4 sums, half the registers. Also
/// the width of the blocks [`MatVec`](mat_vec) stores its weights in.
pub(crate) const BLOCK: usize = 32;

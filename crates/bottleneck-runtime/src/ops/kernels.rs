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
/// (direct_conv), a row of [`MatVec`](mat_vec)'s weights.
#[derive(Clone, Copy)]
pub(crate) struct Tap<'a> {
    pub(crate) values: &'a [f32],
    pub(crate) weight: f32,
}

/// `out[i] += Σ tap.weight × tap.values[i]`, the taps added in order.
pub(crate) fn add_taps<'a>(taps: impl Iterator<Item = Tap<'a>> + Clone, out: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let done = add_taps_simd128(taps.clone(), out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let done = 0;
    for (i, sum) in out.iter_mut().enumerate().skip(done) {
        *sum = taps
            .clone()
            .fold(*sum, |sum, tap| sum + tap.weight * tap.values[i]);
    }
}

/// [`add_taps`] [`BLOCK`] outputs at a time with wasm SIMD, their sums held in registers across
/// all the taps and stored once; returns how many outputs it wrote. Each lane adds the taps in
/// the same order as the scalar loop, so both give the same values.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn add_taps_simd128<'a>(taps: impl Iterator<Item = Tap<'a>> + Clone, out: &mut [f32]) -> usize {
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
            let values = &tap.values[start..][..BLOCK];
            for (lane, sum) in sums.iter_mut().enumerate() {
                // SAFETY: `values` holds BLOCK floats, so each lane of four reads within it.
                let four = unsafe { v128_load(values.as_ptr().add(4 * lane).cast::<v128>()) };
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

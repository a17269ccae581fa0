//! Convolutions to one output channel, computed directly: the denoiser's last layer (32 → 1
//! channels, 3×3, on 28×28). tract lowers every convolution to an im2col packing and a matrix
//! product in 8×8 tiles: with one output channel the tiles compute eight rows for one, and the
//! im2col is the largest of the model. That layer was a third of the denoiser's time in the
//! browser. (Its first layer, 1 → 32 channels, measured slower this way than tract's.)

use tract_onnx::tract_hir::internal::*;

use super::{image_shape, image_to_image};

/// Stride 1, no dilation, one group, input already padded: `[N, C, H, W]` to
/// `[N, M, H − kh + 1, W − kw + 1]` with a `[M, C, kh, kw]` kernel.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct DirectConv {
    /// `[M, C, kh, kw]`, f32.
    kernel: Arc<Tensor>,
    /// One bias per output channel.
    bias: Option<Arc<Tensor>>,
}

impl DirectConv {
    pub fn for_weights(kernel: &Arc<Tensor>, bias: Option<&Arc<Tensor>>) -> Option<DirectConv> {
        let f32_tensor = |t: &Arc<Tensor>| t.datum_type() == f32::datum_type();
        let one_channel = kernel.rank() == 4 && kernel.shape()[0] == 1;
        let bias_fits = bias.is_none_or(|bias| f32_tensor(bias) && bias.len() == kernel.shape()[0]);
        (f32_tensor(kernel) && one_channel && bias_fits).then(|| DirectConv {
            kernel: kernel.clone(),
            bias: bias.cloned(),
        })
    }
}

/// One weight of the kernel and the input values it multiplies, one per output.
struct Tap<'a> {
    values: &'a [f32],
    weight: f32,
}

/// `out[i] = bias + Σ tap.weight × tap.values[i]`, the taps added in order.
fn sum_taps(taps: &[Tap], bias: f32, out: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let done = sum_taps_simd128(taps, bias, out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let done = 0;
    for (i, sum) in out.iter_mut().enumerate().skip(done) {
        *sum = taps
            .iter()
            .fold(bias, |sum, tap| sum + tap.weight * tap.values[i]);
    }
}

/// [`sum_taps`] [`BLOCK`] outputs at a time with wasm SIMD, their sums held in registers across
/// all the taps and stored once; returns how many outputs it wrote. Each lane adds the taps in
/// the same order as the scalar loop, so both give the same values.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn sum_taps_simd128(taps: &[Tap], bias: f32, out: &mut [f32]) -> usize {
    use std::arch::wasm32::{f32x4_add, f32x4_mul, f32x4_splat, v128, v128_load, v128_store};
    let blocks = out.len() / BLOCK;
    for block in 0..blocks {
        let start = BLOCK * block;
        let mut sums = [f32x4_splat(bias); BLOCK / 4];
        for tap in taps {
            let weight = f32x4_splat(tap.weight);
            let values = &tap.values[start..][..BLOCK];
            for (lane, sum) in sums.iter_mut().enumerate() {
                // SAFETY: `values` holds BLOCK floats, so each lane of four reads within it;
                // v128 loads need no alignment.
                let four = unsafe { v128_load(values.as_ptr().add(4 * lane).cast::<v128>()) };
                *sum = f32x4_add(*sum, f32x4_mul(weight, four));
            }
        }
        let out = &mut out[start..][..BLOCK];
        for (lane, sum) in sums.into_iter().enumerate() {
            // SAFETY: `out` holds BLOCK floats, so each lane of four writes within it.
            unsafe { v128_store(out.as_mut_ptr().add(4 * lane).cast::<v128>(), sum) };
        }
    }
    BLOCK * blocks
}

/// Outputs [`sum_taps_simd128`] computes together: eight f32x4 sums, half the registers.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const BLOCK: usize = 32;

impl Op for DirectConv {
    fn name(&self) -> StaticName {
        "DirectConv".into()
    }

    op_as_typed_op!();
}

impl EvalOp for DirectConv {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let &[m, kernel_c, kh, kw] = self.kernel.shape() else {
            bail!("DirectConv: the kernel must have rank 4");
        };
        let kernel = self.kernel.try_as_plain_ram()?;
        let kernel = kernel.as_slice::<f32>()?;
        let bias = match &self.bias {
            Some(bias) => bias.try_as_plain_ram()?.as_slice::<f32>()?.to_vec(),
            None => vec![0.0; m],
        };
        let convolved = |[n, c, h, w]: [usize; 4]| {
            ensure!(
                kernel_c == c && kh <= h && kw <= w,
                "DirectConv: kernel and input disagree"
            );
            Ok([n, m, h - kh + 1, w - kw + 1])
        };
        image_to_image(
            "DirectConv",
            inputs,
            convolved,
            |[_, c, h, w], input, output| {
                let (out_h, out_w) = (h - kh + 1, w - kw + 1);
                // Each output row is computed W wide, its last kw − 1 values reading into the next
                // input row and then dropped: the plane is then one run of outputs, each the sum over
                // every channel and tap of weight × the input at the output's index plus the tap's
                // offset.
                let span = (out_h - 1) * w + out_w;
                let offsets: Vec<usize> =
                    (0..kh * kw).map(|tap| (tap / kw) * w + tap % kw).collect();
                let mut wide = vec![0f32; out_h * w];
                let images = input
                    .chunks_exact(c * h * w)
                    .zip(output.chunks_exact_mut(m * out_h * out_w));
                for (image, out_image) in images {
                    let channels = out_image
                        .chunks_exact_mut(out_h * out_w)
                        .zip(kernel.chunks_exact(c * kh * kw));
                    for ((out, channel_kernel), &bias) in channels.zip(&bias) {
                        let planes = image
                            .chunks_exact(h * w)
                            .zip(channel_kernel.chunks_exact(kh * kw));
                        let taps: Vec<Tap> = planes
                            .flat_map(|(plane, weights)| {
                                let taps = weights.iter().zip(&offsets);
                                taps.map(move |(&weight, &offset)| Tap {
                                    values: &plane[offset..][..span],
                                    weight,
                                })
                            })
                            .collect();
                        sum_taps(&taps, bias, &mut wide[..span]);
                        for (out_row, wide_row) in
                            out.chunks_exact_mut(out_w).zip(wide.chunks_exact(w))
                        {
                            out_row.copy_from_slice(&wide_row[..out_w]);
                        }
                    }
                }
            },
        )
    }
}

impl TypedOp for DirectConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = image_shape("DirectConv", inputs[0])?;
        let &[m, _, kh, kw] = self.kernel.shape() else {
            bail!("DirectConv: the kernel must have rank 4");
        };
        let out = tvec![
            shape[0].clone(),
            m.to_dim(),
            shape[2].clone() - (kh - 1),
            shape[3].clone() - (kw - 1)
        ];
        Ok(tvec!(f32::fact(out)))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_definition_of_a_convolution() {
        let (c, h, w, kh, kw) = (3, 5, 21, 3, 2);
        let value = |i: usize| ((i * 37) % 23) as f32 / 23.0 - 0.5;
        let input: Vec<f32> = (0..c * h * w).map(value).collect();
        let weights: Vec<f32> = (0..c * kh * kw).map(|i| value(i + 1000)).collect();
        let kernel = Tensor::from_shape(&[1, c, kh, kw], &weights)
            .unwrap()
            .into_arc_tensor();
        let bias = tensor1(&[0.25f32]).into_arc_tensor();
        let conv = DirectConv::for_weights(&kernel, Some(&bias)).unwrap();
        let image = Tensor::from_shape(&[1, c, h, w], &input).unwrap();
        let output = conv
            .eval(&EvalContext::out_of_plan(), tvec!(image.into_tvalue()))
            .unwrap();
        let (out_h, out_w) = (h - kh + 1, w - kw + 1);
        assert_eq!(output[0].shape(), &[1, 1, out_h, out_w]);
        let output = output[0]
            .try_as_plain_ram()
            .unwrap()
            .as_slice::<f32>()
            .unwrap()
            .to_vec();
        for (y, x) in (0..out_h).flat_map(|y| (0..out_w).map(move |x| (y, x))) {
            let mut expected = 0.25;
            for (channel, ky, kx) in (0..c)
                .flat_map(|ch| (0..kh).flat_map(move |ky| (0..kw).map(move |kx| (ch, ky, kx))))
            {
                expected += weights[(channel * kh + ky) * kw + kx]
                    * input[(channel * h + y + ky) * w + x + kx];
            }
            assert!(
                (output[y * out_w + x] - expected).abs() < 1e-5,
                "({y}, {x})"
            );
        }
    }

    #[test]
    fn only_one_output_channel_runs_directly() {
        let kernel = Tensor::zero::<f32>(&[2, 1, 3, 3])
            .unwrap()
            .into_arc_tensor();
        assert!(DirectConv::for_weights(&kernel, None).is_none());
    }
}

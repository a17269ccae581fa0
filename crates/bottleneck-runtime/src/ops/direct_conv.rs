//! Convolutions to one output channel, computed directly: the denoiser's last layer (32 → 1
//! channels, 3×3, on 28×28). tract lowers every convolution to an im2col packing and a matrix
//! product in 8×8 tiles: with one output channel the tiles compute eight rows for one, and the
//! im2col is the largest of the model. The first layer (1 → 32 channels) stays tract's: computed
//! this way it was slower (bench/README.md).

use tract_onnx::tract_hir::internal::*;

use super::{Tap, add_taps, image_shape, image_to_image};

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
                        let sums = &mut wide[..span];
                        sums.fill(bias);
                        add_taps(taps.iter().copied(), sums);
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

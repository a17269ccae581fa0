//! A convolution to one output channel, computed directly: the denoiser's last layer (32 → 1
//! channels, 3×3, on 28×28). tract lowers every convolution to an im2col packing and a matrix
//! product whose tiles are 8 rows high, so a single output channel pays for eight and packs the
//! largest im2col of the model: that layer was a third of the denoiser's time in the browser.
//! Here each output row adds weight × input row for every channel and tap, a contiguous loop
//! the compiler vectorizes.

use tract_onnx::tract_hir::internal::*;

/// Stride 1, no dilation, one group, input already padded: output `[N, 1, H − kh + 1, W − kw + 1]`.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct SingleChannelConv {
    /// `[1, C, kh, kw]`, f32.
    kernel: Arc<Tensor>,
    /// The output channel's bias.
    bias: Option<Arc<Tensor>>,
}

impl SingleChannelConv {
    /// The op for these constant weights and bias, if they are f32 and have one output channel.
    pub fn for_weights(
        kernel: &Arc<Tensor>,
        bias: Option<&Arc<Tensor>>,
    ) -> Option<SingleChannelConv> {
        let f32_tensor = |t: &Arc<Tensor>| t.datum_type() == f32::datum_type();
        let one_channel = kernel.rank() == 4 && kernel.shape()[0] == 1;
        let bias_fits = bias.is_none_or(|bias| f32_tensor(bias) && bias.len() == 1);
        (f32_tensor(kernel) && one_channel && bias_fits).then(|| SingleChannelConv {
            kernel: kernel.clone(),
            bias: bias.cloned(),
        })
    }
}

impl Op for SingleChannelConv {
    fn name(&self) -> StaticName {
        "SingleChannelConv".into()
    }

    op_as_typed_op!();
}

impl EvalOp for SingleChannelConv {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let &[n, c, h, w] = input.shape() else {
            bail!(
                "SingleChannelConv takes NCHW images, not a tensor of shape {:?}",
                input.shape()
            );
        };
        let &[_, kernel_c, kh, kw] = self.kernel.shape() else {
            bail!("SingleChannelConv: the kernel must have rank 4");
        };
        ensure!(
            kernel_c == c && kh <= h && kw <= w,
            "SingleChannelConv: kernel and input disagree"
        );
        let (out_h, out_w) = (h - kh + 1, w - kw + 1);
        let bias = match &self.bias {
            Some(bias) => bias.try_as_plain_ram()?.as_slice::<f32>()?[0],
            None => 0.0,
        };
        let mut output = Tensor::zero::<f32>(&[n, 1, out_h, out_w])?;
        let kernel = self.kernel.try_as_plain_ram()?;
        let kernel = kernel.as_slice::<f32>()?;
        let input = input.try_as_plain_ram()?;
        let input = input.as_slice::<f32>()?;
        let mut output_ram = output.try_as_plain_ram_mut()?;
        let images = input.chunks_exact(c * h * w);
        for (image, out) in images.zip(
            output_ram
                .as_slice_mut::<f32>()?
                .chunks_exact_mut(out_h * out_w),
        ) {
            out.fill(bias);
            let taps = image.chunks_exact(h * w).zip(kernel.chunks_exact(kh * kw));
            for (plane, plane_kernel) in taps {
                for (tap, &weight) in plane_kernel.iter().enumerate() {
                    let (ky, kx) = (tap / kw, tap % kw);
                    for (y, out_row) in out.chunks_exact_mut(out_w).enumerate() {
                        let row = &plane[(y + ky) * w + kx..][..out_w];
                        for (o, &x) in out_row.iter_mut().zip(row) {
                            *o += weight * x;
                        }
                    }
                }
            }
        }
        drop(output_ram);
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for SingleChannelConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = &inputs[0].shape;
        ensure!(
            shape.rank() == 4,
            "SingleChannelConv takes NCHW images, not rank {}",
            shape.rank()
        );
        let (kh, kw) = (self.kernel.shape()[2], self.kernel.shape()[3]);
        let out = tvec![
            shape[0].clone(),
            1.to_dim(),
            shape[2].clone() - (kh - 1),
            shape[3].clone() - (kw - 1)
        ];
        Ok(tvec!(f32::fact(out)))
    }

    as_op!();
}

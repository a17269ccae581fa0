//! Conv: weights as the second input, an optional bias as the third.

use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::cnn::{Conv, PaddingSpec};

use super::direct_conv::DirectConv;
use super::pad::ZeroPad2d;
use super::winograd_conv::WinogradConv;
use super::{Node, check_kernel_fits, image_shape, padding, per_image_axis, stored_weights};

/// Conv with the node's padding, kernel shape, groups, dilations and strides, on f32 images with
/// f32 weights and an optional bias. A 2-D image with explicit padding is padded by
/// [`ZeroPad2d`] and then convolved without padding.
pub fn conv(node: &Node, model: &mut TypedModel) -> TractResult<TVec<OutletId>> {
    let attr = node.proto;
    let padding = padding(attr, false)?;
    let mut op = Conv::default().padding(padding.clone());
    let kernel_shape = per_image_axis(attr, "kernel_shape")?;
    let group = attr.get_attr_opt::<usize>("group")?.unwrap_or(1);
    ensure!(group >= 1, "Conv {}: group must be at least 1", attr.name);
    op = op.group(group);
    let dilations = per_image_axis(attr, "dilations")?;
    if let Some(dilations) = &dilations {
        op = op.dilations(dilations.clone());
    }
    if let Some(strides) = per_image_axis(attr, "strides")? {
        op = op.strides(strides);
    }
    node.takes_inputs(3)?;
    let (input, input_fact) = node.f32_input(model, 0)?;
    let (kernel, kernel_fact) = node.f32_input(model, 1)?;
    let image = image_shape("Conv", &input_fact)?
        .as_concrete()
        .context("Conv: image size")?;
    let weights = kernel_fact
        .shape
        .as_concrete()
        .context("Conv: kernel size")?;
    let &[kernels, channels, kernel_h, kernel_w] = weights else {
        bail!(
            "Conv {}: the kernel must have rank 4, not {}",
            attr.name,
            weights.len()
        );
    };
    ensure!(
        kernel_shape
            .as_ref()
            .is_none_or(|shape| shape[..] == weights[2..]),
        "Conv {}: kernel_shape {kernel_shape:?} does not match the kernel's {:?}",
        attr.name,
        &weights[2..]
    );
    ensure!(
        channels * group == image[1] && kernels % group == 0,
        "Conv {}: a kernel {weights:?} in {group} groups does not fit {} input channels",
        attr.name,
        image[1]
    );
    check_kernel_fits(
        node,
        image,
        [kernel_h, kernel_w],
        dilations.as_ref(),
        &padding,
    )?;
    let mut inputs = tvec![input, kernel];
    if node.optional_input(2).is_some() {
        let (bias, bias_fact) = node.f32_input(model, 2)?;
        ensure!(
            bias_fact.shape.as_concrete() == Some(&[kernels][..]),
            "Conv {}: the bias must hold one value per kernel, {kernels}",
            attr.name
        );
        op = op.bias_input(2);
        inputs.push(bias);
    }
    match padding {
        PaddingSpec::Explicit(before, after) if before.len() == 2 && after.len() == 2 => {
            let pad = ZeroPad2d {
                before: [before[0], before[1]],
                after: [after[0], after[1]],
            };
            PaddedConv { conv: op, pad }.wire(&node.name, model, &inputs)
        }
        _ => op.wire(&node.name, model, &inputs),
    }
}

/// Input channels from which a 3×3 convolution runs as [`WinogradConv`].
const WINOGRAD_MIN_INPUTS: usize = 8;

/// A convolution with explicit padding: its shapes are the padded convolution's. With constant
/// weights, no stride, dilation or groups, it runs as [`DirectConv`] after [`ZeroPad2d`] when it
/// has one output channel, and as [`WinogradConv`] (which reads the padding as zeros) when its
/// kernel is 3×3 and it has [`WINOGRAD_MIN_INPUTS`] input channels or more; otherwise as
/// [`ZeroPad2d`] followed by tract's convolution without padding.
#[derive(Debug, Clone)]
struct PaddedConv {
    conv: Conv,
    pad: ZeroPad2d,
}

impl PaddedConv {
    /// The convolution, and the padding before it when it needs one, into `model`.
    fn wire(
        &self,
        name: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let mut inputs: TVec<OutletId> = inputs.into();
        let stored = if self.plain() {
            stored_weights(model, inputs[1], inputs.get(2).copied())?
        } else {
            None
        };
        let (direct, winograd) = match &stored {
            Some((kernel, bias)) => (
                DirectConv::for_weights(kernel, bias.as_ref()),
                // With few input channels, transforming the tiles costs more than the products
                // save.
                (kernel.shape().get(1) >= Some(&WINOGRAD_MIN_INPUTS))
                    .then(|| {
                        let (before, after) = (self.pad.before, self.pad.after);
                        WinogradConv::for_weights(kernel, bias.as_ref(), before, after)
                    })
                    .flatten(),
            ),
            None => (None, None),
        };
        if direct.is_none()
            && let Some(winograd) = winograd
        {
            return model.wire_node(name, winograd, &inputs[..1]);
        }
        inputs[0] = model.wire_node(format!("{name}.pad"), self.pad.clone(), &inputs[..1])?[0];
        if let Some(direct) = direct {
            return model.wire_node(name, direct, &inputs[..1]);
        }
        let unpadded = self.conv.clone().padding(PaddingSpec::Valid);
        unpadded.wire(name, model, &inputs)
    }

    /// Whether the convolution has no stride, dilation or groups: what the page's own
    /// convolutions compute.
    fn plain(&self) -> bool {
        let ones = |values: &Option<TVec<usize>>| {
            values.as_ref().is_none_or(|v| v.iter().all(|&v| v == 1))
        };
        ones(&self.conv.strides) && ones(&self.conv.dilations) && self.conv.group.unwrap_or(1) == 1
    }
}

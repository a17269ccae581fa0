//! Conv: weights as the second input, an optional bias as the third.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::cnn::{Conv, PaddingSpec};

use super::direct_conv::DirectConv;
use super::pad::ZeroPad2d;
use super::{Built, padding, per_image_axis};

/// Conv with the node's padding, kernel shape, groups, dilations and strides. A 2-D image with
/// explicit padding is padded by [`ZeroPad2d`] and then convolved without padding.
pub fn conv(_: &ParsingContext, node: &NodeProto) -> Built {
    let padding = padding(node, false)?;
    let mut op = Conv::default().padding(padding.clone());
    if let Some(kernel_shape) = per_image_axis(node, "kernel_shape")? {
        op = op.kernel_shape(kernel_shape);
    }
    if let Some(group) = node.get_attr_opt::<usize>("group")? {
        ensure!(group >= 1, "Conv {}: group must be at least 1", node.name);
        op = op.group(group);
    }
    if let Some(dilations) = per_image_axis(node, "dilations")? {
        op = op.dilations(dilations);
    }
    if let Some(strides) = per_image_axis(node, "strides")? {
        op = op.strides(strides);
    }
    if node.input.len() == 3 {
        op = op.bias_input(2);
    }
    match padding {
        PaddingSpec::Explicit(before, after) if before.len() == 2 && after.len() == 2 => {
            let pad = ZeroPad2d {
                before: [before[0], before[1]],
                after: [after[0], after[1]],
            };
            Ok((expand(PaddedConv { conv: op, pad }), vec![]))
        }
        _ => Ok((expand(op), vec![])),
    }
}

/// A convolution with explicit padding: its shapes are the padded convolution's, and it runs as
/// [`ZeroPad2d`] followed by the same convolution without padding: [`DirectConv`] when it has one
/// output channel, stride 1 and constant weights, tract's otherwise.
#[derive(Debug, Clone)]
struct PaddedConv {
    conv: Conv,
    pad: ZeroPad2d,
}

impl Expansion for PaddedConv {
    fn name(&self) -> StaticName {
        "Conv".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        self.conv.rules(s, inputs, outputs)
    }

    fn wire(
        &self,
        name: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let mut inputs: TVec<OutletId> = inputs.into();
        inputs[0] = model.wire_node(format!("{name}.pad"), self.pad.clone(), &inputs[..1])?[0];
        if let Some(direct) = self.direct(model, &inputs)? {
            return model.wire_node(name, direct, &inputs[..1]);
        }
        let unpadded = self.conv.clone().padding(PaddingSpec::Valid);
        unpadded.wire(name, model, &inputs)
    }
}

impl PaddedConv {
    /// [`DirectConv`] for this node, when its weights and bias are constants, it has one output
    /// channel, and it has no stride, dilation or groups.
    fn direct(&self, model: &TypedModel, inputs: &[OutletId]) -> TractResult<Option<DirectConv>> {
        let ones = |values: &Option<TVec<usize>>| {
            values.as_ref().is_none_or(|v| v.iter().all(|&v| v == 1))
        };
        if !ones(&self.conv.strides)
            || !ones(&self.conv.dilations)
            || self.conv.group.unwrap_or(1) != 1
        {
            return Ok(None);
        }
        let Some(kernel) = model.outlet_fact(inputs[1])?.konst.clone() else {
            return Ok(None);
        };
        let bias = match inputs.get(2) {
            Some(&bias) => match model.outlet_fact(bias)?.konst.clone() {
                Some(bias) => Some(bias),
                None => return Ok(None),
            },
            None => None,
        };
        let fits = self
            .conv
            .kernel_shape
            .as_ref()
            .is_none_or(|shape| kernel.shape()[2..] == shape[..]);
        Ok(DirectConv::for_weights(&kernel, bias.as_ref()).filter(|_| fits))
    }
}

//! Conv: weights as the second input, an optional bias as the third.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::cnn::Conv;

use super::{Built, padding, per_image_axis};

/// Conv with the node's padding, kernel shape, groups, dilations and strides.
pub fn conv(_: &ParsingContext, node: &NodeProto) -> Built {
    let mut op = Conv::default().padding(padding(node, false)?);
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
    Ok((expand(op), vec![]))
}

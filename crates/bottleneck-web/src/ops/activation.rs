//! Elu, Relu and Sigmoid: element-wise, no weights.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops;

use super::Built;

/// Elu(alpha), alpha 1 unless the node says otherwise.
pub fn elu(_: &ParsingContext, node: &NodeProto) -> Built {
    let alpha = node.get_attr_opt("alpha")?.unwrap_or(1.0);
    Ok((expand(ops::activations::Elu(alpha)), vec![]))
}

/// Relu, as tract-onnx builds it: a clip from below at 0.
pub fn relu(_: &ParsingContext, _: &NodeProto) -> Built {
    Ok((expand(ops::activations::Clip::new(Some(0.0), None)), vec![]))
}

/// Sigmoid.
pub fn sigmoid(_: &ParsingContext, _: &NodeProto) -> Built {
    Ok((ops::nn::sigmoid().into_hir(), vec![]))
}

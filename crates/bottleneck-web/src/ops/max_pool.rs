//! MaxPool over NCHW, without the optional indices output.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::cnn::{HirMaxPool, PoolSpec};
use tract_onnx::tract_hir::ops::nn::DataFormat;

use super::{Built, padding, per_image_axis};

/// MaxPool with the node's kernel, padding, dilations and strides.
pub fn max_pool(_: &ParsingContext, node: &NodeProto) -> Built {
    ensure!(
        node.output.len() == 1,
        "MaxPool: the indices output is not supported"
    );
    let pool = PoolSpec::new(
        DataFormat::NCHW,
        per_image_axis(node, "kernel_shape")?.context("MaxPool without kernel_shape")?,
        padding(node, true)?,
        per_image_axis(node, "dilations")?,
        per_image_axis(node, "strides")?,
        0,
        0,
    );
    Ok((expand(HirMaxPool::new(pool, None)), vec![]))
}

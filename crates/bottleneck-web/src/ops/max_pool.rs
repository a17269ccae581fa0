//! MaxPool over NCHW, without the optional indices output.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::cnn::{HirMaxPool, PoolSpec};
use tract_onnx::tract_hir::ops::nn::DataFormat;

use super::{Built, padding};

/// MaxPool with the node's kernel, padding, dilations and strides.
pub fn max_pool(_: &ParsingContext, node: &NodeProto) -> Built {
    ensure!(
        node.output.len() == 1,
        "MaxPool: the indices output is not supported"
    );
    let pool = PoolSpec::new(
        DataFormat::NCHW,
        node.get_attr_tvec("kernel_shape")?,
        padding(node, true)?,
        node.get_attr_opt_tvec("dilations")?,
        node.get_attr_opt_tvec("strides")?,
        0,
        0,
    );
    Ok((expand(HirMaxPool::new(pool, None)), vec![]))
}

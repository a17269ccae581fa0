//! Attributes of Conv and MaxPool nodes read into tract's terms, refusing the values tract would
//! index or divide by without checking.

use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::cnn::PaddingSpec;

/// An optional attribute of a Conv or MaxPool node with one value per image axis (two per axis for
/// `pads`). The page's models take 2-D images, and tract indexes these per axis without checking
/// their length, and divides by strides: a wrong length, or a zero where only pads may have one,
/// would panic there, so they are refused here.
pub(crate) fn per_image_axis(node: &NodeProto, name: &str) -> TractResult<Option<TVec<usize>>> {
    let values = node.get_attr_opt_tvec::<usize>(name)?;
    let pads = name == "pads";
    let expected = if pads { 4 } else { 2 };
    if let Some(values) = &values {
        ensure!(
            values.len() == expected,
            "{} {}: {name} has {} values where a 2-D image needs {expected}",
            node.op_type,
            node.name,
            values.len()
        );
        ensure!(
            pads || !values.contains(&0),
            "{} {}: {name} must be at least 1",
            node.op_type,
            node.name
        );
    }
    Ok(values)
}

/// The padding of a Conv or MaxPool node, from its `pads` or `auto_pad` attribute. Pooling pads
/// follow ONNX's pooling rules, which also read `ceil_mode`.
pub(crate) fn padding(node: &NodeProto, pooling: bool) -> TractResult<PaddingSpec> {
    if let Some(auto_pad) = node.get_attr_opt::<&str>("auto_pad")? {
        match auto_pad {
            "NOTSET" => {}
            "VALID" => return Ok(PaddingSpec::Valid),
            "SAME_UPPER" => return Ok(PaddingSpec::SameUpper),
            "SAME_LOWER" => return Ok(PaddingSpec::SameLower),
            other => bail!("{}: unknown auto_pad {other:?}", node.op_type),
        }
    }
    let ceil_mode = node.get_attr_opt::<i64>("ceil_mode")?.unwrap_or(0) == 1;
    let pads: TVec<usize> = match per_image_axis(node, "pads")? {
        Some(pads) => pads,
        None => match per_image_axis(node, "kernel_shape")? {
            Some(kernel) => tvec!(0; 2 * kernel.len()),
            None => return Ok(PaddingSpec::Valid),
        },
    };
    let (before, after) = pads.split_at(pads.len() / 2);
    let (before, after) = (before.into(), after.into());
    Ok(if pooling {
        PaddingSpec::ExplicitOnnxPool(before, after, ceil_mode)
    } else {
        PaddingSpec::Explicit(before, after)
    })
}

//! DequantizeLinear on weights: the trainer's int8 files store each weight matrix as int8 values,
//! per-channel scales and zero points, widened by a DequantizeLinear node. Handed to tract as is,
//! that node is evaluated several times while the model is analysed and optimized, with 1 M-value
//! tensors compared along the way: in a cold page (wasm code not yet optimized by the browser)
//! that was the largest part of loading the dense model. Widening the weights here, once, in one
//! pass, gives tract the same f32 weights it would have computed.

use tract_onnx::Onnx;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{ModelProto, NodeProto, TensorProto};
use tract_onnx::tensor::load_tensor;
use tract_onnx::tract_hir::internal::*;

/// Replaces every DequantizeLinear node by the f32 initializer it computes, and drops the
/// initializers only those nodes read. Errors if such a node reads anything but initializers.
pub fn fold_into_weights(onnx: &Onnx, model: &mut ModelProto) -> TractResult<()> {
    let Some(graph) = model.graph.as_mut() else {
        return Ok(());
    };
    let (dequantize, mut nodes): (Vec<NodeProto>, Vec<NodeProto>) = std::mem::take(&mut graph.node)
        .into_iter()
        .partition(|node| node.op_type == "DequantizeLinear");
    let mut widened = Vec::with_capacity(dequantize.len());
    for node in &dequantize {
        let weight =
            |input: usize| -> TractResult<Option<Tensor>> {
                let Some(name) = node.input.get(input).filter(|name| !name.is_empty()) else {
                    return Ok(None);
                };
                let proto = graph.initializer.iter().find(|t| &t.name == name).with_context(|| {
                format!(
                    "DequantizeLinear {}: its input {name} is not a weight stored in the file, \
                     and the page dequantizes only stored weights",
                    node.name
                )
            })?;
                Ok(Some(load_tensor(&*onnx.provider, proto, None)?))
            };
        let values = weight(0)?.context("DequantizeLinear without an input")?;
        let scale = weight(1)?.context("DequantizeLinear without a scale")?;
        let block_size = node.get_attr_opt::<i64>("block_size")?.unwrap_or(0);
        ensure!(
            block_size == 0,
            "DequantizeLinear: blocked quantization is not supported"
        );
        let axis = node.get_attr_opt::<i64>("axis")?.unwrap_or(1);
        let floats = dequantized(&values, &scale, weight(2)?.as_ref(), axis)
            .with_context(|| format!("DequantizeLinear {}", node.name))?;
        widened.push(TensorProto {
            name: node
                .output
                .first()
                .context("DequantizeLinear without an output")?
                .clone(),
            dims: values.shape().iter().map(|&d| d as i64).collect(),
            data_type: DataType::Float as i32,
            // As values, not bytes: tract then copies them once instead of decoding bytes.
            float_data: floats,
            ..TensorProto::default()
        });
    }
    let still_read = |name: &String| {
        nodes.iter().any(|node| node.input.contains(name))
            || graph.output.iter().any(|output| &output.name == name)
    };
    graph.initializer.retain(|t| still_read(&t.name));
    graph.initializer.extend(widened);
    graph.node = std::mem::take(&mut nodes);
    Ok(())
}

/// (values − zero point) · scale, with a scale and zero point per tensor or per index along
/// `axis`, in f32 as tract computes it.
fn dequantized(
    values: &Tensor,
    scale: &Tensor,
    zero_point: Option<&Tensor>,
    axis: i64,
) -> TractResult<Vec<f32>> {
    let as_floats = |tensor: &Tensor| -> TractResult<Vec<f32>> {
        Ok(tensor
            .cast_to::<f32>()?
            .try_as_plain_ram()?
            .as_slice::<f32>()?
            .to_vec())
    };
    let scale = as_floats(scale)?;
    let zero_point = zero_point
        .map(as_floats)
        .transpose()?
        .unwrap_or_else(|| vec![0.0]);
    let channels = scale.len();
    ensure!(
        zero_point.len() == 1 || zero_point.len() == channels,
        "{} zero points for {channels} scales",
        zero_point.len()
    );
    // Element i is in channel (i / inner) % channels, row-major; per tensor, all are in channel 0.
    let inner: usize = if channels == 1 {
        1
    } else {
        let shape = values.shape();
        let axis = if axis < 0 {
            axis + shape.len() as i64
        } else {
            axis
        };
        ensure!(
            (0..shape.len() as i64).contains(&axis),
            "axis {axis} is out of range for rank {}",
            shape.len()
        );
        let axis = axis as usize;
        ensure!(
            shape[axis] == channels,
            "{channels} scales for an axis of {}",
            shape[axis]
        );
        shape[axis + 1..].iter().product()
    };
    let values = values.cast_to::<f32>()?;
    let values = values.try_as_plain_ram()?;
    Ok(values
        .as_slice::<f32>()?
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let channel = (i / inner) % channels;
            (v - zero_point[channel % zero_point.len()]) * scale[channel]
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_zero_points_apply_per_tensor_or_per_channel() {
        let values = tensor2(&[[1i8, 2, 3], [-4, 5, -6]]);
        let per_tensor = dequantized(&values, &tensor1(&[0.5f32]), None, 1).unwrap();
        assert_eq!(per_tensor, [0.5, 1.0, 1.5, -2.0, 2.5, -3.0]);
        // Axis 0: one scale and zero point per row.
        let rows = dequantized(
            &values,
            &tensor1(&[1.0f32, 2.0]),
            Some(&tensor1(&[1i8, -1])),
            0,
        )
        .unwrap();
        assert_eq!(rows, [0.0, 1.0, 2.0, -6.0, 12.0, -10.0]);
        // Axis 1 (ONNX's default), here written as −1: one per column.
        let columns = dequantized(&values, &tensor1(&[1.0f32, 10.0, 100.0]), None, -1).unwrap();
        assert_eq!(columns, [1.0, 20.0, 300.0, -4.0, 50.0, -600.0]);
    }

    #[test]
    fn mismatched_scales_are_errors() {
        let values = tensor2(&[[1i8, 2, 3], [-4, 5, -6]]);
        let error = dequantized(&values, &tensor1(&[1.0f32, 2.0]), None, 1).unwrap_err();
        assert!(
            error.to_string().contains("2 scales for an axis of 3"),
            "{error}"
        );
        let error = dequantized(&values, &tensor1(&[1.0f32, 2.0]), None, 2).unwrap_err();
        assert!(error.to_string().contains("out of range"), "{error}");
    }
}

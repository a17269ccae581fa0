//! DequantizeLinear on weights: the trainer's int8 files store each weight matrix as int8 values,
//! per-channel scales and zero points, widened by a DequantizeLinear node. Handed to tract as an
//! operator, that node is evaluated several times while the model is optimized, with 1 M-value
//! tensors compared along the way: in a cold page (wasm code not yet optimized by the browser)
//! that was the largest part of loading the dense model. Here the weights are widened once, in
//! one pass, straight into the f32 constant tract would have computed.

use tract_onnx::tract_hir::internal::*;

use super::Node;

/// The node's stored int8 (or other integer) weights, widened to an f32 constant. Errors unless
/// its inputs are all stored in the file.
pub fn dequantize_linear(node: &Node, model: &mut TypedModel) -> TractResult<TVec<OutletId>> {
    let attr = node.proto;
    node.takes_inputs(3)?;
    let weight = |index: usize| -> TractResult<Option<Arc<Tensor>>> {
        let Some(outlet) = node.optional_input(index) else {
            return Ok(None);
        };
        let stored = model.outlet_fact(outlet)?.konst.clone().with_context(|| {
            format!(
                "DequantizeLinear {}: its input {} is not a weight stored in the file, \
                 and the page dequantizes only stored weights",
                attr.name, attr.input[index]
            )
        })?;
        Ok(Some(stored))
    };
    let values = weight(0)?.context("DequantizeLinear without an input")?;
    let scale = weight(1)?.context("DequantizeLinear without a scale")?;
    let block_size = attr.get_attr_opt::<i64>("block_size")?.unwrap_or(0);
    ensure!(
        block_size == 0,
        "DequantizeLinear: blocked quantization is not supported"
    );
    let axis = attr.get_attr_opt::<i64>("axis")?.unwrap_or(1);
    let tensor = dequantized(&values, &scale, weight(2)?.as_deref(), axis)
        .with_context(|| format!("DequantizeLinear {}", attr.name))?;
    Ok(tvec!(model.add_const(&node.name, tensor)?))
}

/// (values − zero point) · scale, with a scale and zero point per tensor or per index along
/// `axis`, in f32 as tract computes it.
fn dequantized(
    values: &Tensor,
    scale: &Tensor,
    zero_point: Option<&Tensor>,
    axis: i64,
) -> TractResult<Tensor> {
    let scale = as_floats(scale)?;
    let zero_point = zero_point
        .map(as_floats)
        .transpose()?
        .unwrap_or_else(|| vec![0.0]);
    let channels = scale.len();
    ensure!(channels > 0, "no scale");
    ensure!(
        zero_point.len() == 1 || zero_point.len() == channels,
        "{} zero points for {channels} scales",
        zero_point.len()
    );
    // Element i is in channel (i / inner) % channels, row-major; per tensor, all are in channel 0.
    let inner: usize = if channels == 1 {
        values.len()
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
    // Written in place: collecting into a Vec and then into a tensor would copy every weight
    // once more while the page waits for its first result.
    let mut floats = Tensor::zero::<f32>(values.shape())?;
    widen_into(
        floats.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?,
        values,
        inner,
        &scale,
        &zero_point,
    )?;
    Ok(floats)
}

/// Writes (value − zero point) · scale for each value of `tensor` into `out`, in blocks of
/// `inner` values that share a channel (so there is no division per value), cycling through the
/// channels.
fn widen_into(
    out: &mut [f32],
    tensor: &Tensor,
    inner: usize,
    scale: &[f32],
    zero_point: &[f32],
) -> TractResult<()> {
    let plain = tensor.try_as_plain_ram()?;
    match tensor.datum_type() {
        // tract's general cast handles every pair of types in one large function, which on a
        // cold page the browser would compile and optimize while the page waits. The types the
        // trainer stores are widened here instead.
        DatumType::I8 => widen_slice(out, plain.as_slice::<i8>()?, inner, scale, zero_point),
        DatumType::U8 => widen_slice(out, plain.as_slice::<u8>()?, inner, scale, zero_point),
        DatumType::F32 => widen_slice(out, plain.as_slice::<f32>()?, inner, scale, zero_point),
        _ => {
            let floats = tensor.cast_to::<f32>()?;
            let floats = floats.try_as_plain_ram()?;
            widen_slice(out, floats.as_slice::<f32>()?, inner, scale, zero_point)
        }
    }
    Ok(())
}

/// [`widen_into`] for values of one type; `out` is as long as `values`.
fn widen_slice<T: Copy + Into<f32>>(
    out: &mut [f32],
    values: &[T],
    inner: usize,
    scale: &[f32],
    zero_point: &[f32],
) {
    let inner = inner.max(1);
    let blocks = out.chunks_mut(inner).zip(values.chunks(inner));
    for (block, (out, values)) in blocks.enumerate() {
        let channel = block % scale.len();
        let (zero, scale) = (zero_point[channel % zero_point.len()], scale[channel]);
        for (out, &value) in out.iter_mut().zip(values) {
            *out = (value.into() - zero) * scale;
        }
    }
}

/// The values of `tensor` as f32.
fn as_floats(tensor: &Tensor) -> TractResult<Vec<f32>> {
    let mut floats = vec![0.0; tensor.len()];
    widen_into(&mut floats, tensor, tensor.len(), &[1.0], &[0.0])?;
    Ok(floats)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`dequantized`]'s values, in order.
    fn dequantized_values(
        values: &Tensor,
        scale: &Tensor,
        zero_point: Option<&Tensor>,
        axis: i64,
    ) -> TractResult<Vec<f32>> {
        let tensor = dequantized(values, scale, zero_point, axis)?;
        assert_eq!(tensor.shape(), values.shape());
        Ok(tensor.try_as_plain_ram()?.as_slice::<f32>()?.to_vec())
    }

    #[test]
    fn scales_and_zero_points_apply_per_tensor_or_per_channel() {
        let values = tensor2(&[[1i8, 2, 3], [-4, 5, -6]]);
        let per_tensor = dequantized_values(&values, &tensor1(&[0.5f32]), None, 1).unwrap();
        assert_eq!(per_tensor, [0.5, 1.0, 1.5, -2.0, 2.5, -3.0]);
        // Axis 0: one scale and zero point per row.
        let rows = dequantized_values(
            &values,
            &tensor1(&[1.0f32, 2.0]),
            Some(&tensor1(&[1i8, -1])),
            0,
        )
        .unwrap();
        assert_eq!(rows, [0.0, 1.0, 2.0, -6.0, 12.0, -10.0]);
        // Axis 1 (ONNX's default), here written as −1: one per column.
        let columns =
            dequantized_values(&values, &tensor1(&[1.0f32, 10.0, 100.0]), None, -1).unwrap();
        assert_eq!(columns, [1.0, 20.0, 300.0, -4.0, 50.0, -600.0]);
    }

    #[test]
    fn mismatched_scales_are_errors() {
        let values = tensor2(&[[1i8, 2, 3], [-4, 5, -6]]);
        let error = dequantized_values(&values, &tensor1(&[1.0f32, 2.0]), None, 1).unwrap_err();
        assert!(
            error.to_string().contains("2 scales for an axis of 3"),
            "{error}"
        );
        let error = dequantized_values(&values, &tensor1(&[1.0f32, 2.0]), None, 2).unwrap_err();
        assert!(error.to_string().contains("out of range"), "{error}");
    }
}

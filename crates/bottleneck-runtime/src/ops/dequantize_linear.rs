//! DequantizeLinear on weights: the trainer's int8 files store each weight matrix as int8 values,
//! per-channel scales and zero points, widened by a DequantizeLinear node; its int4 files store
//! 4-bit values (read into int8) with a scale per block along the input axis (opset 21). Handed
//! to tract as an operator, that node is evaluated several times while the model is optimized,
//! with 1 M-value tensors compared along the way: in a cold page (wasm code not yet optimized by
//! the browser) that was the largest part of loading the dense model. Here the node is the page's
//! [`Dequantize`], which holds the stored values: a dense layer reading it keeps them as int8
//! ([`MatVec`](super::mat_vec)), and any other reader gets them widened once, in one pass.

use tract_onnx::tract_hir::internal::*;

use super::Node;

/// The node's stored int8 (or other integer) weights, as a [`Dequantize`] with no inputs. Errors
/// unless its inputs are all stored in the file and their shapes agree.
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
    let axis = attr.get_attr_opt::<i64>("axis")?.unwrap_or(1);
    let op = if block_size != 0 {
        Dequantize::blocked(values, &scale, weight(2)?.as_deref(), axis, block_size)
    } else {
        Dequantize::new(values, &scale, weight(2)?.as_deref(), axis)
    };
    let op = op.with_context(|| format!("DequantizeLinear {}", attr.name))?;
    model.wire_node(&node.name, op, &[])
}

/// Stored integer weights and how to widen them: (values − zero point) · scale, with a scale
/// and zero point per tensor, per index along one axis, or per block along one axis. An op
/// without inputs whose output is the widened f32 tensor; the page's own ops that read weights
/// take the stored values from it instead (see
/// [`stored_int8_blocks`](Dequantize::stored_int8_blocks)).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct Dequantize {
    /// The stored values.
    values: Arc<Tensor>,
    /// Their scales and zero points.
    scales: Scales,
}

/// How [`Dequantize`]'s scales and zero points map onto its values.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
enum Scales {
    /// One scale and zero point per channel along an axis, or one for the tensor.
    Channels {
        /// One scale per channel (or one for the tensor), f32.
        scale: Arc<Tensor>,
        /// One zero point per channel or one for all, f32.
        zero_point: Arc<Tensor>,
        /// Values that share a channel in a row: element i is in channel (i / inner) % channels.
        inner: usize,
    },
    /// ONNX's blocked form (opset 21): a scale and an optional zero point per block of `size`
    /// values along `axis`, the last block possibly shorter.
    Blocks {
        /// f32, of the values' shape with `axis` cut into blocks.
        scale: Arc<Tensor>,
        /// f32, of the scale's shape.
        zero_point: Option<Arc<Tensor>>,
        /// The axis the blocks run along.
        axis: usize,
        /// Values per block.
        size: usize,
    },
}

impl Dequantize {
    /// The op for `values` with `scale` and `zero_point` along `axis` (per tensor when there is
    /// one scale); errors if their sizes disagree.
    pub(crate) fn new(
        values: Arc<Tensor>,
        scale: &Tensor,
        zero_point: Option<&Tensor>,
        axis: i64,
    ) -> TractResult<Dequantize> {
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
        Ok(Dequantize {
            values,
            scales: Scales::Channels {
                scale: tensor1(&scale).into_arc_tensor(),
                zero_point: tensor1(&zero_point).into_arc_tensor(),
                inner,
            },
        })
    }

    /// The weights widened to f32, as tract computes them.
    pub fn widened(&self) -> TractResult<Tensor> {
        // Written in place: collecting into a Vec and then into a tensor would copy every weight
        // once more while the page waits for its first result.
        let mut floats = Tensor::zero::<f32>(self.values.shape())?;
        let mut plain = floats.try_as_plain_ram_mut()?;
        let out = plain.as_slice_mut::<f32>()?;
        match &self.scales {
            Scales::Channels {
                scale,
                zero_point,
                inner,
            } => widen_into(
                out,
                &self.values,
                *inner,
                scale.try_as_plain_ram()?.as_slice::<f32>()?,
                zero_point.try_as_plain_ram()?.as_slice::<f32>()?,
            )?,
            Scales::Blocks {
                scale,
                zero_point,
                axis,
                size,
            } => widen_blocks_into(
                out,
                &self.values,
                scale,
                zero_point.as_deref(),
                *axis,
                *size,
            )?,
        }
        Ok(floats)
    }

    /// For a `[K, N]` matrix of int8 values without zero points, scaled per column (or all
    /// alike) or per block of rows and column: the stored values, the rows R that share a scale
    /// (K for a scale per column) and the scales, `[ceil(K / R), N]` row-major, so that `x·W` can
    /// be summed on the stored values R rows at a time and each sum scaled. `None` for any other
    /// form.
    pub fn stored_int8_blocks(&self) -> Option<(&Arc<Tensor>, usize, Vec<f32>)> {
        let &[k, n] = self.values.shape() else {
            return None;
        };
        if self.values.datum_type() != i8::datum_type() || k == 0 || n == 0 {
            return None;
        }
        let floats = |tensor: &Tensor| as_floats(tensor).ok();
        match &self.scales {
            Scales::Channels {
                scale,
                zero_point,
                inner,
            } => {
                let scale = floats(scale)?;
                let symmetric = floats(zero_point)?.iter().all(|&z| z == 0.0);
                let per_column = scale.len() == 1 || (scale.len() == n && *inner == 1);
                (symmetric && per_column).then(|| {
                    let scales = (0..n).map(|column| scale[column % scale.len()]).collect();
                    (&self.values, k, scales)
                })
            }
            Scales::Blocks {
                scale,
                zero_point,
                axis: 0,
                size,
            } => {
                if let Some(zero_point) = zero_point
                    && floats(zero_point)?.iter().any(|&z| z != 0.0)
                {
                    return None;
                }
                Some((&self.values, *size, floats(scale)?))
            }
            Scales::Blocks { .. } => None,
        }
    }
}

impl Op for Dequantize {
    fn name(&self) -> StaticName {
        "DequantizeLinear".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Dequantize {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, _: TVec<TValue>) -> TractResult<TVec<TValue>> {
        Ok(tvec!(self.widened()?.into_tvalue()))
    }
}

impl TypedOp for Dequantize {
    fn output_facts(&self, _: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact(self.values.shape())))
    }

    as_op!();
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

impl Dequantize {
    /// The op for `values` with blocked scales (ONNX's `block_size`, opset 21): the scale and the
    /// optional zero point have the values' rank and shape, except along `axis`, which has one
    /// entry per block of `block_size` values, the last block shorter when `block_size` does not
    /// divide the axis. Errors if the shapes, the axis or the block size do not fit.
    pub(crate) fn blocked(
        values: Arc<Tensor>,
        scale: &Tensor,
        zero_point: Option<&Tensor>,
        axis: i64,
        block_size: i64,
    ) -> TractResult<Dequantize> {
        let shape = values.shape();
        let rank = shape.len() as i64;
        ensure!(
            block_size > 0,
            "block_size {block_size}: it must be positive, or 0 (left out) for a scale per channel"
        );
        ensure!(
            (-rank..rank).contains(&axis),
            "axis {axis} is out of range for rank {rank}"
        );
        let axis = axis.rem_euclid(rank.max(1)) as usize;
        let size = usize::try_from(block_size)?;
        let mut expected = shape.to_vec();
        expected[axis] = shape[axis].div_ceil(size);
        ensure!(
            scale.shape() == expected.as_slice(),
            "the scale has shape {:?}; values of shape {shape:?} in blocks of {size} along \
             axis {axis} need a scale of shape {expected:?}",
            scale.shape()
        );
        if let Some(zero_point) = zero_point {
            ensure!(
                zero_point.shape() == scale.shape(),
                "the zero point has shape {:?}: it must have the scale's, {:?}",
                zero_point.shape(),
                scale.shape()
            );
        }
        let floats = |tensor: &Tensor| -> TractResult<Arc<Tensor>> {
            Ok(Tensor::from_shape(tensor.shape(), &as_floats(tensor)?)?.into_arc_tensor())
        };
        Ok(Dequantize {
            scales: Scales::Blocks {
                scale: floats(scale)?,
                zero_point: zero_point.map(floats).transpose()?,
                axis,
                size,
            },
            values,
        })
    }
}

/// Writes (value − zero point) · scale for each value of `values` into `out`, with the blocked
/// `scale` and `zero_point` (f32) of [`Dequantize::blocked`], checked there.
fn widen_blocks_into(
    out: &mut [f32],
    values: &Tensor,
    scale: &Tensor,
    zero_point: Option<&Tensor>,
    axis: usize,
    block_size: usize,
) -> TractResult<()> {
    let shape = values.shape();
    let (size, blocks) = (shape[axis], shape[axis].div_ceil(block_size));
    let scale = scale.try_as_plain_ram()?;
    let scale = scale.as_slice::<f32>()?;
    let zero_point = zero_point.map(|z| z.try_as_plain_ram()).transpose()?;
    let zero_point = zero_point
        .as_ref()
        .map(|z| z.as_slice::<f32>())
        .transpose()?;
    // Widened as widen_into widens them, without tract's general cast.
    let values = as_floats(values)?;
    // Row r of `inner` values (the axes after `axis`) is at index r % size along the axis, in
    // outer slice r / size; its scales are the row of its block, so no value needs a division.
    let inner: usize = shape[axis + 1..].iter().product();
    if inner == 0 || size == 0 {
        return Ok(());
    }
    let rows = out.chunks_exact_mut(inner).zip(values.chunks_exact(inner));
    for (row, (out, values)) in rows.enumerate() {
        let start = ((row / size) * blocks + (row % size) / block_size) * inner;
        let scales = &scale[start..][..inner];
        match zero_point {
            None => {
                for ((out, value), scale) in out.iter_mut().zip(values).zip(scales) {
                    *out = value * scale;
                }
            }
            Some(zero_point) => {
                let zeros = &zero_point[start..][..inner];
                let each = out.iter_mut().zip(values).zip(scales.iter().zip(zeros));
                for ((out, value), (scale, zero)) in each {
                    *out = (value - zero) * scale;
                }
            }
        }
    }
    Ok(())
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

    /// The values [`Dequantize`] widens `values` to, in order.
    fn dequantized_values(
        values: &Tensor,
        scale: &Tensor,
        zero_point: Option<&Tensor>,
        axis: i64,
    ) -> TractResult<Vec<f32>> {
        let op = Dequantize::new(values.clone().into_arc_tensor(), scale, zero_point, axis)?;
        let tensor = op.widened()?;
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

    /// The values a blocked [`Dequantize`] widens `values` to, in order.
    fn blocks_of(
        values: &Tensor,
        scale: &Tensor,
        zero_point: Option<&Tensor>,
        axis: i64,
        block_size: i64,
    ) -> TractResult<Vec<f32>> {
        let op = Dequantize::blocked(
            values.clone().into_arc_tensor(),
            scale,
            zero_point,
            axis,
            block_size,
        )?;
        let tensor = op.widened()?;
        assert_eq!(tensor.shape(), values.shape());
        Ok(tensor.try_as_plain_ram()?.as_slice::<f32>()?.to_vec())
    }

    #[test]
    fn blocked_scales_apply_per_block_with_a_shorter_last_block() {
        // A [5, 2] matrix in blocks of 2 along axis 0: rows 0–1, 2–3, and row 4 alone.
        let values = tensor2(&[[1i8, -1], [2, -2], [3, -3], [4, -4], [5, -5]]);
        let scale = tensor2(&[[1.0f32, 10.0], [2.0, 20.0], [3.0, 30.0]]);
        let along_rows = blocks_of(&values, &scale, None, 0, 2).unwrap();
        assert_eq!(
            along_rows,
            [1.0, -10.0, 2.0, -20.0, 6.0, -60.0, 8.0, -80.0, 15.0, -150.0]
        );
        // Blocks of 2 along axis 1 (written −1) of a [2, 3] matrix, with zero points.
        let values = tensor2(&[[1i8, 2, 3], [4, 5, 6]]);
        let scale = tensor2(&[[1.0f32, 10.0], [2.0, 20.0]]);
        let zero = tensor2(&[[1i8, 0], [0, 6]]);
        let along_columns = blocks_of(&values, &scale, Some(&zero), -1, 2).unwrap();
        assert_eq!(along_columns, [0.0, 1.0, 30.0, 8.0, 10.0, 0.0]);
        // A rank-4 convolution weight [out 2, in 3, 1, 2] in blocks of 2 input channels.
        let values =
            Tensor::from_shape(&[2, 3, 1, 2], &[1i8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]).unwrap();
        let scale = Tensor::from_shape(&[2, 2, 1, 2], &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
            .unwrap();
        let conv = blocks_of(&values, &scale, None, 1, 2).unwrap();
        assert_eq!(
            conv,
            [
                1.0, 4.0, 3.0, 8.0, 15.0, 24.0, 35.0, 48.0, 45.0, 60.0, 77.0, 96.0
            ]
        );
    }

    #[test]
    fn malformed_blocks_are_errors() {
        let values = tensor2(&[[1i8, 2, 3], [4, 5, 6]]);
        let message = |scale: &Tensor, zero: Option<&Tensor>, axis: i64, block: i64| {
            blocks_of(&values, scale, zero, axis, block)
                .unwrap_err()
                .to_string()
        };
        let two_by_two = tensor2(&[[1.0f32, 1.0], [1.0, 1.0]]);
        // Blocks of 2 along axis 1 of 3 columns make 2 blocks, not 1 or 3.
        let error = message(&tensor2(&[[1.0f32], [1.0]]), None, 1, 2);
        assert!(error.contains("need a scale of shape [2, 2]"), "{error}");
        let error = message(&tensor2(&[[1.0f32; 3]; 2]), None, 1, 2);
        assert!(error.contains("need a scale of shape [2, 2]"), "{error}");
        // A per-channel scale is not a blocked one.
        let error = message(&tensor1(&[1.0f32, 1.0]), None, 1, 2);
        assert!(error.contains("need a scale of shape"), "{error}");
        // The other axes must match the values'.
        let error = message(&tensor2(&[[1.0f32, 1.0]]), None, 1, 2);
        assert!(error.contains("need a scale of shape [2, 2]"), "{error}");
        let error = message(&two_by_two, Some(&tensor2(&[[0i8, 0]])), 1, 2);
        assert!(error.contains("the zero point has shape [1, 2]"), "{error}");
        let error = message(&two_by_two, None, 2, 2);
        assert!(error.contains("out of range"), "{error}");
        let error = message(&two_by_two, None, -3, 2);
        assert!(error.contains("out of range"), "{error}");
        let error = message(&two_by_two, None, 1, -2);
        assert!(error.contains("must be positive"), "{error}");
    }
}

//! DequantizeLinear: (x − zero point) · scale, per tensor or per channel, with constant scales
//! and zero points. The trainer stores int8 weights this way; tract folds the node into f32
//! weights when it optimizes the model, so it costs nothing per run.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::math::{mul, sub};
use tract_onnx::tract_hir::tract_core::ops::cast::cast;

use super::Built;

/// DequantizeLinear with the node's `axis` (default 1, as ONNX says).
pub fn dequantize_linear(_: &ParsingContext, node: &NodeProto) -> Built {
    let block_size = node.get_attr_opt::<i64>("block_size")?.unwrap_or(0);
    ensure!(
        block_size == 0,
        "DequantizeLinear: blocked quantization is not supported"
    );
    let op = DequantizeLinear {
        axis: node.get_attr_opt("axis")?.unwrap_or(1),
        has_zero_point: node.input.len() == 3,
    };
    Ok((expand(op), vec![]))
}

/// The ONNX DequantizeLinear node, expanded at typing into cast, subtraction and product.
#[derive(Debug, Clone)]
struct DequantizeLinear {
    axis: i64,
    has_zero_point: bool,
}

impl Expansion for DequantizeLinear {
    fn name(&self) -> StaticName {
        "DequantizeLinear".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2 + self.has_zero_point as usize)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[1].datum_type, f32::datum_type())?;
        s.equals(&outputs[0].datum_type, f32::datum_type())?;
        if self.has_zero_point {
            s.equals(&inputs[0].datum_type, &inputs[2].datum_type)?;
        }
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        Ok(())
    }

    fn wire(
        &self,
        name: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let rank = model.outlet_fact(inputs[0])?.rank();
        let constant = |model: &TypedModel, input: usize, what: &str| -> TractResult<Tensor> {
            let value = model.outlet_fact(inputs[input])?.konst.clone();
            let value = value
                .with_context(|| format!("DequantizeLinear: the {what} must be a constant"))?;
            along_axis(&value, self.axis, rank)
        };
        let scale = constant(model, 1, "scale")?;
        let scale = model.add_const(format!("{name}.scale"), scale)?;
        let x = model.wire_node(
            format!("{name}.cast"),
            cast(f32::datum_type()),
            &[inputs[0]],
        )?[0];
        let x = if self.has_zero_point {
            let zero_point = constant(model, 2, "zero point")?;
            let zero_point = model.add_const(format!("{name}.zero_point"), zero_point)?;
            model.wire_node(format!("{name}.sub"), sub(), &[x, zero_point])?[0]
        } else {
            x
        };
        model.wire_node(name, mul(), &[x, scale])
    }
}

/// A scalar, or a per-channel vector laid along `axis`, as an f32 tensor of rank `rank` that
/// broadcasts against the quantized tensor.
fn along_axis(param: &Tensor, axis: i64, rank: usize) -> TractResult<Tensor> {
    let mut shape = tvec![1; rank];
    if param.rank() > 0 {
        let axis = if axis < 0 { axis + rank as i64 } else { axis };
        ensure!(
            (0..rank as i64).contains(&axis),
            "DequantizeLinear: axis {axis} is out of range for a tensor of rank {rank}"
        );
        shape[axis as usize] = param.len();
    }
    param.cast_to::<f32>()?.into_owned().into_shape(&shape)
}

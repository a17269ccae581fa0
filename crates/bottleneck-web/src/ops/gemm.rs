//! Gemm: alpha·A·B + beta·C, with optional transposes, as tract-onnx expands it.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::math::{add, mul};
use tract_onnx::tract_hir::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_hir::tract_core::ops::einsum::EinSum;

use super::Built;

/// Gemm with the node's alpha, beta, transA and transB.
pub fn gemm(_: &ParsingContext, node: &NodeProto) -> Built {
    let op = Gemm {
        alpha: node.get_attr_opt("alpha")?.unwrap_or(1.0),
        beta: node.get_attr_opt("beta")?.unwrap_or(1.0),
        trans_a: node.get_attr_opt("transA")?.unwrap_or(false),
        trans_b: node.get_attr_opt("transB")?.unwrap_or(false),
    };
    Ok((expand(op), vec![]))
}

/// The ONNX Gemm node, expanded at typing into an EinSum, and scalings and a sum when needed.
#[derive(Debug, Clone)]
struct Gemm {
    alpha: f32,
    beta: f32,
    trans_a: bool,
    trans_b: bool,
}

impl Expansion for Gemm {
    fn name(&self) -> StaticName {
        "Gemm".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        ensure!(
            inputs.len() == 2 || inputs.len() == 3,
            "Gemm takes 2 or 3 inputs, this node has {}",
            inputs.len()
        );
        check_output_arity(outputs, 1)?;
        for input in inputs {
            s.equals(&input.datum_type, &outputs[0].datum_type)?;
        }
        s.equals(&inputs[0].rank, 2)?;
        s.equals(&inputs[1].rank, 2)?;
        s.equals(&outputs[0].rank, 2)?;
        let (a_cols, a_rows) = if self.trans_a { (0, 1) } else { (1, 0) };
        let (b_cols, b_rows) = if self.trans_b { (0, 1) } else { (1, 0) };
        s.equals(&inputs[0].shape[a_rows], &outputs[0].shape[0])?;
        s.equals(&inputs[0].shape[a_cols], &inputs[1].shape[b_rows])?;
        s.equals(&inputs[1].shape[b_cols], &outputs[0].shape[1])?;
        Ok(())
    }

    fn wire(
        &self,
        name: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let axes = AxesMapping::for_numpy_matmul(2, self.trans_a, self.trans_b, false)?;
        let datum_type = model.outlet_fact(inputs[0])?.datum_type;
        let mut wire = model.wire_node(
            format!("{name}.ab"),
            EinSum::new(axes, datum_type),
            &inputs[..2],
        )?[0];
        if self.alpha != 1.0 {
            wire = scaled(model, &format!("{name}.alpha_ab"), self.alpha, wire)?;
        }
        if let Some(&c) = inputs.get(2).filter(|_| self.beta != 0.0) {
            let mut c = c;
            // A bias of rank 1 or 0 broadcasts over the rows, as ONNX says.
            while model.outlet_fact(c)?.rank() < 2 {
                let rank = model.outlet_fact(c)?.rank();
                c = model.wire_node(format!("{name}.c_add_axis_{rank}"), AxisOp::Add(0), &[c])?[0];
            }
            if self.beta != 1.0 {
                c = scaled(model, &format!("{name}.beta_c"), self.beta, c)?;
            }
            wire = model.wire_node(name, add(), &[wire, c])?[0];
        }
        Ok(tvec!(wire))
    }
}

/// `factor · wire`, for a rank-2 wire.
fn scaled(
    model: &mut TypedModel,
    name: &str,
    factor: f32,
    wire: OutletId,
) -> TractResult<OutletId> {
    let factor = model.add_const(
        format!("{name}.cst"),
        tensor0(factor).broadcast_into_rank(2)?,
    )?;
    Ok(model.wire_node(name, mul(), &[factor, wire])?[0])
}

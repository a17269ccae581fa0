//! Gemm: alpha·A·B + beta·C, with optional transposes. A plain A·B + C with B and C stored in the
//! file (the trainer's dense layers) runs as the page's [`MatVec`]; any other is wired as
//! tract-onnx wires it.

use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::math::{add, mul};
use tract_onnx::tract_hir::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_hir::tract_core::ops::einsum::EinSum;

use super::mat_vec::MatVec;
use super::{Node, dequantized_weights, stored_tensor, stored_weights};

/// Gemm with the node's alpha, beta, transA and transB, on f32 matrices A and B and an optional
/// bias C.
pub fn gemm(node: &Node, model: &mut TypedModel) -> TractResult<TVec<OutletId>> {
    let attr = &node.proto;
    let op = Gemm {
        alpha: attr.get_attr_opt("alpha")?.unwrap_or(1.0),
        beta: attr.get_attr_opt("beta")?.unwrap_or(1.0),
        trans_a: attr.get_attr_opt("transA")?.unwrap_or(false),
        trans_b: attr.get_attr_opt("transB")?.unwrap_or(false),
    };
    node.takes_inputs(3)?;
    let ((a, a_fact), (b, b_fact)) = (node.f32_input(model, 0)?, node.f32_input(model, 1)?);
    ensure!(
        a_fact.rank() == 2 && b_fact.rank() == 2,
        "Gemm {}: A and B must be matrices, not of ranks {} and {}",
        attr.name,
        a_fact.rank(),
        b_fact.rank()
    );
    let inner = |fact: &TypedFact, transposed: bool| fact.shape[usize::from(!transposed)].clone();
    let (a_inner, b_inner) = (inner(&a_fact, op.trans_a), inner(&b_fact, !op.trans_b));
    ensure!(
        a_inner == b_inner,
        "Gemm {}: A has {a_inner} columns where B has {b_inner} rows",
        attr.name
    );
    let c = match node.optional_input(2) {
        Some(_) => {
            let (c, c_fact) = node.f32_input(model, 2)?;
            ensure!(
                c_fact.rank() <= 2,
                "Gemm {}: C has rank {}",
                attr.name,
                c_fact.rank()
            );
            Some(c)
        }
        None => None,
    };
    if let Some(mat_vec) = op.mat_vec(model, b, c)? {
        return model.wire_node(&node.name, mat_vec, &[a]);
    }
    op.wire(&node.name, model, a, b, c)
}

/// The ONNX Gemm node, wired as an EinSum, and scalings and a sum when needed.
#[derive(Debug, Clone)]
struct Gemm {
    alpha: f32,
    beta: f32,
    trans_a: bool,
    trans_b: bool,
}

impl Gemm {
    /// [`MatVec`] for this node, when it is A·B + C without transposes or scalings and its B
    /// and C (if any) are stored in the file: with B kept as int8 when the file stores it so.
    fn mat_vec(
        &self,
        model: &TypedModel,
        b: OutletId,
        c: Option<OutletId>,
    ) -> TractResult<Option<MatVec>> {
        let scaled = self.alpha != 1.0 || (c.is_some() && self.beta != 1.0);
        if scaled || self.trans_a || self.trans_b {
            return Ok(None);
        }
        if let Some(dequantize) = dequantized_weights(model, b) {
            let bias = match c.map(|c| stored_tensor(model, c)).transpose()? {
                Some(None) => return Ok(None),
                bias => bias.flatten(),
            };
            if let Some(mat_vec) = MatVec::for_int8_weights(dequantize, bias.as_ref()) {
                return Ok(Some(mat_vec));
            }
        }
        let Some((weights, bias)) = stored_weights(model, b, c)? else {
            return Ok(None);
        };
        Ok(MatVec::for_weights(&weights, bias.as_ref()))
    }

    /// alpha·A·B + beta·C into `model`, for inputs already checked by [`gemm`].
    fn wire(
        &self,
        name: &str,
        model: &mut TypedModel,
        a: OutletId,
        b: OutletId,
        c: Option<OutletId>,
    ) -> TractResult<TVec<OutletId>> {
        let axes = AxesMapping::for_numpy_matmul(2, self.trans_a, self.trans_b, false)?;
        let mut wire = model.wire_node(
            format!("{name}.ab"),
            EinSum::new(axes, f32::datum_type()),
            &[a, b],
        )?[0];
        if self.alpha != 1.0 {
            wire = scaled(model, &format!("{name}.alpha_ab"), self.alpha, wire)?;
        }
        if let Some(mut c) = c.filter(|_| self.beta != 0.0) {
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

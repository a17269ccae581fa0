//! Elu, Relu and Sigmoid: element-wise, no weights.

use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops;

use bottleneck::fastexp::exp;

use super::Node;

/// Elu(alpha), alpha 1 unless the node says otherwise.
pub fn elu(node: &Node, model: &mut TypedModel) -> TractResult<TVec<OutletId>> {
    let alpha = node.proto.get_attr_opt("alpha")?.unwrap_or(1.0);
    let input = f32_input(node, model)?;
    model.wire_node(&node.name, elu_in_place(alpha), &[input])
}

// One pass over the values, in place. tract-onnx's Elu expands into five operators (exp, minus
// one, times alpha, a comparison and a select), each a pass with its own output tensor: for the
// dense model's Elu layers that overhead is a large part of a run. eˣ is the shared branch-free
// one, computed for every value and kept for the negative ones, so that the loop vectorises
// instead of calling libm's expf value by value.
element_wise!(elu_in_place, EluInPlace { alpha: f32 },
    [f32] => |op, xs| {
        for x in xs {
            let negative = op.alpha * (exp(*x) - 1.0);
            *x = if *x < 0.0 { negative } else { *x };
        }
        Ok(())
    }
);

/// Relu, as tract-onnx wires it: a clip from below at 0.
pub fn relu(node: &Node, model: &mut TypedModel) -> TractResult<TVec<OutletId>> {
    let input = f32_input(node, model)?;
    ops::activations::Clip::new(Some(0.0), None).wire(&node.name, model, &[input])
}

/// Sigmoid.
pub fn sigmoid(node: &Node, model: &mut TypedModel) -> TractResult<TVec<OutletId>> {
    let input = f32_input(node, model)?;
    model.wire_node(&node.name, ops::nn::sigmoid(), &[input])
}

/// The node's one input, which must hold f32 values.
fn f32_input(node: &Node, model: &TypedModel) -> TractResult<OutletId> {
    node.takes_inputs(1)?;
    Ok(node.f32_input(model, 0)?.0)
}

//! The operator registry: every ONNX operator the page runs, by name, and the node each one is
//! handed to wire itself into tract's typed graph.

use tract_onnx::pb::{ModelProto, NodeProto};
use tract_onnx::tract_hir::internal::*;

use super::dequantize_linear::Dequantize;
use super::{activation, conv, dequantize_linear, gemm, max_pool, resize};

/// One ONNX node as its operator wires it into tract's typed graph.
pub struct Node<'a> {
    /// The node as the file stores it: its attributes, and its name for messages.
    pub(crate) proto: &'a NodeProto,
    /// A name for its tract nodes: the file's, made unique.
    pub(crate) name: String,
    /// The outlets its inputs come from, `None` for an optional input left out.
    pub(crate) inputs: TVec<Option<OutletId>>,
    /// The model's ONNX operator set.
    pub(crate) opset: i64,
}

impl Node<'_> {
    /// The outlet of input `index`, which the operator needs.
    pub(crate) fn input(&self, index: usize) -> TractResult<OutletId> {
        self.inputs.get(index).copied().flatten().with_context(|| {
            format!(
                "{} {}: input {index} is missing",
                self.proto.op_type, self.proto.name
            )
        })
    }

    /// The outlet of optional input `index`, if the node has it.
    pub(crate) fn optional_input(&self, index: usize) -> Option<OutletId> {
        self.inputs.get(index).copied().flatten()
    }

    /// The outlet of input `index`, which the operator needs, and its fact, which must be f32.
    pub(crate) fn f32_input(
        &self,
        model: &TypedModel,
        index: usize,
    ) -> TractResult<(OutletId, TypedFact)> {
        let input = self.input(index)?;
        let fact = model.outlet_fact(input)?.clone();
        ensure!(
            fact.datum_type == f32::datum_type(),
            "{} {}: takes f32 values, not {:?}",
            self.proto.op_type,
            self.proto.name,
            fact.datum_type
        );
        Ok((input, fact))
    }

    /// Errors unless the node has at most `count` inputs.
    pub(crate) fn takes_inputs(&self, count: usize) -> TractResult<()> {
        ensure!(
            self.inputs.len() <= count,
            "{} {}: takes at most {count} inputs, not {}",
            self.proto.op_type,
            self.proto.name,
            self.inputs.len()
        );
        Ok(())
    }
}

/// Wires one node into the typed graph and returns the outlets of its outputs. Each operator
/// checks the shapes and attributes tract would otherwise panic on.
pub(crate) type Wire = fn(&Node, &mut TypedModel) -> TractResult<TVec<OutletId>>;

/// Every operator the page runs, by its ONNX name.
pub(crate) const OPERATORS: [(&str, Wire); 8] = [
    ("Conv", conv::conv),
    ("DequantizeLinear", dequantize_linear::dequantize_linear),
    ("Elu", activation::elu),
    ("Gemm", gemm::gemm),
    ("MaxPool", max_pool::max_pool),
    ("Relu", activation::relu),
    ("Resize", resize::resize),
    ("Sigmoid", activation::sigmoid),
];

/// The operators a model uses that the page does not run, each named once, in order of first use.
pub fn unsupported(model: &ModelProto) -> Vec<String> {
    let mut missing: Vec<String> = Vec::new();
    let nodes = model.graph.iter().flat_map(|graph| &graph.node);
    for node in nodes {
        let known = OPERATORS.iter().any(|(name, _)| *name == node.op_type);
        if !known && !missing.contains(&node.op_type) {
            missing.push(node.op_type.clone());
        }
    }
    missing
}

/// Names of the operators the page runs, for messages.
pub fn supported() -> impl Iterator<Item = &'static str> {
    OPERATORS.iter().map(|(name, _)| match *name {
        "DequantizeLinear" => "DequantizeLinear (on weights)",
        name => name,
    })
}

/// A weight tensor and an optional bias, as the file stores them.
pub(crate) type StoredWeights = (Arc<Tensor>, Option<Arc<Tensor>>);

/// The stored values of `weights` and of the optional `bias`, when both are stored in the file:
/// what the page's own [`DirectConv`](direct_conv) and [`MatVec`](mat_vec) need. `None` if
/// either is computed by the graph.
pub(crate) fn stored_weights(
    model: &TypedModel,
    weights: OutletId,
    bias: Option<OutletId>,
) -> TractResult<Option<StoredWeights>> {
    let Some(weights) = stored_tensor(model, weights)? else {
        return Ok(None);
    };
    Ok(
        match bias.map(|bias| stored_tensor(model, bias)).transpose()? {
            Some(None) => None,
            bias => Some((weights, bias.flatten())),
        },
    )
}

/// The value of `outlet` when the file stores it: a constant of the graph, or weights a
/// [`Dequantize`] widens, widened here. `None` if the graph computes it.
pub(crate) fn stored_tensor(
    model: &TypedModel,
    outlet: OutletId,
) -> TractResult<Option<Arc<Tensor>>> {
    if let Some(dequantize) = dequantized_weights(model, outlet) {
        return Ok(Some(dequantize.widened()?.into_arc_tensor()));
    }
    Ok(model.outlet_fact(outlet)?.konst.clone())
}

/// The [`Dequantize`] that computes `outlet`, if one does: stored integer weights.
pub(crate) fn dequantized_weights(model: &TypedModel, outlet: OutletId) -> Option<&Dequantize> {
    model.node(outlet.node).op_as::<Dequantize>()
}

//! An ONNX graph wired straight into tract's typed graph, node by node, for a fixed batch size.
//!
//! tract-onnx would first build an inference graph and solve its shape rules, then translate it
//! to a typed graph and bind the batch size. Every shape here is known from the declared input
//! and the batch size, so that work, and the code it runs (which a cold page would have to
//! compile first), is skipped.

use std::collections::{HashMap, HashSet};

use tract_onnx::data_resolver::MmapDataResolver;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::dimension;
use tract_onnx::pb::type_proto::Value;
use tract_onnx::pb::{ModelProto, NodeProto, TensorProto, ValueInfoProto};
use tract_onnx::tensor::load_tensor;
use tract_onnx::tract_hir::internal::*;

use crate::ops::{Node, OPERATORS};

/// The typed graph of `model` with every input's batch dimension bound to `batch`. Errors name
/// the node or value at fault; operators the page does not run must have been refused before.
pub fn typed_model(model: &ModelProto, batch: usize) -> TractResult<TypedModel> {
    let graph = model.graph.as_ref().context("the file holds no graph")?;
    let opset = model
        .opset_import
        .iter()
        .find(|set| set.domain.is_empty() || set.domain == "ai.onnx")
        .map_or(0, |set| set.version);
    let weights: HashMap<&str, &TensorProto> = graph
        .initializer
        .iter()
        .map(|weight| (weight.name.as_str(), weight))
        .collect();
    let mut typed = TypedModel::default();
    let mut values: HashMap<&str, OutletId> = HashMap::new();
    // Older files also list their weights among the graph's inputs.
    for input in graph
        .input
        .iter()
        .filter(|input| !weights.contains_key(input.name.as_str()))
    {
        let source = typed.add_source(&input.name, input_fact(input, batch)?)?;
        values.insert(&input.name, source);
    }
    let mut names = HashSet::new();
    for (index, proto) in graph.node.iter().enumerate() {
        let inputs = proto
            .input
            .iter()
            .map(|name| match name.as_str() {
                "" => Ok(None),
                name => value(&mut typed, &mut values, &weights, name, proto).map(Some),
            })
            .collect::<TractResult<_>>()?;
        let name = match proto.name.as_str() {
            "" => format!("{}#{index}", proto.op_type),
            name if names.contains(name) => format!("{name}#{index}"),
            name => name.to_string(),
        };
        names.insert(name.clone());
        let node = Node {
            proto,
            name,
            inputs,
            opset,
        };
        let (_, wire) = OPERATORS
            .iter()
            .find(|(op, _)| *op == proto.op_type)
            .with_context(|| format!("the page does not run {}", proto.op_type))?;
        let outputs = wire(&node, &mut typed)?;
        ensure!(
            proto.output.len() <= outputs.len(),
            "{} {}: the page computes {} of its {} outputs",
            proto.op_type,
            proto.name,
            outputs.len(),
            proto.output.len()
        );
        for (name, outlet) in proto.output.iter().zip(outputs) {
            values.insert(name, outlet);
        }
    }
    let outputs = graph
        .output
        .iter()
        .map(|output| {
            values.get(output.name.as_str()).copied().with_context(|| {
                format!("nothing in the model computes its output {}", output.name)
            })
        })
        .collect::<TractResult<Vec<_>>>()?;
    typed.select_output_outlets(&outputs)?;
    Ok(typed)
}

/// The outlet of the value `name`, which `node` reads: computed by an earlier node, or a weight,
/// added to the graph the first time a node reads it.
fn value<'g>(
    typed: &mut TypedModel,
    values: &mut HashMap<&'g str, OutletId>,
    weights: &HashMap<&'g str, &'g TensorProto>,
    name: &'g str,
    node: &NodeProto,
) -> TractResult<OutletId> {
    if let Some(&outlet) = values.get(name) {
        return Ok(outlet);
    }
    let weight = weights.get(name).with_context(|| {
        format!(
            "{} {} reads {name}, which no earlier node computes",
            node.op_type, node.name
        )
    })?;
    let tensor = load_tensor(&MmapDataResolver, weight, None)
        .with_context(|| format!("the weight {name}"))?;
    let outlet = typed.add_const(name, tensor)?;
    values.insert(name, outlet);
    Ok(outlet)
}

/// A graph input as tract's typed fact: f32, its declared shape with a named first (batch)
/// dimension bound to `batch`, every other dimension a fixed size.
fn input_fact(input: &ValueInfoProto, batch: usize) -> TractResult<TypedFact> {
    let Some(Value::TensorType(tensor)) = input.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        bail!("the input {} is not declared as a tensor", input.name);
    };
    ensure!(
        tensor.elem_type == DataType::Float as i32,
        "the input {} must hold f32 values",
        input.name
    );
    let dims = tensor
        .shape
        .as_ref()
        .with_context(|| format!("the input {} declares no shape", input.name))?;
    let shape = dims
        .dim
        .iter()
        .enumerate()
        .map(|(axis, dim)| match (axis, &dim.value) {
            (_, Some(dimension::Value::DimValue(size))) => usize::try_from(*size)
                .with_context(|| format!("the input {} has a negative size", input.name)),
            (0, _) => Ok(batch),
            _ => bail!(
                "the input {} has no fixed size on axis {axis}, which the page needs",
                input.name
            ),
        })
        .collect::<TractResult<TVec<usize>>>()?;
    Ok(f32::fact(shape))
}

//! A list of layers exported as one ONNX graph.

use super::GraphBuilder;
use crate::layers::Layer;
use tract_onnx::pb::ModelProto;

/// The graph `title` of `layers` applied in order, from the graph input `input` to the graph output
/// `output`, each given by name and per-sample shape; both get a symbolic batch dimension in front.
pub fn chain_to_onnx(
    title: &str,
    layers: &[Box<dyn Layer>],
    input: (&str, &[usize]),
    output: (&str, &[usize]),
) -> ModelProto {
    let mut graph = GraphBuilder::default();
    let mut name = input.0.to_string();
    for layer in layers {
        name = layer.to_onnx(&mut graph, &name);
    }
    graph.finish(title, input, output)
}

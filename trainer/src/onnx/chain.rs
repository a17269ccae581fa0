//! A list of layers exported as one ONNX graph.

use super::{GraphBuilder, WeightFormat};
use crate::layers::Layer;
use tract_onnx::pb::ModelProto;

/// The graph `title` of `layers` applied in order, from the graph input `input` to the graph output
/// `output`, each given by name and per-sample shape; both get a symbolic batch dimension in front.
/// Weight matrices are stored in `weights` format.
pub fn chain_to_onnx(
    title: &str,
    weights: WeightFormat,
    layers: &[Box<dyn Layer>],
    input: (&str, &[usize]),
    output: (&str, &[usize]),
) -> ModelProto {
    let mut graph = GraphBuilder::new(weights);
    let mut name = input.0.to_string();
    for layer in layers {
        name = layer.to_onnx(&mut graph, &name);
    }
    graph.finish(title, input, output)
}

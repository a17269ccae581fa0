//! ONNX export, built from tract-onnx's own protobuf types and encoded with prost, and loading back
//! through tract, the engine the page runs.

mod chain;
mod graph;
mod run;

pub use chain::chain_to_onnx;
pub use graph::{GraphBuilder, OPSET, WeightFormat, attr_float, attr_int, attr_ints, attr_string};
pub use run::OnnxRunner;

//! ONNX export, built with `bottleneck-runtime`'s graph builder from tract-onnx's protobuf types
//! and encoded with prost, and loading back through the runtime, the engine the page runs.

mod chain;
mod run;

pub use bottleneck_runtime::export::{
    GraphBuilder, INT4_BLOCK, OPSET, WeightFormat, attr_float, attr_int, attr_ints, attr_string,
    stored_values,
};
pub use chain::chain_to_onnx;
pub use run::OnnxRunner;

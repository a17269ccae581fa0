//! Runs bottleneck's exported autoencoders through tract, the one engine behind the web page and
//! the trainer's evaluation: an ONNX file is decoded, checked, wired node by node into tract's
//! typed graph with the page's own operators ([`ops`]), optimized for a batch size and run.
//!
//! Everything a caller or a user can get wrong comes back as a [`RuntimeError`], never a panic:
//! in the browser a panic would end the wasm instance and every model in it. [`export`] builds
//! the ONNX graphs the trainer writes.

#![warn(missing_docs)]

pub mod error;
pub mod export;
pub mod graph;
pub mod kind;
pub mod model;
pub mod ops;

pub use error::{RuntimeError, check_values};
pub use kind::ModelKind;
pub use model::{MAX_MODEL_BYTES, Model};

//! The bottleneck trainer: trains the autoencoders natively and exports them to ONNX.

pub mod atomic;
pub mod cli;
pub mod code_map;
pub mod commands;
pub mod cpu_time;
pub mod data;
pub mod denormals;
pub mod gemm;
pub mod layers;
pub mod loss;
pub mod model;
pub mod onnx;
pub mod optim;
pub mod peak;
pub mod picture;
pub mod plot;
pub mod recipe;
pub mod simd;
pub mod train;

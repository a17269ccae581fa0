//! The ONNX operators the page runs: the ones the trainer exports, each in its own file, wired
//! into tract's typed graph by [`crate::graph`] the way tract-onnx wires them.
//!
//! Only these are wired, instead of tract-onnx's full set (`tract_onnx::onnx()`), because every
//! builder in that set keeps its operator's code in the wasm whether a model uses it or not. A
//! model that uses anything else is refused with the list in [`registry`].
//!
//! Where tract's general operators cost more than the work in the browser, the common case runs
//! as the page's own op instead: Elu in one pass, `max_pool`'s 2×2 stride-2 pool, `pad`'s zero
//! padding, `direct_conv`'s one-output-channel convolution, `winograd_conv`'s 3×3 convolution and
//! `mat_vec`'s dense layer.
//! Everything else is tract's.
//!
//! Beside the operators: [`registry`] (names to wiring functions), [`attributes`] (Conv and
//! MaxPool attributes), [`checks`] (what tract would panic on) and [`kernels`] (the shared loops).

mod activation;
mod attributes;
mod checks;
mod conv;
mod dequantize_linear;
mod direct_conv;
mod gemm;
mod kernels;
mod mat_vec;
mod max_pool;
mod pad;
mod registry;
mod resize;
mod winograd_conv;

use attributes::{padding, per_image_axis};
use checks::{check_kernel_fits, image_shape};
use kernels::{BLOCK, Tap, add_taps, image_to_image};
pub(crate) use registry::{Node, OPERATORS};
use registry::{dequantized_weights, stored_tensor, stored_weights};

pub use checks::check_graph;
pub use registry::{supported, unsupported};

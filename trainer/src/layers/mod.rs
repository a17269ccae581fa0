//! The layers a model is a list of. Each file holds one layer's forward pass, backward pass and ONNX
//! node side by side, so the exported graph is built from the very list that was trained.
//!
//! Activations travel as `[batch, features]` arrays; spatial layers read their features as C×H×W.

mod activation;
mod conv2d;
mod dense;
mod fresh;
#[cfg(test)]
pub(crate) mod gradcheck;
mod maxpool;
mod relu;
mod sigmoid;
mod upsample;

pub use activation::Activation;
pub use conv2d::Conv2d;
pub use dense::Dense;
pub use maxpool::MaxPool2d;
pub use sigmoid::{Sigmoid, sigmoid};
pub use upsample::UpSample2d;

use crate::onnx::GraphBuilder;
use ndarray::Array2;

/// A trainable parameter tensor and the gradient the last backward pass left for it.
pub struct Param<'a> {
    /// The weights, updated in place by the optimizer.
    pub value: &'a mut [f32],
    /// d loss / d value from the last backward pass.
    pub grad: &'a [f32],
    /// Its shape in the exported file, which decides how a weight format stores it.
    pub dims: Vec<usize>,
}

/// One step of a model.
pub trait Layer: Send {
    /// One line for the model card, e.g. `Dense 784→512`.
    fn describe(&self) -> String;

    /// Forward pass on a batch. With `train`, keeps what `backward` needs.
    fn forward(&mut self, x: Array2<f32>, train: bool) -> Array2<f32>;

    /// Backward pass from d loss / d output: stores the parameter gradients and returns
    /// d loss / d input when `need_input_grad` (the first layer has no use for it).
    fn backward(&mut self, grad: Array2<f32>, need_input_grad: bool) -> Option<Array2<f32>>;

    /// FLOPs of the forward pass per sample, counting only the matrix products, two per
    /// multiply-add (as an FMA peak counts them), padding's zeros included. Biases, activations,
    /// pooling and upsampling count nothing, in this pass and in the backward one. The backward
    /// pass's weight gradient and input gradient are each a product of the same size as this one,
    /// which `Model::step_flops` relies on.
    fn forward_flops(&self) -> u64;

    /// The trainable parameters with their gradients, always in the same order.
    fn params(&mut self) -> Vec<Param<'_>> {
        Vec::new()
    }

    /// Appends this layer's ONNX node(s) reading `input`; returns the name of the output.
    fn to_onnx(&self, graph: &mut GraphBuilder, input: &str) -> String;
}

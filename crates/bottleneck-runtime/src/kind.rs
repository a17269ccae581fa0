//! The four kinds of model the page runs, told apart by their per-sample shapes.

use bottleneck::{CODE_SIZE, IMAGE_PIXELS, IMAGE_SIDE};

/// What a model does, told apart by its input and output shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// `[N,784] → [N,784]`: the dense autoencoder, whose reconstruction error scores anomalies.
    Reconstruct,
    /// `[N,784] → [N,10]`: the dense encoder.
    Encode,
    /// `[N,10] → [N,784]`: the dense decoder.
    Decode,
    /// `[N,1,28,28] → [N,1,28,28]`: the convolutional denoiser.
    Denoise,
}

impl ModelKind {
    /// Every kind, in the order error messages list them.
    pub const ALL: [ModelKind; 4] = [
        ModelKind::Reconstruct,
        ModelKind::Encode,
        ModelKind::Decode,
        ModelKind::Denoise,
    ];

    /// Per-sample input and output shapes.
    pub fn shapes(self) -> (&'static [usize], &'static [usize]) {
        const IMAGE: &[usize] = &[IMAGE_PIXELS];
        const CODE: &[usize] = &[CODE_SIZE];
        const PLANE: &[usize] = &[1, IMAGE_SIDE, IMAGE_SIDE];
        match self {
            ModelKind::Reconstruct => (IMAGE, IMAGE),
            ModelKind::Encode => (IMAGE, CODE),
            ModelKind::Decode => (CODE, IMAGE),
            ModelKind::Denoise => (PLANE, PLANE),
        }
    }

    /// The kind whose per-sample shapes these are, if any.
    pub fn from_shapes(input: &[usize], output: &[usize]) -> Option<ModelKind> {
        ModelKind::ALL
            .into_iter()
            .find(|kind| kind.shapes() == (input, output))
    }

    /// Lower-case name, as the page and messages say it.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Reconstruct => "reconstruct",
            ModelKind::Encode => "encode",
            ModelKind::Decode => "decode",
            ModelKind::Denoise => "denoise",
        }
    }

    /// The shapes with the batch dimension, e.g. "[N,784] → [N,10] (encode)", for messages.
    pub fn signature(self) -> String {
        let (input, output) = self.shapes();
        format!(
            "{} → {} ({})",
            batched_shape(input),
            batched_shape(output),
            self.name()
        )
    }
}

/// A per-sample shape with the batch dimension `N` in front, e.g. `[N,1,28,28]`.
fn batched_shape(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    format!("[N,{}]", dims.join(","))
}

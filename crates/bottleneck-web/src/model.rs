//! One exported autoencoder (or half of one) as the worker holds it: the runtime's model for a
//! batch size, behind a small wasm-bindgen surface.

use bottleneck_runtime::Model;
use wasm_bindgen::prelude::*;

use crate::error::WebError;

/// What a model does, told apart by its input and output shapes.
#[wasm_bindgen]
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

impl From<bottleneck_runtime::ModelKind> for ModelKind {
    fn from(kind: bottleneck_runtime::ModelKind) -> Self {
        use bottleneck_runtime::ModelKind as Kind;
        match kind {
            Kind::Reconstruct => ModelKind::Reconstruct,
            Kind::Encode => ModelKind::Encode,
            Kind::Decode => ModelKind::Decode,
            Kind::Denoise => ModelKind::Denoise,
        }
    }
}

/// A model loaded from ONNX bytes, ready to run a fixed number of samples at a time.
#[wasm_bindgen]
pub struct AutoencoderModel {
    model: Model,
}

#[wasm_bindgen]
impl AutoencoderModel {
    /// Parses and checks an ONNX model, then optimizes it once for one sample a run. Errors if
    /// the file is too large, is not ONNX the page can run, or has shapes of no known kind.
    pub fn load(bytes: &[u8]) -> Result<AutoencoderModel, WebError> {
        AutoencoderModel::load_batched(bytes, 1)
    }

    /// As [`load`](AutoencoderModel::load), for `batch` samples a run.
    #[wasm_bindgen(js_name = loadBatched)]
    pub fn load_batched(bytes: &[u8], batch: usize) -> Result<AutoencoderModel, WebError> {
        Ok(AutoencoderModel {
            model: Model::load(bytes, batch)?,
        })
    }

    /// What this model does.
    #[wasm_bindgen(getter)]
    pub fn kind(&self) -> ModelKind {
        self.model.kind().into()
    }

    /// Samples in each run.
    #[wasm_bindgen(getter)]
    pub fn batch(&self) -> usize {
        self.model.batch()
    }

    /// Number of values in one input sample (784 or 10).
    #[wasm_bindgen(getter, js_name = inputLen)]
    pub fn input_len(&self) -> usize {
        self.model.input_len()
    }

    /// Number of values in one output sample (784 or 10).
    #[wasm_bindgen(getter, js_name = outputLen)]
    pub fn output_len(&self) -> usize {
        self.model.output_len()
    }

    /// Runs `batch` samples (flattened one after the other) and returns their outputs the same
    /// way. Errors if the input has the wrong length or holds NaN or infinity.
    pub fn run(&mut self, input: &[f32]) -> Result<Vec<f32>, WebError> {
        Ok(self.model.run(input)?)
    }
}

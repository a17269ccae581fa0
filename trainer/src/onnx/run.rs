//! Running an exported ONNX file through `bottleneck-runtime`, the engine the web page runs, so
//! that evaluation and the model card measure exactly what people will see.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use bottleneck_runtime::{Model, ModelKind};
use ndarray::{Array2, ArrayView2};

/// An ONNX model checked by the runtime, run on batches of any size: the runtime optimizes a
/// model for one batch size, so one is kept per size met.
pub struct OnnxRunner {
    bytes: Vec<u8>,
    kind: ModelKind,
    /// The model optimized for each batch size run so far.
    by_batch: HashMap<usize, Model>,
}

impl OnnxRunner {
    /// Checks and loads an ONNX model held in memory.
    pub fn from_bytes(bytes: &[u8]) -> Result<OnnxRunner> {
        let model = Model::load(bytes, 1).context("the runtime could not load this ONNX model")?;
        Ok(OnnxRunner {
            bytes: bytes.to_vec(),
            kind: model.kind(),
            by_batch: HashMap::from([(1, model)]),
        })
    }

    /// Reads, checks and loads an ONNX file.
    pub fn from_path(path: &Path) -> Result<OnnxRunner> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read the model {}: check the path", path.display()))?;
        Self::from_bytes(&bytes).with_context(|| format!("in {}", path.display()))
    }

    /// What the model does.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// Shape of one input sample, e.g. `[784]` or `[1, 28, 28]`.
    pub fn input_shape(&self) -> &'static [usize] {
        self.kind.shapes().0
    }

    /// Shape of one output sample.
    pub fn output_shape(&self) -> &'static [usize] {
        self.kind.shapes().1
    }

    /// Runs a batch given as rows of flattened samples; returns rows of flattened outputs.
    pub fn run(&mut self, batch: ArrayView2<f32>) -> Result<Array2<f32>> {
        let per_sample: usize = self.input_shape().iter().product();
        if batch.ncols() != per_sample {
            bail!(
                "the model takes {per_sample} values per sample, the batch has {}",
                batch.ncols()
            );
        }
        let rows = batch.nrows();
        let per_output: usize = self.output_shape().iter().product();
        if rows == 0 {
            return Ok(Array2::zeros((0, per_output)));
        }
        let model = match self.by_batch.entry(rows) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(Model::load(&self.bytes, rows)?)
            }
        };
        let input = batch.as_standard_layout();
        let output = model.run(input.as_slice().expect("standard layout"))?;
        Ok(Array2::from_shape_vec((rows, per_output), output)?)
    }
}

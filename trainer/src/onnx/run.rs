//! Running an exported ONNX file through tract, the same engine the web page uses, so evaluation
//! measures exactly what people will see.

use anyhow::{Context, Result, bail};
use ndarray::{Array2, ArrayView2, IxDyn};
use std::path::Path;
use tract_onnx::prelude::*;

/// An ONNX model optimized once by tract, with its per-sample input and output shapes.
pub struct OnnxRunner {
    plan: Arc<TypedRunnableModel>,
    input_shape: Vec<usize>,
    output_shape: Vec<usize>,
}

impl OnnxRunner {
    /// Parses and optimizes an ONNX model held in memory.
    pub fn from_bytes(bytes: &[u8]) -> Result<OnnxRunner> {
        let model = tract_onnx::onnx()
            .model_for_read(&mut &bytes[..])
            .context("tract could not read this ONNX model")?
            .into_optimized()
            .context("tract could not optimize this ONNX model")?;
        let input_shape = per_sample_shape(&model.input_fact(0)?.shape, "input")?;
        let output_shape = per_sample_shape(&model.output_fact(0)?.shape, "output")?;
        Ok(OnnxRunner { plan: model.into_runnable()?, input_shape, output_shape })
    }

    /// Reads, parses and optimizes an ONNX file.
    pub fn from_path(path: &Path) -> Result<OnnxRunner> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read the model {}: check the path", path.display()))?;
        Self::from_bytes(&bytes).with_context(|| format!("in {}", path.display()))
    }

    /// Shape of one input sample, e.g. `[784]` or `[1, 28, 28]`.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// Shape of one output sample.
    pub fn output_shape(&self) -> &[usize] {
        &self.output_shape
    }

    /// Runs a batch given as rows of flattened samples; returns rows of flattened outputs.
    pub fn run(&self, batch: ArrayView2<f32>) -> Result<Array2<f32>> {
        let per_sample: usize = self.input_shape.iter().product();
        if batch.ncols() != per_sample {
            bail!("the model takes {per_sample} values per sample, the batch has {}", batch.ncols());
        }
        let mut shape = vec![batch.nrows()];
        shape.extend(&self.input_shape);
        let input = batch.as_standard_layout().into_owned().into_shape_with_order(IxDyn(&shape))?;
        let outputs = self.plan.run(tvec!(Tensor::from(input).into()))?;
        let output = outputs[0].to_plain_array_view::<f32>()?;
        let rows = output.shape()[0];
        Ok(output.to_owned().into_shape_with_order((rows, output.len() / rows.max(1)))?)
    }
}

/// The fixed dimensions after the (symbolic) batch dimension.
fn per_sample_shape(shape: &ShapeFact, what: &str) -> Result<Vec<usize>> {
    shape
        .iter()
        .skip(1)
        .map(|d| {
            d.to_i64()
                .ok()
                .and_then(|v| usize::try_from(v).ok())
                .with_context(|| format!("the model's {what} has a dimension {d} that is not a fixed size"))
        })
        .collect()
}

//! tract-onnx's general loader and optimizer: the independent engine that the trainer's exports
//! and the page's runtime are checked against in tests, and nowhere else.

use ndarray::{Array2, ArrayView2};
use tract_onnx::prelude::*;

/// The rows of `batch` (flattened samples) through the ONNX model `bytes`, as rows of flattened
/// outputs.
pub fn run_general_tract(bytes: &[u8], batch: ArrayView2<f32>) -> Array2<f32> {
    let model = tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .unwrap()
        .into_optimized()
        .unwrap();
    let per_sample = model
        .input_fact(0)
        .unwrap()
        .shape
        .iter()
        .skip(1)
        .map(|d| d.to_i64().unwrap() as usize);
    let shape: Vec<usize> = std::iter::once(batch.nrows()).chain(per_sample).collect();
    let input = Tensor::from_shape(&shape, batch.as_standard_layout().as_slice().unwrap()).unwrap();
    let outputs = model
        .into_runnable()
        .unwrap()
        .run(tvec!(input.into()))
        .unwrap();
    let values: Vec<f32> = outputs[0]
        .to_plain_array_view::<f32>()
        .unwrap()
        .iter()
        .copied()
        .collect();
    let rows = batch.nrows();
    Array2::from_shape_vec((rows, values.len() / rows), values).unwrap()
}

//! `eval`: run an exported model through tract on a test split and print one JSON line.

use crate::cli::EvalArgs;
use crate::data::load_dir;
use crate::onnx::OnnxRunner;
use anyhow::{Result, bail};
use bottleneck::Rng;
use bottleneck::metrics::{auroc, l2_error, mse, percentile};
use ndarray::{Array2, ArrayView2, Axis};
use serde_json::json;

/// Images per tract run: large enough to amortise the call, small enough to stay in cache.
const CHUNK: usize = 500;

/// Runs `trainer eval`.
pub fn run(args: &EvalArgs) -> Result<()> {
    let runner = OnnxRunner::from_path(&args.model)?;
    let data = load_dir(&args.data)?;
    let x = data.test.images.as_array();
    if runner.input_shape().iter().product::<usize>() != x.ncols() || runner.output_shape() != runner.input_shape() {
        bail!(
            "{} maps {:?} to {:?}; eval expects an autoencoder over {}-pixel images",
            args.model.display(), runner.input_shape(), runner.output_shape(), x.ncols()
        );
    }
    let y = reconstruct(&runner, x)?;
    let errors = row_errors(x, y.view());
    let mut sorted = errors.clone();
    sorted.sort_by(f32::total_cmp);
    let mut report = json!({
        "model": args.model.display().to_string(),
        "data": data.name,
        "val_images": x.nrows(),
        "val_mse": mse(x.as_slice().expect("contiguous"), y.as_slice().expect("contiguous")),
        "error_percentiles": {
            "p50": percentile(&sorted, 50.0),
            "p90": percentile(&sorted, 90.0),
            "p95": percentile(&sorted, 95.0),
            "p99": percentile(&sorted, 99.0),
            "p99_9": percentile(&sorted, 99.9),
            "max": sorted.last(),
        },
    });
    if let Some(dir) = &args.anomalies {
        let outliers = load_dir(dir)?;
        let ox = outliers.test.images.as_array();
        let anomaly_errors = row_errors(ox, reconstruct(&runner, ox)?.view());
        let noise = uniform_noise(x.nrows(), x.ncols(), args.seed);
        let noise_errors = row_errors(noise.view(), reconstruct(&runner, noise.view())?.view());
        report["anomalies"] = json!(outliers.name);
        report["auroc_vs_anomalies"] = json!(auroc(&errors, &anomaly_errors));
        report["auroc_vs_noise"] = json!(auroc(&errors, &noise_errors));
    }
    println!("{report}");
    Ok(())
}

/// The model's output for every row, in chunks.
fn reconstruct(runner: &OnnxRunner, x: ArrayView2<f32>) -> Result<Array2<f32>> {
    let mut out = Array2::zeros(x.raw_dim());
    for (input, mut output) in x.axis_chunks_iter(Axis(0), CHUNK).zip(out.axis_chunks_iter_mut(Axis(0), CHUNK)) {
        output.assign(&runner.run(input)?);
    }
    Ok(out)
}

/// L2 norm of input − output per row: the anomaly score.
pub fn row_errors(x: ArrayView2<f32>, y: ArrayView2<f32>) -> Vec<f32> {
    x.rows().into_iter().zip(y.rows()).map(|(a, b)| l2_error(&a.to_vec(), &b.to_vec())).collect()
}

/// Images of independent uniform pixels: anomalies no digit model should rebuild.
fn uniform_noise(count: usize, pixels: usize, seed: u64) -> Array2<f32> {
    let mut rng = Rng::new(seed);
    Array2::from_shape_simple_fn((count, pixels), || rng.uniform())
}

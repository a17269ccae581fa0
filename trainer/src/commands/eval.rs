//! `eval`: run an exported model through the page's engine (`bottleneck-runtime`) on a test split
//! and print one JSON line.

use crate::cli::EvalArgs;
use crate::data::load_dir;
use crate::onnx::OnnxRunner;
use anyhow::{Result, anyhow, bail};
use bottleneck::metrics::{auroc, bce, l2_error, mse, percentile, psnr};
use bottleneck::{IMAGE_SIDE, NoiseSpec, Rng};
use ndarray::{Array2, ArrayView2, Axis};
use serde_json::{Value, json};

/// Images per run: large enough to amortise the call, small enough to stay in cache.
const CHUNK: usize = 500;

/// Runs `trainer eval`: prints the report as one JSON line.
pub fn run(args: &EvalArgs) -> Result<()> {
    println!("{}", evaluate(args)?);
    Ok(())
}

/// The evaluation report: `val_mse`, `error_percentiles` and, with anomalies, the AUROCs for an
/// anomaly detector; `val_bce` and PSNRs for a denoiser.
pub fn evaluate(args: &EvalArgs) -> Result<Value> {
    let mut runner = OnnxRunner::from_path(&args.model)?;
    let data = load_dir(&args.data)?;
    let x = data.test.images.as_array();
    if runner.input_shape().iter().product::<usize>() != x.ncols()
        || runner.output_shape() != runner.input_shape()
    {
        bail!(
            "{} maps {:?} to {:?}; eval expects an autoencoder over {}-pixel images",
            args.model.display(),
            runner.input_shape(),
            runner.output_shape(),
            x.ncols()
        );
    }
    if runner.input_shape().len() == 3 {
        return evaluate_denoiser(args, &mut runner, x, &data.name);
    }
    let y = run_in_chunks(&mut runner, x)?;
    let errors = row_errors(x, y.view());
    let mut sorted = errors.clone();
    sorted.sort_by(f32::total_cmp);
    let mut report = json!({
        "model": args.model.display().to_string(),
        "data": data.name,
        "val_images": x.nrows(),
        "val_mse": mse(contiguous(x), contiguous(y.view())),
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
        let anomaly_errors = row_errors(ox, run_in_chunks(&mut runner, ox)?.view());
        let noise = uniform_noise(x.nrows(), x.ncols(), args.seed);
        let noise_errors = row_errors(
            noise.view(),
            run_in_chunks(&mut runner, noise.view())?.view(),
        );
        report["anomalies"] = json!(outliers.name);
        report["auroc_vs_anomalies"] = json!(auroc(&errors, &anomaly_errors));
        report["auroc_vs_noise"] = json!(auroc(&errors, &noise_errors));
    }
    Ok(report)
}

/// The denoiser's figures: BCE against the clean images, and PSNR of the noisy and denoised images.
fn evaluate_denoiser(
    args: &EvalArgs,
    runner: &mut OnnxRunner,
    clean: ArrayView2<f32>,
    data: &str,
) -> Result<Value> {
    if args.anomalies.is_some() {
        bail!(
            "--anomalies scores an anomaly detector (dense.onnx); {} is a denoiser",
            args.model.display()
        );
    }
    let noisy = noisy_copy(&args.noise, clean, args.seed)?;
    let denoised = run_in_chunks(runner, noisy.view())?;
    let (psnr_noisy, psnr_denoised) = denoising_psnr(clean, noisy.view(), denoised.view());
    Ok(json!({
        "model": args.model.display().to_string(),
        "data": data,
        "val_images": clean.nrows(),
        "noise": args.noise.to_string(),
        "seed": args.seed,
        "val_bce": bce(contiguous(clean), contiguous(denoised.view())),
        "psnr_noisy": psnr_noisy,
        "psnr_denoised": psnr_denoised,
    }))
}

/// A copy of `clean` (one 28×28 image per row) under `noise`, drawn from `seed`.
pub fn noisy_copy(noise: &NoiseSpec, clean: ArrayView2<f32>, seed: u64) -> Result<Array2<f32>> {
    let mut noisy = clean.as_standard_layout().into_owned();
    let pixels = noisy.as_slice_mut().expect("standard layout");
    noise
        .apply_batch(pixels, IMAGE_SIDE, IMAGE_SIDE, seed)
        .map_err(|e| anyhow!("adding noise: {e}"))?;
    Ok(noisy)
}

/// PSNR over the whole set of the noisy inputs and of the denoised outputs against the clean images.
pub fn denoising_psnr(
    clean: ArrayView2<f32>,
    noisy: ArrayView2<f32>,
    denoised: ArrayView2<f32>,
) -> (f64, f64) {
    (
        psnr(contiguous(clean), contiguous(noisy)),
        psnr(contiguous(clean), contiguous(denoised)),
    )
}

/// The values of a standard-layout array as one slice.
fn contiguous<'a>(x: ArrayView2<'a, f32>) -> &'a [f32] {
    x.to_slice().expect("image sets are stored row after row")
}

/// The model's output for every row, in chunks: a reconstruction, or a code for an encoder.
pub fn run_in_chunks(runner: &mut OnnxRunner, x: ArrayView2<f32>) -> Result<Array2<f32>> {
    let mut out = Array2::zeros((x.nrows(), runner.output_shape().iter().product()));
    for (input, mut output) in x
        .axis_chunks_iter(Axis(0), CHUNK)
        .zip(out.axis_chunks_iter_mut(Axis(0), CHUNK))
    {
        output.assign(&runner.run(input)?);
    }
    Ok(out)
}

/// L2 norm of input − output per row: the anomaly score.
pub fn row_errors(x: ArrayView2<f32>, y: ArrayView2<f32>) -> Vec<f32> {
    x.rows()
        .into_iter()
        .zip(y.rows())
        .map(|(a, b)| l2_error(contiguous_row(a), contiguous_row(b)))
        .collect()
}

/// The values of one row of a standard-layout array.
fn contiguous_row<'a>(row: ndarray::ArrayView1<'a, f32>) -> &'a [f32] {
    row.to_slice().expect("rows of image sets are contiguous")
}

/// Images of independent uniform pixels: anomalies no digit model should rebuild.
fn uniform_noise(count: usize, pixels: usize, seed: u64) -> Array2<f32> {
    let mut rng = Rng::new(seed);
    Array2::from_shape_simple_fn((count, pixels), || rng.uniform())
}

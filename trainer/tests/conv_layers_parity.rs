//! The convolutional model's layers, exported to ONNX and run by tract-onnx's general loader,
//! compute what the trainer computes: the export means what ONNX says it means.

mod reference;

use bottleneck::Rng;
use ndarray::Array2;
use prost::Message;
use trainer::layers::{Conv2d, Layer, MaxPool2d, Sigmoid, UpSample2d};
use trainer::onnx::{WeightFormat, chain_to_onnx};

/// Largest |trainer − tract| over a random batch pushed through `layers`, whose per-sample input
/// and output shapes are given.
fn max_abs_diff(mut layers: Vec<Box<dyn Layer>>, input: &[usize], output: &[usize]) -> f32 {
    let mut rng = Rng::new(7);
    // Nudge every weight, so zero-initialised biases are exported and checked too.
    for param in layers.iter_mut().flat_map(|l| l.params()) {
        param
            .value
            .iter_mut()
            .for_each(|v| *v += 0.2 * (rng.uniform() - 0.5));
    }
    let x = Array2::from_shape_simple_fn((5, input.iter().product()), || rng.uniform());
    let trainer_y = layers
        .iter_mut()
        .fold(x.clone(), |x, layer| layer.forward(x, false));

    let model = chain_to_onnx(
        "chain",
        WeightFormat::F32,
        &layers,
        ("x", input),
        ("y", output),
    );
    let tract_y = reference::run_general_tract(&model.encode_to_vec(), x.view());
    assert_eq!(trainer_y.dim(), tract_y.dim());
    trainer_y
        .iter()
        .zip(&tract_y)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

fn assert_parity(layers: Vec<Box<dyn Layer>>, input: &[usize], output: &[usize]) {
    let what: Vec<String> = layers.iter().map(|l| l.describe()).collect();
    let diff = max_abs_diff(layers, input, output);
    assert!(diff <= 1e-5, "{what:?}: tract vs trainer max |Δ| = {diff}");
}

#[test]
fn conv2d_matches_tract() {
    let mut rng = Rng::new(1);
    // Both lowerings (more outputs than inputs and fewer), on a non-square image.
    for (ins, outs) in [(2, 3), (3, 2)] {
        assert_parity(
            vec![Box::new(Conv2d::new(ins, outs, 5, 6, &mut rng))],
            &[ins, 5, 6],
            &[outs, 5, 6],
        );
    }
}

#[test]
fn maxpool_matches_tract() {
    assert_parity(
        vec![Box::new(MaxPool2d::new(3, 6, 8))],
        &[3, 6, 8],
        &[3, 3, 4],
    );
    assert_parity(
        vec![Box::new(MaxPool2d::new(2, 7, 5))],
        &[2, 7, 5],
        &[2, 3, 2],
    );
}

#[test]
fn upsample_matches_tract() {
    assert_parity(
        vec![Box::new(UpSample2d::new(2, 3, 4))],
        &[2, 3, 4],
        &[2, 6, 8],
    );
}

#[test]
fn small_conv_autoencoder_matches_tract() {
    let mut rng = Rng::new(2);
    let layers: Vec<Box<dyn Layer>> = vec![
        Box::new(Conv2d::new(1, 4, 8, 8, &mut rng).with_relu().with_pool()),
        Box::new(Conv2d::new(4, 4, 4, 4, &mut rng)),
        Box::new(Conv2d::new(4, 1, 8, 8, &mut rng).after_upsample()),
        Box::new(Sigmoid::default()),
    ];
    assert_parity(layers, &[1, 8, 8], &[1, 8, 8]);
}

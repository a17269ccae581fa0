//! The exported ONNX files, loaded back by the page's runtime, compute what the trainer computes.

use bottleneck::Rng;
use ndarray::Array2;
use prost::Message;
use trainer::model::{Model, ModelKind, Part};
use trainer::onnx::{OnnxRunner, WeightFormat};

fn max_abs_diff(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn runner(model: &Model, part: Part) -> OnnxRunner {
    OnnxRunner::from_bytes(&model.to_onnx(part, WeightFormat::F32).encode_to_vec())
        .expect("the runtime loads the export")
}

#[test]
fn dense_export_matches_the_trainer_and_splits_cleanly() {
    let mut model = Model::new(ModelKind::Dense, 11);
    let mut rng = Rng::new(5);
    let x = Array2::from_shape_simple_fn((17, 784), || rng.uniform());

    let mut full = runner(&model, Part::Full);
    let mut encoder = runner(&model, Part::Encoder);
    let mut decoder = runner(&model, Part::Decoder);
    assert_eq!(
        (full.input_shape(), full.output_shape()),
        (&[784][..], &[784][..])
    );
    assert_eq!(
        (encoder.input_shape(), encoder.output_shape()),
        (&[784][..], &[10][..])
    );
    assert_eq!(
        (decoder.input_shape(), decoder.output_shape()),
        (&[10][..], &[784][..])
    );

    let trainer_y = model.predict(x.view(), 8);
    let tract_y = full.run(x.view()).unwrap();
    let diff = max_abs_diff(&trainer_y, &tract_y);
    assert!(diff <= 1e-5, "tract vs trainer: max |Δ| = {diff}");

    let z = encoder.run(x.view()).unwrap();
    assert_eq!(z.dim(), (17, 10));
    let roundtrip = decoder.run(z.view()).unwrap();
    let diff = max_abs_diff(&roundtrip, &tract_y);
    assert!(
        diff <= 1e-6,
        "decoder(encoder(x)) vs full model: max |Δ| = {diff}"
    );
}

#[test]
fn runner_rejects_a_batch_of_the_wrong_width() {
    let model = Model::new(ModelKind::Dense, 0);
    let err = runner(&model, Part::Full)
        .run(Array2::zeros((2, 100)).view())
        .unwrap_err();
    assert!(err.to_string().contains("784"), "{err}");
}

#[test]
fn runner_rejects_bytes_that_are_not_onnx() {
    let err = OnnxRunner::from_bytes(b"certainly not a protobuf")
        .err()
        .expect("garbage must not load");
    assert!(format!("{err:#}").contains("ONNX"), "{err:#}");
}

#[test]
fn conv_export_matches_the_trainer() {
    let mut model = Model::new(ModelKind::Conv, 4);
    let mut rng = Rng::new(9);
    let x = Array2::from_shape_simple_fn((5, 784), || rng.uniform());
    let mut full = runner(&model, Part::Full);
    assert_eq!(
        (full.input_shape(), full.output_shape()),
        (&[1, 28, 28][..], &[1, 28, 28][..])
    );
    let diff = max_abs_diff(&model.predict(x.view(), 2), &full.run(x.view()).unwrap());
    assert!(diff <= 1e-5, "tract vs trainer: max |Δ| = {diff}");
}

/// Int8 storage: about a quarter of the bytes, and outputs that stay close to the f32 model's
/// (each weight moves by at most half a step of its channel's scale).
#[test]
fn int8_export_is_a_quarter_of_the_size_and_close_to_the_trainer() {
    for (kind, tolerance) in [(ModelKind::Dense, 0.02), (ModelKind::Conv, 0.02)] {
        let mut model = Model::new(kind, 3);
        let f32_bytes = model.to_onnx(Part::Full, WeightFormat::F32).encode_to_vec();
        let int8_bytes = model
            .to_onnx(Part::Full, WeightFormat::Int8)
            .encode_to_vec();
        let ratio = int8_bytes.len() as f64 / f32_bytes.len() as f64;
        assert!(
            ratio < 0.3,
            "{kind:?}: int8 file is {ratio:.2}× the f32 file"
        );

        let mut rng = Rng::new(2);
        let x = Array2::from_shape_simple_fn((6, 784), || rng.uniform());
        let mut int8 =
            OnnxRunner::from_bytes(&int8_bytes).expect("the runtime loads the int8 export");
        let diff = max_abs_diff(&model.predict(x.view(), 3), &int8.run(x.view()).unwrap());
        assert!(
            diff > 0.0 && diff <= tolerance,
            "{kind:?}: int8 vs f32: max |Δ| = {diff}"
        );
    }
}

/// Int4 storage: the runtime's output is the trainer's own forward pass on the weights as
/// `quantize_params` rounds them (what quantization-aware fine-tuning trains on), and the file
/// is about a sixth of the f32 one for dense, where nearly every weight is in 4 bits.
#[test]
fn int4_export_runs_as_the_trainers_quantized_weights() {
    for (kind, largest_ratio) in [(ModelKind::Dense, 0.18), (ModelKind::Conv, 0.3)] {
        let mut model = Model::new(kind, 4);
        let f32_bytes = model.to_onnx(Part::Full, WeightFormat::F32).encode_to_vec();
        let int4_bytes = model
            .to_onnx(Part::Full, WeightFormat::Int4)
            .encode_to_vec();
        let ratio = int4_bytes.len() as f64 / f32_bytes.len() as f64;
        assert!(
            ratio < largest_ratio,
            "{kind:?}: int4 file is {ratio:.3}× the f32 file"
        );
        let mut rng = Rng::new(5);
        let x = Array2::from_shape_simple_fn((6, 784), || rng.uniform());
        let mut int4 =
            OnnxRunner::from_bytes(&int4_bytes).expect("the runtime loads the int4 export");
        let ours = int4.run(x.view()).unwrap();
        let trained = model.predict(x.view(), 3);
        let originals = model.quantize_params(WeightFormat::Int4);
        let quantized = model.predict(x.view(), 3);
        model.restore_params(originals);
        assert_eq!(
            model.predict(x.view(), 3),
            trained,
            "restore_params restores"
        );
        let rounding = max_abs_diff(&trained, &ours);
        let same = max_abs_diff(&quantized, &ours);
        assert!(
            same <= 1e-5 && rounding > 10.0 * same.max(1e-6),
            "{kind:?}: int4 file vs the quantized trainer {same}, vs the f32 trainer {rounding}"
        );
    }
}

//! The page's runtime (bottleneck-runtime) on the trainer's real exports: every part loads as its
//! kind, the runtime's own operators give what tract-onnx's general loader gives, the plans use
//! the runtime's fast ops, and damaged files are errors, never panics.

mod reference;

use bottleneck::IMAGE_PIXELS;
use bottleneck_runtime::{Model, ModelKind};
use prost::Message;
use trainer::model::{Model as TrainedModel, ModelKind as TrainerKind, Part};
use trainer::onnx::WeightFormat;

fn exported(kind: TrainerKind, part: Part) -> Vec<u8> {
    exported_as(kind, part, WeightFormat::F32)
}

fn exported_as(kind: TrainerKind, part: Part, format: WeightFormat) -> Vec<u8> {
    TrainedModel::new(kind, 7)
        .to_onnx(part, format)
        .encode_to_vec()
}

fn digit_like_input() -> Vec<f32> {
    (0..IMAGE_PIXELS)
        .map(|i| ((i * 37) % 101) as f32 / 100.0)
        .collect()
}

/// A truncated real model must fail cleanly.
#[test]
fn a_truncated_export_is_an_error() {
    let bytes = exported(TrainerKind::Dense, Part::Full);
    assert!(Model::load(&bytes[..bytes.len() / 2], 1).is_err());
}

#[test]
fn dense_parts_load_as_their_kinds_and_run() {
    for (part, kind, input_len, output_len) in [
        (Part::Full, ModelKind::Reconstruct, 784, 784),
        (Part::Encoder, ModelKind::Encode, 784, 10),
        (Part::Decoder, ModelKind::Decode, 10, 784),
    ] {
        let mut model = Model::load(&exported(TrainerKind::Dense, part), 1).unwrap();
        assert_eq!(model.kind(), kind);
        assert_eq!(
            (model.input_len(), model.output_len()),
            (input_len, output_len)
        );
        let input = digit_like_input()[..input_len].to_vec();
        let first = model.run(&input).unwrap();
        assert_eq!(first.len(), output_len);
        // The reused state and input buffer must not leak one run into the next.
        model.run(&vec![0.0; input_len]).unwrap();
        assert_eq!(model.run(&input).unwrap(), first);
    }
}

/// The runtime's own operator registry (bottleneck-runtime's ops/) must give what full tract-onnx gives, for every
/// operator the trainer exports: Gemm, Elu and Sigmoid; Conv, Relu, MaxPool and Resize; and
/// DequantizeLinear in the int8 files.
#[test]
fn outputs_match_the_trainers_own_tract_runner() {
    for kind in [TrainerKind::Dense, TrainerKind::Conv] {
        for format in [WeightFormat::F32, WeightFormat::Int8] {
            let bytes = exported_as(kind, Part::Full, format);
            let input = digit_like_input();
            let batch = ndarray::ArrayView2::from_shape((1, IMAGE_PIXELS), &input).unwrap();
            let expected = reference::run_general_tract(&bytes, batch);
            let mut model = Model::load(&bytes, 1).unwrap();
            let output = model.run(&input).unwrap();
            assert_eq!(output.len(), expected.len());
            for (ours, theirs) in output.iter().zip(expected.iter()) {
                assert!(
                    (ours - theirs).abs() <= 1e-5,
                    "{kind:?} {format:?}: {ours} vs {theirs}"
                );
            }
            if kind == TrainerKind::Conv {
                assert_eq!(model.kind(), ModelKind::Denoise);
                assert!(output.iter().all(|v| (0.0..=1.0).contains(v)));
            }
        }
    }
}

/// The names of the ops in the plan of the trainer's `kind` model, int8 weights.
fn planned_ops(kind: TrainerKind) -> Vec<String> {
    Model::load(&exported_as(kind, Part::Full, WeightFormat::Int8), 1)
        .unwrap()
        .planned_ops()
}

/// The denoiser must run the runtime's own pooling, padding and convolutions, not fall back to
/// tract's slower general ones: Winograd for the three 32 → 32 layers (which pad as they read),
/// the one-channel DirectConv last, and tract's convolution only for the 1 → 32 first layer.
#[test]
fn the_denoiser_runs_the_pages_own_ops() {
    let ops = planned_ops(TrainerKind::Conv);
    let count = |name: &str| ops.iter().filter(|op| *op == name).count();
    assert_eq!(
        (
            count("MaxPool2x2"),
            count("ZeroPad2d"),
            count("WinogradConv"),
            count("DirectConv")
        ),
        (2, 2, 3, 1),
        "{ops:?}"
    );
}

/// Each of the dense model's six layers must run as the page's MatVec, not as tract's
/// matrix product, which loads slower on a cold page.
#[test]
fn the_dense_model_runs_the_pages_matvec() {
    let ops = planned_ops(TrainerKind::Dense);
    assert_eq!(
        ops.iter().filter(|op| *op == "MatVec").count(),
        6,
        "{ops:?}"
    );
}

/// Random byte edits of real exported models (seeded, so a failure repeats) must load, or fail
/// with an error, and never panic: tract panics on some such files, which the runtime's checks
/// must refuse first.
#[test]
fn mutated_models_never_panic() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state as usize
    };
    for (kind, mutants) in [(TrainerKind::Conv, 3000), (TrainerKind::Dense, 200)] {
        let model = exported_as(kind, Part::Full, WeightFormat::Int8);
        for mutant in 0..mutants {
            let mut bytes = model.clone();
            for _ in 0..1 + next() % 6 {
                // Dense weights fill the middle of the file; the graph is at its ends.
                let at = match next() % 2 {
                    0 => next() % bytes.len().min(4000),
                    _ => bytes.len() - 1 - next() % bytes.len().min(4000),
                };
                match next() % 4 {
                    0 => {
                        bytes.remove(at);
                    }
                    1 => bytes.insert(at, next() as u8),
                    _ => bytes[at] = next() as u8,
                }
            }
            let outcome = std::panic::catch_unwind(|| {
                if let Ok(mut model) = Model::load(&bytes, 1) {
                    let _ = model.run(&vec![0.5; model.input_len()]);
                }
            });
            assert!(outcome.is_ok(), "{kind:?} mutant {mutant} panicked");
        }
    }
}

//! The wasm API in headless Chromium (wasm-bindgen-test): loading the shipped models, running
//! them, encoding and decoding through the dense model's halves, batched runs, output shapes,
//! errors for bad bytes and wrong shapes, and parity with native tract.
//! Run by scripts/test as `cargo test --target wasm32-unknown-unknown -p bottleneck-web --test web`.
#![cfg(target_arch = "wasm32")]

mod common;

use bottleneck::{CODE_SIZE, IMAGE_PIXELS};
use bottleneck_runtime::export::GraphBuilder;
use bottleneck_web::{AutoencoderModel, ModelKind};
use common::*;
use prost::Message;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The message of the JS error value a failed call hands to JavaScript.
fn js_message(error: impl Into<JsValue>) -> String {
    let value: JsValue = error.into();
    let error: &js_sys::Error =
        wasm_bindgen::JsCast::dyn_ref(&value).expect("errors reach JS as Error objects");
    error.message().into()
}

#[wasm_bindgen_test]
fn shipped_models_load_as_their_kinds_and_give_images() {
    for ((name, bytes), kind) in SHIPPED_MODELS
        .iter()
        .zip([ModelKind::Reconstruct, ModelKind::Denoise])
    {
        let mut model = AutoencoderModel::load(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(model.kind(), kind, "{name}");
        assert_eq!(
            (model.input_len(), model.output_len()),
            (IMAGE_PIXELS, IMAGE_PIXELS),
            "{name}"
        );
        for input in parity_inputs() {
            let output = model.run(&input).unwrap();
            assert_eq!(output.len(), IMAGE_PIXELS);
            assert!(
                output.iter().all(|v| (0.0..=1.0).contains(v)),
                "{name}: sigmoid outputs"
            );
        }
    }
}

#[wasm_bindgen_test]
fn browser_outputs_match_native_tract() {
    let expected = fixture_outputs();
    let mut index = 0;
    for (name, bytes) in SHIPPED_MODELS {
        let mut model = AutoencoderModel::load(bytes).unwrap();
        for input in parity_inputs() {
            let diff = max_abs_diff(&model.run(&input).unwrap(), &expected[index]);
            assert!(
                diff <= 1e-5,
                "{name}, input {index}: wasm vs native max |Δ| = {diff}; {REWRITE_HINT}"
            );
            index += 1;
        }
    }
    assert_eq!(index, expected.len(), "{REWRITE_HINT}");
}

#[wasm_bindgen_test]
fn bad_bytes_are_js_errors() {
    for bytes in [&b""[..], b"not an onnx model", &SHIPPED_MODELS[0].1[..1000]] {
        let error = AutoencoderModel::load(bytes)
            .err()
            .expect("garbage must not load");
        assert!(js_message(error).contains("ONNX"));
    }
}

/// A one-node Relu model `[N, side] → [N, side]`: valid ONNX, but no autoencoder over images.
fn relu_model(side: usize) -> Vec<u8> {
    let mut graph = GraphBuilder::default();
    graph.node("Relu", &["x"], vec![]);
    graph
        .finish("relu", ("x", &[side]), ("y", &[side]))
        .encode_to_vec()
}

#[wasm_bindgen_test]
fn wrong_shapes_are_js_errors() {
    let error = AutoencoderModel::load(&relu_model(10))
        .err()
        .expect("a [N,10] → [N,10] model is no autoencoder");
    assert!(
        js_message(error).contains("10"),
        "the message says what was found"
    );

    let mut dense = AutoencoderModel::load(SHIPPED_MODELS[0].1).unwrap();
    assert!(js_message(dense.run(&[0.5; 100]).unwrap_err()).contains("784"));
    let mut with_nan = vec![0.0; IMAGE_PIXELS];
    with_nan[3] = f32::NAN;
    assert!(dense.run(&with_nan).is_err(), "NaN input is refused");
    // The model keeps working after refusing bad input.
    assert_eq!(dense.run(&parity_inputs()[0]).unwrap().len(), IMAGE_PIXELS);
}

/// The shipped halves of the dense model, as the page loads them to show the code.
const ENCODER: &[u8] = include_bytes!("../../../www/models/dense.encoder.onnx");
const DECODER: &[u8] = include_bytes!("../../../www/models/dense.decoder.onnx");

#[wasm_bindgen_test]
fn the_halves_encode_to_the_code_and_decode_to_the_full_models_rebuild() {
    let mut full = AutoencoderModel::load(SHIPPED_MODELS[0].1).unwrap();
    let mut encoder = AutoencoderModel::load(ENCODER).unwrap();
    let mut decoder = AutoencoderModel::load(DECODER).unwrap();
    assert_eq!(
        (encoder.kind(), encoder.output_len()),
        (ModelKind::Encode, CODE_SIZE)
    );
    assert_eq!(
        (decoder.kind(), decoder.input_len()),
        (ModelKind::Decode, CODE_SIZE)
    );
    for input in parity_inputs() {
        let code = encoder.run(&input).unwrap();
        assert_eq!(code.len(), CODE_SIZE);
        let rebuilt = decoder.run(&code).unwrap();
        let diff = max_abs_diff(&rebuilt, &full.run(&input).unwrap());
        assert!(
            diff <= 1e-5,
            "decoder(encoder(x)) vs the full model: {diff}"
        );
    }
    assert!(js_message(decoder.run(&[0.0; 9]).unwrap_err()).contains("10 values"));
    assert!(js_message(encoder.run(&[0.0; 10]).unwrap_err()).contains("784"));
}

#[wasm_bindgen_test]
fn a_batched_decoder_gives_each_code_what_a_single_run_gives() {
    const FRAMES: usize = 5;
    let mut single = AutoencoderModel::load(DECODER).unwrap();
    let mut batched = AutoencoderModel::load_batched(DECODER, FRAMES).unwrap();
    assert_eq!(batched.batch(), FRAMES);
    let codes: Vec<Vec<f32>> = (0..FRAMES)
        .map(|frame| {
            (0..CODE_SIZE)
                .map(|i| (frame as f32 - 2.0) * 0.7 + i as f32 * 0.1)
                .collect()
        })
        .collect();
    let together = batched.run(&codes.concat()).unwrap();
    assert_eq!(together.len(), FRAMES * IMAGE_PIXELS);
    for (frame, code) in codes.iter().enumerate() {
        let alone = single.run(code).unwrap();
        let diff = max_abs_diff(&together[frame * IMAGE_PIXELS..][..IMAGE_PIXELS], &alone);
        assert!(diff <= 1e-6, "frame {frame}: {diff}");
    }
    let error = js_message(batched.run(&codes[0]).unwrap_err());
    assert!(
        error.contains(&format!("{}", FRAMES * CODE_SIZE)),
        "{error}"
    );
    assert!(AutoencoderModel::load_batched(DECODER, 0).is_err());
}

/// `performance.now()` of the test's page, in milliseconds.
fn performance_now() -> f64 {
    let get = |target: &JsValue, name: &str| js_sys::Reflect::get(target, &name.into()).unwrap();
    let performance = get(&js_sys::global(), "performance");
    let now = js_sys::Function::from(get(&performance, "now"));
    now.call0(&performance).unwrap().as_f64().unwrap()
}

/// Profiles each shipped model op by op over many runs and prints each op's mean time, as
/// bench/layers shows it: one entry per planned op, each a time that a clock could read.
#[wasm_bindgen_test]
fn the_op_profile_times_every_planned_op() {
    const RUNS: usize = 300;
    let input = &parity_inputs()[0];
    for (name, bytes) in SHIPPED_MODELS {
        let mut model = bottleneck_runtime::Model::load(bytes, 1).unwrap();
        // The plan's stored constants hold values; every other op, the input's too, is timed.
        let planned: Vec<String> = model
            .planned_ops()
            .into_iter()
            .filter(|op| op != "Const")
            .collect();
        let mut totals: Vec<(String, f64)> = Vec::new();
        for run in 0..RUNS {
            let times = model.profile(input, performance_now).unwrap();
            let timed: Vec<&str> = times
                .iter()
                .map(|(op, _)| op.rsplit(' ').next().unwrap_or_default())
                .collect();
            assert_eq!(timed, planned, "{name}: one time per planned op");
            if run == 0 {
                totals = times.into_iter().map(|(op, _)| (op, 0.0)).collect();
                continue;
            }
            for ((_, total), (op, time)) in totals.iter_mut().zip(times) {
                assert!(time.is_finite() && time >= 0.0, "{name} {op}: {time} ms");
                *total += time;
            }
        }
        let sum: f64 = totals.iter().map(|(_, total)| total).sum();
        console_log!(
            "{name}: mean of {} runs after one, ms per op (share)",
            RUNS - 1
        );
        for (op, total) in &totals {
            let mean = total / (RUNS - 1) as f64;
            console_log!(
                "  {:>9.4} ms {:>5.1} %  {op}",
                mean,
                100.0 * total / sum.max(1e-9)
            );
        }
        console_log!("  {:>9.4} ms total", sum / (RUNS - 1) as f64);
    }
}

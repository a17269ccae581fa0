//! The wasm API in headless Chromium (wasm-bindgen-test): loading the shipped models, running
//! them, output shapes, errors for bad bytes and wrong shapes, and parity with native tract.
//! Run by scripts/test as `cargo test --target wasm32-unknown-unknown -p bottleneck-web --test web`.
#![cfg(target_arch = "wasm32")]

mod common;

use bottleneck::IMAGE_PIXELS;
use bottleneck_web::{AutoencoderModel, ModelKind};
use common::*;
use prost::Message;
use tract_onnx::pb;
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
fn relu_model(side: i64) -> Vec<u8> {
    let tensor = |name: &str| pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto {
                    dim: [
                        pb::tensor_shape_proto::dimension::Value::DimParam("N".into()),
                        pb::tensor_shape_proto::dimension::Value::DimValue(side),
                    ]
                    .into_iter()
                    .map(|value| pb::tensor_shape_proto::Dimension {
                        value: Some(value),
                        ..Default::default()
                    })
                    .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    };
    let node = pb::NodeProto {
        op_type: "Relu".into(),
        input: vec!["x".into()],
        output: vec!["y".into()],
        ..Default::default()
    };
    pb::ModelProto {
        ir_version: 7,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(pb::GraphProto {
            node: vec![node],
            input: vec![tensor("x")],
            output: vec![tensor("y")],
            ..Default::default()
        }),
        ..Default::default()
    }
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

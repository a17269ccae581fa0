//! The native side of the page's code explorer tests (tests/e2e/page.test.mjs): the shipped
//! encoder's code for the first gallery digit, and the shipped decoder's image after "code 3" is
//! moved one slider step up by keyboard, computed natively by the runtime and stored in
//! tests/e2e/fixtures/explorer.json for the browser to match.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bottleneck_runtime::Model;
use serde_json::{Value, json};

const FIXTURE: &str = "../tests/e2e/fixtures/explorer.json";
const REWRITE_HINT: &str = "the shipped models, gallery or slider steps changed: rewrite the fixture with `BOTTLENECK_WRITE_EXPLORER=1 cargo test --release -p trainer --test explorer_fixture`";

/// Slider steps across a dimension's spread and the margin beyond each end, as www/code-panel.js
/// sets them.
const SLIDER_STEPS: f64 = 400.0;
const SLIDER_MARGIN: f64 = 0.1;

/// The dimension the browser test moves: "code 3".
const MOVED: usize = 2;

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("../{path}")).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// What the page computes, natively: the code of the first gallery digit, that code after the
/// "code 3" slider's ArrowRight, and the decoder's image of the moved code.
fn explorer_outputs() -> Value {
    let gallery: Value = serde_json::from_slice(&read("www/gallery.json")).unwrap();
    let pixels = BASE64
        .decode(gallery["items"][0]["pixels"].as_str().unwrap())
        .unwrap();
    let image: Vec<f32> = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
    let mut encoder = Model::load(&read("www/models/dense.encoder.onnx"), 1).unwrap();
    let mut decoder = Model::load(&read("www/models/dense.decoder.onnx"), 1).unwrap();
    let code = encoder.run(&image).unwrap();

    // The slider snaps the value it is given to its step grid; ArrowRight then adds one step.
    let card: Value = serde_json::from_slice(&read("www/models/dense.json")).unwrap();
    let (lo, hi) = (
        card["code_spread"]["lo"][MOVED].as_f64().unwrap(),
        card["code_spread"]["hi"][MOVED].as_f64().unwrap(),
    );
    let margin = (hi - lo) * SLIDER_MARGIN;
    let (min, max) = (lo - margin, hi + margin);
    let step = (max - min) / SLIDER_STEPS;
    let snapped = min + ((f64::from(code[MOVED]) - min) / step).round() * step;
    let mut moved = code.clone();
    moved[MOVED] = (snapped + step).min(max) as f32;
    let decoded = decoder.run(&moved).unwrap();
    json!({ "gallery_item": 0, "code": code, "moved_code": moved, "moved_decoded": decoded })
}

#[test]
fn the_fixture_holds_the_native_runtimes_outputs() {
    let outputs = explorer_outputs();
    if std::env::var_os("BOTTLENECK_WRITE_EXPLORER").is_some() {
        std::fs::create_dir_all("../tests/e2e/fixtures").unwrap();
        std::fs::write(FIXTURE, serde_json::to_string(&outputs).unwrap() + "\n").unwrap();
        return;
    }
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(FIXTURE).expect(REWRITE_HINT))
            .expect(REWRITE_HINT);
    for field in ["code", "moved_code", "moved_decoded"] {
        let ours = outputs[field].as_array().unwrap();
        let theirs = stored[field].as_array().expect(REWRITE_HINT);
        assert_eq!(ours.len(), theirs.len(), "{field}: {REWRITE_HINT}");
        for (a, b) in ours.iter().zip(theirs) {
            let diff = (a.as_f64().unwrap() - b.as_f64().unwrap()).abs();
            assert!(diff <= 1e-6, "{field}: |Δ| = {diff}; {REWRITE_HINT}");
        }
    }
}

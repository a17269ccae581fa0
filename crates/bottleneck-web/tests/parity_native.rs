//! Native half of the native-vs-browser parity check: the shipped models, run natively through
//! the same API the page uses, give the outputs stored in the fixture that the browser test
//! (tests/web.rs) compares its own outputs against.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use bottleneck_web::AutoencoderModel;
use common::*;

/// Path of the fixture, from this crate's folder (where cargo runs the tests).
const FIXTURE_PATH: &str = "tests/fixtures/parity-outputs.bin";

fn native_outputs() -> Vec<Vec<f32>> {
    SHIPPED_MODELS
        .iter()
        .flat_map(|(_, bytes)| {
            let mut model =
                AutoencoderModel::load(bytes).expect("the shipped model loads natively");
            parity_inputs()
                .into_iter()
                .map(move |input| model.run(&input).expect("the model runs"))
        })
        .collect()
}

#[test]
fn native_tract_gives_the_fixture_outputs() {
    let outputs = native_outputs();
    if std::env::var_os("BOTTLENECK_WRITE_PARITY").is_some() {
        let bytes: Vec<u8> = outputs
            .iter()
            .flatten()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        std::fs::write(FIXTURE_PATH, bytes).expect("write the fixture");
        return;
    }
    let expected = fixture_outputs();
    assert_eq!(outputs.len(), expected.len(), "{REWRITE_HINT}");
    for (i, (ours, stored)) in outputs.iter().zip(&expected).enumerate() {
        // Native kernels may sum in another order on another CPU; anything beyond that is a
        // different model.
        let diff = max_abs_diff(ours, stored);
        assert!(diff <= 1e-6, "output {i}: max |Δ| = {diff}; {REWRITE_HINT}");
    }
}

//! What the native and the browser parity tests share: the shipped models, fixed inputs, and the
//! fixture that holds native tract's outputs for them.

use bottleneck::{IMAGE_PIXELS, Rng};

/// The models the page ships, as the page loads them.
pub const SHIPPED_MODELS: [(&str, &[u8]); 2] = [
    ("dense", include_bytes!("../../../../www/models/dense.onnx")),
    ("conv", include_bytes!("../../../../www/models/conv.onnx")),
];

/// Native tract's outputs for [`parity_inputs`] through each of [`SHIPPED_MODELS`] in turn, as
/// little-endian f32. Written by `BOTTLENECK_WRITE_PARITY=1 cargo test -p bottleneck-web --test parity_native`.
pub const FIXTURE: &[u8] = include_bytes!("../fixtures/parity-outputs.bin");

/// The command that rewrites the fixture after the shipped models change.
pub const REWRITE_HINT: &str = "the shipped models changed: rewrite the fixture with `BOTTLENECK_WRITE_PARITY=1 cargo test --release -p bottleneck-web --test parity_native`";

/// Three fixed 28×28 inputs: a bright ring (digit-like), uniform noise, and sparse ink.
pub fn parity_inputs() -> Vec<Vec<f32>> {
    let ring = (0..IMAGE_PIXELS)
        .map(|i| {
            let (row, col) = ((i / 28) as f32 - 13.5, (i % 28) as f32 - 13.5);
            let radius = (row * row + col * col).sqrt();
            (1.0 - (radius - 8.0).abs() / 2.5).clamp(0.0, 1.0)
        })
        .collect();
    let mut rng = Rng::new(2026);
    let noise = (0..IMAGE_PIXELS).map(|_| rng.uniform()).collect();
    let sparse = (0..IMAGE_PIXELS)
        .map(|_| {
            if rng.below(10) == 0 {
                rng.uniform()
            } else {
                0.0
            }
        })
        .collect();
    vec![ring, noise, sparse]
}

/// The fixture's outputs, one `Vec` per (model, input), in the order they were written.
pub fn fixture_outputs() -> Vec<Vec<f32>> {
    let values: Vec<f32> = FIXTURE
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    values.chunks(IMAGE_PIXELS).map(<[f32]>::to_vec).collect()
}

/// The largest |a − b| over two equally long lists.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "outputs of different lengths");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

//! Finite-difference gradient checks shared by every layer's tests.

use super::Layer;
use crate::loss::Loss;
use bottleneck::Rng;
use ndarray::Array2;

/// Step of the central differences: large enough for f32 round-off, small against curvature.
const EPS: f32 = 1e-2;
/// Allowed |analytic − numeric|, relative to max(1, |analytic|).
const TOLERANCE: f32 = 1e-2;

/// Random values in ±[0.1, 2]: away from 0, where ReLU and ELU have a kink.
pub fn random_input(rows: usize, cols: usize, rng: &mut Rng) -> Array2<f32> {
    Array2::from_shape_simple_fn((rows, cols), || {
        let v = 0.1 + 1.9 * rng.uniform();
        if rng.uniform() < 0.5 { -v } else { v }
    })
}

/// Checks d(Σ y·r)/dx and d(Σ y·r)/dθ of a layer against central differences, for a random
/// input of `batch` rows of `features` values and a random upstream gradient r.
pub fn check_layer(layer: &mut dyn Layer, features: usize, batch: usize) {
    let mut rng = Rng::new(42);
    let x = random_input(batch, features, &mut rng);
    check_layer_at(layer, x, &mut rng);
}

/// `check_layer` at a chosen input, for layers with kinks a random input could sit within EPS of.
pub fn check_layer_at(layer: &mut dyn Layer, x: Array2<f32>, rng: &mut Rng) {
    let y = layer.forward(x.clone(), true);
    let r = random_input(y.nrows(), y.ncols(), rng);
    let objective = |layer: &mut dyn Layer, x: &Array2<f32>| -> f32 {
        (layer.forward(x.clone(), false) * &r).sum()
    };

    let dx = layer
        .backward(r.clone(), true)
        .expect("input gradient requested");
    for i in 0..x.len() {
        let mut plus = x.clone();
        plus.as_slice_mut().unwrap()[i] += EPS;
        let mut minus = x.clone();
        minus.as_slice_mut().unwrap()[i] -= EPS;
        let numeric = (objective(layer, &plus) - objective(layer, &minus)) / (2.0 * EPS);
        assert_close(dx.as_slice().unwrap()[i], numeric, &format!("d/dx[{i}]"));
    }

    let grads: Vec<Vec<f32>> = layer.params().iter().map(|p| p.grad.to_vec()).collect();
    for (p, analytic) in grads.iter().enumerate() {
        for (i, &a) in analytic.iter().enumerate() {
            let nudge = |layer: &mut dyn Layer, delta: f32| layer.params()[p].value[i] += delta;
            nudge(layer, EPS);
            let up = objective(layer, &x);
            nudge(layer, -2.0 * EPS);
            let down = objective(layer, &x);
            nudge(layer, EPS);
            assert_close(a, (up - down) / (2.0 * EPS), &format!("d/dparam{p}[{i}]"));
        }
    }
}

/// Checks a loss's gradient with respect to the prediction against central differences.
pub fn check_loss(loss: &dyn Loss, prediction: &Array2<f32>, target: &Array2<f32>) {
    let (_, grad) = loss.loss_and_grad(prediction.clone(), target.view());
    for i in 0..prediction.len() {
        let at = |delta: f32| {
            let mut nudged = prediction.clone();
            nudged.as_slice_mut().unwrap()[i] += delta;
            loss.loss_and_grad(nudged, target.view()).0
        };
        let numeric = (at(EPS) - at(-EPS)) as f32 / (2.0 * EPS);
        assert_close(
            grad.as_slice().unwrap()[i],
            numeric,
            &format!("{} d/dprediction[{i}]", loss.name()),
        );
    }
}

/// Asserts an analytic gradient matches a numeric one.
pub fn assert_close(analytic: f32, numeric: f32, what: &str) {
    let scale = analytic.abs().max(1.0);
    assert!(
        (analytic - numeric).abs() <= TOLERANCE * scale,
        "{what}: analytic {analytic} vs numeric {numeric}"
    );
}

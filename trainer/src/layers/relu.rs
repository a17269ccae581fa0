//! Rectified linear unit: y = max(x, 0).

use super::Layer;
use crate::onnx::GraphBuilder;
use ndarray::{Array2, Zip};

/// ReLU activation, after every convolution but the last.
#[derive(Default)]
pub struct Relu {
    /// Where the training forward pass let the input through; a byte a value, a quarter of what
    /// keeping the output would cost on the 26 MB activations of the first layer.
    passed: Option<Array2<bool>>,
}

/// Clamps a negative value to zero; NaN passes, so a diverging run still shows in the loss.
fn relu(v: f32) -> f32 {
    if v < 0.0 { 0.0 } else { v }
}

impl Layer for Relu {
    fn describe(&self) -> String {
        "ReLU".into()
    }

    fn forward(&mut self, mut x: Array2<f32>, train: bool) -> Array2<f32> {
        if train {
            self.passed = Some(Zip::from(&mut x).par_map_collect(|v| {
                *v = relu(*v);
                *v > 0.0
            }));
        } else {
            x.par_mapv_inplace(relu);
        }
        x
    }

    fn backward(&mut self, mut grad: Array2<f32>, _need_input_grad: bool) -> Option<Array2<f32>> {
        let passed = self.passed.take().expect("Relu::backward without a training forward");
        // A select rather than a branch: the signs are close to random, so a branch mispredicts
        // about every other value and took three times as long.
        Zip::from(&mut grad).and(&passed).par_for_each(|g, &p| *g = if p { *g } else { 0.0 });
        Some(grad)
    }

    fn to_onnx(&self, graph: &mut GraphBuilder, input: &str) -> String {
        graph.node("Relu", &[input], vec![])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::check_layer;

    #[test]
    fn gradients_match_finite_differences() {
        check_layer(&mut Relu::default(), 6, 4);
    }

    #[test]
    fn clamps_negatives_and_keeps_nan() {
        let y = Relu::default().forward(ndarray::array![[-1.0, 0.0, 2.5, f32::NAN]], false);
        assert_eq!(&y.as_slice().unwrap()[..3], &[0.0, 0.0, 2.5]);
        assert!(y[[0, 3]].is_nan());
    }
}

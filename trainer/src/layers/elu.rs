//! Exponential linear unit with α = 1: y = x for x > 0, eˣ − 1 otherwise.

use super::Layer;
use crate::onnx::{GraphBuilder, attr_float};
use ndarray::{Array2, Zip};

/// ELU activation (α = 1, the Keras default).
#[derive(Default)]
pub struct Elu {
    /// dy/dx saved by the training forward pass: 1 where x > 0, y + 1 elsewhere.
    slope: Option<Array2<f32>>,
}

impl Layer for Elu {
    fn describe(&self) -> String {
        "ELU".into()
    }

    fn forward(&mut self, mut x: Array2<f32>, train: bool) -> Array2<f32> {
        if train {
            let mut slope = Array2::zeros(x.raw_dim());
            Zip::from(&mut x).and(&mut slope).par_for_each(|v, s| {
                if *v > 0.0 {
                    *s = 1.0;
                } else {
                    *v = v.exp_m1();
                    *s = *v + 1.0;
                }
            });
            self.slope = Some(slope);
        } else {
            x.par_mapv_inplace(|v| if v > 0.0 { v } else { v.exp_m1() });
        }
        x
    }

    fn backward(&mut self, mut grad: Array2<f32>, _need_input_grad: bool) -> Option<Array2<f32>> {
        let slope = self.slope.take().expect("Elu::backward without a training forward");
        Zip::from(&mut grad).and(&slope).par_for_each(|g, &s| *g *= s);
        Some(grad)
    }

    fn to_onnx(&self, graph: &mut GraphBuilder, input: &str) -> String {
        graph.node("Elu", &[input], vec![attr_float("alpha", 1.0)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::check_layer;

    #[test]
    fn gradients_match_finite_differences() {
        check_layer(&mut Elu::default(), 6, 4);
    }
}

//! Adadelta, in the form Keras 3 implements it.

use super::Optimizer;
use crate::layers::Param;
use rayon::prelude::*;

/// Adadelta (Zeiler), as `keras.optimizers.Adadelta`; the seed's denoiser trains with learning rate
/// 1.0, the default of Keras 2.
pub struct Adadelta {
    learning_rate: f32,
    rho: f32,
    epsilon: f32,
    /// Running means of squared gradients and of squared updates, one pair per parameter tensor.
    accumulators: Vec<(Vec<f32>, Vec<f32>)>,
}

impl Adadelta {
    /// Adadelta with Keras' defaults ρ 0.95, ε 1e-7.
    pub fn new(learning_rate: f32) -> Adadelta {
        Adadelta {
            learning_rate,
            rho: 0.95,
            epsilon: 1e-7,
            accumulators: Vec::new(),
        }
    }
}

impl Optimizer for Adadelta {
    fn describe(&self) -> String {
        format!(
            "adadelta(lr={}, rho={}, epsilon={})",
            self.learning_rate, self.rho, self.epsilon
        )
    }

    fn learning_rate(&self) -> f32 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, rate: f32) {
        self.learning_rate = rate;
    }

    fn step(&mut self, params: Vec<Param<'_>>) {
        if self.accumulators.is_empty() {
            self.accumulators = params
                .iter()
                .map(|p| (vec![0.0; p.value.len()], vec![0.0; p.value.len()]))
                .collect();
        }
        let (rho, eps, lr) = (self.rho, self.epsilon, self.learning_rate);
        for (param, (grads, deltas)) in params.into_iter().zip(&mut self.accumulators) {
            param
                .value
                .par_iter_mut()
                .zip(param.grad)
                .zip(grads.par_iter_mut().zip(deltas))
                .for_each(|((w, &g), (mean_g2, mean_d2))| {
                    *mean_g2 = rho * *mean_g2 + (1.0 - rho) * g * g;
                    let delta = (*mean_d2 + eps).sqrt() / (*mean_g2 + eps).sqrt() * g;
                    *mean_d2 = rho * *mean_d2 + (1.0 - rho) * delta * delta;
                    *w -= lr * delta;
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_follows_the_keras_formula() {
        let mut adadelta = Adadelta::new(1.0);
        let mut w = vec![1.0f32, 1.0, 1.0];
        adadelta.step(vec![Param {
            value: &mut w,
            grad: &[2.0, -0.5, 0.0],
            dims: vec![3],
        }]);
        for (w, g) in w.iter().zip([2.0f64, -0.5, 0.0]) {
            // The accumulators start at zero: E[g²] = 0.05·g², so delta = √ε / √(0.05·g² + ε) · g.
            let delta = 1e-7f64.sqrt() / (0.05 * g * g + 1e-7).sqrt() * g;
            assert!(
                (f64::from(*w) - (1.0 - delta)).abs() < 1e-6,
                "{w} vs {}",
                1.0 - delta
            );
        }
    }

    #[test]
    fn minimises_a_quadratic() {
        let mut adadelta = Adadelta::new(1.0);
        let mut w = vec![3.0f32, -2.0];
        for _ in 0..3000 {
            let grad: Vec<f32> = w.iter().map(|x| 2.0 * x).collect();
            adadelta.step(vec![Param {
                value: &mut w,
                grad: &grad,
                dims: vec![2],
            }]);
        }
        assert!(w.iter().all(|x| x.abs() < 1e-2), "{w:?}");
    }
}

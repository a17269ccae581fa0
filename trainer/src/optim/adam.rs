//! Adam, with the Keras defaults and Keras' form of the bias correction.

use super::Optimizer;
use crate::layers::Param;
use crate::simd::wide;
use rayon::prelude::*;

/// Values per parallel task: big enough that a task's overhead vanishes, small enough that the
/// tasks split evenly over the threads.
const CHUNK: usize = 16 * 1024;

/// Adam (Kingma & Ba), as `keras.optimizers.Adam`.
pub struct Adam {
    learning_rate: f32,
    beta1: f32,
    beta2: f32,
    epsilon: f32,
    steps: i32,
    /// First and second moments, one pair of buffers per parameter tensor.
    moments: Vec<(Vec<f32>, Vec<f32>)>,
}

impl Adam {
    /// Adam with Keras' defaults β1 0.9, β2 0.999, ε 1e-7.
    pub fn new(learning_rate: f32) -> Adam {
        Adam {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
            steps: 0,
            moments: Vec::new(),
        }
    }
}

impl Optimizer for Adam {
    fn describe(&self) -> String {
        format!(
            "adam(lr={}, beta1={}, beta2={}, epsilon={})",
            self.learning_rate, self.beta1, self.beta2, self.epsilon
        )
    }

    fn learning_rate(&self) -> f32 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, rate: f32) {
        self.learning_rate = rate;
    }

    fn step(&mut self, params: Vec<Param<'_>>) {
        if self.moments.is_empty() {
            self.moments = params
                .iter()
                .map(|p| (vec![0.0; p.value.len()], vec![0.0; p.value.len()]))
                .collect();
        }
        self.steps += 1;
        let (b1, b2, eps) = (self.beta1, self.beta2, self.epsilon);
        // Keras folds both bias corrections into the step size.
        let rate =
            self.learning_rate * (1.0 - b2.powi(self.steps)).sqrt() / (1.0 - b1.powi(self.steps));
        // The chunks of every tensor go to the threads as one list: one parallel loop per step
        // rather than one per tensor, each of which woke the other thread and waited for it.
        let chunks: Vec<_> = params
            .into_iter()
            .zip(&mut self.moments)
            .flat_map(|(param, (m, v))| {
                let weights = param.value.chunks_mut(CHUNK).zip(param.grad.chunks(CHUNK));
                weights.zip(m.chunks_mut(CHUNK).zip(v.chunks_mut(CHUNK)))
            })
            .collect();
        // Each chunk is one plain loop, so it runs in `simd::wide`'s vector instructions.
        chunks.into_par_iter().for_each(|((w, g), (m, v))| {
            wide(
                #[inline(always)]
                || {
                    for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut())
                    {
                        *m += (1.0 - b1) * (g - *m);
                        *v += (1.0 - b2) * (g * g - *v);
                        *w -= rate * *m / (v.sqrt() + eps);
                    }
                },
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_each_weight_by_the_learning_rate() {
        // After one step m̂ = g and v̂ = g², so every weight moves by lr·sign(g).
        let mut adam = Adam::new(0.1);
        let mut w = vec![1.0f32, 1.0, 1.0];
        adam.step(vec![Param {
            value: &mut w,
            grad: &[2.0, -0.5, 0.0],
            dims: vec![3],
        }]);
        assert!(
            (w[0] - 0.9).abs() < 1e-5 && (w[1] - 1.1).abs() < 1e-5 && w[2] == 1.0,
            "{w:?}"
        );
    }

    #[test]
    fn minimises_a_quadratic() {
        let mut adam = Adam::new(0.05);
        let mut w = vec![3.0f32, -2.0];
        for _ in 0..2000 {
            let grad: Vec<f32> = w.iter().map(|x| 2.0 * x).collect();
            adam.step(vec![Param {
                value: &mut w,
                grad: &grad,
                dims: vec![2],
            }]);
        }
        assert!(w.iter().all(|x| x.abs() < 1e-2), "{w:?}");
    }
}

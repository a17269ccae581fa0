//! Optimizers: they turn the gradients the layers left behind into weight updates.

mod adadelta;
mod adam;

pub use adadelta::Adadelta;
pub use adam::Adam;

use crate::layers::Param;

/// Updates parameters from their gradients, keeping per-parameter state between steps.
pub trait Optimizer {
    /// The name and settings the model card records.
    fn describe(&self) -> String;

    /// The learning rate.
    fn learning_rate(&self) -> f32;

    /// Changes the learning rate for the steps to come, keeping the optimizer's state.
    fn set_learning_rate(&mut self, rate: f32);

    /// One update of every parameter; `params` comes in the same order at every step.
    fn step(&mut self, params: Vec<Param<'_>>);
}

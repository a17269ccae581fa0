//! Rectified linear unit, y = max(x, 0), for the convolutions that end in one (`Conv2d::with_relu`).
//!
//! It runs in the convolution's own pass over each sample, right after the sample's product, while
//! the sample is still in the core's cache; its derivative is applied to each sample's gradient just
//! before the convolution's backward pass reads it. As a layer of its own, ReLU would add a trip
//! through the batch's activations in memory in each direction.

use crate::simd::wide;
use std::mem::MaybeUninit;

/// Clamps a negative value to zero; NaN passes, so a diverging run still shows in the loss.
#[inline(always)]
fn relu(v: f32) -> f32 {
    if v < 0.0 { 0.0 } else { v }
}

/// Applies ReLU to `values` in place. With `passed`, as long as `values`, also records where a value
/// got through: a byte a value, a quarter of what keeping the output would cost.
pub fn forward(values: &mut [f32], passed: Option<&mut [MaybeUninit<bool>]>) {
    wide(
        #[inline(always)]
        || match passed {
            Some(passed) => {
                assert_eq!(values.len(), passed.len(), "relu: one flag per value");
                for (v, p) in values.iter_mut().zip(passed) {
                    *v = relu(*v);
                    p.write(*v > 0.0);
                }
            }
            None => values.iter_mut().for_each(|v| *v = relu(*v)),
        },
    )
}

/// Zeroes the gradients of the values the forward pass stopped.
pub fn backward(grads: &mut [f32], passed: &[bool]) {
    assert_eq!(grads.len(), passed.len(), "relu: one flag per gradient");
    // A select rather than a branch: the signs are close to random, so a branch would mispredict
    // about every other value.
    wide(
        #[inline(always)]
        || {
            grads
                .iter_mut()
                .zip(passed)
                .for_each(|(g, &p)| *g = if p { *g } else { 0.0 })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_negatives_keeps_nan_and_masks_the_gradient() {
        let mut values = [-1.0, 0.0, 2.5, f32::NAN];
        let mut passed = [MaybeUninit::uninit(); 4];
        forward(&mut values, Some(&mut passed));
        assert_eq!(&values[..3], &[0.0, 0.0, 2.5]);
        assert!(values[3].is_nan());
        // SAFETY: `forward` wrote every flag.
        let passed = passed.map(|p| unsafe { p.assume_init() });
        assert_eq!(passed, [false, false, true, false]);
        let mut grads = [1.0, 2.0, 3.0, 4.0];
        backward(&mut grads, &passed);
        assert_eq!(grads, [0.0, 0.0, 3.0, 0.0]);
    }
}

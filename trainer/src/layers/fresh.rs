//! Output arrays that the spatial layers' parallel loops initialise one sample at a time.
//!
//! `Array::zeros` clears a whole batch on one thread before the layer overwrites it: for a batch of
//! 32-channel images that memset, or the page faults behind it, costs about as much as the
//! convolution's own arithmetic. Here each sample is first written by the thread that goes on to
//! compute it, while it sits in that core's cache.

use ndarray::{Array2, Array3, ArrayViewMut2};
use rayon::prelude::*;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What the spatial layers require of the arrays they split into samples.
pub const STANDARD: &str = "activations are standard-layout `[batch, c·h·w]` arrays";

/// A `[batch, channels, pixels]` array whose samples are filled in a parallel loop.
pub struct Fresh {
    data: Array3<MaybeUninit<f32>>,
    /// Samples filled since the last call to `samples`; `finish` requires all of them.
    filled: AtomicUsize,
}

/// One not yet initialised sample of a `Fresh` array.
pub struct Sample<'a> {
    view: ArrayViewMut2<'a, MaybeUninit<f32>>,
    filled: &'a AtomicUsize,
}

impl Fresh {
    /// Allocates the array without touching it.
    pub fn new(batch: usize, channels: usize, pixels: usize) -> Fresh {
        Fresh {
            data: Array3::uninit((batch, channels, pixels)),
            filled: AtomicUsize::new(0),
        }
    }

    /// The samples in order, for a parallel loop that fills every one of them.
    pub fn samples(&mut self) -> impl IndexedParallelIterator<Item = Sample<'_>> {
        // Counting restarts: only a loop that fills every sample handed out here makes `finish` pass.
        *self.filled.get_mut() = 0;
        let filled = &self.filled;
        self.data
            .outer_iter_mut()
            .into_par_iter()
            .map(move |view| Sample { view, filled })
    }

    /// The array as `[batch, channels·pixels]`. Panics unless the last loop filled every sample.
    pub fn finish(self) -> Array2<f32> {
        let (batch, channels, pixels) = self.data.dim();
        assert_eq!(
            self.filled.into_inner(),
            batch,
            "a layer left samples of its output unfilled"
        );
        // SAFETY: `samples` hands each sample out once per call and `Sample::fill`, the only way to
        // count one, writes all of it, so `batch` fills since the last call cover every element.
        let data = unsafe { self.data.assume_init() };
        data.into_shape_with_order((batch, channels * pixels))
            .expect("fresh arrays are contiguous")
    }
}

impl<'a> Sample<'a> {
    /// Sets every channel c of the sample to `value(c)` and returns it, initialised.
    pub fn fill(mut self, value: impl Fn(usize) -> f32) -> ArrayViewMut2<'a, f32> {
        for (c, mut channel) in self.view.outer_iter_mut().enumerate() {
            channel.fill(MaybeUninit::new(value(c)));
        }
        self.filled.fetch_add(1, Ordering::Relaxed);
        // SAFETY: every element was just written.
        unsafe { self.view.assume_init() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filled_samples_make_the_array() {
        let mut fresh = Fresh::new(3, 2, 4);
        fresh.samples().enumerate().for_each(|(b, sample)| {
            let mut view = sample.fill(|c| c as f32);
            view[[1, 3]] += b as f32;
        });
        let array = fresh.finish();
        assert_eq!(array.dim(), (3, 8));
        assert_eq!(
            array.row(2).to_vec(),
            [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 3.0]
        );
    }

    #[test]
    #[should_panic(expected = "unfilled")]
    fn an_unfilled_sample_is_caught() {
        let mut fresh = Fresh::new(3, 1, 1);
        fresh.samples().skip(1).for_each(|sample| {
            sample.fill(|_| 0.0);
        });
        fresh.finish();
    }
}

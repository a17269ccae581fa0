//! Code shared by the native trainer and the browser page, so both see exactly the same noise,
//! preprocessing, metrics, model card and eˣ.

#![warn(missing_docs)]

pub mod card;
pub mod error;
pub mod fastexp;
pub mod metrics;
pub mod noise;
pub mod preprocess;
pub mod rng;
mod shape;

pub use card::{
    CodeSpread, DatasetInfo, DenoisingResults, ErrorDistribution, Histogram, ModelCard,
    TrainingInfo, TrainingResults,
};
pub use error::Error;
pub use noise::{NoiseKind, NoiseSpec};
pub use preprocess::to_mnist;
pub use rng::Rng;

/// Width and height of an MNIST image in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Number of pixels in an MNIST image (28 × 28).
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Width of the dense autoencoder's bottleneck: the numbers an image is squeezed into.
pub const CODE_SIZE: usize = 10;

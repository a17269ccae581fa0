//! The browser side of bottleneck: a small wasm-bindgen API over `bottleneck-runtime` that a Web
//! Worker drives. The worker owns the models; the page only posts drawings and shows the numbers
//! and images that come back.
//!
//! Every function that a page or a user can call wrongly returns a [`WebError`], which JS sees as
//! a thrown `Error`: a panic would kill the wasm instance and every model in it.

#![warn(missing_docs)]

pub mod anomaly;
pub mod error;
pub mod image;
pub mod model;

pub use anomaly::{AnomalyScale, AnomalyScore};
pub use error::WebError;
pub use image::{add_noise, preprocess};
pub use model::{AutoencoderModel, ModelKind};

/// Runs when the wasm module is instantiated: a panic (a bug, never a user error) then shows its
/// message and stack in the console instead of "unreachable executed".
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

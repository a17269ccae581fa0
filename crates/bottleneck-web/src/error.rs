//! The crate's one error type: what the runtime or the shared crate refused, thrown in JS as an
//! `Error` whose message says what to fix. A panic would kill the whole wasm instance, and with
//! it every model the worker had loaded, so every call that can fail returns this instead.

use std::fmt;

use bottleneck_runtime::RuntimeError;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::JsError;

/// What went wrong, worded for the person who uploaded or drew the input.
#[derive(Debug, Clone, PartialEq)]
pub enum WebError {
    /// The runtime refused a model, or an input to one.
    Runtime(RuntimeError),
    /// The shared crate refused an image, a noise spec or a model card.
    Shared(bottleneck::Error),
}

impl fmt::Display for WebError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebError::Runtime(error) => error.fmt(f),
            WebError::Shared(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for WebError {}

impl From<RuntimeError> for WebError {
    fn from(error: RuntimeError) -> Self {
        WebError::Runtime(error)
    }
}

impl From<bottleneck::Error> for WebError {
    fn from(error: bottleneck::Error) -> Self {
        WebError::Shared(error)
    }
}

/// wasm-bindgen throws this in JS, as an `Error` whose message is the text above.
impl From<WebError> for JsValue {
    fn from(error: WebError) -> Self {
        JsError::from(error).into()
    }
}

/// Checks that `values` holds exactly `expected` finite numbers.
pub(crate) fn check_values(
    values: &[f32],
    expected: usize,
    what: &'static str,
) -> Result<(), WebError> {
    Ok(bottleneck_runtime::check_values(values, expected, what)?)
}

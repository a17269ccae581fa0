//! The runtime's one error type. Every mistake a caller or a user can make (a bad upload, a
//! wrong-sized buffer) comes back as a value: in the browser a panic would kill the whole wasm
//! instance, and with it every model the worker had loaded.

use std::fmt;

/// What went wrong, worded for the person who uploaded or drew the input.
#[derive(Debug, Clone, PartialEq)]
pub enum RuntimeError {
    /// The model file is larger than the page accepts.
    ModelTooLarge {
        /// Size of the file in bytes.
        len: usize,
        /// Largest accepted size in bytes.
        max: usize,
    },
    /// tract could not read, analyse or optimize the file.
    UnreadableModel {
        /// tract's explanation.
        reason: String,
    },
    /// The model reads or writes something other than one of the shapes the page knows.
    UnsupportedShape {
        /// What the model declares, e.g. `[N,5] → [N,5]`.
        found: String,
    },
    /// The model uses operators the page does not run.
    UnsupportedOperators {
        /// Their ONNX names, each once.
        found: Vec<String>,
    },
    /// An input buffer has the wrong number of values.
    WrongLength {
        /// What the buffer is, e.g. "model input".
        what: &'static str,
        /// Values required.
        expected: usize,
        /// Values given.
        len: usize,
    },
    /// An input holds NaN or infinity.
    NonFinite {
        /// What the buffer is, e.g. "model input".
        what: &'static str,
        /// Index of the first bad value.
        index: usize,
    },
    /// tract failed while running a model that had loaded.
    Inference {
        /// tract's explanation.
        reason: String,
    },
    /// A batch size of zero, or one that the model file fixes otherwise.
    UnsupportedBatch {
        /// The batch size asked for.
        batch: usize,
        /// The batch size the file fixes, if it fixes one.
        fixed: Option<usize>,
    },
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuntimeError::ModelTooLarge { len, max } => write!(
                f,
                "the model file is {} MB, larger than the {} MB this page accepts",
                megabytes(*len),
                megabytes(*max)
            ),
            RuntimeError::UnreadableModel { reason } => {
                write!(f, "this is not an ONNX model tract can run: {reason}")
            }
            RuntimeError::UnsupportedShape { found } => write!(
                f,
                "the model maps {found}, but the page runs only {}",
                crate::ModelKind::ALL
                    .iter()
                    .map(|kind| kind.signature())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            RuntimeError::UnsupportedOperators { found } => write!(
                f,
                "the model uses {}, which this page does not run; it runs {}",
                found.join(", "),
                crate::ops::supported().collect::<Vec<_>>().join(", ")
            ),
            RuntimeError::WrongLength {
                what,
                expected,
                len,
            } => write!(f, "the {what} must hold {expected} values, it holds {len}"),
            RuntimeError::NonFinite { what, index } => {
                write!(f, "the {what} holds NaN or infinity at index {index}")
            }
            RuntimeError::Inference { reason } => write!(f, "the model failed to run: {reason}"),
            RuntimeError::UnsupportedBatch { batch, fixed: None } => {
                write!(f, "a batch of {batch} images cannot run: ask for 1 or more")
            }
            RuntimeError::UnsupportedBatch {
                batch,
                fixed: Some(fixed),
            } => write!(
                f,
                "the model file fixes its batch at {fixed}, so it cannot run {batch} at a time"
            ),
        }
    }
}

impl std::error::Error for RuntimeError {}

/// Checks that `values` holds exactly `expected` finite numbers.
pub fn check_values(
    values: &[f32],
    expected: usize,
    what: &'static str,
) -> Result<(), RuntimeError> {
    if values.len() != expected {
        return Err(RuntimeError::WrongLength {
            what,
            expected,
            len: values.len(),
        });
    }
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(RuntimeError::NonFinite { what, index }),
        None => Ok(()),
    }
}

/// Bytes as megabytes with one decimal, for messages.
fn megabytes(bytes: usize) -> String {
    format!("{:.1}", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_values_reports_length_then_finiteness() {
        assert_eq!(check_values(&[0.0, 1.0], 2, "input"), Ok(()));
        assert_eq!(
            check_values(&[0.0], 2, "input"),
            Err(RuntimeError::WrongLength {
                what: "input",
                expected: 2,
                len: 1
            })
        );
        assert_eq!(
            check_values(&[0.0, f32::INFINITY], 2, "input"),
            Err(RuntimeError::NonFinite {
                what: "input",
                index: 1
            })
        );
    }

    #[test]
    fn messages_say_what_to_fix() {
        let too_large = RuntimeError::ModelTooLarge {
            len: 25_000_000,
            max: 20_000_000,
        };
        assert_eq!(
            too_large.to_string(),
            "the model file is 25.0 MB, larger than the 20.0 MB this page accepts"
        );
        let shape = RuntimeError::UnsupportedShape {
            found: "[N,5] → [N,5]".into(),
        }
        .to_string();
        assert!(
            shape.contains("[N,5] → [N,5]") && shape.contains("[N,1,28,28] → [N,1,28,28]"),
            "{shape}"
        );
    }
}

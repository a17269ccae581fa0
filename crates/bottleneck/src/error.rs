//! The one error type of the crate. Everything a caller can get wrong comes back as a value,
//! never a panic: in the browser a panic kills the whole wasm instance.

use std::fmt;

/// What went wrong, with enough detail for the message to say how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The image width or height is zero, or width × height does not fit in `usize`.
    BadDimensions {
        /// Requested image width in pixels.
        width: usize,
        /// Requested image height in pixels.
        height: usize,
    },
    /// A single image's buffer does not hold exactly width × height values.
    WrongLength {
        /// Stated image width in pixels.
        width: usize,
        /// Stated image height in pixels.
        height: usize,
        /// Number of values actually in the buffer.
        len: usize,
    },
    /// A batch buffer does not hold a whole number of width × height images.
    PartialImage {
        /// Stated image width in pixels.
        width: usize,
        /// Stated image height in pixels.
        height: usize,
        /// Number of values actually in the buffer.
        len: usize,
    },
    /// A value that must be finite is NaN or infinite.
    NonFinite {
        /// What the value belongs to, e.g. "drawing".
        what: &'static str,
        /// Position of the first offending value.
        index: usize,
    },
    /// An input that needs at least one value is empty.
    Empty {
        /// What was empty, e.g. "reconstruction errors".
        what: &'static str,
    },
    /// A histogram was requested with zero bins.
    ZeroBins,
    /// A noise specification could not be parsed or is out of range.
    InvalidNoiseSpec {
        /// The specification as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A model card's JSON could not be read.
    InvalidCard {
        /// The JSON parser's explanation, with line and column.
        reason: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadDimensions { width, height } => write!(
                f,
                "image size {width}×{height} is invalid: both sides must be nonzero and \
                 their product must fit in memory"
            ),
            Error::WrongLength { width, height, len } => write!(
                f,
                "image buffer has {len} values but a {width}×{height} image needs {}",
                width.saturating_mul(*height)
            ),
            Error::PartialImage { width, height, len } => write!(
                f,
                "batch buffer has {len} values, which is not a whole number of \
                 {width}×{height} images ({} values each)",
                width.saturating_mul(*height)
            ),
            Error::NonFinite { what, index } => {
                write!(
                    f,
                    "{what} contains a NaN or infinite value at index {index}"
                )
            }
            Error::Empty { what } => write!(f, "{what} is empty; at least one value is needed"),
            Error::ZeroBins => write!(f, "a histogram needs at least one bin"),
            Error::InvalidNoiseSpec { spec, reason } => write!(
                f,
                "invalid noise spec `{spec}`: {reason}. Accepted forms: {}",
                crate::noise::ACCEPTED_FORMS
            ),
            Error::InvalidCard { reason } => write!(f, "cannot read the model card: {reason}"),
        }
    }
}

impl std::error::Error for Error {}

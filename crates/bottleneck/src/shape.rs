//! Checks that a flat row-major buffer really holds images of the stated size, so that the
//! indexing code after the check cannot go out of bounds.

use crate::error::Error;

/// Pixels in one `width`×`height` image; an error if either side is zero or the product overflows.
pub(crate) fn pixel_count(width: usize, height: usize) -> Result<usize, Error> {
    match width.checked_mul(height) {
        Some(pixels) if pixels > 0 => Ok(pixels),
        _ => Err(Error::BadDimensions { width, height }),
    }
}

/// Checks that a buffer of `len` values is exactly one `width`×`height` image.
pub(crate) fn check_image(len: usize, width: usize, height: usize) -> Result<(), Error> {
    if pixel_count(width, height)? == len {
        Ok(())
    } else {
        Err(Error::WrongLength { width, height, len })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_or_overflowing_sides_are_rejected() {
        assert_eq!(
            pixel_count(0, 28),
            Err(Error::BadDimensions {
                width: 0,
                height: 28
            })
        );
        assert_eq!(
            pixel_count(28, 0),
            Err(Error::BadDimensions {
                width: 28,
                height: 0
            })
        );
        assert!(pixel_count(usize::MAX, 2).is_err());
        assert_eq!(pixel_count(28, 28), Ok(784));
    }

    #[test]
    fn length_must_match_exactly() {
        assert_eq!(check_image(784, 28, 28), Ok(()));
        assert_eq!(
            check_image(783, 28, 28),
            Err(Error::WrongLength {
                width: 28,
                height: 28,
                len: 783
            })
        );
        let message = check_image(783, 28, 28).unwrap_err().to_string();
        assert!(
            message.contains("783") && message.contains("784"),
            "{message}"
        );
    }
}

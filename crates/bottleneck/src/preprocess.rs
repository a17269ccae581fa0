//! Turns a free-hand drawing into a 28×28 MNIST-style digit, the way MNIST itself was made:
//! the ink's bounding box is scaled (anti-aliased) to fit a 20×20 box, then placed in the 28×28
//! field with its centre of mass at the centre. A model trained on MNIST only recognises
//! drawings that went through the same steps.

use crate::error::Error;
use crate::shape;
use crate::{IMAGE_PIXELS, IMAGE_SIDE};

/// Pixels at or below this ink level do not count towards the bounding box: anti-aliased brush
/// edges and faint smudges would otherwise stretch the box and shrink the digit.
const INK_THRESHOLD: f32 = 0.05;
/// MNIST digits are scaled to fit a 20×20 box, leaving a 4-pixel margin in the 28×28 field.
const DIGIT_BOX: usize = 20;

/// Converts a row-major `width`×`height` canvas with values in [0, 1] (1 = ink) into 784 MNIST
/// pixels in [0, 1]. A canvas without ink gives all zeros. Errors if the size does not match
/// `ink.len()` or a value is NaN or infinite.
pub fn to_mnist(ink: &[f32], width: usize, height: usize) -> Result<Vec<f32>, Error> {
    shape::check_image(ink.len(), width, height)?;
    if let Some(index) = ink.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "drawing",
            index,
        });
    }
    let Some(bounds) = ink_bounds(ink, width) else {
        return Ok(vec![0.0; IMAGE_PIXELS]);
    };
    let cropped = crop(ink, width, &bounds);
    let scale = DIGIT_BOX as f64 / bounds.width.max(bounds.height) as f64;
    let scaled_side = |side: usize| ((side as f64 * scale).round() as usize).clamp(1, DIGIT_BOX);
    let (digit_width, digit_height) = (scaled_side(bounds.width), scaled_side(bounds.height));
    let digit = resample(
        &cropped,
        bounds.width,
        bounds.height,
        digit_width,
        digit_height,
    );
    Ok(place_centred(&digit, digit_width, digit_height))
}

/// A rectangle of pixels.
#[derive(Debug, PartialEq)]
struct Bounds {
    left: usize,
    top: usize,
    width: usize,
    height: usize,
}

/// The smallest rectangle holding every pixel above `INK_THRESHOLD`, if there is one.
fn ink_bounds(ink: &[f32], width: usize) -> Option<Bounds> {
    let mut inked = ink
        .iter()
        .enumerate()
        .filter(|&(_, &v)| v > INK_THRESHOLD)
        .map(|(i, _)| i);
    // Pixels come in row-major order, so the first inked pixel has the smallest y and the last
    // one the largest; only the x extent needs tracking.
    let first = inked.next()?;
    let (mut left, mut right, top, mut bottom) =
        (first % width, first % width, first / width, first / width);
    for index in inked {
        let (x, y) = (index % width, index / width);
        left = left.min(x);
        right = right.max(x);
        bottom = y;
    }
    Some(Bounds {
        left,
        top,
        width: right - left + 1,
        height: bottom - top + 1,
    })
}

/// The pixels inside `bounds`, clamped to [0, 1] so stray values cannot skew the centre of mass.
fn crop(ink: &[f32], width: usize, bounds: &Bounds) -> Vec<f32> {
    ink.chunks_exact(width)
        .skip(bounds.top)
        .take(bounds.height)
        .flat_map(|row| &row[bounds.left..bounds.left + bounds.width])
        .map(|v| v.clamp(0.0, 1.0))
        .collect()
}

/// Resizes an image by area averaging: each output pixel is the mean of the input area it
/// covers, so thin strokes fade instead of vanishing between samples when shrinking.
fn resample(
    image: &[f32],
    width: usize,
    height: usize,
    new_width: usize,
    new_height: usize,
) -> Vec<f32> {
    // The box filter is separable: resize the rows, then the columns by way of transposes.
    let rows_resized = resample_rows(image, width, new_width);
    let columns_as_rows = transpose(&rows_resized, new_width, height);
    let both_resized = resample_rows(&columns_as_rows, height, new_height);
    transpose(&both_resized, new_height, new_width)
}

/// Resizes every row of a row-major image from `width` to `new_width` samples by area averaging.
fn resample_rows(image: &[f32], width: usize, new_width: usize) -> Vec<f32> {
    let taps = box_filter_taps(width, new_width);
    image
        .chunks_exact(width)
        .flat_map(|row| {
            taps.iter()
                .map(|pixel| pixel.iter().map(|&(i, w)| row[i] * w).sum::<f32>())
        })
        .collect()
}

/// For each of `new_len` output samples, the input samples it overlaps and the weight of each
/// (overlap length ÷ output sample length, so the weights sum to 1).
fn box_filter_taps(len: usize, new_len: usize) -> Vec<Vec<(usize, f32)>> {
    let step = len as f64 / new_len as f64;
    (0..new_len)
        .map(|output| {
            let (start, end) = (output as f64 * step, (output + 1) as f64 * step);
            let (first, last) = (start.floor() as usize, (end.ceil() as usize).min(len));
            (first..last)
                .filter_map(|input| {
                    let overlap = end.min((input + 1) as f64) - start.max(input as f64);
                    (overlap > 0.0).then_some((input, (overlap / step) as f32))
                })
                .collect()
        })
        .collect()
}

/// Swaps rows and columns of a row-major `width`×`height` image.
fn transpose(image: &[f32], width: usize, height: usize) -> Vec<f32> {
    (0..width)
        .flat_map(|x| (0..height).map(move |y| image[y * width + x]))
        .collect()
}

/// Places a digit of at most 20×20 into the 28×28 field so that its centre of mass lands as
/// close to the field's centre as whole-pixel shifts allow, without anything falling off.
fn place_centred(digit: &[f32], width: usize, height: usize) -> Vec<f32> {
    // Pixel (x, y) covers [x, x+1) × [y, y+1), so its centre is at (x + ½, y + ½) and the
    // field's centre is at (14, 14).
    let (mut mass, mut moment_x, mut moment_y) = (0.0, 0.0, 0.0);
    for (index, &value) in digit.iter().enumerate() {
        let value = f64::from(value);
        mass += value;
        moment_x += value * ((index % width) as f64 + 0.5);
        moment_y += value * ((index / width) as f64 + 0.5);
    }
    // The crop holds ink above the threshold, so mass is positive; the fallback only guards
    // the division.
    let (centre_x, centre_y) = if mass > 0.0 {
        (moment_x / mass, moment_y / mass)
    } else {
        (width as f64 / 2.0, height as f64 / 2.0)
    };
    let field_centre = IMAGE_SIDE as f64 / 2.0;
    let offset = |centre: f64, side: usize| {
        (field_centre - centre)
            .round()
            .clamp(0.0, (IMAGE_SIDE - side) as f64) as usize
    };
    let (left, top) = (offset(centre_x, width), offset(centre_y, height));
    let mut field = vec![0.0; IMAGE_PIXELS];
    for (y, row) in digit.chunks_exact(width).enumerate() {
        let start = (top + y) * IMAGE_SIDE + left;
        for (target, &value) in field[start..start + width].iter_mut().zip(row) {
            // Area averaging can overshoot 1 by a rounding error.
            *target = value.clamp(0.0, 1.0);
        }
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANVAS: usize = 280;

    /// A 280×280 canvas with ink wherever `inked(x, y)` holds.
    fn canvas(inked: impl Fn(usize, usize) -> bool) -> Vec<f32> {
        (0..CANVAS * CANVAS)
            .map(|i| {
                if inked(i % CANVAS, i / CANVAS) {
                    1.0
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Bounding box (width, height) of nonzero pixels and centre of mass of a 28×28 image.
    fn bounds_and_centre(image: &[f32]) -> ((usize, usize), (f64, f64)) {
        let bounds = ink_bounds(image, IMAGE_SIDE).expect("image has ink");
        let mass: f64 = image.iter().map(|&v| f64::from(v)).sum();
        let moment = |coordinate: fn(usize) -> usize| {
            image
                .iter()
                .enumerate()
                .map(|(i, &v)| f64::from(v) * (coordinate(i) as f64 + 0.5))
                .sum::<f64>()
                / mass
        };
        (
            (bounds.width, bounds.height),
            (moment(|i| i % IMAGE_SIDE), moment(|i| i / IMAGE_SIDE)),
        )
    }

    #[test]
    fn empty_or_faint_canvas_gives_zeros() {
        assert_eq!(
            to_mnist(&vec![0.0; CANVAS * CANVAS], CANVAS, CANVAS).unwrap(),
            vec![0.0; 784]
        );
        assert_eq!(to_mnist(&vec![0.04; 100], 10, 10).unwrap(), vec![0.0; 784]);
    }

    #[test]
    fn a_square_anywhere_becomes_a_centred_20_pixel_square() {
        for (left, top, side) in [(0, 0, 100), (150, 30, 77), (263, 263, 17), (5, 200, 3)] {
            let ink =
                canvas(|x, y| (left..left + side).contains(&x) && (top..top + side).contains(&y));
            let digit = to_mnist(&ink, CANVAS, CANVAS).unwrap();
            let (size, (centre_x, centre_y)) = bounds_and_centre(&digit);
            assert_eq!(size, (20, 20), "square at ({left}, {top})");
            assert!((centre_x - 14.0).abs() < 1e-6 && (centre_y - 14.0).abs() < 1e-6);
            assert!(digit.iter().all(|&v| v == 0.0 || (v - 1.0).abs() < 1e-5));
        }
    }

    #[test]
    fn a_rectangle_keeps_its_aspect_ratio_and_is_centred() {
        let ink = canvas(|x, y| (33..153).contains(&x) && (101..161).contains(&y));
        let digit = to_mnist(&ink, CANVAS, CANVAS).unwrap();
        let ((width, height), (centre_x, centre_y)) = bounds_and_centre(&digit);
        assert_eq!((width, height), (20, 10));
        assert!((centre_x - 14.0).abs() <= 0.5 && (centre_y - 14.0).abs() <= 0.5);
    }

    #[test]
    fn lopsided_ink_is_centred_by_mass_not_by_box() {
        // A block on the left and an equally heavy but flatter bar on the right: the centre of
        // mass sits left of the box centre, so the digit moves right of the box-centred column 4.
        let ink = canvas(|x, y| {
            ((100..180).contains(&y) && x < 80) || ((120..160).contains(&y) && x < 240)
        });
        let digit = to_mnist(&ink, CANVAS, CANVAS).unwrap();
        let (_, (centre_x, centre_y)) = bounds_and_centre(&digit);
        assert!((centre_x - 14.0).abs() <= 0.5 && (centre_y - 14.0).abs() <= 0.5);
        assert_eq!(ink_bounds(&digit, IMAGE_SIDE).unwrap().left, 6);
    }

    #[test]
    fn shifts_are_clamped_so_no_ink_falls_off() {
        // Nearly all mass in a block at the far left: centring it would push the 20-pixel-wide
        // digit past the right edge, so it stops at column 8 with all its ink.
        let ink = canvas(|x, y| (100..180).contains(&y) && (x < 80 || (y == 140 && x < 240)));
        let digit = to_mnist(&ink, CANVAS, CANVAS).unwrap();
        let bounds = ink_bounds(&digit, IMAGE_SIDE).unwrap();
        assert_eq!((bounds.left, bounds.width), (8, 20));
    }

    #[test]
    fn thin_lines_survive_downscaling() {
        let horizontal = canvas(|x, y| y == 140 && (20..260).contains(&x));
        let digit = to_mnist(&horizontal, CANVAS, CANVAS).unwrap();
        assert_eq!(bounds_and_centre(&digit).0, (20, 1));
        assert!(digit.iter().filter(|&&v| v > 0.99).count() == 20);

        let diagonal = canvas(|x, y| (20..260).contains(&x) && x.abs_diff(y) <= 1);
        let digit = to_mnist(&diagonal, CANVAS, CANVAS).unwrap();
        let rows_with_ink = digit
            .chunks_exact(IMAGE_SIDE)
            .filter(|row| row.iter().any(|&v| v > 0.1))
            .count();
        assert_eq!(rows_with_ink, 20);
    }

    #[test]
    fn output_stays_in_unit_interval_even_for_out_of_range_input() {
        let ink: Vec<f32> = (0..60 * 45)
            .map(|i| ((i * 31) % 97) as f32 / 40.0 - 0.5)
            .collect();
        let digit = to_mnist(&ink, 60, 45).unwrap();
        assert_eq!(digit.len(), IMAGE_PIXELS);
        assert!(digit.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn a_single_dot_and_a_tiny_canvas_work() {
        let mut dot = vec![0.0; 9];
        dot[4] = 1.0;
        let digit = to_mnist(&dot, 3, 3).unwrap();
        let (size, centre) = bounds_and_centre(&digit);
        assert_eq!(size, (20, 20));
        assert!((centre.0 - 14.0).abs() < 1e-6 && (centre.1 - 14.0).abs() < 1e-6);
        assert_eq!(to_mnist(&[1.0], 1, 1).unwrap(), digit);
    }

    #[test]
    fn box_filter_weights_sum_to_one_and_average_areas() {
        for (len, new_len) in [(280, 20), (7, 3), (3, 20), (20, 20), (1, 1)] {
            for pixel in box_filter_taps(len, new_len) {
                let total: f32 = pixel.iter().map(|&(_, w)| w).sum();
                assert!((total - 1.0).abs() < 1e-5, "{len}→{new_len}");
            }
        }
        assert_eq!(resample_rows(&[0.0, 1.0, 1.0, 1.0], 4, 2), [0.5, 1.0]);
    }

    #[test]
    fn bad_canvases_are_errors() {
        assert_eq!(
            to_mnist(&[0.0; 10], 28, 28),
            Err(Error::WrongLength {
                width: 28,
                height: 28,
                len: 10
            })
        );
        assert_eq!(
            to_mnist(&[], 0, 0),
            Err(Error::BadDimensions {
                width: 0,
                height: 0
            })
        );
        assert_eq!(
            to_mnist(&[0.0, f32::NAN, 0.0, 0.0], 2, 2),
            Err(Error::NonFinite {
                what: "drawing",
                index: 1
            })
        );
    }
}

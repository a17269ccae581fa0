//! Pictures people would rather look at than read: clean / noisy / denoised rows of test digits.

use crate::data::grey_level;
use anyhow::{Result, bail};
use bottleneck::IMAGE_SIDE;
use ndarray::ArrayView2;

/// Screen pixels per image pixel, so 28×28 digits are big enough to see in a README.
const ZOOM: usize = 3;
/// Grey gap between digits, in screen pixels.
const GAP: usize = 4;

/// A greyscale PNG with three rows, clean, noisy and denoised, of the first `count` images.
pub fn denoising_png(
    clean: ArrayView2<f32>,
    noisy: ArrayView2<f32>,
    denoised: ArrayView2<f32>,
    count: usize,
) -> Result<Vec<u8>> {
    let count = count.min(clean.nrows());
    if count == 0 || clean.ncols() != IMAGE_SIDE * IMAGE_SIDE {
        bail!("the denoising picture needs at least one 28×28 image");
    }
    let rows = [clean, noisy, denoised];
    let cell = IMAGE_SIDE * ZOOM + GAP;
    let (width, height) = (count * cell + GAP, rows.len() * cell + GAP);
    let mut pixels = vec![96u8; width * height];
    for (r, set) in rows.iter().enumerate() {
        for i in 0..count {
            for (p, &value) in set.row(i).iter().enumerate() {
                let grey = grey_level(value);
                let (y0, x0) = (
                    GAP + r * cell + (p / IMAGE_SIDE) * ZOOM,
                    GAP + i * cell + (p % IMAGE_SIDE) * ZOOM,
                );
                for dy in 0..ZOOM {
                    pixels[(y0 + dy) * width + x0..][..ZOOM].fill(grey);
                }
            }
        }
    }
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, width as u32, height as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&pixels)?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn draws_three_rows_of_digits() {
        let clean = Array2::from_elem((2, 784), 1.0f32);
        let noisy = Array2::from_elem((2, 784), 0.5f32);
        let denoised = Array2::zeros((2, 784));
        let png = denoising_png(clean.view(), noisy.view(), denoised.view(), 2).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let cell = 28 * ZOOM + GAP;
        assert_eq!(
            (info.width as usize, info.height as usize),
            (2 * cell + GAP, 3 * cell + GAP)
        );
        let at = |row: usize| buf[(GAP + row * cell + 5) * info.width as usize + GAP + 5];
        assert_eq!((at(0), at(1), at(2)), (255, 128, 0));
    }
}

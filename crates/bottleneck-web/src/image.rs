//! Image helpers the page calls, taken straight from the shared crate so the page preprocesses
//! and corrupts drawings exactly as the trainer did its training data.

use bottleneck::{IMAGE_PIXELS, IMAGE_SIDE, NoiseSpec, Rng};
use wasm_bindgen::prelude::*;

use crate::error::{WebError, check_values};

/// Turns a `width`×`height` drawing (row-major, 1 = ink) into the 784 pixels of an MNIST-style
/// digit: cropped, scaled to fit 20×20 and centred by centre of mass. A blank drawing gives zeros.
#[wasm_bindgen]
pub fn preprocess(ink: &[f32], width: usize, height: usize) -> Result<Vec<f32>, WebError> {
    Ok(bottleneck::to_mnist(ink, width, height)?)
}

/// A copy of a 28×28 `image` corrupted by `spec` (e.g. "gaussian:0.5", "salt-pepper:0.2",
/// "occlusion:2", "none"); the same `seed` gives the same noise here and in the trainer.
#[wasm_bindgen(js_name = addNoise)]
pub fn add_noise(image: &[f32], spec: &str, seed: u64) -> Result<Vec<f32>, WebError> {
    check_values(image, IMAGE_PIXELS, "image")?;
    let spec: NoiseSpec = spec.parse()?;
    let mut noisy = image.to_vec();
    spec.apply(&mut noisy, IMAGE_SIDE, IMAGE_SIDE, &mut Rng::new(seed))?;
    Ok(noisy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preprocess_is_the_shared_to_mnist() {
        let mut ink = vec![0.0; 100 * 80];
        for y in 20..60 {
            ink[y * 100 + 50] = 1.0;
        }
        assert_eq!(
            preprocess(&ink, 100, 80).unwrap(),
            bottleneck::to_mnist(&ink, 100, 80).unwrap()
        );
        assert_eq!(
            preprocess(&[0.0; 12], 4, 3).unwrap(),
            vec![0.0; IMAGE_PIXELS]
        );
        assert!(matches!(
            preprocess(&[0.0; 12], 5, 3),
            Err(WebError::Shared(bottleneck::Error::WrongLength { .. }))
        ));
    }

    #[test]
    fn noise_is_seeded_and_validated() {
        let image = vec![0.5; IMAGE_PIXELS];
        let noisy = add_noise(&image, "gaussian:0.5", 3).unwrap();
        assert_eq!(noisy, add_noise(&image, "gaussian:0.5", 3).unwrap());
        assert_ne!(noisy, add_noise(&image, "gaussian:0.5", 4).unwrap());
        assert!(noisy.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(add_noise(&image, "none", 3).unwrap(), image);
        assert!(matches!(
            add_noise(&image, "gaussian:99", 3),
            Err(WebError::Shared(bottleneck::Error::InvalidNoiseSpec { .. }))
        ));
        assert!(matches!(
            add_noise(&image[1..], "none", 3),
            Err(WebError::Runtime(
                bottleneck_runtime::RuntimeError::WrongLength { .. }
            ))
        ));
    }
}

//! Noise injection for grayscale images with values in [0, 1] (row-major `f32`), used to train
//! and demonstrate denoising. A [`NoiseSpec`] is written as a short string such as
//! `gaussian:0.3+occlusion:1` on the trainer's command line, in the model card and on the page.

use std::fmt;
use std::str::FromStr;

#[cfg(feature = "rayon")]
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::rng::{Rng, derive_seed};
use crate::shape;

/// Largest accepted Gaussian sigma: far beyond the point where the image is pure noise.
const MAX_SIGMA: f32 = 10.0;
/// Largest accepted occlusion box count: more boxes than this cover the whole digit.
const MAX_BOXES: u32 = 20;
/// The Keras denoising-autoencoder recipe adds `0.5 * np.random.normal(...)` and clips.
const DEFAULT_SIGMA: f32 = 0.5;

/// The spec forms `FromStr` accepts, quoted in every parse error.
pub(crate) const ACCEPTED_FORMS: &str = "`none`, `gaussian:<sigma>` (0 to 10), \
    `salt-pepper:<fraction>` (0 to 1), `occlusion:<boxes>` (whole number 0 to 20), \
    or several joined by `+`, e.g. `gaussian:0.3+occlusion:1`";

/// One kind of corruption.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NoiseKind {
    /// Adds `sigma`·N(0, 1) to every pixel, then clips to [0, 1].
    Gaussian {
        /// Standard deviation of the added noise, 0 to 10.
        sigma: f32,
    },
    /// Each pixel independently, with probability `fraction`, becomes 0 or 1 with equal odds.
    SaltPepper {
        /// Probability that a pixel is replaced, 0 to 1.
        fraction: f32,
    },
    /// Fills `boxes` random rectangles with 0, erasing ink (MNIST digits are 1 on a 0 background).
    Occlusion {
        /// Number of boxes, 0 to 20.
        boxes: u32,
    },
}

impl NoiseKind {
    /// Why the parameter is out of range, if it is.
    fn check(&self) -> Result<(), String> {
        match *self {
            NoiseKind::Gaussian { sigma } if !(0.0..=MAX_SIGMA).contains(&sigma) => Err(format!(
                "gaussian sigma must be between 0 and {MAX_SIGMA}, got {sigma}"
            )),
            NoiseKind::SaltPepper { fraction } if !(0.0..=1.0).contains(&fraction) => Err(format!(
                "salt-pepper fraction must be between 0 and 1, got {fraction}"
            )),
            NoiseKind::Occlusion { boxes } if boxes > MAX_BOXES => Err(format!(
                "occlusion box count must be at most {MAX_BOXES}, got {boxes}"
            )),
            _ => Ok(()),
        }
    }

    /// Corrupts one image whose shape and parameters have already been checked.
    fn corrupt(&self, image: &mut [f32], width: usize, height: usize, rng: &mut Rng) {
        match *self {
            NoiseKind::Gaussian { sigma } => {
                for pixel in image.iter_mut() {
                    *pixel = (*pixel + sigma * rng.normal()).clamp(0.0, 1.0);
                }
            }
            NoiseKind::SaltPepper { fraction } => {
                for pixel in image.iter_mut() {
                    if rng.uniform() < fraction {
                        *pixel = if rng.next_u64() >> 63 == 0 { 0.0 } else { 1.0 };
                    }
                }
            }
            NoiseKind::Occlusion { boxes } => {
                for _ in 0..boxes {
                    let box_width = random_box_side(width, rng);
                    let box_height = random_box_side(height, rng);
                    let left = rng.below(width - box_width + 1);
                    let top = rng.below(height - box_height + 1);
                    for row in image.chunks_exact_mut(width).skip(top).take(box_height) {
                        row[left..left + box_width].fill(0.0);
                    }
                }
            }
        }
    }
}

/// A box side between a seventh and a third of the image side (4 to 9 pixels on 28): large
/// enough to hide part of a stroke, small enough that the digit stays recognisable.
fn random_box_side(side: usize, rng: &mut Rng) -> usize {
    let shortest = (side / 7).max(1);
    let longest = (side / 3).max(shortest);
    shortest + rng.below(longest - shortest + 1)
}

impl fmt::Display for NoiseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `{}` on floats prints the shortest text that parses back to the same value.
        match self {
            NoiseKind::Gaussian { sigma } => write!(f, "gaussian:{sigma}"),
            NoiseKind::SaltPepper { fraction } => write!(f, "salt-pepper:{fraction}"),
            NoiseKind::Occlusion { boxes } => write!(f, "occlusion:{boxes}"),
        }
    }
}

/// Parses one `kind:parameter` term, or says why it cannot.
fn parse_kind(term: &str) -> Result<NoiseKind, String> {
    let term = term.trim();
    let (name, parameter) = match term.split_once(':') {
        Some((name, parameter)) => (name.trim(), Some(parameter.trim())),
        None => (term, None),
    };
    let number = |text: &str| -> Result<f32, String> {
        text.parse()
            .map_err(|_| format!("`{text}` in `{term}` is not a number"))
    };
    let kind = match (name, parameter) {
        ("gaussian", Some(sigma)) => NoiseKind::Gaussian {
            sigma: number(sigma)?,
        },
        ("salt-pepper", Some(fraction)) => NoiseKind::SaltPepper {
            fraction: number(fraction)?,
        },
        ("occlusion", Some(boxes)) => NoiseKind::Occlusion {
            boxes: boxes
                .parse()
                .map_err(|_| format!("`{boxes}` in `{term}` is not a whole number of boxes"))?,
        },
        ("gaussian" | "salt-pepper" | "occlusion", None) => {
            return Err(format!("`{name}` needs a parameter after a colon"));
        }
        ("none", _) => return Err("`none` stands alone: it takes no parameter and no `+`".into()),
        ("", _) => return Err("a noise kind is missing (empty term around `+` or `:`)".into()),
        (unknown, _) => return Err(format!("unknown noise kind `{unknown}`")),
    };
    kind.check()?;
    Ok(kind)
}

/// A mixture of noise kinds, applied in order. Written as `none`, one kind such as
/// `gaussian:0.5`, or several joined by `+`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NoiseSpec {
    /// The kinds applied one after another; empty means no noise.
    pub kinds: Vec<NoiseKind>,
}

impl NoiseSpec {
    /// Corrupts one `width`×`height` image in place, drawing randomness from `rng`.
    pub fn apply(
        &self,
        image: &mut [f32],
        width: usize,
        height: usize,
        rng: &mut Rng,
    ) -> Result<(), Error> {
        shape::check_image(image.len(), width, height)?;
        self.check()?;
        self.corrupt(image, width, height, rng);
        Ok(())
    }

    /// Corrupts a batch of `width`×`height` images stored back to back. Image `i` draws from its
    /// own generator seeded by `derive_seed(seed, i)`, so its noise depends only on `seed` and
    /// `i`, never on how the batch is split or ordered.
    pub fn apply_batch(
        &self,
        images: &mut [f32],
        width: usize,
        height: usize,
        seed: u64,
    ) -> Result<(), Error> {
        let pixels = shape::pixel_count(width, height)?;
        if !images.len().is_multiple_of(pixels) {
            return Err(Error::PartialImage {
                width,
                height,
                len: images.len(),
            });
        }
        self.check()?;
        let corrupt = |(index, image): (usize, &mut [f32])| {
            let mut rng = Rng::new(derive_seed(seed, index as u64));
            self.corrupt(image, width, height, &mut rng);
        };
        // With the `rayon` feature (the trainer's) images are spread over the cores, since drawing
        // fresh noise for every training step is a noticeable part of an epoch on one. The noise
        // is the same either way.
        #[cfg(feature = "rayon")]
        images
            .par_chunks_exact_mut(pixels)
            .enumerate()
            .for_each(corrupt);
        #[cfg(not(feature = "rayon"))]
        images
            .chunks_exact_mut(pixels)
            .enumerate()
            .for_each(corrupt);
        Ok(())
    }

    /// Checks the parameters, which callers may have set directly through the public fields.
    fn check(&self) -> Result<(), Error> {
        for kind in &self.kinds {
            kind.check().map_err(|reason| Error::InvalidNoiseSpec {
                spec: self.to_string(),
                reason,
            })?;
        }
        Ok(())
    }

    /// Applies every kind in order to an image that has already been checked.
    fn corrupt(&self, image: &mut [f32], width: usize, height: usize, rng: &mut Rng) {
        for kind in &self.kinds {
            kind.corrupt(image, width, height, rng);
        }
    }
}

impl Default for NoiseSpec {
    /// `gaussian:0.5`, the Keras denoising recipe.
    fn default() -> Self {
        NoiseSpec {
            kinds: vec![NoiseKind::Gaussian {
                sigma: DEFAULT_SIGMA,
            }],
        }
    }
}

impl FromStr for NoiseSpec {
    type Err = Error;

    fn from_str(spec: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidNoiseSpec {
            spec: spec.to_string(),
            reason,
        };
        match spec.trim() {
            "" => Err(invalid("it is empty; write `none` for no noise".into())),
            "none" => Ok(NoiseSpec { kinds: Vec::new() }),
            terms => {
                let kinds = terms.split('+').map(parse_kind).collect::<Result<_, _>>();
                Ok(NoiseSpec {
                    kinds: kinds.map_err(invalid)?,
                })
            }
        }
    }
}

impl fmt::Display for NoiseSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kinds.is_empty() {
            return f.write_str("none");
        }
        for (index, kind) in self.kinds.iter().enumerate() {
            if index > 0 {
                f.write_str("+")?;
            }
            write!(f, "{kind}")?;
        }
        Ok(())
    }
}

impl TryFrom<String> for NoiseSpec {
    type Error = Error;

    fn try_from(spec: String) -> Result<Self, Error> {
        spec.parse()
    }
}

impl From<NoiseSpec> for String {
    fn from(spec: NoiseSpec) -> String {
        spec.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIDE: usize = 28;

    /// A deterministic test image with a spread of values in [0, 1].
    fn gradient() -> Vec<f32> {
        (0..SIDE * SIDE).map(|i| (i % 17) as f32 / 16.0).collect()
    }

    fn spec(text: &str) -> NoiseSpec {
        text.parse().unwrap()
    }

    fn noisy(text: &str, seed: u64) -> Vec<f32> {
        let mut image = gradient();
        spec(text)
            .apply(&mut image, SIDE, SIDE, &mut Rng::new(seed))
            .unwrap();
        image
    }

    #[test]
    fn same_seed_same_noise_other_seed_other_noise() {
        let mixture = "gaussian:0.3+salt-pepper:0.1+occlusion:2";
        assert_eq!(noisy(mixture, 1), noisy(mixture, 1));
        assert_ne!(noisy(mixture, 1), noisy(mixture, 2));
    }

    #[test]
    fn every_kind_keeps_pixels_in_unit_interval() {
        for text in [
            "gaussian:3",
            "salt-pepper:0.5",
            "occlusion:5",
            "gaussian:1+salt-pepper:0.3",
        ] {
            assert!(
                noisy(text, 3).iter().all(|v| (0.0..=1.0).contains(v)),
                "{text}"
            );
        }
    }

    #[test]
    fn zero_strength_and_none_leave_the_image_unchanged() {
        for text in ["gaussian:0", "salt-pepper:0", "occlusion:0", "none"] {
            assert_eq!(noisy(text, 4), gradient(), "{text}");
        }
    }

    #[test]
    fn gaussian_noise_has_the_requested_spread_before_clipping() {
        let mut image = vec![0.5; SIDE * SIDE * 50];
        spec("gaussian:0.1")
            .apply_batch(&mut image, SIDE, SIDE, 5)
            .unwrap();
        // With sigma 0.1 around 0.5 clipping almost never happens.
        let n = image.len() as f64;
        let variance = image
            .iter()
            .map(|&v| (f64::from(v) - 0.5).powi(2))
            .sum::<f64>()
            / n;
        assert!(
            (variance.sqrt() - 0.1).abs() < 0.003,
            "std {}",
            variance.sqrt()
        );
    }

    #[test]
    fn salt_pepper_hits_the_requested_fraction_half_white_half_black() {
        let mut images = vec![0.5; SIDE * SIDE * 100];
        spec("salt-pepper:0.2")
            .apply_batch(&mut images, SIDE, SIDE, 6)
            .unwrap();
        let n = images.len() as f64;
        let black = images.iter().filter(|&&v| v == 0.0).count() as f64 / n;
        let white = images.iter().filter(|&&v| v == 1.0).count() as f64 / n;
        assert!((black + white - 0.2).abs() < 0.01, "hit {}", black + white);
        assert!((black - white).abs() < 0.01, "black {black} white {white}");
    }

    #[test]
    fn occlusion_zeroes_one_rectangle_of_the_expected_size() {
        for seed in 0..50 {
            let mut image = vec![1.0; SIDE * SIDE];
            spec("occlusion:1")
                .apply(&mut image, SIDE, SIDE, &mut Rng::new(seed))
                .unwrap();
            let zeros: Vec<(usize, usize)> = (0..image.len())
                .filter(|&i| image[i] == 0.0)
                .map(|i| (i % SIDE, i / SIDE))
                .collect();
            let span = |coordinate: fn(&(usize, usize)) -> usize| {
                let values = zeros.iter().map(coordinate);
                values.clone().max().unwrap() - values.min().unwrap() + 1
            };
            let (width, height) = (span(|p| p.0), span(|p| p.1));
            assert_eq!(width * height, zeros.len(), "zeros form a filled rectangle");
            assert!(
                (4..=9).contains(&width) && (4..=9).contains(&height),
                "{width}×{height}"
            );
        }
    }

    #[test]
    fn batch_noise_depends_only_on_seed_and_image_index() {
        let noise = spec("gaussian:0.5+occlusion:1");
        let mut batch = [gradient(), gradient(), gradient()].concat();
        noise.apply_batch(&mut batch, SIDE, SIDE, 9).unwrap();
        let mut alone = gradient();
        noise
            .apply(&mut alone, SIDE, SIDE, &mut Rng::new(derive_seed(9, 2)))
            .unwrap();
        assert_eq!(&batch[2 * SIDE * SIDE..], &alone[..]);
        assert_ne!(batch[..SIDE * SIDE], batch[SIDE * SIDE..2 * SIDE * SIDE]);
    }

    #[test]
    fn wrong_shapes_are_errors_not_panics() {
        let noise = NoiseSpec::default();
        let mut image = vec![0.0; 10];
        let error = noise
            .apply(&mut image, 28, 28, &mut Rng::new(0))
            .unwrap_err();
        assert_eq!(
            error,
            Error::WrongLength {
                width: 28,
                height: 28,
                len: 10
            }
        );
        assert!(noise.apply(&mut image, 0, 10, &mut Rng::new(0)).is_err());
        assert_eq!(
            noise.apply_batch(&mut image, 3, 3, 0),
            Err(Error::PartialImage {
                width: 3,
                height: 3,
                len: 10
            })
        );
        assert!(noise.apply_batch(&mut image, 0, 0, 0).is_err());
    }

    #[test]
    fn out_of_range_fields_set_directly_are_rejected_when_applied() {
        let noise = NoiseSpec {
            kinds: vec![NoiseKind::Gaussian { sigma: f32::NAN }],
        };
        let mut image = gradient();
        assert!(matches!(
            noise.apply(&mut image, SIDE, SIDE, &mut Rng::new(0)),
            Err(Error::InvalidNoiseSpec { .. })
        ));
        assert_eq!(image, gradient());
    }

    #[test]
    fn tiny_images_can_be_occluded() {
        for side in 1..8 {
            let mut image = vec![1.0; side * side];
            spec("occlusion:3")
                .apply(&mut image, side, side, &mut Rng::new(1))
                .unwrap();
            assert!(image.contains(&0.0));
        }
    }

    #[test]
    fn display_round_trips_to_canonical_form() {
        for text in [
            "gaussian:0.5",
            "salt-pepper:0.2",
            "occlusion:2",
            "none",
            "gaussian:0.3+occlusion:1",
            "gaussian:0.1+salt-pepper:0.05+occlusion:20",
        ] {
            assert_eq!(spec(text).to_string(), text);
            assert_eq!(spec(&spec(text).to_string()), spec(text));
        }
        assert_eq!(
            spec(" gaussian : 1.0 + occlusion:3 ").to_string(),
            "gaussian:1+occlusion:3"
        );
        assert_eq!(NoiseSpec::default().to_string(), "gaussian:0.5");
    }

    #[test]
    fn bad_specs_say_what_is_wrong_and_what_is_accepted() {
        let cases = [
            ("gaussian", "needs a parameter"),
            ("gaussian:abc", "not a number"),
            ("gaussian:-1", "between 0 and 10"),
            ("gaussian:inf", "between 0 and 10"),
            ("gaussian:NaN", "between 0 and 10"),
            ("blur:1", "unknown noise kind `blur`"),
            ("salt-pepper:1.5", "between 0 and 1"),
            ("occlusion:1.5", "whole number"),
            ("occlusion:21", "at most 20"),
            ("", "empty"),
            ("gaussian:0.5+", "missing"),
            ("none+gaussian:0.5", "`none` stands alone"),
        ];
        for (text, expected) in cases {
            let message = text.parse::<NoiseSpec>().unwrap_err().to_string();
            assert!(message.contains(expected), "`{text}` gave: {message}");
            assert!(
                message.contains("salt-pepper:<fraction>"),
                "`{text}` gave: {message}"
            );
        }
    }

    #[test]
    fn serde_uses_the_string_form() {
        let noise = spec("gaussian:0.3+occlusion:1");
        let json = serde_json::to_string(&noise).unwrap();
        assert_eq!(json, r#""gaussian:0.3+occlusion:1""#);
        assert_eq!(serde_json::from_str::<NoiseSpec>(&json).unwrap(), noise);
        let error = serde_json::from_str::<NoiseSpec>(r#""blur:1""#).unwrap_err();
        assert!(error.to_string().contains("unknown noise kind"), "{error}");
    }
}

//! `gallery`: the page's ready-made examples, cut from the data sets into one small JSON file:
//! test digits, and things that are not digits (another data set's images, noise, a blank, an
//! inverted digit) whose reconstruction error should be high.

use crate::atomic::write_atomic;
use crate::cli::GalleryArgs;
use crate::data::{Dataset, Split, grey_level, load_dir};
use anyhow::{Result, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bottleneck::{IMAGE_PIXELS, Rng};
use serde::Serialize;

/// Fashion-MNIST's class names, by label.
const FASHION_CLASSES: [&str; 10] = [
    "T-shirt",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The file the page reads.
#[derive(Debug, Serialize)]
pub struct Gallery {
    /// Where the images came from.
    pub source: String,
    /// The examples, digits first.
    pub items: Vec<GalleryItem>,
}

/// One 28×28 example.
#[derive(Debug, Serialize)]
pub struct GalleryItem {
    /// What it shows, e.g. "Digit 7" or "Fashion: Sneaker".
    pub name: String,
    /// Whether the dense autoencoder should find it familiar: "digit" or "anomaly".
    pub kind: &'static str,
    /// 784 grey levels (0 = black), row by row, base64-encoded.
    pub pixels: String,
}

impl GalleryItem {
    fn new(name: String, kind: &'static str, image: &[f32]) -> GalleryItem {
        let bytes: Vec<u8> = image.iter().map(|&v| grey_level(v)).collect();
        GalleryItem {
            name,
            kind,
            pixels: BASE64.encode(bytes),
        }
    }
}

/// Runs `trainer gallery`.
pub fn run(args: &GalleryArgs) -> Result<()> {
    let digits = load_dir(&args.data)?;
    let anomalies = load_dir(&args.anomalies)?;
    let gallery = build(&digits, &anomalies, args.per_digit, args.seed)?;
    write_atomic(&args.out, serde_json::to_string(&gallery)?.as_bytes())?;
    println!(
        "wrote {} examples to {}",
        gallery.items.len(),
        args.out.display()
    );
    Ok(())
}

/// The first `per_digit` test images of each label of `digits`, one test image of each label of
/// `anomalies`, then uniform noise, a blank and an inverted digit.
pub fn build(
    digits: &Dataset,
    anomalies: &Dataset,
    per_digit: usize,
    seed: u64,
) -> Result<Gallery> {
    for data in [digits, anomalies] {
        if data.test.images.pixels_per_image() != IMAGE_PIXELS {
            bail!(
                "{} does not hold 28×28 images: the gallery is for the page's models",
                data.name
            );
        }
    }
    let digit_indices: Vec<usize> = (0..10u8)
        .flat_map(|label| first_of_label(&digits.test, label, per_digit))
        .collect();
    let Some(&first_digit) = digit_indices.first() else {
        bail!("{}'s test split has no images labelled 0 to 9", digits.name);
    };
    let mut items: Vec<GalleryItem> = digit_indices
        .iter()
        .map(|&i| {
            GalleryItem::new(
                format!("Digit {}", digits.test.labels[i]),
                "digit",
                digits.test.images.image(i),
            )
        })
        .collect();
    for label in 0..10u8 {
        for i in first_of_label(&anomalies.test, label, 1) {
            items.push(GalleryItem::new(
                anomaly_name(&anomalies.name, label),
                "anomaly",
                anomalies.test.images.image(i),
            ));
        }
    }
    let mut rng = Rng::new(seed);
    let noise: Vec<f32> = (0..IMAGE_PIXELS).map(|_| rng.uniform()).collect();
    items.push(GalleryItem::new("Noise".into(), "anomaly", &noise));
    items.push(GalleryItem::new(
        "Blank".into(),
        "anomaly",
        &[0.0; IMAGE_PIXELS],
    ));
    let inverted: Vec<f32> = digits
        .test
        .images
        .image(first_digit)
        .iter()
        .map(|v| 1.0 - v)
        .collect();
    items.push(GalleryItem::new(
        "Inverted digit".into(),
        "anomaly",
        &inverted,
    ));
    Ok(Gallery {
        source: format!("test splits of {} and {}", digits.name, anomalies.name),
        items,
    })
}

/// Indices of the first `count` images of `split` labelled `label`.
fn first_of_label(split: &Split, label: u8, count: usize) -> impl Iterator<Item = usize> + '_ {
    split
        .labels
        .iter()
        .enumerate()
        .filter(move |(_, l)| **l == label)
        .map(|(i, _)| i)
        .take(count)
}

fn anomaly_name(dataset: &str, label: u8) -> String {
    match dataset {
        "fashion-mnist" => format!("Fashion: {}", FASHION_CLASSES[label as usize]),
        _ => format!("{dataset}: class {label}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::write_synthetic;

    #[test]
    fn gallery_holds_digits_then_anomalies_as_28_by_28_grey_levels() {
        let dir = tempfile::tempdir().unwrap();
        write_synthetic(dir.path(), 10, 40, 1).unwrap();
        let data = load_dir(dir.path()).unwrap();
        let gallery = build(&data, &data, 2, 0).unwrap();

        let kinds: Vec<&str> = gallery.items.iter().map(|item| item.kind).collect();
        assert_eq!(kinds.iter().filter(|k| **k == "digit").count(), 20);
        assert_eq!(
            kinds.len(),
            20 + 10 + 3,
            "one anomaly per class, then noise, blank and inverted digit"
        );
        assert!(
            kinds[..20].iter().all(|k| *k == "digit")
                && kinds[20..].iter().all(|k| *k == "anomaly")
        );
        assert_eq!(gallery.items[0].name, "Digit 0");
        assert_eq!(gallery.items[19].name, "Digit 9");

        let pixels = |i: usize| BASE64.decode(&gallery.items[i].pixels).unwrap();
        assert!((0..gallery.items.len()).all(|i| pixels(i).len() == IMAGE_PIXELS));
        let expected: Vec<u8> = data
            .test
            .images
            .image(0)
            .iter()
            .map(|v| (v * 255.0).round() as u8)
            .collect();
        assert_eq!(
            pixels(0),
            expected,
            "the first digit is the first test image, unchanged"
        );
        let inverted = pixels(gallery.items.len() - 1);
        assert!(
            inverted
                .iter()
                .zip(&expected)
                .all(|(a, b)| u16::from(*a) + u16::from(*b) == 255)
        );
        assert!(
            pixels(gallery.items.len() - 2).iter().all(|&v| v == 0),
            "the blank is black"
        );
    }

    #[test]
    fn images_of_another_size_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_synthetic(dir.path(), 10, 10, 1).unwrap();
        let mut data = load_dir(dir.path()).unwrap();
        data.test.images.rows = 14;
        data.test.images.cols = 14;
        data.test.images.pixels.truncate(10 * 196);
        let err = build(&data, &data, 1, 0).unwrap_err();
        assert!(err.to_string().contains("28×28"), "{err}");
    }
}

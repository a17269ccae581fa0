//! Datasets in the MNIST layout: a folder with four gzip-compressed IDX files under their
//! canonical names, as MNIST and Fashion-MNIST are distributed.

pub mod download;
pub mod idx;

use std::path::Path;

use anyhow::ensure;

pub use download::{KnownDataset, fetch};
pub use idx::{IdxImages, grey_level, read_images, read_labels, write_images_gz, write_labels_gz};

/// Canonical name of the training images file.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte.gz";
/// Canonical name of the training labels file.
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte.gz";
/// Canonical name of the test images file.
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte.gz";
/// Canonical name of the test labels file.
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte.gz";
/// The four canonical file names a dataset folder holds.
pub const FILE_NAMES: [&str; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// Images with one label per image.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// The images, pixels in [0, 1].
    pub images: IdxImages,
    /// The class of each image, in the same order.
    pub labels: Vec<u8>,
}

/// A named dataset with a training split and a test split of same-sized images.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// The name of the folder the dataset was read from, e.g. "mnist" or "fashion-mnist".
    pub name: String,
    /// The split to train on.
    pub train: Split,
    /// The held-out split to evaluate on.
    pub test: Split,
}

/// Reads the four canonical files from `dir` and checks that they fit together.
pub fn load_dir(dir: &Path) -> anyhow::Result<Dataset> {
    let train = load_split(dir, TRAIN_IMAGES, TRAIN_LABELS)?;
    let test = load_split(dir, TEST_IMAGES, TEST_LABELS)?;
    let shape = |split: &Split| (split.images.rows, split.images.cols);
    ensure!(
        shape(&train) == shape(&test),
        "in {}, the images of {TRAIN_IMAGES} are {}×{} but those of {TEST_IMAGES} are {}×{}; \
         all four files must come from the same dataset",
        dir.display(),
        train.images.rows,
        train.images.cols,
        test.images.rows,
        test.images.cols
    );
    // Canonicalising turns "." or "data/mnist/" into a path whose last component is the real name.
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|path| {
            path.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| dir.display().to_string());
    Ok(Dataset { name, train, test })
}

fn load_split(dir: &Path, images_file: &str, labels_file: &str) -> anyhow::Result<Split> {
    let images = read_images(&dir.join(images_file))?;
    let labels = read_labels(&dir.join(labels_file))?;
    ensure!(
        images.count == labels.len(),
        "in {}, {images_file} holds {} images but {labels_file} holds {} labels; \
         the two files must come from the same dataset: replace them with a matching pair",
        dir.display(),
        images.count,
        labels.len()
    );
    Ok(Split { images, labels })
}

/// Side of the synthetic images, the same as MNIST's.
const SYNTHETIC_SIDE: usize = 28;

/// Writes a small, deterministic stand-in for MNIST into `dir` under the four canonical names, so
/// tests need neither the network nor the real data: `train` and `test` 28×28 images of ten simple
/// shapes (ring, bars, square, diagonals, disc, plus, frame, cross), one class per shape, cycling
/// through the classes, each shape moved and resized by a generator seeded with `seed`.
pub fn write_synthetic(dir: &Path, train: usize, test: usize, seed: u64) -> anyhow::Result<()> {
    ensure!(
        train > 0 && test > 0,
        "a synthetic dataset needs at least one training and one test image, not {train} and {test}; ask for more"
    );
    let mut random = Lcg(seed);
    for (count, images_file, labels_file) in [
        (train, TRAIN_IMAGES, TRAIN_LABELS),
        (test, TEST_IMAGES, TEST_LABELS),
    ] {
        let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
        let pixels: Vec<u8> = labels
            .iter()
            .flat_map(|&label| synthetic_image(label, &mut random))
            .collect();
        write_images_gz(
            &dir.join(images_file),
            count,
            SYNTHETIC_SIDE,
            SYNTHETIC_SIDE,
            &pixels,
        )?;
        write_labels_gz(&dir.join(labels_file), &labels)?;
    }
    Ok(())
}

/// One image of the shape for `label`, centred within 4 pixels of the middle, of radius 7 to 9.
fn synthetic_image(label: u8, random: &mut Lcg) -> Vec<u8> {
    let middle = (SYNTHETIC_SIDE / 2) as f32;
    let centre_x = middle + random.below(9) as f32 - 4.0;
    let centre_y = middle + random.below(9) as f32 - 4.0;
    let radius = 7.0 + random.below(3) as f32;
    let mut pixels = Vec::with_capacity(SYNTHETIC_SIDE * SYNTHETIC_SIDE);
    for row in 0..SYNTHETIC_SIDE {
        for col in 0..SYNTHETIC_SIDE {
            let inked = shape_covers(label, col as f32 - centre_x, row as f32 - centre_y, radius);
            pixels.push(if inked { 255 } else { 0 });
        }
    }
    pixels
}

/// Whether the shape of class `label`, of half-size `radius`, covers the point (`x`, `y`) relative
/// to its centre; strokes are 3 pixels wide.
fn shape_covers(label: u8, x: f32, y: f32, radius: f32) -> bool {
    let stroke = 1.5;
    let in_box = x.abs() < radius && y.abs() < radius;
    let distance = x.hypot(y);
    match label {
        0 => (distance - 0.8 * radius).abs() < stroke,
        1 => in_box && x.abs() < stroke,
        2 => in_box && y.abs() < stroke,
        3 => x.abs() < 0.6 * radius && y.abs() < 0.6 * radius,
        4 => in_box && (x - y).abs() < stroke,
        5 => in_box && (x + y).abs() < stroke,
        6 => distance < 0.6 * radius,
        7 => in_box && (x.abs() < stroke || y.abs() < stroke),
        8 => in_box && x.abs().max(y.abs()) > radius - 2.0 * stroke,
        _ => in_box && ((x - y).abs() < stroke || (x + y).abs() < stroke),
    }
}

/// Knuth's MMIX linear congruential generator: tiny, and the same on every platform.
struct Lcg(u64);

impl Lcg {
    /// A number in `0..n`, from the high bits, which are the most random ones of an LCG.
    fn below(&mut self, n: u32) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 32) % u64::from(n)) as u32
    }
}

//! Reading and writing the IDX files of MNIST and Fashion-MNIST, gzip-compressed as distributed.
//!
//! Layout: a big-endian u32 magic number, one big-endian u32 size per dimension, then the bytes.
//! Images have magic 2051 and three sizes (count, rows, cols); labels have magic 2049 and one.

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use anyhow::{Context, bail, ensure};
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use ndarray::ArrayView2;

use crate::atomic::write_atomic_with;

/// Images decoded from an IDX file, with pixels scaled from bytes to [0, 1].
#[derive(Clone, Debug, PartialEq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Height of every image in pixels.
    pub rows: usize,
    /// Width of every image in pixels.
    pub cols: usize,
    /// All pixels, image after image, each image row-major: image `i` starts at
    /// `i * rows * cols`.
    pub pixels: Vec<f32>,
}

impl IdxImages {
    /// Number of pixels in one image (`rows * cols`).
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// The pixels of image `i`, row-major; panics if `i >= count`.
    pub fn image(&self, i: usize) -> &[f32] {
        let size = self.pixels_per_image();
        &self.pixels[i * size..(i + 1) * size]
    }

    /// All images as a `[count, rows * cols]` matrix, one image per row.
    pub fn as_array(&self) -> ArrayView2<'_, f32> {
        ArrayView2::from_shape((self.count, self.pixels_per_image()), &self.pixels)
            .expect("pixels.len() == count * rows * cols, as every constructor guarantees")
    }
}

/// The two kinds of IDX file MNIST-style datasets use.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Images,
    Labels,
}

impl Kind {
    const ALL: [Kind; 2] = [Kind::Images, Kind::Labels];

    /// 0x00000803: unsigned bytes (0x08), three dimensions.
    /// 0x00000801: unsigned bytes (0x08), one dimension.
    fn magic(self) -> u32 {
        match self {
            Kind::Images => 0x0803,
            Kind::Labels => 0x0801,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Images => "images",
            Kind::Labels => "labels",
        }
    }
}

/// The grey level (0 to 255) of a pixel value in [0, 1]: the inverse of [`read_images`]' scaling,
/// with values outside [0, 1] clamped.
pub fn grey_level(value: f32) -> u8 {
    (value.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Reads an IDX images file (gzip-compressed, or raw) and scales its pixels to [0, 1].
pub fn read_images(path: &Path) -> anyhow::Result<IdxImages> {
    let bytes = read_decompressed(path)?;
    let ([count, rows, cols], data) = parse(path, &bytes, Kind::Images)?;
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels: data.iter().map(|&byte| f32::from(byte) / 255.0).collect(),
    })
}

/// Reads an IDX labels file (gzip-compressed, or raw): one byte per item.
pub fn read_labels(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = read_decompressed(path)?;
    let ([_count], data) = parse(path, &bytes, Kind::Labels)?;
    Ok(data.to_vec())
}

/// Writes `count` images of `rows`×`cols` bytes (row-major, image after image) as a canonical
/// gzip-compressed IDX images file, the format [`read_images`] and the MNIST distribution use.
pub fn write_images_gz(
    path: &Path,
    count: usize,
    rows: usize,
    cols: usize,
    bytes: &[u8],
) -> anyhow::Result<()> {
    write_idx_gz(path, Kind::Images, &[count, rows, cols], bytes)
}

/// Writes one byte per label as a canonical gzip-compressed IDX labels file, the format
/// [`read_labels`] and the MNIST distribution use.
pub fn write_labels_gz(path: &Path, labels: &[u8]) -> anyhow::Result<()> {
    write_idx_gz(path, Kind::Labels, &[labels.len()], labels)
}

fn write_idx_gz(path: &Path, kind: Kind, sizes: &[usize], data: &[u8]) -> anyhow::Result<()> {
    ensure!(
        checked_product(sizes) == Some(data.len()),
        "cannot write {}: the sizes {sizes:?} do not match the {} bytes given; \
         pass sizes whose product is the number of bytes",
        path.display(),
        data.len()
    );
    let mut header = kind.magic().to_be_bytes().to_vec();
    for &size in sizes {
        let size = u32::try_from(size).with_context(|| {
            format!(
                "cannot write {}: IDX sizes must fit in 32 bits, {size} does not",
                path.display()
            )
        })?;
        header.extend(size.to_be_bytes());
    }
    write_atomic_with(path, |file| {
        let mut encoder = GzEncoder::new(file, Compression::default());
        encoder.write_all(&header)?;
        encoder.write_all(data)?;
        encoder.finish()?;
        Ok(())
    })
    .with_context(|| {
        format!(
            "could not write {}: check that the folder is writable and the disk has space",
            path.display()
        )
    })
}

/// The file's bytes, decompressed if they start with the gzip magic.
fn read_decompressed(path: &Path) -> anyhow::Result<Vec<u8>> {
    let raw = fs::read(path).map_err(|error| match error.kind() {
        io::ErrorKind::NotFound => anyhow::anyhow!(
            "{} not found. The data folder {} must hold the four canonical files {}; \
             pass --data with a folder that does, or --dataset mnist (or fashion-mnist) to download them",
            path.display(),
            path.parent().unwrap_or(Path::new(".")).display(),
            super::FILE_NAMES.join(", ")
        ),
        _ => anyhow::Error::new(error)
            .context(format!("could not read {}: check that it is a readable file", path.display())),
    })?;
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut bytes = Vec::new();
    // Multi-member decoding also accepts files recompressed in parallel (pigz), and it treats
    // anything after the last member as an error instead of silently ignoring it.
    MultiGzDecoder::new(&raw[..])
        .read_to_end(&mut bytes)
        .with_context(|| {
            format!(
                "{} is not a valid gzip file (damaged or incomplete download?); \
             delete it and get it again",
                path.display()
            )
        })?;
    Ok(bytes)
}

/// Splits an IDX file of the given kind and `N` dimensions into its sizes and its data, checking
/// the sizes against the actual length.
fn parse<'a, const N: usize>(
    path: &Path,
    bytes: &'a [u8],
    kind: Kind,
) -> anyhow::Result<([usize; N], &'a [u8])> {
    let file = path.display();
    let word = |i: usize| u32::from_be_bytes(bytes[4 * i..4 * (i + 1)].try_into().unwrap());
    // The magic number is checked first, so that a swapped file is named as such even when it is
    // too short to be the kind expected.
    if bytes.len() >= 4 && word(0) != kind.magic() {
        let magic = word(0);
        let looks_like = match Kind::ALL.into_iter().find(|other| other.magic() == magic) {
            Some(other) => format!(
                "this looks like an IDX {} file; check that the files are not swapped",
                other.noun()
            ),
            None => "this is not an MNIST-style IDX file, gzip-compressed or raw; \
                     replace it with the canonical file"
                .to_string(),
        };
        bail!(
            "{file} has magic number {magic:#010x} where an IDX {} file has {:#010x}: {looks_like}",
            kind.noun(),
            kind.magic()
        );
    }
    let header_len = 4 * (1 + N);
    ensure!(
        bytes.len() >= header_len,
        "{file} is too short for an IDX {} file: its header alone takes {header_len} bytes, the file has {}; \
         delete it and get it again",
        kind.noun(),
        bytes.len()
    );
    let data = &bytes[header_len..];
    let sizes: [usize; N] = std::array::from_fn(|i| word(1 + i) as usize);
    ensure!(
        !sizes.contains(&0),
        "{file} declares an empty {} set (sizes {sizes:?}); replace it with a file that holds data",
        kind.noun()
    );
    let expected = checked_product(&sizes).with_context(|| {
        format!(
            "{file} declares impossibly large sizes {sizes:?}; replace it with the canonical file"
        )
    })?;
    ensure!(
        data.len() >= expected,
        "{file} is truncated: its header announces {expected} bytes of {} (sizes {sizes:?}) but only {} follow; \
         delete it and get it again",
        kind.noun(),
        data.len()
    );
    ensure!(
        data.len() == expected,
        "{file} has {} unexpected bytes after the {expected} bytes of {} its header announces (sizes {sizes:?}); \
         replace it with the canonical file",
        data.len() - expected,
        kind.noun()
    );
    Ok((sizes, data))
}

fn checked_product(sizes: &[usize]) -> Option<usize> {
    sizes
        .iter()
        .try_fold(1usize, |product, &size| product.checked_mul(size))
}

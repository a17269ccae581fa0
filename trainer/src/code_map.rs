//! The map of codes: where the dense autoencoder puts images in its bottleneck, seen along the two
//! directions in which the codes vary most (principal component analysis), and each code
//! dimension's spread, which gives the page's sliders their ranges.

use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use bottleneck::card::CodeSpread;
use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;

/// Steps of a map position: each coordinate is stored as an integer in 0..=QUANTIZED over its
/// extent, a thousandth of the map's width, finer than the page draws it, in at most four digits.
pub const QUANTIZED: u16 = 1000;

/// Upper bound on cyclic Jacobi sweeps. Convergence is quadratic: a 10×10 matrix is diagonal to
/// rounding after well under ten, so the bound is never what stops the loop.
const MAX_SWEEPS: usize = 64;

/// The mean and the two principal axes of a set of codes.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// The mean code.
    pub mean: Vec<f64>,
    /// Unit vectors along the largest and the second-largest variance, each with its
    /// largest-magnitude component positive (the first such component on a tie), so that the
    /// same codes always give the same axes.
    pub axes: [Vec<f64>; 2],
    /// Share (0 to 1) of the codes' total variance along each axis.
    pub variance_share: [f64; 2],
}

impl Pca {
    /// The PCA of `codes`, one per row. Errors if there are fewer than 2 codes or 2 values per
    /// code, if a value is NaN or infinite, or if all codes are equal (no direction to find).
    pub fn fit(codes: ArrayView2<f32>) -> Result<Pca> {
        let (count, width) = codes.dim();
        ensure!(
            count >= 2,
            "a map of codes needs at least 2 codes, got {count}: encode more images"
        );
        ensure!(
            width >= 2,
            "codes of {width} value(s) have no second axis to map"
        );
        ensure_finite(codes)?;
        let first = codes.row(0);
        ensure!(
            codes.rows().into_iter().any(|code| code != first),
            "all {count} codes are equal, so there is no spread to map: the encoder gives every image the same code; retrain the model"
        );
        let codes = codes.mapv(f64::from);
        let mean = codes.mean_axis(Axis(0)).expect("at least 2 codes");
        let centred = &codes - &mean;
        let covariance = centred.t().dot(&centred) / count as f64;
        // Positive: the codes are finite and not all equal.
        let total_variance = covariance.diag().sum();
        let (variances, vectors) = symmetric_eigen(covariance);
        let axis = |k: usize| with_positive_peak(vectors.column(k).to_vec());
        Ok(Pca {
            mean: mean.to_vec(),
            axes: [axis(0), axis(1)],
            // Rounding can leave an eigenvalue of a flat direction a hair below zero.
            variance_share: [0usize, 1].map(|k| variances[k].max(0.0) / total_variance),
        })
    }

    /// The 2-D position (a, b) of `code`: (code − mean)·axis1 and (code − mean)·axis2.
    pub fn position(&self, code: ArrayView1<f32>) -> [f64; 2] {
        self.axes.each_ref().map(|axis| {
            code.iter()
                .zip(&self.mean)
                .zip(axis)
                .map(|((&z, mean), u)| (f64::from(z) - mean) * u)
                .sum()
        })
    }
}

/// Per dimension, the least and greatest value of `codes` (one per row). Errors if there are no
/// codes or a value is NaN or infinite.
pub fn code_spread(codes: ArrayView2<f32>) -> Result<CodeSpread> {
    ensure!(
        codes.nrows() > 0,
        "the code spread needs at least one code: the training split is empty"
    );
    ensure_finite(codes)?;
    let fold = |start: f32, pick: fn(f32, f32) -> f32| -> Vec<f32> {
        codes
            .columns()
            .into_iter()
            .map(|column| column.fold(start, |acc, &v| pick(acc, v)))
            .collect()
    };
    Ok(CodeSpread {
        lo: fold(f32::INFINITY, f32::min),
        hi: fold(f32::NEG_INFINITY, f32::max),
    })
}

/// The file `dense.map.json`: the PCA of a split's codes and every image's quantized position on
/// its two axes, with its label, from which the page draws the map and decodes a point of it
/// (mean + a·axis1 + b·axis2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeMap {
    /// The model whose encoder made the codes, e.g. "dense".
    pub model: String,
    /// The data set the images came from, e.g. "mnist".
    pub data: String,
    /// Which of its splits: "test".
    pub split: String,
    /// Number of images, and so of points.
    pub count: usize,
    /// The mean code.
    pub mean: Vec<f32>,
    /// The two principal axes, unit vectors as in [`Pca::axes`].
    pub axes: [Vec<f32>; 2],
    /// Share of the codes' total variance along each axis.
    pub variance_share: [f32; 2],
    /// The number of steps a position is quantized to: [`QUANTIZED`].
    pub quantized: u16,
    /// The range of the positions along each axis.
    pub extent: Extent,
    /// One entry per image, in the split's order.
    pub points: Points,
}

/// The range `[lo, hi]` of the positions along each axis; every position lies within it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extent {
    /// Along the first axis.
    pub a: [f32; 2],
    /// Along the second axis.
    pub b: [f32; 2],
}

/// The images' positions and labels as parallel lists: a step `q` stands for the position
/// lo + q·(hi − lo)/quantized of its axis's extent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Points {
    /// Quantized position along the first axis.
    pub a: Vec<u16>,
    /// Quantized position along the second axis.
    pub b: Vec<u16>,
    /// The image's class.
    pub label: Vec<u8>,
}

impl CodeMap {
    /// The map of `codes` (one per row, `labels[i]` the class of row i) from the images of
    /// `data`'s `split`, encoded by `model`. Errors as [`Pca::fit`] does, or if the counts differ.
    pub fn new(
        model: &str,
        data: &str,
        split: &str,
        codes: ArrayView2<f32>,
        labels: &[u8],
    ) -> Result<CodeMap> {
        ensure!(
            labels.len() == codes.nrows(),
            "{} codes but {} labels: give one label per code",
            codes.nrows(),
            labels.len()
        );
        let pca = Pca::fit(codes)?;
        let positions: Vec<[f64; 2]> = codes
            .rows()
            .into_iter()
            .map(|code| pca.position(code))
            .collect();
        let extent = |k: usize| {
            let (lo, hi) = positions
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                    (lo.min(p[k]), hi.max(p[k]))
                });
            [f32_at_or_below(lo), -f32_at_or_below(-hi)]
        };
        let extent = Extent {
            a: extent(0),
            b: extent(1),
        };
        let steps =
            |k: usize, range: [f32; 2]| positions.iter().map(|p| quantize(p[k], range)).collect();
        let to_f32 = |values: &[f64]| values.iter().map(|&v| v as f32).collect::<Vec<f32>>();
        Ok(CodeMap {
            model: model.into(),
            data: data.into(),
            split: split.into(),
            count: codes.nrows(),
            mean: to_f32(&pca.mean),
            axes: pca.axes.each_ref().map(|axis| to_f32(axis)),
            variance_share: pca.variance_share.map(|share| share as f32),
            quantized: QUANTIZED,
            points: Points {
                a: steps(0, extent.a),
                b: steps(1, extent.b),
                label: labels.to_vec(),
            },
            extent,
        })
    }

    /// The position (a, b) that point `index` stands for.
    pub fn point(&self, index: usize) -> [f64; 2] {
        let step = |q: u16, [lo, hi]: [f32; 2]| {
            f64::from(lo)
                + f64::from(q) * (f64::from(hi) - f64::from(lo)) / f64::from(self.quantized)
        };
        [
            step(self.points.a[index], self.extent.a),
            step(self.points.b[index], self.extent.b),
        ]
    }

    /// The map as compact JSON: it is part of the page's download.
    pub fn to_json(&self) -> String {
        // Only non-string map keys or failing custom serializers make serde_json fail, and a map
        // has neither.
        serde_json::to_string(self).expect("a CodeMap always serializes to JSON")
    }

    /// Writes the map to `path` atomically: a reader sees the older file or the whole new one.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, self.to_json().as_bytes())
            .with_context(|| format!("writing {}", path.display()))
    }
}

/// The step nearest `value` within `[lo, hi]`; every step is 0 when the range is a single value.
fn quantize(value: f64, [lo, hi]: [f32; 2]) -> u16 {
    let (lo, hi) = (f64::from(lo), f64::from(hi));
    if hi <= lo {
        return 0;
    }
    let step = ((value - lo) / (hi - lo) * f64::from(QUANTIZED)).round();
    step.clamp(0.0, f64::from(QUANTIZED)) as u16
}

/// The largest f32 at or below `value`, so that a range stored in f32 still holds its values.
fn f32_at_or_below(value: f64) -> f32 {
    let nearest = value as f32;
    if f64::from(nearest) > value {
        nearest.next_down()
    } else {
        nearest
    }
}

/// Errors at the first NaN or infinite value of `codes`.
fn ensure_finite(codes: ArrayView2<f32>) -> Result<()> {
    if let Some(((row, column), _)) = codes.indexed_iter().find(|(_, v)| !v.is_finite()) {
        bail!(
            "code {row} has a NaN or infinite value at position {column}: the encoder's output is broken; re-export the model"
        );
    }
    Ok(())
}

/// `axis`, negated if needed so that its largest-magnitude component (the first, on a tie) is positive.
fn with_positive_peak(mut axis: Vec<f64>) -> Vec<f64> {
    let peak = axis
        .iter()
        .copied()
        .reduce(|peak, v| if v.abs() > peak.abs() { v } else { peak })
        .unwrap_or(0.0);
    if peak < 0.0 {
        axis.iter_mut().for_each(|v| *v = -*v);
    }
    axis
}

/// The eigenvalues of the symmetric matrix `a`, largest first, and its unit eigenvectors as the
/// columns of the second matrix, in the same order, by cyclic Jacobi rotations: each rotation
/// zeroes one off-diagonal pair, and sweeps over all pairs until the off-diagonal part is
/// rounding noise. Slow for large matrices, exact to rounding and short for these small ones.
fn symmetric_eigen(mut a: Array2<f64>) -> (Vec<f64>, Array2<f64>) {
    let n = a.nrows();
    let mut vectors = Array2::<f64>::eye(n);
    let size: f64 = a.iter().map(|v| v * v).sum();
    for _ in 0..MAX_SWEEPS {
        let off_diagonal: f64 = a
            .indexed_iter()
            .filter(|((i, j), _)| i != j)
            .map(|(_, v)| v * v)
            .sum();
        if off_diagonal <= f64::EPSILON * f64::EPSILON * size {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[[p, q]] == 0.0 {
                    continue;
                }
                // The rotation by angle θ in the (p, q) plane with tan θ = t that zeroes a[p][q]; t is
                // the smaller root of t² + 2·theta·t − 1 = 0, so |θ| ≤ π/4.
                let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * a[[p, q]]);
                let t = theta.signum() / (theta.abs() + theta.hypot(1.0));
                let c = 1.0 / t.hypot(1.0);
                let s = t * c;
                let rotate = |x: f64, y: f64| (c * x - s * y, s * x + c * y);
                for k in 0..n {
                    (a[[k, p]], a[[k, q]]) = rotate(a[[k, p]], a[[k, q]]);
                    (vectors[[k, p]], vectors[[k, q]]) = rotate(vectors[[k, p]], vectors[[k, q]]);
                }
                for k in 0..n {
                    (a[[p, k]], a[[q, k]]) = rotate(a[[p, k]], a[[q, k]]);
                }
                // Zero by construction; writing it avoids carrying the rounding residue.
                (a[[p, q]], a[[q, p]]) = (0.0, 0.0);
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a[[j, j]].total_cmp(&a[[i, i]]));
    let values = order.iter().map(|&i| a[[i, i]]).collect();
    (values, vectors.select(Axis(1), &order))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;

    /// Gram–Schmidt on `count` fixed, generic vectors of `width` values: orthonormal directions
    /// that line up with no coordinate axis.
    fn orthonormal(count: usize, width: usize) -> Vec<Array1<f64>> {
        let mut basis: Vec<Array1<f64>> = Vec::new();
        for k in 0..count {
            let mut v = Array1::from_shape_fn(width, |i| {
                ((i * 7 + k * 13 + 3) % 11) as f64 - 4.5 + 0.1 * k as f64
            });
            for u in &basis {
                v = &v - &(u * u.dot(&v));
            }
            basis.push(&v / v.dot(&v).sqrt());
        }
        basis
    }

    /// 16 codes of 10 values: `mean` plus ±`scales[k]` along `axes[k]`, the signs of the three
    /// axes following bits 0, 1 and 2 of the code's index, so the offsets have zero mean, are
    /// uncorrelated, and have variance scales[k]² exactly.
    fn codes_along(mean: &Array1<f64>, axes: &[Array1<f64>], scales: &[f64]) -> Array2<f32> {
        let mut codes = Array2::zeros((16, mean.len()));
        for (index, mut code) in codes.rows_mut().into_iter().enumerate() {
            let mut value = mean.clone();
            for (k, (axis, scale)) in axes.iter().zip(scales).enumerate() {
                let sign = if index >> k & 1 == 0 { 1.0 } else { -1.0 };
                value = value + axis * (sign * scale);
            }
            code.assign(&value.mapv(|v| v as f32));
        }
        codes
    }

    fn assert_close(actual: &[f64], expected: &[f64], tolerance: f64) {
        let worst = actual
            .iter()
            .zip(expected)
            .map(|(a, e)| (a - e).abs())
            .fold(0.0, f64::max);
        assert!(
            actual.len() == expected.len() && worst <= tolerance,
            "{actual:?} vs {expected:?}: off by {worst:e}"
        );
    }

    fn example() -> (Array1<f64>, Vec<Array1<f64>>, Array2<f32>) {
        let mean = Array1::from_shape_fn(10, |i| 0.3 * i as f64 - 1.2);
        let axes = orthonormal(3, 10);
        let codes = codes_along(&mean, &axes, &[3.0, 2.0, 1.0]);
        (mean, axes, codes)
    }

    #[test]
    fn pca_recovers_known_axes_and_variance_shares() {
        let (mean, axes, codes) = example();
        let pca = Pca::fit(codes.view()).unwrap();
        assert_close(&pca.mean, mean.as_slice().unwrap(), 1e-6);
        for (found, known) in pca.axes.iter().zip(&axes) {
            assert_close(found, &with_positive_peak(known.to_vec()), 1e-6);
        }
        assert_close(&pca.variance_share, &[9.0 / 14.0, 4.0 / 14.0], 1e-6);
    }

    #[test]
    fn positions_are_the_codes_projections() {
        let (mean, _, codes) = example();
        let pca = Pca::fit(codes.view()).unwrap();
        for code in codes.rows() {
            let offset = code.mapv(f64::from) - &mean;
            let expected = pca
                .axes
                .each_ref()
                .map(|axis| offset.dot(&Array1::from(axis.clone())));
            assert_close(&pca.position(code), &expected, 1e-5);
            // By construction, each code sits at ±3 on the first axis and ±2 on the second.
            assert_close(&pca.position(code).map(f64::abs), &[3.0, 2.0], 1e-5);
        }
    }

    #[test]
    fn axes_do_not_depend_on_the_codes_order_or_reflection() {
        let (mean, _, codes) = example();
        let pca = Pca::fit(codes.view()).unwrap();
        for axis in &pca.axes {
            let peak = axis.iter().copied().fold(
                0.0,
                |peak: f64, v| if v.abs() > peak.abs() { v } else { peak },
            );
            assert!(peak > 0.0, "{axis:?}");
        }
        // Every code mirrored through the mean, in reverse order: the same directions.
        let mut mirrored = (&mean * 2.0 - codes.mapv(f64::from)).mapv(|v| v as f32);
        mirrored.invert_axis(Axis(0));
        let again = Pca::fit(mirrored.view()).unwrap();
        for k in 0..2 {
            assert_close(&again.axes[k], &pca.axes[k], 1e-6);
        }
    }

    #[test]
    fn codes_on_a_line_give_an_empty_second_axis_and_no_nan() {
        let mean = Array1::from_elem(10, 0.5);
        let axes = orthonormal(1, 10);
        let codes = codes_along(&mean, &axes, &[2.0]);
        let pca = Pca::fit(codes.view()).unwrap();
        assert_close(&pca.variance_share, &[1.0, 0.0], 1e-6);
        let map = CodeMap::new("dense", "synthetic", "test", codes.view(), &[0; 16]).unwrap();
        assert!(
            map.points.b.iter().all(|&q| q <= QUANTIZED),
            "{:?}",
            map.points.b
        );
        assert!(map.axes[1].iter().all(|v| v.is_finite()));
    }

    #[test]
    fn degenerate_codes_are_clear_errors() {
        let message = |codes: Array2<f32>| Pca::fit(codes.view()).unwrap_err().to_string();
        assert!(message(Array2::zeros((1, 10))).contains("at least 2 codes, got 1"));
        assert!(message(Array2::zeros((0, 10))).contains("at least 2 codes, got 0"));
        assert!(message(Array2::zeros((5, 1))).contains("no second axis"));
        assert!(message(Array2::from_elem((5, 10), 0.7)).contains("all 5 codes are equal"));
        let (_, _, mut codes) = example();
        codes[[4, 6]] = f32::NAN;
        assert!(
            message(codes.clone()).contains("code 4 has a NaN or infinite value at position 6")
        );
        codes[[4, 6]] = f32::NEG_INFINITY;
        assert!(message(codes.clone()).contains("code 4"));
        assert!(
            code_spread(codes.view())
                .unwrap_err()
                .to_string()
                .contains("code 4")
        );
        assert!(
            code_spread(Array2::zeros((0, 10)).view())
                .unwrap_err()
                .to_string()
                .contains("at least one code")
        );
        let labels_missing =
            CodeMap::new("dense", "synthetic", "test", example().2.view(), &[1; 3]).unwrap_err();
        assert!(
            labels_missing.to_string().contains("16 codes but 3 labels"),
            "{labels_missing}"
        );
    }

    #[test]
    fn spread_is_the_least_and_greatest_value_per_dimension() {
        let codes = ndarray::array![[1.0f32, -2.0, 0.5], [3.0, -4.0, 0.5], [-1.0, 0.0, 0.5]];
        let spread = code_spread(codes.view()).unwrap();
        assert_eq!(spread.lo, [-1.0, -4.0, 0.5]);
        assert_eq!(spread.hi, [3.0, 0.0, 0.5]);
    }

    #[test]
    fn eigen_solver_diagonalises_a_symmetric_matrix() {
        let b = Array2::from_shape_fn((10, 10), |(i, j)| ((i * 3 + j * 5) % 7) as f64 - 3.0);
        let a = b.t().dot(&b) + Array2::<f64>::eye(10);
        let (values, vectors) = symmetric_eigen(a.clone());
        assert!(
            values.windows(2).all(|pair| pair[0] >= pair[1]),
            "{values:?}"
        );
        let residual = a.dot(&vectors) - &vectors * &Array1::from(values.clone());
        assert!(residual.iter().all(|v| v.abs() < 1e-10), "{residual}");
        let identity = vectors.t().dot(&vectors) - Array2::<f64>::eye(10);
        assert!(identity.iter().all(|v| v.abs() < 1e-12), "{identity}");
    }

    #[test]
    fn map_round_trips_through_its_file_to_within_half_a_step() {
        let (_, _, codes) = example();
        let labels: Vec<u8> = (0..16).map(|i| i % 10).collect();
        let map = CodeMap::new("dense", "synthetic", "test", codes.view(), &labels).unwrap();
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("dense.map.json");
        map.write(&path).unwrap();
        let read: CodeMap = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(read, map);
        assert_eq!(
            (read.count, read.split.as_str(), read.quantized),
            (16, "test", QUANTIZED)
        );
        assert_eq!(read.points.label, labels);
        let pca = Pca::fit(codes.view()).unwrap();
        let half_step =
            |[lo, hi]: [f32; 2]| 0.5 * (f64::from(hi) - f64::from(lo)) / f64::from(QUANTIZED);
        let extents = [read.extent.a, read.extent.b];
        for (index, code) in codes.rows().into_iter().enumerate() {
            let (stored, exact) = (read.point(index), pca.position(code));
            for k in 0..2 {
                let [lo, hi] = extents[k];
                assert!(
                    f64::from(lo) <= exact[k] && exact[k] <= f64::from(hi),
                    "{exact:?} outside {extents:?}"
                );
                assert!(
                    (stored[k] - exact[k]).abs() <= half_step(extents[k]) * (1.0 + 1e-9),
                    "point {index}: {stored:?} vs {exact:?}"
                );
            }
        }
        // The extremes of each axis are the ends of its range.
        for steps in [&read.points.a, &read.points.b] {
            assert_eq!(
                (steps.iter().min(), steps.iter().max()),
                (Some(&0), Some(&QUANTIZED))
            );
        }
    }

    #[test]
    fn a_failed_map_write_leaves_no_partial_file() {
        let (_, _, codes) = example();
        let map = CodeMap::new("dense", "synthetic", "test", codes.view(), &[7; 16]).unwrap();
        let folder = tempfile::tempdir().unwrap();
        // A folder where the map should go makes the final rename fail after the data is written.
        let path = folder.path().join("dense.map.json");
        std::fs::create_dir(&path).unwrap();
        let error = map.write(&path).unwrap_err();
        assert!(format!("{error:#}").contains("dense.map.json"), "{error:#}");
        let entries: Vec<_> = std::fs::read_dir(folder.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(entries, ["dense.map.json"]);
        assert!(path.is_dir() && std::fs::read_dir(&path).unwrap().next().is_none());
    }
}

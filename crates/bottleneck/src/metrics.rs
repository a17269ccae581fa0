//! Reconstruction and detection metrics. Sums are accumulated in `f64` so that whole data sets
//! (tens of millions of pixels) do not lose precision.
//!
//! These functions return plain numbers rather than `Result`: inputs they cannot score
//! (mismatched lengths, empty slices, NaN) give NaN, which callers display or test with
//! `is_nan`, and never a panic.

/// Keras clamps predictions to [ε, 1 − ε] with this ε before taking logarithms.
const BCE_EPSILON: f64 = 1e-7;

/// Mean squared difference; NaN if the lengths differ or the slices are empty.
pub fn mse(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return f64::NAN;
    }
    squared_distance(a, b) / a.len() as f64
}

/// Euclidean norm of `a − b`, the anomaly score of a reconstruction; NaN if the lengths differ.
pub fn l2_error(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return f32::NAN;
    }
    squared_distance(a, b).sqrt() as f32
}

/// Peak signal-to-noise ratio in dB for peak value 1: 10·log10(1 / MSE). Pass a whole set,
/// concatenated, for the set-level PSNR. Identical inputs give `f64::INFINITY`.
pub fn psnr(clean: &[f32], other: &[f32]) -> f64 {
    // log10(0) = −∞, so a zero MSE yields +∞ without a special case; NaN stays NaN.
    -10.0 * mse(clean, other).log10()
}

/// Mean binary cross-entropy of `prediction` against `target`, with predictions clamped to
/// [1e-7, 1 − 1e-7] as Keras does; NaN if the lengths differ or the slices are empty.
pub fn bce(target: &[f32], prediction: &[f32]) -> f64 {
    if target.len() != prediction.len() || target.is_empty() {
        return f64::NAN;
    }
    let total: f64 = target
        .iter()
        .zip(prediction)
        .map(|(&t, &p)| {
            let (t, p) = (
                f64::from(t),
                f64::from(p).clamp(BCE_EPSILON, 1.0 - BCE_EPSILON),
            );
            -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
        })
        .sum();
    total / target.len() as f64
}

/// The `q`-th percentile (q in [0, 100]) of ascending `sorted`, interpolating linearly between
/// neighbours like numpy's default. NaN if `sorted` is empty or `q` is outside [0, 100].
pub fn percentile(sorted: &[f32], q: f64) -> f32 {
    if sorted.is_empty() || !(0.0..=100.0).contains(&q) {
        return f32::NAN;
    }
    // q ≤ 100 keeps `position` ≤ len − 1 (rounding is monotonic), so both indices are in range.
    let position = q / 100.0 * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let (low, high) = (f64::from(sorted[below]), f64::from(sorted[above]));
    (low + (high - low) * (position - below as f64)) as f32
}

/// Percentage (0 to 100) of the values in ascending `sorted` that are ≤ `value`. NaN if
/// `sorted` is empty or `value` is NaN.
pub fn percentile_rank(sorted: &[f32], value: f32) -> f64 {
    if sorted.is_empty() || value.is_nan() {
        return f64::NAN;
    }
    let at_or_below = sorted.partition_point(|&x| x <= value);
    100.0 * at_or_below as f64 / sorted.len() as f64
}

/// Area under the ROC curve: the probability that a random anomaly scores higher than a random
/// normal sample, ties counting ½ (the Mann–Whitney U statistic, O(n log n)).
///
/// NaN if either set is empty or any score is NaN: a NaN score means the model broke, and no
/// ordering of it would give a meaningful AUROC.
pub fn auroc(normal_scores: &[f32], anomaly_scores: &[f32]) -> f64 {
    let all = || normal_scores.iter().chain(anomaly_scores);
    if normal_scores.is_empty() || anomaly_scores.is_empty() || all().any(|s| s.is_nan()) {
        return f64::NAN;
    }
    let mut labelled: Vec<(f32, bool)> = normal_scores
        .iter()
        .map(|&s| (s, false))
        .chain(anomaly_scores.iter().map(|&s| (s, true)))
        .collect();
    labelled.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Tied scores share the mean of the ranks they span. Grouping by `==` after the total-order
    // sort also joins −0.0 and +0.0, which that sort keeps adjacent.
    let mut anomaly_rank_sum = 0.0;
    let mut ranks_before = 0usize;
    for tie in labelled.chunk_by(|a, b| a.0 == b.0) {
        let mean_rank = ranks_before as f64 + (tie.len() as f64 + 1.0) / 2.0;
        let anomalies = tie.iter().filter(|(_, is_anomaly)| *is_anomaly).count();
        anomaly_rank_sum += mean_rank * anomalies as f64;
        ranks_before += tie.len();
    }
    let (anomalies, normals) = (anomaly_scores.len() as f64, normal_scores.len() as f64);
    (anomaly_rank_sum - anomalies * (anomalies + 1.0) / 2.0) / (anomalies * normals)
}

/// Sum of squared differences of equally long slices.
fn squared_distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum()
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use super::*;

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() < 1e-9 * expected.abs().max(1.0)
    }

    #[test]
    fn mse_and_l2_match_hand_computed_values() {
        let (a, b) = ([0.0, 1.0, 0.5, 0.25], [1.0, 1.0, 0.0, 0.25]);
        assert!(close(mse(&a, &b), (1.0 + 0.25) / 4.0));
        assert!((l2_error(&a, &b) - 1.25f32.sqrt()).abs() < 1e-7);
        assert!((l2_error(&[3.0, 0.0], &[0.0, 4.0]) - 5.0).abs() < 1e-7);
        assert_eq!(l2_error(&[], &[]), 0.0);
    }

    #[test]
    fn unscorable_inputs_give_nan() {
        assert!(mse(&[1.0], &[1.0, 2.0]).is_nan());
        assert!(mse(&[], &[]).is_nan());
        assert!(l2_error(&[1.0], &[]).is_nan());
        assert!(bce(&[1.0], &[]).is_nan());
        assert!(psnr(&[], &[]).is_nan());
        assert!(percentile(&[], 50.0).is_nan());
        assert!(percentile(&[1.0], 100.5).is_nan());
        assert!(percentile(&[1.0], f64::NAN).is_nan());
        assert!(percentile_rank(&[], 1.0).is_nan());
        assert!(percentile_rank(&[1.0], f32::NAN).is_nan());
    }

    #[test]
    fn psnr_of_known_mse_and_of_identical_images() {
        // MSE 0.25 → 10·log10(4) dB.
        assert!(close(psnr(&[0.0, 0.0], &[0.5, -0.5]), 10.0 * 4f64.log10()));
        assert_eq!(psnr(&[0.3, 0.7], &[0.3, 0.7]), f64::INFINITY);
    }

    #[test]
    fn bce_matches_hand_computed_values_and_clamps_like_keras() {
        assert!(close(bce(&[1.0, 0.0], &[0.5, 0.5]), std::f64::consts::LN_2));
        let soft = -(0.3 * 0.8f64.ln() + 0.7 * 0.2f64.ln());
        assert!((bce(&[0.3], &[0.8]) - soft).abs() < 1e-6);
        // A confident wrong answer costs −ln(1e-7), not infinity.
        assert!(close(bce(&[1.0], &[0.0]), -(1e-7f64).ln()));
        assert!(close(bce(&[0.0], &[1.0]), -(1e-7f64).ln()));
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let values: Vec<f32> = (1..=100).map(|v| v as f32).collect();
        let cases = [
            (0.0, 1.0),
            (25.0, 25.75),
            (50.0, 50.5),
            (90.0, 90.1),
            (99.9, 99.901),
            (100.0, 100.0),
        ];
        for (q, expected) in cases {
            assert!((percentile(&values, q) - expected).abs() < 1e-4, "q = {q}");
        }
        assert_eq!(percentile(&[7.0], 30.0), 7.0);
        assert_eq!(percentile(&[0.0, 10.0], 30.0), 3.0);
    }

    #[test]
    fn percentile_rank_counts_values_at_or_below() {
        let values: Vec<f32> = (1..=100).map(|v| v as f32).collect();
        assert_eq!(percentile_rank(&values, 0.5), 0.0);
        assert_eq!(percentile_rank(&values, 1.0), 1.0);
        assert_eq!(percentile_rank(&values, 50.5), 50.0);
        assert_eq!(percentile_rank(&values, 100.0), 100.0);
        assert_eq!(percentile_rank(&[1.0, 2.0, 2.0, 3.0], 2.0), 75.0);
    }

    #[test]
    fn auroc_of_separated_reversed_identical_and_mixed_sets() {
        assert_eq!(auroc(&[0.1, 0.2, 0.3], &[0.5, 0.9]), 1.0);
        assert_eq!(auroc(&[0.5, 0.9], &[0.1, 0.2, 0.3]), 0.0);
        assert_eq!(auroc(&[0.4; 5], &[0.4; 3]), 0.5);
        // Anomaly 2 beats 1, ties 2, loses to 3 (1.5 of 3); anomaly 4 beats all three: 4.5 / 6.
        assert!(close(auroc(&[1.0, 2.0, 3.0], &[2.0, 4.0]), 0.75));
        assert_eq!(auroc(&[-0.0], &[0.0]), 0.5);
    }

    #[test]
    fn auroc_agrees_with_counting_all_pairs() {
        let normal: Vec<f32> = (0..40).map(|i| ((i * 37) % 23) as f32).collect();
        let anomaly: Vec<f32> = (0..30).map(|i| ((i * 11) % 29) as f32 + 3.0).collect();
        let wins: f64 = anomaly
            .iter()
            .flat_map(|a| {
                normal.iter().map(move |n| match a.partial_cmp(n) {
                    Some(Ordering::Greater) => 1.0,
                    Some(Ordering::Equal) => 0.5,
                    _ => 0.0,
                })
            })
            .sum();
        assert!(close(auroc(&normal, &anomaly), wins / (40.0 * 30.0)));
    }

    #[test]
    fn auroc_of_nan_or_empty_is_nan() {
        assert!(auroc(&[], &[1.0]).is_nan());
        assert!(auroc(&[1.0], &[]).is_nan());
        assert!(auroc(&[1.0, f32::NAN], &[2.0]).is_nan());
    }
}

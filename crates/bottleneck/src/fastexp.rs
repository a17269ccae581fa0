//! A branch-free eˣ for the activation layers, the trainer's and the page's. The libm `expf` is a
//! function call per value, which keeps the element-wise loops scalar; this one inlines into them,
//! so they vectorise (with AVX-512 natively, wasm SIMD in the browser).

/// 1.5·2²³: adding and subtracting it rounds an f32 to the nearest integer without SSE4.1's `roundps`.
const ROUND_MAGIC: f32 = 12_582_912.0;
/// ln 2 split in two so n·ln 2 is exact in the high part (Cody–Waite reduction).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// eˣ with a relative error below 3e-7, for every finite x. Inputs are clamped to [−87, 88], so
/// results stay normal floats: e⁻⁸⁷ stands in for anything smaller, e⁸⁸ for anything larger.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // eˣ = 2ⁿ · eʳ with n = round(x / ln 2) and |r| ≤ ln 2 / 2.
    let shifted = x * std::f32::consts::LOG2_E + ROUND_MAGIC;
    let n = shifted - ROUND_MAGIC;
    // n as an integer, read off the bits: unlike `n as i32`, which saturates and so stays scalar,
    // integer subtraction vectorises.
    let n_int = (shifted.to_bits() as i32).wrapping_sub(ROUND_MAGIC.to_bits() as i32);
    let r = x - n * LN2_HI - n * LN2_LO;
    // Cephes' minimax polynomial for eʳ − 1 − r on that interval.
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let er = p * r * r + r + 1.0;
    er * f32::from_bits(((n_int + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::exp;

    #[test]
    fn matches_std_exp() {
        let mut worst = 0.0f64;
        for i in -870_000..=880_000 {
            let x = i as f32 * 1e-4;
            let (got, want) = (f64::from(exp(x)), f64::from(x).exp());
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
    }

    #[test]
    fn clamps_instead_of_overflowing() {
        assert!(exp(-1000.0) > 0.0 && exp(-1000.0) < 1e-37);
        assert!(exp(1000.0).is_finite());
        assert_eq!(exp(0.0), 1.0);
    }
}

//! A small seeded random number generator whose output is bit-identical on every platform, so
//! the trainer (native) and the page (wasm) draw exactly the same noise from the same seed.
//!
//! The generator is xoshiro256** seeded through splitmix64, as its authors recommend. Only
//! integer operations and correctly rounded IEEE arithmetic (+, −, ×, ÷, √) are used; in
//! particular `normal` avoids `f64::ln`, whose last bit depends on the platform's math library.

use std::f64::consts::{LN_2, SQRT_2};

/// Odd constant ⌊2⁶⁴/φ⌋ used as the splitmix64 increment.
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// A deterministic xoshiro256** pseudo-random number generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    state: [u64; 4],
}

impl Rng {
    /// A generator whose whole sequence is determined by `seed`.
    pub fn new(seed: u64) -> Rng {
        let mut seeder = seed;
        // splitmix64 is a bijection of its counter, so four consecutive outputs are never all
        // zero — the one state xoshiro must avoid.
        Rng {
            state: std::array::from_fn(|_| splitmix64(&mut seeder)),
        }
    }

    /// The next 64 uniformly distributed random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform `f32` in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        // 24 random bits fill the f32 mantissa exactly, so the result is never rounded up to 1.
        (self.next_u64() >> 40) as f32 / (1u32 << 24) as f32
    }

    /// A standard normal `f32` (mean 0, variance 1), by Marsaglia's polar method.
    pub fn normal(&mut self) -> f32 {
        loop {
            let u = 2.0 * self.unit_f64() - 1.0;
            let v = 2.0 * self.unit_f64() - 1.0;
            let s = u * u + v * v;
            // Rejecting s == 0 keeps ln(s) finite; the loop ends after 1.27 rounds on average.
            if s > 0.0 && s < 1.0 {
                return (u * (-2.0 * portable_ln(s) / s).sqrt()) as f32;
            }
        }
    }

    /// A uniform index in `0..n`. `n == 0` is treated as `n == 1` and yields 0, so that a
    /// mistaken empty range cannot panic inside the browser.
    pub fn below(&mut self, n: usize) -> usize {
        let n = n.max(1) as u64;
        // Lemire's multiply-shift: the high word of x·n is uniform in 0..n once the few low
        // words that would bias it are rejected.
        let threshold = n.wrapping_neg() % n;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(n);
            if product as u64 >= threshold {
                return (product >> 64) as usize;
            }
        }
    }

    /// Shuffles `items` in place; every permutation is equally likely (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for last in (1..items.len()).rev() {
            items.swap(last, self.below(last + 1));
        }
    }

    /// A uniform `f64` in [0, 1) with 53 random bits.
    fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A seed for stream `stream` of a run seeded with `seed` (e.g. per epoch, per image), so that
/// each stream's numbers do not depend on the order in which streams are drawn.
pub fn derive_seed(seed: u64, stream: u64) -> u64 {
    // Hashing the stream before combining keeps nearby pairs such as (1, 0) and (0, 1) apart;
    // hashing again makes every output bit depend on both inputs.
    let mut stream_state = stream;
    let mut combined = seed ^ splitmix64(&mut stream_state);
    splitmix64(&mut combined)
}

/// Advances a splitmix64 counter and returns its well-mixed output.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(GOLDEN_GAMMA);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Natural logarithm of a normal (non-subnormal) positive `x`, from basic IEEE operations only so
/// the result is the same on every platform. Inputs from `normal` are at least 2⁻¹⁰⁴.
fn portable_ln(x: f64) -> f64 {
    const MANTISSA_BITS: u64 = (1 << 52) - 1;
    const EXPONENT_BIAS: i64 = 1023;
    // x = m · 2^e with m in [1, 2).
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7FF) as i64 - EXPONENT_BIAS;
    let mantissa = f64::from_bits((bits & MANTISSA_BITS) | ((EXPONENT_BIAS as u64) << 52));
    // Moving m into [√½, √2) keeps the series argument below 0.172 in magnitude.
    let (mantissa, exponent) = if mantissa > SQRT_2 {
        (mantissa / 2.0, exponent + 1)
    } else {
        (mantissa, exponent)
    };
    // ln m = 2·atanh(t) = 2·(t + t³/3 + t⁵/5 + …) with t = (m−1)/(m+1); t² < 0.03, so twelve
    // terms are below f64 rounding.
    let t = (mantissa - 1.0) / (mantissa + 1.0);
    let t_squared = t * t;
    let mut power = t;
    let mut series = 0.0;
    for k in 0..12 {
        series += power / f64::from(2 * k + 1);
        power *= t_squared;
    }
    exponent as f64 * LN_2 + 2.0 * series
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_reference_outputs() {
        let mut state = 0;
        assert_eq!(splitmix64(&mut state), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(&mut state), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn xoshiro_matches_reference_outputs() {
        // Reference values of xoshiro256** started from the raw state [1, 2, 3, 4].
        let mut rng = Rng {
            state: [1, 2, 3, 4],
        };
        let outputs: Vec<u64> = (0..4).map(|_| rng.next_u64()).collect();
        assert_eq!(outputs, [11520, 0, 1509978240, 1215971899390074240]);
    }

    #[test]
    fn same_seed_gives_same_sequence_and_different_seeds_differ() {
        let draw = |seed| {
            let mut rng = Rng::new(seed);
            (0..16).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        assert_ne!(draw(0), draw(1));
    }

    #[test]
    fn uniform_stays_in_unit_interval_with_mean_one_half() {
        let mut rng = Rng::new(1);
        let draws: Vec<f32> = (0..100_000).map(|_| rng.uniform()).collect();
        assert!(draws.iter().all(|&u| (0.0..1.0).contains(&u)));
        let mean = draws.iter().map(|&u| f64::from(u)).sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
    }

    #[test]
    fn normal_has_zero_mean_unit_variance_and_normal_tails() {
        let mut rng = Rng::new(2);
        let draws: Vec<f64> = (0..100_000).map(|_| f64::from(rng.normal())).collect();
        let n = draws.len() as f64;
        let mean = draws.iter().sum::<f64>() / n;
        let variance = draws.iter().map(|z| (z - mean).powi(2)).sum::<f64>() / n;
        // P(|Z| > 1.96) = 5% for a standard normal; a wrong transform shifts this a lot.
        let tails = draws.iter().filter(|z| z.abs() > 1.96).count() as f64 / n;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((variance - 1.0).abs() < 0.03, "variance {variance}");
        assert!((tails - 0.05).abs() < 0.004, "tail share {tails}");
        assert!(draws.iter().all(|z| z.is_finite()));
    }

    #[test]
    fn portable_ln_agrees_with_std() {
        let mut rng = Rng::new(3);
        let samples = (0..10_000).map(|_| rng.unit_f64()).chain([
            f64::MIN_POSITIVE,
            2f64.powi(-104),
            0.5,
            std::f64::consts::FRAC_1_SQRT_2,
            std::f64::consts::FRAC_1_SQRT_2.next_up(),
            0.999_999_999,
            1.0 - 1e-16,
            3.0,
            1e300,
        ]);
        for x in samples.filter(|&x| x > 0.0) {
            let (ours, reference) = (portable_ln(x), x.ln());
            assert!(
                (ours - reference).abs() <= 1e-14 * reference.abs().max(1e-300),
                "ln({x})"
            );
        }
        assert_eq!(portable_ln(1.0), 0.0);
    }

    #[test]
    fn below_stays_in_range_and_covers_it_evenly() {
        let mut rng = Rng::new(4);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[rng.below(7)] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_500..10_500).contains(&c)),
            "{counts:?}"
        );
        assert!((0..100).all(|_| rng.below(1) == 0));
        assert_eq!(rng.below(0), 0);
    }

    #[test]
    fn shuffle_permutes_deterministically() {
        let shuffled = |seed| {
            let mut items: Vec<u32> = (0..100).collect();
            Rng::new(seed).shuffle(&mut items);
            items
        };
        let once = shuffled(5);
        assert_eq!(once, shuffled(5));
        assert_ne!(once, (0..100).collect::<Vec<_>>());
        let mut sorted = once.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        let mut empty: [u8; 0] = [];
        Rng::new(5).shuffle(&mut empty);
    }

    #[test]
    fn derived_seeds_do_not_collide() {
        let mut seeds: Vec<u64> = (0..32)
            .flat_map(|seed| (0..1000).map(move |stream| derive_seed(seed, stream)))
            .collect();
        seeds.sort_unstable();
        seeds.dedup();
        assert_eq!(seeds.len(), 32 * 1000);
        assert_ne!(derive_seed(1, 0), derive_seed(0, 1));
    }
}

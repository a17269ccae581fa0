//! The machine's limit: the f32 fused multiply-add peak of all its cores, measured with a small SIMD
//! kernel picked at run time, so that `trainer bench` can say how close training comes to it.
//!
//! Each thread runs `CHAINS` independent chains of `acc = acc·FACTOR + ADDEND` in vector registers.
//! One chain alone would wait on each FMA's latency; twelve cover the latency of two FMA units (about
//! 4 cycles each on recent x86 cores) and still fit, with the two constants, in the 16 registers of
//! AVX2. Every accumulator starts from a different value, so the compiler cannot merge chains or
//! lanes, and the results go through `black_box`, so the loop cannot be dropped.

use crate::cpu_time::thread_cpu_seconds;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Independent accumulator registers per thread.
const CHAINS: usize = 12;
/// Kernel iterations between two looks at the clock: a few milliseconds of work with any kernel.
const ITERATIONS_PER_CHUNK: u64 = 1 << 20;
/// Each iteration maps an accumulator `a` to `a·FACTOR + ADDEND`: every chain converges to 2 with no
/// overflow and no subnormals (which would slow some CPUs down), and its first values are exact in
/// f32, so a test can compare them with the closed form.
const FACTOR: f32 = 0.5;
/// See `FACTOR`.
const ADDEND: f32 = 1.0;

/// A kernel the peak can be measured with; `detect` picks the widest this CPU runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// 16 f32 lanes, `vfmadd` on zmm registers.
    #[cfg(target_arch = "x86_64")]
    Avx512,
    /// 8 f32 lanes, `vfmadd` on ymm registers.
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
    /// 4 f32 lanes, `fmla` on q registers.
    #[cfg(target_arch = "aarch64")]
    Neon,
    /// One f32 at a time, a multiply and an add: for CPUs with none of the above.
    Scalar,
}

impl Kernel {
    /// Every kernel of this build, widest first.
    const ALL: &'static [Kernel] = &[
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512,
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma,
        #[cfg(target_arch = "aarch64")]
        Kernel::Neon,
        Kernel::Scalar,
    ];

    /// The widest kernel this CPU supports.
    pub fn detect() -> Kernel {
        Kernel::ALL
            .iter()
            .copied()
            .find(|kernel| kernel.supported())
            .expect("the scalar kernel runs anywhere")
    }

    /// Whether this CPU has the instructions the kernel is compiled for.
    pub fn supported(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => std::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => {
                std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            Kernel::Scalar => true,
        }
    }

    /// The name printed with the peak, e.g. `AVX-512F`.
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => "AVX-512F",
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => "AVX2+FMA",
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon => "NEON",
            Kernel::Scalar => "scalar",
        }
    }

    /// f32 lanes per register.
    fn lanes(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => 16,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => 8,
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon => 4,
            Kernel::Scalar => 1,
        }
    }

    /// FLOPs of one iteration: a multiply and an add per lane of every chain.
    fn flops_per_iteration(self) -> u64 {
        (2 * CHAINS * self.lanes()) as u64
    }

    /// Runs `iterations` of the kernel and returns its `CHAINS × lanes` accumulators, chain by
    /// chain. Accumulator `i` starts at `i` and becomes `acc·factor + addend` at every iteration.
    ///
    /// Panics if this CPU does not support the kernel.
    fn run(self, iterations: u64, factor: f32, addend: f32) -> Vec<f32> {
        assert!(
            self.supported(),
            "this CPU cannot run the {} kernel",
            self.name()
        );
        // SAFETY (every arm): `supported` just found the features each function is compiled for.
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { avx512(iterations, factor, addend) }.to_vec(),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => unsafe { avx2_fma(iterations, factor, addend) }.to_vec(),
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon => unsafe { neon(iterations, factor, addend) }.to_vec(),
            Kernel::Scalar => unsafe { scalar(iterations, factor, addend) }.to_vec(),
        }
    }
}

/// Defines one kernel: `CHAINS` registers of `$lanes` f32s, loaded, splatted and stored by the given
/// functions, each updated by `$fma` (an expression of the accumulator, the factor and the addend)
/// `iterations` times. The function is `unsafe`: call it only on a CPU with its target features.
macro_rules! kernel {
    (
        $(#[$attribute:meta])*
        fn $name:ident($vector:ty; $lanes:literal lanes; $load:path, $splat:path, $store:path)
        |$acc:ident, $factor:ident, $addend:ident| $fma:expr
    ) => {
        $(#[$attribute])*
        unsafe fn $name(iterations: u64, factor: f32, addend: f32) -> [f32; CHAINS * $lanes] {
            let mut values = [0.0f32; CHAINS * $lanes];
            for (i, value) in values.iter_mut().enumerate() {
                *value = i as f32;
            }
            // SAFETY: the caller checked the target features; every load and store stays inside
            // `values`, `CHAINS` registers of `$lanes` floats.
            unsafe {
                let ($factor, $addend) = ($splat(factor), $splat(addend));
                let mut chains: [$vector; CHAINS] = [$splat(0.0); CHAINS];
                for (c, chain) in chains.iter_mut().enumerate() {
                    *chain = $load(values.as_ptr().add(c * $lanes));
                }
                for _ in 0..iterations {
                    for chain in &mut chains {
                        let $acc = *chain;
                        *chain = $fma;
                    }
                }
                for (c, chain) in chains.into_iter().enumerate() {
                    $store(values.as_mut_ptr().add(c * $lanes), chain);
                }
            }
            values
        }
    };
}

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m256, __m512, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_storeu_ps,
    _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_storeu_ps,
};

kernel! {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn avx512(__m512; 16 lanes; _mm512_loadu_ps, _mm512_set1_ps, _mm512_storeu_ps)
    |acc, factor, addend| _mm512_fmadd_ps(acc, factor, addend)
}

kernel! {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn avx2_fma(__m256; 8 lanes; _mm256_loadu_ps, _mm256_set1_ps, _mm256_storeu_ps)
    |acc, factor, addend| _mm256_fmadd_ps(acc, factor, addend)
}

#[cfg(target_arch = "aarch64")]
use std::arch::aarch64::{float32x4_t, vdupq_n_f32, vfmaq_f32, vld1q_f32, vst1q_f32};

kernel! {
    #[cfg(target_arch = "aarch64")]
    #[target_feature(enable = "neon")]
    fn neon(float32x4_t; 4 lanes; vld1q_f32, vdupq_n_f32, vst1q_f32)
    // vfmaq_f32(a, b, c) is a + b·c.
    |acc, factor, addend| vfmaq_f32(addend, acc, factor)
}

kernel! {
    fn scalar(f32; 1 lanes; std::ptr::read, std::convert::identity, std::ptr::write)
    |acc, factor, addend| acc * factor + addend
}

/// The f32 peak measured on every thread at once.
#[derive(Clone, Debug)]
pub struct Peak {
    /// The kernel that ran.
    pub kernel: Kernel,
    /// GFLOP/s of each thread by the wall clock, measured while all the others ran too. On a
    /// machine shared with other work this is the rate of the share of the cores the threads got.
    pub per_thread: Vec<f64>,
    /// GFLOP per second each thread spent on a CPU (`cpu_time::thread_cpu_seconds`): the cores'
    /// own rate, whatever share of them the threads got; none where that file does not exist.
    pub per_thread_on_cpu: Option<Vec<f64>>,
}

impl Peak {
    /// GFLOP/s of all threads together by the wall clock: the sum of theirs.
    pub fn total(&self) -> f64 {
        self.per_thread.iter().sum()
    }

    /// The mean GFLOP/s of one thread by the wall clock.
    pub fn mean_per_thread(&self) -> f64 {
        self.total() / self.per_thread.len() as f64
    }

    /// The cores' own rate in all, GFLOP/s: the sum of the threads' rates per second on a CPU, or
    /// where those are unknown, by the wall clock. On a machine shared with other work, the first
    /// stays the hardware's limit while the second falls with the share of the cores left.
    pub fn limit(&self) -> f64 {
        self.per_thread_on_cpu
            .as_ref()
            .map_or_else(|| self.total(), |on_cpu| on_cpu.iter().sum())
    }

    /// The share of the wall-clock time the threads spent on a CPU, from 0 to 1.
    pub fn share_on_cpu(&self) -> Option<f64> {
        let on_cpu: f64 = self.per_thread_on_cpu.as_ref()?.iter().sum();
        Some(self.total() / on_cpu)
    }
}

/// Runs `kernel` on every thread of rayon's pool (the threads training runs on, one per logical
/// CPU unless `RAYON_NUM_THREADS` says otherwise) at the same time: a warm-up of `warm_up`, in which
/// the cores reach the clock speed they hold under this load, then `timed`, whose iterations count.
pub fn measure(kernel: Kernel, warm_up: Duration, timed: Duration) -> Peak {
    let threads = rayon::current_num_threads();
    let barrier = std::sync::Barrier::new(threads);
    let runs = rayon::broadcast(|_| {
        run_for(kernel, warm_up);
        // Every thread starts its timed run once all have warmed up, so the runs overlap.
        barrier.wait();
        let cpu_before = thread_cpu_seconds();
        let (iterations, seconds) = run_for(kernel, timed);
        let cpu_seconds = cpu_before.zip(thread_cpu_seconds()).map(|(a, b)| b - a);
        let gflop = (iterations * kernel.flops_per_iteration()) as f64 / 1e9;
        (gflop / seconds, cpu_seconds.map(|cpu| gflop / cpu))
    });
    let (per_thread, on_cpu): (Vec<f64>, Vec<Option<f64>>) = runs.into_iter().unzip();
    Peak {
        kernel,
        per_thread,
        per_thread_on_cpu: on_cpu.into_iter().collect(),
    }
}

/// Runs `kernel` in chunks until `duration` has passed; returns the iterations and seconds taken.
fn run_for(kernel: Kernel, duration: Duration) -> (u64, f64) {
    let started = Instant::now();
    let mut iterations = 0;
    loop {
        black_box(kernel.run(ITERATIONS_PER_CHUNK, black_box(FACTOR), black_box(ADDEND)));
        iterations += ITERATIONS_PER_CHUNK;
        let elapsed = started.elapsed();
        if elapsed >= duration {
            return (iterations, elapsed.as_secs_f64());
        }
    }
}

/// The CPU's name: /proc/cpuinfo's first "model name" on Linux, or the architecture when there is
/// none (other systems, and Linux on CPUs whose cpuinfo lacks the field).
pub fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(key, _)| key.trim() == "model name")
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| format!("an unnamed {} CPU", std::env::consts::ARCH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_kernel_computes_the_closed_form() {
        // After n steps of a ↦ a/2 + 1 from a₀ = i: a = i/2ⁿ + 2(1 − 1/2ⁿ), exact in f32 for these
        // n and i, so each kernel must give it to the last bit, in every chain and lane.
        let supported: Vec<Kernel> = Kernel::ALL
            .iter()
            .copied()
            .filter(|k| k.supported())
            .collect();
        assert!(supported.contains(&Kernel::detect()));
        for kernel in supported {
            for steps in [0, 1, 2, 10] {
                let values = kernel.run(steps, FACTOR, ADDEND);
                assert_eq!(values.len(), CHAINS * kernel.lanes());
                let shrink = 0.5f64.powi(steps as i32);
                for (i, &value) in values.iter().enumerate() {
                    let expected = i as f64 * shrink + 2.0 * (1.0 - shrink);
                    assert_eq!(
                        f64::from(value),
                        expected,
                        "{}: accumulator {i}",
                        kernel.name()
                    );
                }
            }
        }
    }

    #[test]
    fn a_short_measure_gives_one_finite_positive_rate_per_thread() {
        let peak = measure(Kernel::detect(), Duration::ZERO, Duration::from_millis(20));
        assert_eq!(peak.per_thread.len(), rayon::current_num_threads());
        assert!(peak.per_thread.iter().all(|r| r.is_finite() && *r > 0.0));
        assert!(
            (peak.total() - peak.mean_per_thread() * peak.per_thread.len() as f64).abs() < 1e-6
        );
        if let Some(on_cpu) = &peak.per_thread_on_cpu {
            assert_eq!(on_cpu.len(), peak.per_thread.len());
            assert!(on_cpu.iter().all(|r| r.is_finite() && *r > 0.0));
        }
    }

    #[test]
    fn the_cpu_has_a_name() {
        assert!(!cpu_name().is_empty());
    }
}

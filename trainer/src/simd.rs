//! Wide vector instructions for the element-wise loops.
//!
//! The native build targets baseline x86-64, so the compiler vectorises loops with 4-wide SSE2 only.
//! The activations' exponentials and Adam's square roots and divisions are bound by arithmetic, not
//! memory, so on a CPU with AVX-512 they run several times faster when compiled for it. The `gemm`
//! crate picks its kernels at run time the same way.

/// Runs `body` compiled for AVX-512 when the CPU has it, and as it is otherwise. Only the
/// instructions change, not the arithmetic: the results are the same bit for bit.
///
/// Mark the closure `#[inline(always)]` and keep its loops in `#[inline(always)]` functions over
/// slices: left to itself, the compiler kept the MSE closure out of line, compiled for baseline
/// x86-64, and loops over captured references did not vectorise for fear of aliasing.
#[inline(always)]
pub fn wide<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU was just found to support the features `avx512` is compiled for.
        return unsafe { avx512(body) };
    }
    body()
}

/// `body`, inlined into a function compiled for AVX-512, so its loops vectorise 16 floats wide.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512<R>(body: impl FnOnce() -> R) -> R {
    body()
}

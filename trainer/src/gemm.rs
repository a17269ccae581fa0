//! Matrix products for training, on the `gemm` crate: it has AVX-512 kernels and threads through
//! rayon, which ndarray's `matrixmultiply` does not (bench/README.md compares the two).
//! Transposed operands cost nothing: pass `a.t()`, the strides say the rest.

use ndarray::{ArrayView2, ArrayViewMut2};

/// `c = a · b` when `accumulate` is false, `c += a · b` when it is true, on every rayon thread.
pub fn matmul_into(
    a: ArrayView2<f32>,
    b: ArrayView2<f32>,
    c: &mut ArrayViewMut2<f32>,
    accumulate: bool,
) {
    product(a, b, c, accumulate, gemm::Parallelism::Rayon(0));
}

/// `matmul_into` on the calling thread alone, for callers that share the work out themselves.
pub fn matmul_into_here(
    a: ArrayView2<f32>,
    b: ArrayView2<f32>,
    c: &mut ArrayViewMut2<f32>,
    accumulate: bool,
) {
    product(a, b, c, accumulate, gemm::Parallelism::None);
}

fn product(
    a: ArrayView2<f32>,
    b: ArrayView2<f32>,
    c: &mut ArrayViewMut2<f32>,
    accumulate: bool,
    parallelism: gemm::Parallelism,
) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert_eq!(
        k, k2,
        "matmul: inner dimensions differ ({m}×{k} · {k2}×{n})"
    );
    assert_eq!(
        c.dim(),
        (m, n),
        "matmul: output is {:?}, expected {m}×{n}",
        c.dim()
    );
    let (a_rs, a_cs) = (a.strides()[0], a.strides()[1]);
    let (b_rs, b_cs) = (b.strides()[0], b.strides()[1]);
    let (c_rs, c_cs) = (c.strides()[0], c.strides()[1]);
    // SAFETY: the pointers and strides come from live ndarray views of the asserted shapes, and `c`
    // is borrowed mutably, so it cannot alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_cs,
            c_rs,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    #[test]
    fn matches_ndarray_dot_with_transposes() {
        let a = array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let b = array![[1.0f32, 0.5], [-1.0, 2.0], [0.0, 3.0]];
        let mut c = Array2::zeros((2, 2));
        matmul_into(a.view(), b.view(), &mut c.view_mut(), false);
        assert_eq!(c, a.dot(&b));
        let mut c = Array2::zeros((2, 2));
        matmul_into_here(b.t(), a.t(), &mut c.view_mut(), false);
        assert_eq!(c, b.t().dot(&a.t()));
        let mut c = Array2::ones((2, 2));
        matmul_into(a.view(), b.view(), &mut c.view_mut(), true);
        assert_eq!(c, a.dot(&b) + 1.0);
    }
}

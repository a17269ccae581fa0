//! Matrix products for training, on the `gemm` crate: it has AVX-512 kernels and threads through
//! rayon, and measured about twice as fast as ndarray's `matrixmultiply` on this model's shapes.
//! Transposed operands cost nothing: pass `a.t()`, the strides say the rest.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

/// `c = a · b` when `accumulate` is false, `c += a · b` when it is true.
pub fn matmul_into(a: ArrayView2<f32>, b: ArrayView2<f32>, c: &mut ArrayViewMut2<f32>, accumulate: bool) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert_eq!(k, k2, "matmul: inner dimensions differ ({m}×{k} · {k2}×{n})");
    assert_eq!(c.dim(), (m, n), "matmul: output is {:?}, expected {m}×{n}", c.dim());
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
            gemm::Parallelism::Rayon(0),
        );
    }
}

/// `a · b` as a new array.
pub fn matmul(a: ArrayView2<f32>, b: ArrayView2<f32>) -> Array2<f32> {
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    matmul_into(a, b, &mut c.view_mut(), false);
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn matches_ndarray_dot_with_transposes() {
        let a = array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let b = array![[1.0f32, 0.5], [-1.0, 2.0], [0.0, 3.0]];
        assert_eq!(matmul(a.view(), b.view()), a.dot(&b));
        assert_eq!(matmul(b.t(), a.t()), b.t().dot(&a.t()));
        let mut c = Array2::ones((2, 2));
        matmul_into(a.view(), b.view(), &mut c.view_mut(), true);
        assert_eq!(c, a.dot(&b) + 1.0);
    }
}

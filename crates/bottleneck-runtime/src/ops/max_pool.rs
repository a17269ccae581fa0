//! MaxPool over NCHW, without the optional indices output. The common 2×2, stride 2 pool (the
//! conv denoiser's) runs as [`MaxPool2x2`]; any other goes to tract's own pooling.

use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::cnn::{HirMaxPool, PaddingSpec, PoolSpec};
use tract_onnx::tract_hir::ops::nn::DataFormat;

use super::{Node, check_kernel_fits, image_shape, image_to_image, padding, per_image_axis};

/// MaxPool with the node's kernel, padding, dilations and strides, on f32 images.
pub fn max_pool(node: &Node, model: &mut TypedModel) -> TractResult<TVec<OutletId>> {
    let attr = node.proto;
    ensure!(
        attr.output.len() <= 1,
        "MaxPool: the indices output is not supported"
    );
    let kernel = per_image_axis(attr, "kernel_shape")?.context("MaxPool without kernel_shape")?;
    let padding = padding(attr, true)?;
    let dilations = per_image_axis(attr, "dilations")?;
    let strides = per_image_axis(attr, "strides")?;
    node.takes_inputs(1)?;
    let (input, fact) = node.f32_input(model, 0)?;
    let image = image_shape("MaxPool", &fact)?
        .as_concrete()
        .context("MaxPool: image size")?;
    check_kernel_fits(
        node,
        image,
        [kernel[0], kernel[1]],
        dilations.as_ref(),
        &padding,
    )?;
    let unpadded = match &padding {
        PaddingSpec::Valid => true,
        PaddingSpec::ExplicitOnnxPool(before, after, ceil) => {
            !ceil && before.iter().chain(after).all(|&pad| pad == 0)
        }
        _ => false,
    };
    let undilated = dilations.as_ref().is_none_or(|d| d.iter().all(|&d| d == 1));
    if kernel[..] == [2, 2] && strides.as_deref() == Some(&[2, 2]) && unpadded && undilated {
        return model.wire_node(&node.name, MaxPool2x2, &[input]);
    }
    let pool = PoolSpec::new(DataFormat::NCHW, kernel, padding, dilations, strides, 0, 0);
    HirMaxPool::new(pool, None).wire(&node.name, model, &[input])
}

/// 2×2 max pooling with stride 2 over f32 NCHW images: each output pixel is the largest of a
/// 2×2 block, odd last rows and columns dropped, as ONNX says. tract pools with a stride of 2
/// one value at a time through its general patch walk: this was a fifth of the denoiser's
/// time in the browser; here each output row reads two contiguous input rows.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct MaxPool2x2;

impl Op for MaxPool2x2 {
    fn name(&self) -> StaticName {
        "MaxPool2x2".into()
    }

    op_as_typed_op!();
}

impl EvalOp for MaxPool2x2 {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let pooled = |[n, c, h, w]: [usize; 4]| Ok([n, c, h / 2, w / 2]);
        image_to_image(
            "MaxPool2x2",
            inputs,
            pooled,
            |[_, _, h, w], input, output| {
                let (out_h, out_w) = (h / 2, w / 2);
                if out_h * out_w == 0 {
                    return;
                }
                for (plane, out_plane) in input
                    .chunks_exact(h * w)
                    .zip(output.chunks_exact_mut(out_h * out_w))
                {
                    for (y, out_row) in out_plane.chunks_exact_mut(out_w).enumerate() {
                        let top = &plane[2 * y * w..][..2 * out_w];
                        let bottom = &plane[(2 * y + 1) * w..][..2 * out_w];
                        pool_row(top, bottom, out_row);
                    }
                }
            },
        )
    }
}

/// One output row: the largest of each 2×2 block of the input rows `top` and `bottom`, which
/// hold two values per output.
fn pool_row(top: &[f32], bottom: &[f32], out: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let done = pool_row_simd128(top, bottom, out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let done = 0;
    let larger = |a: f32, b: f32| if a < b { b } else { a };
    for (x, out) in out.iter_mut().enumerate().skip(done) {
        let (left, right) = (2 * x, 2 * x + 1);
        *out = larger(
            larger(top[left], top[right]),
            larger(bottom[left], bottom[right]),
        );
    }
}

/// [`pool_row`] four outputs at a time with wasm SIMD; returns how many outputs it wrote.
/// `f32x4_pmax` is the same `a < b ? b : a` as the scalar loop, so both give the same values.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn pool_row_simd128(top: &[f32], bottom: &[f32], out: &mut [f32]) -> usize {
    use std::arch::wasm32::{f32x4_pmax, i32x4_shuffle, v128, v128_load, v128_store};
    let blocks = out.len() / 4;
    assert!(top.len() >= 8 * blocks && bottom.len() >= 8 * blocks);
    for block in 0..blocks {
        // SAFETY: the assert keeps the eight values read from `top` and `bottom` and the four
        // written to `out` in bounds; v128 loads and stores need no alignment.
        unsafe {
            let load = |row: &[f32], at: usize| v128_load(row.as_ptr().add(at).cast::<v128>());
            let first = f32x4_pmax(load(top, 8 * block), load(bottom, 8 * block));
            let second = f32x4_pmax(load(top, 8 * block + 4), load(bottom, 8 * block + 4));
            let left = i32x4_shuffle::<0, 2, 4, 6>(first, second);
            let right = i32x4_shuffle::<1, 3, 5, 7>(first, second);
            v128_store(
                out.as_mut_ptr().add(4 * block).cast::<v128>(),
                f32x4_pmax(left, right),
            );
        }
    }
    4 * blocks
}

impl TypedOp for MaxPool2x2 {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = image_shape("MaxPool2x2", inputs[0])?;
        let pooled = tvec![
            shape[0].clone(),
            shape[1].clone(),
            shape[2].clone() / 2u64,
            shape[3].clone() / 2u64
        ];
        Ok(tvec!(f32::fact(pooled)))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_largest_of_each_block_and_drops_odd_edges() {
        // Two 3×5 planes: the last row and column of each are dropped.
        let values: Vec<f32> = (0..30).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
        let input = Tensor::from_shape(&[1, 2, 3, 5], &values).unwrap();
        let output = MaxPool2x2
            .eval(&EvalContext::out_of_plan(), tvec!(input.into_tvalue()))
            .unwrap();
        let output = output[0]
            .try_as_plain_ram()
            .unwrap()
            .as_slice::<f32>()
            .unwrap()
            .to_vec();
        let expected: Vec<f32> = (0..2)
            .flat_map(|plane| (0..2).map(move |x| (plane, x)))
            .map(|(plane, x)| {
                let at = |y: usize, x: usize| values[plane * 15 + y * 5 + x];
                [
                    at(0, 2 * x),
                    at(0, 2 * x + 1),
                    at(1, 2 * x),
                    at(1, 2 * x + 1),
                ]
                .into_iter()
                .fold(f32::MIN, f32::max)
            })
            .collect();
        assert_eq!(output, expected);
    }
}

//! Zero padding of NCHW images, for [`super::conv`]: tract pads a convolution's input with a
//! general Pad that walks the tensor through ndarray, an eighth of the denoiser's time in the
//! browser; here each row is one copy.

use tract_onnx::tract_hir::internal::*;

use super::{image_shape, image_to_image};

/// Zeros added before and after the rows and the columns of every image plane.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct ZeroPad2d {
    /// Rows above, columns on the left.
    pub before: [usize; 2],
    /// Rows below, columns on the right.
    pub after: [usize; 2],
}

impl Op for ZeroPad2d {
    fn name(&self) -> StaticName {
        "ZeroPad2d".into()
    }

    op_as_typed_op!();
}

impl EvalOp for ZeroPad2d {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (before, after) = (self.before, self.after);
        let padded = move |[n, c, h, w]: [usize; 4]| {
            Ok([n, c, h + before[0] + after[0], w + before[1] + after[1]])
        };
        image_to_image(
            "ZeroPad2d",
            inputs,
            padded,
            |[_, _, h, w], input, output| {
                let padded_w = w + before[1] + after[1];
                let padded_planes = output.chunks_exact_mut((h + before[0] + after[0]) * padded_w);
                for (plane, padded) in input.chunks_exact(h * w).zip(padded_planes) {
                    let rows = padded.chunks_exact_mut(padded_w).skip(before[0]);
                    for (row, padded_row) in plane.chunks_exact(w).zip(rows) {
                        padded_row[before[1]..][..w].copy_from_slice(row);
                    }
                }
            },
        )
    }
}

impl TypedOp for ZeroPad2d {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let input = image_shape("ZeroPad2d", inputs[0])?;
        let mut shape: TVec<TDim> = input.iter().cloned().collect();
        for axis in 0..2 {
            shape[axis + 2] = shape[axis + 2].clone() + self.before[axis] + self.after[axis];
        }
        Ok(tvec!(f32::fact(shape)))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrounds_each_plane_with_zeros() {
        let input = Tensor::from_shape(&[1, 2, 1, 2], &[1f32, 2., 3., 4.]).unwrap();
        let pad = ZeroPad2d {
            before: [1, 0],
            after: [0, 1],
        };
        let output = pad
            .eval(&EvalContext::out_of_plan(), tvec!(input.into_tvalue()))
            .unwrap();
        assert_eq!(output[0].shape(), &[1, 2, 2, 3]);
        let values = output[0]
            .try_as_plain_ram()
            .unwrap()
            .as_slice::<f32>()
            .unwrap()
            .to_vec();
        assert_eq!(values, [0., 0., 0., 1., 2., 0., 0., 0., 0., 3., 4., 0.]);
    }
}

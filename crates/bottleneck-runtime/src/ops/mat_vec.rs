//! A dense layer's product, `x·W + b`, with its weights and bias stored: how the dense
//! autoencoder's Gemm nodes run. tract wires a Gemm as an EinSum that its optimizer turns into a
//! packed matrix product, and on a cold page that optimizing is a large part of the dense model's
//! load, most of it the browser compiling tract's code on first call. Row by row, the product is
//! a weighted sum of W's rows, as the one-channel convolution (direct_conv) sums its taps.

use tract_onnx::tract_hir::internal::*;

use super::{BLOCK, Tap, add_taps};

/// `[M, K]·[K, N] + [N]` in f32, with stored weights and bias.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct MatVec {
    /// The `[K, N]` weights by blocks of [`BLOCK`] columns (the last one narrower when N is not
    /// a multiple): block after block, each `[K, width]` row-major, so that each block is one
    /// stream through memory.
    blocks: Arc<Tensor>,
    /// `[N]`, f32.
    bias: Arc<Tensor>,
}

impl MatVec {
    /// The op for `weights` `[K, N]` and an optional `bias` of N values (of shape `[N]` or
    /// `[1, N]`), when both are f32 and K and N are not 0; otherwise `None`.
    pub fn for_weights(weights: &Tensor, bias: Option<&Arc<Tensor>>) -> Option<MatVec> {
        let f32_tensor = |t: &Tensor| t.datum_type() == f32::datum_type();
        let &[k, n] = weights.shape() else {
            return None;
        };
        // An empty matrix is left to tract: rows and blocks of zero values cannot be cut.
        if k == 0 || n == 0 || !f32_tensor(weights) {
            return None;
        }
        let bias = match bias {
            None => vec![0.0; n],
            Some(bias) if f32_tensor(bias) && matches!(bias.shape(), [m] | [1, m] if *m == n) => {
                bias.try_as_plain_ram()
                    .ok()?
                    .as_slice::<f32>()
                    .ok()?
                    .to_vec()
            }
            Some(_) => return None,
        };
        let weights = weights.try_as_plain_ram().ok()?;
        let weights = weights.as_slice::<f32>().ok()?;
        // Written in place, as DequantizeLinear writes the weights: a copy would cost the cold
        // page its time.
        let mut blocks = Tensor::zero::<f32>(&[k * n]).ok()?;
        let mut plain = blocks.try_as_plain_ram_mut().ok()?;
        let mut unfilled = plain.as_slice_mut::<f32>().ok()?;
        for start in (0..n).step_by(BLOCK) {
            let width = BLOCK.min(n - start);
            let (block, rest) = unfilled.split_at_mut(k * width);
            for (block_row, row) in block.chunks_exact_mut(width).zip(weights.chunks_exact(n)) {
                block_row.copy_from_slice(&row[start..][..width]);
            }
            unfilled = rest;
        }
        Some(MatVec {
            blocks: blocks.into_arc_tensor(),
            bias: tensor1(&bias).into_arc_tensor(),
        })
    }

    /// K, the length of an input row: the weights hold K × N values, N the bias's length.
    fn inputs(&self) -> usize {
        self.blocks.len() / self.bias.len()
    }
}

impl Op for MatVec {
    fn name(&self) -> StaticName {
        "MatVec".into()
    }

    op_as_typed_op!();
}

impl EvalOp for MatVec {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let k = self.inputs();
        let &[m, input_k] = input.shape() else {
            bail!(
                "MatVec takes a matrix, not a tensor of shape {:?}",
                input.shape()
            );
        };
        ensure!(input_k == k, "MatVec: {input_k} inputs for {k} weight rows");
        let blocks = self.blocks.try_as_plain_ram()?;
        let blocks = blocks.as_slice::<f32>()?;
        let bias = self.bias.try_as_plain_ram()?;
        let bias = bias.as_slice::<f32>()?;
        let mut output = Tensor::zero::<f32>(&[m, bias.len()])?;
        let mut plain = output.try_as_plain_ram_mut()?;
        let outputs = plain.as_slice_mut::<f32>()?;
        let values = input.try_as_plain_ram()?;
        let rows = values.as_slice::<f32>()?.chunks_exact(k);
        for (x, out) in rows.zip(outputs.chunks_exact_mut(bias.len())) {
            out.copy_from_slice(bias);
            for (index, out) in out.chunks_mut(BLOCK).enumerate() {
                // Every block before this one is BLOCK wide.
                let block = &blocks[index * BLOCK * k..][..out.len() * k];
                let taps = x
                    .iter()
                    .zip(block.chunks_exact(out.len()))
                    .map(|(&weight, values)| Tap { values, weight });
                add_taps(taps, out);
            }
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for MatVec {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let input = inputs[0];
        ensure!(
            input.datum_type == f32::datum_type() && input.rank() == 2,
            "MatVec takes an f32 matrix"
        );
        ensure!(
            input.shape[1] == self.inputs().to_dim(),
            "MatVec: {} inputs for {} weight rows",
            input.shape[1],
            self.inputs()
        );
        Ok(tvec!(f32::fact([
            input.shape[0].clone(),
            self.bias.len().to_dim()
        ])))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_definition_of_a_matrix_product() {
        // N = 37: one block of 32 columns and a narrower one.
        let (m, k, n) = (2, 7, 37);
        let value = |i: usize| ((i * 37) % 23) as f32 / 23.0 - 0.5;
        let x: Vec<f32> = (0..m * k).map(value).collect();
        let w: Vec<f32> = (0..k * n).map(|i| value(i + 1000)).collect();
        let b: Vec<f32> = (0..n).map(|i| value(i + 5000)).collect();
        let weights = Tensor::from_shape(&[k, n], &w).unwrap();
        let bias = Tensor::from_shape(&[1, n], &b).unwrap().into_arc_tensor();
        let op = MatVec::for_weights(&weights, Some(&bias)).unwrap();
        let input = Tensor::from_shape(&[m, k], &x).unwrap();
        let output = op
            .eval(&EvalContext::out_of_plan(), tvec!(input.into_tvalue()))
            .unwrap();
        assert_eq!(output[0].shape(), &[m, n]);
        let output = output[0]
            .try_as_plain_ram()
            .unwrap()
            .as_slice::<f32>()
            .unwrap()
            .to_vec();
        for (row, col) in (0..m).flat_map(|row| (0..n).map(move |col| (row, col))) {
            let expected = b[col] + (0..k).map(|i| x[row * k + i] * w[i * n + col]).sum::<f32>();
            assert!(
                (output[row * n + col] - expected).abs() < 1e-5,
                "({row}, {col})"
            );
        }
    }

    #[test]
    fn only_f32_weights_and_a_bias_per_output_run_here() {
        let weights = Tensor::zero::<f32>(&[3, 4]).unwrap();
        let wrong_bias = Tensor::zero::<f32>(&[3]).unwrap().into_arc_tensor();
        assert!(MatVec::for_weights(&weights, Some(&wrong_bias)).is_none());
        let int_weights = Tensor::zero::<i8>(&[3, 4]).unwrap();
        assert!(MatVec::for_weights(&int_weights, None).is_none());
        let empty = Tensor::zero::<f32>(&[3, 0]).unwrap();
        assert!(MatVec::for_weights(&empty, None).is_none());
        assert!(MatVec::for_weights(&weights, None).is_some());
    }
}

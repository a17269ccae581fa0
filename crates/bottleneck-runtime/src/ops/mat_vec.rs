//! A dense layer's product, `x·W + b`, with its weights and bias stored: how the dense
//! autoencoder's Gemm nodes run. tract wires a Gemm as an EinSum that its optimizer turns into a
//! packed matrix product, and on a cold page that optimizing is a large part of the dense model's
//! load, most of it the browser compiling tract's code on first call. Row by row, the product is
//! a weighted sum of W's rows, as the one-channel convolution (direct_conv) sums its taps.
//!
//! Weights the file stores as int8 with a scale per column, or as int4 with a scale per block of
//! rows and column, stay int8 here, widened as each row is read: an inference then reads a
//! quarter of the bytes, and loading skips widening them. Each block of rows is summed in
//! registers, then scaled and added to the column's total.

use tract_onnx::tract_hir::internal::*;

use super::dequantize_linear::Dequantize;
use super::kernels::{TapValue, add_scaled_taps};
use super::{BLOCK, Tap, add_taps};

/// `[M, K]·[K, N] + [N]` with stored weights and bias: f32 weights, or int8 ones and their scales.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct MatVec {
    /// The `[K, N]` weights (f32 or i8) by blocks of [`BLOCK`] columns (the last one narrower
    /// when N is not a multiple): block after block, each `[K, width]` row-major, so that each
    /// block is one stream through memory.
    blocks: Arc<Tensor>,
    /// For int8 weights, their scales.
    scales: Option<RowBlockScales>,
    /// `[N]`, f32.
    bias: Arc<Tensor>,
}

/// The scales of int8 weights: one per column for each block of `rows` rows (all K rows for a
/// scale per column), `[ceil(K / rows), N]` row-major, f32.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct RowBlockScales {
    /// Rows that share a scale: the block size, or K.
    rows: usize,
    /// `[ceil(K / rows), N]` row-major, f32.
    scales: Arc<Tensor>,
}

impl MatVec {
    /// The op for `weights` `[K, N]` and an optional `bias` of N values (of shape `[N]` or
    /// `[1, N]`), when both are f32 and K and N are not 0; otherwise `None`.
    pub fn for_weights(weights: &Tensor, bias: Option<&Arc<Tensor>>) -> Option<MatVec> {
        if weights.datum_type() != f32::datum_type() {
            return None;
        }
        let bias = bias_of(weights, bias)?;
        let weights = weights.try_as_plain_ram().ok()?;
        Some(MatVec {
            blocks: blocked(weights.as_slice::<f32>().ok()?, bias.len())?,
            scales: None,
            bias,
        })
    }

    /// The op for the int8 weights of `dequantize`, kept as int8, when it stores a `[K, N]`
    /// matrix without zero points, scaled per column or per block of rows and column (see
    /// [`Dequantize::stored_int8_blocks`]), and for an optional f32 `bias` as in
    /// [`for_weights`](MatVec::for_weights); otherwise `None`.
    pub fn for_int8_weights(dequantize: &Dequantize, bias: Option<&Arc<Tensor>>) -> Option<MatVec> {
        let (values, rows, scales) = dequantize.stored_int8_blocks()?;
        let bias = bias_of(values, bias)?;
        let values = values.try_as_plain_ram().ok()?;
        Some(MatVec {
            blocks: blocked(values.as_slice::<i8>().ok()?, bias.len())?,
            scales: Some(RowBlockScales {
                rows,
                scales: tensor1(&scales).into_arc_tensor(),
            }),
            bias,
        })
    }

    /// K, the length of an input row: the weights hold K × N values, N the bias's length.
    fn inputs(&self) -> usize {
        self.blocks.len() / self.bias.len()
    }

    /// The product for `input` `[M, K]`, with the weights read as `T`.
    fn product<T: TapValue + Datum>(&self, input: &Tensor) -> TractResult<Tensor> {
        let k = self.inputs();
        let &[m, input_k] = input.shape() else {
            bail!(
                "MatVec takes a matrix, not a tensor of shape {:?}",
                input.shape()
            );
        };
        ensure!(input_k == k, "MatVec: {input_k} inputs for {k} weight rows");
        let blocks = self.blocks.try_as_plain_ram()?;
        let blocks = blocks.as_slice::<T>()?;
        let bias = self.bias.try_as_plain_ram()?;
        let bias = bias.as_slice::<f32>()?;
        let scales = match &self.scales {
            Some(scales) => Some((scales.rows, scales.scales.try_as_plain_ram()?)),
            None => None,
        };
        let scales = match &scales {
            Some((rows, scales)) => Some((*rows, scales.as_slice::<f32>()?)),
            None => None,
        };
        let n = bias.len();
        let mut output = Tensor::zero::<f32>(&[m, n])?;
        let mut plain = output.try_as_plain_ram_mut()?;
        let outputs = plain.as_slice_mut::<f32>()?;
        let values = input.try_as_plain_ram()?;
        let rows = values.as_slice::<f32>()?.chunks_exact(k);
        for (x, out) in rows.zip(outputs.chunks_exact_mut(n)) {
            // Unscaled weights add to the bias; scaled ones sum from 0, the bias added last.
            if scales.is_none() {
                out.copy_from_slice(bias);
            }
            for (index, out) in out.chunks_mut(BLOCK).enumerate() {
                // Every block before this one is BLOCK wide.
                let width = out.len();
                let block = &blocks[index * BLOCK * k..][..width * k];
                let Some((rows, scales)) = scales else {
                    add_taps(row_taps(x, block, width), out);
                    continue;
                };
                let row_blocks = x.chunks(rows).zip(block.chunks(rows * width));
                let groups = row_blocks.enumerate().map(|(row_block, (x, block))| {
                    let scales = &scales[row_block * n + index * BLOCK..][..width];
                    (row_taps(x, block, width), scales)
                });
                add_scaled_taps(groups, out);
            }
            if scales.is_some() {
                for (out, &bias) in out.iter_mut().zip(bias) {
                    *out += bias;
                }
            }
        }
        Ok(output)
    }
}

/// The taps of the weights `x` over the rows of `rows`, `[x.len(), width]` row-major.
fn row_taps<'a, T>(
    x: &'a [f32],
    rows: &'a [T],
    width: usize,
) -> impl Iterator<Item = Tap<'a, T>> + Clone {
    let weights = x.iter().zip(rows.chunks_exact(width));
    weights.map(|(&weight, values)| Tap { values, weight })
}

/// The bias for `weights` `[K, N]`: `bias`'s N f32 values (of shape `[N]` or `[1, N]`), or N
/// zeros; `None` if it has another shape or type, or if K or N is 0.
fn bias_of(weights: &Tensor, bias: Option<&Arc<Tensor>>) -> Option<Arc<Tensor>> {
    let &[k, n] = weights.shape() else {
        return None;
    };
    // An empty matrix is left to tract: rows and blocks of zero values cannot be cut.
    if k == 0 || n == 0 {
        return None;
    }
    let f32_tensor = |t: &Tensor| t.datum_type() == f32::datum_type();
    match bias {
        None => Some(Tensor::zero::<f32>(&[n]).ok()?.into_arc_tensor()),
        Some(bias) if f32_tensor(bias) && matches!(bias.shape(), [m] | [1, m] if *m == n) => {
            let values = bias.try_as_plain_ram().ok()?;
            Some(tensor1(values.as_slice::<f32>().ok()?).into_arc_tensor())
        }
        Some(_) => None,
    }
}

/// The `[K, N]` row-major `weights` by blocks of [`BLOCK`] columns, as [`MatVec`] stores them.
fn blocked<T: Datum + Copy + tract_num_traits::Zero>(
    weights: &[T],
    n: usize,
) -> Option<Arc<Tensor>> {
    // Written in place, as Dequantize writes the weights: a copy would cost the cold page its
    // time.
    let mut blocks = Tensor::zero::<T>(&[weights.len()]).ok()?;
    let mut plain = blocks.try_as_plain_ram_mut().ok()?;
    let mut unfilled = plain.as_slice_mut::<T>().ok()?;
    let k = weights.len() / n;
    for start in (0..n).step_by(BLOCK) {
        let width = BLOCK.min(n - start);
        let (block, rest) = unfilled.split_at_mut(k * width);
        for (block_row, row) in block.chunks_exact_mut(width).zip(weights.chunks_exact(n)) {
            block_row.copy_from_slice(&row[start..][..width]);
        }
        unfilled = rest;
    }
    Some(blocks.into_arc_tensor())
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
        let output = if self.scales.is_some() {
            self.product::<i8>(&input)?
        } else {
            self.product::<f32>(&input)?
        };
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
    use super::super::kernels::run_on;
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
        let (shape, output) = run_on(&op, &[m, k], &x);
        assert_eq!(shape, [m, n]);
        for (row, col) in (0..m).flat_map(|row| (0..n).map(move |col| (row, col))) {
            let expected = b[col] + (0..k).map(|i| x[row * k + i] * w[i * n + col]).sum::<f32>();
            assert!(
                (output[row * n + col] - expected).abs() < 1e-5,
                "({row}, {col})"
            );
        }
    }

    #[test]
    fn int8_weights_kept_as_int8_give_the_widened_product() {
        let (m, k, n) = (2, 9, 37);
        let value = |i: usize| ((i * 37) % 23) as f32 / 23.0 - 0.5;
        let x: Vec<f32> = (0..m * k).map(value).collect();
        let q: Vec<i8> = (0..k * n).map(|i| ((i * 53) % 255) as i32 as i8).collect();
        let scales: Vec<f32> = (0..n).map(|j| 0.01 + j as f32 * 0.001).collect();
        let bias = tensor1(&(0..n).map(value).collect::<Vec<f32>>()).into_arc_tensor();
        let stored = Tensor::from_shape(&[k, n], &q).unwrap().into_arc_tensor();
        let dequantize = Dequantize::new(stored, &tensor1(&scales), None, 1).unwrap();
        let int8 = MatVec::for_int8_weights(&dequantize, Some(&bias)).unwrap();
        assert!(int8.scales.is_some(), "the weights stay int8");
        let widened = dequantize.widened().unwrap();
        let f32_op = MatVec::for_weights(&widened, Some(&bias)).unwrap();
        let (_, from_int8) = run_on(&int8, &[m, k], &x);
        let (_, from_f32) = run_on(&f32_op, &[m, k], &x);
        for (index, (a, b)) in from_int8.iter().zip(&from_f32).enumerate() {
            assert!((a - b).abs() < 1e-5, "output {index}: {a} vs {b}");
        }
    }

    #[test]
    fn int8_weights_scaled_by_blocks_of_rows_give_the_widened_product() {
        // K = 9 in blocks of 4 rows: the last block has one row; N = 37: a block of 32 columns
        // and a narrower one.
        let (m, k, n, rows) = (2, 9, 37, 4);
        let value = |i: usize| ((i * 37) % 23) as f32 / 23.0 - 0.5;
        let x: Vec<f32> = (0..m * k).map(value).collect();
        let q: Vec<i8> = (0..k * n).map(|i| ((i * 53) % 15) as i8 - 8).collect();
        let scales: Vec<f32> = (0..3 * n).map(|i| 0.01 + i as f32 * 0.001).collect();
        let stored = Tensor::from_shape(&[k, n], &q).unwrap().into_arc_tensor();
        let scale = Tensor::from_shape(&[3, n], &scales).unwrap();
        let dequantize = Dequantize::blocked(stored, &scale, None, 0, rows as i64).unwrap();
        let bias = tensor1(&(0..n).map(value).collect::<Vec<f32>>()).into_arc_tensor();
        let int8 = MatVec::for_int8_weights(&dequantize, Some(&bias)).unwrap();
        assert_eq!(int8.scales.as_ref().map(|s| s.rows), Some(rows));
        let f32_op = MatVec::for_weights(&dequantize.widened().unwrap(), Some(&bias)).unwrap();
        let run = |op: &MatVec| {
            let input = Tensor::from_shape(&[m, k], &x).unwrap();
            let output = op
                .eval(&EvalContext::out_of_plan(), tvec!(input.into_tvalue()))
                .unwrap();
            output[0]
                .try_as_plain_ram()
                .unwrap()
                .as_slice::<f32>()
                .unwrap()
                .to_vec()
        };
        for (index, (a, b)) in run(&int8).iter().zip(&run(&f32_op)).enumerate() {
            assert!((a - b).abs() < 1e-5, "output {index}: {a} vs {b}");
        }
        // Blocks along the other axis cannot be factored out of the sums over rows.
        let stored = Tensor::from_shape(&[k, n], &q).unwrap().into_arc_tensor();
        let scale = Tensor::from_shape(&[k, 10], &vec![1f32; k * 10]).unwrap();
        let by_columns = Dequantize::blocked(stored, &scale, None, 1, 4).unwrap();
        assert!(MatVec::for_int8_weights(&by_columns, None).is_none());
    }

    #[test]
    fn int8_weights_with_zero_points_or_row_scales_are_widened_instead() {
        let stored = Tensor::from_shape(&[2, 3], &[1i8, 2, 3, 4, 5, 6])
            .unwrap()
            .into_arc_tensor();
        let with_zero_points = Dequantize::new(
            stored.clone(),
            &tensor1(&[1.0f32, 2.0, 3.0]),
            Some(&tensor1(&[0i8, 1, 0])),
            1,
        )
        .unwrap();
        assert!(MatVec::for_int8_weights(&with_zero_points, None).is_none());
        let per_row = Dequantize::new(stored, &tensor1(&[1.0f32, 2.0]), None, 0).unwrap();
        assert!(MatVec::for_int8_weights(&per_row, None).is_none());
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

//! A 3×3 convolution of stride 1 by Winograd's F(2×2, 3×3), for [`super::conv`]: each 2×2 block
//! of outputs is computed from a 4×4 tile of the input with 16 products per input and output
//! channel instead of 36. The input, the kernels and the products are transformed as in Lavin and
//! Gray, "Fast Algorithms for Convolutional Neural Networks" (2016):
//! `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`. The products, summed over the input channels, are 16 matrix
//! products `[tiles, C_in]·[C_in, C_out]`, computed a tile at a time with the output channels
//! side by side, as [`add_taps`] adds weighted rows. The zero padding is read as zeros at the
//! image's edge, so no padded copy of the input is made.

use tract_onnx::tract_hir::internal::*;

use super::{Tap, add_taps, image_shape, image_to_image};

/// Positions in a transformed 4×4 tile.
const TILE: usize = 16;

/// A 3×3 convolution of stride 1 with stored f32 kernels and bias, and zero padding.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct WinogradConv {
    /// The kernels transformed, `[16][C_in][C_out]`: for each tile position, a matrix that takes
    /// a tile's input channels to its output channels.
    transformed: Arc<Tensor>,
    /// `[C_out]`, f32.
    bias: Arc<Tensor>,
    /// Zero rows above and columns on the left of the input.
    pub before: [usize; 2],
    /// Zero rows below and columns on the right.
    pub after: [usize; 2],
}

impl WinogradConv {
    /// The op for `kernel` `[C_out, C_in, 3, 3]` and an optional `bias` of C_out values, with
    /// the padding given; `None` unless both are f32 and the kernel is 3×3.
    pub fn for_weights(
        kernel: &Tensor,
        bias: Option<&Arc<Tensor>>,
        before: [usize; 2],
        after: [usize; 2],
    ) -> Option<WinogradConv> {
        let f32_tensor = |t: &Tensor| t.datum_type() == f32::datum_type();
        let &[c_out, c_in, 3, 3] = kernel.shape() else {
            return None;
        };
        if !f32_tensor(kernel) || c_out == 0 || c_in == 0 {
            return None;
        }
        let bias = match bias {
            None => vec![0.0; c_out],
            Some(bias) if f32_tensor(bias) && bias.len() == c_out => bias
                .try_as_plain_ram()
                .ok()?
                .as_slice::<f32>()
                .ok()?
                .to_vec(),
            Some(_) => return None,
        };
        let plain = kernel.try_as_plain_ram().ok()?;
        let kernels = plain.as_slice::<f32>().ok()?;
        let mut transformed = vec![0f32; TILE * c_in * c_out];
        for (o, kernel) in kernels.chunks_exact(c_in * 9).enumerate() {
            for (c, g) in kernel.chunks_exact(9).enumerate() {
                for (position, value) in transformed_kernel(g).into_iter().enumerate() {
                    transformed[(position * c_in + c) * c_out + o] = value;
                }
            }
        }
        Some(WinogradConv {
            transformed: tensor1(&transformed).into_arc_tensor(),
            bias: tensor1(&bias).into_arc_tensor(),
            before,
            after,
        })
    }

    /// C_out, the number of output channels.
    fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// The output's `[N, C_out, H, W]` for an input of shape `[n, c, h, w]`.
    fn output_shape(&self, [n, c, h, w]: [usize; 4]) -> TractResult<[usize; 4]> {
        let c_out = self.outputs();
        ensure!(
            c * TILE * c_out == self.transformed.len(),
            "WinogradConv: kernels for {} input channels, not {c}",
            self.transformed.len() / (TILE * c_out)
        );
        let padded = [
            h + self.before[0] + self.after[0],
            w + self.before[1] + self.after[1],
        ];
        ensure!(
            padded[0] >= 3 && padded[1] >= 3,
            "WinogradConv: the 3×3 kernel is larger than the padded image"
        );
        Ok([n, c_out, padded[0] - 2, padded[1] - 2])
    }
}

/// `G g Gᵀ` for a 3×3 kernel `g` (row-major): its 4×4 transform, row-major.
fn transformed_kernel(g: &[f32]) -> [f32; TILE] {
    let rows = |a: [f32; 3]| {
        [
            a[0],
            (a[0] + a[1] + a[2]) * 0.5,
            (a[0] - a[1] + a[2]) * 0.5,
            a[2],
        ]
    };
    let column = |x: usize| rows([g[x], g[3 + x], g[6 + x]]);
    let columns = [column(0), column(1), column(2)];
    let mut out = [0f32; TILE];
    for (row, out) in out.chunks_exact_mut(4).enumerate() {
        out.copy_from_slice(&rows([columns[0][row], columns[1][row], columns[2][row]]));
    }
    out
}

/// `Bᵀ d B` for a 4×4 input tile `d` (row-major): its transform, row-major.
fn transformed_tile(d: &[f32; TILE]) -> [f32; TILE] {
    let apply = |a: [f32; 4]| [a[0] - a[2], a[1] + a[2], a[2] - a[1], a[1] - a[3]];
    let mut rows = [[0f32; 4]; 4];
    for x in 0..4 {
        let column = apply([d[x], d[4 + x], d[8 + x], d[12 + x]]);
        for (row, value) in rows.iter_mut().zip(column) {
            row[x] = value;
        }
    }
    let mut out = [0f32; TILE];
    for (out, row) in out.chunks_exact_mut(4).zip(rows) {
        out.copy_from_slice(&apply(row));
    }
    out
}

/// `Aᵀ m A` for a tile of summed products `m` (row-major): the 2×2 outputs, row-major.
fn output_block(m: &[f32; TILE]) -> [f32; 4] {
    let apply = |a: [f32; 4]| [a[0] + a[1] + a[2], a[1] - a[2] - a[3]];
    let mut rows = [[0f32; 4]; 2];
    for x in 0..4 {
        let [top, bottom] = apply([m[x], m[4 + x], m[8 + x], m[12 + x]]);
        rows[0][x] = top;
        rows[1][x] = bottom;
    }
    let [a, b] = apply(rows[0]);
    let [c, d] = apply(rows[1]);
    [a, b, c, d]
}

impl Op for WinogradConv {
    fn name(&self) -> StaticName {
        "WinogradConv".into()
    }

    op_as_typed_op!();
}

impl EvalOp for WinogradConv {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let transformed = self.transformed.try_as_plain_ram()?;
        let transformed = transformed.as_slice::<f32>()?;
        let bias = self.bias.try_as_plain_ram()?;
        let bias = bias.as_slice::<f32>()?;
        let c_out = bias.len();
        let (top, left) = (self.before[0] as isize, self.before[1] as isize);
        image_to_image(
            "WinogradConv",
            inputs,
            |dims| self.output_shape(dims),
            |[_, c_in, h, w], input, output| {
                let (out_h, out_w) = (
                    h + self.before[0] + self.after[0] - 2,
                    w + self.before[1] + self.after[1] - 2,
                );
                let (tiles_y, tiles_x) = (out_h.div_ceil(2), out_w.div_ceil(2));
                let tiles = tiles_y * tiles_x;
                // Transformed input tiles, [16][tiles][C_in], and their products, [16][tiles][C_out].
                let mut tiles_in = vec![0f32; TILE * tiles * c_in];
                let mut products = vec![0f32; TILE * tiles * c_out];
                let images = input
                    .chunks_exact(c_in * h * w)
                    .zip(output.chunks_exact_mut(c_out * out_h * out_w));
                for (image, out_image) in images {
                    for (c, plane) in image.chunks_exact(h * w).enumerate() {
                        for tile in 0..tiles {
                            let (y0, x0) = (
                                2 * (tile / tiles_x) as isize - top,
                                2 * (tile % tiles_x) as isize - left,
                            );
                            let mut d = [0f32; TILE];
                            for (index, value) in d.iter_mut().enumerate() {
                                let (y, x) = (y0 + (index / 4) as isize, x0 + (index % 4) as isize);
                                if (0..h as isize).contains(&y) && (0..w as isize).contains(&x) {
                                    *value = plane[y as usize * w + x as usize];
                                }
                            }
                            for (position, value) in transformed_tile(&d).into_iter().enumerate() {
                                tiles_in[(position * tiles + tile) * c_in + c] = value;
                            }
                        }
                    }
                    products.fill(0.0);
                    let sums = products.chunks_exact_mut(c_out);
                    for (row, (out, tile_in)) in sums.zip(tiles_in.chunks_exact(c_in)).enumerate() {
                        let matrix = &transformed[(row / tiles) * c_in * c_out..][..c_in * c_out];
                        let taps = tile_in
                            .iter()
                            .zip(matrix.chunks_exact(c_out))
                            .map(|(&weight, values)| Tap { values, weight });
                        add_taps(taps, out);
                    }
                    for (o, (out, &bias)) in out_image
                        .chunks_exact_mut(out_h * out_w)
                        .zip(bias)
                        .enumerate()
                    {
                        for tile in 0..tiles {
                            let m = std::array::from_fn(|position| {
                                products[(position * tiles + tile) * c_out + o]
                            });
                            let (y0, x0) = (2 * (tile / tiles_x), 2 * (tile % tiles_x));
                            for (index, value) in output_block(&m).into_iter().enumerate() {
                                let (y, x) = (y0 + index / 2, x0 + index % 2);
                                if y < out_h && x < out_w {
                                    out[y * out_w + x] = value + bias;
                                }
                            }
                        }
                    }
                }
            },
        )
    }
}

impl TypedOp for WinogradConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = image_shape("WinogradConv", inputs[0])?;
        let dims = shape
            .as_concrete()
            .context("WinogradConv: image size")?
            .try_into()
            .map_err(|_| format_err!("WinogradConv takes NCHW images"))?;
        Ok(tvec!(f32::fact(self.output_shape(dims)?)))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::super::kernels::run_on;
    use super::*;

    #[test]
    fn matches_the_definition_of_a_padded_convolution() {
        // Odd sizes, so that the last tiles are partly outside the output, and uneven padding.
        let (c_in, c_out, h, w) = (3, 5, 7, 6);
        let (before, after) = ([1, 0], [1, 2]);
        let value = |i: usize| ((i * 37) % 23) as f32 / 23.0 - 0.5;
        let input: Vec<f32> = (0..2 * c_in * h * w).map(value).collect();
        let weights: Vec<f32> = (0..c_out * c_in * 9).map(|i| value(i + 1000)).collect();
        let biases: Vec<f32> = (0..c_out).map(|i| value(i + 5000)).collect();
        let kernel = Tensor::from_shape(&[c_out, c_in, 3, 3], &weights).unwrap();
        let bias = tensor1(&biases).into_arc_tensor();
        let conv = WinogradConv::for_weights(&kernel, Some(&bias), before, after).unwrap();
        let (shape, output) = run_on(&conv, &[2, c_in, h, w], &input);
        // One row more above and below, two columns more on the right: 3×3 takes two of each.
        let (out_h, out_w) = (h, w);
        assert_eq!(shape, [2, c_out, out_h, out_w]);
        let at = |n: usize, c: usize, y: isize, x: isize| {
            let inside = (0..h as isize).contains(&y) && (0..w as isize).contains(&x);
            if inside {
                input[((n * c_in + c) * h + y as usize) * w + x as usize]
            } else {
                0.0
            }
        };
        for n in 0..2 {
            for o in 0..c_out {
                for (y, x) in (0..out_h).flat_map(|y| (0..out_w).map(move |x| (y, x))) {
                    let mut expected = biases[o];
                    for (c, ky, kx) in (0..c_in)
                        .flat_map(|c| (0..3).flat_map(move |ky| (0..3).map(move |kx| (c, ky, kx))))
                    {
                        let (iy, ix) = ((y + ky) as isize - 1, (x + kx) as isize);
                        expected += weights[((o * c_in + c) * 3 + ky) * 3 + kx] * at(n, c, iy, ix);
                    }
                    let got = output[((n * c_out + o) * out_h + y) * out_w + x];
                    assert!(
                        (got - expected).abs() < 1e-5,
                        "({n}, {o}, {y}, {x}): {got} vs {expected}"
                    );
                }
            }
        }
    }

    #[test]
    fn only_stored_f32_3x3_kernels_run_here() {
        let kernel = Tensor::zero::<f32>(&[2, 1, 5, 5]).unwrap();
        assert!(WinogradConv::for_weights(&kernel, None, [0; 2], [0; 2]).is_none());
        let kernel = Tensor::zero::<f32>(&[2, 1, 3, 3]).unwrap();
        let wrong_bias = tensor1(&[0f32; 3]).into_arc_tensor();
        assert!(WinogradConv::for_weights(&kernel, Some(&wrong_bias), [0; 2], [0; 2]).is_none());
        let conv = WinogradConv::for_weights(&kernel, None, [0; 2], [0; 2]).unwrap();
        let too_small = Tensor::zero::<f32>(&[1, 1, 2, 2]).unwrap();
        assert!(
            conv.eval(&EvalContext::out_of_plan(), tvec!(too_small.into_tvalue()))
                .is_err()
        );
        let wrong_channels = Tensor::zero::<f32>(&[1, 2, 4, 4]).unwrap();
        assert!(
            conv.eval(
                &EvalContext::out_of_plan(),
                tvec!(wrong_channels.into_tvalue())
            )
            .is_err()
        );
    }
}

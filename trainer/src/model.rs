//! A model is a list of layers. The same list is initialised, trained and exported, so the ONNX graph
//! can never drift from what was trained.

use crate::layers::{Activation, Conv2d, Dense, Layer, Param, Sigmoid};
use crate::onnx::{WeightFormat, chain_to_onnx, stored_values};
use bottleneck::{CODE_SIZE, IMAGE_PIXELS, IMAGE_SIDE, Rng};
use ndarray::{Array2, ArrayView2, Axis, concatenate};
use tract_onnx::pb::ModelProto;

/// The autoencoders this project trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelKind {
    /// 784→512→128→10→128→512→784, ELU, sigmoid output: the anomaly detector.
    Dense,
    /// Conv32-ReLU, MaxPool, Conv32-ReLU, MaxPool, Conv32-ReLU, Up×2, Conv32-ReLU, Up×2,
    /// Conv1-sigmoid on 1×28×28: the denoiser.
    Conv,
}

impl ModelKind {
    /// The file stem of the exported model, e.g. `dense`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Dense => "dense",
            ModelKind::Conv => "conv",
        }
    }
}

/// Which part of an autoencoder to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// x → y.
    Full,
    /// x → z, the bottleneck code.
    Encoder,
    /// z → y.
    Decoder,
}

/// A sequential model: layers applied in order.
pub struct Model {
    /// Which architecture this is.
    pub kind: ModelKind,
    layers: Vec<Box<dyn Layer>>,
    /// Per-sample input shape, e.g. `[784]`.
    input_shape: Vec<usize>,
    /// Index of the first decoder layer and the bottleneck's per-sample shape.
    bottleneck: Option<(usize, Vec<usize>)>,
}

impl Model {
    /// A freshly initialised model of the given kind; the seed fixes every weight.
    pub fn new(kind: ModelKind, seed: u64) -> Model {
        let mut rng = Rng::new(seed);
        match kind {
            ModelKind::Dense => dense_autoencoder(&mut rng),
            ModelKind::Conv => conv_autoencoder(&mut rng),
        }
    }

    /// One line per layer, for the model card.
    pub fn architecture(&self) -> Vec<String> {
        self.layers.iter().map(|l| l.describe()).collect()
    }

    /// Per-sample input shape.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether the model has no layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// FLOPs of a forward pass per sample, as `Layer::forward_flops` counts them.
    pub fn forward_flops(&self) -> u64 {
        self.layers.iter().map(|l| l.forward_flops()).sum()
    }

    /// FLOPs of one training step per sample, as `Layer::forward_flops` counts them: every layer's
    /// forward product and its weight gradient, and the input gradient of every layer but the
    /// first, which `backward` does not compute.
    pub fn step_flops(&self) -> u64 {
        let first = self.layers.first().map_or(0, |l| l.forward_flops());
        3 * self.forward_flops() - first
    }

    /// Runs the first `upto` layers; with `train`, each keeps what its backward pass needs.
    pub fn forward(&mut self, x: Array2<f32>, train: bool, upto: usize) -> Array2<f32> {
        self.layers[..upto]
            .iter_mut()
            .fold(x, |x, layer| layer.forward(x, train))
    }

    /// Backpropagates d loss / d output of layer `upto - 1` down to the first layer.
    pub fn backward(&mut self, grad: Array2<f32>, upto: usize) {
        let mut grad = Some(grad);
        for (i, layer) in self.layers[..upto].iter_mut().enumerate().rev() {
            grad = layer.backward(
                grad.expect("every layer but the first returns a gradient"),
                i > 0,
            );
        }
    }

    /// All trainable parameters, in a fixed order.
    pub fn params(&mut self) -> Vec<Param<'_>> {
        self.layers.iter_mut().flat_map(|l| l.params()).collect()
    }

    /// Replaces every parameter by the values a file in `format` restores for it, the same
    /// quantization as the export's, and returns the parameters it replaced, for
    /// [`restore_params`](Model::restore_params). A forward pass in between sees the weights as
    /// the exported file will hold them.
    pub fn quantize_params(&mut self, format: WeightFormat) -> Vec<Vec<f32>> {
        self.params()
            .into_iter()
            .map(|param| {
                let original = param.value.to_vec();
                let stored = stored_values(format, &param.dims, param.value);
                param.value.copy_from_slice(&stored);
                original
            })
            .collect()
    }

    /// Puts back the parameters [`quantize_params`](Model::quantize_params) returned.
    pub fn restore_params(&mut self, originals: Vec<Vec<f32>>) {
        for (param, original) in self.params().into_iter().zip(originals) {
            param.value.copy_from_slice(&original);
        }
    }

    /// Inference over many samples, in chunks so memory stays bounded.
    pub fn predict(&mut self, x: ArrayView2<f32>, chunk: usize) -> Array2<f32> {
        let n = self.len();
        let parts: Vec<Array2<f32>> = x
            .axis_chunks_iter(Axis(0), chunk.max(1))
            .map(|c| self.forward(c.to_owned(), false, n))
            .collect();
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        concatenate(Axis(0), &views).expect("chunks share their width")
    }

    /// Whether this model has an encoder/decoder split to export.
    pub fn has_bottleneck(&self) -> bool {
        self.bottleneck.is_some()
    }

    /// The ONNX graph of the whole model or of one half. Inputs are named `x` (or `z` for the
    /// decoder), outputs `y` (or `z` for the encoder), with a symbolic batch dimension `N`.
    /// Weight matrices are stored in `weights` format.
    pub fn to_onnx(&self, part: Part, weights: WeightFormat) -> ModelProto {
        let (split, code_shape) = match (&self.bottleneck, part) {
            (Some((split, shape)), _) => (*split, shape.clone()),
            (None, Part::Full) => (self.len(), Vec::new()),
            (None, _) => panic!("a {} model has no encoder/decoder split", self.kind.name()),
        };
        let output_shape = self.input_shape.clone();
        let (range, input, output) = match part {
            Part::Full => (
                0..self.len(),
                ("x", self.input_shape.clone()),
                ("y", output_shape),
            ),
            Part::Encoder => (0..split, ("x", self.input_shape.clone()), ("z", code_shape)),
            Part::Decoder => (split..self.len(), ("z", code_shape), ("y", output_shape)),
        };
        let title = format!(
            "{}{}",
            self.kind.name(),
            match part {
                Part::Full => "",
                Part::Encoder => ".encoder",
                Part::Decoder => ".decoder",
            }
        );
        chain_to_onnx(
            &title,
            weights,
            &self.layers[range],
            (input.0, &input.1),
            (output.0, &output.1),
        )
    }
}

/// The seed article's dense autoencoder: 784→512→128→10→128→512→784, ELU, linear bottleneck,
/// sigmoid output.
fn dense_autoencoder(rng: &mut Rng) -> Model {
    const WIDTHS: [usize; 4] = [IMAGE_PIXELS, 512, 128, CODE_SIZE];
    let mut layers: Vec<Box<dyn Layer>> = Vec::new();
    // Encoder: ELU after every Dense but the last, which is the linear bottleneck.
    for (i, pair) in WIDTHS.windows(2).enumerate() {
        let activation = if i + 2 < WIDTHS.len() {
            Activation::Elu
        } else {
            Activation::Linear
        };
        layers.push(Box::new(Dense::new(pair[0], pair[1], activation, rng)));
    }
    let split = layers.len();
    // Decoder: the mirror image, ELU after every Dense but the last, which ends in the sigmoid.
    for (i, pair) in WIDTHS.windows(2).rev().enumerate() {
        let activation = if i + 2 < WIDTHS.len() {
            Activation::Elu
        } else {
            Activation::Sigmoid
        };
        layers.push(Box::new(Dense::new(pair[1], pair[0], activation, rng)));
    }
    Model {
        kind: ModelKind::Dense,
        layers,
        input_shape: vec![IMAGE_PIXELS],
        bottleneck: Some((split, vec![WIDTHS[3]])),
    }
}

/// The seed article's convolutional denoiser, NCHW on 1×28×28: 3×3 "same" convolutions with 32
/// channels, 28→14→7 by max-pooling and back by nearest upsampling, a 1-channel sigmoid output.
/// The ReLUs, poolings and upsamplings run inside the convolutions' passes over each sample (see
/// `layers::conv2d`); the exported graph still has each as a node of its own.
fn conv_autoencoder(rng: &mut Rng) -> Model {
    const CHANNELS: usize = 32;
    let (full, half, quarter) = (IMAGE_SIDE, IMAGE_SIDE / 2, IMAGE_SIDE / 4);
    let layers: Vec<Box<dyn Layer>> = vec![
        Box::new(
            Conv2d::new(1, CHANNELS, full, full, rng)
                .with_relu()
                .with_pool(),
        ),
        Box::new(
            Conv2d::new(CHANNELS, CHANNELS, half, half, rng)
                .with_relu()
                .with_pool(),
        ),
        Box::new(Conv2d::new(CHANNELS, CHANNELS, quarter, quarter, rng).with_relu()),
        Box::new(
            Conv2d::new(CHANNELS, CHANNELS, half, half, rng)
                .after_upsample()
                .with_relu(),
        ),
        Box::new(Conv2d::new(CHANNELS, 1, full, full, rng).after_upsample()),
        Box::new(Sigmoid::default()),
    ];
    Model {
        kind: ModelKind::Conv,
        layers,
        input_shape: vec![1, full, full],
        bottleneck: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_autoencoder_is_the_seed_architecture() {
        let model = Model::new(ModelKind::Dense, 0);
        assert_eq!(
            model.architecture(),
            [
                "Dense 784→512, ELU",
                "Dense 512→128, ELU",
                "Dense 128→10",
                "Dense 10→128, ELU",
                "Dense 128→512, ELU",
                "Dense 512→784, sigmoid"
            ]
        );
        assert_eq!(model.bottleneck, Some((3, vec![10])));
    }

    #[test]
    fn dense_step_flops_are_the_products_of_the_widths() {
        // Forward: 2·in·out per layer. The step adds each layer's weight gradient (the same again)
        // and the input gradients of all layers but the first, 784→512.
        let widths = [IMAGE_PIXELS, 512, 128, CODE_SIZE];
        let encoder = widths.windows(2).map(|w| 2 * w[0] * w[1]);
        let forward: Vec<u64> = encoder
            .clone()
            .chain(encoder.rev())
            .map(|f| f as u64)
            .collect();
        let model = Model::new(ModelKind::Dense, 0);
        assert_eq!(model.forward_flops(), forward.iter().sum::<u64>());
        assert_eq!(
            model.step_flops(),
            3 * forward.iter().sum::<u64>() - forward[0]
        );
    }

    #[test]
    fn conv_step_flops_are_the_products_of_the_shapes() {
        // (input channels, output channels, side of the convolution's image), layer by layer; each
        // output pixel of each output channel takes 9 taps of every input channel.
        let side = IMAGE_SIDE;
        let convolutions = [
            (1, 32, side),
            (32, 32, side / 2),
            (32, 32, side / 4),
            (32, 32, side / 2),
            (32, 1, side),
        ];
        let forward: Vec<u64> = convolutions
            .iter()
            .map(|&(ins, outs, side)| (2 * outs * ins * 9 * side * side) as u64)
            .collect();
        let model = Model::new(ModelKind::Conv, 0);
        assert_eq!(model.forward_flops(), forward.iter().sum::<u64>());
        assert_eq!(
            model.step_flops(),
            3 * forward.iter().sum::<u64>() - forward[0]
        );
    }

    #[test]
    fn same_seed_same_weights() {
        let first = Model::new(ModelKind::Dense, 7).params()[0].value.to_vec();
        assert_eq!(
            first,
            Model::new(ModelKind::Dense, 7).params()[0].value.to_vec()
        );
        assert_ne!(
            first,
            Model::new(ModelKind::Dense, 8).params()[0].value.to_vec()
        );
    }
}

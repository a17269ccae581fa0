//! One exported autoencoder (or half of one), optimized once by tract for a batch of one image and
//! then run as often as the page likes with the same plan, state and input buffer.

use bottleneck::{IMAGE_PIXELS, IMAGE_SIDE};
use prost::Message;
use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;
use wasm_bindgen::prelude::*;

use crate::error::{WebError, check_values};

/// Largest model file the page accepts. The shipped models are under 4 MB; the limit keeps a
/// mistaken upload from exhausting the worker's memory.
pub const MAX_MODEL_BYTES: usize = 20_000_000;

/// Width of the dense autoencoder's bottleneck code.
pub const CODE_SIZE: usize = 10;

/// What a model does, told apart by its input and output shapes.
#[wasm_bindgen]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// `[N,784] → [N,784]`: the dense autoencoder, whose reconstruction error scores anomalies.
    Reconstruct,
    /// `[N,784] → [N,10]`: the dense encoder.
    Encode,
    /// `[N,10] → [N,784]`: the dense decoder.
    Decode,
    /// `[N,1,28,28] → [N,1,28,28]`: the convolutional denoiser.
    Denoise,
}

impl ModelKind {
    /// Every kind, in the order error messages list them.
    pub const ALL: [ModelKind; 4] = [
        ModelKind::Reconstruct,
        ModelKind::Encode,
        ModelKind::Decode,
        ModelKind::Denoise,
    ];

    /// Per-sample input and output shapes.
    fn shapes(self) -> (&'static [usize], &'static [usize]) {
        const IMAGE: &[usize] = &[IMAGE_PIXELS];
        const CODE: &[usize] = &[CODE_SIZE];
        const PLANE: &[usize] = &[1, IMAGE_SIDE, IMAGE_SIDE];
        match self {
            ModelKind::Reconstruct => (IMAGE, IMAGE),
            ModelKind::Encode => (IMAGE, CODE),
            ModelKind::Decode => (CODE, IMAGE),
            ModelKind::Denoise => (PLANE, PLANE),
        }
    }

    /// The kind whose per-sample shapes these are, if any.
    fn from_shapes(input: &[usize], output: &[usize]) -> Option<ModelKind> {
        ModelKind::ALL
            .into_iter()
            .find(|kind| kind.shapes() == (input, output))
    }

    /// Lower-case name, as the page and messages say it.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Reconstruct => "reconstruct",
            ModelKind::Encode => "encode",
            ModelKind::Decode => "decode",
            ModelKind::Denoise => "denoise",
        }
    }

    /// The shapes with the batch dimension, e.g. "[N,784] → [N,10] (encode)", for messages.
    pub(crate) fn signature(self) -> String {
        let (input, output) = self.shapes();
        format!(
            "{} → {} ({})",
            batched_shape(input),
            batched_shape(output),
            self.name()
        )
    }
}

/// A model loaded from ONNX bytes, ready to run one sample at a time.
#[wasm_bindgen]
pub struct AutoencoderModel {
    kind: ModelKind,
    /// The optimized plan's execution state, which holds the plan; reused by every run.
    state: TypedSimpleState,
    /// Reused for every run: refilled in place once tract has dropped its reference.
    input: Arc<Tensor>,
}

#[wasm_bindgen]
impl AutoencoderModel {
    /// Parses and checks an ONNX model, then optimizes it once for a batch of one. Errors if the
    /// file is too large, is not ONNX tract can run, or has shapes of none of the [`ModelKind`]s.
    pub fn load(bytes: &[u8]) -> Result<AutoencoderModel, WebError> {
        if bytes.len() > MAX_MODEL_BYTES {
            return Err(WebError::ModelTooLarge {
                len: bytes.len(),
                max: MAX_MODEL_BYTES,
            });
        }
        let proto = ModelProto::decode(bytes).map_err(|error| WebError::UnreadableModel {
            reason: format!("not an ONNX file: {error}"),
        })?;
        crate::ops::check_graph(&proto).map_err(unreadable)?;
        let unsupported = crate::ops::unsupported(&proto);
        if !unsupported.is_empty() {
            return Err(WebError::UnsupportedOperators { found: unsupported });
        }
        let mut model = crate::ops::graph::typed_model(&proto).map_err(unreadable)?;
        let kind = kind_of(&model)?;
        // Straight to tract's code generation, without its declutter passes: the graph is wired
        // as declutter would leave it, so the shipped models get the same plan (the dense one a
        // simpler one, with each bias added inside its product), in less loading time.
        model.optimize().map_err(unreadable)?;
        let plan = model.into_runnable().map_err(unreadable)?;
        let state = TypedSimpleState::new(&plan).map_err(unreadable)?;
        let (input_shape, _) = kind.shapes();
        let batch_of_one: Vec<usize> = std::iter::once(1)
            .chain(input_shape.iter().copied())
            .collect();
        let input = Tensor::zero::<f32>(&batch_of_one).map_err(unreadable)?;
        Ok(AutoencoderModel {
            kind,
            state,
            input: Arc::new(input),
        })
    }

    /// What this model does.
    #[wasm_bindgen(getter)]
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// Number of values in one input sample (784 or 10).
    #[wasm_bindgen(getter, js_name = inputLen)]
    pub fn input_len(&self) -> usize {
        self.kind.shapes().0.iter().product()
    }

    /// Number of values in one output sample (784 or 10).
    #[wasm_bindgen(getter, js_name = outputLen)]
    pub fn output_len(&self) -> usize {
        self.kind.shapes().1.iter().product()
    }

    /// Runs one sample (flattened, row-major) and returns the flattened output. Errors if the
    /// input has the wrong length or holds NaN or infinity.
    pub fn run(&mut self, input: &[f32]) -> Result<Vec<f32>, WebError> {
        check_values(input, self.input_len(), "model input")?;
        // tract drops its references to the input when a run ends, so this copies in place; only
        // if an op kept one would make_mut clone the tensor first.
        Arc::make_mut(&mut self.input)
            .try_as_plain_ram_mut()
            .and_then(|mut plain| {
                plain.as_slice_mut::<f32>()?.copy_from_slice(input);
                Ok(())
            })
            .map_err(inference_failed)?;
        let outputs = self
            .state
            .run(tvec![TValue::from_const(Arc::clone(&self.input))])
            .map_err(inference_failed)?;
        let output = outputs[0]
            .try_as_plain_ram()
            .and_then(|plain| plain.as_slice::<f32>().map(<[f32]>::to_vec))
            .map_err(inference_failed)?;
        check_values(&output, self.output_len(), "model output")?;
        Ok(output)
    }
}

/// The kind of a model with one input and one output whose batch dimension is 1, as the graph
/// builder binds a named one. A fixed batch of any other size is refused.
fn kind_of(model: &TypedModel) -> Result<ModelKind, WebError> {
    let shape_of = |outlets: &[OutletId]| -> Vec<TDim> {
        outlets
            .first()
            .and_then(|&outlet| model.outlet_fact(outlet).ok())
            .map(|fact| fact.shape.iter().cloned().collect())
            .unwrap_or_default()
    };
    let (input, output) = (shape_of(&model.inputs), shape_of(&model.outputs));
    let found = || WebError::UnsupportedShape {
        found: match (model.inputs.len(), model.outputs.len()) {
            (1, 1) => format!("{} → {}", dims_text(&input), dims_text(&output)),
            (inputs, outputs) => format!("{inputs} inputs to {outputs} outputs"),
        },
    };
    let batch_of_one = |shape: &[TDim]| shape.first() == Some(&TDim::Val(1));
    if model.inputs.len() != 1
        || model.outputs.len() != 1
        || !batch_of_one(&input)
        || !batch_of_one(&output)
    {
        return Err(found());
    }
    per_sample(&input)
        .zip(per_sample(&output))
        .and_then(|(input, output)| ModelKind::from_shapes(&input, &output))
        .ok_or_else(found)
}

/// tract's reason for refusing a model at load time.
fn unreadable(error: TractError) -> WebError {
    WebError::UnreadableModel {
        reason: format!("{error:#}"),
    }
}

/// tract's reason for failing to run a model that loaded.
fn inference_failed(error: TractError) -> WebError {
    WebError::Inference {
        reason: format!("{error:#}"),
    }
}

/// The fixed dimensions after the batch dimension, or None if any of them is symbolic.
fn per_sample(shape: &[TDim]) -> Option<Vec<usize>> {
    shape
        .get(1..)?
        .iter()
        .map(|dim| dim.to_i64().ok().and_then(|d| usize::try_from(d).ok()))
        .collect()
}

/// A shape such as `[N,784]`: a batch of one, as the graph builder binds any batch size, is
/// shown as N.
fn dims_text(shape: &[TDim]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .enumerate()
        .map(|(axis, dim)| match (axis, dim) {
            (0, TDim::Val(1)) => "N".to_string(),
            _ => dim.to_string(),
        })
        .collect();
    format!("[{}]", dims.join(","))
}

/// A per-sample shape with the batch dimension `N` in front, e.g. `[N,1,28,28]`.
fn batched_shape(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    format!("[N,{}]", dims.join(","))
}

// These tests export models with the trainer, which builds natively only.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use prost::Message;
    use trainer::model::{Model, ModelKind as TrainerKind, Part};
    use trainer::onnx::{GraphBuilder, WeightFormat, attr_int, attr_ints};

    fn exported(kind: TrainerKind, part: Part) -> Vec<u8> {
        exported_as(kind, part, WeightFormat::F32)
    }

    fn exported_as(kind: TrainerKind, part: Part, format: WeightFormat) -> Vec<u8> {
        Model::new(kind, 7).to_onnx(part, format).encode_to_vec()
    }

    /// A model of one `op_type` node, no attributes, with the given per-sample shape.
    fn one_node_model(op_type: &str, shape: &[usize]) -> Vec<u8> {
        let mut graph = GraphBuilder::default();
        graph.node(op_type, &["x"], vec![]);
        graph
            .finish(op_type, ("x", shape), ("y", shape))
            .encode_to_vec()
    }

    fn relu_model(shape: &[usize]) -> Vec<u8> {
        one_node_model("Relu", shape)
    }

    fn digit_like_input() -> Vec<f32> {
        (0..IMAGE_PIXELS)
            .map(|i| ((i * 37) % 101) as f32 / 100.0)
            .collect()
    }

    #[test]
    fn dense_parts_load_as_their_kinds_and_run() {
        for (part, kind, input_len, output_len) in [
            (Part::Full, ModelKind::Reconstruct, 784, 784),
            (Part::Encoder, ModelKind::Encode, 784, 10),
            (Part::Decoder, ModelKind::Decode, 10, 784),
        ] {
            let mut model = AutoencoderModel::load(&exported(TrainerKind::Dense, part)).unwrap();
            assert_eq!(model.kind(), kind);
            assert_eq!(
                (model.input_len(), model.output_len()),
                (input_len, output_len)
            );
            let input = digit_like_input()[..input_len].to_vec();
            let first = model.run(&input).unwrap();
            assert_eq!(first.len(), output_len);
            // The reused state and input buffer must not leak one run into the next.
            model.run(&vec![0.0; input_len]).unwrap();
            assert_eq!(model.run(&input).unwrap(), first);
            assert_eq!(
                Arc::strong_count(&model.input),
                1,
                "tract kept the input buffer"
            );
        }
    }

    /// The page's own operator registry (src/ops/) must give what full tract-onnx gives, for every
    /// operator the trainer exports: Gemm, Elu and Sigmoid; Conv, Relu, MaxPool and Resize; and
    /// DequantizeLinear in the int8 files.
    #[test]
    fn outputs_match_the_trainers_own_tract_runner() {
        for kind in [TrainerKind::Dense, TrainerKind::Conv] {
            for format in [WeightFormat::F32, WeightFormat::Int8] {
                let bytes = exported_as(kind, Part::Full, format);
                let reference = trainer::onnx::OnnxRunner::from_bytes(&bytes).unwrap();
                let input = digit_like_input();
                let batch = ndarray::ArrayView2::from_shape((1, IMAGE_PIXELS), &input).unwrap();
                let expected = reference.run(batch).unwrap();
                let mut model = AutoencoderModel::load(&bytes).unwrap();
                let output = model.run(&input).unwrap();
                assert_eq!(output.len(), expected.len());
                for (ours, theirs) in output.iter().zip(expected.iter()) {
                    assert!(
                        (ours - theirs).abs() <= 1e-5,
                        "{kind:?} {format:?}: {ours} vs {theirs}"
                    );
                }
                if kind == TrainerKind::Conv {
                    assert_eq!(model.kind(), ModelKind::Denoise);
                    assert!(output.iter().all(|v| (0.0..=1.0).contains(v)));
                }
            }
        }
    }

    /// The names of the ops in the plan of the trainer's `kind` model, int8 weights.
    fn planned_ops(kind: TrainerKind) -> Vec<String> {
        let model =
            AutoencoderModel::load(&exported_as(kind, Part::Full, WeightFormat::Int8)).unwrap();
        model
            .state
            .plan()
            .model()
            .nodes()
            .iter()
            .map(|node| node.op.name().to_string())
            .collect()
    }

    /// The denoiser must run the page's own pooling, padding and last-layer ops (src/ops/), not
    /// fall back to tract's slower general ones.
    #[test]
    fn the_denoiser_runs_the_pages_own_ops() {
        let ops = planned_ops(TrainerKind::Conv);
        let count = |name: &str| ops.iter().filter(|op| *op == name).count();
        assert_eq!(
            (count("MaxPool2x2"), count("ZeroPad2d"), count("DirectConv")),
            (2, 5, 1),
            "{ops:?}"
        );
    }

    /// Each of the dense model's six layers must run as the page's MatVec, not as tract's
    /// matrix product, which loads slower on a cold page.
    #[test]
    fn the_dense_model_runs_the_pages_matvec() {
        let ops = planned_ops(TrainerKind::Dense);
        assert_eq!(
            ops.iter().filter(|op| *op == "MatVec").count(),
            6,
            "{ops:?}"
        );
    }

    #[test]
    fn models_with_other_operators_are_refused_with_their_names() {
        let error = AutoencoderModel::load(&one_node_model("Softmax", &[784]))
            .err()
            .unwrap();
        assert_eq!(
            error,
            WebError::UnsupportedOperators {
                found: vec!["Softmax".into()]
            }
        );
        let message = error.to_string();
        assert!(
            message.contains("Softmax") && message.contains("Gemm") && message.contains("Resize"),
            "{message}"
        );
    }

    #[test]
    fn dequantizing_anything_but_stored_weights_is_refused() {
        let error = AutoencoderModel::load(&one_node_model("DequantizeLinear", &[784]))
            .err()
            .unwrap();
        assert!(
            error
                .to_string()
                .contains("is not a weight stored in the file"),
            "{error}"
        );
    }

    /// tract panics on a string tensor stored as raw bytes, and a panic would end the wasm
    /// instance with every model in it.
    #[test]
    fn string_weights_are_an_error_not_a_panic() {
        let mut graph = GraphBuilder::default();
        graph.node("Relu", &["x"], vec![]);
        graph.node("Relu", &["words"], vec![]);
        let mut model = graph.finish("relu", ("x", &[784]), ("y", &[784]));
        model
            .graph
            .as_mut()
            .unwrap()
            .initializer
            .push(tract_onnx::pb::TensorProto {
                name: "words".into(),
                dims: vec![3],
                data_type: tract_onnx::pb::tensor_proto::DataType::String as i32,
                raw_data: b"abc".to_vec(),
                ..Default::default()
            });
        let error = AutoencoderModel::load(&model.encode_to_vec())
            .err()
            .unwrap();
        assert!(error.to_string().contains("words"), "{error}");
    }

    /// Attributes and weights that tract would panic on (index out of range, division by zero,
    /// a negative size) must come back as errors: a panic would end the wasm instance.
    #[test]
    fn malformed_convolutions_and_resizes_are_errors_not_panics() {
        let conv = |attributes: Vec<tract_onnx::pb::AttributeProto>| {
            let mut graph = GraphBuilder::default();
            let weights = graph.initializer("w", &[1, 1, 3, 3], &[0.1; 9]);
            graph.node("Conv", &["x", &weights], attributes);
            graph.finish("conv", ("x", &[1, 28, 28]), ("y", &[1, 28, 28]))
        };
        let resize = |scales: [f32; 4]| {
            let mut graph = GraphBuilder::default();
            let scales = graph.initializer("scales", &[4], &scales);
            graph.node("Resize", &["x", "", &scales], vec![]);
            graph.finish("resize", ("x", &[1, 28, 28]), ("y", &[1, 28, 28]))
        };
        let same = || {
            vec![
                attr_ints("kernel_shape", &[3, 3]),
                attr_ints("pads", &[1, 1, 1, 1]),
            ]
        };
        let models = [
            ("kernel_shape", conv(vec![attr_ints("kernel_shape", &[3])])),
            ("pads", conv(vec![attr_ints("pads", &[1, 1])])),
            (
                "strides",
                conv([same(), vec![attr_ints("strides", &[0, 0])]].concat()),
            ),
            (
                "dilations",
                conv([same(), vec![attr_ints("dilations", &[0, 1])]].concat()),
            ),
            ("group", conv([same(), vec![attr_int("group", 0)]].concat())),
            ("scale", resize([1.0, 1.0, -2.0, 2.0])),
            ("scale", resize([1.0, 1.0, 1.5e20, 2.0])),
            ("values", resize([1.0, 1.0, 1000.0, 1000.0])),
        ];
        for (what, model) in models {
            let error = AutoencoderModel::load(&model.encode_to_vec())
                .err()
                .unwrap();
            assert!(error.to_string().contains(what), "{what}: {error}");
        }
    }

    /// Random byte edits of real exported models (seeded, so a failure repeats) must load, or fail
    /// with an error, and never panic. Before the checks in src/ops/, 15 in 3,000 such edits of the
    /// denoiser panicked inside tract.
    #[test]
    fn mutated_models_never_panic() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as usize
        };
        for (kind, mutants) in [(TrainerKind::Conv, 3000), (TrainerKind::Dense, 200)] {
            let model = exported_as(kind, Part::Full, WeightFormat::Int8);
            for mutant in 0..mutants {
                let mut bytes = model.clone();
                for _ in 0..1 + next() % 6 {
                    // Dense weights fill the middle of the file; the graph is at its ends.
                    let at = match next() % 2 {
                        0 => next() % bytes.len().min(4000),
                        _ => bytes.len() - 1 - next() % bytes.len().min(4000),
                    };
                    match next() % 4 {
                        0 => {
                            bytes.remove(at);
                        }
                        1 => bytes.insert(at, next() as u8),
                        _ => bytes[at] = next() as u8,
                    }
                }
                let outcome = std::panic::catch_unwind(|| {
                    if let Ok(mut model) = AutoencoderModel::load(&bytes) {
                        let _ = model.run(&vec![0.5; model.input_len()]);
                    }
                });
                assert!(outcome.is_ok(), "{kind:?} mutant {mutant} panicked");
            }
        }
    }

    #[test]
    fn garbage_empty_and_oversized_bytes_are_errors() {
        for bytes in [&b""[..], b"not an onnx model", &[0xff; 64]] {
            let error = AutoencoderModel::load(bytes).err().unwrap();
            assert!(
                matches!(
                    error,
                    WebError::UnreadableModel { .. } | WebError::UnsupportedShape { .. }
                ),
                "{error}"
            );
        }
        let oversized = vec![0; MAX_MODEL_BYTES + 1];
        assert_eq!(
            AutoencoderModel::load(&oversized).err(),
            Some(WebError::ModelTooLarge {
                len: MAX_MODEL_BYTES + 1,
                max: MAX_MODEL_BYTES
            })
        );
        // A truncated real model must fail cleanly too.
        let bytes = exported(TrainerKind::Dense, Part::Full);
        assert!(AutoencoderModel::load(&bytes[..bytes.len() / 2]).is_err());
    }

    #[test]
    fn models_of_other_shapes_are_refused_with_their_shape() {
        for shape in [&[5][..], &[783], &[28, 28], &[3, 28, 28]] {
            let error = AutoencoderModel::load(&relu_model(shape)).err().unwrap();
            let WebError::UnsupportedShape { found } = &error else {
                panic!("{shape:?}: {error}");
            };
            assert!(
                found.contains(&format!("{}]", shape[shape.len() - 1])),
                "{found}"
            );
        }
        // Same shape in and out is a known kind even when the model is a bare Relu.
        assert_eq!(
            AutoencoderModel::load(&relu_model(&[784])).unwrap().kind(),
            ModelKind::Reconstruct
        );
    }

    #[test]
    fn wrong_inputs_are_errors_not_panics() {
        let mut model = AutoencoderModel::load(&relu_model(&[784])).unwrap();
        assert_eq!(
            model.run(&[0.0; 10]),
            Err(WebError::WrongLength {
                what: "model input",
                expected: 784,
                len: 10
            })
        );
        let mut input = vec![0.5; 784];
        input[3] = f32::NAN;
        assert_eq!(
            model.run(&input),
            Err(WebError::NonFinite {
                what: "model input",
                index: 3
            })
        );
        input[3] = -1.0;
        let output = model.run(&input).unwrap();
        assert_eq!((output[3], output[4]), (0.0, 0.5));
    }
}

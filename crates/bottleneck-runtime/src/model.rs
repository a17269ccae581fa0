//! One exported autoencoder (or half of one), optimized once by tract for a batch size and then
//! run as often as the caller likes with the same plan, state and input buffer.

use prost::Message;
use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;

use crate::ModelKind;
use crate::error::{RuntimeError, check_values};

/// Largest model file accepted, well above the shipped models; the limit keeps a mistaken
/// upload from exhausting the worker's memory.
pub const MAX_MODEL_BYTES: usize = 20_000_000;

/// A model loaded from ONNX bytes, optimized for one batch size and run as often as the caller
/// likes with the same plan, state and input buffer.
pub struct Model {
    kind: ModelKind,
    /// Samples per run.
    batch: usize,
    /// The optimized plan's execution state, which holds the plan; reused by every run.
    state: TypedSimpleState,
    /// Reused for every run: refilled in place once tract has dropped its reference.
    input: Arc<Tensor>,
}

impl Model {
    /// Parses and checks an ONNX model, then optimizes it once for `batch` samples a run. Errors
    /// if the file is too large, is not ONNX tract can run, has shapes of none of the
    /// [`ModelKind`]s, or fixes another batch size.
    pub fn load(bytes: &[u8], batch: usize) -> Result<Model, RuntimeError> {
        if batch == 0 {
            return Err(RuntimeError::UnsupportedBatch { batch, fixed: None });
        }
        if bytes.len() > MAX_MODEL_BYTES {
            return Err(RuntimeError::ModelTooLarge {
                len: bytes.len(),
                max: MAX_MODEL_BYTES,
            });
        }
        let proto = ModelProto::decode(bytes).map_err(|error| RuntimeError::UnreadableModel {
            reason: format!("not an ONNX file: {error}"),
        })?;
        crate::ops::check_graph(&proto).map_err(unreadable)?;
        let unsupported = crate::ops::unsupported(&proto);
        if !unsupported.is_empty() {
            return Err(RuntimeError::UnsupportedOperators { found: unsupported });
        }
        let mut model = crate::graph::typed_model(&proto, batch).map_err(unreadable)?;
        let kind = kind_of(&model, batch)?;
        // Straight to tract's code generation, without its declutter passes: the graph is wired
        // as declutter would leave it, so the shipped models get the same plan (the dense one a
        // simpler one, with each bias added inside its product), in less loading time.
        model.optimize().map_err(unreadable)?;
        let plan = model.into_runnable().map_err(unreadable)?;
        let state = TypedSimpleState::new(&plan).map_err(unreadable)?;
        let (input_shape, _) = kind.shapes();
        let batched: Vec<usize> = std::iter::once(batch)
            .chain(input_shape.iter().copied())
            .collect();
        let input = Tensor::zero::<f32>(&batched).map_err(unreadable)?;
        Ok(Model {
            kind,
            batch,
            state,
            input: Arc::new(input),
        })
    }

    /// What this model does.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// Samples in each run.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Number of values in one input sample (784 or 10).
    pub fn input_len(&self) -> usize {
        self.kind.shapes().0.iter().product()
    }

    /// Number of values in one output sample (784 or 10).
    pub fn output_len(&self) -> usize {
        self.kind.shapes().1.iter().product()
    }

    /// Runs [`batch`](Model::batch) samples, flattened one after the other (row-major), and
    /// returns their outputs the same way. Errors if the input has the wrong length or holds NaN
    /// or infinity.
    pub fn run(&mut self, input: &[f32]) -> Result<Vec<f32>, RuntimeError> {
        self.fill_input(input)?;
        let outputs = self
            .state
            .run(tvec![TValue::from_const(Arc::clone(&self.input))])
            .map_err(inference_failed)?;
        self.output_of(outputs)
    }

    /// Runs as [`run`](Model::run) does, and times each op of the plan with `clock`, which reads
    /// a time in milliseconds: the ops' names (node, then op, after a space) and their times, in
    /// plan order. The plan's constants are not run, so they are not listed.
    pub fn profile(
        &mut self,
        input: &[f32],
        mut clock: impl FnMut() -> f64,
    ) -> Result<Vec<(String, f64)>, RuntimeError> {
        self.fill_input(input)?;
        let mut times = Vec::new();
        let outputs = self
            .state
            .run_plan_with_eval(
                tvec![TValue::from_const(Arc::clone(&self.input))],
                |context, state, node, inputs| {
                    let start = clock();
                    let outputs = tract_onnx::tract_core::plan::eval(context, state, node, inputs);
                    times.push((format!("{} {}", node.name, node.op.name()), clock() - start));
                    outputs
                },
            )
            .map_err(inference_failed)?;
        self.output_of(outputs)?;
        Ok(times)
    }

    /// Checks `input` and copies it into the input tensor every run reads.
    fn fill_input(&mut self, input: &[f32]) -> Result<(), RuntimeError> {
        check_values(input, self.batch * self.input_len(), "model input")?;
        // tract drops its references to the input when a run ends, so this copies in place; only
        // if an op kept one would make_mut clone the tensor first.
        Arc::make_mut(&mut self.input)
            .try_as_plain_ram_mut()
            .and_then(|mut plain| {
                plain.as_slice_mut::<f32>()?.copy_from_slice(input);
                Ok(())
            })
            .map_err(inference_failed)
    }

    /// The values of a run's output, checked.
    fn output_of(&self, outputs: TVec<TValue>) -> Result<Vec<f32>, RuntimeError> {
        let output = outputs[0]
            .try_as_plain_ram()
            .and_then(|plain| plain.as_slice::<f32>().map(<[f32]>::to_vec))
            .map_err(inference_failed)?;
        check_values(&output, self.batch * self.output_len(), "model output")?;
        Ok(output)
    }

    /// The names of the ops in the optimized plan, in order: which of them are the page's own.
    pub fn planned_ops(&self) -> Vec<String> {
        let nodes = self.state.plan().model().nodes();
        nodes
            .iter()
            .map(|node| node.op.name().to_string())
            .collect()
    }
}

/// The kind of a model with one input and one output whose batch dimension is `batch`, as the
/// graph builder binds a named one. A file that fixes another batch size is refused.
fn kind_of(model: &TypedModel, batch: usize) -> Result<ModelKind, RuntimeError> {
    let shape_of = |outlets: &[OutletId]| -> Vec<TDim> {
        outlets
            .first()
            .and_then(|&outlet| model.outlet_fact(outlet).ok())
            .map(|fact| fact.shape.iter().cloned().collect())
            .unwrap_or_default()
    };
    let (input, output) = (shape_of(&model.inputs), shape_of(&model.outputs));
    let found = || RuntimeError::UnsupportedShape {
        found: match (model.inputs.len(), model.outputs.len()) {
            (1, 1) => format!("{} → {}", dims_text(&input), dims_text(&output)),
            (inputs, outputs) => format!("{inputs} inputs to {outputs} outputs"),
        },
    };
    if model.inputs.len() != 1 || model.outputs.len() != 1 {
        return Err(found());
    }
    if let Some(TDim::Val(fixed)) = input.first()
        && usize::try_from(*fixed).ok() != Some(batch)
    {
        return Err(RuntimeError::UnsupportedBatch {
            batch,
            fixed: usize::try_from(*fixed).ok(),
        });
    }
    let batched = |shape: &[TDim]| shape.first() == Some(&TDim::Val(batch as i64));
    if !batched(&input) || !batched(&output) {
        return Err(found());
    }
    per_sample(&input)
        .zip(per_sample(&output))
        .and_then(|(input, output)| ModelKind::from_shapes(&input, &output))
        .ok_or_else(found)
}

/// tract's reason for refusing a model at load time.
fn unreadable(error: TractError) -> RuntimeError {
    RuntimeError::UnreadableModel {
        reason: format!("{error:#}"),
    }
}

/// tract's reason for failing to run a model that loaded.
fn inference_failed(error: TractError) -> RuntimeError {
    RuntimeError::Inference {
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

/// A shape such as `[N,784]`: the batch dimension, which the graph builder binds, is shown as N.
fn dims_text(shape: &[TDim]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .enumerate()
        .map(|(axis, dim)| match axis {
            0 => "N".to_string(),
            _ => dim.to_string(),
        })
        .collect();
    format!("[{}]", dims.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{GraphBuilder, attr_int, attr_ints};

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

    /// The reused state and input buffer must not leak one run into the next, and tract must
    /// not keep the input buffer (which would make every run copy it).
    #[test]
    fn runs_reuse_the_input_buffer_without_leaking_between_runs() {
        let mut model = Model::load(&relu_model(&[784]), 1).unwrap();
        let input: Vec<f32> = (0..784).map(|i| (i % 7) as f32 - 3.0).collect();
        let first = model.run(&input).unwrap();
        model.run(&[0.0; 784]).unwrap();
        assert_eq!(model.run(&input).unwrap(), first);
        assert_eq!(
            Arc::strong_count(&model.input),
            1,
            "tract kept the input buffer"
        );
    }

    /// A batch runs each of its samples as a run of one would, in order.
    #[test]
    fn a_batch_gives_what_its_samples_give_one_at_a_time() {
        let mut graph = GraphBuilder::default();
        let weights: Vec<f32> = (0..784 * 10)
            .map(|i| ((i % 13) as f32 - 6.0) / 50.0)
            .collect();
        let weights = graph.initializer("w", &[784, 10], &weights);
        graph.node("Gemm", &["x", &weights], vec![]);
        let bytes = graph
            .finish("gemm", ("x", &[784]), ("y", &[10]))
            .encode_to_vec();
        let samples: Vec<Vec<f32>> = (0..3)
            .map(|s| {
                (0..784)
                    .map(|i| ((i * (s + 3)) % 17) as f32 / 17.0)
                    .collect()
            })
            .collect();
        let mut single = Model::load(&bytes, 1).unwrap();
        let one_at_a_time: Vec<f32> = samples
            .iter()
            .flat_map(|sample| single.run(sample).unwrap())
            .collect();
        let mut batched = Model::load(&bytes, 3).unwrap();
        assert_eq!((batched.kind(), batched.batch()), (ModelKind::Encode, 3));
        let together = batched.run(&samples.concat()).unwrap();
        assert_eq!(together.len(), 30);
        for (a, b) in together.iter().zip(&one_at_a_time) {
            assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
        }
        assert_eq!(
            batched.run(&samples[0]),
            Err(RuntimeError::WrongLength {
                what: "model input",
                expected: 3 * 784,
                len: 784
            })
        );
    }

    #[test]
    fn a_batch_of_zero_or_against_a_fixed_batch_is_refused() {
        assert_eq!(
            Model::load(&relu_model(&[784]), 0).err(),
            Some(RuntimeError::UnsupportedBatch {
                batch: 0,
                fixed: None
            })
        );
        let mut model = tract_onnx::pb::ModelProto::decode(&relu_model(&[784])[..]).unwrap();
        let graph = model.graph.as_mut().unwrap();
        for value in graph.input.iter_mut().chain(graph.output.iter_mut()) {
            let Some(tract_onnx::pb::type_proto::Value::TensorType(tensor)) =
                value.r#type.as_mut().and_then(|t| t.value.as_mut())
            else {
                unreachable!("the builder declares tensors");
            };
            tensor.shape.as_mut().unwrap().dim[0].value =
                Some(tract_onnx::pb::tensor_shape_proto::dimension::Value::DimValue(1));
        }
        let bytes = model.encode_to_vec();
        assert!(Model::load(&bytes, 1).is_ok());
        let error = Model::load(&bytes, 4).err().unwrap();
        assert_eq!(
            error,
            RuntimeError::UnsupportedBatch {
                batch: 4,
                fixed: Some(1)
            }
        );
        assert!(
            error.to_string().contains("fixes its batch at 1"),
            "{error}"
        );
    }

    #[test]
    fn models_with_other_operators_are_refused_with_their_names() {
        let error = Model::load(&one_node_model("Softmax", &[784]), 1)
            .err()
            .unwrap();
        assert_eq!(
            error,
            RuntimeError::UnsupportedOperators {
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
        let error = Model::load(&one_node_model("DequantizeLinear", &[784]), 1)
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
        let error = Model::load(&model.encode_to_vec(), 1).err().unwrap();
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
            let error = Model::load(&model.encode_to_vec(), 1).err().unwrap();
            assert!(error.to_string().contains(what), "{what}: {error}");
        }
    }

    #[test]
    fn garbage_empty_and_oversized_bytes_are_errors() {
        for bytes in [&b""[..], b"not an onnx model", &[0xff; 64]] {
            let error = Model::load(bytes, 1).err().unwrap();
            assert!(
                matches!(
                    error,
                    RuntimeError::UnreadableModel { .. } | RuntimeError::UnsupportedShape { .. }
                ),
                "{error}"
            );
        }
        let oversized = vec![0; MAX_MODEL_BYTES + 1];
        assert_eq!(
            Model::load(&oversized, 1).err(),
            Some(RuntimeError::ModelTooLarge {
                len: MAX_MODEL_BYTES + 1,
                max: MAX_MODEL_BYTES
            })
        );
    }

    #[test]
    fn models_of_other_shapes_are_refused_with_their_shape() {
        for shape in [&[5][..], &[783], &[28, 28], &[3, 28, 28]] {
            let error = Model::load(&relu_model(shape), 1).err().unwrap();
            let RuntimeError::UnsupportedShape { found } = &error else {
                panic!("{shape:?}: {error}");
            };
            assert!(
                found.contains(&format!("{}]", shape[shape.len() - 1])),
                "{found}"
            );
        }
        // Same shape in and out is a known kind even when the model is a bare Relu.
        assert_eq!(
            Model::load(&relu_model(&[784]), 1).unwrap().kind(),
            ModelKind::Reconstruct
        );
    }

    #[test]
    fn wrong_inputs_are_errors_not_panics() {
        let mut model = Model::load(&relu_model(&[784]), 1).unwrap();
        assert_eq!(
            model.run(&[0.0; 10]),
            Err(RuntimeError::WrongLength {
                what: "model input",
                expected: 784,
                len: 10
            })
        );
        let mut input = vec![0.5; 784];
        input[3] = f32::NAN;
        assert_eq!(
            model.run(&input),
            Err(RuntimeError::NonFinite {
                what: "model input",
                index: 3
            })
        );
        input[3] = -1.0;
        let output = model.run(&input).unwrap();
        assert_eq!((output[3], output[4]), (0.0, 0.5));
    }
}

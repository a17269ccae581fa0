//! A small builder over `tract_onnx::pb`: the trainer's layers append their nodes and weights to
//! it, and it closes the graph into a `ModelProto` with a symbolic batch dimension. It lives
//! beside the runtime so that the runtime's tests build the models they load.

use tract_onnx::pb::{
    self, attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto::dimension,
    type_proto,
};

/// The ONNX opset the exported graphs declare.
pub const OPSET: i64 = 13;
/// Name of the symbolic batch dimension.
const BATCH_DIM: &str = "N";

/// How weight matrices are stored in the exported file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WeightFormat {
    /// 32-bit floats: exactly the trained weights.
    #[default]
    F32,
    /// 8-bit integers with one f32 scale per output channel, widened back to f32 by a
    /// DequantizeLinear node: a quarter of the bytes, for the page's download.
    Int8,
}

impl WeightFormat {
    /// Every format, in the order the CLI lists them.
    pub const ALL: [WeightFormat; 2] = [WeightFormat::F32, WeightFormat::Int8];

    /// The name the CLI and the model card use.
    pub fn name(self) -> &'static str {
        match self {
            WeightFormat::F32 => "f32",
            WeightFormat::Int8 => "int8",
        }
    }
}

impl std::str::FromStr for WeightFormat {
    type Err = String;

    /// The format called `name`, as [`WeightFormat::name`] spells it.
    fn from_str(name: &str) -> Result<WeightFormat, String> {
        WeightFormat::ALL
            .into_iter()
            .find(|format| format.name() == name)
            .ok_or_else(|| format!("unknown weight format {name:?}: use f32 or int8"))
    }
}

/// Collects nodes and initializers while layers export themselves in order.
#[derive(Default)]
pub struct GraphBuilder {
    nodes: Vec<pb::NodeProto>,
    initializers: Vec<pb::TensorProto>,
    weights: WeightFormat,
}

impl GraphBuilder {
    /// A builder that stores weight matrices in `weights` format.
    pub fn new(weights: WeightFormat) -> GraphBuilder {
        GraphBuilder {
            weights,
            ..Default::default()
        }
    }

    /// Adds a float tensor and returns the name to read it by. Biases (rank 1) stay f32. Rank-2
    /// tensors are Gemm weights `[in, out]` and rank-4 ones Conv weights `[out, in, kh, kw]`: in
    /// int8 format they are quantized per output channel (axis 1 and 0), and the name returned
    /// is that of the DequantizeLinear node that restores them.
    pub fn initializer(&mut self, hint: &str, dims: &[usize], values: &[f32]) -> String {
        assert_eq!(
            dims.iter().product::<usize>(),
            values.len(),
            "initializer {hint}: dims and data disagree"
        );
        let channel_axis = match dims.len() {
            2 => 1,
            4 => 0,
            _ => return self.float_initializer(hint, dims, values),
        };
        match self.weights {
            WeightFormat::F32 => self.float_initializer(hint, dims, values),
            WeightFormat::Int8 => self.int8_initializer(hint, dims, values, channel_axis),
        }
    }

    fn float_initializer(&mut self, hint: &str, dims: &[usize], values: &[f32]) -> String {
        let raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push_initializer(hint, dims, DataType::Float, raw_data)
    }

    /// Symmetric quantization (zero point 0): each channel's largest |w| maps to 127.
    fn int8_initializer(
        &mut self,
        hint: &str,
        dims: &[usize],
        values: &[f32],
        axis: usize,
    ) -> String {
        let channels = dims[axis];
        // Element i belongs to channel (i / inner) % channels in row-major order.
        let inner: usize = dims[axis + 1..].iter().product();
        let channel_of = |i: usize| (i / inner) % channels;
        let mut largest = vec![0f32; channels];
        for (i, v) in values.iter().enumerate() {
            largest[channel_of(i)] = largest[channel_of(i)].max(v.abs());
        }
        // An all-zero channel keeps scale 1 so that dequantizing never divides by zero.
        let scales: Vec<f32> = largest
            .iter()
            .map(|&m| if m > 0.0 { m / 127.0 } else { 1.0 })
            .collect();
        let quantized: Vec<u8> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (v / scales[channel_of(i)]).round().clamp(-127.0, 127.0) as i8 as u8)
            .collect();
        let q = self.push_initializer(&format!("{hint}q"), dims, DataType::Int8, quantized);
        let scale = self.float_initializer(&format!("{hint}scale"), &[channels], &scales);
        let zero = self.push_initializer(
            &format!("{hint}zero"),
            &[channels],
            DataType::Int8,
            vec![0; channels],
        );
        self.node(
            "DequantizeLinear",
            &[&q, &scale, &zero],
            vec![attr_int("axis", axis as i64)],
        )
    }

    fn push_initializer(
        &mut self,
        hint: &str,
        dims: &[usize],
        data_type: DataType,
        raw_data: Vec<u8>,
    ) -> String {
        let name = format!("{hint}_{}", self.initializers.len());
        self.initializers.push(pb::TensorProto {
            name: name.clone(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: data_type as i32,
            raw_data,
            ..Default::default()
        });
        name
    }

    /// Adds a node with one output and returns the output's name.
    pub fn node(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        attributes: Vec<pb::AttributeProto>,
    ) -> String {
        let output = format!("{}_{}", op_type.to_lowercase(), self.nodes.len());
        self.nodes.push(pb::NodeProto {
            name: output.clone(),
            op_type: op_type.to_string(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.clone()],
            attribute: attributes,
            ..Default::default()
        });
        output
    }

    /// Closes the graph: `input` names the graph input the first node reads, the last node's output
    /// is renamed `output`. Shapes are per sample; a symbolic batch dimension is put in front.
    pub fn finish(
        mut self,
        name: &str,
        input: (&str, &[usize]),
        output: (&str, &[usize]),
    ) -> pb::ModelProto {
        if let Some(last) = self.nodes.last_mut() {
            let old = std::mem::replace(&mut last.output[0], output.0.to_string());
            debug_assert!(self.nodes.iter().all(|n| !n.input.contains(&old)));
        }
        let graph = pb::GraphProto {
            name: name.to_string(),
            node: self.nodes,
            initializer: self.initializers,
            input: vec![value_info(input.0, input.1)],
            output: vec![value_info(output.0, output.1)],
            ..Default::default()
        };
        pb::ModelProto {
            ir_version: 7, // the IR version that goes with opset 13
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: OPSET,
            }],
            producer_name: "bottleneck-trainer".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            graph: Some(graph),
            ..Default::default()
        }
    }
}

/// A float tensor value `[N, shape…]`.
fn value_info(name: &str, shape: &[usize]) -> pb::ValueInfoProto {
    let batch = pb::tensor_shape_proto::Dimension {
        value: Some(dimension::Value::DimParam(BATCH_DIM.into())),
        ..Default::default()
    };
    let dims = shape.iter().map(|&d| pb::tensor_shape_proto::Dimension {
        value: Some(dimension::Value::DimValue(d as i64)),
        ..Default::default()
    });
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: Some(pb::TensorShapeProto {
                    dim: std::iter::once(batch).chain(dims).collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A float attribute.
pub fn attr_float(name: &str, value: f32) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Float as i32,
        f: value,
        ..Default::default()
    }
}

/// An integer attribute.
pub fn attr_int(name: &str, value: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i: value,
        ..Default::default()
    }
}

/// A list-of-integers attribute.
pub fn attr_ints(name: &str, values: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: values.to_vec(),
        ..Default::default()
    }
}

/// A string attribute.
pub fn attr_string(name: &str, value: &str) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::String as i32,
        s: value.as_bytes().to_vec(),
        ..Default::default()
    }
}

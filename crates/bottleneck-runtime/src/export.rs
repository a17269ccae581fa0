//! A small builder over `tract_onnx::pb`: the trainer's layers append their nodes and weights to
//! it, and it closes the graph into a `ModelProto` with a symbolic batch dimension. It lives
//! beside the runtime so that the runtime's tests build the models they load.

use tract_onnx::pb::{
    self, attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto::dimension,
    type_proto,
};

/// The ONNX opset the exported graphs declare, unless their weights are in int4 format.
pub const OPSET: i64 = 13;
/// The opset of files with int4 weights: DequantizeLinear-21 is the first to take INT4 values and
/// a `block_size`.
pub const INT4_OPSET: i64 = 21;
/// Weights per scale in int4 format, along a weight tensor's input axis.
pub const INT4_BLOCK: usize = 32;
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
    /// 4-bit integers, two to a byte, with one f32 scale per block of [`INT4_BLOCK`] weights
    /// along the input axis (a blocked DequantizeLinear, opset 21). A tensor whose input axis is
    /// shorter than a block (the first convolution's one input channel, the 10-unit code the
    /// decoder reads) is stored as in int8: blocks there would pay a scale for too few weights.
    Int4,
}

impl WeightFormat {
    /// Every format, in the order the CLI lists them.
    pub const ALL: [WeightFormat; 3] = [WeightFormat::F32, WeightFormat::Int8, WeightFormat::Int4];

    /// The name the CLI and the model card use.
    pub fn name(self) -> &'static str {
        match self {
            WeightFormat::F32 => "f32",
            WeightFormat::Int8 => "int8",
            WeightFormat::Int4 => "int4",
        }
    }

    /// The ONNX opset and the IR version that goes with it, of a file in this format.
    fn versions(self) -> (i64, i64) {
        match self {
            WeightFormat::Int4 => (INT4_OPSET, 10),
            WeightFormat::F32 | WeightFormat::Int8 => (OPSET, 7),
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
            .ok_or_else(|| {
                let names: Vec<&str> = WeightFormat::ALL.map(WeightFormat::name).to_vec();
                format!(
                    "unknown weight format {name:?}: use one of {}",
                    names.join(", ")
                )
            })
    }
}

/// A weight tensor as a file stores it in an integer format: symmetric (zero point 0), with one
/// scale per group of weights, a group being an output channel or a block along the input axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized {
    /// One integer per weight, in the tensor's row-major order: in −127..=127, or −8..=7 in 4 bits.
    pub values: Vec<i8>,
    /// Whether `values` are stored in 4 bits (INT4) rather than 8.
    pub four_bits: bool,
    /// The scales, row-major in `scale_dims`.
    pub scales: Vec<f32>,
    /// `[channels]` for a scale per channel; for blocks, the tensor's dims with the blocked
    /// axis's size divided by the block size, rounded up (the last block may be shorter).
    pub scale_dims: Vec<usize>,
    /// The axis along which the channels or the blocks run.
    pub axis: usize,
    /// Weights per block along `axis`, or 0 for a scale per channel.
    pub block_size: usize,
    /// The tensor's dims.
    dims: Vec<usize>,
}

impl Quantized {
    /// The index into `scales` of each weight, in order.
    fn groups(&self) -> impl Iterator<Item = usize> + '_ {
        let size = self.dims[self.axis];
        // Weight i sits at (outer, along, inner): outer over the axes before `axis`, inner over
        // those after it.
        let inner: usize = self.dims[self.axis + 1..].iter().product();
        let blocks = size.div_ceil(self.block_size.max(1));
        (0..self.values.len()).map(move |i| {
            let along = (i / inner) % size;
            // No block size: a scale per index along the axis.
            match along.checked_div(self.block_size) {
                None => along,
                Some(block) => (i / (inner * size) * blocks + block) * inner + i % inner,
            }
        })
    }

    /// The f32 weights the file restores: value · scale, computed in f32 as a DequantizeLinear
    /// node computes it.
    pub fn dequantized(&self) -> Vec<f32> {
        self.values
            .iter()
            .zip(self.groups())
            .map(|(&v, group)| f32::from(v) * self.scales[group])
            .collect()
    }

    /// The values as the file stores them: one byte each, or for 4 bits two to a byte, the first
    /// in the low nibble (ONNX's INT4 packing), the last byte's high nibble 0 for an odd count.
    fn raw_data(&self) -> Vec<u8> {
        if !self.four_bits {
            return self.values.iter().map(|&v| v as u8).collect();
        }
        self.values
            .chunks(2)
            .map(|pair| {
                let low = pair[0] as u8 & 0x0f;
                let high = pair.get(1).map_or(0, |&v| v as u8 & 0x0f);
                low | high << 4
            })
            .collect()
    }
}

/// How `format` stores the weight tensor of `dims`, or `None` if as f32 values. Rank-2 tensors are
/// Gemm weights `[in, out]` and rank-4 ones Conv weights `[out, in, kh, kw]`; every other rank
/// (biases) stays f32. int8 keeps a scale per output channel (axis 1 and 0); int4 a scale per
/// block along the input axis (axis 0 and 1), the input channels of one output channel at one
/// kernel position for a convolution. An int8 channel's largest |w| maps to 127; a 4-bit block's
/// scale is the one of [`closest_scales`]'s candidates that loses the least. An all-zero group
/// gets scale 1, so that dequantizing never divides by zero.
pub fn quantize(format: WeightFormat, dims: &[usize], values: &[f32]) -> Option<Quantized> {
    assert_eq!(
        dims.iter().product::<usize>(),
        values.len(),
        "dims and data disagree"
    );
    let (output_axis, input_axis) = match dims.len() {
        2 => (1, 0),
        4 => (0, 1),
        _ => return None,
    };
    let (axis, block_size, highest) = match format {
        WeightFormat::F32 => return None,
        WeightFormat::Int4 if dims[input_axis] >= INT4_BLOCK => (input_axis, INT4_BLOCK, 7.0),
        WeightFormat::Int8 | WeightFormat::Int4 => (output_axis, 0, 127.0),
    };
    let scale_dims = if block_size == 0 {
        vec![dims[axis]]
    } else {
        let mut scale_dims = dims.to_vec();
        scale_dims[axis] = dims[axis].div_ceil(block_size);
        scale_dims
    };
    let mut quantized = Quantized {
        values: vec![0; values.len()],
        four_bits: block_size > 0,
        scales: vec![0.0; scale_dims.iter().product()],
        scale_dims,
        axis,
        block_size,
        dims: dims.to_vec(),
    };
    let groups: Vec<usize> = quantized.groups().collect();
    for (v, &group) in values.iter().zip(&groups) {
        quantized.scales[group] = quantized.scales[group].max(v.abs());
    }
    let lowest = if quantized.four_bits {
        quantized.scales = closest_scales(values, &groups, &quantized.scales);
        -8.0
    } else {
        for scale in &mut quantized.scales {
            *scale = if *scale > 0.0 { *scale / 127.0 } else { 1.0 };
        }
        -127.0
    };
    for ((q, v), &group) in quantized.values.iter_mut().zip(values).zip(&groups) {
        *q = (v / quantized.scales[group]).round().clamp(lowest, highest) as i8;
    }
    Some(quantized)
}

/// Divisors of a 4-bit group's largest |w| tried as its scale: 7, where nothing is clipped, up
/// to 9.5 in steps of a quarter, finer steps that clip the few largest weights to 7 (or −8).
const INT4_DIVISORS: [f32; 11] = [7.0, 7.25, 7.5, 7.75, 8.0, 8.25, 8.5, 8.75, 9.0, 9.25, 9.5];

/// For 4 bits, where the step is coarse: each group's scale among its largest |w| (`largest`)
/// divided by each of [`INT4_DIVISORS`], the one whose rounding to −8..=7 loses the least
/// (the sum of squared errors; the first on a tie). `groups` gives each value's group.
fn closest_scales(values: &[f32], groups: &[usize], largest: &[f32]) -> Vec<f32> {
    let mut best: Vec<(f32, f32)> = largest
        .iter()
        .map(|&m| (if m > 0.0 { m / 7.0 } else { 1.0 }, f32::INFINITY))
        .collect();
    let mut errors = vec![0f32; largest.len()];
    for divisor in INT4_DIVISORS {
        errors.fill(0.0);
        for (&v, &group) in values.iter().zip(groups) {
            let scale = largest[group] / divisor;
            if scale > 0.0 {
                let restored = (v / scale).round().clamp(-8.0, 7.0) * scale;
                errors[group] += (v - restored) * (v - restored);
            }
        }
        for ((best, &error), &m) in best.iter_mut().zip(&errors).zip(largest) {
            if m > 0.0 && error < best.1 {
                *best = (m / divisor, error);
            }
        }
    }
    best.into_iter().map(|(scale, _)| scale).collect()
}

/// The values a file in `format` restores for the tensor of `dims`: the weights themselves if
/// they stay f32, otherwise quantized and dequantized as [`quantize`] and DequantizeLinear do.
pub fn stored_values(format: WeightFormat, dims: &[usize], values: &[f32]) -> Vec<f32> {
    quantize(format, dims, values).map_or_else(|| values.to_vec(), |q| q.dequantized())
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

    /// Adds a float tensor and returns the name to read it by. Weight tensors are stored as
    /// [`quantize`] says for the builder's format, and the name returned is then that of the
    /// DequantizeLinear node that restores them.
    pub fn initializer(&mut self, hint: &str, dims: &[usize], values: &[f32]) -> String {
        match quantize(self.weights, dims, values) {
            None => self.float_initializer(hint, dims, values),
            Some(quantized) => self.quantized_initializer(hint, dims, &quantized),
        }
    }

    fn float_initializer(&mut self, hint: &str, dims: &[usize], values: &[f32]) -> String {
        let raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push_initializer(hint, dims, DataType::Float, raw_data)
    }

    /// The integers, their scales and the DequantizeLinear node that widens them. int8 tensors
    /// also store their zero points (all 0); 4-bit ones leave them out, as ONNX allows.
    fn quantized_initializer(
        &mut self,
        hint: &str,
        dims: &[usize],
        quantized: &Quantized,
    ) -> String {
        let data_type = if quantized.four_bits {
            DataType::Int4
        } else {
            DataType::Int8
        };
        let q = self.push_initializer(&format!("{hint}q"), dims, data_type, quantized.raw_data());
        let scale = self.float_initializer(
            &format!("{hint}scale"),
            &quantized.scale_dims,
            &quantized.scales,
        );
        let mut attributes = vec![attr_int("axis", quantized.axis as i64)];
        if quantized.four_bits {
            attributes.push(attr_int("block_size", quantized.block_size as i64));
            return self.node("DequantizeLinear", &[&q, &scale], attributes);
        }
        let zero = self.push_initializer(
            &format!("{hint}zero"),
            &quantized.scale_dims,
            DataType::Int8,
            vec![0; quantized.scales.len()],
        );
        self.node("DequantizeLinear", &[&q, &scale, &zero], attributes)
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
        let (opset, ir_version) = self.weights.versions();
        pb::ModelProto {
            ir_version,
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: opset,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int4_blocks_run_along_the_input_axis_with_a_shorter_last_block() {
        // A Gemm weight [70, 2]: blocks of rows 0–31, 32–63 and 64–69, the last ten times larger.
        let values: Vec<f32> = (0..140)
            .map(|i| {
                let wave = ((i * 37 % 101) as f32 - 50.0) / 100.0;
                if i >= 128 { 10.0 * wave } else { wave }
            })
            .collect();
        let q = quantize(WeightFormat::Int4, &[70, 2], &values).unwrap();
        assert_eq!((q.axis, q.block_size, q.four_bits), (0, INT4_BLOCK, true));
        assert_eq!(q.scale_dims, [3, 2]);
        let restored = q.dequantized();
        let groups: Vec<usize> = q.groups().collect();
        assert_eq!((groups[0], groups[1], groups[64], groups[65]), (0, 1, 2, 3));
        assert_eq!((groups[127], groups[128], groups[139]), (3, 4, 5));
        // Each block's scale loses no more than its largest |w| over 7, which clips nothing.
        let mut largest = [0f32; 6];
        for (v, &group) in values.iter().zip(&groups) {
            largest[group] = largest[group].max(v.abs());
        }
        let mut errors = [(0f32, 0f32); 6];
        for ((v, r), &group) in values.iter().zip(&restored).zip(&groups) {
            let plain_scale = largest[group] / 7.0;
            let plain = (v / plain_scale).round() * plain_scale;
            errors[group].0 += (v - r) * (v - r);
            errors[group].1 += (v - plain) * (v - plain);
            assert!((v - r).abs() <= 0.3 * largest[group], "{v} → {r}");
        }
        for (group, (searched, plain)) in errors.iter().enumerate() {
            assert!(searched <= plain, "block {group}: {searched} > {plain}");
        }
        assert!(errors.iter().map(|e| e.0).sum::<f32>() < errors.iter().map(|e| e.1).sum());
        assert!(q.values.iter().all(|v| (-8..=7).contains(v)));
        assert!(q.scales[4] > 5.0 * q.scales[0], "{:?}", q.scales);
        // Two values a byte, the first in the low nibble.
        let raw = q.raw_data();
        assert_eq!(raw.len(), 70);
        assert_eq!(
            raw[0],
            (q.values[0] as u8 & 0x0f) | (q.values[1] as u8) << 4
        );
        // −1 and 0.5 are exact as −8 and 4 steps of 1/8, which a scale of 1/7 cannot give.
        let halves: Vec<f32> = (0..33)
            .map(|i| if i % 2 == 0 { -1.0 } else { 0.5 })
            .collect();
        let odd = quantize(WeightFormat::Int4, &[33, 1], &halves).unwrap();
        assert_eq!(
            (odd.scale_dims.as_slice(), odd.scales[0]),
            (&[2, 1][..], 0.125)
        );
        assert_eq!(odd.dequantized(), halves);
        // −8 and 4 are 0x48 low nibble first. An odd count leaves the last high nibble 0: the
        // 33rd value, −1 alone in its block, is −7 steps of 1/7 (0b1001).
        assert_eq!(odd.raw_data().len(), 17);
        assert_eq!((odd.raw_data()[0], odd.raw_data()[16]), (0x48, 0x09));
    }

    #[test]
    fn short_input_axes_stay_int8_and_other_ranks_f32() {
        let values = |n: usize| -> Vec<f32> { (0..n).map(|i| (i % 7) as f32 - 3.0).collect() };
        // The decoder's first layer reads the 10-unit code: a scale per output column.
        let code = quantize(WeightFormat::Int4, &[10, 128], &values(1280)).unwrap();
        assert_eq!((code.axis, code.block_size, code.four_bits), (1, 0, false));
        assert_eq!(code.scale_dims, [128]);
        // A convolution of one input channel: a scale per output channel.
        let first = quantize(WeightFormat::Int4, &[32, 1, 3, 3], &values(288)).unwrap();
        assert_eq!(
            (first.axis, first.block_size, first.scale_dims),
            (0, 0, vec![32])
        );
        // 32 input channels: one block per output channel and kernel position.
        let last = quantize(WeightFormat::Int4, &[1, 32, 3, 3], &values(288)).unwrap();
        assert_eq!((last.axis, last.block_size), (1, INT4_BLOCK));
        assert_eq!(last.scale_dims, [1, 1, 3, 3]);
        let int8 = quantize(WeightFormat::Int8, &[70, 2], &values(140)).unwrap();
        assert_eq!(
            (int8.axis, int8.block_size, int8.scale_dims),
            (1, 0, vec![2])
        );
        assert_eq!(quantize(WeightFormat::Int4, &[5], &values(5)), None);
        assert_eq!(quantize(WeightFormat::F32, &[70, 2], &values(140)), None);
        assert_eq!(
            stored_values(WeightFormat::F32, &[70, 2], &values(140)),
            values(140)
        );
    }

    #[test]
    fn int4_files_declare_opset_21_and_the_others_13() {
        for (format, opset, ir_version) in [
            (WeightFormat::F32, 13, 7),
            (WeightFormat::Int8, 13, 7),
            (WeightFormat::Int4, 21, 10),
        ] {
            let mut graph = GraphBuilder::new(format);
            graph.node("Relu", &["x"], vec![]);
            let model = graph.finish("relu", ("x", &[4]), ("y", &[4]));
            assert_eq!(model.opset_import[0].version, opset, "{format:?}");
            assert_eq!(model.ir_version, ir_version, "{format:?}");
        }
    }

    #[test]
    fn format_names_parse_and_unknown_ones_list_all() {
        for format in WeightFormat::ALL {
            assert_eq!(format.name().parse::<WeightFormat>(), Ok(format));
        }
        let error = "int2".parse::<WeightFormat>().unwrap_err();
        assert!(error.contains("use one of f32, int8, int4"), "{error}");
    }
}

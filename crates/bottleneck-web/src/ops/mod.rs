//! The ONNX operators the page runs: the ones the trainer exports, each in its own file, wired
//! into tract's typed graph by [`graph`] the way tract-onnx wires them.
//!
//! The page wires only these instead of loading through tract-onnx's full set
//! (`tract_onnx::onnx()`): every builder in that set keeps its operator's code in the wasm
//! whether a model uses it or not. With the vendored tract-nnef (vendor/README.md) this took the
//! browser build from 2.08 to 1.18 MB of gzip. A model that uses anything else is refused with
//! the list below.
//!
//! Where tract's general operators cost more than the work in the browser, the common case runs
//! as the page's own op instead: Elu in one pass, `max_pool`'s 2×2 stride-2 pool, `pad`'s
//! zero padding, `direct_conv`'s one-output-channel convolution and `mat_vec`'s dense layer
//! (see each file for the measurement). Everything else is tract's.

mod activation;
mod conv;
mod dequantize_linear;
mod direct_conv;
mod gemm;
pub mod graph;
mod mat_vec;
mod max_pool;
mod pad;
mod resize;

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::dimension;
use tract_onnx::pb::type_proto::Value;
use tract_onnx::pb::{ModelProto, NodeProto};
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::cnn::PaddingSpec;

/// One ONNX node as its operator wires it into tract's typed graph.
pub struct Node<'a> {
    /// The node as the file stores it: its attributes, and its name for messages.
    proto: &'a NodeProto,
    /// A name for its tract nodes: the file's, made unique.
    name: String,
    /// The outlets its inputs come from, `None` for an optional input left out.
    inputs: TVec<Option<OutletId>>,
    /// The model's ONNX operator set.
    opset: i64,
}

impl Node<'_> {
    /// The outlet of input `index`, which the operator needs.
    fn input(&self, index: usize) -> TractResult<OutletId> {
        self.inputs.get(index).copied().flatten().with_context(|| {
            format!(
                "{} {}: input {index} is missing",
                self.proto.op_type, self.proto.name
            )
        })
    }

    /// The outlet of optional input `index`, if the node has it.
    fn optional_input(&self, index: usize) -> Option<OutletId> {
        self.inputs.get(index).copied().flatten()
    }

    /// The outlet of input `index`, which the operator needs, and its fact, which must be f32.
    fn f32_input(&self, model: &TypedModel, index: usize) -> TractResult<(OutletId, TypedFact)> {
        let input = self.input(index)?;
        let fact = model.outlet_fact(input)?.clone();
        ensure!(
            fact.datum_type == f32::datum_type(),
            "{} {}: takes f32 values, not {:?}",
            self.proto.op_type,
            self.proto.name,
            fact.datum_type
        );
        Ok((input, fact))
    }

    /// Errors unless the node has at most `count` inputs.
    fn takes_inputs(&self, count: usize) -> TractResult<()> {
        ensure!(
            self.inputs.len() <= count,
            "{} {}: takes at most {count} inputs, not {}",
            self.proto.op_type,
            self.proto.name,
            self.inputs.len()
        );
        Ok(())
    }
}

/// Wires one node into the typed graph and returns the outlets of its outputs. Each operator
/// checks the shapes and attributes tract would otherwise panic on.
type Wire = fn(&Node, &mut TypedModel) -> TractResult<TVec<OutletId>>;

/// Every operator the page runs, by its ONNX name.
const OPERATORS: [(&str, Wire); 8] = [
    ("Conv", conv::conv),
    ("DequantizeLinear", dequantize_linear::dequantize_linear),
    ("Elu", activation::elu),
    ("Gemm", gemm::gemm),
    ("MaxPool", max_pool::max_pool),
    ("Relu", activation::relu),
    ("Resize", resize::resize),
    ("Sigmoid", activation::sigmoid),
];

/// The operators a model uses that the page does not run, each named once, in order of first use.
pub fn unsupported(model: &ModelProto) -> Vec<String> {
    let mut missing: Vec<String> = Vec::new();
    let nodes = model.graph.iter().flat_map(|graph| &graph.node);
    for node in nodes {
        let known = OPERATORS.iter().any(|(name, _)| *name == node.op_type);
        if !known && !missing.contains(&node.op_type) {
            missing.push(node.op_type.clone());
        }
    }
    missing
}

/// Refuses what tract would panic on instead of returning an error, since a panic would end the
/// wasm instance with every model in it: weights of strings, a graph output that nothing
/// produces, and negative sizes in the declared shapes.
pub fn check_graph(model: &ModelProto) -> TractResult<()> {
    let Some(graph) = &model.graph else {
        return Ok(());
    };
    for weight in &graph.initializer {
        ensure!(
            weight.data_type != DataType::String as i32,
            "the weight {} holds strings, not numbers",
            weight.name
        );
    }
    let produced = |name: &String| {
        graph.input.iter().any(|input| &input.name == name)
            || graph.initializer.iter().any(|weight| &weight.name == name)
            || graph.node.iter().any(|node| node.output.contains(name))
    };
    for output in &graph.output {
        ensure!(
            produced(&output.name),
            "nothing in the model computes its output {}",
            output.name
        );
    }
    let declared = graph
        .input
        .iter()
        .chain(&graph.output)
        .chain(&graph.value_info);
    for value in declared {
        let Some(Value::TensorType(tensor)) = value.r#type.as_ref().and_then(|t| t.value.as_ref())
        else {
            continue;
        };
        let dims = tensor.shape.iter().flat_map(|shape| &shape.dim);
        for dim in dims {
            if let Some(dimension::Value::DimValue(size)) = dim.value {
                ensure!(
                    size >= 0,
                    "{} is declared with a negative size, {size}",
                    value.name
                );
            }
        }
    }
    Ok(())
}

/// Names of the operators the page runs, for messages.
pub fn supported() -> impl Iterator<Item = &'static str> {
    OPERATORS.iter().map(|(name, _)| match *name {
        "DequantizeLinear" => "DequantizeLinear (on weights)",
        name => name,
    })
}

/// An optional attribute of a Conv or MaxPool node with one value per image axis (two per axis for
/// `pads`). The page's models take 2-D images, and tract indexes these per axis without checking
/// their length, and divides by strides: a wrong length, or a zero where only pads may have one,
/// would panic there, so they are refused here.
fn per_image_axis(node: &NodeProto, name: &str) -> TractResult<Option<TVec<usize>>> {
    let values = node.get_attr_opt_tvec::<usize>(name)?;
    let pads = name == "pads";
    let expected = if pads { 4 } else { 2 };
    if let Some(values) = &values {
        ensure!(
            values.len() == expected,
            "{} {}: {name} has {} values where a 2-D image needs {expected}",
            node.op_type,
            node.name,
            values.len()
        );
        ensure!(
            pads || !values.contains(&0),
            "{} {}: {name} must be at least 1",
            node.op_type,
            node.name
        );
    }
    Ok(values)
}

/// The padding of a Conv or MaxPool node, from its `pads` or `auto_pad` attribute. Pooling pads
/// follow ONNX's pooling rules, which also read `ceil_mode`.
fn padding(node: &NodeProto, pooling: bool) -> TractResult<PaddingSpec> {
    if let Some(auto_pad) = node.get_attr_opt::<&str>("auto_pad")? {
        match auto_pad {
            "NOTSET" => {}
            "VALID" => return Ok(PaddingSpec::Valid),
            "SAME_UPPER" => return Ok(PaddingSpec::SameUpper),
            "SAME_LOWER" => return Ok(PaddingSpec::SameLower),
            other => bail!("{}: unknown auto_pad {other:?}", node.op_type),
        }
    }
    let ceil_mode = node.get_attr_opt::<i64>("ceil_mode")?.unwrap_or(0) == 1;
    let pads: TVec<usize> = match per_image_axis(node, "pads")? {
        Some(pads) => pads,
        None => match per_image_axis(node, "kernel_shape")? {
            Some(kernel) => tvec!(0; 2 * kernel.len()),
            None => return Ok(PaddingSpec::Valid),
        },
    };
    let (before, after) = pads.split_at(pads.len() / 2);
    let (before, after) = (before.into(), after.into());
    Ok(if pooling {
        PaddingSpec::ExplicitOnnxPool(before, after, ceil_mode)
    } else {
        PaddingSpec::Explicit(before, after)
    })
}

/// Errors unless a 2-D kernel, dilated, fits in `image` (NCHW) once padded: tract would compute a
/// negative output size and panic. Padding chosen by the op (`SAME_*`) always fits.
fn check_kernel_fits(
    node: &Node,
    image: &[usize],
    kernel: [usize; 2],
    dilations: Option<&TVec<usize>>,
    padding: &PaddingSpec,
) -> TractResult<()> {
    let (before, after): (&[usize], &[usize]) = match padding {
        PaddingSpec::Explicit(before, after) | PaddingSpec::ExplicitOnnxPool(before, after, _) => {
            (before, after)
        }
        PaddingSpec::Valid => (&[0, 0], &[0, 0]),
        _ => return Ok(()),
    };
    for axis in 0..2 {
        let dilation = dilations.map_or(1, |d| d[axis]);
        let extent = dilation * (kernel[axis].max(1) - 1) + 1;
        ensure!(
            image[2 + axis] + before[axis] + after[axis] >= extent,
            "{} {}: the kernel is larger than the padded image",
            node.proto.op_type,
            node.proto.name
        );
    }
    Ok(())
}

/// The page's own image ops ([`MaxPool2x2`](max_pool), [`ZeroPad2d`](pad),
/// [`DirectConv`](direct_conv)) all map one f32 NCHW image input to f32 NCHW images: this checks
/// the input, makes a zeroed output of the shape `shape` gives for the input's `[N, C, H, W]`, and
/// lets `fill` compute it from the input's values.
fn image_to_image(
    op: &str,
    inputs: TVec<TValue>,
    shape: impl FnOnce([usize; 4]) -> TractResult<[usize; 4]>,
    fill: impl FnOnce([usize; 4], &[f32], &mut [f32]),
) -> TractResult<TVec<TValue>> {
    let input = args_1!(inputs);
    let dims: [usize; 4] = input.shape().try_into().map_err(|_| {
        format_err!(
            "{op} takes NCHW images, not a tensor of shape {:?}",
            input.shape()
        )
    })?;
    let mut output = Tensor::zero::<f32>(&shape(dims)?)?;
    let values = input.try_as_plain_ram()?;
    fill(
        dims,
        values.as_slice::<f32>()?,
        output.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?,
    );
    Ok(tvec!(output.into_tvalue()))
}

/// The shape of an image op's input fact, checked to be f32 NCHW.
fn image_shape<'f>(op: &str, input: &'f TypedFact) -> TractResult<&'f ShapeFact> {
    ensure!(
        input.rank() == 4,
        "{op} takes NCHW images, not rank {}",
        input.rank()
    );
    ensure!(
        input.datum_type == f32::datum_type(),
        "{op} takes f32 images"
    );
    Ok(&input.shape)
}

/// A weight tensor and an optional bias, as the file stores them.
type StoredWeights = (Arc<Tensor>, Option<Arc<Tensor>>);

/// The stored values of `weights` and of the optional `bias`, when both are stored in the file
/// (constants of the graph): what the page's own [`DirectConv`](direct_conv) and
/// [`MatVec`](mat_vec) need. `None` if either is computed by the graph.
fn stored_weights(
    model: &TypedModel,
    weights: OutletId,
    bias: Option<OutletId>,
) -> TractResult<Option<StoredWeights>> {
    let stored = |outlet: OutletId| -> TractResult<Option<Arc<Tensor>>> {
        Ok(model.outlet_fact(outlet)?.konst.clone())
    };
    let Some(weights) = stored(weights)? else {
        return Ok(None);
    };
    Ok(match bias.map(stored).transpose()? {
        Some(None) => None,
        bias => Some((weights, bias.flatten())),
    })
}

/// One weight and the values it multiplies, one per output: a kernel tap of [`DirectConv`]
/// (direct_conv), a row of [`MatVec`](mat_vec)'s weights.
#[derive(Clone, Copy)]
struct Tap<'a> {
    values: &'a [f32],
    weight: f32,
}

/// `out[i] += Σ tap.weight × tap.values[i]`, the taps added in order.
fn add_taps<'a>(taps: impl Iterator<Item = Tap<'a>> + Clone, out: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let done = add_taps_simd128(taps.clone(), out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let done = 0;
    for (i, sum) in out.iter_mut().enumerate().skip(done) {
        *sum = taps
            .clone()
            .fold(*sum, |sum, tap| sum + tap.weight * tap.values[i]);
    }
}

/// [`add_taps`] [`BLOCK`] outputs at a time with wasm SIMD, their sums held in registers across
/// all the taps and stored once; returns how many outputs it wrote. Each lane adds the taps in
/// the same order as the scalar loop, so both give the same values.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn add_taps_simd128<'a>(taps: impl Iterator<Item = Tap<'a>> + Clone, out: &mut [f32]) -> usize {
    use std::arch::wasm32::{f32x4_add, f32x4_mul, f32x4_splat, v128, v128_load, v128_store};
    let blocks = out.len() / BLOCK;
    for block in 0..blocks {
        let start = BLOCK * block;
        let out = &mut out[start..][..BLOCK];
        // SAFETY: `out` holds BLOCK floats, so each lane of four reads within it; v128 loads
        // need no alignment.
        let mut sums: [v128; BLOCK / 4] =
            std::array::from_fn(|lane| unsafe { v128_load(out.as_ptr().add(4 * lane).cast()) });
        for tap in taps.clone() {
            let weight = f32x4_splat(tap.weight);
            let values = &tap.values[start..][..BLOCK];
            for (lane, sum) in sums.iter_mut().enumerate() {
                // SAFETY: `values` holds BLOCK floats, so each lane of four reads within it.
                let four = unsafe { v128_load(values.as_ptr().add(4 * lane).cast::<v128>()) };
                *sum = f32x4_add(*sum, f32x4_mul(weight, four));
            }
        }
        for (lane, sum) in sums.into_iter().enumerate() {
            // SAFETY: `out` holds BLOCK floats, so each lane of four writes within it.
            unsafe { v128_store(out.as_mut_ptr().add(4 * lane).cast::<v128>(), sum) };
        }
    }
    BLOCK * blocks
}

/// Outputs [`add_taps`] computes together with SIMD: eight f32x4 sums, half the registers. Also
/// the width of the blocks [`MatVec`](mat_vec) stores its weights in.
const BLOCK: usize = 32;

//! Checks of a model and of the shapes reaching an op that refuse what tract would panic on: a
//! panic would end the wasm instance with every model in it.

use tract_onnx::pb::ModelProto;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::dimension;
use tract_onnx::pb::type_proto::Value;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::cnn::PaddingSpec;

use super::Node;

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

/// Errors unless a 2-D kernel, dilated, fits in `image` (NCHW) once padded: tract would compute a
/// negative output size and panic. Padding chosen by the op (`SAME_*`) always fits.
pub(crate) fn check_kernel_fits(
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

/// The shape of an image op's input fact, checked to be f32 NCHW.
pub(crate) fn image_shape<'f>(op: &str, input: &'f TypedFact) -> TractResult<&'f ShapeFact> {
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

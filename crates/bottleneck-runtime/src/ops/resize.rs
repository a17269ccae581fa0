//! Resize by constant scales (operator sets 11 and later), e.g. the conv denoiser's nearest ×2
//! upsampling; tract turns nearest integer upsampling into a broadcast when it optimizes.

use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::tract_core::ops::nn::resize::Interpolator;
use tract_onnx_opl::resize::{AspectRatio, CoordTransform, Nearest, Resize};

use super::Node;

/// Resize with the node's mode, coordinate transformation and rounding; inputs X, roi, scales.
pub fn resize(node: &Node, model: &mut TypedModel) -> TractResult<TVec<OutletId>> {
    ensure!(
        node.opset >= 11,
        "Resize: operator set {} is not supported (11 and later are)",
        node.opset
    );
    node.takes_inputs(4)?;
    ensure!(
        node.optional_input(3).is_none(),
        "Resize: resizing to sizes is not supported, only by scales"
    );
    let (input, fact) = node.f32_input(model, 0)?;
    let image = fact.shape.as_concrete().context("Resize: image size")?;
    let roi = node.optional_input(1);
    let (scales, scales_fact) = node.f32_input(model, 2)?;
    let inputs: TVec<OutletId> = [Some(input), roi, Some(scales)]
        .into_iter()
        .flatten()
        .collect();
    let (name, node) = (&node.name, node.proto);
    let extrapolation: f32 = node.get_attr_opt("extrapolation_value")?.unwrap_or(0.0);
    let cubic_coeff_a: f32 = node.get_attr_opt("cubic_coeff_a")?.unwrap_or(-0.75);
    let op = Resize {
        axes: None,
        antialias: false,
        keep_aspect_ratio_policy: AspectRatio::Stretch,
        coord_transformer: CoordTransform::parse(
            node.get_attr_opt("coordinate_transformation_mode")?
                .unwrap_or("half_pixel"),
        )?,
        interpolator: Interpolator::parse(node.get_attr_opt("mode")?.unwrap_or("nearest"))?,
        nearest: Nearest::parse(
            node.get_attr_opt("nearest_mode")?
                .unwrap_or("round_prefer_floor"),
        )?,
        cubic_coeff_a_bits: cubic_coeff_a.to_bits(),
        exclude_outside: node.get_attr_opt::<i64>("exclude_outside")?.unwrap_or(0) != 0,
        extrapolation_value_bits: extrapolation.to_bits(),
        optional_roi_input: roi.map(|_| 1),
        optional_scales_input: Some(inputs.len() - 1),
        optional_sizes_input: None,
    };
    let scales = scales_fact.konst.with_context(|| {
        format!(
            "Resize {}: the scales must be stored in the file",
            node.name
        )
    })?;
    check_output_size(&op, image, &scales)?;
    model.wire_node(name, op, &inputs)
}

/// Largest scale a Resize may have.
const MAX_SCALE: f32 = 1024.0;

/// Most values one Resize may produce per image: 64 MB of f32.
const MAX_VALUES: i64 = 1 << 24;

/// Errors unless `scales` has one value per resized axis of an image of shape `image`, each
/// sane, and the result is not too large. tract turns a negative or enormous scale into a negative
/// size and panics on it; a merely large one would exhaust the worker's memory. Both would end
/// the wasm instance.
fn check_output_size(op: &Resize, image: &[usize], scales: &Tensor) -> TractResult<()> {
    let axes = op.resized_axes(image.len())?.len();
    ensure!(
        scales.rank() == 1 && scales.len() == axes,
        "Resize: needs one scale per resized axis, {axes}, not a tensor of shape {:?}",
        scales.shape()
    );
    let floats = scales.try_as_plain_ram()?;
    let sane = |scale: &f32| *scale > 0.0 && *scale <= MAX_SCALE;
    ensure!(
        floats.as_slice::<f32>()?.iter().all(sane),
        "Resize: every scale must be above 0 and at most {MAX_SCALE}"
    );
    let output_shape = op.compute_output_shape(image, Some(scales), None)?;
    let values = output_shape
        .iter()
        .try_fold(1i64, |values, &dim| values.checked_mul(dim as i64));
    ensure!(
        values.is_some_and(|values| values <= MAX_VALUES),
        "Resize: the resized image would hold more than {MAX_VALUES} values"
    );
    Ok(())
}

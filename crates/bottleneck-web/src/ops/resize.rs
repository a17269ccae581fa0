//! Resize by constant scales (operator sets 11 and later), e.g. the conv denoiser's nearest ×2
//! upsampling; tract turns nearest integer upsampling into a broadcast when it optimizes.

use tract_onnx::model::{ParsingContext, optional_inputs};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::tract_core::ops::nn::resize::Interpolator;
use tract_onnx_opl::resize::{AspectRatio, CoordTransform, Nearest, Resize};

use super::Built;

/// Resize with the node's mode, coordinate transformation and rounding; inputs X, roi, scales.
pub fn resize(ctx: &ParsingContext, node: &NodeProto) -> Built {
    ensure!(
        ctx.onnx_operator_set_version >= 11,
        "Resize: operator set {} is not supported (11 and later are)",
        ctx.onnx_operator_set_version
    );
    let mut optional = optional_inputs(node).skip(1);
    let (roi, scales, sizes) = (
        optional.next().flatten(),
        optional.next().flatten(),
        optional.next().flatten(),
    );
    ensure!(
        sizes.is_none(),
        "Resize: resizing to sizes is not supported, only by scales"
    );
    let scales = scales.context("Resize: the scales input is missing")?;
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
        optional_roi_input: roi,
        optional_scales_input: Some(scales),
        optional_sizes_input: None,
    };
    Ok((expand(ResizeByScales(op)), vec![]))
}

/// Largest scale a Resize may have.
const MAX_SCALE: f32 = 1024.0;

/// Most values one Resize may produce per image: 64 MB of f32.
const MAX_VALUES: i64 = 1 << 24;

/// tract's Resize, with the shape rules for resizing by scales.
#[derive(Clone, Debug)]
struct ResizeByScales(Resize);

impl Expansion for ResizeByScales {
    fn name(&self) -> StaticName {
        "Resize".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_output_arity(outputs, 1)?;
        let op = &self.0;
        let scales = &inputs[op.optional_scales_input.context("Resize without scales")?];
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[0].rank, &outputs[0].rank)?;
        s.equals(&scales.datum_type, f32::datum_type())?;
        s.equals(&scales.rank, 1)?;
        s.given(&inputs[0].rank, move |s, rank| {
            s.equals(
                &scales.shape[0],
                op.resized_axes(rank as usize)?.len().to_dim(),
            )
        })?;
        s.given_2(
            &inputs[0].shape,
            &scales.value,
            move |s, input_shape, scales| {
                // tract turns a negative or enormous scale into a negative size and panics on
                // it; a merely large one would exhaust the worker's memory. Both would end the
                // wasm instance, so scales are checked first and the result's size after.
                let floats = scales.cast_to::<f32>()?;
                let floats = floats.try_as_plain_ram()?;
                let sane = |scale: &f32| *scale > 0.0 && *scale <= MAX_SCALE;
                ensure!(
                    floats.as_slice::<f32>()?.iter().all(sane),
                    "Resize: every scale must be above 0 and at most {MAX_SCALE}"
                );
                let output_shape =
                    op.compute_output_shape(&input_shape, Some(scales.as_ref()), None)?;
                let values = output_shape
                    .iter()
                    .filter_map(|dim| dim.to_i64().ok())
                    .try_fold(1i64, i64::checked_mul);
                ensure!(
                    values.is_some_and(|values| values <= MAX_VALUES),
                    "Resize: the resized image would hold more than {MAX_VALUES} values"
                );
                for (axis, dim) in output_shape.into_iter().enumerate() {
                    s.equals(&outputs[0].shape[axis], dim.to_dim())?;
                }
                Ok(())
            },
        )
    }

    fn wire(
        &self,
        name: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        model.wire_node(name, self.0.clone(), inputs)
    }
}

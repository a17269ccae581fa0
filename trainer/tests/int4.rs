//! int4 weights end to end on small synthetic data (no network, no ../shared): training with
//! quantization-aware fine-tuning, the form of the file it exports, and the files
//! tests/e2e/int4-onnxruntime.test.mjs gives onnxruntime to check that the form is standard ONNX.

mod common;

use bottleneck::card::ModelCard;
use common::train_args;
use ndarray::{Array2, s};
use prost::Message;
use std::path::{Path, PathBuf};
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{ModelProto, TensorProto};
use trainer::cli::{EvalArgs, OptimizerKind, TrainArgs};
use trainer::commands;
use trainer::data::{load_dir, write_synthetic};
use trainer::model::ModelKind;
use trainer::onnx::{INT4_BLOCK, OnnxRunner, WeightFormat};

/// Where the test writes its models, inputs and outputs, for the onnxruntime test to read; a
/// temporary folder when unset.
const FIXTURE_DIR: &str = "BOTTLENECK_INT4_FIXTURE";
/// Test images run through each model for the onnxruntime comparison.
const FIXTURE_IMAGES: usize = 8;

/// `train MODEL` with int4 weights: `epochs`, then `qat` epochs of fine-tuning.
fn int4_args(model: ModelKind, data: &Path, out: &Path, epochs: usize, qat: usize) -> TrainArgs {
    TrainArgs {
        epochs,
        qat_epochs: qat,
        batch: Some(64),
        seed: 3,
        optimizer: Some(OptimizerKind::Adam),
        weights: WeightFormat::Int4,
        ..train_args(model, data, out)
    }
}

/// The initializer `name` of `model`.
fn initializer<'m>(model: &'m ModelProto, name: &str) -> &'m TensorProto {
    let graph = model.graph.as_ref().unwrap();
    graph.initializer.iter().find(|t| t.name == name).unwrap()
}

/// Checks the form of an int4 export: opset 21 and IR 10; every Gemm or Conv weight restored by
/// a DequantizeLinear, those with a long enough input axis from INT4 values, packed two to a
/// byte, with a scale per block of [`INT4_BLOCK`] along that axis. Returns how many are int4.
fn check_int4_form(model: &ModelProto) -> usize {
    assert_eq!(model.ir_version, 10);
    assert_eq!(model.opset_import.len(), 1);
    assert_eq!(model.opset_import[0].version, 21);
    let graph = model.graph.as_ref().unwrap();
    let mut int4 = 0;
    for node in graph
        .node
        .iter()
        .filter(|n| n.op_type == "DequantizeLinear")
    {
        let values = initializer(model, &node.input[0]);
        let scale = initializer(model, &node.input[1]);
        let attribute = |name: &str| node.attribute.iter().find(|a| a.name == name).map(|a| a.i);
        let dims: Vec<usize> = values.dims.iter().map(|&d| d as usize).collect();
        let count: usize = dims.iter().product();
        if values.data_type == DataType::Int8 as i32 {
            // The tensors whose input axis is shorter than a block: per output channel.
            assert_eq!(attribute("block_size"), None, "{}", node.name);
            assert_eq!(values.raw_data.len(), count);
            continue;
        }
        assert_eq!(values.data_type, DataType::Int4 as i32, "{}", node.name);
        assert_eq!(node.input.len(), 2, "4-bit weights have no zero point");
        assert_eq!(values.raw_data.len(), count.div_ceil(2));
        let axis = attribute("axis").unwrap() as usize;
        // Gemm weights are [in, out], Conv weights [out, in, kh, kw]: the block runs along `in`.
        assert_eq!(axis, if dims.len() == 2 { 0 } else { 1 });
        assert_eq!(attribute("block_size"), Some(INT4_BLOCK as i64));
        let mut scale_dims = dims.clone();
        scale_dims[axis] = dims[axis].div_ceil(INT4_BLOCK);
        let expected: Vec<i64> = scale_dims.iter().map(|&d| d as i64).collect();
        assert_eq!(scale.dims, expected, "{}", node.name);
        int4 += 1;
    }
    int4
}

/// Writes `values` as little-endian f32.
fn write_f32(path: &Path, values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn int4_training_with_fine_tuning_exports_standard_blocked_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("synthetic");
    let out = std::env::var_os(FIXTURE_DIR).map_or_else(|| dir.path().join("out"), PathBuf::from);
    write_synthetic(&data, 256, 64, 7).unwrap();
    commands::train::run(&int4_args(ModelKind::Dense, &data, &out, 2, 2)).unwrap();
    commands::train::run(&int4_args(ModelKind::Conv, &data, &out, 1, 1)).unwrap();

    let test = load_dir(&data).unwrap().test.images.as_array().to_owned();
    let inputs = test.slice(s![..FIXTURE_IMAGES, ..]).to_owned();
    write_f32(&out.join("inputs.bin"), inputs.as_slice().unwrap());
    // Dense: every matrix but the decoder's first, which reads the 10-unit code; conv: every
    // convolution but the first, which reads one channel. Those stay int8.
    for (model, int4_tensors) in [("dense", 5), ("conv", 4)] {
        let path = out.join(format!("{model}.onnx"));
        let bytes = std::fs::read(&path).unwrap();
        let proto = ModelProto::decode(bytes.as_slice()).unwrap();
        assert_eq!(check_int4_form(&proto), int4_tensors, "{model}");

        let card: ModelCard = ModelCard::from_json(
            &std::fs::read_to_string(out.join(format!("{model}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(card.weights, "int4");
        assert!(
            card.training
                .recipe
                .contains("quantization-aware fine-tuning for int4"),
            "{}",
            card.training.recipe
        );
        // The fine-tuning epochs' validation loss is that of the weights as the file stores them
        // (for dense, whose validation inputs are the test images eval runs).
        let report = commands::eval::evaluate(&EvalArgs {
            model: path.clone(),
            data: data.clone(),
            anomalies: None,
            noise: Default::default(),
            seed: 0,
        })
        .unwrap();
        if model == "dense" {
            let val = report["val_mse"].as_f64().unwrap();
            assert!(
                (val - card.results.final_val_loss).abs() <= 1e-4 * val,
                "{model}: the card's last val loss {} vs the file's {val}",
                card.results.final_val_loss
            );
        }

        let mut runner = OnnxRunner::from_bytes(&bytes).unwrap();
        let outputs: Array2<f32> = runner.run(inputs.view()).unwrap();
        assert!(outputs.iter().all(|v| (0.0..=1.0).contains(v)), "{model}");
        write_f32(
            &out.join(format!("{model}.outputs.bin")),
            outputs.as_slice().unwrap(),
        );
    }
    assert_eq!(
        ModelCard::from_json(&std::fs::read_to_string(out.join("dense.json")).unwrap())
            .unwrap()
            .training
            .epochs,
        4
    );
}

/// Sets the integer attribute `name` of the graph's node `node`.
fn set_attribute(proto: &mut ModelProto, node: usize, name: &str, value: i64) {
    let attributes = &mut proto.graph.as_mut().unwrap().node[node].attribute;
    attributes.iter_mut().find(|a| a.name == name).unwrap().i = value;
}

/// An int4 file damaged in each way the runtime checks: refused with a message that names the
/// problem, never a panic (the page loads users' files).
#[test]
fn damaged_int4_files_are_errors_not_panics() {
    let model = trainer::model::Model::new(ModelKind::Dense, 1);
    let good = model.to_onnx(trainer::model::Part::Encoder, WeightFormat::Int4);
    assert!(bottleneck_runtime::Model::load(&good.encode_to_vec(), 1).is_ok());
    let first_int4 = |proto: &mut ModelProto| -> (usize, usize) {
        let graph = proto.graph.as_mut().unwrap();
        let node = graph
            .node
            .iter()
            .position(|n| n.op_type == "DequantizeLinear")
            .unwrap();
        let values = graph
            .initializer
            .iter()
            .position(|t| t.name == graph.node[node].input[0])
            .unwrap();
        assert_eq!(graph.initializer[values].data_type, DataType::Int4 as i32);
        (node, values)
    };
    type Damage = fn(&mut ModelProto, usize, usize);
    let damages: [(&str, Damage, &str); 5] = [
        (
            "a byte short",
            |proto, _, values| {
                proto.graph.as_mut().unwrap().initializer[values]
                    .raw_data
                    .pop();
            },
            "take 200704 bytes, but the file holds 200703",
        ),
        (
            "another block size",
            |proto, node, _| set_attribute(proto, node, "block_size", 16),
            "need a scale of shape [49, 512]",
        ),
        (
            "a negative block size",
            |proto, node, _| set_attribute(proto, node, "block_size", -32),
            "must be positive",
        ),
        (
            "the blocks along the other axis",
            |proto, node, _| set_attribute(proto, node, "axis", 1),
            "need a scale of shape [784, 16]",
        ),
        (
            "an axis out of range",
            |proto, node, _| set_attribute(proto, node, "axis", 2),
            "out of range",
        ),
    ];
    for (what, damage, expected) in damages {
        let mut proto = good.clone();
        let (node, values) = first_int4(&mut proto);
        damage(&mut proto, node, values);
        let error = match bottleneck_runtime::Model::load(&proto.encode_to_vec(), 1) {
            Ok(_) => panic!("{what}: the damaged file loaded"),
            Err(error) => error.to_string(),
        };
        assert!(error.contains(expected), "{what}: {error}");
    }
}

//! Training the dense autoencoder end to end on small synthetic data: no network, no ../shared.

mod common;

use bottleneck::card::ModelCard;
use common::train_args;
use ndarray::Array2;
use std::path::Path;
use trainer::cli::{EvalArgs, TrainArgs};
use trainer::commands;
use trainer::data::write_synthetic;
use trainer::loss::MeanSquaredError;
use trainer::model::{Model, ModelKind};
use trainer::onnx::{OnnxRunner, WeightFormat};
use trainer::optim::Adam;
use trainer::train::{Pairs, TrainOptions, train};

fn args(data: &Path, out: &Path, epochs: usize) -> TrainArgs {
    TrainArgs {
        epochs,
        batch: Some(64),
        seed: 3,
        ..train_args(ModelKind::Dense, data, out)
    }
}

#[test]
fn train_writes_models_card_log_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let (data, out) = (dir.path().join("synthetic"), dir.path().join("out"));
    write_synthetic(&data, 512, 128, 1).unwrap();
    commands::train::run(&args(&data, &out, 4)).unwrap();

    for file in [
        "dense.onnx",
        "dense.encoder.onnx",
        "dense.decoder.onnx",
        "dense.json",
        "dense.log.csv",
        "dense.loss.svg",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let card =
        ModelCard::from_json(&std::fs::read_to_string(out.join("dense.json")).unwrap()).unwrap();
    assert_eq!(card.model, "dense");
    assert_eq!(
        (card.dataset.train_count, card.dataset.val_count),
        (512, 128)
    );
    assert_eq!((card.training.epochs, card.training.steps), (4, 32));
    let e = &card.val_error;
    assert!(
        0.0 < e.p50
            && e.p50 <= e.p90
            && e.p90 <= e.p95
            && e.p95 <= e.p99
            && e.p99 <= e.p99_9
            && e.p99_9 <= e.max,
        "{e:?}"
    );

    let csv = std::fs::read_to_string(out.join("dense.log.csv")).unwrap();
    let losses: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(losses.len(), 4);
    assert!(
        losses[3] < losses[0],
        "training loss did not fall: {losses:?}"
    );
    assert!((card.results.final_train_loss - losses[3]).abs() < 1e-12);
    OnnxRunner::from_path(&out.join("dense.onnx")).unwrap();

    // The synthetic shapes are the "digits"; uniform noise must look nothing like them.
    let outliers = dir.path().join("outliers");
    write_synthetic(&outliers, 16, 64, 99).unwrap();
    let eval = EvalArgs {
        model: out.join("dense.onnx"),
        data: data.clone(),
        anomalies: Some(outliers),
        noise: Default::default(),
        seed: 0,
    };
    let report = commands::eval::evaluate(&eval).unwrap();
    let figure = |key: &str| {
        report[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing: {report}"))
    };
    assert!(
        (figure("val_mse") - card.results.final_val_loss).abs() < 1e-5,
        "{report}"
    );
    assert!(
        (report["error_percentiles"]["p50"].as_f64().unwrap() - f64::from(card.val_error.p50))
            .abs()
            < 1e-3
    );
    assert!(figure("auroc_vs_noise") > 0.9, "{report}");
    assert!(
        (0.0..=1.0).contains(&figure("auroc_vs_anomalies")),
        "{report}"
    );
}

#[test]
fn int8_weights_shrink_the_files_and_the_card_describes_the_int8_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("synthetic");
    write_synthetic(&data, 256, 64, 5).unwrap();
    let (f32_out, int8_out) = (dir.path().join("f32"), dir.path().join("int8"));
    commands::train::run(&args(&data, &f32_out, 2)).unwrap();
    commands::train::run(&TrainArgs {
        weights: WeightFormat::Int8,
        ..args(&data, &int8_out, 2)
    })
    .unwrap();

    let size = |out: &Path, file: &str| std::fs::metadata(out.join(file)).unwrap().len() as f64;
    for file in ["dense.onnx", "dense.encoder.onnx", "dense.decoder.onnx"] {
        let ratio = size(&int8_out, file) / size(&f32_out, file);
        assert!(ratio < 0.3, "{file}: int8 is {ratio:.2}× the f32 file");
    }
    let card = ModelCard::from_json(&std::fs::read_to_string(int8_out.join("dense.json")).unwrap())
        .unwrap();
    assert_eq!(card.weights, "int8");
    let eval = EvalArgs {
        model: int8_out.join("dense.onnx"),
        data,
        anomalies: None,
        noise: Default::default(),
        seed: 0,
    };
    let report = commands::eval::evaluate(&eval).unwrap();
    let p50 = report["error_percentiles"]["p50"].as_f64().unwrap();
    assert!(
        (p50 - f64::from(card.val_error.p50)).abs() < 1e-4,
        "card p50 {} vs the int8 file's {p50}",
        card.val_error.p50
    );
}

#[test]
fn a_failed_run_leaves_the_older_model_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let (data, out) = (dir.path().join("synthetic"), dir.path().join("out"));
    write_synthetic(&data, 64, 16, 2).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("dense.onnx"), b"older model").unwrap();
    assert!(commands::train::run(&args(&data, &out, 0)).is_err());
    assert_eq!(
        std::fs::read(out.join("dense.onnx")).unwrap(),
        b"older model"
    );
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        1,
        "nothing else may appear"
    );
}

#[test]
fn a_nan_loss_stops_training_with_a_clear_message() {
    let mut x = Array2::from_elem((32, 784), 0.5f32);
    x[[3, 100]] = f32::NAN;
    let mut model = Model::new(ModelKind::Dense, 0);
    let options = TrainOptions {
        epochs: 2,
        batch: 16,
        seed: 0,
        verbose: false,
        qat: None,
    };
    let err = train(
        &mut model,
        &MeanSquaredError,
        &mut Adam::new(1e-3),
        x.view(),
        &Pairs {
            inputs: x.view(),
            targets: x.view(),
        },
        &options,
        &|clean, _, _| clean,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("diverged") && err.to_string().contains("--lr"),
        "{err}"
    );
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("synthetic");
    write_synthetic(&data, 200, 50, 4).unwrap();
    let run = |out: &str| {
        let out = dir.path().join(out);
        commands::train::run(&args(&data, &out, 2)).unwrap();
        (
            std::fs::read(out.join("dense.onnx")).unwrap(),
            std::fs::read_to_string(out.join("dense.log.csv")).unwrap(),
        )
    };
    let (a, b) = (run("a"), run("b"));
    assert_eq!(a.0, b.0, "weights differ between identical runs");
    let losses = |csv: &str| {
        csv.lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&a.1), losses(&b.1));
}

#[test]
fn images_of_another_size_are_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("tiny");
    std::fs::create_dir_all(&data).unwrap();
    let images = vec![0u8; 4 * 10 * 10];
    for (images_file, labels_file) in [
        ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
        ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    ] {
        trainer::data::write_images_gz(&data.join(images_file), 4, 10, 10, &images).unwrap();
        trainer::data::write_labels_gz(&data.join(labels_file), &[0, 1, 2, 3]).unwrap();
    }
    let err = commands::train::run(&args(&data, &dir.path().join("out"), 1)).unwrap_err();
    assert!(
        err.to_string().contains("28×28") && err.to_string().contains("10×10"),
        "{err}"
    );
}

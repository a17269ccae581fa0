//! Training the convolutional denoiser end to end on small synthetic data: no network, no ../shared.

mod common;

use bottleneck::card::ModelCard;
use common::train_args;
use trainer::cli::{EvalArgs, OptimizerKind, TrainArgs};
use trainer::commands;
use trainer::data::write_synthetic;
use trainer::model::ModelKind;

#[test]
fn train_conv_writes_model_card_picture_and_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let (data, out) = (dir.path().join("synthetic"), dir.path().join("out"));
    write_synthetic(&data, 256, 64, 5).unwrap();
    let args = TrainArgs {
        epochs: 3,
        batch: Some(32),
        seed: 1,
        optimizer: Some(OptimizerKind::Adam),
        noise: Some("gaussian:0.3+occlusion:1".parse().unwrap()),
        ..train_args(ModelKind::Conv, &data, &out)
    };
    commands::train::run(&args).unwrap();

    for file in [
        "conv.onnx",
        "conv.json",
        "conv.log.csv",
        "conv.loss.svg",
        "conv.denoising.png",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    assert!(
        !out.join("conv.encoder.onnx").exists(),
        "the denoiser has no encoder/decoder split"
    );
    let card =
        ModelCard::from_json(&std::fs::read_to_string(out.join("conv.json")).unwrap()).unwrap();
    assert_eq!(
        (card.model.as_str(), card.training.loss.as_str()),
        ("conv", "bce")
    );
    assert_eq!(
        card.training.noise.as_deref(),
        Some("gaussian:0.3+occlusion:1")
    );
    assert_eq!(
        card.training.recipe,
        "seed, except: batch 32 instead of 256; adam instead of adadelta; noise gaussian:0.3+occlusion:1"
    );
    let denoising = card.denoising.expect("a denoiser's card has PSNR figures");
    assert!(denoising.psnr_noisy_db.is_finite() && denoising.psnr_denoised_db.is_finite());
    let csv = std::fs::read_to_string(out.join("conv.log.csv")).unwrap();
    let losses: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(
        losses[2] < losses[0],
        "training loss did not fall: {losses:?}"
    );

    let eval = EvalArgs {
        model: out.join("conv.onnx"),
        data,
        anomalies: None,
        noise: "gaussian:0.5".parse().unwrap(),
        seed: 0,
    };
    let report = commands::eval::evaluate(&eval).unwrap();
    assert_eq!(report["val_images"], 64);
    let figure = |key: &str| {
        report[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing: {report}"))
    };
    assert!(
        figure("val_bce") > 0.0 && figure("psnr_noisy") > 0.0 && figure("psnr_denoised") > 0.0,
        "{report}"
    );
}

#[test]
fn noise_is_refused_for_the_dense_model() {
    let dir = tempfile::tempdir().unwrap();
    let args = TrainArgs {
        noise: Some("salt-pepper:0.1".parse().unwrap()),
        ..train_args(ModelKind::Dense, dir.path(), &dir.path().join("out"))
    };
    let err = commands::train::run(&args).unwrap_err();
    assert!(
        err.to_string().contains("--noise is for the conv denoiser"),
        "{err}"
    );
}

#[test]
fn the_same_seed_gives_the_same_denoiser() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("synthetic");
    write_synthetic(&data, 96, 16, 6).unwrap();
    let run = |out: &str| {
        let out = dir.path().join(out);
        let args = TrainArgs {
            batch: Some(48),
            seed: 8,
            ..train_args(ModelKind::Conv, &data, &out)
        };
        commands::train::run(&args).unwrap();
        std::fs::read(out.join("conv.onnx")).unwrap()
    };
    assert!(
        run("a") == run("b"),
        "weights differ between identical runs"
    );
}

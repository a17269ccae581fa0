//! The anomaly score's calibration is measured by the engine the page runs: the error percentiles
//! in the card `train` writes, those `eval` recomputes, and those of the page's own computation
//! (the dense model's encoder and decoder halves, one image at a time) agree to 1e-6.

mod common;

use bottleneck::card::ModelCard;
use bottleneck::metrics::{l2_error, percentile};
use bottleneck_runtime::Model;
use common::train_args;
use trainer::cli::{EvalArgs, TrainArgs};
use trainer::commands;
use trainer::data::{load_dir, write_synthetic};
use trainer::model::ModelKind;
use trainer::onnx::WeightFormat;

#[test]
fn card_eval_and_the_pages_halves_give_the_same_error_percentiles() {
    let dir = tempfile::tempdir().unwrap();
    let (data, out) = (dir.path().join("synthetic"), dir.path().join("out"));
    write_synthetic(&data, 256, 64, 5).unwrap();
    let args = TrainArgs {
        epochs: 2,
        batch: Some(64),
        weights: WeightFormat::Int8,
        ..train_args(ModelKind::Dense, &data, &out)
    };
    commands::train::run(&args).unwrap();
    let card =
        ModelCard::from_json(&std::fs::read_to_string(out.join("dense.json")).unwrap()).unwrap();
    let eval = EvalArgs {
        model: out.join("dense.onnx"),
        data: data.clone(),
        anomalies: None,
        noise: Default::default(),
        seed: 0,
    };
    let report = commands::eval::evaluate(&eval).unwrap();

    let read = |name: &str| std::fs::read(out.join(name)).unwrap();
    let mut encoder = Model::load(&read("dense.encoder.onnx"), 1).unwrap();
    let mut decoder = Model::load(&read("dense.decoder.onnx"), 1).unwrap();
    let test = load_dir(&data).unwrap().test.images;
    let images = test.as_array();
    let mut page_errors: Vec<f32> = images
        .rows()
        .into_iter()
        .map(|row| {
            let image = row.to_vec();
            let rebuilt = decoder.run(&encoder.run(&image).unwrap()).unwrap();
            l2_error(&image, &rebuilt)
        })
        .collect();
    page_errors.sort_by(f32::total_cmp);

    let e = &card.val_error;
    for (name, q, in_card) in [
        ("p50", 50.0, e.p50),
        ("p90", 90.0, e.p90),
        ("p95", 95.0, e.p95),
        ("p99", 99.0, e.p99),
        ("p99_9", 99.9, e.p99_9),
    ] {
        let page = percentile(&page_errors, q);
        let evaluated = report["error_percentiles"][name].as_f64().unwrap() as f32;
        assert!(
            (in_card - page).abs() <= 1e-6,
            "{name}: card {in_card} vs page {page}"
        );
        assert!(
            (evaluated - page).abs() <= 1e-6,
            "{name}: eval {evaluated} vs page {page}"
        );
    }
}

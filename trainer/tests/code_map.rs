//! The code spread and the map of codes, end to end on small synthetic data: `train dense` writes
//! them, and `code-map` recomputes the same ones from the files it wrote.

mod common;

use bottleneck::CODE_SIZE;
use bottleneck::card::ModelCard;
use common::train_args;
use std::path::Path;
use trainer::cli::{CodeMapArgs, TrainArgs};
use trainer::code_map::{CodeMap, QUANTIZED};
use trainer::commands;
use trainer::data::{load_dir, write_synthetic};
use trainer::model::ModelKind;
use trainer::onnx::OnnxRunner;

fn read_card(out: &Path) -> ModelCard {
    ModelCard::from_json(&std::fs::read_to_string(out.join("dense.json")).unwrap()).unwrap()
}

fn read_map(out: &Path) -> CodeMap {
    serde_json::from_str(&std::fs::read_to_string(out.join("dense.map.json")).unwrap()).unwrap()
}

#[test]
fn train_writes_a_valid_map_and_code_spread_and_code_map_reproduces_them() {
    let dir = tempfile::tempdir().unwrap();
    let (data, out) = (dir.path().join("synthetic"), dir.path().join("out"));
    write_synthetic(&data, 300, 120, 7).unwrap();
    commands::train::run(&TrainArgs {
        batch: Some(64),
        ..train_args(ModelKind::Dense, &data, &out)
    })
    .unwrap();

    let dataset = load_dir(&data).unwrap();
    let mut encoder = OnnxRunner::from_path(&out.join("dense.encoder.onnx")).unwrap();
    let train_codes = encoder.run(dataset.train.images.as_array()).unwrap();
    let test_codes = encoder.run(dataset.test.images.as_array()).unwrap();

    let card = read_card(&out);
    let spread = card
        .code_spread
        .as_ref()
        .expect("the dense card has a code spread");
    for (k, column) in train_codes.columns().into_iter().enumerate() {
        let lo = column.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = column.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        assert_eq!((spread.lo[k], spread.hi[k]), (lo, hi), "dimension {k}");
    }

    let map = read_map(&out);
    assert_eq!(
        (map.model.as_str(), map.data.as_str(), map.split.as_str()),
        ("dense", "synthetic", "test")
    );
    assert_eq!(
        (map.count, map.quantized, map.mean.len()),
        (120, QUANTIZED, CODE_SIZE)
    );
    assert_eq!(map.points.label, dataset.test.labels);
    assert_eq!((map.points.a.len(), map.points.b.len()), (120, 120));
    assert!(
        map.points
            .a
            .iter()
            .chain(&map.points.b)
            .all(|&q| q <= QUANTIZED)
    );
    let dot = |u: &[f32], v: &[f32]| {
        u.iter()
            .zip(v)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum::<f64>()
    };
    let [axis1, axis2] = &map.axes;
    assert!(
        (dot(axis1, axis1) - 1.0).abs() < 1e-5 && (dot(axis2, axis2) - 1.0).abs() < 1e-5,
        "{:?}",
        map.axes
    );
    assert!(dot(axis1, axis2).abs() < 1e-5, "{:?}", map.axes);
    let [first, second] = map.variance_share;
    assert!(
        0.0 < second && second <= first && first + second <= 1.0 + 1e-6,
        "{:?}",
        map.variance_share
    );
    // Each point stands for its test image's code, projected as the page would project it.
    for (index, code) in test_codes.rows().into_iter().enumerate() {
        let offset: Vec<f32> = code.iter().zip(&map.mean).map(|(z, m)| z - m).collect();
        let exact = [dot(&offset, axis1), dot(&offset, axis2)];
        for (k, [lo, hi]) in [map.extent.a, map.extent.b].into_iter().enumerate() {
            let half_step = 0.5 * f64::from(hi - lo) / f64::from(QUANTIZED);
            let stored = map.point(index)[k];
            assert!(
                (stored - exact[k]).abs() <= half_step + 1e-4,
                "point {index}, axis {k}: {stored} vs {}",
                exact[k]
            );
        }
    }

    let map_json = std::fs::read(out.join("dense.map.json")).unwrap();
    let card_json = std::fs::read(out.join("dense.json")).unwrap();
    // Without the code figures, the card must get them back exactly from `code-map`.
    std::fs::write(
        out.join("dense.json"),
        ModelCard {
            code_spread: None,
            ..card
        }
        .to_json_pretty(),
    )
    .unwrap();
    std::fs::remove_file(out.join("dense.map.json")).unwrap();
    commands::code_map::run(&CodeMapArgs {
        models: out.clone(),
        data,
    })
    .unwrap();
    assert_eq!(
        std::fs::read(out.join("dense.map.json")).unwrap(),
        map_json,
        "code-map wrote another map"
    );
    assert_eq!(
        std::fs::read(out.join("dense.json")).unwrap(),
        card_json,
        "code-map wrote another card"
    );
}

#[test]
fn code_map_says_which_file_is_missing_and_what_makes_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("synthetic");
    write_synthetic(&data, 20, 10, 1).unwrap();
    let models = dir.path().join("models");
    let error = commands::code_map::run(&CodeMapArgs {
        models: models.clone(),
        data,
    })
    .unwrap_err()
    .to_string();
    assert!(
        error.contains(&models.join("dense.json").display().to_string()),
        "{error}"
    );
    assert!(error.contains("trainer train dense"), "{error}");
}

#[test]
fn code_map_refuses_data_the_model_was_not_trained_on() {
    let dir = tempfile::tempdir().unwrap();
    let (data, out) = (dir.path().join("synthetic"), dir.path().join("out"));
    write_synthetic(&data, 64, 16, 2).unwrap();
    commands::train::run(&TrainArgs {
        batch: Some(32),
        ..train_args(ModelKind::Dense, &data, &out)
    })
    .unwrap();
    let other = dir.path().join("other").join("synthetic");
    write_synthetic(&other, 64, 32, 2).unwrap();
    let card_before = std::fs::read(out.join("dense.json")).unwrap();
    let error = commands::code_map::run(&CodeMapArgs {
        models: out.clone(),
        data: other,
    })
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("16 test images") && error.contains("(64 and 32)"),
        "{error}"
    );
    assert_eq!(
        std::fs::read(out.join("dense.json")).unwrap(),
        card_before,
        "the card must stay as it was"
    );
}

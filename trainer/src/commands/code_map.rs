//! `code-map`: a dense model's code figures, from its exported encoder run by the page's engine,
//! so they describe the codes the page computes: the code spread in its model card and the map of
//! its test codes.

use super::eval::run_in_chunks;
use super::train::ensure_mnist_sized;
use crate::atomic::write_atomic;
use crate::cli::CodeMapArgs;
use crate::code_map::{CodeMap, code_spread};
use crate::data::{Dataset, load_dir};
use crate::onnx::OnnxRunner;
use anyhow::{Context, Result, anyhow, bail};
use bottleneck::card::{CodeSpread, ModelCard};
use bottleneck_runtime::ModelKind;
use std::path::Path;

/// The one model with a bottleneck.
const MODEL: &str = "dense";

/// Runs `trainer code-map`: rewrites the card with the code spread and writes the map beside it.
pub fn run(args: &CodeMapArgs) -> Result<()> {
    let card_path = args.models.join(format!("{MODEL}.json"));
    let encoder_path = args.models.join(format!("{MODEL}.encoder.onnx"));
    for path in [&card_path, &encoder_path] {
        if !path.is_file() {
            bail!(
                "{} not found: `trainer train dense --data DIR --out {}` writes it",
                path.display(),
                args.models.display()
            );
        }
    }
    let json = std::fs::read_to_string(&card_path)
        .with_context(|| format!("reading {}", card_path.display()))?;
    let mut card =
        ModelCard::from_json(&json).map_err(|e| anyhow!("{}: {e}", card_path.display()))?;
    let dataset = load_dir(&args.data)?;
    ensure_trained_on(&card, &dataset, &args.data)?;
    let (spread, map) = code_figures(&mut OnnxRunner::from_path(&encoder_path)?, &dataset)?;
    let map_path = args.models.join(format!("{MODEL}.map.json"));
    map.write(&map_path)?;
    card.code_spread = Some(spread);
    write_atomic(&card_path, card.to_json_pretty().as_bytes())
        .with_context(|| format!("writing {}", card_path.display()))?;
    println!(
        "wrote {} ({} {} codes; its two axes hold {:.1}% and {:.1}% of their variance) and the code spread of {} training codes into {}",
        map_path.display(),
        map.count,
        map.split,
        100.0 * map.variance_share[0],
        100.0 * map.variance_share[1],
        dataset.train.labels.len(),
        card_path.display()
    );
    Ok(())
}

/// The spread of the training split's codes and the map of the test split's codes, both computed
/// by `encoder`, which must be a dense encoder.
pub fn code_figures(encoder: &mut OnnxRunner, dataset: &Dataset) -> Result<(CodeSpread, CodeMap)> {
    if encoder.kind() != ModelKind::Encode {
        bail!(
            "the code figures need the dense encoder ({MODEL}.encoder.onnx), not a {} model",
            encoder.kind().name()
        );
    }
    ensure_mnist_sized(dataset)?;
    let spread = code_spread(run_in_chunks(encoder, dataset.train.images.as_array())?.view())
        .context("the spread of the training codes")?;
    let test_codes = run_in_chunks(encoder, dataset.test.images.as_array())?;
    let map = CodeMap::new(
        MODEL,
        &dataset.name,
        "test",
        test_codes.view(),
        &dataset.test.labels,
    )
    .context("the map of the test codes")?;
    Ok((spread, map))
}

/// The card's spread must be that of the model's own training codes: other data is refused.
fn ensure_trained_on(card: &ModelCard, dataset: &Dataset, dir: &Path) -> Result<()> {
    let (train, test) = (dataset.train.labels.len(), dataset.test.labels.len());
    let trained = &card.dataset;
    if (
        trained.name.as_str(),
        trained.train_count,
        trained.val_count,
    ) != (dataset.name.as_str(), train, test)
    {
        bail!(
            "the model card says the model was trained on {} ({} training and {} test images), but {} holds {} \
             ({train} and {test}): pass the folder the model was trained on, whose training codes give the sliders' ranges",
            trained.name,
            trained.train_count,
            trained.val_count,
            dir.display(),
            dataset.name
        );
    }
    Ok(())
}

//! What the training tests share.

use std::path::Path;
use trainer::cli::{DataSource, TrainArgs};
use trainer::model::ModelKind;
use trainer::onnx::WeightFormat;

/// `train MODEL --data DATA --out OUT --epochs 1` with every other flag unset, as the CLI would
/// parse it; tests change the fields they are about with struct update syntax.
pub fn train_args(model: ModelKind, data: &Path, out: &Path) -> TrainArgs {
    TrainArgs {
        model,
        source: DataSource {
            data: Some(data.to_path_buf()),
            dataset: None,
        },
        epochs: 1,
        out: out.to_path_buf(),
        batch: None,
        seed: 0,
        optimizer: None,
        lr: None,
        noise: None,
        weights: WeightFormat::F32,
        qat_epochs: 0,
        qat_lr: None,
    }
}

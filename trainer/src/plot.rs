//! The loss-curve picture written next to each trained model.

use crate::train::EpochStats;
use anyhow::{Result, anyhow};
use plotters::prelude::*;

/// An SVG chart of training and validation loss per epoch, log-scaled so late epochs stay readable.
pub fn loss_curve_svg(title: &str, loss_name: &str, history: &[EpochStats]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
        let values = history.iter().flat_map(|s| [s.train_loss, s.val_loss]);
        let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        let (lo, hi) = if lo.is_finite() && lo > 0.0 {
            (lo * 0.9, hi * 1.1)
        } else {
            (1e-4, 1.0)
        };
        let epochs = history.len().max(2);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(1usize..epochs, (lo..hi).log_scale())
            .map_err(|e| anyhow!("plot: {e}"))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(loss_name)
            .draw()
            .map_err(|e| anyhow!("plot: {e}"))?;
        for (label, colour, pick) in [
            (
                "train",
                BLUE,
                (|s: &EpochStats| s.train_loss) as fn(&EpochStats) -> f64,
            ),
            ("validation", RED, |s: &EpochStats| s.val_loss),
        ] {
            chart
                .draw_series(LineSeries::new(
                    history.iter().map(|s| (s.epoch, pick(s))),
                    colour.stroke_width(2),
                ))
                .map_err(|e| anyhow!("plot: {e}"))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| anyhow!("plot: {e}"))?;
        root.present().map_err(|e| anyhow!("plot: {e}"))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_both_curves() {
        let history: Vec<EpochStats> = (1..=5)
            .map(|epoch| EpochStats {
                epoch,
                train_loss: 0.1 / epoch as f64,
                val_loss: 0.12 / epoch as f64,
                seconds: 1.0,
                cpu_seconds: None,
            })
            .collect();
        let svg = loss_curve_svg("dense", "mse", &history).unwrap();
        assert!(
            svg.starts_with("<svg")
                && svg.contains("validation")
                && svg.matches("<polyline").count() >= 2,
            "{svg}"
        );
    }
}

//! `bench`: seconds per training epoch at full scale, and how close they come to the machine's limit.

use super::train::{ensure_mnist_sized, fit, validation_inputs};
use crate::cli::BenchArgs;
use crate::data::load_dir;
use crate::peak::{Kernel, Peak, cpu_name, measure};
use crate::recipe::Recipe;
use crate::train::Pairs;
use anyhow::Result;
use std::time::Duration;

/// The peak's warm-up, in which the cores settle at the clock speed they hold under FMA load.
const PEAK_WARM_UP: Duration = Duration::from_millis(100);
/// The peak's timed run: long enough for the rate to settle, short beside an epoch.
const PEAK_TIMED: Duration = Duration::from_millis(400);

/// Runs `trainer bench`: prints one line per epoch, then one JSON line with the figures.
pub fn run(args: &BenchArgs) -> Result<()> {
    let dataset = load_dir(&args.data)?;
    ensure_mnist_sized(&dataset)?;
    let train_x = dataset.train.images.as_array();
    let val_x = dataset.test.images.as_array();
    let cpu = cpu_name();
    // The peak is measured before and after the epochs, and their mean compared with the epochs,
    // so that a change in the machine's load during the run shows and weighs on both sides.
    let peak_before = measure_peak();
    let recipe =
        Recipe::seed(args.model, args.epochs, 0).with_overrides(args.batch, None, None, None)?;
    let val_inputs = validation_inputs(&recipe, val_x)?;
    let fitted = fit(
        &recipe,
        train_x,
        &Pairs {
            inputs: val_inputs.view(),
            targets: val_x,
        },
        true,
    )?;
    // The first epoch pays for page faults and thread start-up; the rest are the steady state.
    let seconds = steady_median(fitted.history.iter().map(|s| s.seconds));
    let cpu_seconds: Option<Vec<f64>> = fitted.history.iter().map(|s| s.cpu_seconds).collect();
    let cpu_seconds = cpu_seconds.map(|each| steady_median(each.into_iter()));
    let peak_after = measure_peak();
    let threads = peak_before.per_thread.len();
    let peak = (peak_before.limit() + peak_after.limit()) / 2.0;
    // The epoch's time covers its training steps and the validation pass over the test images.
    let model = &fitted.model;
    let (step_flops, forward_flops) = (model.step_flops(), model.forward_flops());
    let epoch_flops =
        step_flops as f64 * train_x.nrows() as f64 + forward_flops as f64 * val_x.nrows() as f64;
    let gflops = epoch_flops / seconds / 1e9;
    let percent_of_peak = 100.0 * gflops / peak;
    // Per second on a CPU, against one core's rate: how well training uses the cores it gets.
    let gflops_on_cpu = cpu_seconds.map(|cpu| epoch_flops / cpu / 1e9);
    let percent_on_cpu = gflops_on_cpu.map(|rate| 100.0 * rate / (peak / threads as f64));
    println!(
        "{cpu}, {threads} threads, load average {}:",
        load_average().as_deref().unwrap_or("unknown")
    );
    for (when, peak) in [("before", &peak_before), ("after", &peak_after)] {
        println!(
            "  peak {when} the epochs ({} kernel): {:.1} GFLOP/s in all, {:.1} per thread{}",
            peak.kernel.name(),
            peak.limit(),
            peak.limit() / threads as f64,
            peak.share_on_cpu().map_or(String::new(), |share| format!(
                " on a CPU, which the threads had {:.0} % of the time ({:.1} GFLOP/s by the wall clock)",
                100.0 * share,
                peak.total()
            )),
        );
    }
    println!(
        "  {}: {seconds:.3} s/epoch; {:.3} MFLOP per image per step; {gflops:.1} GFLOP/s, {percent_of_peak:.1} % of the mean peak{}",
        args.model.name(),
        step_flops as f64 / 1e6,
        gflops_on_cpu
            .zip(percent_on_cpu)
            .map_or(String::new(), |(rate, percent)| format!(
                "; {rate:.1} GFLOP per second on a CPU, {percent:.1} % of a core's"
            )),
    );
    let summary = serde_json::json!({
        "model": args.model.name(),
        "data": dataset.name,
        "train_images": train_x.nrows(),
        "val_images": val_x.nrows(),
        "batch": recipe.batch,
        "epochs_timed": fitted.history.len(),
        "first_epoch_s": fitted.history[0].seconds,
        "seconds_per_epoch": seconds,
        "final_val_loss": fitted.history.last().map(|s| s.val_loss),
        "threads": rayon::current_num_threads(),
        "cpu": cpu,
        "load_average": load_average(),
        "step_flops_per_image": step_flops,
        "forward_flops_per_image": forward_flops,
        "flops_per_epoch": epoch_flops,
        "gflops": gflops,
        "peak_kernel": peak_before.kernel.name(),
        "peak_gflops": peak,
        "peak_before": peak_json(&peak_before),
        "peak_after": peak_json(&peak_after),
        "percent_of_peak": percent_of_peak,
        "cpu_seconds_per_epoch": cpu_seconds,
        "gflops_per_cpu_second": gflops_on_cpu,
        "percent_of_peak_on_cpu": percent_on_cpu,
    });
    println!("{summary}");
    Ok(())
}

/// The f32 peak of every training thread at once, with the widest kernel this CPU runs.
fn measure_peak() -> Peak {
    measure(Kernel::detect(), PEAK_WARM_UP, PEAK_TIMED)
}

/// One peak's figures for the JSON line.
fn peak_json(peak: &Peak) -> serde_json::Value {
    serde_json::json!({
        "gflops": peak.limit(),
        "gflops_wall_clock": peak.total(),
        "gflops_per_thread_wall_clock": peak.per_thread,
        "gflops_per_thread_on_cpu": peak.per_thread_on_cpu,
    })
}

/// The load averages over 1, 5 and 15 minutes, from /proc/loadavg; none where it does not exist.
fn load_average() -> Option<String> {
    let line = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        line.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// The median of the epochs after the first, or the first's figure when there is no other.
fn steady_median(per_epoch: impl Iterator<Item = f64>) -> f64 {
    let all: Vec<f64> = per_epoch.collect();
    median(if all.len() > 1 { &all[1..] } else { &all })
}

/// The median of a non-empty list.
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

//! `--timings`: frame time and inference latency percentiles, printed when the run ends
//! (the game-loop benchmark: run it with learning on and with `--no-learning`).

use bevy::prelude::*;
use bevy_world_model::{Learning, ModelCounters, ModelStatus};

/// Frames ignored at the start (shader compilation, first allocations).
const WARMUP_FRAMES: usize = 60;

/// Records per-frame timings and prints a summary on exit.
pub struct TimingsPlugin;

impl Plugin for TimingsPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Timings>()
            .add_systems(Last, (record, report).chain());
    }
}

#[derive(Resource, Default)]
struct Timings {
    seen: usize,
    frame_ms: Vec<f64>,
    infer_ms: Vec<f64>,
}

fn record(time: Res<Time>, counters: Option<Res<ModelCounters>>, mut t: ResMut<Timings>) {
    t.seen += 1;
    if t.seen <= WARMUP_FRAMES {
        return;
    }
    t.frame_ms.push(time.delta_secs_f64() * 1000.0);
    if let Some(c) = counters {
        t.infer_ms.push(f64::from(c.infer_ms));
    }
}

fn report(
    mut exits: MessageReader<AppExit>,
    t: Res<Timings>,
    status: Option<Res<ModelStatus>>,
    learning: Option<Res<State<Learning>>>,
) {
    if exits.read().next().is_none() {
        return;
    }
    let learning = learning.is_none_or(|l| *l.get() == Learning::On);
    let steps = status
        .as_ref()
        .and_then(|o| o.trainer.as_ref())
        .map_or(0, |s| s.step);
    println!(
        "timings: learning {} | {} frames after {WARMUP_FRAMES} warm-up | frame time {} | inference {} | trainer steps {steps}",
        if learning { "on" } else { "off" },
        t.frame_ms.len(),
        summary(&t.frame_ms),
        summary(&t.infer_ms),
    );
}

/// `p50 X ms, p99 Y ms, mean Z ms` of `values`.
fn summary(values: &[f64]) -> String {
    if values.is_empty() {
        return "n/a".into();
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
    format!(
        "p50 {:.1} ms, p99 {:.1} ms, mean {:.1} ms",
        percentile(&sorted, 0.50),
        percentile(&sorted, 0.99),
        mean
    )
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
        assert_eq!(summary(&[]), "n/a");
        assert_eq!(summary(&[2.0, 4.0]), "p50 2.0 ms, p99 4.0 ms, mean 3.0 ms");
    }
}

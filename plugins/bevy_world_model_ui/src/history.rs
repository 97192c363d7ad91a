//! The numbers behind the training curves: one sample of everything every half second, the
//! last five minutes kept, so a trend is visible at a glance.
//!
//! Counters and timings come from Bevy's [`DiagnosticsStore`], where
//! [`WorldModelDiagnosticsPlugin`](bevy_world_model::WorldModelDiagnosticsPlugin) publishes
//! them; the trainer's loss parts and the score window, which are not diagnostics, from the
//! plugin's resources.

use std::collections::VecDeque;

use bevy::diagnostic::{DiagnosticPath, DiagnosticsStore, FrameTimeDiagnosticsPlugin};
use bevy::prelude::*;
use bevy_world_model::world_model::TrainStats;
use bevy_world_model::{ModelScores, ModelStatus, ScoreWindow, WorldModelDiagnostics};

/// One point of every curve, all read at the same instant so the curves line up in time.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sample {
    /// Seconds since the start.
    pub t: f64,
    /// Loss parts (per pixel / nats).
    pub loss: f64,
    /// Reconstruction part.
    pub recon: f64,
    /// One-step prediction part.
    pub pred: f64,
    /// KL divergence, nats.
    pub kl: f64,
    /// Model and baseline PSNR, averaged over the score window.
    pub psnr: (f64, f64),
    /// Model and baseline SSIM, averaged over the score window.
    pub ssim: (f64, f64),
    /// Gradient norm.
    pub grad_norm: f64,
    /// Learning rate.
    pub lr: f64,
    /// Training steps per second.
    pub steps_per_sec: f64,
    /// Replay buffer fill, 0-1.
    pub replay_fill: f64,
    /// Transitions dropped so far.
    pub dropped: f64,
    /// Inference milliseconds.
    pub infer_ms: f64,
    /// Frames per second of the game.
    pub fps: f64,
    /// The agent's last actor loss (NaN without an agent).
    pub actor_loss: f64,
    /// Its last critic loss.
    pub critic_loss: f64,
    /// The mean lambda-return of its last imagined trajectories' starts.
    pub imagined_return: f64,
}

/// The curves' samples, oldest first: egui keeps nothing between frames, so the curves
/// live here.
#[derive(Resource, Default, Debug)]
pub struct History {
    /// Samples, at most [`History::LEN`].
    pub samples: VecDeque<Sample>,
    next_at: f64,
}

impl History {
    /// Samples kept: five minutes at two per second.
    pub const LEN: usize = 600;
    /// Seconds between samples.
    pub const EVERY: f64 = 0.5;

    /// Adds a sample, dropping the oldest beyond [`History::LEN`].
    pub fn push(&mut self, s: Sample) {
        self.samples.push_back(s);
        while self.samples.len() > Self::LEN {
            self.samples.pop_front();
        }
    }

    /// Points drawn per curve at most: more cost tessellation and (on software Vulkan)
    /// rasterisation without showing more at a plot's width.
    pub const MAX_POINTS: usize = 150;

    /// `(t, value)` points of one curve, thinned to at most [`History::MAX_POINTS`] (every
    /// k-th sample, always keeping the newest).
    pub fn series(&self, pick: impl Fn(&Sample) -> f64) -> Vec<[f64; 2]> {
        let n = self.samples.len();
        let k = n.div_ceil(Self::MAX_POINTS).max(1);
        self.samples
            .iter()
            .enumerate()
            .filter(|(i, _)| (n - 1 - i).is_multiple_of(k))
            .map(|(_, s)| [s.t, pick(s)])
            .filter(|p| p[1].is_finite())
            .collect()
    }

    /// The last `n` values of one curve, oldest first.
    pub fn recent(&self, n: usize, pick: impl Fn(&Sample) -> f64) -> Vec<f64> {
        let skip = self.samples.len().saturating_sub(n);
        self.samples.iter().skip(skip).map(pick).collect()
    }
}

/// The newest value of a diagnostic: the one reading every panel uses, so a figure in the
/// text and the same figure on a curve agree. `None` before its first measurement.
pub fn latest(diagnostics: &DiagnosticsStore, path: &DiagnosticPath) -> Option<f64> {
    diagnostics.get(path).and_then(|d| d.value())
}

impl Sample {
    /// The sample at `now` (seconds since startup): a pure reading of the store, the
    /// trainer's last stats and the score window, so it can be tested without an app.
    /// What has not been measured yet is a gap (NaN) in its curve.
    pub fn read(
        now: f64,
        diagnostics: &DiagnosticsStore,
        trainer: Option<&TrainStats>,
        averages: &ScoreWindow,
    ) -> Self {
        type D = WorldModelDiagnostics;
        let value = |path: &DiagnosticPath| latest(diagnostics, path).unwrap_or(f64::NAN);
        let mut s = Sample {
            t: now,
            infer_ms: value(&D::INFER_MS),
            dropped: value(&D::DROPPED),
            // Published with the trainer's stats: none yet means no step yet.
            steps_per_sec: latest(diagnostics, &D::TRAIN_STEPS_PER_SEC).unwrap_or(0.0),
            fps: diagnostics
                .get(&FrameTimeDiagnosticsPlugin::FPS)
                .and_then(|d| d.smoothed())
                .unwrap_or(f64::NAN),
            psnr: (f64::NAN, f64::NAN),
            ssim: (f64::NAN, f64::NAN),
            actor_loss: f64::NAN,
            critic_loss: f64::NAN,
            imagined_return: f64::NAN,
            ..default()
        };
        if let Some(t) = trainer {
            s.loss = f64::from(t.loss.total);
            s.recon = f64::from(t.loss.recon);
            s.pred = f64::from(t.loss.pred);
            s.kl = f64::from(t.loss.kl);
            s.grad_norm = f64::from(t.grad_norm);
            s.lr = t.lr;
            s.replay_fill = t.buffer_len as f64 / t.buffer_capacity.max(1) as f64;
            if let Some(b) = t.behavior {
                s.actor_loss = f64::from(b.actor_loss);
                s.critic_loss = f64::from(b.critic_loss);
                s.imagined_return = f64::from(b.imagined_return);
            }
        }
        if let Some((model, baseline)) = averages.mean() {
            s.psnr = (model.psnr, baseline.psnr);
            s.ssim = (model.ssim, baseline.ssim);
        }
        s
    }
}

/// Samples the model's numbers every [`History::EVERY`] seconds, while a world model runs.
pub(crate) fn sample(
    time: Res<Time>,
    status: Option<Res<ModelStatus>>,
    scores: Option<Res<ModelScores>>,
    diagnostics: Res<DiagnosticsStore>,
    mut history: ResMut<History>,
) {
    let now = time.elapsed_secs_f64();
    if now < history.next_at {
        return;
    }
    history.next_at = now + History::EVERY;
    let (Some(status), Some(scores)) = (status, scores) else {
        return;
    };
    history.push(Sample::read(
        now,
        &diagnostics,
        status.trainer.as_ref(),
        &scores.averages,
    ));
}

/// Where a curve is heading (`rising`, `falling`, `flat`) and whether that is good: the mean
/// of the newest half of `values` against the older half; `flat` within `tolerance`. (Words,
/// not arrows: egui's default fonts have no arrow glyphs.)
pub fn trend(values: &[f64], higher_is_better: bool, tolerance: f64) -> (&'static str, bool) {
    let values: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if values.len() < 4 {
        return ("flat", true);
    }
    let half = values.len() / 2;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let change = mean(&values[half..]) - mean(&values[..half]);
    if change.abs() <= tolerance {
        ("flat", true)
    } else if change > 0.0 {
        ("rising", higher_is_better)
    } else {
        ("falling", !higher_is_better)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trends_point_the_way_and_say_if_that_is_good() {
        assert_eq!(
            trend(&[10.0, 10.0, 12.0, 12.0], true, 0.1),
            ("rising", true)
        );
        assert_eq!(
            trend(&[10.0, 10.0, 12.0, 12.0], false, 0.1),
            ("rising", false)
        );
        assert_eq!(trend(&[5.0, 5.0, 1.0, 1.0], false, 0.1), ("falling", true));
        assert_eq!(trend(&[5.0, 5.05, 5.0, 5.05], true, 0.1), ("flat", true));
        assert_eq!(
            trend(&[1.0, 2.0], true, 0.1),
            ("flat", true),
            "too few points"
        );
        assert_eq!(
            trend(&[f64::NAN, 1.0, 1.0, 3.0, 3.0], true, 0.1),
            ("rising", true),
            "gaps are skipped"
        );
    }

    #[test]
    fn history_is_bounded_and_series_skip_gaps() {
        let mut h = History::default();
        for i in 0..History::LEN + 10 {
            h.push(Sample {
                t: i as f64,
                loss: if i % 2 == 0 { f64::NAN } else { 1.0 },
                ..default()
            });
        }
        assert_eq!(h.samples.len(), History::LEN);
        assert_eq!(h.samples[0].t, 10.0);
        let t = h.series(|s| s.t);
        assert!(t.len() <= History::MAX_POINTS, "{}", t.len());
        assert_eq!(t.last().unwrap()[0], 609.0, "the newest sample is kept");
        // Every 4th sample of 600 is kept, all of them odd: the NaN (even) ones are skipped.
        assert_eq!(h.series(|s| s.loss).len(), 150);
        assert_eq!(h.recent(3, |s| s.t), vec![607.0, 608.0, 609.0]);
    }

    #[test]
    fn samples_read_counters_from_the_store_and_leave_gaps_for_the_unmeasured() {
        use bevy::diagnostic::{Diagnostic, DiagnosticMeasurement};
        use bevy::platform::time::Instant;

        let mut store = DiagnosticsStore::default();
        for (path, value) in [
            (WorldModelDiagnostics::INFER_MS, 2.5),
            (WorldModelDiagnostics::DROPPED, 3.0),
        ] {
            let mut d = Diagnostic::new(path);
            d.add_measurement(DiagnosticMeasurement {
                time: Instant::now(),
                value,
            });
            store.add(d);
        }
        let trainer = TrainStats {
            lr: 1e-4,
            buffer_len: 50,
            buffer_capacity: 200,
            ..default()
        };
        let s = Sample::read(7.0, &store, Some(&trainer), &ScoreWindow::default());
        assert_eq!((s.t, s.infer_ms, s.dropped), (7.0, 2.5, 3.0));
        assert_eq!((s.lr, s.replay_fill), (1e-4, 0.25));
        assert_eq!(s.steps_per_sec, 0.0, "no trainer step published yet");
        assert!(s.fps.is_nan(), "no frame time diagnostics");
        assert!(s.psnr.0.is_nan() && s.ssim.1.is_nan(), "nothing scored yet");
        assert!(s.actor_loss.is_nan(), "no agent: a gap in its curves");
        let with_agent = TrainStats {
            behavior: Some(bevy_world_model::world_model::BehaviorStats {
                actor_loss: -0.5,
                critic_loss: 2.0,
                imagined_return: 1.25,
                ..default()
            }),
            ..trainer
        };
        let s = Sample::read(7.0, &store, Some(&with_agent), &ScoreWindow::default());
        assert_eq!(
            (s.actor_loss, s.critic_loss, s.imagined_return),
            (-0.5, 2.0, 1.25)
        );
        let empty = Sample::read(
            0.0,
            &DiagnosticsStore::default(),
            None,
            &ScoreWindow::default(),
        );
        assert!(empty.infer_ms.is_nan() && empty.dropped.is_nan());
        assert_eq!(empty.loss, 0.0);
    }
}

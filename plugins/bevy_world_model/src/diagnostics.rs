//! The plugin's counters and timings in Bevy's
//! [`DiagnosticsStore`](bevy::diagnostic::DiagnosticsStore), under `world_model/...` paths, so
//! a UI or a log reads them the way it reads frame times (and gets their history and
//! smoothing) instead of sampling the plugin's resources.
//!
//! Values go to the store only when [`WorldModelDiagnosticsPlugin`] is added (the dashboard
//! adds it); without it the plugin pays nothing.

use bevy::diagnostic::{Diagnostic, DiagnosticPath, Diagnostics, RegisterDiagnostic};
use bevy::prelude::*;

use crate::schedule::WorldModelSystems;
use crate::scores::ModelScores;
use crate::status::{ModelCounters, ModelStatus};

/// Diagnostic paths of the world-model plugin.
pub struct WorldModelDiagnostics;

impl WorldModelDiagnostics {
    /// Milliseconds of the last inference (observe + predict, or one dream step).
    pub const INFER_MS: DiagnosticPath = DiagnosticPath::const_new("world_model/infer_ms");
    /// Transitions handed to the trainer so far.
    pub const SENT: DiagnosticPath = DiagnosticPath::const_new("world_model/transitions_sent");
    /// Transitions dropped so far because the trainer's queue was full.
    pub const DROPPED: DiagnosticPath =
        DiagnosticPath::const_new("world_model/transitions_dropped");
    /// Frames that arrived too late to use.
    pub const LATE_FRAMES: DiagnosticPath = DiagnosticPath::const_new("world_model/late_frames");
    /// Ticks the current dream has run.
    pub const DREAM_TICKS: DiagnosticPath = DiagnosticPath::const_new("world_model/dream_ticks");
    /// Transitions written to the recording.
    pub const RECORDED: DiagnosticPath = DiagnosticPath::const_new("world_model/recorded");
    /// Optimizer step of the weights predicting now.
    pub const WEIGHTS_STEP: DiagnosticPath = DiagnosticPath::const_new("world_model/weights_step");
    /// The trainer's optimizer steps per second.
    pub const TRAIN_STEPS_PER_SEC: DiagnosticPath =
        DiagnosticPath::const_new("world_model/train_steps_per_sec");
    /// The trainer's last total loss.
    pub const LOSS: DiagnosticPath = DiagnosticPath::const_new("world_model/loss");
    /// Model PSNR over the recent score window, dB.
    pub const PSNR_MODEL: DiagnosticPath = DiagnosticPath::const_new("world_model/psnr_model");
    /// Copy-last-frame PSNR over the same ticks, dB.
    pub const PSNR_BASELINE: DiagnosticPath =
        DiagnosticPath::const_new("world_model/psnr_baseline");

    /// Every path with its unit suffix.
    pub fn paths() -> [(DiagnosticPath, &'static str); 11] {
        [
            (Self::INFER_MS, " ms"),
            (Self::SENT, ""),
            (Self::DROPPED, ""),
            (Self::LATE_FRAMES, ""),
            (Self::DREAM_TICKS, ""),
            (Self::RECORDED, ""),
            (Self::WEIGHTS_STEP, ""),
            (Self::TRAIN_STEPS_PER_SEC, " steps/s"),
            (Self::LOSS, ""),
            (Self::PSNR_MODEL, " dB"),
            (Self::PSNR_BASELINE, " dB"),
        ]
    }
}

/// Publishes [`WorldModelDiagnostics`] each frame, after
/// [`WorldModelSystems::Present`]. Needs [`WorldModelPlugin`](crate::WorldModelPlugin).
#[derive(Default, Debug, Clone, Copy)]
pub struct WorldModelDiagnosticsPlugin;

impl Plugin for WorldModelDiagnosticsPlugin {
    fn build(&self, app: &mut App) {
        for (path, suffix) in WorldModelDiagnostics::paths() {
            app.register_diagnostic(Diagnostic::new(path).with_suffix(suffix));
        }
        app.add_systems(
            PostUpdate,
            publish
                .after(WorldModelSystems::Present)
                .run_if(resource_exists::<ModelCounters>),
        );
    }
}

/// Copies this frame's counters, trainer numbers and scores into the store.
fn publish(
    counters: Res<ModelCounters>,
    status: Res<ModelStatus>,
    scores: Res<ModelScores>,
    mut diagnostics: Diagnostics,
) {
    type D = WorldModelDiagnostics;
    let c = *counters;
    diagnostics.add_measurement(&D::INFER_MS, || f64::from(c.infer_ms));
    diagnostics.add_measurement(&D::SENT, || c.sent as f64);
    diagnostics.add_measurement(&D::DROPPED, || c.dropped as f64);
    diagnostics.add_measurement(&D::LATE_FRAMES, || c.late_frames as f64);
    diagnostics.add_measurement(&D::DREAM_TICKS, || c.dream_ticks as f64);
    diagnostics.add_measurement(&D::RECORDED, || c.recorded as f64);
    diagnostics.add_measurement(&D::WEIGHTS_STEP, || status.weights_step as f64);
    if let Some(t) = &status.trainer {
        diagnostics.add_measurement(&D::TRAIN_STEPS_PER_SEC, || t.steps_per_sec);
        diagnostics.add_measurement(&D::LOSS, || f64::from(t.loss.total));
    }
    if let Some((model, baseline)) = scores.averages.mean() {
        diagnostics.add_measurement(&D::PSNR_MODEL, || model.psnr);
        diagnostics.add_measurement(&D::PSNR_BASELINE, || baseline.psnr);
    }
}

//! `report.json`: what a research run or an evaluation writes, as serde types. Versioned so
//! scripts can tell layouts apart.

use std::path::Path;

use bevy_world_model::world_model::{FrameMetrics, LossParts, WorldModelConfig};
use serde::Serialize;

use crate::autopilot::AutopilotMode;

/// Layout version of `report.json`.
pub const REPORT_VERSION: u32 = 1;

/// The whole report.
#[derive(Serialize, Debug, Clone)]
pub struct Report {
    /// [`REPORT_VERSION`].
    pub version: u32,
    /// `train` (learned, then evaluated held-out) or `eval` (held-out evaluation only).
    pub kind: &'static str,
    /// The command line that produced it.
    pub command: String,
    /// What was run.
    pub run: RunInfo,
    /// The model and trainer config (the same one is saved in the checkpoint).
    pub config: WorldModelConfig,
    /// Where the model ran, and why.
    pub device: String,
    /// Which weights the run started from.
    pub model_source: String,
    /// Speed of the run.
    pub throughput: Throughput,
    /// Scores over the whole learning phase (only ticks in which the view changed).
    pub training: Option<PhaseScores>,
    /// Loss of the first and the last reporting interval.
    pub loss: Option<LossTrend>,
    /// Every reporting interval of the learning phase.
    pub series: Vec<SeriesPoint>,
    /// The held-out evaluation.
    pub heldout: Option<HeldOutReport>,
    /// Files written next to the report, relative to it.
    pub files: Vec<String>,
    /// How averages treat unchanged views.
    pub notes: Vec<String>,
}

/// Level, seeds and schedule of the run.
#[derive(Serialize, Debug, Clone)]
pub struct RunInfo {
    /// Training (or evaluation) level name.
    pub level: String,
    /// Its seed.
    pub seed: u64,
    /// How the agent explored.
    pub autopilot: AutopilotMode,
    /// Wall-clock minutes of learning asked for.
    pub minutes: Option<f64>,
    /// Simulated ticks per second (the world advances 1/tick_hz s per frame).
    pub tick_hz: f64,
}

/// How fast the run went.
#[derive(Serialize, Debug, Clone, Default)]
pub struct Throughput {
    /// Seconds from the first frame to the report.
    pub wall_s: f64,
    /// Model ticks (frames) run.
    pub ticks: u64,
    /// Ticks per wall-clock second.
    pub ticks_per_s: f64,
    /// Optimizer steps the trainer took.
    pub train_steps: u64,
    /// Optimizer steps per second of the learning phase.
    pub train_steps_per_s: f64,
    /// Transitions handed to the trainer.
    pub frames_sent: u64,
    /// Transitions dropped because the trainer was busy.
    pub frames_dropped: u64,
    /// Mean milliseconds of one inference (observe + predict).
    pub infer_ms_mean: f64,
}

/// Model and copy-last-frame baseline over the same ticks.
#[derive(Serialize, Debug, Clone, Copy)]
pub struct PhaseScores {
    /// The model's one-step prediction (PSNR pooled from the mean MSE).
    pub model: FrameMetrics,
    /// Copying the previous frame.
    pub baseline: FrameMetrics,
    /// Model PSNR minus baseline PSNR, dB.
    pub gain_db: f64,
    /// Ticks averaged (the view changed).
    pub ticks_scored: u64,
    /// Ticks left out because the real frame equalled the previous one.
    pub ticks_unchanged: u64,
}

/// Did the loss fall?
#[derive(Serialize, Debug, Clone, Copy)]
pub struct LossTrend {
    /// Mean total loss over the first interval with trainer steps.
    pub first: f32,
    /// Mean total loss over the last interval with trainer steps.
    pub last: f32,
    /// `last < first`.
    pub fell: bool,
}

/// One reporting interval of the learning phase.
#[derive(Serialize, Debug, Clone)]
pub struct SeriesPoint {
    /// Seconds since the start.
    pub t_s: f64,
    /// Model tick at the end of the interval.
    pub tick: u64,
    /// Trainer step at the end of the interval.
    pub train_step: u64,
    /// Mean loss parts over the trainer steps seen in the interval.
    pub loss: Option<LossParts>,
    /// Scores over the interval's ticks, when any was scored.
    pub scores: Option<PhaseScores>,
    /// Mean inference milliseconds over the interval.
    pub infer_ms: f64,
}

/// The evaluation on a seed or level not trained on.
#[derive(Serialize, Debug, Clone)]
pub struct HeldOutReport {
    /// Level name.
    pub level: String,
    /// Seed.
    pub seed: u64,
    /// False when the level file fixes its own seed and it equals the training world.
    pub unseen: bool,
    /// One-step model prediction (PSNR pooled from the mean MSE).
    pub model: FrameMetrics,
    /// Copy-last-frame baseline over the same ticks.
    pub baseline: FrameMetrics,
    /// Model PSNR minus baseline PSNR, dB.
    pub gain_db: f64,
    /// Ticks averaged (the view changed).
    pub ticks_scored: u64,
    /// Ticks left out because the real frame equalled the previous one.
    pub ticks_unchanged: u64,
    /// Open-loop rollouts from the filtered state with the action held: PSNR per horizon.
    pub horizons: Vec<HorizonScore>,
    /// Optimizer step of the weights evaluated.
    pub weights_step: u64,
}

/// Open-loop error at one horizon, pooled over rollouts.
#[derive(Serialize, Debug, Clone, Copy)]
pub struct HorizonScore {
    /// Steps ahead (1 = the next frame).
    pub k: usize,
    /// The model's imagined frame against the real one.
    pub model_psnr: f64,
    /// The rollout's start frame (copied k steps ahead) against the real one.
    pub baseline_psnr: f64,
    /// Rollouts pooled at this horizon (those whose view changed).
    pub rollouts: u64,
}

impl Report {
    /// Writes `report.json` in `dir` (pretty-printed).
    pub fn write(&self, dir: &Path) -> Result<(), String> {
        let path = dir.join("report.json");
        let json = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(&path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

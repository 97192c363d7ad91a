//! `report.json`: what a research run or an evaluation writes, as serde types. Versioned so
//! scripts can tell layouts apart.

use std::path::Path;

use bevy_world_model::world_model::{BehaviorStats, FrameMetrics, LossParts, WorldModelConfig};
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
    /// The level's task, when it has one: episodes and the reward head, per phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskReport>,
    /// On a task level: each pilot's episodes on the held-out world, learning off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub episodes: Option<EpisodesReport>,
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
    /// Optimizer steps the trainer took in this run (not counting a start checkpoint's).
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
    /// The agent's last actor-critic update in the interval (entropy, imagined return,
    /// value, losses), when the model has an agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<BehaviorStats>,
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

/// The task's figures in the learning phase and the held-out one.
#[derive(Serialize, Debug, Clone)]
pub struct TaskReport {
    /// While learning (on the training level).
    pub training: Option<TaskPhase>,
    /// With learning off, on the held-out level.
    pub heldout: Option<TaskPhase>,
}

/// Episodes of a task and the reward head's one-tick-ahead predictions in one phase.
#[derive(Serialize, Debug, Clone, Copy, PartialEq)]
pub struct TaskPhase {
    /// Episodes that ended (goal reached or time up).
    pub episodes: u64,
    /// Episodes whose every goal was taken.
    pub successes: u64,
    /// `successes / episodes`.
    pub success_rate: Option<f64>,
    /// Mean ticks of the successful episodes.
    pub mean_ticks_to_success: Option<f64>,
    /// Mean return of the episodes.
    pub mean_return: Option<f64>,
    /// Ticks whose reward was predicted the tick before.
    pub reward_ticks: u64,
    /// The reward head's mean squared error over them.
    pub reward_mse: Option<f64>,
    /// The mean squared error of predicting their mean reward (their variance): the
    /// baseline a head that learned nothing about states reaches.
    pub mean_reward_mse: Option<f64>,
    /// Ticks paying at least 0.5 (goals and pickups).
    pub reward_events: u64,
    /// Of those, the ones the head predicted at least 0.25 for, a tick ahead.
    pub events_anticipated: u64,
    /// Ticks with a prediction of at least 0.25 and no event.
    pub false_alarms: u64,
    /// Terminal ticks among them.
    pub terminals: u64,
    /// Mean predicted continue probability at terminal ticks.
    pub cont_at_terminals: Option<f64>,
    /// Mean predicted continue probability at the others.
    pub cont_elsewhere: Option<f64>,
    /// The same reward error over the ticks predicted while a goal was in the agent's view:
    /// what the head could see. Out of view, what a tick pays (closer or farther) is
    /// predictable only from memory.
    pub goal_in_view: Option<RewardSplit>,
    /// ... and over those predicted with no goal in view.
    pub goal_out_of_view: Option<RewardSplit>,
    /// Episodes the agent valued at their start (`--autopilot dreamer`; 0 otherwise).
    pub valued_episodes: u64,
    /// The agent's mean value of those episodes' first states: the return it imagined
    /// (its critic's lambda-return estimate, discounted by `agent.gamma`).
    pub imagined_return: Option<f64>,
    /// The mean return those episodes then paid (undiscounted), to set beside it.
    pub return_after_imagining: Option<f64>,
}

/// The pilots' comparison on the held-out world (`crate::research::pilots`).
#[derive(Serialize, Debug, Clone)]
pub struct EpisodesReport {
    /// Level name.
    pub level: String,
    /// Its seed: every pilot starts its episodes from this seed's first one.
    pub seed: u64,
    /// Episodes each pilot was asked to play.
    pub episodes_per_pilot: u64,
    /// The task's time limit in ticks (an episode that reaches it is a failure).
    pub time_limit: u32,
    /// In the order they played.
    pub pilots: Vec<PilotReport>,
}

/// One pilot's episodes.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct PilotReport {
    /// Who played.
    pub autopilot: AutopilotMode,
    /// Episodes played.
    pub episodes: u64,
    /// All the episodes asked for were played (else the pilot was given up on).
    pub complete: bool,
    /// Episodes whose every goal was taken within the time limit.
    pub successes: u64,
    /// `successes / episodes`.
    pub success_rate: Option<f64>,
    /// Median ticks of the successful episodes.
    pub median_ticks_to_success: Option<f64>,
    /// Mean ticks of the successful episodes.
    pub mean_ticks_to_success: Option<f64>,
    /// Median ticks of all episodes, a failure counting as its full length (the time limit):
    /// comparable between pilots whatever their success rates.
    pub median_episode_ticks: Option<f64>,
    /// Mean return.
    pub mean_return: Option<f64>,
    /// Episodes the agent valued at their start (the dreamer only).
    pub valued_episodes: u64,
    /// The agent's mean value of those starts: the return it imagined.
    pub imagined_return: Option<f64>,
    /// The mean return those episodes then paid.
    pub return_after_imagining: Option<f64>,
    /// Frames it played.
    pub frames: u64,
}

/// The reward head's error over a subset of a phase's ticks, against the mean reward of that
/// subset.
#[derive(Serialize, Debug, Clone, Copy, PartialEq)]
pub struct RewardSplit {
    /// Ticks in the subset.
    pub ticks: u64,
    /// The reward head's mean squared error over them.
    pub reward_mse: f64,
    /// The mean squared error of predicting their mean reward.
    pub mean_reward_mse: f64,
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

//! Research runs without a person: learn for `--minutes` while the autopilot explores,
//! print a progress line, then evaluate on a held-out seed with learning off and write
//! `report.json`, PNG strips and the checkpoint to `--report DIR`. `mini-dreamer eval` runs
//! only the evaluation, from a checkpoint.
//!
//! Averages (here, in the dashboard and in the report) leave out ticks whose real frame
//! equals the previous one, for model and baseline alike: copying would be perfect there
//! (infinite PSNR). They are counted as `ticks_unchanged`.

mod log;
pub mod report;
pub mod strips;
pub mod tally;
mod write;

use std::path::PathBuf;

use bevy::prelude::*;
use bevy_procgen::{LevelSpec, LoadLevel};
use bevy_world_model::{
    FinishRecording, Learning, ModelClock, ModelCounters, ModelStatus, ResetLatent, SaveCheckpoint,
    ScoreTotals, WorldModelSettings, WorldModelSystems,
};

use crate::autopilot::{Autopilot, AutopilotMode};
use log::{ResearchLog, collect};
use report::{RunInfo, SeriesPoint};
use tally::{LossTally, phase_scores};
use write::write_report;

/// Seconds between progress lines (and points of the report's series).
const INTERVAL_S: f64 = 10.0;
/// Ticks after the switch to the held-out world before scoring starts (the old level's
/// frames still in flight, the new one spawning).
const SETTLE_TICKS: u64 = 30;
/// Minutes between the checkpoints a learning run with a report keeps (`model-2min.ckpt`
/// ...), so that learning speed can be compared on held-out data afterwards (`eval`).
const CHECKPOINT_EVERY_MIN: u64 = 2;
/// Prediction samples kept for `predictions.png`.
const SAMPLES: u64 = 6;

/// What a research run does.
#[derive(Resource, Clone, Debug)]
pub struct ResearchPlan {
    /// Wall-clock minutes of learning; `None` goes straight to the held-out evaluation.
    pub minutes: Option<f64>,
    /// Where the report goes; `None`: progress lines only, no evaluation.
    pub report_dir: Option<PathBuf>,
    /// The evaluation that ends the run (with a report).
    pub heldout: Option<HeldOutPlan>,
    /// Level, seed, autopilot, for the report.
    pub run: RunInfo,
    /// The command line, for the report.
    pub command: String,
}

/// The world the model is evaluated on, and for how long.
#[derive(Clone, Debug)]
pub struct HeldOutPlan {
    /// Level to load (`None`: stay on the current world, as `eval` does).
    pub spec: Option<LevelSpec>,
    /// Level name, for the report.
    pub level: String,
    /// Its seed.
    pub seed: u64,
    /// Changed ticks to score.
    pub ticks: u64,
    /// How the agent explores it.
    pub autopilot: AutopilotMode,
    /// False when this is the training world after all (a level file with a fixed seed).
    pub unseen: bool,
}

/// Where a research run is.
#[derive(States, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ResearchPhase {
    /// Learning while the autopilot explores.
    #[default]
    Training,
    /// Learning off, on the held-out world, scoring.
    HeldOut,
    /// Report written; the app exits.
    Done,
}

/// Adds a research run to the game (`--minutes`, `--report`, `eval`).
pub struct ResearchPlugin {
    /// The run.
    pub plan: ResearchPlan,
}

impl Plugin for ResearchPlugin {
    fn build(&self, app: &mut App) {
        let start = if self.plan.minutes.is_some() {
            ResearchPhase::Training
        } else {
            ResearchPhase::HeldOut
        };
        let log = ResearchLog {
            heldout_from: if start == ResearchPhase::HeldOut {
                SETTLE_TICKS
            } else {
                0
            },
            ..default()
        };
        app.insert_resource(self.plan.clone())
            .insert_state(start)
            .insert_resource(log)
            .add_systems(
                PostUpdate,
                (collect, progress, advance)
                    .chain()
                    .after(WorldModelSystems::Present),
            );
    }
}

/// Every [`INTERVAL_S`]: a series point (while learning) and a progress line.
fn progress(
    phase: Res<State<ResearchPhase>>,
    plan: Res<ResearchPlan>,
    clock: Res<ModelClock>,
    status: Res<ModelStatus>,
    mut log: ResMut<ResearchLog>,
) {
    let t = log.elapsed();
    if t - log.last_line < INTERVAL_S {
        return;
    }
    log.last_line = t;
    let step = status.trainer.as_ref().map_or(0, |s| s.step);
    let rate = status.trainer.as_ref().map_or(0.0, |s| s.steps_per_sec);
    let scores = phase_scores(&log.interval);
    let vs = scores.map_or("no changed views scored yet".into(), |s| {
        format!(
            "model {:.1} dB vs copy-last-frame {:.1} dB ({:+.1} dB)",
            s.model.psnr, s.baseline.psnr, s.gain_db
        )
    });
    match phase.get() {
        ResearchPhase::Training => {
            let point = SeriesPoint {
                t_s: t,
                tick: clock.tick,
                train_step: step,
                loss: log.interval_loss.mean(),
                scores,
                infer_ms: log.interval_infer.0 / log.interval_infer.1.max(1) as f64,
            };
            let loss = point
                .loss
                .map_or(String::new(), |l| format!(" | loss {:.4}", l.total));
            let total = plan.minutes.unwrap_or(0.0) * 60.0;
            println!(
                "[{} / {}] learning | step {step} ({rate:.1}/s) | tick {} | last {INTERVAL_S:.0} s: {vs}{loss}",
                clock_text(t),
                clock_text(total),
                clock.tick
            );
            log.series.push(point);
        }
        ResearchPhase::HeldOut => {
            let target = plan.heldout.as_ref().map_or(0, |p| p.ticks);
            println!(
                "[{}] held-out | {} / {target} ticks scored | last {INTERVAL_S:.0} s: {vs}",
                clock_text(t),
                log.heldout.scored
            );
        }
        ResearchPhase::Done => {}
    }
    log.interval = ScoreTotals::default();
    log.interval_loss = LossTally::default();
    log.interval_infer = (0.0, 0);
}

/// Ends the learning phase (switching to the held-out world) and the run.
#[allow(clippy::too_many_arguments)]
fn advance(
    mut commands: Commands,
    phase: Res<State<ResearchPhase>>,
    mut next_phase: ResMut<NextState<ResearchPhase>>,
    mut next_learning: ResMut<NextState<Learning>>,
    plan: Res<ResearchPlan>,
    clock: Res<ModelClock>,
    status: Res<ModelStatus>,
    counters: Res<ModelCounters>,
    settings: Res<WorldModelSettings>,
    mut log: ResMut<ResearchLog>,
    mut saves: MessageWriter<SaveCheckpoint>,
    mut levels: MessageWriter<LoadLevel>,
    mut resets: MessageWriter<ResetLatent>,
    mut finish_recording: MessageWriter<FinishRecording>,
    mut exit: MessageWriter<AppExit>,
    agents: Query<Entity, With<Autopilot>>,
) {
    match phase.get() {
        ResearchPhase::Training => {
            let t = log.elapsed();
            let minute = (t / 60.0) as u64;
            if let Some(dir) = &plan.report_dir
                && minute > 0
                && minute.is_multiple_of(CHECKPOINT_EVERY_MIN)
                && log.saved_minute < minute
                && plan.minutes.is_some_and(|m| (minute as f64) < m)
            {
                log.saved_minute = minute;
                saves.write(SaveCheckpoint(Some(
                    dir.join(format!("model-{minute}min.ckpt")),
                )));
            }
            if plan.minutes.is_none_or(|m| t < m * 60.0) {
                return;
            }
            log.train_wall_s = t;
            log.train_steps = status.trainer.as_ref().map_or(0, |s| s.step);
            let Some(held) = &plan.heldout else {
                println!("learned for {}; exiting", clock_text(t));
                exit.write(AppExit::Success);
                next_phase.set(ResearchPhase::Done);
                return;
            };
            if let Some(dir) = &plan.report_dir {
                saves.write(SaveCheckpoint(Some(dir.join("model.ckpt"))));
            }
            // The held-out world stays out of the dataset.
            finish_recording.write(FinishRecording);
            next_learning.set(Learning::Paused);
            if let Some(spec) = &held.spec {
                levels.write(LoadLevel {
                    spec: spec.clone(),
                    seed: held.seed,
                });
            }
            resets.write(ResetLatent);
            for agent in &agents {
                commands
                    .entity(agent)
                    .insert(Autopilot::with_mode(held.seed, held.autopilot));
            }
            log.heldout_from = clock.tick + SETTLE_TICKS;
            log.interval = ScoreTotals::default();
            println!(
                "learned for {} ({} steps); evaluating on held-out level '{}' seed {} with learning off",
                clock_text(t),
                log.train_steps,
                held.level,
                held.seed
            );
            next_phase.set(ResearchPhase::HeldOut);
        }
        ResearchPhase::HeldOut => {
            let Some(held) = &plan.heldout else {
                return;
            };
            let enough = log.heldout.scored >= held.ticks;
            let given_up = log.heldout_frames > held.ticks.saturating_mul(4).saturating_add(600);
            if !(enough || given_up) {
                return;
            }
            if given_up {
                warn!(
                    "held-out evaluation: only {} of {} ticks scored in {} frames; reporting what there is",
                    log.heldout.scored, held.ticks, log.heldout_frames
                );
            }
            let result = write_report(&plan, held, &log, &status, &counters, &settings, clock.tick);
            match result {
                Ok(line) => {
                    println!("{line}");
                    exit.write(AppExit::Success);
                }
                Err(e) => {
                    error!("{e}");
                    exit.write(AppExit::error());
                }
            }
            next_phase.set(ResearchPhase::Done);
        }
        ResearchPhase::Done => {}
    }
}

/// `mm:ss`.
fn clock_text(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    format!("{:02}:{:02}", s / 60, s % 60)
}

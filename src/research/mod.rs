//! Research runs without a person: learn for `--minutes` while the autopilot explores,
//! print a progress line, then evaluate on a held-out seed with learning off and write
//! `report.json`, PNG strips and the checkpoint to `--report DIR`. On a task level the
//! evaluation ends with each pilot playing the same held-out episodes ([`pilots`]).
//! `mini-dreamer eval` runs only the evaluation, from a checkpoint.
//!
//! Averages (here, in the dashboard and in the report) leave out ticks whose real frame
//! equals the previous one, for model and baseline alike: copying would be perfect there
//! (infinite PSNR). They are counted as `ticks_unchanged`.
//!
//! The report is written only once the trainer said it saved `DIR/model.ckpt` (waited for up
//! to [`FINAL_SAVE_TIMEOUT`]); a save that failed, or was never confirmed, ends the run with an
//! error and no report. SIGINT or SIGTERM during a learning run with a report saves
//! `DIR/model.ckpt` (the weights learned so far), says the run was interrupted and exits with
//! 130 or 143, writing no report (there is no held-out evaluation to report).

mod log;
mod pace;
pub mod pilots;
pub mod report;
pub mod strips;
pub mod tally;
mod write;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_procgen::LevelSpec;
use bevy_world_model::{
    FinishRecording, Learning, ModelClock, ModelCounters, ModelStatus, SaveCheckpoint, ScoreTotals,
    WorldModelNotice, WorldModelSettings, WorldModelSystems,
};

use crate::autopilot::AutopilotMode;
use crate::interrupt::Interrupt;
use log::{ResearchLog, collect, collect_task};
use pilots::{PilotPlan, PilotTally, WorldSwitch};
use report::{RunInfo, SeriesPoint};
use tally::{LossTally, phase_scores};
use write::write_report;

/// Seconds between progress lines (and points of the report's series).
const INTERVAL_S: f64 = 10.0;
/// Ticks after the switch to the held-out world before scoring starts (the old level's
/// frames still in flight, the new one spawning).
const SETTLE_TICKS: u64 = 30;
/// Ticks after a pilot's level is loaded again before the agent's value of the first
/// episode's start is read (the readbacks of the old world still arriving).
const PILOT_SETTLE_TICKS: u64 = 5;
/// Minutes between the checkpoints a learning run with a report keeps (`model-2min.ckpt`
/// ...), so that learning speed can be compared on held-out data afterwards (`eval`).
const CHECKPOINT_EVERY_MIN: u64 = 2;
/// Prediction samples kept for `predictions.png`.
const SAMPLES: u64 = 6;
/// How long the run waits for the trainer to confirm the final checkpoint (`model.ckpt`)
/// before it gives up with an error.
pub const FINAL_SAVE_TIMEOUT: Duration = Duration::from_secs(60);

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
    /// On a task level, the pilots' episodes that follow the scored ticks.
    pub pilots: Option<PilotPlan>,
}

/// Where a research run is.
#[derive(States, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ResearchPhase {
    /// Learning while the autopilot explores.
    #[default]
    Training,
    /// Learning off, on the held-out world, scoring.
    HeldOut,
    /// Learning off, on the held-out world: each pilot plays its episodes.
    Episodes,
    /// Report written; the app exits.
    Done,
}

/// The final checkpoint, `DIR/model.ckpt`, of a learning run with a report.
#[derive(Debug, Default)]
pub(crate) enum FinalSave {
    /// Not asked for yet (or never: `eval`, or no report).
    #[default]
    NotSent,
    /// Asked for; waiting for the trainer's word.
    Pending {
        /// The file.
        path: PathBuf,
        /// When it was asked for.
        since: Instant,
    },
    /// Written.
    Saved(PathBuf),
    /// Failed, or never confirmed; the run ends with this error.
    Failed(String),
}

/// Adds a research run to the game (`--minutes`, `--report`, `eval`).
pub struct ResearchPlugin {
    /// The run.
    pub plan: ResearchPlan,
    /// The wall-clock length of a frame while learning (one model tick); `None` leaves
    /// frames to the app's runner.
    pub training_pace: Option<Duration>,
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
        // A learning run with a report saves its weights before it ends on a signal.
        let saves_on_signal = self.plan.minutes.is_some() && self.plan.report_dir.is_some();
        app.insert_resource(Interrupt {
            signal: None,
            deferred: saves_on_signal,
        })
        .insert_resource(self.plan.clone())
        .insert_state(start)
        .insert_resource(log)
        .add_systems(
            PostUpdate,
            (
                collect,
                collect_task,
                track_final_save,
                on_interrupt,
                progress.run_if(not_interrupted),
                advance.run_if(not_interrupted),
            )
                .chain()
                .after(WorldModelSystems::Present),
        );
        if let Some(period) = self.training_pace {
            app.insert_resource(pace::TrainingPace::new(period))
                .add_systems(First, pace::start_frame)
                .add_systems(Last, pace::finish_frame);
        }
    }
}

/// No SIGINT or SIGTERM seen.
fn not_interrupted(interrupt: Option<Res<Interrupt>>) -> bool {
    interrupt.is_none_or(|i| i.signal.is_none())
}

/// Follows the final checkpoint: the trainer's notice that it saved it or failed to, or
/// [`FINAL_SAVE_TIMEOUT`] without either. A failure ends the run with an error line and a
/// non-zero exit, without a report.
fn track_final_save(
    phase: Res<State<ResearchPhase>>,
    mut next_phase: ResMut<NextState<ResearchPhase>>,
    mut log: ResMut<ResearchLog>,
    mut notices: MessageReader<WorldModelNotice>,
    mut exit: MessageWriter<AppExit>,
) {
    for notice in notices.read() {
        let FinalSave::Pending { path, .. } = &log.final_save else {
            continue;
        };
        let path = path.clone();
        match notice.save_result(&path) {
            Some(Ok(())) => log.final_save = FinalSave::Saved(path),
            Some(Err(text)) => log.final_save = FinalSave::Failed(text),
            None => {}
        }
    }
    let timed_out = match &log.final_save {
        FinalSave::Pending { path, since } if since.elapsed() > FINAL_SAVE_TIMEOUT => {
            Some(path.display().to_string())
        }
        _ => None,
    };
    if let Some(shown) = timed_out {
        log.final_save = FinalSave::Failed(format!(
            "the trainer did not confirm saving {shown} within {} s",
            FINAL_SAVE_TIMEOUT.as_secs()
        ));
    }
    if let FinalSave::Failed(reason) = &log.final_save
        && *phase.get() != ResearchPhase::Done
    {
        error!("research run: the final checkpoint was not saved ({reason}); no report written");
        exit.write(AppExit::error());
        next_phase.set(ResearchPhase::Done);
    }
}

/// SIGINT or SIGTERM in a learning run with a report: saves `DIR/model.ckpt` (already asked
/// for in the held-out phase), waits for it ([`track_final_save`]), then says the run was
/// interrupted and exits with the signal's status (130, 143). No report is written.
fn on_interrupt(
    interrupt: Option<Res<Interrupt>>,
    phase: Res<State<ResearchPhase>>,
    mut next_phase: ResMut<NextState<ResearchPhase>>,
    plan: Res<ResearchPlan>,
    status: Res<ModelStatus>,
    mut log: ResMut<ResearchLog>,
    mut saves: MessageWriter<SaveCheckpoint>,
    mut exit: MessageWriter<AppExit>,
) {
    let Some(signal) = interrupt.and_then(|i| i.signal) else {
        return;
    };
    let (Some(dir), Some(_)) = (&plan.report_dir, plan.minutes) else {
        return; // nothing to save: the interrupt plugin ended the app
    };
    if *phase.get() == ResearchPhase::Done {
        return;
    }
    match &log.final_save {
        FinalSave::NotSent => {
            let path = dir.join("model.ckpt");
            let step = status.trainer.as_ref().map_or(0, |s| s.step);
            println!(
                "interrupted by {} after {} of learning (step {step}); saving {}",
                signal.name(),
                clock_text(log.elapsed()),
                path.display()
            );
            saves.write(SaveCheckpoint(Some(path.clone())));
            log.final_save = FinalSave::Pending {
                path,
                since: Instant::now(),
            };
        }
        FinalSave::Pending { .. } | FinalSave::Failed(_) => {}
        FinalSave::Saved(path) => {
            println!(
                "interrupted by {}: the weights are saved in {}; no report written",
                signal.name(),
                path.display()
            );
            exit.write(AppExit::from_code(signal.exit_code()));
            next_phase.set(ResearchPhase::Done);
        }
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
                agent: status.trainer.as_ref().and_then(|s| s.behavior),
            };
            let loss = point
                .loss
                .map_or(String::new(), |l| format!(" | loss {:.4}", l.total));
            let agent = point.agent.map_or(String::new(), |a| {
                format!(
                    " | agent entropy {:.2} nats, imagined return {:+.2}",
                    a.entropy, a.imagined_return
                )
            });
            let total = plan.minutes.unwrap_or(0.0) * 60.0;
            println!(
                "[{} / {}] learning | step {step} ({rate:.1}/s) | tick {} | last {INTERVAL_S:.0} s: {vs}{loss}{agent}",
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
        ResearchPhase::Episodes => {
            let target = plan
                .heldout
                .as_ref()
                .and_then(|h| h.pilots.as_ref())
                .map_or(0, |p| p.episodes);
            if let Some(pilot) = log.pilots.last() {
                let wins = pilot.ended.iter().filter(|(e, _)| e.success).count();
                println!(
                    "[{}] episodes | {} {} / {target} played, {wins} reached the goal",
                    clock_text(t),
                    pilot.pilot.name(),
                    pilot.ended.len()
                );
            }
        }
        ResearchPhase::Done => {}
    }
    log.interval = ScoreTotals::default();
    log.interval_loss = LossTally::default();
    log.interval_infer = (0.0, 0);
}

/// Ends the learning phase (switching to the held-out world), the held-out scoring (on to
/// the pilots' episodes on a task level), each pilot's episodes, and the run.
#[allow(clippy::too_many_arguments)]
fn advance(
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
    mut finish_recording: MessageWriter<FinishRecording>,
    mut exit: MessageWriter<AppExit>,
    mut world: WorldSwitch,
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
            // Steps taken in this run: a run resumed from a checkpoint starts at its step.
            log.train_steps = status
                .trainer
                .as_ref()
                .map_or(0, |s| s.step.saturating_sub(status.start_step));
            let Some(held) = &plan.heldout else {
                println!("learned for {}; exiting", clock_text(t));
                exit.write(AppExit::Success);
                next_phase.set(ResearchPhase::Done);
                return;
            };
            if let Some(dir) = &plan.report_dir {
                let path = dir.join("model.ckpt");
                saves.write(SaveCheckpoint(Some(path.clone())));
                log.final_save = FinalSave::Pending {
                    path,
                    since: Instant::now(),
                };
            }
            // The held-out world stays out of the dataset.
            finish_recording.write(FinishRecording);
            next_learning.set(Learning::Paused);
            world.switch(held.spec.as_ref(), held.seed, held.autopilot);
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
            // The report lists model.ckpt: it is written once the trainer saved it (a failure
            // or a timeout ends the run in track_final_save).
            if matches!(
                log.final_save,
                FinalSave::Pending { .. } | FinalSave::Failed(_)
            ) {
                return;
            }
            if given_up {
                warn!(
                    "held-out evaluation: only {} of {} ticks scored in {} frames; reporting what there is",
                    log.heldout.scored, held.ticks, log.heldout_frames
                );
            }
            if let Some(pilots) = &held.pilots
                && let Some(task) = world.task.as_deref()
            {
                log.episodes_time_limit = task.run.spec().time_limit;
                start_pilot(held, pilots, 0, &mut world, &mut log, clock.tick);
                next_phase.set(ResearchPhase::Episodes);
                return;
            }
            finish(
                &plan, held, &log, &status, &counters, &settings, clock.tick, &mut exit,
            );
            next_phase.set(ResearchPhase::Done);
        }
        ResearchPhase::Episodes => {
            let (Some(held), Some(pilots)) = (
                &plan.heldout,
                plan.heldout.as_ref().and_then(|h| h.pilots.as_ref()),
            ) else {
                return;
            };
            let Some(current) = log.pilots.last() else {
                return;
            };
            let given_up = current.frames > pilots.frame_cap();
            if !(current.done(pilots.episodes) || given_up) {
                return;
            }
            let r = current.report(pilots.episodes);
            if given_up {
                warn!(
                    "episodes: {} played only {} of {} episodes in {} frames; reporting what there is",
                    r.autopilot.name(),
                    r.episodes,
                    pilots.episodes,
                    r.frames
                );
            }
            println!("{}", pilot_line(&r));
            let next = log.pilots.len();
            if next < pilots.pilots.len() {
                start_pilot(held, pilots, next, &mut world, &mut log, clock.tick);
                return;
            }
            finish(
                &plan, held, &log, &status, &counters, &settings, clock.tick, &mut exit,
            );
            next_phase.set(ResearchPhase::Done);
        }
        ResearchPhase::Done => {}
    }
}

/// Pilot `index` of `pilots` plays next: the held-out level is loaded again on its seed (the
/// level in play for `eval`), so its episodes are the ones every pilot plays.
fn start_pilot(
    held: &HeldOutPlan,
    pilots: &PilotPlan,
    index: usize,
    world: &mut WorldSwitch,
    log: &mut ResearchLog,
    tick: u64,
) {
    let pilot = pilots.pilots[index];
    let Some(level) = world.level.as_deref() else {
        return;
    };
    let generation = level.generation;
    let spec = held.spec.clone().unwrap_or_else(|| level.spec.clone());
    world.switch(Some(&spec), held.seed, pilot);
    log.pilots.push(PilotTally::new(pilot, generation));
    log.episode_from = Some(tick + PILOT_SETTLE_TICKS);
    log.start_value = None;
    println!(
        "episodes: {} plays {} episodes of '{}' seed {} with learning off",
        pilot.name(),
        pilots.episodes,
        held.level,
        held.seed
    );
}

/// One line of a pilot's figures.
fn pilot_line(r: &report::PilotReport) -> String {
    let f = |v: Option<f64>, d: usize| v.map_or("-".into(), |v| format!("{v:.d$}"));
    format!(
        "episodes: {} reached the goal in {} of {} episodes ({}), ticks to the goal median {} mean {}, median episode {} ticks, mean return {}",
        r.autopilot.name(),
        r.successes,
        r.episodes,
        r.success_rate
            .map_or("-".into(), |s| format!("{:.0}%", s * 100.0)),
        f(r.median_ticks_to_success, 1),
        f(r.mean_ticks_to_success, 1),
        f(r.median_episode_ticks, 1),
        f(r.mean_return, 3)
    )
}

/// Writes the report and ends the app (with an error status when the report failed).
#[allow(clippy::too_many_arguments)]
fn finish(
    plan: &ResearchPlan,
    held: &HeldOutPlan,
    log: &ResearchLog,
    status: &ModelStatus,
    counters: &ModelCounters,
    settings: &WorldModelSettings,
    tick: u64,
    exit: &mut MessageWriter<AppExit>,
) {
    match write_report(plan, held, log, status, counters, settings, tick) {
        Ok(line) => {
            println!("{line}");
            exit.write(AppExit::Success);
        }
        Err(e) => {
            error!("{e}");
            exit.write(AppExit::error());
        }
    }
}

/// `mm:ss`.
fn clock_text(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    format!("{:02}:{:02}", s / 60, s % 60)
}

//! Research runs without a person: learn for `--minutes` while the autopilot explores,
//! print a progress line, then evaluate on a held-out seed with learning off and write
//! `report.json`, PNG strips and the checkpoint to `--report DIR`. `mini-dreamer eval` runs
//! only the evaluation, from a checkpoint.
//!
//! Averages (here, in the dashboard and in the report) leave out ticks whose real frame
//! equals the previous one, for model and baseline alike: copying would be perfect there
//! (infinite PSNR). They are counted as `ticks_unchanged`.

pub mod report;
pub mod strips;
pub mod tally;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use bevy::prelude::*;
use bevy_procgen::{LevelSpec, LoadLevel};
use bevy_world_model::world_model::Frame;
use bevy_world_model::{
    DreamStrip, FinishRecording, FrameCaptured, Learning, ModelClock, PredictionScored,
    ResetLatent, SaveCheckpoint, ScoreTotals, ScoredFrames, WorldModelOutput, WorldModelSettings,
    WorldModelSystems,
};

use crate::autopilot::{Autopilot, AutopilotMode};
use report::{HeldOutReport, LossTrend, Report, RunInfo, SeriesPoint, Throughput};
use tally::{HorizonTally, LossTally, phase_scores};

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
/// Real frames kept for scoring rollouts.
const KEEP_TICKS: u64 = 64;

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

/// Everything collected so far.
#[derive(Resource, Default)]
struct ResearchLog {
    started: Option<Instant>,
    last_line: f64,
    /// Current interval.
    interval: ScoreTotals,
    interval_loss: LossTally,
    interval_infer: (f64, u64),
    last_step: u64,
    /// Whole learning phase.
    training: ScoreTotals,
    series: Vec<SeriesPoint>,
    infer: (f64, u64),
    train_wall_s: f64,
    saved_minute: u64,
    train_steps: u64,
    /// Held-out phase.
    heldout_from: u64,
    heldout_frames: u64,
    heldout: ScoreTotals,
    horizons: HorizonTally,
    reals: BTreeMap<u64, Frame>,
    last_strip: Option<u64>,
    last_dream: Option<(DreamStrip, BTreeMap<u64, Frame>)>,
    samples: Vec<ScoredFrames>,
}

impl ResearchLog {
    fn elapsed(&self) -> f64 {
        self.started.map_or(0.0, |s| s.elapsed().as_secs_f64())
    }
}

fn collect(
    phase: Res<State<ResearchPhase>>,
    plan: Res<ResearchPlan>,
    output: Res<WorldModelOutput>,
    settings: Res<WorldModelSettings>,
    mut log: ResMut<ResearchLog>,
    mut scored: MessageReader<PredictionScored>,
    mut frames: MessageReader<FrameCaptured>,
) {
    let log = &mut *log;
    log.started.get_or_insert_with(Instant::now);
    let ms = f64::from(output.infer_ms);
    log.interval_infer.0 += ms;
    log.interval_infer.1 += 1;
    log.infer.0 += ms;
    log.infer.1 += 1;
    match phase.get() {
        ResearchPhase::Training => {
            if let Some(stats) = &output.trainer
                && stats.step > log.last_step
            {
                log.last_step = stats.step;
                log.interval_loss.push(&stats.loss);
            }
            for s in scored.read().filter(|s| !s.dreamed) {
                log.interval.push(s.model, s.baseline);
                log.training.push(s.model, s.baseline);
            }
            frames.clear();
        }
        ResearchPhase::HeldOut => {
            log.heldout_frames += 1;
            let (w, h) = (settings.config.width, settings.config.height);
            for f in frames.read() {
                if f.tick >= log.heldout_from
                    && let Ok(frame) = Frame::from_rgba(w, h, &f.rgba, w * 4)
                {
                    log.reals.insert(f.tick, frame);
                }
            }
            let target = plan.heldout.as_ref().map_or(1, |p| p.ticks);
            for s in scored
                .read()
                .filter(|s| !s.dreamed && s.tick >= log.heldout_from)
            {
                log.heldout.push(s.model, s.baseline);
                log.interval.push(s.model, s.baseline);
                let every = (target / SAMPLES).max(1);
                if log.heldout.scored.is_multiple_of(every)
                    && (log.samples.len() as u64) < SAMPLES
                    && let Some(pair) = output.last_frames.as_ref().filter(|p| p.tick == s.tick)
                {
                    log.samples.push(pair.clone());
                }
            }
            if let Some(strip) = &output.strip
                && strip.start >= log.heldout_from
                && log.last_strip.is_none_or(|t| t < strip.start)
                && log.horizons.push(strip, &log.reals)
            {
                log.last_strip = Some(strip.start);
                let reals = log
                    .reals
                    .range(strip.start..=strip.start + strip.frames.len() as u64)
                    .map(|(t, f)| (*t, f.clone()))
                    .collect();
                log.last_dream = Some((strip.clone(), reals));
            }
            if let Some((&newest, _)) = log.reals.last_key_value() {
                let keep = newest.saturating_sub(KEEP_TICKS);
                log.reals = log.reals.split_off(&keep);
            }
        }
        ResearchPhase::Done => {
            scored.clear();
            frames.clear();
        }
    }
}

/// Every [`INTERVAL_S`]: a series point (while learning) and a progress line.
fn progress(
    phase: Res<State<ResearchPhase>>,
    plan: Res<ResearchPlan>,
    clock: Res<ModelClock>,
    output: Res<WorldModelOutput>,
    mut log: ResMut<ResearchLog>,
) {
    let t = log.elapsed();
    if t - log.last_line < INTERVAL_S {
        return;
    }
    log.last_line = t;
    let step = output.trainer.as_ref().map_or(0, |s| s.step);
    let rate = output.trainer.as_ref().map_or(0.0, |s| s.steps_per_sec);
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
    output: Res<WorldModelOutput>,
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
            log.train_steps = output.trainer.as_ref().map_or(0, |s| s.step);
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
            let given_up = log.heldout_frames > held.ticks * 4 + 600;
            if !(enough || given_up) {
                return;
            }
            if given_up {
                warn!(
                    "held-out evaluation: only {} of {} ticks scored in {} frames; reporting what there is",
                    log.heldout.scored, held.ticks, log.heldout_frames
                );
            }
            let result = write_report(&plan, held, &log, &output, &settings, clock.tick);
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

/// Writes report.json and the PNGs; returns the summary line.
fn write_report(
    plan: &ResearchPlan,
    held: &HeldOutPlan,
    log: &ResearchLog,
    output: &WorldModelOutput,
    settings: &WorldModelSettings,
    ticks: u64,
) -> Result<String, String> {
    let Some(dir) = &plan.report_dir else {
        return Ok("held-out evaluation done (no --report directory)".into());
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let full_scale = settings.heatmap_full_scale;
    let mut files = Vec::new();
    if let Some(img) = strips::predictions(&log.samples, full_scale) {
        img.save_png(&dir.join("predictions.png"))?;
        files.push("predictions.png".to_string());
    }
    if let Some((strip, reals)) = &log.last_dream
        && let Some(img) = strips::dream(strip, reals, full_scale)
    {
        img.save_png(&dir.join("dream.png"))?;
        files.push("dream.png".to_string());
    }
    for minute in (1..=log.saved_minute).filter(|m| m.is_multiple_of(CHECKPOINT_EVERY_MIN)) {
        let name = format!("model-{minute}min.ckpt");
        if dir.join(&name).exists() {
            files.push(name);
        }
    }
    if dir.join("model.ckpt").exists() {
        files.push("model.ckpt".to_string());
    }
    let heldout = phase_scores(&log.heldout).map(|s| HeldOutReport {
        level: held.level.clone(),
        seed: held.seed,
        unseen: held.unseen,
        model: s.model,
        baseline: s.baseline,
        gain_db: s.gain_db,
        ticks_scored: s.ticks_scored,
        ticks_unchanged: s.ticks_unchanged,
        horizons: log.horizons.scores(),
        weights_step: output.weights_step,
    });
    let losses: Vec<f32> = log
        .series
        .iter()
        .filter_map(|p| p.loss.map(|l| l.total))
        .collect();
    let loss = match (losses.first(), losses.last()) {
        (Some(&first), Some(&last)) if losses.len() >= 2 => Some(LossTrend {
            first,
            last,
            fell: last < first,
        }),
        _ => None,
    };
    let wall_s = log.elapsed();
    let report = Report {
        version: report::REPORT_VERSION,
        kind: if plan.minutes.is_some() {
            "train"
        } else {
            "eval"
        },
        command: plan.command.clone(),
        run: plan.run.clone(),
        config: settings.config.clone(),
        device: output.device.clone(),
        model_source: output.model_source.clone(),
        throughput: Throughput {
            wall_s,
            ticks,
            ticks_per_s: ticks as f64 / wall_s.max(1e-9),
            train_steps: log.train_steps,
            train_steps_per_s: log.train_steps as f64 / log.train_wall_s.max(1e-9),
            frames_sent: output.sent,
            frames_dropped: output.dropped,
            infer_ms_mean: log.infer.0 / log.infer.1.max(1) as f64,
        },
        training: phase_scores(&log.training),
        loss,
        series: log.series.clone(),
        heldout: heldout.clone(),
        files,
        notes: vec![
            "Averages leave out ticks whose real frame equals the previous one (copying would \
             score infinite PSNR); they are counted in ticks_unchanged, for model and baseline \
             alike. PSNR is pooled: computed from the mean MSE."
                .into(),
        ],
    };
    report.write(dir)?;
    let summary = heldout.map_or("no held-out tick was scored".into(), |h| {
        format!(
            "held-out '{}' seed {}: model {:.2} dB vs copy-last-frame {:.2} dB ({:+.2} dB), SSIM {:.3} vs {:.3}, {} ticks ({} unchanged left out)",
            h.level,
            h.seed,
            h.model.psnr,
            h.baseline.psnr,
            h.gain_db,
            h.model.ssim,
            h.baseline.ssim,
            h.ticks_scored,
            h.ticks_unchanged
        )
    });
    Ok(format!(
        "{summary}\nreport written to {}",
        dir.join("report.json").display()
    ))
}

/// `mm:ss`.
fn clock_text(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    format!("{:02}:{:02}", s / 60, s % 60)
}

//! The end of a research run: report.json, the PNG strips, and the summary line.

use bevy_world_model::{ModelCounters, ModelStatus, WorldModelSettings};

use super::log::{ResearchLog, RewardRow};
use super::report::{
    self, EpisodesReport, HeldOutReport, LossTrend, Report, TaskReport, Throughput,
};
use super::tally::phase_scores;
use super::{CHECKPOINT_EVERY_MIN, HeldOutPlan, ResearchPlan, strips};

/// Writes report.json and the PNGs; returns the summary line.
pub(super) fn write_report(
    plan: &ResearchPlan,
    held: &HeldOutPlan,
    log: &ResearchLog,
    status: &ModelStatus,
    counters: &ModelCounters,
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
        img.save_png(&dir.join("predictions.png"))
            .map_err(|e| e.to_string())?;
        files.push("predictions.png".to_string());
    }
    if let Some(strip) = &log.last_dream
        && let Some(img) = strips::dream(strip, full_scale)
    {
        img.save_png(&dir.join("dream.png"))
            .map_err(|e| e.to_string())?;
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
    if !log.heldout_rewards.is_empty() {
        let mut csv = String::from(RewardRow::HEADER);
        for row in &log.heldout_rewards {
            csv.push('\n');
            csv.push_str(&row.csv());
        }
        csv.push('\n');
        std::fs::write(dir.join("rewards.csv"), csv)
            .map_err(|e| format!("cannot write rewards.csv in {}: {e}", dir.display()))?;
        files.push("rewards.csv".to_string());
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
        weights_step: status.weights_step,
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
        config: status.config().clone(),
        device: status.device.clone(),
        model_source: status.model_source.clone(),
        throughput: Throughput {
            wall_s,
            ticks,
            ticks_per_s: ticks as f64 / wall_s.max(1e-9),
            train_steps: log.train_steps,
            train_steps_per_s: log.train_steps as f64 / log.train_wall_s.max(1e-9),
            frames_sent: counters.sent,
            frames_dropped: counters.dropped,
            infer_ms_mean: log.infer.0 / log.infer.1.max(1) as f64,
        },
        training: phase_scores(&log.training),
        loss,
        series: log.series.clone(),
        heldout: heldout.clone(),
        task: match (log.task_training.report(), log.task_heldout.report()) {
            (None, None) => None,
            (training, heldout) => Some(TaskReport { training, heldout }),
        },
        episodes: held
            .pilots
            .as_ref()
            .filter(|_| !log.pilots.is_empty())
            .map(|p| EpisodesReport {
                level: held.level.clone(),
                seed: held.seed,
                episodes_per_pilot: p.episodes,
                time_limit: log.episodes_time_limit,
                pilots: log.pilots.iter().map(|t| t.report(p.episodes)).collect(),
            }),
        files,
        notes: vec![
            "Averages leave out ticks whose real frame equals the previous one (copying would \
             score infinite PSNR); they are counted in ticks_unchanged, for model and baseline \
             alike. PSNR is pooled: computed from the mean MSE."
                .into(),
        ],
    };
    report.write(dir)?;
    let task_line = report
        .task
        .as_ref()
        .and_then(|t| t.heldout)
        .map(|t| {
            let f = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.4}"));
            let seen = t.goal_in_view.map_or(String::new(), |s| {
                format!(
                    " ({:.4} vs {:.4} over the {} ticks with the goal in view)",
                    s.reward_mse, s.mean_reward_mse, s.ticks
                )
            });
            format!(
                "\nheld-out task: {} episodes, {} successes; reward MSE {} vs {} for the mean{seen}, {} of {} events anticipated a tick ahead",
                t.episodes,
                t.successes,
                f(t.reward_mse),
                f(t.mean_reward_mse),
                t.events_anticipated,
                t.reward_events
            )
        })
        .unwrap_or_default();
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
    let pilot_lines: String = report
        .episodes
        .iter()
        .flat_map(|e| &e.pilots)
        .map(|p| format!("\n{}", super::pilot_line(p)))
        .collect();
    Ok(format!(
        "{summary}{task_line}{pilot_lines}\nreport written to {}",
        dir.join("report.json").display()
    ))
}

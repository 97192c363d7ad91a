//! The world model's numbers: scores against the copy-last-frame baseline, trainer, device.
//! Counters come from the diagnostics store, where the plugin publishes them, so that the
//! panel, the curves and any log show the same figures.

use bevy::diagnostic::{DiagnosticPath, DiagnosticsStore};
use bevy_egui::egui;
use bevy_world_model::{
    AgentPolicy, DreamMode, Driver, Episodes, ModelScores, ModelStatus, WorldModelDiagnostics,
    WorldModelSettings,
};

use crate::format::{metric_lines, online_summary};
use crate::history::{History, latest, trend};

/// The plugin's counters as the panel prints them; zero until first published.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Counts {
    /// Milliseconds of the last inference.
    pub infer_ms: f64,
    /// Ticks the current dream has run.
    pub dream_ticks: u64,
    /// Transitions handed to the trainer.
    pub sent: u64,
    /// Transitions dropped because the trainer's queue was full.
    pub dropped: u64,
}

impl Counts {
    /// The newest published values.
    pub(crate) fn read(diagnostics: &DiagnosticsStore) -> Self {
        type D = WorldModelDiagnostics;
        let value = |path: &DiagnosticPath| latest(diagnostics, path).unwrap_or(0.0);
        Self {
            infer_ms: value(&D::INFER_MS),
            dream_ticks: value(&D::DREAM_TICKS) as u64,
            sent: value(&D::SENT) as u64,
            dropped: value(&D::DROPPED) as u64,
        }
    }
}

/// Below this width the scores go under the text instead of beside it.
const SIDE_BY_SIDE_WIDTH: f32 = 800.0;

/// Draws the model's scores and, beside them (below them in a narrow window), which model
/// runs where and how its training goes.
pub(crate) fn model_stats(
    ui: &mut egui::Ui,
    status: &ModelStatus,
    scores: &ModelScores,
    counts: Counts,
    history: &History,
    settings: Option<&WorldModelSettings>,
    mode: Option<DreamMode>,
    episodes: Option<&Episodes>,
    agent: AgentView<'_>,
) {
    if ui.available_width() >= SIDE_BY_SIDE_WIDTH {
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| score_grid(ui, scores));
            ui.add_space(16.0);
            ui.vertical(|ui| {
                task_text(ui, episodes);
                agent_text(ui, agent);
                model_text(ui, status, scores, counts, history, settings, mode);
            });
        });
    } else {
        task_text(ui, episodes);
        agent_text(ui, agent);
        model_text(ui, status, scores, counts, history, settings, mode);
        score_grid(ui, scores);
    }
}

/// The agent's newest decision and who drives, for the numbers panel.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AgentView<'a> {
    /// The newest decision.
    pub policy: Option<&'a AgentPolicy>,
    /// Who chooses the actions, when the game keeps the state.
    pub driver: Option<Driver>,
}

/// The agent's newest decision, when the model has an agent: who drives, its value of the
/// state, the policy's entropy and the probability of each action.
fn agent_text(ui: &mut egui::Ui, agent: AgentView<'_>) {
    let Some(p) = agent.policy.filter(|p| !p.probs.is_empty()) else {
        return;
    };
    let driving = match agent.driver {
        Some(Driver::Agent) => "the agent drives · ",
        Some(Driver::Player) => "you drive · ",
        None => "",
    };
    let probs: Vec<String> = p
        .probs
        .iter()
        .enumerate()
        .map(|(i, q)| format!("a{i} {q:.2}"))
        .collect();
    ui.label(format!(
        "{driving}agent at tick {}{}: value {:+.2} · entropy {:.2} nats · policy {}",
        p.tick,
        if p.dreamed { " (dreamed)" } else { "" },
        p.value,
        p.entropy(),
        probs.join(" · ")
    ));
}

/// The game's rewards and episodes and what the reward head predicted, once the game paid
/// anything or ended an episode (a game without a task never shows it).
fn task_text(ui: &mut egui::Ui, episodes: Option<&Episodes>) {
    let Some(e) = episodes.filter(|e| e.ended > 0 || e.errors.reward_sq > 0.0) else {
        return;
    };
    ui.horizontal_wrapped(|ui| {
        if let Some(last) = &e.last {
            ui.label(format!(
                "reward at tick {}: {:+.2} (predicted {:+.2}, continue {:.2})",
                last.tick, last.reward, last.predicted.reward, last.predicted.cont
            ));
            ui.separator();
        }
        ui.label(format!(
            "episodes {} ({} ended at the goal) · this one {:+.2} in {} ticks",
            e.ended, e.terminal, e.current_return, e.current_ticks
        ));
        if !e.recent.is_empty() {
            ui.separator();
            let returns: Vec<String> = e
                .recent
                .iter()
                .rev()
                .take(8)
                .map(|(r, _, _)| format!("{r:+.1}"))
                .collect();
            ui.label(format!("last returns {}", returns.join(" ")));
        }
        if let (Some(model), Some(mean)) = (e.errors.model_mse(), e.errors.mean_mse()) {
            ui.separator();
            ui.label(format!(
                "reward head MSE {model:.4} vs {mean:.4} predicting the mean · {} of {} rewards of 0.5 or more anticipated",
                e.errors.anticipated, e.errors.events
            ));
        }
    });
}

/// The model against copying the last frame, now and over the recent window, one row per
/// metric.
fn score_grid(ui: &mut egui::Ui, scores: &ModelScores) {
    let Some((model, baseline)) = scores.averages.mean() else {
        ui.label("No prediction scored yet (the first real frames are on their way).");
        return;
    };
    let now = scores
        .last_score
        .as_ref()
        .map(|s| metric_lines(&s.model, &s.baseline));
    egui::Grid::new("metrics").num_columns(3).show(ui, |ui| {
        ui.strong("model vs copy");
        ui.strong(match &scores.last_score {
            Some(s) => format!("now (tick {})", s.tick),
            None => "now".into(),
        });
        ui.strong(format!(
            "mean of the last {} changed ticks",
            scores.averages.len()
        ));
        ui.end_row();
        for (i, (name, line)) in metric_lines(&model, &baseline).into_iter().enumerate() {
            ui.label(name);
            ui.label(now.as_ref().map_or(String::new(), |n| n[i].1.clone()));
            ui.label(line);
            ui.end_row();
        }
    });
}

/// The score trend, the model's source, device and timings, the trainer, the last error.
fn model_text(
    ui: &mut egui::Ui,
    status: &ModelStatus,
    scores: &ModelScores,
    counts: Counts,
    history: &History,
    settings: Option<&WorldModelSettings>,
    mode: Option<DreamMode>,
) {
    if scores.averages.mean().is_some() {
        let (arrow, good) = trend(&history.recent(20, |s| s.psnr.0 - s.psnr.1), true, 0.1);
        let color = if good {
            egui::Color32::LIGHT_GREEN
        } else {
            egui::Color32::from_rgb(255, 120, 100)
        };
        ui.horizontal_wrapped(|ui| {
            ui.label("PSNR gain over copy-last-frame:");
            ui.colored_label(color, arrow);
            ui.label(format!(
                "· the means leave out {} ticks in which the view did not change",
                scores.averages.unchanged
            ));
        });
    }
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("model: {}", status.model_source));
        ui.separator();
        ui.label(format!("device: {}", status.device));
        ui.separator();
        ui.label(online_summary(
            status.start_step,
            status.weights_step,
            status.online_since.elapsed(),
        ));
        ui.separator();
        ui.label(format!("inference {:.1} ms", counts.infer_ms));
        ui.separator();
        let temperature = settings.map_or(1.0, |s| s.temperature);
        if mode == Some(DreamMode::Dreaming) {
            ui.label(format!(
                "DREAM for {} ticks · temperature {temperature:.1}",
                counts.dream_ticks
            ));
        } else {
            ui.label(format!("dream temperature {temperature:.1}"));
        }
    });
    ui.horizontal_wrapped(|ui| match &status.trainer {
        Some(t) => {
            let config = status.config();
            let sampling = format!("{:?}", config.sampling).to_lowercase();
            ui.label(format!(
                "trainer: step {} · {:.2} steps/s · {:.0} frames/s · loss {:.4} (recon {:.4}, pred {:.4}, KL {:.2}, reward {:.3}, continue {:.3}) · grad {:.1} · lr {:.1e}",
                t.step,
                t.steps_per_sec,
                t.frames_per_sec,
                t.loss.total,
                t.loss.recon,
                t.loss.pred,
                t.loss.kl,
                t.loss.reward,
                t.loss.cont,
                t.grad_norm,
                t.lr
            ));
            ui.separator();
            ui.label(format!(
                "replay {}/{} ({} sampling, batch {} x {} steps) · sent {} · dropped {}",
                t.buffer_len,
                t.buffer_capacity,
                sampling,
                config.batch,
                config.seq_len,
                counts.sent,
                counts.dropped
            ));
        }
        None => {
            ui.label(format!(
                "trainer: waiting for frames · sent {} · dropped {}",
                counts.sent, counts.dropped
            ));
        }
    });
    if let Some(e) = &status.last_error {
        ui.colored_label(egui::Color32::from_rgb(255, 120, 100), e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy::diagnostic::{Diagnostic, DiagnosticMeasurement};
    use bevy::platform::time::Instant;

    #[test]
    fn counts_are_the_newest_published_values_and_zero_before() {
        let mut store = DiagnosticsStore::default();
        assert_eq!(Counts::read(&store), Counts::default());
        for (path, value) in [
            (WorldModelDiagnostics::SENT, 40.0),
            (WorldModelDiagnostics::SENT, 41.0),
            (WorldModelDiagnostics::INFER_MS, 1.5),
        ] {
            if store.get(&path).is_none() {
                store.add(Diagnostic::new(path.clone()));
            }
            let time = Instant::now();
            store
                .get_mut(&path)
                .unwrap()
                .add_measurement(DiagnosticMeasurement { time, value });
        }
        let counts = Counts::read(&store);
        assert_eq!((counts.sent, counts.infer_ms), (41, 1.5));
        assert_eq!((counts.dropped, counts.dream_ticks), (0, 0));
    }
}

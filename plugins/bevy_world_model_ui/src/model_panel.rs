//! The world model's numbers: scores against the copy-last-frame baseline, trainer, device.

use bevy_egui::egui;
use bevy_world_model::{DreamMode, WorldModelOutput, WorldModelSettings};

use crate::format::{metric_lines, online_summary};
use crate::history::{History, trend};

/// Draws the model's scores and trainer state.
pub fn model_stats(
    ui: &mut egui::Ui,
    output: &WorldModelOutput,
    history: &History,
    settings: Option<&WorldModelSettings>,
    mode: Option<DreamMode>,
) {
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("model: {}", output.model_source));
        ui.separator();
        ui.label(format!("device: {}", output.device));
        ui.separator();
        ui.label(online_summary(
            output.start_step,
            output.weights_step,
            output.online_since.elapsed(),
        ));
        ui.separator();
        ui.label(format!("inference {:.1} ms", output.infer_ms));
        ui.separator();
        let temperature = settings.map_or(1.0, |s| s.temperature);
        if mode == Some(DreamMode::Dreaming) {
            ui.label(format!(
                "DREAM for {} ticks · temperature {temperature:.1} ([ ])",
                output.dream_ticks
            ));
        } else {
            ui.label(format!("dream temperature {temperature:.1} ([ ])"));
        }
    });
    ui.horizontal_wrapped(|ui| match &output.trainer {
        Some(t) => {
            ui.label(format!(
                "trainer: step {} · {:.2} steps/s · {:.0} frames/s · loss {:.4} (recon {:.4}, pred {:.4}, KL {:.2}) · grad {:.1} · lr {:.1e}",
                t.step,
                t.steps_per_sec,
                t.frames_per_sec,
                t.loss.total,
                t.loss.recon,
                t.loss.pred,
                t.loss.kl,
                t.grad_norm,
                t.lr
            ));
            ui.separator();
            ui.label(format!(
                "replay {}/{} ({} sampling, batch {} x {} steps) · sent {} · dropped {}",
                t.buffer_len,
                t.buffer_capacity,
                settings.map_or("?".to_string(), |s| format!("{:?}", s.config.sampling).to_lowercase()),
                settings.map_or(0, |s| s.config.batch),
                settings.map_or(0, |s| s.config.seq_len),
                output.sent,
                output.dropped
            ));
        }
        None => {
            ui.label(format!(
                "trainer: waiting for frames · sent {} · dropped {}",
                output.sent, output.dropped
            ));
        }
    });
    match output.averages.mean() {
        Some((model, baseline)) => {
            let (arrow, good) = trend(&history.recent(20, |s| s.psnr.0 - s.psnr.1), true, 0.1);
            let color = if good {
                egui::Color32::LIGHT_GREEN
            } else {
                egui::Color32::from_rgb(255, 120, 100)
            };
            ui.horizontal(|ui| {
                ui.label(format!(
                    "Model vs copy-last-frame: now (tick {}) and mean of the last {} ticks in which the view changed ({} unchanged skipped); gain trend",
                    output.last_score.as_ref().map_or(0, |s| s.tick),
                    output.averages.len(),
                    output.averages.unchanged
                ));
                ui.colored_label(color, arrow);
            });
            let now = output
                .last_score
                .as_ref()
                .map(|s| metric_lines(&s.model, &s.baseline));
            egui::Grid::new("metrics").num_columns(3).show(ui, |ui| {
                for (i, (name, line)) in metric_lines(&model, &baseline).into_iter().enumerate() {
                    ui.label(name);
                    ui.label(now.as_ref().map_or(String::new(), |n| n[i].1.clone()));
                    ui.label(line);
                    ui.end_row();
                }
            });
        }
        None => {
            ui.label("No prediction scored yet (the first real frames are on their way).");
        }
    }
    if let Some(e) = &output.last_error {
        ui.colored_label(egui::Color32::from_rgb(255, 120, 100), e);
    }
}

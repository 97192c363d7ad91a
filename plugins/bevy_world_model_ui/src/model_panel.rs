//! The world model's numbers: scores against the copy-last-frame baseline, trainer, device.

use bevy_egui::egui;
use bevy_world_model::{DreamMode, WorldModelOutput, WorldModelSettings};

use crate::format::metric_lines;

/// Draws the model's scores and trainer state.
pub fn model_stats(
    ui: &mut egui::Ui,
    output: &WorldModelOutput,
    settings: Option<&WorldModelSettings>,
    mode: Option<DreamMode>,
) {
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("model: {}", output.model_source));
        ui.separator();
        ui.label(format!("device: {}", output.device));
        ui.separator();
        ui.label(format!("weights of step {}", output.weights_step));
        ui.separator();
        ui.label(format!("inference {:.1} ms", output.infer_ms));
        if mode == Some(DreamMode::Dreaming) {
            ui.separator();
            ui.label(format!(
                "dream: {} ticks, temperature {:.1}",
                output.dream_ticks,
                settings.map_or(1.0, |s| s.temperature)
            ));
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
                "replay {}/{} · sent {} · dropped {}",
                t.buffer_len, t.buffer_capacity, output.sent, output.dropped
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
            ui.label(format!(
                "Model vs copy-last-frame, mean of the last {} ticks in which the view changed ({} unchanged skipped):",
                output.averages.len(),
                output.averages.unchanged
            ));
            egui::Grid::new("metrics").num_columns(2).show(ui, |ui| {
                for (name, line) in metric_lines(&model, &baseline) {
                    ui.label(name);
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

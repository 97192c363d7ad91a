//! The training curves (egui_plot) and the latent-state view.

use bevy_egui::egui;
use bevy_world_model::LatentInfo;
use egui_plot::{Legend, Line, Plot};

use crate::history::History;

/// Height of one plot, pixels.
const PLOT_HEIGHT: f32 = 46.0;

fn plot(ui: &mut egui::Ui, id: &str, lines: Vec<(&str, Vec<[f64; 2]>)>) {
    Plot::new(id)
        .height(PLOT_HEIGHT)
        .legend(Legend::default())
        .show_x(false)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .show(ui, |p| {
            for (name, points) in lines {
                p.line(Line::new(name, points));
            }
        });
}

/// Loss parts, PSNR and SSIM against the baseline, gradient norm, throughput.
pub(crate) fn curves(ui: &mut egui::Ui, h: &History) {
    ui.label("Loss per pixel (recon, pred) and KL / 100");
    plot(
        ui,
        "loss",
        vec![
            ("recon", h.series(|s| s.recon)),
            ("pred", h.series(|s| s.pred)),
            ("KL/100", h.series(|s| s.kl / 100.0)),
        ],
    );
    ui.label("PSNR dB: model vs copy-last-frame");
    plot(
        ui,
        "psnr",
        vec![
            ("model", h.series(|s| s.psnr.0)),
            ("copy", h.series(|s| s.psnr.1)),
        ],
    );
    ui.label("SSIM: model vs copy-last-frame");
    plot(
        ui,
        "ssim",
        vec![
            ("model", h.series(|s| s.ssim.0)),
            ("copy", h.series(|s| s.ssim.1)),
        ],
    );
    ui.label("Gradient norm, learning rate x 1e6");
    plot(
        ui,
        "grad",
        vec![
            ("grad", h.series(|s| s.grad_norm)),
            ("lr x1e6", h.series(|s| s.lr * 1e6)),
        ],
    );
    ui.label("Throughput: train steps/s, inference ms, fps / 10, replay fill x 10");
    plot(
        ui,
        "speed",
        vec![
            ("steps/s", h.series(|s| s.steps_per_sec)),
            ("infer ms", h.series(|s| s.infer_ms)),
            ("fps/10", h.series(|s| s.fps / 10.0)),
            ("replay x10", h.series(|s| s.replay_fill * 10.0)),
        ],
    );
}

/// Code usage, deterministic norm and the current code as a grid (one row per group, the
/// chosen class lit).
pub(crate) fn latent_view(ui: &mut egui::Ui, info: Option<&LatentInfo>) {
    let Some(info) = info else {
        ui.label("Latent: no state yet");
        return;
    };
    ui.label(format!(
        "Latent: {}/{} classes used, usage entropy {:.2} of {:.2} nats, |h| {:.2}",
        info.active,
        info.total,
        info.usage_entropy,
        (info.classes.max(1) as f32).ln(),
        info.h_norm
    ));
    let cell = 5.0;
    let (w, h) = (info.classes as f32 * cell, info.code.len() as f32 * cell);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(w, h), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, egui::Color32::from_gray(30));
    for (g, &c) in info.code.iter().enumerate() {
        let min = rect.min + egui::vec2(c as f32 * cell, g as f32 * cell);
        painter.rect_filled(
            egui::Rect::from_min_size(min, egui::vec2(cell, cell)),
            0.0,
            egui::Color32::from_rgb(120, 200, 255),
        );
    }
}

//! The training curves (egui_plot) and the latent-state view, sized to the curves panel:
//! the plots share the height the latent view leaves, so they grow with the window. Each
//! plot's series are named in its title, in their colours, instead of in a legend, which
//! would cover a short plot's curves.

use bevy_egui::egui;
use bevy_world_model::LatentInfo;
use egui_plot::{Line, Plot};

use crate::history::History;
use crate::layout::Metrics;

/// Plots in the panel (one more while the model has an agent).
const PLOTS: usize = 5;
/// The shortest a plot gets; below it the panel scrolls.
const MIN_PLOT_HEIGHT: f32 = 40.0;
/// The tallest a plot gets, however tall the window.
const MAX_PLOT_HEIGHT: f32 = 220.0;
/// The latent grid's largest cell and the largest share of the panel's width it takes.
const MAX_CELL: f32 = 5.0;
const LATENT_SHARE: f32 = 0.4;

const RED: egui::Color32 = egui::Color32::from_rgb(235, 110, 90);
const BLUE: egui::Color32 = egui::Color32::from_rgb(100, 160, 255);
const GREEN: egui::Color32 = egui::Color32::from_rgb(130, 210, 120);
const YELLOW: egui::Color32 = egui::Color32::from_rgb(230, 190, 80);

/// One curve: its name, colour and points.
type Series<'a> = (&'a str, egui::Color32, Vec<[f64; 2]>);

/// A title line naming the series in their colours, and the plot under it.
fn plot(ui: &mut egui::Ui, id: &str, title: &str, height: f32, series: Vec<Series<'_>>) {
    ui.horizontal_wrapped(|ui| {
        ui.label(title);
        for (name, color, _) in &series {
            ui.colored_label(*color, *name);
        }
    });
    Plot::new(id)
        .height(height)
        .show_x(false)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .show(ui, |p| {
            for (name, color, points) in series {
                p.line(Line::new(name, points).color(color));
            }
        });
}

/// Height of each of `plots` plots, so that they (and their titles) fill `room` points.
fn plot_height(room: f32, m: Metrics, plots: usize) -> f32 {
    // Each plot: its title line, the plot, the spacing after it; a point spare for rounding.
    (room / plots.max(1) as f32 - m.line - m.gap.y - 1.0).clamp(MIN_PLOT_HEIGHT, MAX_PLOT_HEIGHT)
}

/// Loss parts, PSNR and SSIM against the baseline, gradient norm, throughput and, when the
/// model has an agent, its losses and imagined return, sharing the height left in `ui`.
pub(crate) fn curves(ui: &mut egui::Ui, h: &History) {
    let agent = h.samples.iter().any(|s| s.actor_loss.is_finite());
    let plots = PLOTS + usize::from(agent);
    let height = plot_height(ui.available_height(), Metrics::of(ui), plots);
    plot(
        ui,
        "loss",
        "Loss per pixel:",
        height,
        vec![
            ("recon", RED, h.series(|s| s.recon)),
            ("pred", BLUE, h.series(|s| s.pred)),
            ("KL / 100", GREEN, h.series(|s| s.kl / 100.0)),
        ],
    );
    plot(
        ui,
        "psnr",
        "PSNR dB:",
        height,
        vec![
            ("model", RED, h.series(|s| s.psnr.0)),
            ("copy last frame", BLUE, h.series(|s| s.psnr.1)),
        ],
    );
    plot(
        ui,
        "ssim",
        "SSIM:",
        height,
        vec![
            ("model", RED, h.series(|s| s.ssim.0)),
            ("copy last frame", BLUE, h.series(|s| s.ssim.1)),
        ],
    );
    plot(
        ui,
        "grad",
        "Gradient:",
        height,
        vec![
            ("norm", RED, h.series(|s| s.grad_norm)),
            ("learning rate x 1e6", BLUE, h.series(|s| s.lr * 1e6)),
        ],
    );
    plot(
        ui,
        "speed",
        "Speed:",
        height,
        vec![
            ("train steps/s", RED, h.series(|s| s.steps_per_sec)),
            ("infer ms", BLUE, h.series(|s| s.infer_ms)),
            ("fps / 10", GREEN, h.series(|s| s.fps / 10.0)),
            ("replay x 10", YELLOW, h.series(|s| s.replay_fill * 10.0)),
        ],
    );
    if agent {
        plot(
            ui,
            "agent",
            "Agent:",
            height,
            vec![
                ("actor loss", RED, h.series(|s| s.actor_loss)),
                ("critic loss", BLUE, h.series(|s| s.critic_loss)),
                ("imagined return", GREEN, h.series(|s| s.imagined_return)),
            ],
        );
    }
}

/// The current code as a grid (one row per group, the chosen class lit), with code usage
/// and the deterministic state's norm beside it.
pub(crate) fn latent_view(ui: &mut egui::Ui, info: Option<&LatentInfo>) {
    let Some(info) = info else {
        ui.label("Latent: no state yet");
        return;
    };
    let (classes, groups) = (info.classes.max(1) as f32, info.code.len().max(1) as f32);
    let cell = (ui.available_width() * LATENT_SHARE / classes).clamp(1.0, MAX_CELL);
    ui.horizontal_top(|ui| {
        let (w, h) = (classes * cell, groups * cell);
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
        ui.vertical(|ui| {
            ui.label("Latent state");
            ui.label(format!("{}/{} classes used", info.active, info.total));
            ui.label(format!(
                "usage entropy {:.2} of {:.2} nats",
                info.usage_entropy,
                classes.ln()
            ));
            ui.label(format!("|h| {:.2}", info.h_norm));
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: Metrics = Metrics {
        line: 21.0,
        gap: egui::Vec2::new(8.0, 3.0),
    };

    #[test]
    fn plots_share_the_room_within_bounds() {
        let h = plot_height(500.0, M, PLOTS);
        assert!(PLOTS as f32 * (M.line + h + M.gap.y) <= 500.0);
        assert!(h > 70.0, "{h}");
        let with_agent = plot_height(500.0, M, PLOTS + 1);
        assert!((PLOTS + 1) as f32 * (M.line + with_agent + M.gap.y) <= 500.0);
        assert!(with_agent < h);
        assert_eq!(
            plot_height(100.0, M, PLOTS),
            MIN_PLOT_HEIGHT,
            "a small window scrolls"
        );
        assert_eq!(plot_height(10_000.0, M, PLOTS), MAX_PLOT_HEIGHT);
    }
}

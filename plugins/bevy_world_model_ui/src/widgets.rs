//! Small drawing helpers the panels share, kept out of the panels so each panel reads as
//! layout only.

use bevy_egui::egui;
use bevy_world_model::world_model::metrics::heat_color;

/// A panel frame without a background fill: the UI camera's clear colour is the background.
/// On a software rasteriser every filled full-window panel is one more full-window blend
/// on the CPU.
pub(crate) fn unfilled() -> egui::Frame {
    egui::Frame::NONE.inner_margin(6)
}

/// Paints the whole texture `id` into `rect`, if the last full redraw laid one out: how a
/// partial frame refreshes an image over the pixels kept from that redraw (`painter` clips
/// as the full redraw did).
pub(crate) fn repaint(painter: &egui::Painter, id: egui::TextureId, rect: Option<egui::Rect>) {
    if let Some(rect) = rect {
        let uv = egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));
        painter.image(id, rect, uv, egui::Color32::WHITE);
    }
}

/// The heatmap's colour scale, 0 to `full` grey levels, as a bar `width` points wide.
pub(crate) fn heat_legend(ui: &mut egui::Ui, full: f64, width: f32) {
    ui.horizontal(|ui| {
        ui.label("0");
        let (rect, _) = ui.allocate_exact_size(egui::vec2(width, 10.0), egui::Sense::hover());
        let painter = ui.painter_at(rect);
        let steps = 60;
        for i in 0..steps {
            let [r, g, b] = heat_color(i as f64 / (steps - 1) as f64);
            let x0 = rect.min.x + rect.width() * i as f32 / steps as f32;
            let cell = egui::Rect::from_min_size(
                egui::pos2(x0, rect.min.y),
                egui::vec2(rect.width() / steps as f32 + 0.5, rect.height()),
            );
            painter.rect_filled(cell, 0.0, egui::Color32::from_rgb(r, g, b));
        }
        ui.label(format!("≥{full:.0} (of 255)"));
    });
}

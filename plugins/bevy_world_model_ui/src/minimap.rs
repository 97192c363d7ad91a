//! The minimap: level grid, agent position and heading, painted with egui shapes.

use bevy::math::{IVec2, Vec3};
use bevy_egui::egui;
use bevy_procgen::CurrentLevel;

/// Paints `level` into a square of `size` points, with the agent at `pose`
/// (world position, forward direction) as a dot and a heading line, so a viewer knows what
/// the agent is looking at. Public so a game's own panels can show the same map.
pub fn draw_minimap(
    ui: &mut egui::Ui,
    level: &CurrentLevel,
    pose: Option<(Vec3, Vec3)>,
    size: f32,
) {
    let grid = &level.grid;
    let cells = grid.width().max(grid.height()) as f32;
    let cell = size / cells;
    let (response, painter) = ui.allocate_painter(egui::vec2(size, size), egui::Sense::hover());
    let origin = response.rect.min;
    painter.rect_filled(response.rect, 2.0, egui::Color32::from_gray(30));
    let wall = egui::Color32::from_rgb(150, 140, 130);
    for z in 0..grid.height() as i32 {
        for x in 0..grid.width() as i32 {
            if grid.is_wall(IVec2::new(x, z)) {
                let min = origin + egui::vec2(x as f32 * cell, z as f32 * cell);
                painter.rect_filled(
                    egui::Rect::from_min_size(min, egui::vec2(cell, cell)),
                    0.0,
                    wall,
                );
            }
        }
    }
    if let Some((pos, forward)) = pose {
        let c = level.world_to_cells(pos);
        let p = origin + egui::vec2(c.x * cell, c.y * cell);
        let dir = egui::vec2(forward.x, forward.z).normalized();
        let agent = egui::Color32::from_rgb(255, 80, 60);
        painter.line_segment([p, p + dir * cell * 1.6], egui::Stroke::new(2.0, agent));
        painter.circle_filled(p, (cell * 0.35).max(3.0), agent);
    }
}

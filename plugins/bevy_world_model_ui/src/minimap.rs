//! The minimap: level grid, the task's goals, agent position and heading, painted with egui
//! shapes.

use bevy::math::{IVec2, Vec3};
use bevy_egui::egui;
use bevy_procgen::spec::Rgb;
use bevy_procgen::{CurrentLevel, CurrentTask, GoalKind};

/// Paints `level` into a square of `size` points, with the goals of `task` not yet taken in
/// the level's goal and pickup colours (when the task is this level's), and the agent at
/// `pose` (world position, forward direction) as a dot and a heading line, so a viewer knows
/// what the agent is looking at and what it is after. Public so a game's own panels can show
/// the same map.
pub fn draw_minimap(
    ui: &mut egui::Ui,
    level: &CurrentLevel,
    task: Option<&CurrentTask>,
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
    let colour = |(r, g, b): Rgb| {
        let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        egui::Color32::from_rgb(byte(r), byte(g), byte(b))
    };
    let palette = &level.spec.palette;
    let goals = task
        .filter(|t| t.generation == level.generation)
        .map(|t| t.run.goals())
        .unwrap_or_default();
    for goal in goals.iter().filter(|g| !g.taken) {
        let centre = origin
            + egui::vec2(
                (goal.cell.x as f32 + 0.5) * cell,
                (goal.cell.y as f32 + 0.5) * cell,
            );
        match goal.kind {
            GoalKind::Goal => {
                let side = (cell * 0.8).max(5.0);
                painter.rect_filled(
                    egui::Rect::from_center_size(centre, egui::vec2(side, side)),
                    1.0,
                    colour(palette.goal),
                );
            }
            GoalKind::Pickup => {
                painter.circle_filled(centre, (cell * 0.3).max(2.5), colour(palette.pickup));
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

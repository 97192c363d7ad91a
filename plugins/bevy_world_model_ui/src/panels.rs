//! The dashboard's panels: a status bar on top, the model's numbers at the bottom, the
//! curves on the right and the images in the middle. [`draw_panels`] runs in the egui pass
//! and does what [`DashboardRefresh`] decided: a full layout, or only repainting the images
//! that moved.
//!
//! Text and scores come from the world model's resources, counters and timings from the
//! diagnostics store; without a world model only the status bar, the view and the minimap
//! are drawn.

use std::time::Instant;

use bevy::diagnostic::{DiagnosticsStore, FrameTimeDiagnosticsPlugin};
use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiTextureHandle, egui};
use bevy_procgen::{CurrentLevel, MinimapFocus};
use bevy_world_model::strip::HORIZON;
use bevy_world_model::{
    CaptureImage, DreamMode, LatestFrames, Learning, ModelClock, ModelImages, ModelScores,
    ModelStatus, NoticeLevel, WorldModelCamera, WorldModelNotice, WorldModelSettings,
};

use crate::curves;
use crate::history::History;
use crate::minimap::draw_minimap;
use crate::model_panel::{self, Counts};
use crate::refresh::{DashboardRefresh, LiveRects, Redraw};
use crate::settings::UiSettings;
use crate::toast::Toast;
use crate::widgets::{heat_legend, repaint, unfilled, view_size};

/// CPU milliseconds the dashboard's egui pass takes, smoothed, shown in the status bar so
/// the dashboard's own cost is never a guess. Layout and tessellation are counted when
/// bevy_egui ends the pass; this measures building the panels.
#[derive(Resource, Default, Debug, Clone, Copy)]
pub struct DashboardCost {
    /// Exponential moving average, milliseconds (a plain mean over the first frames, so
    /// the first reading is not pulled towards zero).
    pub build_ms: f64,
    /// Frames measured.
    pub frames: u64,
}

impl DashboardCost {
    fn record(&mut self, ms: f64) {
        self.frames += 1;
        let alpha = if self.frames < 10 {
            1.0 / self.frames as f64
        } else {
            0.05
        };
        self.build_ms += alpha * (ms - self.build_ms);
    }
}

/// The world model's state, when the game runs one.
#[derive(SystemParam)]
pub(crate) struct Model<'w> {
    images: Option<Res<'w, ModelImages>>,
    status: Option<Res<'w, ModelStatus>>,
    scores: Option<Res<'w, ModelScores>>,
    settings: Option<Res<'w, WorldModelSettings>>,
    learning: Option<Res<'w, State<Learning>>>,
    mode: Option<Res<'w, State<DreamMode>>>,
}

/// The dashboard's own state.
#[derive(SystemParam)]
pub(crate) struct Dashboard<'w> {
    settings: Res<'w, UiSettings>,
    toast: Res<'w, Toast>,
    time: Res<'w, Time>,
    history: Res<'w, History>,
    diagnostics: Res<'w, DiagnosticsStore>,
    cost: ResMut<'w, DashboardCost>,
    refresh: ResMut<'w, DashboardRefresh>,
}

/// The model's images as egui textures.
#[derive(Clone, Copy)]
struct ModelTextures {
    prediction: egui::TextureId,
    heatmap: egui::TextureId,
    strip: egui::TextureId,
}

/// Every image the dashboard shows, as egui textures.
#[derive(Clone, Copy)]
struct Textures {
    /// The agent's view and the camera it comes from.
    view: Option<(egui::TextureId, WorldModelCamera)>,
    /// The model's images, when a world model runs.
    model: Option<ModelTextures>,
}

/// What the status bar shows besides the help line and the toast.
struct StatusLine<'a> {
    level: Option<&'a CurrentLevel>,
    fps: f64,
    build_ms: f64,
    full_share: f64,
    tick: u64,
    newest_frame: Option<u64>,
}

/// What the central panel shows.
struct Central<'a> {
    settings: &'a UiSettings,
    textures: Textures,
    scores: Option<&'a ModelScores>,
    level: Option<&'a CurrentLevel>,
    /// The minimap's focus: world position and forward direction.
    pose: Option<(Vec3, Vec3)>,
    learning: bool,
    dreaming: bool,
    heatmap_full_scale: f64,
}

/// Draws the dashboard, in full or only the images that moved (see [`crate::refresh`]).
pub(crate) fn draw_panels(
    mut contexts: EguiContexts,
    cameras: Query<(&CaptureImage, &WorldModelCamera)>,
    latest: Res<LatestFrames>,
    clock: Res<ModelClock>,
    level: Option<Res<CurrentLevel>>,
    focus: Query<&GlobalTransform, With<MinimapFocus>>,
    model: Model,
    mut dash: Dashboard,
) -> Result {
    let started = Instant::now();
    let textures = Textures {
        view: cameras.iter().next().map(|(img, cam)| {
            (
                contexts.add_image(EguiTextureHandle::Weak(img.0.id())),
                *cam,
            )
        }),
        model: model.images.as_ref().map(|images| ModelTextures {
            prediction: contexts.add_image(EguiTextureHandle::Weak(images.prediction.id())),
            heatmap: contexts.add_image(EguiTextureHandle::Weak(images.heatmap.id())),
            strip: contexts.add_image(EguiTextureHandle::Weak(images.strip.id())),
        }),
    };
    let ctx = contexts.ctx_mut()?;
    let redraw = dash.refresh.redraw;
    if redraw != Redraw::Full {
        repaint_moved(ctx, textures, dash.refresh.rects, redraw);
        dash.cost.record(started.elapsed().as_secs_f64() * 1000.0);
        return Ok(());
    }
    dash.refresh.rects = LiveRects::default();
    let mut root = egui::Ui::new(
        ctx.clone(),
        "mini-dreamer-root".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    let line = StatusLine {
        level: level.as_deref(),
        fps: dash
            .diagnostics
            .get(&FrameTimeDiagnosticsPlugin::FPS)
            .and_then(|d| d.smoothed())
            .unwrap_or(0.0),
        build_ms: dash.cost.build_ms,
        full_share: dash.refresh.full_share(),
        tick: clock.tick,
        newest_frame: latest.0.values().map(|f| f.tick).max(),
    };
    let toast = dash.toast.showing(dash.time.elapsed_secs_f64());
    egui::Panel::top("status")
        .frame(unfilled())
        .show(&mut root, |ui| {
            status_bar(ui, &line, &dash.settings.help, toast);
        });
    if let (Some(status), Some(scores)) = (model.status.as_deref(), model.scores.as_deref()) {
        let counts = Counts::read(&dash.diagnostics);
        egui::Panel::bottom("model")
            .frame(unfilled())
            .show(&mut root, |ui| {
                model_panel::model_stats(
                    ui,
                    status,
                    scores,
                    counts,
                    &dash.history,
                    model.settings.as_deref(),
                    model.mode.as_ref().map(|m| *m.get()),
                );
            });
        egui::Panel::right("curves")
            .frame(unfilled())
            .exact_size(380.0)
            .show(&mut root, |ui| {
                curves::latent_view(ui, status.latent.as_ref());
                curves::curves(ui, &dash.history);
            });
    }
    let central = Central {
        settings: &dash.settings,
        textures,
        scores: model.scores.as_deref(),
        level: level.as_deref(),
        pose: focus.iter().next().map(|t| {
            let (_, rot, pos) = t.to_scale_rotation_translation();
            (pos, rot * Vec3::NEG_Z)
        }),
        learning: model
            .learning
            .as_ref()
            .is_none_or(|l| *l.get() == Learning::On),
        dreaming: model
            .mode
            .as_ref()
            .is_some_and(|m| *m.get() == DreamMode::Dreaming),
        heatmap_full_scale: model
            .settings
            .as_ref()
            .map_or(64.0, |s| s.heatmap_full_scale),
    };
    let rects = &mut dash.refresh.rects;
    egui::CentralPanel::default()
        .frame(unfilled())
        .show(&mut root, |ui| central_panel(ui, &central, rects));
    dash.cost.record(started.elapsed().as_secs_f64() * 1000.0);
    Ok(())
}

/// A partial frame: the window still shows the last full redraw, so paint what moved over
/// it, where that redraw laid it out.
fn repaint_moved(ctx: &egui::Context, textures: Textures, rects: LiveRects, redraw: Redraw) {
    let painter = ctx.layer_painter(egui::LayerId::background());
    if let Some((id, _)) = textures.view {
        repaint(&painter, id, rects.view);
    }
    if redraw == Redraw::Images
        && let Some(model) = textures.model
    {
        repaint(&painter, model.prediction, rects.prediction);
        repaint(&painter, model.heatmap, rects.heatmap);
        repaint(&painter, model.strip, rects.strip);
    }
}

/// The toast's colour: errors must stand out from confirmations.
fn notice_color(level: NoticeLevel) -> egui::Color32 {
    match level {
        NoticeLevel::Info => egui::Color32::LIGHT_GREEN,
        NoticeLevel::Error => egui::Color32::from_rgb(255, 120, 100),
    }
}

/// Level, frame rate, the dashboard's own cost, ticks; then the help line (if the game
/// gave one) and the toast.
fn status_bar(ui: &mut egui::Ui, line: &StatusLine, help: &str, toast: Option<&WorldModelNotice>) {
    ui.horizontal(|ui| {
        ui.strong("Mini Dreamer");
        ui.separator();
        if let Some(level) = line.level {
            ui.label(format!("level '{}' seed {}", level.spec.name, level.seed));
            ui.separator();
        }
        ui.label(format!("{:.0} fps", line.fps));
        ui.separator();
        ui.label(format!(
            "dashboard {:.1} ms/frame, {:.0}% redrawn",
            line.build_ms,
            100.0 * line.full_share
        ));
        ui.separator();
        ui.label(format!("tick {}", line.tick));
        ui.separator();
        ui.label(match line.newest_frame {
            Some(t) => format!(
                "frame readback tick {t} (lag {})",
                line.tick.saturating_sub(t)
            ),
            None => "waiting for the first readback".into(),
        });
    });
    if !help.is_empty() {
        ui.label(help);
    }
    if let Some(notice) = toast {
        ui.colored_label(notice_color(notice.level), &notice.text);
    }
}

/// The agent's view and the prediction side by side with the dream strip below; the
/// heatmap and the minimap to their right. Records where the images landed in `rects`.
fn central_panel(ui: &mut egui::Ui, c: &Central, rects: &mut LiveRects) {
    let scale = c.settings.scale;
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.horizontal_top(|ui| {
                ui.vertical(|ui| match c.textures.view {
                    Some((id, cam)) => {
                        ui.label(format!("Agent view {}x{}", cam.width, cam.height));
                        let shown =
                            ui.image(egui::load::SizedTexture::new(id, view_size(cam, scale)));
                        rects.view = Some(shown.rect);
                    }
                    None => {
                        ui.label("No camera is tagged with WorldModelCamera.");
                    }
                });
                if let (Some(model), Some((_, cam))) = (c.textures.model, c.textures.view) {
                    ui.vertical(|ui| {
                        ui.label(format!(
                            "Predicted next frame · {} · {}",
                            if c.learning { "LEARNING" } else { "PAUSED" },
                            if c.dreaming { "DREAM" } else { "OBSERVING" }
                        ));
                        let shown = ui.image(egui::load::SizedTexture::new(
                            model.prediction,
                            view_size(cam, scale),
                        ));
                        rects.prediction = Some(shown.rect);
                    });
                }
            });
            if let (Some(scores), Some(model), Some((_, cam))) =
                (c.scores, c.textures.model, c.textures.view)
            {
                rects.strip = Some(dream_strip(
                    ui,
                    scores,
                    model.strip,
                    cam.width as f32,
                    cam.height as f32,
                ));
            }
        });
        ui.vertical(|ui| {
            if c.settings.show_heatmap
                && let Some(model) = c.textures.model
            {
                ui.label("Error |prediction - real|");
                let shown = ui.image(egui::load::SizedTexture::new(model.heatmap, [192.0, 192.0]));
                rects.heatmap = Some(shown.rect);
                heat_legend(ui, c.heatmap_full_scale);
            }
            if c.settings.show_minimap
                && let Some(level) = c.level
            {
                ui.label("Minimap");
                let side = if c.settings.show_heatmap {
                    200.0
                } else {
                    240.0
                };
                draw_minimap(ui, level, c.pose, side);
            }
        });
    });
}

/// The next frames imagined for the action held, with PSNR per horizon: how far ahead the
/// model's imagination stays useful. Returns where the strip's image landed.
fn dream_strip(
    ui: &mut egui::Ui,
    scores: &ModelScores,
    id: egui::TextureId,
    width: f32,
    height: f32,
) -> egui::Rect {
    let scale = 1.25;
    let label = match &scores.strip {
        Some(s) => format!(
            "Dream strip: the {HORIZON} frames after tick {} imagined for the action held (open loop, prior only)",
            s.start
        ),
        None => "Dream strip: building (one imagined frame per tick)".into(),
    };
    ui.label(label);
    let shown = ui.image(egui::load::SizedTexture::new(
        id,
        [width * HORIZON as f32 * scale, height * scale],
    ));
    let mean = scores.horizons.psnr();
    egui::Grid::new("horizons").show(ui, |ui| {
        ui.label("PSNR dB");
        for k in 0..HORIZON {
            ui.label(format!("t+{}", k + 1));
        }
        ui.end_row();
        ui.label("this strip");
        for k in 0..HORIZON {
            let now = scores.strip.as_ref().and_then(|s| s.psnr(k));
            ui.label(now.map_or("…".into(), |p| format!("{p:.1}")));
        }
        ui.end_row();
        ui.label(format!("last {}", scores.horizons.len()));
        for k in 0..HORIZON {
            ui.label(
                mean.get(k)
                    .copied()
                    .flatten()
                    .map_or("…".into(), |p| format!("{p:.1}")),
            );
        }
        ui.end_row();
    });
    shown.rect
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboard_cost_is_a_plain_mean_at_first() {
        let mut cost = DashboardCost::default();
        cost.record(2.0);
        assert_eq!(cost.build_ms, 2.0);
        cost.record(4.0);
        assert_eq!((cost.build_ms, cost.frames), (3.0, 2));
    }
}

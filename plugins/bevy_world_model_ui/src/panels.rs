//! The dashboard's panels: a status bar on top, the model's numbers at the bottom, the
//! curves on the right and the images in the middle. [`draw_panels`] runs in the egui pass
//! and does what [`DashboardRefresh`] decided: a full layout, or only repainting the images
//! that moved.
//!
//! Everything is sized from the window, so the dashboard fits any window and uses a large
//! one: the bottom panel is as tall as its content, up to [`BOTTOM_SHARE`] of the window
//! (it scrolls beyond); the curves panel is [`CURVES_SHARE`] of the window wide, its plots
//! share its height (it scrolls when they are at their smallest); the images take the room
//! left in the middle (`layout.rs`).
//!
//! The view shown is the tagged camera's the model learns from: the first one found, kept
//! while it exists. Text and scores come from the world model's resources, counters and
//! timings from the diagnostics store; without a world model only the status bar, the view
//! and the minimap are drawn, and the minimap only when the game has a [`CurrentLevel`].

use std::time::Instant;

use bevy::diagnostic::{DiagnosticsStore, FrameTimeDiagnosticsPlugin};
use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiTextureHandle, egui};
use bevy_procgen::{CurrentLevel, CurrentTask, MinimapFocus};
use bevy_world_model::strip::HORIZON;
use bevy_world_model::{
    AgentPolicy, CaptureImage, DreamMode, Driver, Episodes, LatestFrames, Learning, ModelClock,
    ModelImages, ModelScores, ModelStatus, NoticeLevel, WorldModelCamera, WorldModelNotice,
    WorldModelSettings,
};

use crate::curves;
use crate::history::History;
use crate::layout::{self, Content, Metrics, Sizes};
use crate::minimap::draw_minimap;
use crate::model_panel::{self, Counts};
use crate::refresh::{DashboardRefresh, LiveRects, Redraw};
use crate::settings::UiSettings;
use crate::toast::Toast;
use crate::widgets::{heat_legend, repaint, unfilled};

/// The largest share of the window's height the model's numbers take; they scroll beyond.
const BOTTOM_SHARE: f32 = 0.4;
/// The bottom panel's height limit in a window too small for [`BOTTOM_SHARE`] to leave one
/// line of numbers.
const MIN_BOTTOM: f32 = 60.0;
/// The curves panel's share of the window's width, and its narrowest and widest (points).
const CURVES_SHARE: f32 = 0.3;
const CURVES_MIN_WIDTH: f32 = 300.0;
const CURVES_MAX_WIDTH: f32 = 560.0;

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
    episodes: Option<Res<'w, Episodes>>,
    policy: Option<Res<'w, AgentPolicy>>,
    driver: Option<Res<'w, State<Driver>>>,
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
    /// The shown camera's view (once its capture is set up) and its capture size.
    view: Option<(egui::TextureId, WorldModelCamera)>,
    /// How many cameras are tagged with [`WorldModelCamera`].
    tagged: usize,
    /// The model's images, when a world model runs.
    model: Option<ModelTextures>,
}

/// What the status bar shows besides the help line and the toast.
struct StatusLine<'a> {
    level: Option<&'a CurrentLevel>,
    fps: f64,
    build_ms: f64,
    full_share: f64,
    /// The model clock's tick, when capture runs.
    tick: Option<u64>,
    newest_frame: Option<u64>,
}

/// What the central panel shows.
struct Central<'a> {
    settings: &'a UiSettings,
    textures: Textures,
    scores: Option<&'a ModelScores>,
    level: Option<&'a CurrentLevel>,
    /// The level's task, whose goals the minimap shows.
    task: Option<&'a CurrentTask>,
    /// The minimap's focus: world position and forward direction.
    pose: Option<(Vec3, Vec3)>,
    learning: bool,
    dreaming: bool,
    heatmap_full_scale: f64,
}

/// Draws the dashboard, in full or only the images that moved (see [`crate::refresh`]).
pub(crate) fn draw_panels(
    mut contexts: EguiContexts,
    cameras: Query<(Entity, &WorldModelCamera, Option<&CaptureImage>), With<GlobalTransform>>,
    mut shown: Local<Option<Entity>>,
    latest: Option<Res<LatestFrames>>,
    clock: Option<Res<ModelClock>>,
    level: Option<Res<CurrentLevel>>,
    task: Option<Res<CurrentTask>>,
    focus: Query<&GlobalTransform, With<MinimapFocus>>,
    model: Model,
    mut dash: Dashboard,
) -> Result {
    let started = Instant::now();
    // The camera the model learns from: the first tagged one found (the same query order as
    // the model's), kept while it exists.
    let current = *shown;
    if current.is_none_or(|camera| !cameras.contains(camera)) {
        *shown = cameras.iter().next().map(|(camera, ..)| camera);
    }
    let camera = (*shown).and_then(|camera| cameras.get(camera).ok());
    let textures = Textures {
        view: camera.and_then(|(_, cam, image)| {
            image.map(|image| {
                (
                    contexts.add_image(EguiTextureHandle::Weak(image.0.id())),
                    *cam,
                )
            })
        }),
        tagged: cameras.iter().count(),
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
    let viewport = ctx.viewport_rect();
    let mut root = egui::Ui::new(
        ctx.clone(),
        "world-model-dashboard".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(viewport),
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
        tick: clock.as_ref().map(|c| c.tick),
        newest_frame: latest
            .as_ref()
            .and_then(|l| l.0.values().map(|f| f.tick).max()),
    };
    let toast = dash.toast.showing(dash.time.elapsed_secs_f64());
    egui::Panel::top("status")
        .frame(unfilled())
        .show(&mut root, |ui| {
            status_bar(ui, &line, &dash.settings, toast);
        });
    if let (Some(status), Some(scores)) = (model.status.as_deref(), model.scores.as_deref()) {
        let counts = Counts::read(&dash.diagnostics);
        // As tall as its content was at the last full redraw, up to the limit (the first
        // frame takes the limit); the content scrolls beyond it.
        let content_id = egui::Id::new("world-model-numbers-height");
        let limit = (viewport.height() * BOTTOM_SHARE).max(MIN_BOTTOM);
        let inner = ctx
            .data(|d| d.get_temp::<f32>(content_id))
            .map_or(limit, |h| h.min(limit));
        // The frame's margins, the separator line and a point spare for rounding.
        let chrome = unfilled().total_margin().sum().y + 2.0;
        egui::Panel::bottom("model")
            .frame(unfilled())
            .exact_size(inner + chrome)
            .show(&mut root, |ui| {
                let numbers = egui::ScrollArea::vertical()
                    .id_salt("world-model-numbers")
                    .auto_shrink([false, true])
                    .max_height(inner)
                    .show(ui, |ui| {
                        model_panel::model_stats(
                            ui,
                            status,
                            scores,
                            counts,
                            &dash.history,
                            model.settings.as_deref(),
                            model.mode.as_ref().map(|m| *m.get()),
                            model.episodes.as_deref(),
                            model_panel::AgentView {
                                policy: model.policy.as_deref(),
                                driver: model.driver.as_ref().map(|d| *d.get()),
                            },
                        );
                    });
                ui.ctx()
                    .data_mut(|d| d.insert_temp(content_id, numbers.content_size.y));
            });
        let width = (viewport.width() * CURVES_SHARE).clamp(CURVES_MIN_WIDTH, CURVES_MAX_WIDTH);
        egui::Panel::right("curves")
            .frame(unfilled())
            .exact_size(width)
            .show(&mut root, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("world-model-curves")
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        curves::latent_view(ui, status.latent.as_ref());
                        curves::curves(ui, &dash.history);
                    });
            });
    }
    let central = Central {
        settings: &dash.settings,
        textures,
        scores: model.scores.as_deref(),
        level: level.as_deref(),
        task: task.as_deref(),
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
/// it, where that redraw laid it out and clipped as it was.
fn repaint_moved(ctx: &egui::Context, textures: Textures, rects: LiveRects, redraw: Redraw) {
    let painter = ctx.layer_painter(egui::LayerId::background());
    let painter = match rects.clip {
        Some(clip) => painter.with_clip_rect(clip),
        None => painter,
    };
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

/// Title, level, frame rate, the dashboard's own cost, ticks; then the help line (if the
/// game gave one) and the toast.
fn status_bar(
    ui: &mut egui::Ui,
    line: &StatusLine,
    settings: &UiSettings,
    toast: Option<&WorldModelNotice>,
) {
    ui.horizontal_wrapped(|ui| {
        if !settings.title.is_empty() {
            ui.strong(&settings.title);
            ui.separator();
        }
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
        if let Some(tick) = line.tick {
            ui.separator();
            ui.label(format!("tick {tick}"));
            ui.separator();
            ui.label(match line.newest_frame {
                Some(t) => format!("frame readback tick {t} (lag {})", tick.saturating_sub(t)),
                None => "waiting for the first readback".into(),
            });
        }
    });
    if !settings.help.is_empty() {
        ui.label(&settings.help);
    }
    if let Some(notice) = toast {
        ui.colored_label(notice_color(notice.level), &notice.text);
    }
}

/// The view's caption: its capture size, and which camera it is when several are tagged.
fn view_label(camera: WorldModelCamera, tagged: usize) -> String {
    let size = format!("View {}x{}", camera.width, camera.height);
    if tagged > 1 {
        format!("{size} (the first of {tagged} tagged cameras)")
    } else {
        size
    }
}

/// The camera's view and the prediction side by side with the dream strip below; the
/// heatmap and the minimap to their right; all sized to the panel (`layout.rs`). Records
/// where the images landed in `rects`.
fn central_panel(ui: &mut egui::Ui, c: &Central, rects: &mut LiveRects) {
    rects.clip = Some(ui.clip_rect());
    let view = c.textures.view;
    // The prediction and the strip are shown at the view's size, with the model's scores.
    let model = c.textures.model.zip(c.scores).filter(|_| view.is_some());
    let heatmap = model
        .filter(|_| c.settings.show_heatmap)
        .map(|(textures, _)| textures.heatmap);
    let level = c.level.filter(|_| c.settings.show_minimap);
    let sizes = layout::central(
        ui.available_size(),
        Content {
            capture: view.map(|(_, cam)| egui::vec2(cam.width as f32, cam.height as f32)),
            model: model.is_some(),
            heatmap: heatmap.is_some(),
            minimap: level.is_some(),
            max_scale: c.settings.scale,
        },
        Metrics::of(ui),
    );
    let Some((id, cam)) = view else {
        ui.label(if c.textures.tagged == 0 {
            "No camera is tagged with WorldModelCamera."
        } else {
            "Waiting for the tagged camera's first capture."
        });
        side_column(ui, c, heatmap, level, &sizes, rects);
        return;
    };
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_max_width(sizes.column);
            ui.horizontal_top(|ui| {
                ui.vertical(|ui| {
                    ui.set_max_width(sizes.view.x);
                    ui.add(egui::Label::new(view_label(cam, c.textures.tagged)).truncate());
                    let shown = ui.image(egui::load::SizedTexture::new(id, sizes.view));
                    rects.view = Some(shown.rect);
                });
                if let Some((textures, _)) = model {
                    ui.vertical(|ui| {
                        ui.set_max_width(sizes.view.x);
                        ui.add(
                            egui::Label::new(format!(
                                "Prediction · {} · {}",
                                if c.learning { "LEARNING" } else { "PAUSED" },
                                if c.dreaming { "DREAM" } else { "OBSERVING" }
                            ))
                            .truncate(),
                        );
                        let shown = ui.image(egui::load::SizedTexture::new(
                            textures.prediction,
                            sizes.view,
                        ));
                        rects.prediction = Some(shown.rect);
                    });
                }
            });
            if let Some((textures, scores)) = model {
                rects.strip = Some(dream_strip(ui, scores, textures.strip, sizes.strip));
            }
        });
        side_column(ui, c, heatmap, level, &sizes, rects);
    });
}

/// The error heatmap with its legend, and the minimap, each when shown.
fn side_column(
    ui: &mut egui::Ui,
    c: &Central,
    heatmap: Option<egui::TextureId>,
    level: Option<&CurrentLevel>,
    sizes: &Sizes,
    rects: &mut LiveRects,
) {
    if heatmap.is_none() && level.is_none() {
        return;
    }
    ui.vertical(|ui| {
        if let Some(id) = heatmap {
            ui.label("Error |prediction - real|");
            let shown = ui.image(egui::load::SizedTexture::new(id, sizes.heatmap));
            rects.heatmap = Some(shown.rect);
            heat_legend(ui, c.heatmap_full_scale, sizes.legend);
        }
        if let Some(level) = level {
            ui.label("Minimap");
            draw_minimap(ui, level, c.task, c.pose, sizes.minimap);
        }
    });
}

/// The next frames imagined for the action held, at `size`, with PSNR per horizon: how far
/// ahead the model's imagination stays useful. Returns where the strip's image landed.
fn dream_strip(
    ui: &mut egui::Ui,
    scores: &ModelScores,
    id: egui::TextureId,
    size: egui::Vec2,
) -> egui::Rect {
    let label = match &scores.strip {
        Some(s) => format!(
            "Dream strip: {HORIZON} frames imagined after tick {} for the action held (open loop)",
            s.start
        ),
        None => "Dream strip: building (one imagined frame per tick)".into(),
    };
    ui.add(egui::Label::new(label).truncate());
    let shown = ui.image(egui::load::SizedTexture::new(id, size));
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
        // What the reward and continue heads expect of each imagined step.
        if let Some(outlook) = scores.strip.as_ref().map(|s| &s.outlook)
            && !outlook.is_empty()
        {
            ui.label("reward");
            for o in outlook {
                ui.label(format!("{:+.2}", o.reward));
            }
            ui.end_row();
            ui.label("continue");
            for o in outlook {
                ui.label(format!("{:.2}", o.cont));
            }
            ui.end_row();
        }
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

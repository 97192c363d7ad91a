//! # bevy_world_model_ui
//!
//! egui panels for Mini Dreamer: the agent's first-person view scaled up with crisp pixels,
//! a minimap of the level, and capture status. A game may leave this plugin out; headless
//! runs do.
//!
//! The window needs a camera for egui; the plugin spawns a plain `Camera2d` marked
//! [`PrimaryEguiContext`] so egui never lands on the small capture camera.
#![warn(missing_docs)]

mod curves;
pub mod format;
pub mod history;
mod minimap;
mod model_panel;
pub mod refresh;

use bevy::diagnostic::{DiagnosticsStore, FrameTimeDiagnosticsPlugin};
use bevy::prelude::*;
use bevy_egui::{
    EguiContexts, EguiGlobalSettings, EguiPlugin, EguiPostUpdateSet, EguiPrimaryContextPass,
    EguiTextureHandle, PrimaryEguiContext, egui,
};
use bevy_procgen::{CurrentLevel, MinimapFocus};
use bevy_world_model::strip::HORIZON;
use bevy_world_model::world_model::metrics::heat_color;
use bevy_world_model::{
    CaptureImage, DreamMode, LatestFrames, Learning, ModelClock, NoticeLevel, WorldModelCamera,
    WorldModelNotice, WorldModelOutput, WorldModelSettings,
};

pub use minimap::draw_minimap;
pub use refresh::{DashboardRefresh, Redraw};

/// Shows the captured view and a minimap in the primary window.
#[derive(Clone, Debug)]
pub struct WorldModelUiPlugin {
    /// Initial display scale of the 64x64 view.
    pub scale: f32,
    /// The key help line (games list their own keys).
    pub help: String,
    /// Draw every panel every frame instead of only when they change (see [`refresh`]).
    pub redraw_every_frame: bool,
}

/// The help line of the demo game's keys.
pub const DEFAULT_HELP: &str = "WASD move · mouse drag, arrows or Q/E turn · L learning · P dream · \
     R reset latent · [ ] dream temperature · H heatmap · F5 save · Esc quit";

impl Default for WorldModelUiPlugin {
    fn default() -> Self {
        Self {
            scale: 4.0,
            help: DEFAULT_HELP.into(),
            redraw_every_frame: false,
        }
    }
}

impl WorldModelUiPlugin {
    /// Shows the captured view at `scale` times its size.
    #[must_use]
    pub fn with_scale(scale: f32) -> Self {
        Self { scale, ..default() }
    }

    /// Replaces the key help line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    /// Draws every panel every frame (for measuring what the partial frames save, or for a
    /// game whose dashboard content changes every frame).
    #[must_use]
    pub fn with_redraw_every_frame(mut self, on: bool) -> Self {
        self.redraw_every_frame = on;
        self
    }
}

/// Display settings that can change while the game runs.
#[derive(Resource, Clone, Debug)]
pub struct UiSettings {
    /// The key help line at the bottom.
    pub help: String,
    /// Display scale of the captured view (nearest filtering). Default: `4.0`
    pub scale: f32,
    /// Whether the minimap is shown. Default: `true`
    pub show_minimap: bool,
    /// Whether the error heatmap is shown (H). Default: `true`
    pub show_heatmap: bool,
    /// Draw every panel every frame; otherwise frames between full redraws repaint only the
    /// images that moved (see [`refresh`]). Default: `false`
    pub redraw_every_frame: bool,
    /// Longest time between full redraws, seconds: how often numbers, curves and the
    /// minimap move. Default: `0.25`
    pub max_redraw_interval: f64,
    /// The window's background behind the unfilled panels.
    pub background: Color,
}

/// Marks the camera that shows the dashboard in the window.
#[derive(Component, Debug, Clone, Copy)]
pub struct UiCamera;

/// The newest notice and when it arrived, shown as a toast for a few seconds.
#[derive(Resource, Default)]
struct Toast(Option<(WorldModelNotice, f64)>);

/// CPU milliseconds the dashboard's egui pass takes (layout and tessellation are counted
/// when bevy_egui ends the pass; this measures building the panels), smoothed.
#[derive(Resource, Default, Debug, Clone, Copy)]
pub struct DashboardCost {
    /// Exponential moving average, milliseconds.
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

/// Seconds a toast stays up.
const TOAST_SECONDS: f64 = 5.0;

impl Plugin for WorldModelUiPlugin {
    fn build(&self, app: &mut App) {
        if !app.is_plugin_added::<EguiPlugin>() {
            app.add_plugins(EguiPlugin::default());
        }
        if !app.is_plugin_added::<FrameTimeDiagnosticsPlugin>() {
            app.add_plugins(FrameTimeDiagnosticsPlugin::default());
        }
        // Resources
        app.insert_resource(UiSettings {
            help: self.help.clone(),
            scale: self.scale,
            show_minimap: true,
            show_heatmap: true,
            redraw_every_frame: self.redraw_every_frame,
            max_redraw_interval: 0.25,
            background: Color::srgb(0.08, 0.08, 0.1),
        })
        .init_resource::<Toast>()
        .init_resource::<DashboardRefresh>()
        .init_resource::<DashboardCost>()
        .init_resource::<history::History>()
        .insert_resource(EguiGlobalSettings {
            auto_create_primary_context: false,
            ..default()
        });
        // Systems
        app.add_systems(Startup, spawn_ui_camera)
            .add_systems(Update, (heatmap_key, keep_toast, history::sample))
            // After Update, where the model's output moves on; before the egui pass draws.
            .add_systems(
                PostUpdate,
                refresh::decide.before(EguiPostUpdateSet::EndPass),
            )
            .add_systems(EguiPrimaryContextPass, draw_panels);
    }
}

fn spawn_ui_camera(mut commands: Commands, settings: Res<UiSettings>) {
    commands.spawn((
        Name::new("UI camera"),
        UiCamera,
        Camera2d,
        Camera {
            order: 10,
            clear_color: ClearColorConfig::Custom(settings.background),
            ..default()
        },
        // egui anti-aliases its own shapes; 4x MSAA only multiplied the window's fill and
        // resolve (9 ms a frame on lavapipe).
        Msaa::Off,
        PrimaryEguiContext,
    ));
}

/// A panel frame without a background fill: the UI camera's clear colour is the background.
/// With lavapipe every filled full-window panel is a full-window blend on the CPU.
fn unfilled() -> egui::Frame {
    egui::Frame::NONE.inner_margin(6)
}

/// The heatmap's colour scale, 0 to `full` grey levels.
fn heat_legend(ui: &mut egui::Ui, full: f64) {
    ui.horizontal(|ui| {
        ui.label("0");
        let (rect, _) = ui.allocate_exact_size(egui::vec2(120.0, 10.0), egui::Sense::hover());
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

/// The next frames imagined for the action held, with PSNR per horizon.
fn dream_strip(
    ui: &mut egui::Ui,
    output: &WorldModelOutput,
    id: egui::TextureId,
    width: f32,
    height: f32,
) -> egui::Rect {
    let scale = 1.25;
    let label = match &output.strip {
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
    let mean = output.horizons.psnr();
    egui::Grid::new("horizons").show(ui, |ui| {
        ui.label("PSNR dB");
        for k in 0..HORIZON {
            ui.label(format!("t+{}", k + 1));
        }
        ui.end_row();
        ui.label("this strip");
        for k in 0..HORIZON {
            let now = output
                .strip
                .as_ref()
                .and_then(|s| s.psnr.get(k).copied().flatten());
            ui.label(now.map_or("…".into(), |p| format!("{p:.1}")));
        }
        ui.end_row();
        ui.label(format!("last {}", output.horizons.len()));
        for k in 0..HORIZON {
            ui.label(mean.get(k).map_or("…".into(), |p| format!("{p:.1}")));
        }
        ui.end_row();
    });
    shown.rect
}

fn heatmap_key(keys: Option<Res<ButtonInput<KeyCode>>>, mut settings: ResMut<UiSettings>) {
    if keys.is_some_and(|k| k.just_pressed(KeyCode::KeyH)) {
        settings.show_heatmap = !settings.show_heatmap;
    }
}

fn keep_toast(
    mut toast: ResMut<Toast>,
    mut notices: MessageReader<WorldModelNotice>,
    time: Res<Time>,
) {
    if let Some(n) = notices.read().last() {
        toast.0 = Some((n.clone(), time.elapsed_secs_f64()));
    }
}

/// The world model's state, when the game runs one.
#[derive(bevy::ecs::system::SystemParam)]
struct ModelView<'w> {
    output: Option<Res<'w, WorldModelOutput>>,
    settings: Option<Res<'w, WorldModelSettings>>,
    learning: Option<Res<'w, State<Learning>>>,
    mode: Option<Res<'w, State<DreamMode>>>,
    toast: Res<'w, Toast>,
    time: Res<'w, Time>,
    history: Res<'w, history::History>,
    cost: ResMut<'w, DashboardCost>,
    refresh: ResMut<'w, DashboardRefresh>,
}

#[allow(clippy::too_many_arguments)]
fn draw_panels(
    mut contexts: EguiContexts,
    settings: Res<UiSettings>,
    cameras: Query<(&CaptureImage, &WorldModelCamera)>,
    latest: Res<LatestFrames>,
    clock: Res<ModelClock>,
    level: Option<Res<CurrentLevel>>,
    focus: Query<&GlobalTransform, With<MinimapFocus>>,
    diagnostics: Res<DiagnosticsStore>,
    mut model: ModelView,
) -> Result {
    let started = std::time::Instant::now();
    let model_images = model.output.as_ref().map(|o| {
        (
            contexts.add_image(EguiTextureHandle::Weak(o.prediction.id())),
            contexts.add_image(EguiTextureHandle::Weak(o.heatmap.id())),
        )
    });
    let strip_image = model
        .output
        .as_ref()
        .map(|o| contexts.add_image(EguiTextureHandle::Weak(o.strip_image.id())));
    let view = cameras.iter().next().map(|(img, cam)| {
        (
            contexts.add_image(EguiTextureHandle::Weak(img.0.id())),
            *cam,
        )
    });
    let ctx = contexts.ctx_mut()?;
    let redraw = model.refresh.redraw;
    if redraw != Redraw::Full {
        // The window still shows the last full redraw: repaint what moved over it.
        let rects = model.refresh.rects;
        let painter = ctx.layer_painter(egui::LayerId::background());
        let uv = egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));
        let paint = |id, rect: Option<egui::Rect>| {
            if let Some(rect) = rect {
                painter.image(id, rect, uv, egui::Color32::WHITE);
            }
        };
        if let Some((id, _)) = view {
            paint(id, rects.view);
        }
        if redraw == Redraw::Images {
            if let Some((prediction, heatmap)) = model_images {
                paint(prediction, rects.prediction);
                paint(heatmap, rects.heatmap);
            }
            if let Some(strip) = strip_image {
                paint(strip, rects.strip);
            }
        }
        model.cost.record(started.elapsed().as_secs_f64() * 1000.0);
        return Ok(());
    }
    model.refresh.rects = refresh::LiveRects::default();
    let mut root = egui::Ui::new(
        ctx.clone(),
        "mini-dreamer-root".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    let fps = diagnostics
        .get(&FrameTimeDiagnosticsPlugin::FPS)
        .and_then(|d| d.smoothed())
        .unwrap_or(0.0);
    egui::Panel::top("status")
        .frame(unfilled())
        .show(&mut root, |ui| {
            ui.horizontal(|ui| {
                ui.strong("Mini Dreamer");
                ui.separator();
                if let Some(level) = &level {
                    ui.label(format!("level '{}' seed {}", level.spec.name, level.seed));
                    ui.separator();
                }
                ui.label(format!("{fps:.0} fps"));
                ui.separator();
                ui.label(format!(
                    "dashboard {:.1} ms/frame, {:.0}% redrawn",
                    model.cost.build_ms,
                    100.0 * model.refresh.full_share()
                ));
                ui.separator();
                ui.label(format!("tick {}", clock.tick));
                let newest = latest.0.values().map(|f| f.tick).max();
                ui.separator();
                ui.label(match newest {
                    Some(t) => format!(
                        "frame readback tick {t} (lag {})",
                        clock.tick.saturating_sub(t)
                    ),
                    None => "waiting for the first readback".into(),
                });
            });
            ui.label(settings.help.as_str());
            if let Some((notice, at)) = &model.toast.0
                && model.time.elapsed_secs_f64() - at < TOAST_SECONDS
            {
                let color = match notice.level {
                    NoticeLevel::Info => egui::Color32::LIGHT_GREEN,
                    NoticeLevel::Error => egui::Color32::from_rgb(255, 120, 100),
                };
                ui.colored_label(color, &notice.text);
            }
        });
    if let Some(output) = &model.output {
        egui::Panel::bottom("model")
            .frame(unfilled())
            .show(&mut root, |ui| {
                model_panel::model_stats(
                    ui,
                    output,
                    &model.history,
                    model.settings.as_deref(),
                    model.mode.as_ref().map(|m| *m.get()),
                );
            });
    }
    if model.output.is_some() {
        egui::Panel::right("curves")
            .frame(unfilled())
            .exact_size(380.0)
            .show(&mut root, |ui| {
                curves::latent_view(ui, model.output.as_ref().and_then(|o| o.latent.as_ref()));
                curves::curves(ui, &model.history);
            });
    }
    egui::CentralPanel::default()
        .frame(unfilled())
        .show(&mut root, |ui| {
            ui.horizontal_top(|ui| {
                ui.vertical(|ui| {
                    ui.horizontal_top(|ui| {
                        ui.vertical(|ui| match view {
                            Some((id, cam)) => {
                                ui.label(format!("Agent view {}x{}", cam.width, cam.height));
                                let size = egui::vec2(cam.width as f32, cam.height as f32)
                                    * settings.scale;
                                let shown = ui.image(egui::load::SizedTexture::new(id, size));
                                model.refresh.rects.view = Some(shown.rect);
                            }
                            None => {
                                ui.label("No camera is tagged with WorldModelCamera.");
                            }
                        });
                        if let (Some((pred_id, _)), Some((_, cam))) = (model_images, view) {
                            ui.vertical(|ui| {
                                let size = egui::vec2(cam.width as f32, cam.height as f32)
                                    * settings.scale;
                                let dreaming = model
                                    .mode
                                    .as_ref()
                                    .is_some_and(|m| *m.get() == DreamMode::Dreaming);
                                let learning = model
                                    .learning
                                    .as_ref()
                                    .is_none_or(|l| *l.get() == Learning::On);
                                ui.label(format!(
                                    "Predicted next frame · {} · {}",
                                    if learning { "LEARNING" } else { "PAUSED" },
                                    if dreaming { "DREAM" } else { "OBSERVING" }
                                ));
                                let shown = ui.image(egui::load::SizedTexture::new(pred_id, size));
                                model.refresh.rects.prediction = Some(shown.rect);
                            });
                        }
                    });
                    if let (Some(output), Some(strip_id), Some((_, cam))) =
                        (&model.output, strip_image, view)
                    {
                        model.refresh.rects.strip = Some(dream_strip(
                            ui,
                            output,
                            strip_id,
                            cam.width as f32,
                            cam.height as f32,
                        ));
                    }
                });
                ui.vertical(|ui| {
                    if settings.show_heatmap
                        && let Some((_, heat_id)) = model_images
                    {
                        ui.label("Error |prediction - real|");
                        let shown =
                            ui.image(egui::load::SizedTexture::new(heat_id, [192.0, 192.0]));
                        model.refresh.rects.heatmap = Some(shown.rect);
                        let full = model
                            .settings
                            .as_ref()
                            .map_or(64.0, |s| s.heatmap_full_scale);
                        heat_legend(ui, full);
                    }
                    if settings.show_minimap
                        && let Some(level) = &level
                    {
                        ui.label("Minimap");
                        let pose = focus.iter().next().map(|t| {
                            let (_, rot, pos) = t.to_scale_rotation_translation();
                            (pos, rot * Vec3::NEG_Z)
                        });
                        let side = if settings.show_heatmap { 200.0 } else { 240.0 };
                        draw_minimap(ui, level, pose, side);
                    }
                });
            });
        });
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    model.cost.record(ms);
    Ok(())
}

//! # bevy_world_model_ui
//!
//! egui panels for Mini Dreamer: the agent's first-person view scaled up with crisp pixels,
//! a minimap of the level, and capture status. A game may leave this plugin out; headless
//! runs do.
//!
//! The window needs a camera for egui; the plugin spawns a plain `Camera2d` marked
//! [`PrimaryEguiContext`] so egui never lands on the small capture camera.
#![warn(missing_docs)]

mod minimap;

use bevy::diagnostic::{DiagnosticsStore, FrameTimeDiagnosticsPlugin};
use bevy::prelude::*;
use bevy_egui::{
    EguiContexts, EguiGlobalSettings, EguiPlugin, EguiPrimaryContextPass, EguiTextureHandle,
    PrimaryEguiContext, egui,
};
use bevy_procgen::{CurrentLevel, MinimapFocus};
use bevy_world_model::{CaptureImage, LatestFrames, ModelClock, WorldModelCamera};

pub use minimap::draw_minimap;

/// Shows the captured view and a minimap in the primary window.
#[derive(Clone, Copy, Debug)]
pub struct WorldModelUiPlugin {
    /// Initial display scale of the 64x64 view.
    pub scale: f32,
}

impl Default for WorldModelUiPlugin {
    fn default() -> Self {
        Self { scale: 6.0 }
    }
}

impl WorldModelUiPlugin {
    /// Shows the captured view at `scale` times its size.
    #[must_use]
    pub fn with_scale(scale: f32) -> Self {
        Self { scale }
    }
}

/// Display settings that can change while the game runs.
#[derive(Resource, Clone, Copy, Debug)]
pub struct UiSettings {
    /// Display scale of the captured view (nearest filtering). Default: `6.0`
    pub scale: f32,
    /// Whether the minimap is shown. Default: `true`
    pub show_minimap: bool,
}

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
            scale: self.scale,
            show_minimap: true,
        })
        .insert_resource(EguiGlobalSettings {
            auto_create_primary_context: false,
            ..default()
        });
        // Systems
        app.add_systems(Startup, spawn_ui_camera)
            .add_systems(EguiPrimaryContextPass, draw_panels);
    }
}

fn spawn_ui_camera(mut commands: Commands) {
    commands.spawn((
        Name::new("UI camera"),
        Camera2d,
        Camera {
            order: 10,
            clear_color: ClearColorConfig::Custom(Color::srgb(0.08, 0.08, 0.1)),
            ..default()
        },
        PrimaryEguiContext,
    ));
}

fn draw_panels(
    mut contexts: EguiContexts,
    settings: Res<UiSettings>,
    cameras: Query<(&CaptureImage, &WorldModelCamera)>,
    latest: Res<LatestFrames>,
    clock: Res<ModelClock>,
    level: Option<Res<CurrentLevel>>,
    focus: Query<&GlobalTransform, With<MinimapFocus>>,
    diagnostics: Res<DiagnosticsStore>,
) -> Result {
    let view = cameras.iter().next().map(|(img, cam)| {
        (
            contexts.add_image(EguiTextureHandle::Weak(img.0.id())),
            *cam,
        )
    });
    let ctx = contexts.ctx_mut()?;
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
    egui::Panel::top("status").show(&mut root, |ui| {
        ui.horizontal(|ui| {
            ui.strong("Mini Dreamer");
            ui.separator();
            if let Some(level) = &level {
                ui.label(format!("level '{}' seed {}", level.spec.name, level.seed));
                ui.separator();
            }
            ui.label(format!("{fps:.0} fps"));
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
        ui.label("WASD move · mouse drag, arrows or Q/E turn · Esc quit");
    });
    egui::CentralPanel::default().show(&mut root, |ui| {
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| match view {
                Some((id, cam)) => {
                    ui.label(format!("Agent view {}x{}", cam.width, cam.height));
                    let size = egui::vec2(cam.width as f32, cam.height as f32) * settings.scale;
                    ui.image(egui::load::SizedTexture::new(id, size));
                }
                None => {
                    ui.label("No camera is tagged with WorldModelCamera.");
                }
            });
            if settings.show_minimap
                && let Some(level) = &level
            {
                ui.vertical(|ui| {
                    ui.label("Minimap");
                    let pose = focus.iter().next().map(|t| {
                        let (_, rot, pos) = t.to_scale_rotation_translation();
                        (pos, rot * Vec3::NEG_Z)
                    });
                    draw_minimap(ui, level, pose, 240.0);
                });
            }
        });
    });
    Ok(())
}

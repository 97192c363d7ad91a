//! [`WorldModelUiPlugin`]: the one place that knows every part of the dashboard and wires
//! them into the app. No other module imports this one.

use bevy::diagnostic::FrameTimeDiagnosticsPlugin;
use bevy::prelude::*;
use bevy_egui::{EguiGlobalSettings, EguiPlugin, EguiPostUpdateSet, EguiPrimaryContextPass};
use bevy_world_model::{WorldModelDiagnosticsPlugin, WorldModelNotice, WorldModelSystems};

use crate::history::{self, History};
use crate::panels::{DashboardCost, draw_panels};
use crate::refresh::{self, DashboardRefresh};
use crate::settings::{ToggleHeatmap, ToggleMinimap, UiCamera, UiSettings, apply_toggles};
use crate::toast::{Toast, keep_toast};

/// Shows the captured view, the model's images and numbers, and a minimap in the primary
/// window, so a person can watch the world model learn. Leave it out for headless runs.
///
/// The panels fit the window: the images are sized from the room the window leaves, the
/// model's numbers and the curves scroll when a window is too small for them.
#[derive(Clone, Debug)]
pub struct WorldModelUiPlugin {
    /// The name at the start of the status bar (see [`WorldModelUiPlugin::with_title`]).
    pub title: String,
    /// Initial largest display scale of the captured view; `None` (the default) shows it as
    /// large as the window allows (see [`UiSettings::scale`]).
    pub scale: Option<f32>,
    /// The key help line: only the game knows its keys, so it is empty unless the game
    /// sets it (see [`WorldModelUiPlugin::with_help`]), and then no line is shown.
    pub help: String,
    /// Draw every panel every frame instead of only when they change (see
    /// [`refresh`](crate::refresh)).
    pub redraw_every_frame: bool,
}

impl Default for WorldModelUiPlugin {
    fn default() -> Self {
        Self {
            title: UiSettings::default().title,
            scale: None,
            help: String::new(),
            redraw_every_frame: false,
        }
    }
}

impl WorldModelUiPlugin {
    /// Shows the captured view at `scale` times its size, or smaller where the window has
    /// no room for that, instead of as large as the window allows.
    #[must_use]
    pub fn with_scale(scale: f32) -> Self {
        Self {
            scale: Some(scale),
            ..default()
        }
    }

    /// Sets the name at the start of the status bar (default: `"World model"`), so the
    /// dashboard is labelled with the game it runs in.
    #[must_use]
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// Sets the key help line, so the dashboard lists the keys this game wired (the
    /// dashboard itself reads none; see [`ToggleHeatmap`]).
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    /// Draws every panel every frame, for measuring what the partial frames save, or for a
    /// game whose dashboard content changes every frame.
    #[must_use]
    pub fn with_redraw_every_frame(mut self, on: bool) -> Self {
        self.redraw_every_frame = on;
        self
    }
}

impl Plugin for WorldModelUiPlugin {
    fn build(&self, app: &mut App) {
        if !app.is_plugin_added::<EguiPlugin>() {
            app.add_plugins(EguiPlugin::default());
        }
        if !app.is_plugin_added::<FrameTimeDiagnosticsPlugin>() {
            app.add_plugins(FrameTimeDiagnosticsPlugin::default());
        }
        // The counters and timings the panels read. Its publisher runs only while the
        // world model's resources exist, so without a world model it costs nothing.
        if !app.is_plugin_added::<WorldModelDiagnosticsPlugin>() {
            app.add_plugins(WorldModelDiagnosticsPlugin);
        }
        // The toast reads the model's notices; registered here too so that the dashboard
        // also runs with only a `CapturePlugin` (adding a message twice is a no-op).
        app.add_message::<WorldModelNotice>();
        // Resources
        app.insert_resource(UiSettings {
            title: self.title.clone(),
            help: self.help.clone(),
            scale: self.scale,
            redraw_every_frame: self.redraw_every_frame,
            ..default()
        })
        .init_resource::<Toast>()
        .init_resource::<DashboardRefresh>()
        .init_resource::<DashboardCost>()
        .init_resource::<History>()
        .insert_resource(EguiGlobalSettings {
            auto_create_primary_context: false,
            ..default()
        });
        // Messages the game sends
        app.add_message::<ToggleHeatmap>()
            .add_message::<ToggleMinimap>();
        // Systems
        app.add_systems(Startup, spawn_ui_camera)
            .add_systems(Update, (keep_toast, history::sample))
            // After the game's Update (where toggles are sent) and after the model's frame
            // (its counters final); before the egui pass draws.
            .add_systems(
                PostUpdate,
                (
                    apply_toggles,
                    refresh::decide.after(WorldModelSystems::Present),
                )
                    .chain()
                    .before(EguiPostUpdateSet::EndPass),
            )
            .add_systems(EguiPrimaryContextPass, draw_panels);
    }
}

/// The window's camera for egui, marked [`PrimaryEguiContext`](bevy_egui::PrimaryEguiContext)
/// so egui never lands on the small capture camera.
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
        // egui anti-aliases its own shapes; MSAA would only multiply the window's fill and
        // resolve, a large share of a frame on a software rasteriser (docs/performance.md).
        Msaa::Off,
        bevy_egui::PrimaryEguiContext,
    ));
}

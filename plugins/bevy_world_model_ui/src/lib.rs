//! # bevy_world_model_ui
//!
//! egui panels for the world model, so a person can watch it learn: the tagged camera's
//! view scaled up with crisp pixels, the model's prediction, error heatmap and dream strip,
//! its scores and training curves, capture status and, when the game has a
//! [`CurrentLevel`](bevy_procgen::CurrentLevel), a minimap of the level. A game may leave
//! this plugin out; headless runs do.
//!
//! The panels fit the window: the images are sized from the room the other panels leave
//! (as large as fits, at a whole scale, unless [`UiSettings::scale`] caps it), the model's
//! numbers and the curves scroll when the window is too small for them. With several tagged
//! cameras the dashboard shows the first, the one the model learns from.
//!
//! The window needs a camera for egui; the plugin spawns a plain `Camera2d` marked
//! [`PrimaryEguiContext`](bevy_egui::PrimaryEguiContext) so egui never lands on the small
//! capture camera.
//!
//! Counters and timings (inference time, transitions sent and dropped, dream length) are
//! read from Bevy's `DiagnosticsStore` under `world_model/...` paths; the plugin adds
//! [`WorldModelDiagnosticsPlugin`](bevy_world_model::WorldModelDiagnosticsPlugin) to
//! publish them. Text and scores come from the world model's resources.
//!
//! ## A game wires its own keys
//!
//! The dashboard reads no keys, so it never claims one a game uses for something else. The
//! game sends [`ToggleHeatmap`] and [`ToggleMinimap`] from whatever input it likes, and lists
//! its keys with [`WorldModelUiPlugin::with_help`] (no help line is shown by default):
//!
//! ```no_run
//! use bevy::prelude::*;
//! use bevy_world_model_ui::{ToggleHeatmap, WorldModelUiPlugin};
//!
//! fn keys(keys: Res<ButtonInput<KeyCode>>, mut heatmap: MessageWriter<ToggleHeatmap>) {
//!     if keys.just_pressed(KeyCode::KeyH) {
//!         heatmap.write(ToggleHeatmap);
//!     }
//! }
//!
//! App::new()
//!     .add_plugins(WorldModelUiPlugin::default().with_help("H heatmap"))
//!     .add_systems(Update, keys);
//! ```
//!
//! ## Layout of the crate
//!
//! [`WorldModelUiPlugin`] (`plugin.rs`) wires the parts; nothing imports it. Each part is a
//! pure decision with a thin system around it: [`refresh`] decides how much a frame
//! redraws, `layout.rs` how large the images are, `toast.rs` which notice shows,
//! [`history`] what a curve sample holds; the panels (`panels.rs`, `model_panel.rs`,
//! `curves.rs`, [`draw_minimap`]) only draw.
#![warn(missing_docs)]

mod curves;
pub mod format;
pub mod history;
mod layout;
mod minimap;
mod model_panel;
mod panels;
mod plugin;
pub mod refresh;
mod settings;
mod toast;
mod widgets;

pub use minimap::draw_minimap;
pub use panels::DashboardCost;
pub use plugin::WorldModelUiPlugin;
pub use refresh::{DashboardRefresh, Redraw};
pub use settings::{ToggleHeatmap, ToggleMinimap, UiCamera, UiSettings};

//! The dashboard's live settings and the messages a game sends to change them.
//!
//! The dashboard reads no keys: each game binds its own (the demo's H is in its
//! `controls.rs`), so the plugin fits a game whose H already means something else.
//! A toggle changes [`UiSettings`], and a change redraws the dashboard in full
//! ([`refresh`](crate::refresh)).

use bevy::prelude::*;

/// Display settings that can change while the game runs; a system may write them at any
/// time, and the next full redraw shows the change.
#[derive(Resource, Clone, Debug)]
pub struct UiSettings {
    /// The name at the start of the status bar, the game's or the model's. Default:
    /// `"World model"`
    pub title: String,
    /// The key help line at the top, because only the game knows its keys. Empty by
    /// default, and then no line is shown.
    pub help: String,
    /// The largest display scale of the captured view (nearest filtering): the view is
    /// shown at this scale, or smaller when the window has no room for it. `None` shows it
    /// as large as the window allows, at a whole scale from 2 up so every captured pixel is
    /// an equal square. Default: `None`
    pub scale: Option<f32>,
    /// Whether the minimap is shown; flip it with [`ToggleMinimap`]. Default: `true`
    pub show_minimap: bool,
    /// Whether the error heatmap is shown; flip it with [`ToggleHeatmap`]. Default: `true`
    pub show_heatmap: bool,
    /// Draw every panel every frame, for measuring what the partial frames save or for a
    /// dashboard whose content changes every frame; otherwise frames between full redraws
    /// repaint only the images that moved (see [`refresh`](crate::refresh)). Default: `false`
    pub redraw_every_frame: bool,
    /// Longest time between full redraws, seconds: how stale numbers, curves and the
    /// minimap may get, traded against the cost of a full redraw. Default: `0.25`
    pub max_redraw_interval: f64,
    /// The window's background behind the panels, which are drawn unfilled so that the
    /// UI camera's clear is the only full-window fill.
    pub background: Color,
}

impl Default for UiSettings {
    fn default() -> Self {
        Self {
            title: "World model".into(),
            help: String::new(),
            scale: None,
            show_minimap: true,
            show_heatmap: true,
            redraw_every_frame: false,
            max_redraw_interval: 0.25,
            background: Color::srgb(0.08, 0.08, 0.1),
        }
    }
}

/// Marks the camera that shows the dashboard, so egui draws into the window and not into
/// the small capture camera, and so the dashboard can tell it when to clear.
#[derive(Component, Debug, Clone, Copy)]
pub struct UiCamera;

/// Shows or hides the error heatmap ([`UiSettings::show_heatmap`]). A message rather than a
/// key so that the game decides which key (or button, or script) does it.
#[derive(Message, Clone, Copy, Debug, Default)]
pub struct ToggleHeatmap;

/// Shows or hides the minimap ([`UiSettings::show_minimap`]), sent by the game for the
/// same reason as [`ToggleHeatmap`].
#[derive(Message, Clone, Copy, Debug, Default)]
pub struct ToggleMinimap;

/// Whether `presses` toggles in one frame leave a panel flipped: an even number cancels
/// out, and then the settings are not touched (touching them would force a full redraw).
fn flips(presses: usize) -> bool {
    presses % 2 == 1
}

/// Applies the frame's [`ToggleHeatmap`] and [`ToggleMinimap`] messages to [`UiSettings`].
pub(crate) fn apply_toggles(
    mut heatmap: MessageReader<ToggleHeatmap>,
    mut minimap: MessageReader<ToggleMinimap>,
    mut settings: ResMut<UiSettings>,
) {
    if flips(heatmap.read().count()) {
        settings.show_heatmap = !settings.show_heatmap;
    }
    if flips(minimap.read().count()) {
        settings.show_minimap = !settings.show_minimap;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether [`UiSettings`] changed in each update.
    #[derive(Resource, Default)]
    struct Changes(Vec<bool>);

    fn watch(settings: Res<UiSettings>, mut changes: ResMut<Changes>) {
        changes.0.push(settings.is_changed());
    }

    #[test]
    fn toggles_flip_the_panels_and_quiet_frames_change_nothing() {
        let mut app = App::new();
        app.add_message::<ToggleHeatmap>()
            .add_message::<ToggleMinimap>()
            .init_resource::<UiSettings>()
            .init_resource::<Changes>()
            .add_systems(Update, (apply_toggles, watch).chain());
        app.update();
        app.world_mut().write_message(ToggleHeatmap);
        app.update();
        let s = app.world().resource::<UiSettings>();
        assert!(!s.show_heatmap && s.show_minimap);
        app.update();
        app.world_mut().write_message(ToggleMinimap);
        app.world_mut().write_message(ToggleMinimap);
        app.update();
        let s = app.world().resource::<UiSettings>();
        assert!(!s.show_heatmap && s.show_minimap, "two presses cancel out");
        assert_eq!(
            app.world().resource::<Changes>().0,
            vec![true, true, false, false],
            "inserted, toggled, quiet, cancelled"
        );
    }
}

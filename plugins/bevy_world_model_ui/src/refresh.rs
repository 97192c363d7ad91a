//! How much of the dashboard a frame redraws.
//!
//! The agent's view changes every frame; the model's images (prediction, error heatmap,
//! dream strip) once per model tick; the numbers and curves are read a few times a second.
//! On a software rasteriser (lavapipe) drawing every panel every frame costs a large share
//! of the frame (figures in `docs/performance.md`), so the UI camera keeps last frame's
//! pixels (it clears only on a full redraw) and other frames paint only the images that
//! moved, over the retained ones, at the places the last full redraw laid them out.
//!
//! A full redraw happens at least every
//! [`UiSettings::max_redraw_interval`](crate::UiSettings::max_redraw_interval), on mouse
//! buttons and wheel (so clicks and plot hovers land on laid-out widgets), on a resize and
//! on a settings change.
//!
//! [`DashboardRefresh::decide`] is the rule, a pure function of [`FrameInputs`]; the system
//! around it only gathers the inputs and tells the UI camera whether to clear.

use bevy::input::mouse::MouseWheel;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::egui;
use bevy_world_model::{LatestFrames, ModelCounters};

use crate::settings::{UiCamera, UiSettings};

/// What one frame redraws: the cheapest kind that leaves the window correct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Redraw {
    /// Every panel, on a cleared window.
    #[default]
    Full,
    /// The agent's view and the model's images.
    Images,
    /// Only the agent's view.
    View,
}

/// The images a partial frame repaints, where the last full redraw put them (egui points),
/// and the central panel's clip rectangle they were drawn within (an image larger than a
/// small window's panel is repainted clipped as it was drawn, never over other panels).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LiveRects {
    pub view: Option<egui::Rect>,
    pub prediction: Option<egui::Rect>,
    pub heatmap: Option<egui::Rect>,
    pub strip: Option<egui::Rect>,
    pub clip: Option<egui::Rect>,
}

/// This frame's [`Redraw`], and counts of each kind so far, so the status bar can show how
/// much the partial frames save.
#[derive(Resource, Debug, Default)]
pub struct DashboardRefresh {
    /// What this frame redraws.
    pub redraw: Redraw,
    /// Frames drawn in full so far.
    pub full_frames: u64,
    /// Frames that repainted the view and the model's images.
    pub image_frames: u64,
    /// Frames that repainted only the view.
    pub view_frames: u64,
    pub(crate) rects: LiveRects,
    last_full: Option<(f64, UVec2)>,
    last_content: Option<[u64; 2]>,
}

/// What happened since the last frame that could change the dashboard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameInputs {
    /// Seconds since startup.
    pub now: f64,
    /// What the model's images have seen: the newest captured frame's tick and the dream's
    /// length ([`ModelCounters::dream_ticks`]); both move once per model tick, when the
    /// images do, so a change means the images need repainting.
    pub content: [u64; 2],
    /// The window's physical size.
    pub window: UVec2,
    /// A mouse button went down or up, or the wheel turned.
    pub pointer_event: bool,
    /// [`UiSettings`] changed (a toggle message flipped a panel, the scale changed).
    pub settings_changed: bool,
}

impl DashboardRefresh {
    /// Decides what the frame described by `inputs` redraws, and records it. Pure, so the
    /// rule is tested without a window.
    pub fn decide(&mut self, inputs: FrameInputs, settings: &UiSettings) -> Redraw {
        let full = settings.redraw_every_frame
            || inputs.pointer_event
            || inputs.settings_changed
            || self.rects.view.is_none()
            || self.last_full.is_none_or(|(at, window)| {
                window != inputs.window || inputs.now - at >= settings.max_redraw_interval
            });
        let redraw = if full {
            self.full_frames += 1;
            self.last_full = Some((inputs.now, inputs.window));
            Redraw::Full
        } else if self.last_content != Some(inputs.content) {
            self.image_frames += 1;
            Redraw::Images
        } else {
            self.view_frames += 1;
            Redraw::View
        };
        self.last_content = Some(inputs.content);
        self.redraw = redraw;
        redraw
    }

    /// Share of frames drawn in full, 0 to 1: how much of the full cost the dashboard pays.
    pub fn full_share(&self) -> f64 {
        let all = self.full_frames + self.image_frames + self.view_frames;
        if all == 0 {
            1.0
        } else {
            self.full_frames as f64 / all as f64
        }
    }
}

/// Decides this frame's kind and sets the UI camera to clear only on a full redraw. Runs
/// after [`WorldModelSystems::Present`](bevy_world_model::WorldModelSystems::Present), when this frame's counters are final.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decide(
    mut refresh: ResMut<DashboardRefresh>,
    settings: Res<UiSettings>,
    latest: Option<Res<LatestFrames>>,
    counters: Option<Res<ModelCounters>>,
    time: Res<Time<Real>>,
    buttons: Option<Res<ButtonInput<MouseButton>>>,
    mut wheel: MessageReader<MouseWheel>,
    windows: Query<&Window, With<PrimaryWindow>>,
    mut cameras: Query<&mut Camera, With<UiCamera>>,
) {
    let pointer_event = buttons.is_some_and(|b| {
        b.get_just_pressed().next().is_some() || b.get_just_released().next().is_some()
    }) | (wheel.read().count() > 0);
    let window = windows
        .iter()
        .next()
        .map_or(UVec2::ZERO, |w| w.physical_size());
    let redraw = refresh.decide(
        FrameInputs {
            now: time.elapsed_secs_f64(),
            content: [
                latest
                    .and_then(|l| l.0.values().map(|f| f.tick).max())
                    .unwrap_or(0),
                counters.map_or(0, |c| c.dream_ticks),
            ],
            window,
            pointer_event,
            settings_changed: settings.is_changed(),
        },
        &settings,
    );
    let clear = if redraw == Redraw::Full {
        ClearColorConfig::Custom(settings.background)
    } else {
        ClearColorConfig::None
    };
    for mut camera in &mut cameras {
        camera.clear_color = clear;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> UiSettings {
        UiSettings {
            title: String::new(),
            help: String::new(),
            scale: Some(4.0),
            show_minimap: true,
            show_heatmap: true,
            redraw_every_frame: false,
            max_redraw_interval: 0.25,
            background: Color::BLACK,
        }
    }

    fn frame(now: f64, tick: u64) -> FrameInputs {
        FrameInputs {
            now,
            content: [tick, 0],
            window: UVec2::new(1280, 720),
            pointer_event: false,
            settings_changed: false,
        }
    }

    /// A refresh state that has drawn once, with the view laid out.
    fn drawn(s: &UiSettings) -> DashboardRefresh {
        let mut r = DashboardRefresh::default();
        assert_eq!(r.decide(frame(0.0, 0), s), Redraw::Full, "the first frame");
        r.rects.view = Some(egui::Rect::from_min_size(
            egui::pos2(0.0, 0.0),
            egui::vec2(10.0, 10.0),
        ));
        r
    }

    #[test]
    fn new_output_repaints_images_and_other_frames_only_the_view() {
        let s = settings();
        let mut r = drawn(&s);
        assert_eq!(r.decide(frame(0.02, 0), &s), Redraw::View);
        assert_eq!(r.decide(frame(0.04, 1), &s), Redraw::Images);
        assert_eq!(r.decide(frame(0.06, 1), &s), Redraw::View);
        assert_eq!(r.decide(frame(0.08, 2), &s), Redraw::Images);
        assert_eq!((r.full_frames, r.image_frames, r.view_frames), (1, 2, 2));
        assert!((r.full_share() - 0.2).abs() < 1e-12);
    }

    #[test]
    fn redraws_in_full_at_least_every_interval() {
        let s = settings();
        let mut r = drawn(&s);
        assert_eq!(r.decide(frame(0.24, 1), &s), Redraw::Images);
        assert_eq!(r.decide(frame(0.25, 1), &s), Redraw::Full);
        assert_eq!(r.decide(frame(0.4, 2), &s), Redraw::Images);
        assert_eq!(r.decide(frame(0.51, 2), &s), Redraw::Full);
    }

    #[test]
    fn input_resize_and_settings_redraw_in_full() {
        let s = settings();
        let mut r = drawn(&s);
        let click = FrameInputs {
            pointer_event: true,
            ..frame(0.01, 0)
        };
        assert_eq!(r.decide(click, &s), Redraw::Full);
        let toggled = FrameInputs {
            settings_changed: true,
            ..frame(0.02, 0)
        };
        assert_eq!(r.decide(toggled, &s), Redraw::Full);
        let small = UVec2::new(800, 600);
        let resized = FrameInputs {
            window: small,
            ..frame(0.03, 0)
        };
        assert_eq!(r.decide(resized, &s), Redraw::Full);
        let after = FrameInputs {
            window: small,
            ..frame(0.04, 0)
        };
        assert_eq!(r.decide(after, &s), Redraw::View);
    }

    #[test]
    fn without_a_laid_out_view_every_frame_is_full() {
        let s = settings();
        let mut r = DashboardRefresh::default();
        assert_eq!(r.decide(frame(0.0, 0), &s), Redraw::Full);
        assert_eq!(
            r.decide(frame(0.01, 0), &s),
            Redraw::Full,
            "nothing to repaint partially yet"
        );
    }

    #[test]
    fn redraw_every_frame_setting_disables_partial_frames() {
        let s = UiSettings {
            redraw_every_frame: true,
            ..settings()
        };
        let mut r = drawn(&s);
        assert_eq!(r.decide(frame(0.01, 0), &s), Redraw::Full);
        assert_eq!(r.decide(frame(0.02, 1), &s), Redraw::Full);
        assert_eq!(r.image_frames + r.view_frames, 0);
    }
}

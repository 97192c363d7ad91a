//! Script-friendly run control: quit keys, `--frames N` and `--screenshot PATH`.

use std::path::PathBuf;

use bevy::ecs::message::MessageCursor;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy_world_model::{LatestFrames, ModelStatus};

/// How this run ends.
#[derive(Resource, Clone, Debug, Default)]
pub struct SessionPlan {
    /// Exit after this many frames.
    pub frames: Option<u64>,
    /// Save a PNG before exiting.
    pub screenshot: Option<PathBuf>,
    /// Whether there is a window (screenshot of the window) or not (of the agent's view).
    pub windowed: bool,
}

/// Frames run so far and whether the final screenshot was requested.
#[derive(Resource, Default)]
struct SessionState {
    frames: u64,
    screenshot_requested: bool,
}

/// Extra frames to wait for a first readback before a headless screenshot gives up.
const READBACK_GRACE_FRAMES: u64 = 600;

/// Quit keys and the frame budget.
pub struct SessionPlugin(pub SessionPlan);

impl Plugin for SessionPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(self.0.clone())
            .init_resource::<SessionState>()
            .add_systems(Update, (quit_keys, count_frames))
            .add_systems(Last, fail_on_lost_work);
    }
}

/// A run that lost work (a checkpoint save failed, the recording stopped) does not end with
/// success: the app exits with the first error among this frame's exits, so adding one turns
/// a clean exit into an error exit, with one line saying why.
fn fail_on_lost_work(
    mut exits: ResMut<Messages<AppExit>>,
    mut seen: Local<MessageCursor<AppExit>>,
    status: Option<Res<ModelStatus>>,
) {
    let new: Vec<AppExit> = seen.read(&exits).cloned().collect();
    let Some(status) = status else {
        return;
    };
    if new.is_empty() || new.iter().any(AppExit::is_error) {
        return;
    }
    let mut lost = Vec::new();
    if status.failed_saves > 0 {
        lost.push(format!("{} checkpoint save(s) failed", status.failed_saves));
    }
    if let Some(e) = &status.recording_error {
        lost.push(e.clone());
    }
    if !lost.is_empty() {
        error!("exiting with an error: {}", lost.join("; "));
        exits.write(AppExit::error());
    }
}

fn quit_keys(keys: Option<Res<ButtonInput<KeyCode>>>, mut exit: MessageWriter<AppExit>) {
    let Some(keys) = keys else {
        return;
    };
    let ctrl = keys.any_pressed([KeyCode::ControlLeft, KeyCode::ControlRight]);
    if keys.just_pressed(KeyCode::Escape) || (ctrl && keys.just_pressed(KeyCode::KeyQ)) {
        exit.write(AppExit::Success);
    }
}

fn count_frames(
    mut commands: Commands,
    plan: Res<SessionPlan>,
    mut state: ResMut<SessionState>,
    latest: Res<LatestFrames>,
    mut exit: MessageWriter<AppExit>,
) {
    state.frames += 1;
    let Some(limit) = plan.frames else {
        return;
    };
    if state.frames < limit {
        return;
    }
    let Some(path) = plan.screenshot.clone() else {
        info!("ran {} frames; exiting", state.frames);
        exit.write(AppExit::Success);
        return;
    };
    if plan.windowed {
        if !state.screenshot_requested {
            state.screenshot_requested = true;
            commands.spawn(Screenshot::primary_window()).observe(
                move |ev: On<ScreenshotCaptured>, mut exit: MessageWriter<AppExit>| {
                    exit.write(save_png(ev.image.clone(), &path));
                },
            );
        }
        return;
    }
    // Headless: the agent's view, from the newest readback.
    match latest.0.values().max_by_key(|f| f.tick) {
        Some(captured) => {
            exit.write(saved(&path, captured.frame.save_png(&path)));
        }
        None if state.frames > limit + READBACK_GRACE_FRAMES => {
            error!("no frame was read back from the agent's camera; no screenshot written");
            exit.write(AppExit::error());
        }
        None => {}
    }
}

/// Saves an image as RGB PNG; the exit code says whether it worked.
fn save_png(image: Image, path: &std::path::Path) -> AppExit {
    let result = image
        .try_into_dynamic()
        .map_err(|e| e.to_string())
        .and_then(|img| img.to_rgb8().save(path).map_err(|e| e.to_string()));
    saved(path, result)
}

/// Reports a screenshot's save; the exit code says whether it worked.
fn saved(path: &std::path::Path, result: Result<(), impl std::fmt::Display>) -> AppExit {
    match result {
        Ok(()) => {
            info!("screenshot saved to {}", path.display());
            AppExit::Success
        }
        Err(e) => {
            error!("cannot save screenshot {}: {e}", path.display());
            AppExit::error()
        }
    }
}

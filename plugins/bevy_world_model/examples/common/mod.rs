//! What every example shares: the model's one-step score against copying the last frame,
//! printed every few seconds, a frame-rate cap, and an optional frame limit for scripts.

use std::time::Duration;

use bevy::diagnostic::FrameCount;
use bevy::prelude::*;
use bevy::window::WindowResolution;
use bevy::winit::{UpdateMode, WinitSettings};
use bevy_world_model::{ModelScores, ModelStatus, WorldModelPlugin};

/// Seconds between two score lines.
const REPORT_EVERY_S: f32 = 5.0;
/// Frames per second at most, each a model tick. Without a GPU the software renderer draws
/// on the same cores the trainer learns on, so every frame the model does not learn from is
/// training lost, and frames paced by the cap keep the motion per tick even.
const MAX_FPS: f64 = 10.0;

/// Caps the frame rate, prints the score line, and exits after the frame count given as the
/// first argument.
pub struct ExamplePlugin;

impl Plugin for ExamplePlugin {
    fn build(&self, app: &mut App) {
        let frames: Option<u32> = std::env::args().nth(1).and_then(|a| a.parse().ok());
        let cap = UpdateMode::reactive(Duration::from_secs_f64(1.0 / MAX_FPS));
        app.insert_resource(ExitAfter(frames))
            .insert_resource(WinitSettings {
                focused_mode: cap,
                unfocused_mode: cap,
            })
            .add_systems(Update, (report, exit_after));
    }
}

#[derive(Resource)]
struct ExitAfter(Option<u32>);

/// A small window: a software renderer draws a full-size 3D window at a few frames a second.
pub fn window(title: &str) -> WindowPlugin {
    WindowPlugin {
        primary_window: Some(Window {
            title: title.into(),
            resolution: WindowResolution::new(480, 270),
            ..default()
        }),
        ..default()
    }
}

/// `WorldModelPlugin::default()` with the examples' CPU settings: one model tick per frame,
/// at the frame rate [`ExamplePlugin`] caps, and the trainer on every core (without a GPU it
/// may take them all, as it runs at a lower priority than the frame loop).
pub fn world_model() -> WorldModelPlugin {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    WorldModelPlugin::default()
        .with_allocator_tuning(true)
        .with_trainer_threads(cores)
}

/// The model's PSNR over the last ticks in which the view changed, against copying.
fn report(
    time: Res<Time>,
    status: Res<ModelStatus>,
    scores: Res<ModelScores>,
    frames: Res<FrameCount>,
    mut next: Local<f32>,
    mut last_frames: Local<u32>,
) {
    if time.elapsed_secs() < *next {
        return;
    }
    *next = time.elapsed_secs() + REPORT_EVERY_S;
    let fps = frames.0.wrapping_sub(*last_frames) as f32 / REPORT_EVERY_S;
    *last_frames = frames.0;
    let step = status.trainer.as_ref().map_or(0, |t| t.step);
    let t = time.elapsed_secs();
    match scores.averages.mean() {
        Some((model, baseline)) => info!(
            "{t:.0} s, train step {step}, {fps:.0} fps: one-step PSNR {:.2} dB, \
             copy-last-frame {:.2} dB ({:+.2} dB) over the last {} changed ticks",
            model.psnr,
            baseline.psnr,
            model.psnr - baseline.psnr,
            scores.averages.len()
        ),
        None => info!("{t:.0} s, train step {step}, {fps:.0} fps: waiting for frames"),
    }
}

fn exit_after(limit: Res<ExitAfter>, mut frames: Local<u32>, mut exit: MessageWriter<AppExit>) {
    *frames += 1;
    if limit.0.is_some_and(|n| *frames >= n) {
        exit.write(AppExit::Success);
    }
}

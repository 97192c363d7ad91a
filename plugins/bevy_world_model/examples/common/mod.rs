//! What every example shares: the model's one-step score against copying the last frame,
//! printed every few seconds, and an optional frame limit for scripts.

use bevy::prelude::*;
use bevy_world_model::{ModelScores, ModelStatus};

/// Seconds between two score lines.
const REPORT_EVERY_S: f32 = 5.0;

/// Prints the score line and exits after the frame count given as the first argument.
pub struct ExamplePlugin;

impl Plugin for ExamplePlugin {
    fn build(&self, app: &mut App) {
        let frames: Option<u32> = std::env::args().nth(1).and_then(|a| a.parse().ok());
        app.insert_resource(ExitAfter(frames))
            .add_systems(Update, (report, exit_after));
    }
}

#[derive(Resource)]
struct ExitAfter(Option<u32>);

/// The model's PSNR over the last ticks in which the view changed, against copying.
fn report(
    time: Res<Time>,
    status: Res<ModelStatus>,
    scores: Res<ModelScores>,
    mut next: Local<f32>,
) {
    if time.elapsed_secs() < *next {
        return;
    }
    *next = time.elapsed_secs() + REPORT_EVERY_S;
    let step = status.trainer.as_ref().map_or(0, |t| t.step);
    let t = time.elapsed_secs();
    match scores.averages.mean() {
        Some((model, baseline)) => info!(
            "{t:.0} s, train step {step}: one-step PSNR {:.2} dB, copy-last-frame {:.2} dB \
             ({:+.2} dB) over the last {} changed ticks",
            model.psnr,
            baseline.psnr,
            model.psnr - baseline.psnr,
            scores.averages.len()
        ),
        None => info!("{t:.0} s, train step {step}: waiting for frames"),
    }
}

fn exit_after(limit: Res<ExitAfter>, mut frames: Local<u32>, mut exit: MessageWriter<AppExit>) {
    *frames += 1;
    if limit.0.is_some_and(|n| *frames >= n) {
        exit.write(AppExit::Success);
    }
}

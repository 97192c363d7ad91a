//! # bevy_world_model
//!
//! The Bevy side of Mini Dreamer. This first part is capture: tag any camera with
//! [`WorldModelCamera`] and [`CapturePlugin`] renders it into a small image, reads it back to
//! the CPU every frame with Bevy's `Readback`, and sends each frame as a [`FrameCaptured`]
//! message tagged with the [`ModelClock`] tick at which it was rendered.
//!
//! ```no_run
//! use bevy::prelude::*;
//! use bevy_world_model::{CapturePlugin, FrameCaptured, WorldModelCamera};
//!
//! fn setup(mut commands: Commands) {
//!     commands.spawn((Camera3d::default(), WorldModelCamera::default()));
//! }
//!
//! fn log_frames(mut frames: MessageReader<FrameCaptured>) {
//!     for f in frames.read() {
//!         info!("tick {}: {} bytes", f.tick, f.rgba.len());
//!     }
//! }
//!
//! App::new()
//!     .add_plugins((DefaultPlugins, CapturePlugin))
//!     .add_systems(Startup, setup)
//!     .add_systems(Update, log_frames)
//!     .run();
//! ```
#![warn(missing_docs)]

pub mod capture;

use bevy::prelude::*;

pub use capture::{
    CaptureImage, CaptureSource, FrameCaptured, LatestFrames, ModelClock, WorldModelCamera,
};

/// Ordering hooks of the world-model plugins, in the order they run each frame.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum WorldModelSystems {
    /// `First`: advances [`ModelClock`]. Everything that tags data with a tick runs after it.
    Tick,
    /// `PreUpdate`: turns completed readbacks into [`FrameCaptured`] messages and sets up
    /// newly tagged cameras. Readers of [`FrameCaptured`] run after it.
    Capture,
}

/// Captures every [`WorldModelCamera`] to the CPU each frame, tagged by tick.
///
/// Works with `DefaultPlugins` (a renderer is needed for frames to arrive) and with
/// `MinimalPlugins` plus `AssetPlugin` and `ImagePlugin` (cameras are set up, no frames come).
#[derive(Default, Debug, Clone, Copy)]
pub struct CapturePlugin;

impl Plugin for CapturePlugin {
    fn build(&self, app: &mut App) {
        // Resources
        let ticks = capture::SubmittedTicks::default();
        app.init_resource::<ModelClock>()
            .init_resource::<LatestFrames>()
            .init_resource::<capture::CaptureInbox>()
            .insert_resource(ticks.clone())
            .add_message::<FrameCaptured>();
        // Main schedule
        app.configure_sets(First, WorldModelSystems::Tick)
            .configure_sets(PreUpdate, WorldModelSystems::Capture)
            .add_systems(
                First,
                capture::advance_clock.in_set(WorldModelSystems::Tick),
            )
            .add_systems(
                PreUpdate,
                (capture::emit_frames, capture::attach_capture)
                    .chain()
                    .in_set(WorldModelSystems::Capture),
            );
        // Render world
        capture::build_render_side(app, ticks);
    }
}

//! # bevy_world_model
//!
//! A Dreamer-style world model that learns, live, to predict the next frame of any Bevy
//! camera. Tag the camera with [`WorldModelCamera`] and add [`WorldModelPlugin`]:
//!
//! ```no_run
//! use bevy::prelude::*;
//! use bevy_world_model::{WorldModelCamera, WorldModelPlugin};
//!
//! App::new()
//!     .add_plugins((DefaultPlugins, WorldModelPlugin::default()))
//!     .add_systems(Startup, |mut commands: Commands| {
//!         commands.spawn((Camera3d::default(), WorldModelCamera::default()));
//!     })
//!     .run();
//! ```
//!
//! Each frame the camera renders into a small image that is read back to the CPU and tagged
//! with the [`ModelClock`] tick it was rendered at ([`capture`]). Frames are fed to the model
//! in tick order; the prediction made for tick `t + 1` is scored against the real frame of
//! tick `t + 1` and against copying the frame of tick `t` ([`PredictionScored`]). Transitions
//! go to a trainer thread over a bounded channel (dropped and counted when it is full). The
//! action is the camera's ego-motion unless the game writes a [`WorldModelAction`].
//!
//! Public surface: [`WorldModelSettings`] (builder on the plugin), the [`Learning`] and
//! [`DreamMode`] states, command messages ([`ToggleLearning`], [`ToggleDream`],
//! [`ResetLatent`], [`SaveCheckpoint`], [`LoadCheckpoint`]), and [`WorldModelOutput`] plus
//! [`PredictionScored`] and [`WorldModelNotice`] out. [`CapturePlugin`] alone gives frames
//! without a model.
#![warn(missing_docs)]

pub mod action;
pub mod capture;
mod control;
mod engine;
mod infer;
pub mod latent;
pub mod messages;
pub mod modes;
pub mod output;
mod plugin;
mod queue;
mod record;
mod runtime;
pub mod settings;
pub mod strip;

use bevy::prelude::*;

pub use action::{WorldModelAction, ego_motion};
pub use capture::{
    CaptureImage, CaptureSource, FrameCaptured, LatestFrames, ModelClock, WorldModelCamera,
};
pub use engine::utc_timestamp;
pub use latent::LatentInfo;
pub use messages::{
    FinishRecording, LoadCheckpoint, NoticeLevel, PredictionScored, ResetLatent, SaveCheckpoint,
    ToggleDream, ToggleLearning, WorldModelNotice,
};
pub use modes::{DreamMode, Learning};
pub use output::{ScoreTotals, ScoreWindow, ScoredFrames, WorldModelOutput};
pub use plugin::WorldModelPlugin;
pub use runtime::WorldModelRuntime;
pub use settings::{EgoMotionScale, WorldModelSettings};
pub use strip::{DreamStrip, HorizonStats};
pub use world_model;

/// Ordering hooks of the world-model plugins, in the order they run each frame.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum WorldModelSystems {
    /// `First`: advances [`ModelClock`]. Everything that tags data with a tick runs after it.
    Tick,
    /// `PreUpdate`: turns completed readbacks into [`FrameCaptured`] messages and sets up
    /// newly tagged cameras. Readers of [`FrameCaptured`] run after it.
    Capture,
    /// `PostUpdate`, after transform propagation: takes the trainer's new weights and stats
    /// and applies the game's commands (send them before this set).
    TrainSync,
    /// `PostUpdate`: records the tick's action, feeds frames to the model in tick order,
    /// scores predictions, runs the dream. Write [`WorldModelAction`] before this set.
    Infer,
    /// `PostUpdate`: draws the prediction and heatmap into [`WorldModelOutput`]'s images.
    /// Read the output after this set.
    Present,
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
        app.configure_sets(
            First,
            WorldModelSystems::Tick.after(bevy::time::TimeSystems),
        )
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

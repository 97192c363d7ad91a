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
//! The stages run in the [`WorldModelSystems`] sets, one file each: [`capture`],
//! `train_sync`, `commands`, `infer`, [`present`]; each owns its own small state.
//!
//! Public surface:
//! - in: [`WorldModelSettings`] (live) and the plugin's builder (fixed at start); the
//!   [`Learning`] and [`DreamMode`] states; command messages ([`ToggleLearning`],
//!   [`ToggleDream`], [`ResetLatent`], [`SaveCheckpoint`], [`LoadCheckpoint`],
//!   [`FinishRecording`]); [`WorldModelAction`] on the camera.
//! - out: [`ModelImages`], [`ModelScores`], [`ModelStatus`], [`ModelCounters`] (also as
//!   diagnostics with [`WorldModelDiagnosticsPlugin`]), and the [`PredictionScored`] and
//!   [`WorldModelNotice`] messages.
//!
//! [`CapturePlugin`] alone gives frames without a model.
#![warn(missing_docs)]

pub mod action;
pub mod capture;
mod commands;
pub mod diagnostics;
mod engine;
mod infer;
pub mod latent;
pub mod messages;
pub mod modes;
mod plugin;
pub mod present;
mod queue;
mod record;
pub mod reward;
mod schedule;
pub mod scores;
pub mod settings;
pub mod status;
pub mod strip;
mod train_sync;

pub use action::{WorldModelAction, ego_motion};
pub use capture::{
    CaptureImage, CapturePlugin, CaptureSource, CaptureView, FrameCaptured, LatestFrames,
    ModelClock, WorldModelCamera,
};
pub use diagnostics::{WorldModelDiagnostics, WorldModelDiagnosticsPlugin};
pub use engine::{EngineError, utc_timestamp};
pub use latent::LatentInfo;
pub use messages::{
    FinishRecording, LoadCheckpoint, NoticeLevel, PredictionScored, ResetLatent, SaveCheckpoint,
    ToggleDream, ToggleLearning, WorldModelNotice,
};
pub use modes::{DreamMode, Driver, Learning};
pub use plugin::WorldModelPlugin;
pub use present::ModelImages;
pub use record::RecordError;
pub use reward::{AgentPolicy, EpisodeEnd, Episodes, RewardScored, TickOutcome, WorldModelReward};
pub use schedule::WorldModelSystems;
pub use scores::{ModelScores, ScoreWindow, ScoredFrames};
pub use settings::{EgoMotionScale, WorldModelSettings};
pub use status::{ModelCounters, ModelStatus};
pub use strip::{DreamStrip, HorizonStats};
pub use world_model;
pub use world_model::metrics::ScoreTotals;

//! Messages in (commands a game sends) and out (what the model did), the plugin's public
//! surface besides its resources ([`ModelStatus`](crate::ModelStatus) and the others).

use std::path::PathBuf;

use bevy::prelude::*;
use world_model::FrameMetrics;

/// Switches learning on or off ([`Learning`](crate::Learning)).
#[derive(Message, Clone, Copy, Debug, Default)]
pub struct ToggleLearning;

/// Switches between observing real frames and the pure dream ([`DreamMode`](crate::DreamMode)).
#[derive(Message, Clone, Copy, Debug, Default)]
pub struct ToggleDream;

/// Forgets the latent state; the next real frame starts it afresh (also in a dream).
#[derive(Message, Clone, Copy, Debug, Default)]
pub struct ResetLatent;

/// Writes a checkpoint atomically; without a path, a timestamped file in
/// [`WorldModelSettings::checkpoint_dir`](crate::WorldModelSettings::checkpoint_dir).
#[derive(Message, Clone, Debug, Default)]
pub struct SaveCheckpoint(pub Option<PathBuf>);

/// Replaces the model (and trainer state) with a checkpoint's. A bad or mismatched file is
/// reported and the current model keeps running.
#[derive(Message, Clone, Debug)]
pub struct LoadCheckpoint(pub PathBuf);

/// Closes the recording (see `WorldModelPlugin::with_recording`): what was recorded is
/// flushed to disk and later transitions are not recorded, e.g. before an evaluation on a
/// held-out world that must stay out of the dataset.
#[derive(Message, Clone, Copy, Debug, Default)]
pub struct FinishRecording;

/// A prediction scored against the real frame of the tick it predicted.
#[derive(Message, Clone, Debug)]
pub struct PredictionScored {
    /// The tick whose real frame was predicted.
    pub tick: u64,
    /// Model's prediction against the real frame.
    pub model: FrameMetrics,
    /// The copy-last-frame baseline (frame of `tick - 1`) against the same real frame.
    pub baseline: FrameMetrics,
    /// True when the prediction came from the pure dream.
    pub dreamed: bool,
}

/// How serious a [`WorldModelNotice`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeLevel {
    /// Something worked (a checkpoint was saved or loaded).
    Info,
    /// Something failed; the game and the model keep running on what they had.
    Error,
}

/// Something the player should be told once (a toast): saves, loads, errors.
#[derive(Message, Clone, Debug, PartialEq)]
pub struct WorldModelNotice {
    /// Info or error.
    pub level: NoticeLevel,
    /// One line for people.
    pub text: String,
}

impl WorldModelNotice {
    /// An informational notice.
    pub fn info(text: impl Into<String>) -> Self {
        Self {
            level: NoticeLevel::Info,
            text: text.into(),
        }
    }

    /// An error notice.
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            level: NoticeLevel::Error,
            text: text.into(),
        }
    }
}

//! Messages in (commands a game sends) and out (what the model did), the plugin's public
//! surface besides its resources ([`ModelStatus`](crate::ModelStatus) and the others).

use std::path::{Path, PathBuf};

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

    /// The notice of a checkpoint written to `path`.
    pub(crate) fn saved(path: &Path) -> Self {
        Self::info(format!("saved {}", path.display()))
    }

    /// The notice of a save that failed; `reason` names the file (a
    /// [`CheckpointError`](world_model::CheckpointError)'s message does).
    pub(crate) fn save_failed(reason: &str) -> Self {
        Self::error(format!("save failed: {reason}"))
    }

    /// The notice of a save that could not even be asked for.
    pub(crate) fn cannot_save(path: &Path, why: &str) -> Self {
        Self::error(format!("cannot save {}: {why}", path.display()))
    }

    /// What this notice says about a [`SaveCheckpoint`] to `path`: `Some(Ok(()))` when the
    /// checkpoint was written, `Some(Err(text))` when that save failed or could not be
    /// asked for, `None` when the notice is about something else (another file, a load).
    /// A program that must know its checkpoint is on disk (a research run's final
    /// `model.ckpt`) waits for one of the first two.
    pub fn save_result(&self, path: &Path) -> Option<Result<(), String>> {
        let shown = path.display().to_string();
        match self.level {
            NoticeLevel::Info => (self.text == format!("saved {shown}")).then_some(Ok(())),
            NoticeLevel::Error => ((self.text.starts_with("save failed: ")
                || self.text.starts_with("cannot save "))
                && self.text.contains(&shown))
            .then(|| Err(self.text.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_results_are_told_apart_by_file() {
        let path = Path::new("/runs/a/model.ckpt");
        let other = Path::new("/runs/a/model-2min.ckpt");
        assert_eq!(
            WorldModelNotice::saved(path).save_result(path),
            Some(Ok(()))
        );
        assert_eq!(WorldModelNotice::saved(other).save_result(path), None);
        let failed = WorldModelNotice::save_failed(&format!(
            "checkpoint {}: No space left on device",
            path.display()
        ));
        assert!(matches!(failed.save_result(path), Some(Err(t)) if t.contains("No space")));
        assert_eq!(failed.save_result(other), None);
        let refused = WorldModelNotice::cannot_save(path, "the trainer is not running");
        assert!(matches!(refused.save_result(path), Some(Err(_))));
        assert_eq!(
            WorldModelNotice::info("level 'maze'").save_result(path),
            None
        );
    }
}

//! Recording: every transition the model sees, appended to a dataset file (`.wmds`) that
//! `world-model-train` reads. Turned on with
//! [`WorldModelPlugin::with_recording`](crate::WorldModelPlugin::with_recording).

use std::path::{Path, PathBuf};

use bevy::prelude::*;
use thiserror::Error;
use world_model::{DatasetError, DatasetHeader, DatasetWriter, Step};

use crate::messages::FinishRecording;

/// Why recording stopped (reported once; the game goes on without recording).
#[non_exhaustive]
#[derive(Debug, Error)]
pub enum RecordError {
    /// The dataset could not be created, written or flushed.
    #[error("recording stopped: {0}")]
    Dataset(#[from] DatasetError),
}

/// The recording: where it goes, and the open dataset or why it stopped.
#[derive(Resource, Default)]
pub(crate) struct Recorder {
    /// Dataset file and its header; `None`: recording is off.
    target: Option<(PathBuf, DatasetHeader)>,
    state: RecordState,
}

/// The open dataset, or why recording stopped.
#[derive(Default)]
enum RecordState {
    /// Not started (no path set, or before the first transition).
    #[default]
    Idle,
    /// Appending.
    Writing(DatasetWriter),
    /// Stopped after an error (reported once); the game goes on without recording.
    Failed,
    /// Closed on request; nothing more is recorded.
    Finished,
}

impl Recorder {
    /// Records to `path` (created on the first transition) with frames of `header`'s shape.
    pub(crate) fn to(path: PathBuf, header: DatasetHeader) -> Self {
        Self {
            target: Some((path, header)),
            state: RecordState::Idle,
        }
    }

    /// Appends `step` when recording is on; true when it was written. A failure is
    /// returned once; after it, or once finished, nothing is written.
    pub(crate) fn record(&mut self, step: &Step) -> Result<bool, RecordError> {
        let Some((path, header)) = &self.target else {
            return Ok(false);
        };
        write(&mut self.state, path, *header, step)
    }

    /// Flushes the dataset to disk and closes it for good; returns the steps written.
    pub(crate) fn finish(&mut self) -> Option<Result<u64, RecordError>> {
        match std::mem::replace(&mut self.state, RecordState::Finished) {
            RecordState::Writing(w) => Some(w.finish().map_err(RecordError::from)),
            RecordState::Failed => {
                self.state = RecordState::Failed;
                None
            }
            RecordState::Idle | RecordState::Finished => None,
        }
    }

    /// The dataset file, when recording is on.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.target.as_ref().map(|(p, _)| p.as_path())
    }
}

/// Appends `step` to the dataset at `path`, creating it on the first call.
fn write(
    state: &mut RecordState,
    path: &Path,
    header: DatasetHeader,
    step: &Step,
) -> Result<bool, RecordError> {
    if matches!(state, RecordState::Idle) {
        match DatasetWriter::create(path, header) {
            Ok(w) => {
                info!("recording transitions to {}", path.display());
                *state = RecordState::Writing(w);
            }
            Err(e) => {
                *state = RecordState::Failed;
                return Err(e.into());
            }
        }
    }
    let RecordState::Writing(writer) = state else {
        return Ok(false);
    };
    match writer.write(step) {
        Ok(()) => Ok(true),
        Err(e) => {
            *state = RecordState::Failed;
            Err(e.into())
        }
    }
}

/// Closes the dataset on [`FinishRecording`] and when the app exits, so its last records
/// reach the disk.
pub(crate) fn finish_recording(
    mut exits: MessageReader<AppExit>,
    mut requests: MessageReader<FinishRecording>,
    mut recorder: ResMut<Recorder>,
) {
    let requested = requests.read().count() > 0;
    if exits.read().next().is_none() && !requested {
        return;
    }
    let shown = recorder
        .path()
        .map_or("?".into(), |p| p.display().to_string());
    match recorder.finish() {
        Some(Ok(n)) => info!("recorded {n} transitions to {shown}"),
        Some(Err(e)) => error!("recording {shown}: {e}"),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use world_model::{Dataset, Frame};

    fn step(tick: u64) -> Step {
        Step {
            tick,
            frame: Frame::filled(4, 4, [tick as u8; 3]),
            action: vec![0.5, 0.0, -0.5],
            first: tick == 0,
        }
    }

    #[test]
    fn records_until_finished_then_never_again() {
        let dir = std::env::temp_dir().join(format!("wm-record-{}", std::process::id()));
        let path = dir.join("sub/run.wmds");
        let header = DatasetHeader {
            width: 4,
            height: 4,
            action_dim: 3,
        };
        let mut rec = Recorder::to(path.clone(), header);
        for t in 0..5 {
            assert!(matches!(rec.record(&step(t)), Ok(true)));
        }
        assert!(matches!(rec.finish(), Some(Ok(5))));
        assert!(matches!(rec.record(&step(5)), Ok(false)));
        assert!(rec.finish().is_none());
        let ds = Dataset::load(&path).unwrap();
        assert_eq!(ds.steps.len(), 5);
        assert_eq!(ds.steps[3], step(3));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_write_failure_is_reported_once() {
        let blocker = std::env::temp_dir().join(format!("wm-record-file-{}", std::process::id()));
        std::fs::write(&blocker, b"a file, not a directory").unwrap();
        let header = DatasetHeader {
            width: 4,
            height: 4,
            action_dim: 3,
        };
        let mut rec = Recorder::to(blocker.join("run.wmds"), header);
        let err = rec.record(&step(0)).unwrap_err().to_string();
        assert!(err.contains("recording stopped"), "{err}");
        assert!(matches!(rec.record(&step(1)), Ok(false)));
        let _ = std::fs::remove_file(&blocker);
    }
}

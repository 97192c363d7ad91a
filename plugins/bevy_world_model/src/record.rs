//! Recording: every transition the model sees, appended to a dataset file (`.wmds`) that
//! `world-model-train` reads. Turned on with
//! [`WorldModelPlugin::with_recording`](crate::WorldModelPlugin::with_recording). A file
//! that exists is never replaced: the recording takes the next free numbered name
//! (`run-2.wmds`, ...).

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

    /// The dataset file, when recording is on: the one being written once it was created
    /// (a numbered name when the asked-for one was taken), else the one asked for.
    pub(crate) fn path(&self) -> Option<&Path> {
        match &self.state {
            RecordState::Writing(writer) => Some(writer.path()),
            _ => self.target.as_ref().map(|(p, _)| p.as_path()),
        }
    }
}

/// Most numbered names (`run-2.wmds` ... `run-1000.wmds`) tried when a dataset's name is
/// taken.
const MAX_NAME_NUMBER: u32 = 1000;

/// Creates a new dataset at `path`, or, when a file of that name exists (another recording
/// of the same level and seed started in the same second), at `STEM-2.EXT`, `STEM-3.EXT`,
/// ...: each is created only if it does not exist yet (`create_new`), so a recording never
/// replaces another and two recordings never write into one file.
fn create_unique(path: &Path, header: DatasetHeader) -> Result<DatasetWriter, DatasetError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| DatasetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    }
    for n in 1..=MAX_NAME_NUMBER {
        let candidate = numbered(path, n);
        match DatasetWriter::create_new(&candidate, header) {
            Err(DatasetError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists
                    && candidate.symlink_metadata().is_ok() => {}
            other => return other,
        }
    }
    Err(DatasetError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("this name and its numbered ones up to -{MAX_NAME_NUMBER} are taken"),
        ),
    })
}

/// `path` itself for `n == 1`, else `STEM-N.EXT` beside it.
fn numbered(path: &Path, n: u32) -> PathBuf {
    if n == 1 {
        return path.to_path_buf();
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{n}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{n}"),
    };
    path.with_file_name(name)
}

/// Appends `step` to the dataset at `path`, creating it on the first call.
fn write(
    state: &mut RecordState,
    path: &Path,
    header: DatasetHeader,
    step: &Step,
) -> Result<bool, RecordError> {
    if matches!(state, RecordState::Idle) {
        match create_unique(path, header) {
            Ok(w) => {
                info!("recording transitions to {}", w.path().display());
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
        Step::new(
            tick,
            Frame::filled(4, 4, [tick as u8; 3]),
            vec![0.5, 0.0, -0.5],
            tick == 0,
        )
    }

    #[test]
    fn records_until_finished_then_never_again() {
        let dir = std::env::temp_dir().join(format!("wm-record-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
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

    /// Two recordings given one name (two runs of one level and seed started in the same
    /// second) write two files, each whole, and the first keeps the name.
    #[test]
    fn two_recordings_of_one_name_never_share_a_file() {
        let dir = std::env::temp_dir().join(format!("wm-record-twice-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("maze-seed0-20260101-000000.wmds");
        let header = DatasetHeader {
            width: 4,
            height: 4,
            action_dim: 3,
        };
        let mut first = Recorder::to(path.clone(), header);
        let mut second = Recorder::to(path.clone(), header);
        assert!(matches!(first.record(&step(0)), Ok(true)));
        assert!(matches!(second.record(&step(1)), Ok(true)));
        assert!(matches!(second.record(&step(2)), Ok(true)));
        assert!(matches!(first.record(&step(3)), Ok(true)));
        let numbered = dir.join("maze-seed0-20260101-000000-2.wmds");
        assert_eq!(second.path(), Some(numbered.as_path()));
        assert!(matches!(first.finish(), Some(Ok(2))));
        assert!(matches!(second.finish(), Some(Ok(2))));
        assert_eq!(Dataset::load(&path).unwrap().steps, vec![step(0), step(3)]);
        assert_eq!(
            Dataset::load(&numbered).unwrap().steps,
            vec![step(1), step(2)]
        );
        // A third takes -3; the two files are left as they are.
        let before = std::fs::read(&path).unwrap();
        let mut third = Recorder::to(path.clone(), header);
        assert!(matches!(third.record(&step(4)), Ok(true)));
        assert!(matches!(third.finish(), Some(Ok(1))));
        assert!(dir.join("maze-seed0-20260101-000000-3.wmds").is_file());
        assert_eq!(std::fs::read(&path).unwrap(), before);
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

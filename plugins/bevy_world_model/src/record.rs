//! Recording: every transition the model sees, appended to a dataset file (`.wmds`) that
//! `world-model-train` reads. Turned on with
//! [`WorldModelPlugin::with_recording`](crate::WorldModelPlugin::with_recording).

use std::path::Path;

use bevy::prelude::*;
use world_model::{DatasetHeader, DatasetWriter, Step};

use crate::messages::{FinishRecording, WorldModelNotice};
use crate::output::WorldModelOutput;
use crate::runtime::WorldModelRuntime;
use crate::settings::WorldModelSettings;

/// The open dataset, or why recording stopped.
#[derive(Default)]
pub(crate) enum Recorder {
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
    /// Appends `step` to the dataset at `path`, creating it on the first call; true when it
    /// was written. A failure is returned once; after it, or once finished, nothing is written.
    pub(crate) fn write(
        &mut self,
        path: &Path,
        header: DatasetHeader,
        step: &Step,
    ) -> Result<bool, String> {
        if matches!(self, Self::Idle) {
            match DatasetWriter::create(path, header) {
                Ok(w) => {
                    info!("recording transitions to {}", path.display());
                    *self = Self::Writing(w);
                }
                Err(e) => {
                    *self = Self::Failed;
                    return Err(format!("recording stopped: {e}"));
                }
            }
        }
        let Self::Writing(writer) = self else {
            return Ok(false);
        };
        match writer.write(step) {
            Ok(()) => Ok(true),
            Err(e) => {
                *self = Self::Failed;
                Err(format!("recording stopped: {e}"))
            }
        }
    }

    /// Flushes the dataset to disk and closes it for good; returns the steps written.
    pub(crate) fn finish(&mut self) -> Option<Result<u64, String>> {
        match std::mem::replace(self, Self::Finished) {
            Self::Writing(w) => Some(w.finish().map_err(|e| e.to_string())),
            Self::Failed => {
                *self = Self::Failed;
                None
            }
            Self::Idle | Self::Finished => None,
        }
    }
}

/// Appends one transition when recording is on; errors become a notice.
pub(crate) fn record_step(
    rt: &mut WorldModelRuntime,
    settings: &WorldModelSettings,
    output: &mut WorldModelOutput,
    notices: &mut MessageWriter<WorldModelNotice>,
    step: &Step,
) {
    let Some(path) = &settings.record_to else {
        return;
    };
    let header = DatasetHeader {
        width: settings.config.width,
        height: settings.config.height,
        action_dim: settings.config.action_dim,
    };
    match rt.recorder.write(path, header, step) {
        Ok(written) => output.recorded += u64::from(written),
        Err(e) => {
            error!("{e}");
            output.last_error = Some(e.clone());
            notices.write(WorldModelNotice::error(e));
        }
    }
}

/// Closes the dataset on [`FinishRecording`] and when the app exits, so its last records
/// reach the disk.
pub(crate) fn finish_recording(
    mut exits: MessageReader<AppExit>,
    mut requests: MessageReader<FinishRecording>,
    settings: Res<WorldModelSettings>,
    mut runtime: ResMut<WorldModelRuntime>,
) {
    let requested = requests.read().count() > 0;
    if exits.read().next().is_none() && !requested {
        return;
    }
    match runtime.recorder.finish() {
        Some(Ok(n)) => info!(
            "recorded {n} transitions to {}",
            settings
                .record_to
                .as_deref()
                .map_or("?".into(), |p| p.display().to_string())
        ),
        Some(Err(e)) => error!("recording: {e}"),
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
        let mut rec = Recorder::default();
        for t in 0..5 {
            assert_eq!(rec.write(&path, header, &step(t)), Ok(true));
        }
        assert_eq!(rec.finish(), Some(Ok(5)));
        assert_eq!(rec.write(&path, header, &step(5)), Ok(false));
        assert_eq!(rec.finish(), None);
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
        let mut rec = Recorder::default();
        let err = rec
            .write(&blocker.join("run.wmds"), header, &step(0))
            .unwrap_err();
        assert!(err.contains("recording stopped"), "{err}");
        assert_eq!(
            rec.write(&blocker.join("run.wmds"), header, &step(1)),
            Ok(false)
        );
        let _ = std::fs::remove_file(&blocker);
    }
}

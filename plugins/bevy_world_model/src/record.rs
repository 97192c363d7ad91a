//! Recording: every transition the model sees, appended to a dataset file (`.wmds`) that
//! `world-model-train` reads. Turned on with
//! [`WorldModelPlugin::with_recording`](crate::WorldModelPlugin::with_recording).

use std::path::Path;

use bevy::prelude::*;
use world_model::{DatasetHeader, DatasetWriter, Step};

use crate::messages::WorldModelNotice;
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
}

impl Recorder {
    /// Appends `step` to the dataset at `path`, creating it on the first call. A failure is
    /// returned once; later calls do nothing.
    pub(crate) fn write(
        &mut self,
        path: &Path,
        header: DatasetHeader,
        step: &Step,
    ) -> Result<(), String> {
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
            return Ok(());
        };
        writer.write(step).map_err(|e| {
            *self = Self::Failed;
            format!("recording stopped: {e}")
        })
    }

    /// Flushes the dataset to disk and closes it; returns the steps written.
    pub(crate) fn finish(&mut self) -> Option<Result<u64, String>> {
        match std::mem::take(self) {
            Self::Writing(w) => Some(w.finish().map_err(|e| e.to_string())),
            other => {
                *self = other;
                None
            }
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
        Ok(()) => output.recorded += 1,
        Err(e) => {
            error!("{e}");
            output.last_error = Some(e.clone());
            notices.write(WorldModelNotice::error(e));
        }
    }
}

/// Closes the dataset when the app exits, so its last records reach the disk.
pub(crate) fn finish_on_exit(
    mut exits: MessageReader<AppExit>,
    settings: Res<WorldModelSettings>,
    mut runtime: ResMut<WorldModelRuntime>,
) {
    if exits.read().next().is_none() {
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

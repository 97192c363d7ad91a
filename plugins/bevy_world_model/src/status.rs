//! What the plugin tells a game about itself: [`ModelStatus`] (which model runs where, the
//! trainer's numbers, the last error), [`ModelCounters`] (what flowed where), and the one
//! way the plugin reports a notice (logged once, kept as the last error, sent as a message).

use std::time::Instant;

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use world_model::{TrainStats, WorldModelConfig};

use crate::latent::LatentInfo;
use crate::messages::{NoticeLevel, WorldModelNotice};

/// Which model runs, where, and how its training goes. Written by the plugin; read it from
/// any system after [`WorldModelSystems::TrainSync`](crate::WorldModelSystems::TrainSync).
#[derive(Resource, Debug, Clone)]
pub struct ModelStatus {
    /// Where the model runs and why (`"starting"` before startup, `"none"` if it failed).
    pub device: String,
    /// Which weights are running: "random init" or the checkpoint they came from.
    pub model_source: String,
    /// Optimizer step of the weights predicting now.
    pub weights_step: u64,
    /// Optimizer step of the weights the session started from (or last loaded): what the
    /// model knew before learning online here.
    pub start_step: u64,
    /// When those weights started running (online learning counts from here).
    pub online_since: Instant,
    /// The trainer's latest numbers; `None` before its first step.
    pub trainer: Option<TrainStats>,
    /// The last error, until a success that replaces the model clears it.
    pub last_error: Option<String>,
    /// The latent state now and its recent code usage.
    pub latent: Option<LatentInfo>,
    /// Checkpoint saves that failed since the start (each was also a notice): a program that
    /// must not lose work exits with an error when this is not 0.
    pub failed_saves: u64,
    /// Why the recording stopped, when it failed (see
    /// [`WorldModelPlugin::with_recording`](crate::WorldModelPlugin::with_recording)).
    pub recording_error: Option<String>,
    config: WorldModelConfig,
}

impl ModelStatus {
    pub(crate) fn new(config: WorldModelConfig) -> Self {
        Self {
            device: "starting".into(),
            model_source: "random init".into(),
            weights_step: 0,
            start_step: 0,
            online_since: Instant::now(),
            trainer: None,
            last_error: None,
            latent: None,
            failed_saves: 0,
            recording_error: None,
            config,
        }
    }

    /// The model and trainer config the plugin was built with (read-only: it is fixed when
    /// the engine starts; set it with
    /// [`WorldModelPlugin::with_config`](crate::WorldModelPlugin::with_config)).
    pub fn config(&self) -> &WorldModelConfig {
        &self.config
    }

    /// Records that the weights from `source` at `step` started running now.
    pub(crate) fn weights_from(&mut self, source: String, step: u64) {
        self.model_source = source;
        self.weights_step = step;
        self.start_step = step;
        self.online_since = Instant::now();
    }
}

/// What flowed through the plugin since it started; also published as diagnostics
/// ([`WorldModelDiagnosticsPlugin`](crate::WorldModelDiagnosticsPlugin)).
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq)]
pub struct ModelCounters {
    /// Transitions handed to the trainer.
    pub sent: u64,
    /// Transitions dropped because the trainer's queue was full (the frame loop never waits).
    pub dropped: u64,
    /// Frames that arrived after a later tick had been processed (not used).
    pub late_frames: u64,
    /// Ticks the current dream has run without a real frame.
    pub dream_ticks: u64,
    /// Transitions written to the recording (see
    /// [`WorldModelPlugin::with_recording`](crate::WorldModelPlugin::with_recording)).
    pub recorded: u64,
    /// Milliseconds the last inference (observe + predict, or a dream step) took.
    pub infer_ms: f32,
}

/// The one way the plugin tells the player something: logs it once at its level, keeps an
/// error as [`ModelStatus::last_error`] and writes the [`WorldModelNotice`] (a toast).
#[derive(SystemParam)]
pub(crate) struct Notify<'w> {
    /// The status the notice's error lands in (systems that report also update it).
    pub status: ResMut<'w, ModelStatus>,
    notices: MessageWriter<'w, WorldModelNotice>,
}

impl Notify<'_> {
    /// Logs, records and sends `notice`.
    pub fn send(&mut self, notice: WorldModelNotice) {
        match notice.level {
            NoticeLevel::Info => info!("{}", notice.text),
            NoticeLevel::Error => {
                error!("{}", notice.text);
                self.status.last_error = Some(notice.text.clone());
            }
        }
        self.notices.write(notice);
    }

    /// Reports a failure; the game and the model go on with what they had.
    pub fn error(&mut self, text: impl Into<String>) {
        self.send(WorldModelNotice::error(text));
    }

    /// Reports a success.
    pub fn info(&mut self, text: impl Into<String>) {
        self.send(WorldModelNotice::info(text));
    }
}

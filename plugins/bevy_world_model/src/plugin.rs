//! [`WorldModelPlugin`]: capture + live prediction + online learning for any tagged camera.

use std::path::PathBuf;
use std::time::Duration;

use bevy::prelude::*;
use bevy::transform::TransformSystems;
use world_model::{DatasetHeader, DeviceChoice, WorldModelConfig};

use crate::action::{ActionLog, record_actions};
use crate::capture::{CapturePlugin, ModelClock};
use crate::engine::EngineSetup;
use crate::infer::{Predictions, build_strip, dream, process_frames};
use crate::latent::CodeUsage;
use crate::messages::{
    FinishRecording, LoadCheckpoint, PredictionScored, ResetLatent, SaveCheckpoint, ToggleDream,
    ToggleLearning, WorldModelNotice,
};
use crate::modes::{DreamMode, Driver, Learning};
use crate::present::{ModelImages, PresentQueue, present};
use crate::queue::FrameQueue;
use crate::record::{Recorder, finish_recording};
use crate::reward::{AgentPolicy, Episodes, OutcomeLog, RewardScored, record_outcomes};
use crate::schedule::WorldModelSystems;
use crate::scores::ModelScores;
use crate::settings::{EgoMotionScale, WorldModelSettings};
use crate::status::{ModelCounters, ModelStatus};
use crate::strip::PendingStrip;
use crate::{commands, train_sync};

/// A Dreamer-style world model that learns, while the game runs, to predict the next frame
/// of the camera tagged with [`WorldModelCamera`](crate::WorldModelCamera).
///
/// ```no_run
/// use bevy::prelude::*;
/// use bevy_world_model::{WorldModelCamera, WorldModelPlugin};
///
/// App::new()
///     .add_plugins((DefaultPlugins, WorldModelPlugin::default()))
///     .add_systems(Startup, |mut commands: Commands| {
///         commands.spawn((Camera3d::default(), WorldModelCamera::default()));
///     })
///     .run();
/// ```
///
/// Training runs on its own thread; the frame loop only runs inference and never waits for
/// the trainer. The builder's choices are fixed when the app starts; what can change live is
/// in [`WorldModelSettings`].
#[derive(Clone, Debug)]
pub struct WorldModelPlugin {
    config: WorldModelConfig,
    frames_per_tick: u32,
    tick_period: Option<Duration>,
    device: DeviceChoice,
    start_checkpoint: Option<PathBuf>,
    learning_at_start: bool,
    trainer_threads: Option<usize>,
    record_to: Option<PathBuf>,
    tune_allocator: bool,
    settings: WorldModelSettings,
}

impl Default for WorldModelPlugin {
    fn default() -> Self {
        Self {
            config: WorldModelConfig::default(),
            frames_per_tick: 1,
            tick_period: None,
            device: DeviceChoice::Auto,
            start_checkpoint: None,
            learning_at_start: true,
            trainer_threads: None,
            record_to: None,
            tune_allocator: false,
            settings: WorldModelSettings::default(),
        }
    }
}

impl WorldModelPlugin {
    /// Starts with these live settings (temperature, ego-motion scale, heatmap scale,
    /// checkpoint directory).
    #[must_use]
    pub fn with_settings(mut self, settings: WorldModelSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Capture and model resolution (the camera's [`WorldModelCamera`](crate::WorldModelCamera)
    /// must use the same size).
    #[must_use]
    pub fn with_resolution(mut self, width: u32, height: u32) -> Self {
        self.config.width = width as usize;
        self.config.height = height as usize;
        self
    }

    /// The model ticks once every `frames` app updates (1 = every frame). The live value is
    /// [`ModelClock::frames_per_tick`].
    #[must_use]
    pub fn with_frames_per_tick(mut self, frames: u32) -> Self {
        self.frames_per_tick = frames.max(1);
        self
    }

    /// The model ticks `hz` times per second of virtual time, whatever the frame rate (a
    /// pretrained model expects the motion per step it was trained with). Non-positive or
    /// non-finite rates are ignored (ticks stay per frame). The live value is
    /// [`ModelClock::period`].
    #[must_use]
    pub fn with_tick_hz(mut self, hz: f64) -> Self {
        if hz.is_finite() && hz > 0.0 {
            self.tick_period = Some(Duration::from_secs_f64(1.0 / hz));
        }
        self
    }

    /// Where the model runs: `auto` (GPU when one exists), `flex` (CPU) or `wgpu`.
    #[must_use]
    pub fn with_device(mut self, device: DeviceChoice) -> Self {
        self.device = device;
        self
    }

    /// Directory for checkpoints saved without an explicit path (live:
    /// [`WorldModelSettings::checkpoint_dir`]).
    #[must_use]
    pub fn with_checkpoint_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.settings.checkpoint_dir = dir.into();
        self
    }

    /// Starts from this checkpoint (a bad file is reported; random weights are used).
    #[must_use]
    pub fn with_checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.start_checkpoint = Some(path.into());
        self
    }

    /// The model and trainer config (network shape, learning rate ...). Its frame size
    /// becomes the capture resolution.
    #[must_use]
    pub fn with_config(mut self, config: WorldModelConfig) -> Self {
        self.config = config;
        self
    }

    /// Whether learning is on from the start (the initial [`Learning`] state).
    #[must_use]
    pub fn with_learning(mut self, on: bool) -> Self {
        self.learning_at_start = on;
        self
    }

    /// Dream sampling temperature (live: [`WorldModelSettings::temperature`]).
    #[must_use]
    pub fn with_temperature(mut self, temperature: f32) -> Self {
        self.settings.temperature = temperature;
        self
    }

    /// Records every transition (frame, action, episode start) to a dataset file that
    /// `world-model-train` reads; the file is created on the first transition.
    #[must_use]
    pub fn with_recording(mut self, path: impl Into<PathBuf>) -> Self {
        self.record_to = Some(path.into());
        self
    }

    /// Threads of the trainer's pool (default: all cores but one, so rendering and
    /// inference keep a core).
    #[must_use]
    pub fn with_trainer_threads(mut self, threads: usize) -> Self {
        self.trainer_threads = Some(threads.max(1));
        self
    }

    /// How camera motion per tick maps to actions (live: [`WorldModelSettings::ego_motion`]).
    #[must_use]
    pub fn with_ego_motion_scale(mut self, scale: EgoMotionScale) -> Self {
        self.settings.ego_motion = scale;
        self
    }

    /// Opts in to [`world_model::allocator::keep_freed_memory`] for the whole process when
    /// the plugin is built: training steps then stop re-faulting their buffers, at the cost
    /// of keeping one step's peak memory in the heap. Off by default, because it changes
    /// the host game's allocator.
    #[must_use]
    pub fn with_allocator_tuning(mut self, on: bool) -> Self {
        self.tune_allocator = on;
        self
    }

    /// Capture width and height, in pixels.
    pub fn resolution(&self) -> UVec2 {
        UVec2::new(self.config.width as u32, self.config.height as u32)
    }
}

impl Plugin for WorldModelPlugin {
    fn build(&self, app: &mut App) {
        if !app.is_plugin_added::<CapturePlugin>() {
            app.add_plugins(CapturePlugin);
        }
        if !app.is_plugin_added::<bevy::state::app::StatesPlugin>() {
            app.add_plugins(bevy::state::app::StatesPlugin);
        }
        if self.tune_allocator {
            world_model::allocator::keep_freed_memory();
        }
        let res = self.resolution();
        let images = {
            let mut images = app.world_mut().get_resource_or_init::<Assets<Image>>();
            ModelImages::new(&mut images, res.x, res.y)
        };
        {
            let mut clock = app.world_mut().resource_mut::<ModelClock>();
            clock.frames_per_tick = self.frames_per_tick;
            clock.period = self.tick_period;
        }
        let recorder = match &self.record_to {
            Some(path) => Recorder::to(
                path.clone(),
                DatasetHeader {
                    width: self.config.width,
                    height: self.config.height,
                    action_dim: self.config.action_dim,
                },
            ),
            None => Recorder::default(),
        };
        // Public resources
        app.insert_resource(self.settings.clone())
            .insert_resource(images)
            .insert_resource(ModelStatus::new(self.config.clone()))
            .init_resource::<ModelScores>()
            .init_resource::<Episodes>()
            .init_resource::<AgentPolicy>()
            .init_resource::<ModelCounters>();
        // Each stage's own state
        app.insert_resource(EngineSetup {
            config: self.config.clone(),
            device: self.device,
            start_checkpoint: self.start_checkpoint.clone(),
            trainer_threads: self.trainer_threads,
        })
        .insert_resource(recorder)
        .init_resource::<ActionLog>()
        .init_resource::<OutcomeLog>()
        .init_resource::<FrameQueue>()
        .init_resource::<Predictions>()
        .init_resource::<PendingStrip>()
        .init_resource::<CodeUsage>()
        .init_resource::<PresentQueue>();
        // Modes and messages
        app.insert_state(if self.learning_at_start {
            Learning::On
        } else {
            Learning::Paused
        })
        .init_state::<DreamMode>()
        .init_state::<Driver>()
        .add_message::<ToggleLearning>()
        .add_message::<ToggleDream>()
        .add_message::<ResetLatent>()
        .add_message::<SaveCheckpoint>()
        .add_message::<LoadCheckpoint>()
        .add_message::<PredictionScored>()
        .add_message::<RewardScored>()
        .add_message::<FinishRecording>()
        .add_message::<WorldModelNotice>();
        // Main schedule
        app.configure_sets(
            PostUpdate,
            (
                WorldModelSystems::TrainSync,
                WorldModelSystems::Infer,
                WorldModelSystems::Present,
            )
                .chain()
                .after(TransformSystems::Propagate),
        )
        .add_systems(Startup, commands::start_engine)
        .add_systems(
            PostUpdate,
            (
                (train_sync::sync_trainer, commands::handle_commands)
                    .chain()
                    .in_set(WorldModelSystems::TrainSync),
                (
                    record_actions,
                    record_outcomes,
                    process_frames,
                    build_strip.run_if(in_state(DreamMode::Observing)),
                    dream.run_if(in_state(DreamMode::Dreaming)),
                )
                    .chain()
                    .in_set(WorldModelSystems::Infer),
                present.in_set(WorldModelSystems::Present),
            ),
        )
        .add_systems(Last, finish_recording)
        .add_systems(OnEnter(Learning::On), commands::on_learning_changed)
        .add_systems(OnEnter(Learning::Paused), commands::on_learning_changed)
        .add_systems(OnEnter(DreamMode::Dreaming), commands::on_enter_dream)
        .add_systems(OnExit(DreamMode::Dreaming), commands::on_exit_dream);
    }
}

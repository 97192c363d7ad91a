//! [`WorldModelPlugin`]: capture + live prediction + online learning for any tagged camera.

use std::path::PathBuf;

use bevy::prelude::*;
use bevy::transform::TransformSystems;
use world_model::{DeviceChoice, WorldModelConfig};

use crate::capture::ModelClock;
use crate::messages::{
    FinishRecording, LoadCheckpoint, PredictionScored, ResetLatent, SaveCheckpoint, ToggleDream,
    ToggleLearning, WorldModelNotice,
};
use crate::modes::{DreamMode, Learning};
use crate::output::WorldModelOutput;
use crate::runtime::WorldModelRuntime;
use crate::settings::{EgoMotionScale, WorldModelSettings};
use crate::{CapturePlugin, WorldModelSystems, control, infer};

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
/// Training runs on its own thread; the frame loop only runs inference (a few ms at 64x64
/// on a CPU) and never waits for the trainer.
#[derive(Clone, Debug, Default)]
pub struct WorldModelPlugin {
    settings: WorldModelSettings,
}

impl WorldModelPlugin {
    /// Starts from explicit settings.
    pub fn from_settings(settings: WorldModelSettings) -> Self {
        Self { settings }
    }

    /// Capture and model resolution (the camera's [`WorldModelCamera`](crate::WorldModelCamera)
    /// must use the same size).
    pub fn with_resolution(mut self, width: u32, height: u32) -> Self {
        self.settings.config.width = width as usize;
        self.settings.config.height = height as usize;
        self
    }

    /// The model ticks once every `frames` app updates (1 = every frame).
    pub fn with_frames_per_tick(mut self, frames: u32) -> Self {
        self.settings.frames_per_tick = frames.max(1);
        self
    }

    /// The model ticks `hz` times per second of virtual time, whatever the frame rate (a
    /// pretrained model expects the motion per step it was trained with). Non-positive or
    /// non-finite rates are ignored (ticks stay per frame).
    pub fn with_tick_hz(mut self, hz: f64) -> Self {
        if hz.is_finite() && hz > 0.0 {
            self.settings.tick_period = Some(std::time::Duration::from_secs_f64(1.0 / hz));
        }
        self
    }

    /// Where the model runs: `auto` (GPU when one exists), `flex` (CPU) or `wgpu`.
    pub fn with_device(mut self, device: DeviceChoice) -> Self {
        self.settings.device = device;
        self
    }

    /// Directory for checkpoints saved without an explicit path.
    pub fn with_checkpoint_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.settings.checkpoint_dir = dir.into();
        self
    }

    /// Starts from this checkpoint (a bad file is reported; random weights are used).
    pub fn with_checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.start_checkpoint = Some(path.into());
        self
    }

    /// The model and trainer config (network shape, learning rate ...). Its frame size
    /// becomes the capture resolution.
    pub fn with_config(mut self, config: WorldModelConfig) -> Self {
        self.settings.config = config;
        self
    }

    /// Whether learning is on from the start.
    pub fn with_learning(mut self, on: bool) -> Self {
        self.settings.learning_at_start = on;
        self
    }

    /// Dream sampling temperature.
    pub fn with_temperature(mut self, temperature: f32) -> Self {
        self.settings.temperature = temperature;
        self
    }

    /// Records every transition (frame, action, episode start) to a dataset file that
    /// `world-model-train` reads; the file is created on the first transition.
    pub fn with_recording(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.record_to = Some(path.into());
        self
    }

    /// Threads of the trainer's pool (default: all cores but one, so rendering and
    /// inference keep a core).
    pub fn with_trainer_threads(mut self, threads: usize) -> Self {
        self.settings.trainer_threads = Some(threads.max(1));
        self
    }

    /// How camera motion per tick maps to actions.
    pub fn with_ego_motion_scale(mut self, scale: EgoMotionScale) -> Self {
        self.settings.ego_motion = scale;
        self
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
        let res = self.settings.resolution();
        let output = {
            let mut images = app.world_mut().get_resource_or_init::<Assets<Image>>();
            WorldModelOutput::new(&mut images, res.x, res.y)
        };
        {
            let mut clock = app.world_mut().resource_mut::<ModelClock>();
            clock.frames_per_tick = self.settings.frames_per_tick;
            clock.period = self.settings.tick_period;
        }
        app.insert_resource(self.settings.clone())
            .insert_resource(output)
            .init_resource::<WorldModelRuntime>()
            .init_state::<Learning>()
            .init_state::<DreamMode>()
            .add_message::<ToggleLearning>()
            .add_message::<ToggleDream>()
            .add_message::<ResetLatent>()
            .add_message::<SaveCheckpoint>()
            .add_message::<LoadCheckpoint>()
            .add_message::<PredictionScored>()
            .add_message::<FinishRecording>()
            .add_message::<WorldModelNotice>();
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
        .add_systems(Startup, control::start_engine)
        .add_systems(
            PostUpdate,
            (
                (control::sync_trainer, control::handle_commands)
                    .chain()
                    .in_set(WorldModelSystems::TrainSync),
                (
                    infer::record_actions,
                    infer::process_frames,
                    infer::build_strip.run_if(in_state(DreamMode::Observing)),
                    infer::dream.run_if(in_state(DreamMode::Dreaming)),
                )
                    .chain()
                    .in_set(WorldModelSystems::Infer),
                crate::output::present.in_set(WorldModelSystems::Present),
            ),
        )
        .add_systems(Last, crate::record::finish_recording)
        .add_systems(OnEnter(Learning::On), control::on_learning_changed)
        .add_systems(OnEnter(Learning::Paused), control::on_learning_changed)
        .add_systems(OnEnter(DreamMode::Dreaming), control::on_enter_dream)
        .add_systems(OnExit(DreamMode::Dreaming), control::on_exit_dream);
    }
}

//! The plugin's settings: one resource, filled from [`WorldModelPlugin`](crate::WorldModelPlugin)'s
//! builder and changeable while the game runs (temperature, ego-motion scale).

use std::path::PathBuf;

use bevy::prelude::*;
use world_model::{DeviceChoice, WorldModelConfig};

/// How camera ego-motion turns into an action vector: the motion over one tick that reads as
/// 1.0. Games with faster cameras raise these so actions stay around `[-1, 1]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EgoMotionScale {
    /// World units moved per tick that read as 1.0.
    pub translation: f32,
    /// Radians turned per tick that read as 1.0.
    pub rotation: f32,
}

impl Default for EgoMotionScale {
    /// Sized for a walking first-person camera (3 units/s, 2.2 rad/s) at 15-60 fps.
    fn default() -> Self {
        Self {
            translation: 0.1,
            rotation: 0.08,
        }
    }
}

/// Everything the world-model plugin needs to know; read it, or change the live fields
/// (`temperature`, `ego_motion`), from any system.
#[derive(Resource, Clone, Debug)]
pub struct WorldModelSettings {
    /// The model and trainer config (frame size = capture resolution, action size, network
    /// shape, learning rate ...). Saved inside every checkpoint.
    pub config: WorldModelConfig,
    /// App updates per model tick: 1 predicts and learns every frame; 2 every other frame.
    /// Ignored when `tick_period` is set.
    pub frames_per_tick: u32,
    /// Tick on time instead: one model step per period of virtual time, whatever the frame
    /// rate, so a model trained at one rate sees the same motion per step in any game.
    pub tick_period: Option<std::time::Duration>,
    /// Where the model runs: `Auto` takes a hardware GPU through wgpu when there is one.
    pub device: DeviceChoice,
    /// Where [`SaveCheckpoint`](crate::SaveCheckpoint) without a path writes its timestamped file.
    pub checkpoint_dir: PathBuf,
    /// A checkpoint to start from; `None` starts from random weights.
    pub start_checkpoint: Option<PathBuf>,
    /// Sampling temperature of the pure dream (see [`world_model::Predictor::dream_step`]).
    pub temperature: f32,
    /// Whether the trainer learns from the first frame on.
    pub learning_at_start: bool,
    /// Scale of the ego-motion action of cameras without a [`WorldModelAction`](crate::WorldModelAction).
    pub ego_motion: EgoMotionScale,
    /// Error (0-255 units) shown as the hottest colour of the heatmap.
    pub heatmap_full_scale: f64,
    /// Threads of the trainer's own pool; `None` takes all cores but one (at least one), so
    /// the frame loop's inference and the renderer keep a core.
    pub trainer_threads: Option<usize>,
    /// Append every transition the model sees to this dataset file (`.wmds`), for offline
    /// training with `world-model-train`. `None`: no recording.
    pub record_to: Option<PathBuf>,
}

impl Default for WorldModelSettings {
    fn default() -> Self {
        Self {
            config: WorldModelConfig::default(),
            frames_per_tick: 1,
            tick_period: None,
            device: DeviceChoice::Auto,
            checkpoint_dir: PathBuf::from("checkpoints"),
            start_checkpoint: None,
            temperature: 1.0,
            learning_at_start: true,
            ego_motion: EgoMotionScale::default(),
            heatmap_full_scale: 64.0,
            trainer_threads: None,
            record_to: None,
        }
    }
}

impl WorldModelSettings {
    /// The trainer pool size this machine gets.
    pub fn trainer_pool_size(&self) -> usize {
        self.trainer_threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1))
                .max(1)
        })
    }

    /// Capture width and height, in pixels.
    pub fn resolution(&self) -> UVec2 {
        UVec2::new(self.config.width as u32, self.config.height as u32)
    }
}

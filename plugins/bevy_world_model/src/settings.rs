//! What can change while the game runs: [`WorldModelSettings`], read by the plugin's systems
//! every time they use a value. Choices fixed at start (config, device, tick rate, start
//! checkpoint, recording) are set on [`WorldModelPlugin`](crate::WorldModelPlugin).

use std::path::PathBuf;

use bevy::prelude::*;

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

/// The plugin's live settings: change any field from a system and the next use sees it.
#[derive(Resource, Clone, Debug, PartialEq)]
pub struct WorldModelSettings {
    /// Dream sampling temperature: 0 takes the most likely code, 1 samples the prior as
    /// trained. Default: `1.0`
    pub temperature: f32,
    /// How camera motion maps to actions, for cameras without a
    /// [`WorldModelAction`](crate::WorldModelAction). Default: [`EgoMotionScale::default`]
    pub ego_motion: EgoMotionScale,
    /// Error (0-255 units) shown as the hottest colour of the heatmap. Default: `64.0`
    pub heatmap_full_scale: f64,
    /// Directory for checkpoints saved without an explicit path (read at each save).
    /// Default: `checkpoints`
    pub checkpoint_dir: PathBuf,
}

impl Default for WorldModelSettings {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            ego_motion: EgoMotionScale::default(),
            heatmap_full_scale: 64.0,
            checkpoint_dir: PathBuf::from("checkpoints"),
        }
    }
}

//! The game's keys for the world model: L learning, P pure dream, R reset latent state,
//! F5 save a checkpoint, `[` / `]` dream temperature. (H, the heatmap, belongs to the UI.)

use bevy::prelude::*;
use bevy_world_model::{
    ResetLatent, SaveCheckpoint, ToggleDream, ToggleLearning, WorldModelSettings,
};

/// Maps keys to world-model commands.
pub struct ControlsPlugin;

impl Plugin for ControlsPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, model_keys);
    }
}

/// Dream temperature bounds and step for the `[` and `]` keys.
const TEMPERATURE_STEP: f32 = 0.1;
const TEMPERATURE_MAX: f32 = 3.0;

#[allow(clippy::too_many_arguments)]
fn model_keys(
    keys: Option<Res<ButtonInput<KeyCode>>>,
    mut settings: ResMut<WorldModelSettings>,
    mut learning: MessageWriter<ToggleLearning>,
    mut dream: MessageWriter<ToggleDream>,
    mut reset: MessageWriter<ResetLatent>,
    mut save: MessageWriter<SaveCheckpoint>,
) {
    let Some(keys) = keys else {
        return;
    };
    let ctrl = keys.any_pressed([KeyCode::ControlLeft, KeyCode::ControlRight]);
    if keys.just_pressed(KeyCode::KeyL) {
        learning.write(ToggleLearning);
    }
    if keys.just_pressed(KeyCode::KeyP) {
        dream.write(ToggleDream);
    }
    if keys.just_pressed(KeyCode::KeyR) && !ctrl {
        reset.write(ResetLatent);
    }
    if keys.just_pressed(KeyCode::F5) {
        save.write(SaveCheckpoint(None));
    }
    if keys.just_pressed(KeyCode::BracketLeft) {
        settings.temperature = (settings.temperature - TEMPERATURE_STEP).max(0.0);
    }
    if keys.just_pressed(KeyCode::BracketRight) {
        settings.temperature = (settings.temperature + TEMPERATURE_STEP).min(TEMPERATURE_MAX);
    }
}

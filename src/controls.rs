//! The game's keys for the world model: L learning, P pure dream, R reset latent state,
//! F5 save a checkpoint, `[` / `]` dream temperature; N the next shipped level; H the
//! dashboard's error heatmap (the dashboard reads no keys, so the game sends it
//! [`ToggleHeatmap`]). Level loads and level file errors become notices, so the dashboard
//! shows them.

use bevy::prelude::*;
use bevy_procgen::{CurrentLevel, LEVEL_EXTENSION, LevelEvent, LoadLevelFile};
use bevy_world_model::{
    ResetLatent, SaveCheckpoint, ToggleDream, ToggleLearning, WorldModelNotice, WorldModelSettings,
};
use bevy_world_model_ui::ToggleHeatmap;

/// Maps keys to world-model commands.
pub struct ControlsPlugin;

impl Plugin for ControlsPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<ShippedLevels>().add_systems(
            Update,
            (model_keys, dashboard_keys, next_level_key, level_notices),
        );
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

/// H: the dashboard's heatmap. Without the dashboard (headless, `--no-ui`) nobody
/// registered the message, and the key does nothing.
fn dashboard_keys(
    keys: Option<Res<ButtonInput<KeyCode>>>,
    heatmap: Option<MessageWriter<ToggleHeatmap>>,
) {
    if let (Some(keys), Some(mut heatmap)) = (keys, heatmap)
        && keys.just_pressed(KeyCode::KeyH)
    {
        heatmap.write(ToggleHeatmap);
    }
}

/// Names of the shipped levels (`assets/levels/NAME.level.ron`), in the order N cycles
/// through them, and the game's seed.
#[derive(Resource, Default, Debug, Clone)]
pub struct ShippedLevels {
    /// Level names, sorted.
    pub names: Vec<String>,
    /// Seed for levels without their own.
    pub seed: u64,
}

fn next_level_key(
    keys: Option<Res<ButtonInput<KeyCode>>>,
    shipped: Res<ShippedLevels>,
    level: Option<Res<CurrentLevel>>,
    mut files: MessageWriter<LoadLevelFile>,
) {
    let Some(keys) = keys else {
        return;
    };
    if !keys.just_pressed(KeyCode::KeyN) || shipped.names.is_empty() {
        return;
    }
    let current = level.map(|l| l.spec.name.clone()).unwrap_or_default();
    let next = shipped
        .names
        .iter()
        .position(|n| *n == current)
        .map_or(0, |i| (i + 1) % shipped.names.len());
    files.write(LoadLevelFile {
        path: format!("levels/{}.{LEVEL_EXTENSION}", shipped.names[next]),
        seed: shipped.seed,
    });
}

fn level_notices(
    mut events: MessageReader<LevelEvent>,
    mut notices: MessageWriter<WorldModelNotice>,
) {
    for event in events.read() {
        notices.write(match event {
            LevelEvent::Spawned { name, .. } => WorldModelNotice::info(format!("level '{name}'")),
            LevelEvent::Failed(e) => WorldModelNotice::error(e.to_string()),
        });
    }
}

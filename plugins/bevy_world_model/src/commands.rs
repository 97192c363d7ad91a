//! Starting the engine, the game's commands (toggles, reset, save, load) and the hooks that
//! follow mode changes. Runs in [`WorldModelSystems::TrainSync`](crate::WorldModelSystems::TrainSync),
//! after the trainer's news is in.

use bevy::prelude::*;
use world_model::Control;

use crate::engine::{Engine, EngineSetup, timestamped_path};
use crate::infer::Predictions;
use crate::messages::{
    LoadCheckpoint, ResetLatent, SaveCheckpoint, ToggleDream, ToggleLearning, WorldModelNotice,
};
use crate::modes::{DreamMode, Learning};
use crate::settings::WorldModelSettings;
use crate::status::{ModelCounters, Notify};

/// Startup: resolves the device, loads the start checkpoint (or not) and starts the trainer
/// in the [`Learning`] state the plugin starts in.
pub(crate) fn start_engine(
    mut commands: Commands,
    setup: Res<EngineSetup>,
    learning: Res<State<Learning>>,
    mut notify: Notify,
) {
    match Engine::start(&setup) {
        Ok(started) => {
            info!("world model on {}", started.device);
            if let Some(e) = started.checkpoint_error {
                notify.error(format!(
                    "could not load the start checkpoint, using random weights: {e}"
                ));
            } else if started.steps > 0 {
                info!(
                    "world model weights from {} (read in {:.0} ms)",
                    started.source, started.load_ms
                );
            }
            notify.status.device = started.device;
            notify.status.weights_from(started.source, started.steps);
            started
                .engine
                .trainer
                .control(Control::SetLearning(*learning.get() == Learning::On));
            commands.insert_resource(started.engine);
        }
        Err(e) => {
            notify.status.device = "none".into();
            notify.error(format!("world model not started: {e}"));
        }
    }
    commands.remove_resource::<EngineSetup>();
}

/// Applies the game's commands.
#[allow(clippy::too_many_arguments)]
pub(crate) fn handle_commands(
    settings: Res<WorldModelSettings>,
    learning: Res<State<Learning>>,
    mode: Res<State<DreamMode>>,
    mut next_learning: ResMut<NextState<Learning>>,
    mut next_mode: ResMut<NextState<DreamMode>>,
    mut engine: Option<ResMut<Engine>>,
    mut predictions: ResMut<Predictions>,
    mut counters: ResMut<ModelCounters>,
    mut toggle_learning: MessageReader<ToggleLearning>,
    mut toggle_dream: MessageReader<ToggleDream>,
    mut resets: MessageReader<ResetLatent>,
    mut saves: MessageReader<SaveCheckpoint>,
    mut loads: MessageReader<LoadCheckpoint>,
    mut notify: Notify,
) {
    if toggle_learning.read().count() % 2 == 1 {
        next_learning.set(match learning.get() {
            Learning::On => Learning::Paused,
            Learning::Paused => Learning::On,
        });
    }
    if toggle_dream.read().count() % 2 == 1 {
        next_mode.set(match mode.get() {
            DreamMode::Observing => DreamMode::Dreaming,
            DreamMode::Dreaming => DreamMode::Observing,
        });
    }
    if resets.read().count() > 0 {
        if let Some(engine) = engine.as_mut() {
            engine.predictor.reset();
        }
        predictions.restart();
        counters.dream_ticks = 0;
    }
    for SaveCheckpoint(path) in saves.read() {
        let path = path
            .clone()
            .unwrap_or_else(|| timestamped_path(&settings.checkpoint_dir));
        let sent = engine
            .as_ref()
            .is_some_and(|e| e.trainer.control(Control::Save(path.clone())));
        if !sent {
            notify.status.failed_saves = notify.status.failed_saves.saturating_add(1);
            notify.send(WorldModelNotice::cannot_save(
                &path,
                "the trainer is not running",
            ));
        }
    }
    for LoadCheckpoint(path) in loads.read() {
        let Some(engine) = engine.as_mut() else {
            notify.error("cannot load: the world model is not running");
            continue;
        };
        match engine.load(path, *learning.get() == Learning::On) {
            Ok((source, steps)) => {
                notify.status.weights_from(source.clone(), steps);
                notify.status.last_error = None;
                predictions.restart();
                notify.info(format!("loaded {source}"));
            }
            Err(e) => notify.error(format!(
                "checkpoint not loaded, the current model keeps running: {e}"
            )),
        }
    }
}

/// Tells the trainer whether to learn whenever [`Learning`] changes.
pub(crate) fn on_learning_changed(learning: Res<State<Learning>>, engine: Option<Res<Engine>>) {
    if let Some(engine) = engine {
        engine
            .trainer
            .control(Control::SetLearning(*learning.get() == Learning::On));
    }
}

/// Into the dream: it starts from the last real frame.
pub(crate) fn on_enter_dream(
    mut predictions: ResMut<Predictions>,
    mut counters: ResMut<ModelCounters>,
) {
    predictions.dream_tick = None;
    counters.dream_ticks = 0;
}

/// Back to reality: the dream's state is dropped; the next real frame starts afresh.
pub(crate) fn on_exit_dream(engine: Option<ResMut<Engine>>, mut predictions: ResMut<Predictions>) {
    if let Some(mut engine) = engine {
        engine.predictor.reset();
    }
    predictions.restart();
}

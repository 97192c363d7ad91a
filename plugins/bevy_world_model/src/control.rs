//! Starting the engine, the game's commands (toggles, reset, save, load), mode changes and
//! the trainer's side of the conversation (weight snapshots, stats, events).

use bevy::prelude::*;
use world_model::{Control, TrainerEvent};

use crate::engine::{Engine, timestamped_path};
use crate::messages::{
    LoadCheckpoint, ResetLatent, SaveCheckpoint, ToggleDream, ToggleLearning, WorldModelNotice,
};
use crate::modes::{DreamMode, Learning};
use crate::output::WorldModelOutput;
use crate::runtime::WorldModelRuntime;
use crate::settings::WorldModelSettings;

/// Startup: resolves the device, loads the start checkpoint (or not) and starts the trainer.
pub(crate) fn start_engine(
    settings: Res<WorldModelSettings>,
    mut runtime: ResMut<WorldModelRuntime>,
    mut output: ResMut<WorldModelOutput>,
    mut next_learning: ResMut<NextState<Learning>>,
    mut notices: MessageWriter<WorldModelNotice>,
) {
    match Engine::start(&settings) {
        Ok(started) => {
            info!("world model on {}", started.device);
            if let Some(e) = started.checkpoint_error {
                let text =
                    format!("could not load the start checkpoint, using random weights: {e}");
                error!("{text}");
                output.last_error = Some(text.clone());
                notices.write(WorldModelNotice::error(text));
            } else if started.steps > 0 {
                info!(
                    "world model weights from {} (read in {:.0} ms)",
                    started.source, started.load_ms
                );
            }
            output.device = started.device;
            output.model_source = started.source;
            output.weights_step = started.steps;
            output.start_step = started.steps;
            output.online_since = std::time::Instant::now();
            started
                .engine
                .trainer
                .control(Control::SetLearning(settings.learning_at_start));
            runtime.engine = Some(started.engine);
        }
        Err(e) => {
            let text = format!("world model not started: {e}");
            error!("{text}");
            output.device = "none".into();
            output.last_error = Some(text.clone());
            notices.write(WorldModelNotice::error(text));
        }
    }
    next_learning.set(if settings.learning_at_start {
        Learning::On
    } else {
        Learning::Paused
    });
}

/// Applies the game's commands.
#[allow(clippy::too_many_arguments)]
pub(crate) fn handle_commands(
    settings: Res<WorldModelSettings>,
    learning: Res<State<Learning>>,
    mode: Res<State<DreamMode>>,
    mut next_learning: ResMut<NextState<Learning>>,
    mut next_mode: ResMut<NextState<DreamMode>>,
    mut runtime: ResMut<WorldModelRuntime>,
    mut output: ResMut<WorldModelOutput>,
    mut toggle_learning: MessageReader<ToggleLearning>,
    mut toggle_dream: MessageReader<ToggleDream>,
    mut resets: MessageReader<ResetLatent>,
    mut saves: MessageReader<SaveCheckpoint>,
    mut loads: MessageReader<LoadCheckpoint>,
    mut notices: MessageWriter<WorldModelNotice>,
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
    let rt = &mut *runtime;
    if resets.read().count() > 0 {
        if let Some(engine) = rt.engine.as_mut() {
            engine.predictor.reset();
        }
        rt.dream_tick = None;
        rt.reset_requested = true;
        rt.predictions.clear();
        output.dream_ticks = 0;
    }
    for SaveCheckpoint(path) in saves.read() {
        let path = path
            .clone()
            .unwrap_or_else(|| timestamped_path(&settings.checkpoint_dir));
        let sent = rt
            .engine
            .as_ref()
            .is_some_and(|e| e.trainer.control(Control::Save(path.clone())));
        if !sent {
            let text = format!("cannot save {}: the trainer is not running", path.display());
            output.last_error = Some(text.clone());
            notices.write(WorldModelNotice::error(text));
        }
    }
    for LoadCheckpoint(path) in loads.read() {
        let Some(engine) = rt.engine.as_mut() else {
            notices.write(WorldModelNotice::error(
                "cannot load: the world model is not running",
            ));
            continue;
        };
        match engine.load(path, *learning.get() == Learning::On) {
            Ok((source, steps)) => {
                info!("world model loaded {source}");
                output.model_source = source.clone();
                output.weights_step = steps;
                output.start_step = steps;
                output.online_since = std::time::Instant::now();
                output.last_error = None;
                rt.dream_tick = None;
                rt.predictions.clear();
                rt.reset_requested = true;
                notices.write(WorldModelNotice::info(format!("loaded {source}")));
            }
            Err(e) => {
                let text = format!("checkpoint not loaded, the current model keeps running: {e}");
                error!("{text}");
                output.last_error = Some(text.clone());
                notices.write(WorldModelNotice::error(text));
            }
        }
    }
}

/// Takes the trainer's newest weights, stats and events, without waiting.
pub(crate) fn sync_trainer(
    mut runtime: ResMut<WorldModelRuntime>,
    mut output: ResMut<WorldModelOutput>,
    mut notices: MessageWriter<WorldModelNotice>,
) {
    let Some(engine) = runtime.engine.as_mut() else {
        return;
    };
    if let Some(snapshot) = engine.trainer.latest_snapshot() {
        engine.predictor.set_model(snapshot.model);
        output.weights_step = snapshot.step;
    }
    if let Some(stats) = engine.trainer.latest_stats() {
        output.trainer = Some(stats);
    }
    for event in engine.trainer.events() {
        let notice = match event {
            TrainerEvent::Saved(path) => {
                info!("checkpoint saved: {}", path.display());
                WorldModelNotice::info(format!("saved {}", path.display()))
            }
            TrainerEvent::SaveFailed(e) => WorldModelNotice::error(format!("save failed: {e}")),
            TrainerEvent::NonFinite { step, .. } => WorldModelNotice::error(format!(
                "training step {step} gave a NaN or infinite loss; skipped, last good weights kept"
            )),
            TrainerEvent::Crashed(e) => WorldModelNotice::error(format!(
                "the trainer stopped ({e}); predictions go on with the last weights"
            )),
            TrainerEvent::BadStep(e) => {
                WorldModelNotice::error(format!("transition rejected: {e}"))
            }
        };
        if notice.level == crate::messages::NoticeLevel::Error {
            error!("{}", notice.text);
            output.last_error = Some(notice.text.clone());
        }
        notices.write(notice);
    }
}

pub(crate) fn on_learning_changed(learning: Res<State<Learning>>, runtime: Res<WorldModelRuntime>) {
    if let Some(engine) = &runtime.engine {
        engine
            .trainer
            .control(Control::SetLearning(*learning.get() == Learning::On));
    }
}

pub(crate) fn on_enter_dream(
    mut runtime: ResMut<WorldModelRuntime>,
    mut output: ResMut<WorldModelOutput>,
) {
    runtime.dream_tick = None;
    output.dream_ticks = 0;
}

/// Back to reality: the dream's state is dropped; the next real frame starts afresh.
pub(crate) fn on_exit_dream(mut runtime: ResMut<WorldModelRuntime>) {
    let rt = &mut *runtime;
    if let Some(engine) = rt.engine.as_mut() {
        engine.predictor.reset();
    }
    rt.dream_tick = None;
    rt.reset_requested = true;
    rt.predictions.clear();
}

//! [`WorldModelSystems::TrainSync`](crate::WorldModelSystems::TrainSync), first half: the
//! trainer's side of the conversation (weight snapshots, stats, events), taken without
//! waiting.

use bevy::prelude::*;
use world_model::TrainerEvent;

use crate::engine::Engine;
use crate::messages::WorldModelNotice;
use crate::status::Notify;

/// Takes the trainer's newest weights, stats and events, without waiting.
pub(crate) fn sync_trainer(engine: Option<ResMut<Engine>>, mut notify: Notify) {
    let Some(mut engine) = engine else {
        return;
    };
    let engine = &mut *engine;
    if let Some(snapshot) = engine.trainer.latest_snapshot() {
        engine.predictor.set_model(snapshot.model);
        notify.status.weights_step = snapshot.step;
    }
    if let Some(stats) = engine.trainer.latest_stats() {
        notify.status.trainer = Some(stats);
    }
    for event in engine.trainer.events() {
        if matches!(event, TrainerEvent::SaveFailed(_)) {
            notify.status.failed_saves = notify.status.failed_saves.saturating_add(1);
        }
        let notice = match event {
            TrainerEvent::Saved(path) => WorldModelNotice::saved(&path),
            TrainerEvent::SaveFailed(e) => WorldModelNotice::save_failed(&e),
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
        notify.send(notice);
    }
}

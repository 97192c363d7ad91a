//! The plugin's working state between frames: the engine, the frame queue, the action log,
//! pending predictions and what the present step should draw.

use std::collections::BTreeMap;

use bevy::prelude::*;
use world_model::Frame;

use crate::action::ActionLog;
use crate::engine::Engine;
use crate::latent::CodeUsage;
use crate::queue::FrameQueue;
use crate::record::Recorder;
use crate::strip::StripBuilder;

/// Internal state of [`WorldModelPlugin`](crate::WorldModelPlugin). Read
/// [`WorldModelOutput`](crate::WorldModelOutput) instead; this is not a public surface.
#[derive(Resource, Default)]
pub struct WorldModelRuntime {
    pub(crate) engine: Option<Engine>,
    pub(crate) camera: Option<Entity>,
    pub(crate) actions: ActionLog,
    pub(crate) last_action_tick: Option<u64>,
    pub(crate) queue: FrameQueue,
    /// The last real frame processed, with its tick (the baseline's guess for the next).
    pub(crate) last_frame: Option<(u64, Frame)>,
    /// Predictions by the tick they predict; `true` when dreamed.
    pub(crate) predictions: BTreeMap<u64, (Frame, bool)>,
    /// Tick the dream has advanced to; `None` while observing or before the dream starts.
    pub(crate) dream_tick: Option<u64>,
    /// Images to draw in the present step.
    pub(crate) show_prediction: Option<Frame>,
    pub(crate) show_heatmap: Option<Frame>,
    /// Set by a reset: the next real frame starts the state afresh.
    pub(crate) reset_requested: bool,
    /// A frame-size mismatch was reported already (report once, not every frame).
    pub(crate) size_error_reported: bool,
    pub(crate) code_usage: CodeUsage,
    /// The dream strip being imagined, one step per tick.
    pub(crate) strip: Option<StripBuilder>,
    pub(crate) show_strip: Option<Frame>,
    /// The dataset being recorded, when recording is on.
    pub(crate) recorder: Recorder,
}

impl WorldModelRuntime {
    /// Forgets predictions older than `tick` (they can no longer be scored).
    pub(crate) fn forget_before(&mut self, tick: u64) {
        while let Some((&t, _)) = self.predictions.first_key_value() {
            if t >= tick {
                break;
            }
            self.predictions.pop_first();
        }
    }
}

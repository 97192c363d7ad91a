//! Frame pacing of a headless research run: one frame per model tick of wall-clock time
//! while the model learns, so the trainer shares the cores with a stream of experience as
//! fast as the game's, and `--minutes` buys the same amount of it on every machine. Once
//! learning stops nothing waits on the clock (the world steps a fixed 1/tick-hz per frame),
//! so the held-out evaluation and the episodes of each pilot run frames back to back.

use std::time::{Duration, Instant};

use bevy::prelude::*;

use super::ResearchPhase;

/// The wall-clock length of a learning frame, and when the current frame began.
#[derive(Resource, Debug)]
pub(super) struct TrainingPace {
    period: Duration,
    frame_start: Option<Instant>,
}

impl TrainingPace {
    pub(super) fn new(period: Duration) -> Self {
        Self {
            period,
            frame_start: None,
        }
    }
}

/// `First`: the frame begins.
pub(super) fn start_frame(mut pace: ResMut<TrainingPace>) {
    pace.frame_start = Some(Instant::now());
}

/// `Last`: while learning, sleeps out what is left of the frame's period.
pub(super) fn finish_frame(pace: Res<TrainingPace>, phase: Res<State<ResearchPhase>>) {
    if *phase.get() != ResearchPhase::Training {
        return;
    }
    if let Some(left) = pace
        .frame_start
        .and_then(|s| pace.period.checked_sub(s.elapsed()))
    {
        std::thread::sleep(left);
    }
}

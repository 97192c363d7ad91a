//! What a research run collects each frame: scores per interval and per phase, trainer
//! losses, and in the held-out phase the rollouts and prediction samples the plugin scored.

use std::collections::VecDeque;
use std::time::Instant;

use bevy::prelude::*;
use bevy_world_model::{
    AgentPolicy, DreamStrip, EpisodeEnd, ModelCounters, ModelScores, ModelStatus, PredictionScored,
    RewardScored, ScoreTotals, ScoredFrames,
};

use super::pilots::PilotTally;
use super::report::SeriesPoint;
use super::tally::{HorizonTally, LossTally, TaskTally};
use super::{FinalSave, ResearchPhase, ResearchPlan, SAMPLES};
use crate::autopilot::AutopilotMode;
use crate::task::{EpisodeEnded, TaskTicked};

/// Everything collected so far.
#[derive(Resource, Default)]
pub(super) struct ResearchLog {
    pub(super) started: Option<Instant>,
    pub(super) last_line: f64,
    /// Current interval.
    pub(super) interval: ScoreTotals,
    pub(super) interval_loss: LossTally,
    pub(super) interval_infer: (f64, u64),
    pub(super) last_step: u64,
    /// Whole learning phase.
    pub(super) training: ScoreTotals,
    pub(super) series: Vec<SeriesPoint>,
    pub(super) infer: (f64, u64),
    pub(super) train_wall_s: f64,
    pub(super) saved_minute: u64,
    pub(super) train_steps: u64,
    /// Held-out phase.
    pub(super) heldout_from: u64,
    pub(super) heldout_frames: u64,
    pub(super) heldout: ScoreTotals,
    pub(super) horizons: HorizonTally,
    pub(super) last_strip: Option<u64>,
    /// The newest fully scored held-out strip, for `dream.png`.
    pub(super) last_dream: Option<DreamStrip>,
    pub(super) samples: Vec<ScoredFrames>,
    /// The final checkpoint (`DIR/model.ckpt`), asked for at the end of learning or on a
    /// signal.
    pub(super) final_save: FinalSave,
    /// The task's episodes and rewards while learning, and held out.
    pub(super) task_training: TaskTally,
    pub(super) task_heldout: TaskTally,
    /// Whether a goal was in view at each recent tick (oldest first), to split the reward
    /// error of the tick after by it.
    pub(super) sightings: VecDeque<TaskTicked>,
    /// The episode in play: the tick it started at (`None`: it began before this phase and
    /// is not valued), and the agent's value of its first state once decided.
    pub(super) episode_from: Option<u64>,
    pub(super) start_value: Option<f32>,
    /// The phase the episode in play belongs to.
    pub(super) episode_phase: Option<ResearchPhase>,
    /// The pilots' episodes on the held-out world, the one playing last.
    pub(super) pilots: Vec<PilotTally>,
    /// The task's time limit there, for the report.
    pub(super) episodes_time_limit: u32,
    /// Every held-out tick's reward beside its prediction, for `rewards.csv`.
    pub(super) heldout_rewards: Vec<RewardRow>,
}

/// One held-out tick's reward beside what the heads predicted for it the tick before, and
/// whether a goal was in view then (a row of `rewards.csv`, for analyses the report's means
/// hide: a few +1 events weigh as much in a mean squared error as hundreds of shaping ticks).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct RewardRow {
    pub(super) scored: RewardScored,
    pub(super) goal_in_view: Option<bool>,
}

impl RewardRow {
    /// The CSV header [`csv`](Self::csv) writes rows for.
    pub(super) const HEADER: &str =
        "tick,reward,terminal,predicted_reward,predicted_continue,goal_in_view";

    /// The row as a CSV line (`goal_in_view` empty when not known).
    pub(super) fn csv(&self) -> String {
        let r = &self.scored;
        let seen = self.goal_in_view.map_or("", |s| if s { "1" } else { "0" });
        format!(
            "{},{},{},{},{},{seen}",
            r.tick,
            r.reward,
            u8::from(r.end == Some(EpisodeEnd::Terminal)),
            r.predicted.reward,
            r.predicted.cont
        )
    }
}

impl ResearchLog {
    pub(super) fn elapsed(&self) -> f64 {
        self.started.map_or(0.0, |s| s.elapsed().as_secs_f64())
    }
}

/// Ticks of [`TaskTicked`] kept: rewards are scored a few ticks after their frame.
const SIGHTINGS_KEPT: usize = 64;

/// The task's episodes and reward predictions, into the phase's tally (held out: only
/// from the tick scoring starts).
pub(super) fn collect_task(
    phase: Res<State<ResearchPhase>>,
    plan: Res<ResearchPlan>,
    mut log: ResMut<ResearchLog>,
    mut rewards: MessageReader<RewardScored>,
    mut episodes: MessageReader<EpisodeEnded>,
    mut ticked: MessageReader<TaskTicked>,
    policy: Option<Res<AgentPolicy>>,
) {
    let log = &mut *log;
    match log.episode_phase {
        None => log.episode_from = Some(0),
        // A pilot's first episode starts where its level is loaded again (start_pilot).
        Some(p) if p != *phase.get() && *phase.get() != ResearchPhase::Episodes => {
            // The episode in play began in the phase before: it is not valued.
            log.episode_from = None;
            log.start_value = None;
        }
        Some(_) => {}
    }
    log.episode_phase = Some(*phase.get());
    if let (None, Some(from), Some(p)) = (log.start_value, log.episode_from, policy.as_deref())
        && !p.probs.is_empty()
        && !p.dreamed
        && p.tick >= from
    {
        log.start_value = Some(p.value);
    }
    for t in ticked.read() {
        if log.sightings.len() == SIGHTINGS_KEPT {
            log.sightings.pop_front();
        }
        log.sightings.push_back(*t);
    }
    let from = log.heldout_from;
    let (tally, from) = match phase.get() {
        ResearchPhase::Training => (&mut log.task_training, 0),
        ResearchPhase::HeldOut => (&mut log.task_heldout, from),
        ResearchPhase::Episodes => {
            rewards.clear();
            let limit = plan
                .heldout
                .as_ref()
                .and_then(|h| h.pilots.as_ref())
                .map_or(0, |p| p.episodes);
            let Some(pilot) = log.pilots.last_mut() else {
                episodes.clear();
                return;
            };
            pilot.frames += 1;
            for e in episodes.read() {
                // Only the agent's values are its imagined returns.
                let value = log.start_value.take();
                let value = value.filter(|_| pilot.pilot == AutopilotMode::Dreamer);
                if pilot.push(e, value, limit) {
                    log.episode_from = Some(e.tick + 1);
                }
            }
            return;
        }
        ResearchPhase::Done => {
            rewards.clear();
            episodes.clear();
            return;
        }
    };
    for r in rewards.read().filter(|r| r.tick >= from) {
        // Predicted from the frame of the tick before.
        let seen = log
            .sightings
            .iter()
            .rev()
            .find(|t| t.tick + 1 == r.tick)
            .map(|t| t.goal_in_view);
        tally.push_reward(
            r.reward,
            r.end == Some(EpisodeEnd::Terminal),
            r.predicted,
            seen,
        );
        if *phase.get() == ResearchPhase::HeldOut {
            log.heldout_rewards.push(RewardRow {
                scored: *r,
                goal_in_view: seen,
            });
        }
    }
    // Episodes end in `Update`, before the plugin sees their tick: the held-out phase
    // counts those that end once its settling ticks are over.
    if *phase.get() == ResearchPhase::HeldOut && log.heldout_frames < super::SETTLE_TICKS {
        for e in episodes.read() {
            log.episode_from = Some(e.tick + 1);
            log.start_value = None;
        }
        return;
    }
    for e in episodes.read() {
        tally.push_episode(e, log.start_value.take());
        log.episode_from = Some(e.tick + 1);
    }
}

pub(super) fn collect(
    phase: Res<State<ResearchPhase>>,
    plan: Res<ResearchPlan>,
    status: Res<ModelStatus>,
    counters: Res<ModelCounters>,
    scores: Res<ModelScores>,
    mut log: ResMut<ResearchLog>,
    mut scored: MessageReader<PredictionScored>,
) {
    let log = &mut *log;
    log.started.get_or_insert_with(Instant::now);
    let ms = f64::from(counters.infer_ms);
    log.interval_infer.0 += ms;
    log.interval_infer.1 += 1;
    log.infer.0 += ms;
    log.infer.1 += 1;
    match phase.get() {
        ResearchPhase::Training => {
            if let Some(stats) = &status.trainer
                && stats.step > log.last_step
            {
                log.last_step = stats.step;
                log.interval_loss.push(&stats.loss);
            }
            for s in scored.read().filter(|s| !s.dreamed) {
                log.interval.push(s.model, s.baseline);
                log.training.push(s.model, s.baseline);
            }
        }
        ResearchPhase::HeldOut => {
            log.heldout_frames += 1;
            let target = plan.heldout.as_ref().map_or(1, |p| p.ticks);
            for s in scored
                .read()
                .filter(|s| !s.dreamed && s.tick >= log.heldout_from)
            {
                log.heldout.push(s.model, s.baseline);
                log.interval.push(s.model, s.baseline);
                let every = (target / SAMPLES).max(1);
                if log.heldout.scored.is_multiple_of(every)
                    && (log.samples.len() as u64) < SAMPLES
                    && let Some(pair) = scores.last_frames.as_ref().filter(|p| p.tick == s.tick)
                {
                    log.samples.push(pair.clone());
                }
            }
            if let Some(strip) = &scores.strip
                && strip.start >= log.heldout_from
                && log.last_strip.is_none_or(|t| t < strip.start)
                && log.horizons.push(strip)
            {
                log.last_strip = Some(strip.start);
                log.last_dream = Some(strip.clone());
            }
        }
        ResearchPhase::Episodes | ResearchPhase::Done => {
            scored.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy_world_model::world_model::Outlook;

    #[test]
    fn reward_rows_have_a_field_for_every_header_column() {
        let scored = RewardScored {
            tick: 12,
            reward: 1.5,
            end: Some(EpisodeEnd::Terminal),
            predicted: Outlook {
                reward: 0.25,
                cont: 0.5,
            },
        };
        let row = RewardRow {
            scored,
            goal_in_view: None,
        };
        let header = RewardRow::HEADER.split(',').count();
        assert_eq!(row.csv(), "12,1.5,1,0.25,0.5,");
        assert_eq!(row.csv().split(',').count(), header);
        let seen = RewardRow {
            scored: RewardScored {
                end: Some(EpisodeEnd::Truncated),
                ..scored
            },
            goal_in_view: Some(true),
        };
        assert_eq!(seen.csv(), "12,1.5,0,0.25,0.5,1");
    }
}

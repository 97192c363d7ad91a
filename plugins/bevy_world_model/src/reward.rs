//! Rewards and episodes: what the game paid each tick and where its episodes end, paired
//! with ticks as actions are ([`WorldModelAction`](crate::WorldModelAction)), and how well the
//! model's reward head predicted it.
//!
//! A game adds [`WorldModelReward`] to the tagged camera and, as things happen, adds to
//! `reward` and sets `end`. At each model tick the plugin takes what is there (and zeroes
//! it): that is the reward of the transition into the tick's frame, and the tick's frame is
//! the last of its episode when `end` is set. The next tick's frame starts a new episode
//! (the game respawns the player in between). A game that never adds the component trains
//! and plays exactly as before: every reward 0, no episode ends.

use std::collections::{BTreeMap, VecDeque};

use bevy::prelude::*;
use world_model::{Outlook, RewardTally};

use crate::action::ActionLog;
use crate::capture::{ModelClock, WorldModelCamera};

/// How an episode ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpisodeEnd {
    /// The task was done (or failed for good): nothing follows this frame. The continue
    /// head learns to predict these.
    Terminal,
    /// Cut short (a time limit): the world would have gone on, so the model is not taught
    /// that it ends here.
    Truncated,
}

/// What the game paid since the last model tick; write it on the
/// [`WorldModelCamera`] before [`WorldModelSystems::Infer`](crate::WorldModelSystems::Infer).
/// Rewards add up until the tick takes them.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq)]
pub struct WorldModelReward {
    /// Reward since the last tick (non-finite values count as 0).
    pub reward: f32,
    /// Set when this tick's frame ends the episode.
    pub end: Option<EpisodeEnd>,
}

impl WorldModelReward {
    /// Adds `reward` to what this tick pays.
    pub fn pay(&mut self, reward: f32) {
        if reward.is_finite() {
            self.reward += reward;
        }
    }
}

/// One tick's reward and whether its frame ends the episode.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TickOutcome {
    /// Reward of the transition into the tick.
    pub reward: f32,
    /// Set when the tick's frame ends its episode.
    pub end: Option<EpisodeEnd>,
}

/// The outcome of each recent tick, recorded with its action (same camera, same tick).
#[derive(Resource, Debug, Default)]
pub(crate) struct OutcomeLog {
    outcomes: BTreeMap<u64, TickOutcome>,
    last_tick: Option<u64>,
}

impl OutcomeLog {
    /// The outcome of `tick` (nothing paid, nothing ended when the game reports nothing).
    pub fn get(&self, tick: u64) -> TickOutcome {
        self.outcomes.get(&tick).copied().unwrap_or_default()
    }

    /// True when the frame of `tick - 1` ended its episode, so `tick`'s starts one.
    pub fn starts_episode(&self, tick: u64) -> bool {
        tick > 0 && self.get(tick - 1).end.is_some()
    }

    fn record(&mut self, tick: u64, outcome: TickOutcome) {
        if outcome != TickOutcome::default() {
            self.outcomes.insert(tick, outcome);
        }
        while let Some((&t, _)) = self.outcomes.first_key_value() {
            if t + ActionLog::KEEP >= tick {
                break;
            }
            self.outcomes.pop_first();
        }
    }
}

/// Takes the game's [`WorldModelReward`] once per tick from the camera the model follows.
pub(crate) fn record_outcomes(
    clock: Res<ModelClock>,
    actions: Res<ActionLog>,
    mut log: ResMut<OutcomeLog>,
    mut cameras: Query<&mut WorldModelReward, With<WorldModelCamera>>,
) {
    if log.last_tick == Some(clock.tick) {
        return;
    }
    log.last_tick = Some(clock.tick);
    let Some(Ok(mut reported)) = actions.camera.map(|c| cameras.get_mut(c)) else {
        return;
    };
    let taken = std::mem::take(&mut *reported);
    log.record(
        clock.tick,
        TickOutcome {
            reward: if taken.reward.is_finite() {
                taken.reward
            } else {
                0.0
            },
            end: taken.end,
        },
    );
}

/// A tick's reward against what the model predicted for it the tick before.
#[derive(Message, Clone, Copy, Debug, PartialEq)]
pub struct RewardScored {
    /// The tick.
    pub tick: u64,
    /// What the game paid for arriving at the tick.
    pub reward: f32,
    /// How the episode ended at this tick, if it did.
    pub end: Option<EpisodeEnd>,
    /// The reward and continue heads' prediction for this tick, made from the state of the
    /// tick before and the action taken.
    pub predicted: Outlook,
}

/// The agent's latest decision, when the model has an agent (`agent.actions` in its config):
/// the policy and value at the present state: the newest real frame's posterior (a few ticks
/// old, as readbacks arrive late) rolled forward through the actions taken since, or, in the
/// pure dream, the imagined state. A game that lets the
/// agent drive samples its next action from `probs`.
#[derive(Resource, Debug, Clone, Default, PartialEq)]
pub struct AgentPolicy {
    /// The tick decided for: a real frame's, rolled forward on the prior through the
    /// actions taken since it (readbacks arrive ticks late), or the imagined state's.
    pub tick: u64,
    /// Probability of each of the config's `agent.actions`.
    pub probs: Vec<f32>,
    /// The critic's value of the state.
    pub value: f32,
    /// True when the state was imagined (the pure dream).
    pub dreamed: bool,
}

impl AgentPolicy {
    /// The policy's entropy, nats.
    pub fn entropy(&self) -> f32 {
        self.probs
            .iter()
            .filter(|p| **p > 0.0)
            .map(|p| -p * p.ln())
            .sum()
    }
}

/// Episodes seen through [`WorldModelReward`], and the reward head's recent error.
#[derive(Resource, Debug, Clone, Default)]
pub struct Episodes {
    /// Episodes that ended.
    pub ended: u64,
    /// Of those, the ones that ended as terminal.
    pub terminal: u64,
    /// Reward summed since the current episode started.
    pub current_return: f32,
    /// Ticks of the current episode so far.
    pub current_ticks: u64,
    /// Returns and lengths (ticks) of the last [`Episodes::KEEP`] episodes, oldest first.
    pub recent: VecDeque<(f32, u64, EpisodeEnd)>,
    /// The last tick's reward and the prediction for it.
    pub last: Option<RewardScored>,
    /// The reward head's predictions against the rewards, and predicting the mean.
    pub errors: RewardTally,
}

impl Episodes {
    /// Episodes kept in [`recent`](Self::recent).
    pub const KEEP: usize = 16;

    /// Counts one tick; `predicted` (when there was a prediction for it) is scored.
    pub(crate) fn push(
        &mut self,
        tick: u64,
        reward: f32,
        end: Option<EpisodeEnd>,
        predicted: Option<Outlook>,
    ) {
        self.current_return += reward;
        self.current_ticks += 1;
        if let Some(predicted) = predicted {
            self.errors
                .push(reward, end == Some(EpisodeEnd::Terminal), predicted);
            self.last = Some(RewardScored {
                tick,
                reward,
                end,
                predicted,
            });
        }
        if let Some(end) = end {
            self.ended += 1;
            self.terminal += u64::from(end == EpisodeEnd::Terminal);
            self.recent
                .push_back((self.current_return, self.current_ticks, end));
            if self.recent.len() > Self::KEEP {
                self.recent.pop_front();
            }
            self.current_return = 0.0;
            self.current_ticks = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn episodes_add_up_returns_and_keep_the_last_few() {
        let mut e = Episodes::default();
        let guess = Some(Outlook {
            reward: 0.0,
            cont: 1.0,
        });
        e.push(1, 0.0, None, None);
        e.push(2, 1.0, Some(EpisodeEnd::Terminal), guess);
        e.push(3, -0.5, None, guess);
        e.push(4, 0.0, Some(EpisodeEnd::Truncated), None);
        assert_eq!(e.errors.ticks, 2, "only predicted ticks are scored");
        assert_eq!(e.last.map(|l| l.tick), Some(3));
        assert_eq!((e.ended, e.terminal), (2, 1));
        assert_eq!(
            Vec::from(e.recent.clone()),
            vec![
                (1.0, 2, EpisodeEnd::Terminal),
                (-0.5, 2, EpisodeEnd::Truncated)
            ]
        );
        for t in 0..40 {
            e.push(5 + t, 0.0, Some(EpisodeEnd::Truncated), None);
        }
        assert_eq!(e.recent.len(), Episodes::KEEP);
        assert_eq!(e.current_ticks, 0);
    }

    #[test]
    fn the_log_pairs_outcomes_with_ticks_and_stays_bounded() {
        let mut log = OutcomeLog::default();
        log.record(
            5,
            TickOutcome {
                reward: 1.0,
                end: Some(EpisodeEnd::Terminal),
            },
        );
        assert_eq!(log.get(5).reward, 1.0);
        assert!(log.starts_episode(6));
        assert!(!log.starts_episode(5));
        assert_eq!(log.get(4), TickOutcome::default());
        log.record(
            5 + ActionLog::KEEP + 1,
            TickOutcome {
                reward: 0.5,
                end: None,
            },
        );
        assert_eq!(log.get(5), TickOutcome::default(), "old ticks are dropped");
    }
}

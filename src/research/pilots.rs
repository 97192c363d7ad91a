//! The episodes comparison that ends a research run on a task level. With learning off, on
//! the held-out world, each pilot plays the same episodes: before each pilot the level is
//! loaded again from the held-out seed, so the episode counter restarts and every pilot
//! meets the same goal placements (drawn from the seed and the episode number) from the
//! same start. The pilots are the agent learned in the dream (when the model has one), then
//! the random and the curious autopilots, so the report sets all of them side by side.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_procgen::{CurrentLevel, CurrentTask, LevelSpec, LoadLevel};
use bevy_world_model::{Driver, ResetLatent};

use crate::autopilot::{Autopilot, AutopilotMode};
use crate::task::EpisodeEnded;

use super::report::PilotReport;

/// Episodes each pilot plays unless `--eval-episodes` says otherwise.
pub const DEFAULT_EPISODES: u64 = 50;
/// The most `--eval-episodes` accepts.
pub const MAX_EPISODES: u64 = 10_000;
/// Frames a pilot may take per episode asked for before it is given up on (an episode of
/// a shipped level lasts at most its time limit, a few hundred ticks).
pub const FRAMES_PER_EPISODE_CAP: u64 = 2_000;

/// Who plays the comparison, and for how long.
#[derive(Clone, Debug, PartialEq)]
pub struct PilotPlan {
    /// In the order they play.
    pub pilots: Vec<AutopilotMode>,
    /// Episodes each plays.
    pub episodes: u64,
}

impl PilotPlan {
    /// The comparison for a run whose own pilot is `own`: the dreamer first when it is the
    /// run's pilot (a model that learned an agent), then random and curious.
    pub fn for_run(own: AutopilotMode, episodes: u64) -> Self {
        let mut pilots = Vec::new();
        if own == AutopilotMode::Dreamer {
            pilots.push(AutopilotMode::Dreamer);
        }
        pilots.extend([AutopilotMode::Random, AutopilotMode::Curious]);
        Self { pilots, episodes }
    }

    /// The frames after which a pilot that has not finished is given up on.
    pub fn frame_cap(&self) -> u64 {
        self.episodes
            .saturating_mul(FRAMES_PER_EPISODE_CAP)
            .saturating_add(600)
    }
}

/// What moves a research run to another world or pilot: the level (loaded again, or
/// another), the model's memory, and who drives the body.
#[derive(SystemParam)]
pub(super) struct WorldSwitch<'w, 's> {
    commands: Commands<'w, 's>,
    levels: MessageWriter<'w, LoadLevel>,
    resets: MessageWriter<'w, ResetLatent>,
    driver: Option<ResMut<'w, NextState<Driver>>>,
    agents: Query<'w, 's, Entity, With<Autopilot>>,
    /// The level in play.
    pub level: Option<Res<'w, CurrentLevel>>,
    /// Its task, if it has one.
    pub task: Option<Res<'w, CurrentTask>>,
}

impl WorldSwitch<'_, '_> {
    /// Loads `spec` on `seed` (`None`: stays in the world in play), forgets what the model
    /// saw, and hands the body to `pilot`: the agent learned in the dream for `Dreamer`,
    /// else the autopilot, with its walk drawn from `seed`.
    pub(super) fn switch(&mut self, spec: Option<&LevelSpec>, seed: u64, pilot: AutopilotMode) {
        if let Some(spec) = spec {
            self.levels.write(LoadLevel {
                spec: spec.clone(),
                seed,
            });
        }
        self.resets.write(ResetLatent);
        // The pilot is chosen now: a prefill still running must not take the body later.
        self.commands
            .remove_resource::<crate::dreamer::DreamerPrefill>();
        for agent in &self.agents {
            self.commands
                .entity(agent)
                .insert(Autopilot::with_mode(seed, pilot));
        }
        if let Some(driver) = self.driver.as_mut() {
            driver.set(if pilot == AutopilotMode::Dreamer {
                Driver::Agent
            } else {
                Driver::Player
            });
        }
    }
}

/// One pilot's episodes.
#[derive(Clone, Debug)]
pub struct PilotTally {
    /// Who played.
    pub pilot: AutopilotMode,
    /// The level generation before its level was loaded again: only episodes of a later
    /// one are its own.
    pub after_generation: u64,
    /// Its episodes, in order, each with the agent's value of its start when it had one.
    pub ended: Vec<(EpisodeEnded, Option<f32>)>,
    /// Frames it has played.
    pub frames: u64,
}

impl PilotTally {
    /// A pilot about to play on a level loaded after `generation`.
    pub fn new(pilot: AutopilotMode, generation: u64) -> Self {
        Self {
            pilot,
            after_generation: generation,
            ended: Vec::new(),
            frames: 0,
        }
    }

    /// Counts `e` if it is one of this pilot's first `limit` episodes; returns whether it was.
    pub fn push(&mut self, e: &EpisodeEnded, start_value: Option<f32>, limit: u64) -> bool {
        if e.generation <= self.after_generation || self.ended.len() as u64 >= limit {
            return false;
        }
        self.ended.push((*e, start_value));
        true
    }

    /// Whether it has played `limit` episodes.
    pub fn done(&self, limit: u64) -> bool {
        self.ended.len() as u64 >= limit
    }

    /// Its figures; `limit` is the number of episodes it was asked to play.
    pub fn report(&self, limit: u64) -> PilotReport {
        let n = self.ended.len() as u64;
        let per = |sum: f64, k: usize| (k > 0).then(|| sum / k as f64);
        let wins: Vec<f64> = self
            .ended
            .iter()
            .filter(|(e, _)| e.success)
            .map(|(e, _)| f64::from(e.ticks))
            .collect();
        let all: Vec<f64> = self.ended.iter().map(|(e, _)| f64::from(e.ticks)).collect();
        let valued: Vec<(f64, f64)> = self
            .ended
            .iter()
            .filter_map(|(e, v)| v.map(|v| (f64::from(v), f64::from(e.episode_return))))
            .collect();
        PilotReport {
            autopilot: self.pilot,
            episodes: n,
            complete: n >= limit,
            successes: wins.len() as u64,
            success_rate: (n > 0).then(|| wins.len() as f64 / n as f64),
            median_ticks_to_success: median(&wins),
            mean_ticks_to_success: per(wins.iter().sum(), wins.len()),
            median_episode_ticks: median(&all),
            mean_return: per(
                self.ended
                    .iter()
                    .map(|(e, _)| f64::from(e.episode_return))
                    .sum(),
                self.ended.len(),
            ),
            valued_episodes: valued.len() as u64,
            imagined_return: per(valued.iter().map(|v| v.0).sum(), valued.len()),
            return_after_imagining: per(valued.iter().map(|v| v.1).sum(), valued.len()),
            frames: self.frames,
        }
    }
}

/// The median (the mean of the two middle values for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(generation: u64, ticks: u32, success: bool, ret: f32) -> EpisodeEnded {
        EpisodeEnded {
            episode: 0,
            tick: 0,
            episode_return: ret,
            ticks,
            success,
            generation,
        }
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 10.0]), Some(3.5));
    }

    #[test]
    fn a_pilot_counts_only_its_own_level_and_its_first_episodes() {
        let mut t = PilotTally::new(AutopilotMode::Dreamer, 4);
        // An episode of the level before the reload is not this pilot's.
        assert!(!t.push(&ended(4, 50, true, 1.0), Some(9.0), 3));
        assert!(t.push(&ended(5, 40, true, 1.0), Some(0.5), 3));
        assert!(t.push(&ended(5, 200, false, -1.0), None, 3));
        assert!(!t.done(3));
        assert!(t.push(&ended(5, 20, true, 2.0), Some(1.5), 3));
        assert!(t.done(3));
        assert!(!t.push(&ended(5, 10, true, 1.0), None, 3), "past the limit");
        let r = t.report(3);
        assert_eq!((r.episodes, r.successes, r.complete), (3, 2, true));
        assert_eq!(r.success_rate, Some(2.0 / 3.0));
        assert_eq!(r.median_ticks_to_success, Some(30.0));
        assert_eq!(r.mean_ticks_to_success, Some(30.0));
        // A failure counts at its full length in the median over all episodes.
        assert_eq!(r.median_episode_ticks, Some(40.0));
        assert_eq!(r.mean_return, Some(2.0 / 3.0));
        assert_eq!(r.valued_episodes, 2);
        assert_eq!(r.imagined_return, Some(1.0));
        assert_eq!(r.return_after_imagining, Some(1.5));
    }

    #[test]
    fn the_dreamer_plays_first_when_it_is_the_runs_pilot() {
        use AutopilotMode::*;
        assert_eq!(
            PilotPlan::for_run(Dreamer, 5).pilots,
            vec![Dreamer, Random, Curious]
        );
        assert_eq!(PilotPlan::for_run(Random, 5).pilots, vec![Random, Curious]);
        let unfinished = PilotTally::new(Random, 0).report(5);
        assert!(!unfinished.complete && unfinished.success_rate.is_none());
    }
}

//! Running sums behind the report: loss per interval, open-loop error per horizon, and the
//! task's episodes with the reward head's error.

use bevy_world_model::world_model::{LossParts, Outlook, RewardTally};
use bevy_world_model::{DreamStrip, ScoreTotals};

use super::report::{HorizonScore, PhaseScores, RewardSplit, TaskPhase};
use crate::task::EpisodeEnded;

/// [`PhaseScores`] of a [`ScoreTotals`], `None` before the first changed tick.
pub fn phase_scores(totals: &ScoreTotals) -> Option<PhaseScores> {
    let (model, baseline) = totals.mean()?;
    Some(PhaseScores {
        model,
        baseline,
        gain_db: model.psnr - baseline.psnr,
        ticks_scored: totals.scored,
        ticks_unchanged: totals.unchanged,
    })
}

/// Mean loss parts over the trainer steps seen.
#[derive(Clone, Copy, Debug, Default)]
pub struct LossTally {
    sum: LossParts,
    n: u32,
}

impl LossTally {
    /// Adds the loss of one optimizer step (non-finite losses are skipped).
    pub fn push(&mut self, l: &LossParts) {
        if !l.total.is_finite() {
            return;
        }
        let s = &mut self.sum;
        s.total += l.total;
        s.recon += l.recon;
        s.pred += l.pred;
        s.kl += l.kl;
        s.prior_entropy += l.prior_entropy;
        s.post_entropy += l.post_entropy;
        s.reward += l.reward;
        s.cont += l.cont;
        s.sketch += l.sketch;
        self.n += 1;
    }

    /// The mean, `None` before the first step.
    pub fn mean(&self) -> Option<LossParts> {
        if self.n == 0 {
            return None;
        }
        let k = 1.0 / self.n as f32;
        let s = &self.sum;
        Some(LossParts {
            total: s.total * k,
            recon: s.recon * k,
            pred: s.pred * k,
            kl: s.kl * k,
            prior_entropy: s.prior_entropy * k,
            post_entropy: s.post_entropy * k,
            reward: s.reward * k,
            cont: s.cont * k,
            sketch: s.sketch * k,
        })
    }
}

/// The task's episodes in one phase of a run, and the reward head against them.
#[derive(Clone, Debug, Default)]
pub struct TaskTally {
    /// Episodes that ended.
    pub episodes: u64,
    /// Of those, the ones whose every goal was taken.
    pub successes: u64,
    /// Ticks of the successful episodes, summed.
    pub success_ticks: u64,
    /// Returns of the episodes, summed.
    pub returns: f64,
    /// The reward and continue heads' one-tick-ahead predictions against what was paid.
    pub rewards: RewardTally,
    /// [`rewards`](Self::rewards) of the ticks predicted with a goal in view ...
    pub in_view: RewardTally,
    /// ... and of those predicted without one.
    pub out_of_view: RewardTally,
    /// Episodes whose start the agent valued (its critic, at the first real state it decided
    /// on in the episode).
    pub valued: u64,
    /// Those values, summed.
    pub values: f64,
    /// Those episodes' returns, summed.
    pub valued_returns: f64,
}

impl TaskTally {
    /// Counts an episode that ended.
    /// `start_value` is what the agent's critic said of the episode's start, if it did.
    pub fn push_episode(&mut self, e: &EpisodeEnded, start_value: Option<f32>) {
        self.episodes += 1;
        self.returns += f64::from(e.episode_return);
        if let Some(v) = start_value {
            self.valued += 1;
            self.values += f64::from(v);
            self.valued_returns += f64::from(e.episode_return);
        }
        if e.success {
            self.successes += 1;
            self.success_ticks += u64::from(e.ticks);
        }
    }

    /// Counts a tick's reward against its prediction; `goal_in_view` is whether a goal was
    /// in view when it was predicted (`None`: not known, counted in the whole only).
    pub fn push_reward(
        &mut self,
        reward: f32,
        terminal: bool,
        predicted: Outlook,
        goal_in_view: Option<bool>,
    ) {
        self.rewards.push(reward, terminal, predicted);
        match goal_in_view {
            Some(true) => self.in_view.push(reward, terminal, predicted),
            Some(false) => self.out_of_view.push(reward, terminal, predicted),
            None => {}
        }
    }

    /// The report of this phase; `None` when nothing was ever paid and no episode ended
    /// (a level without a task).
    pub fn report(&self) -> Option<TaskPhase> {
        if self.episodes == 0 && self.rewards.reward_sq == 0.0 {
            return None;
        }
        let per = |sum: f64, n: u64| (n > 0).then(|| sum / n as f64);
        let (cont_at_terminals, cont_elsewhere) = self.rewards.mean_cont();
        Some(TaskPhase {
            episodes: self.episodes,
            successes: self.successes,
            success_rate: per(self.successes as f64, self.episodes),
            mean_ticks_to_success: per(self.success_ticks as f64, self.successes),
            mean_return: per(self.returns, self.episodes),
            reward_ticks: self.rewards.ticks,
            reward_mse: self.rewards.model_mse(),
            mean_reward_mse: self.rewards.mean_mse(),
            reward_events: self.rewards.events,
            events_anticipated: self.rewards.anticipated,
            false_alarms: self.rewards.false_alarms,
            terminals: self.rewards.terminals,
            cont_at_terminals,
            cont_elsewhere,
            goal_in_view: split(&self.in_view),
            goal_out_of_view: split(&self.out_of_view),
            valued_episodes: self.valued,
            imagined_return: per(self.values, self.valued),
            return_after_imagining: per(self.valued_returns, self.valued),
        })
    }
}

fn split(tally: &RewardTally) -> Option<RewardSplit> {
    Some(RewardSplit {
        ticks: tally.ticks,
        reward_mse: tally.model_mse()?,
        mean_reward_mse: tally.mean_mse()?,
    })
}

/// Open-loop rollouts pooled per horizon: the model's imagined frame `k` steps ahead and the
/// rollout's start frame (the baseline, copied `k` steps ahead), each against the real frame,
/// as the plugin scored them ([`DreamStrip::horizons`]), by the one rule of [`ScoreTotals`].
#[derive(Clone, Debug, Default)]
pub struct HorizonTally {
    /// Per horizon, every rollout's model and baseline scores.
    totals: Vec<ScoreTotals>,
}

impl HorizonTally {
    /// Adds a strip once every horizon is scored; horizons whose view did not change since
    /// `start` are counted and left out, for model and baseline alike. Returns false (and adds
    /// nothing) while some horizon's real frame is missing.
    pub fn push(&mut self, strip: &DreamStrip) -> bool {
        if !strip.is_scored() {
            return false;
        }
        if self.totals.len() < strip.horizons.len() {
            self.totals
                .resize(strip.horizons.len(), ScoreTotals::default());
        }
        for (k, h) in strip.horizons.iter().flatten().enumerate() {
            self.totals[k].push(h.model, h.baseline);
        }
        true
    }

    /// PSNR per horizon (pooled from the mean MSE), for horizons with at least one rollout
    /// whose view changed.
    pub fn scores(&self) -> Vec<HorizonScore> {
        self.totals
            .iter()
            .enumerate()
            .filter_map(|(k, t)| {
                let (model, baseline) = t.mean()?;
                Some(HorizonScore {
                    k: k + 1,
                    model_psnr: model.psnr,
                    baseline_psnr: baseline.psnr,
                    rollouts: t.scored,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use bevy_world_model::world_model::Frame;
    use bevy_world_model::world_model::metrics::psnr_from_mse;

    fn grey(v: u8) -> Frame {
        Frame::filled(4, 4, [v; 3])
    }

    /// A strip imagined from `reals[start]`, scored by the plugin's rule against the real
    /// frames that are there.
    fn scored(start: u64, frames: Vec<Frame>, reals: &BTreeMap<u64, Frame>) -> DreamStrip {
        let mut strip = DreamStrip::new(start, reals[&start].clone(), frames);
        for k in 1..=strip.frames.len() as u64 {
            if let Some(real) = reals.get(&(start + k)) {
                strip.score(start + k, real);
            }
        }
        strip
    }

    #[test]
    fn horizons_pool_model_and_baseline_against_the_same_real_frames() {
        // Real frames brighten by 10 per tick; the model imagines them off by 5.
        let reals: BTreeMap<u64, Frame> = (10..=13).map(|t| (t, grey((t * 10) as u8))).collect();
        let strip = scored(
            10,
            (1..=3).map(|k| grey((100 + k * 10 + 5) as u8)).collect(),
            &reals,
        );
        let mut tally = HorizonTally::default();
        assert!(tally.push(&strip));
        let s = tally.scores();
        assert_eq!(s.len(), 3);
        for (i, h) in s.iter().enumerate() {
            let k = (i + 1) as f64;
            assert_eq!((h.k, h.rollouts), (i + 1, 1));
            assert!((h.model_psnr - psnr_from_mse(25.0)).abs() < 1e-9);
            assert!((h.baseline_psnr - psnr_from_mse((10.0 * k).powi(2))).abs() < 1e-9);
        }
        // A strip whose real frames have not all arrived is not counted.
        let late = scored(12, strip.frames.clone(), &reals);
        assert!(!tally.push(&late));
        assert_eq!(tally.scores()[0].rollouts, 1);
    }

    #[test]
    fn unchanged_views_are_skipped_for_both() {
        let reals: BTreeMap<u64, Frame> = (0..=2).map(|t| (t, grey(50))).collect();
        let strip = scored(0, vec![grey(60), grey(60)], &reals);
        let mut tally = HorizonTally::default();
        assert!(tally.push(&strip));
        assert!(tally.scores().is_empty());
    }

    #[test]
    fn loss_means_skip_non_finite_steps() {
        let mut t = LossTally::default();
        assert!(t.mean().is_none());
        let l = |total| LossParts {
            total,
            recon: 1.0,
            ..Default::default()
        };
        t.push(&l(2.0));
        t.push(&l(4.0));
        t.push(&l(f32::NAN));
        let m = t.mean().unwrap();
        assert_eq!((m.total, m.recon), (3.0, 1.0));
    }

    #[test]
    fn the_imagined_return_is_set_beside_the_return_of_the_same_episodes() {
        let mut t = TaskTally::default();
        let ended = |ret: f32, success: bool| EpisodeEnded {
            episode: 0,
            tick: 10,
            episode_return: ret,
            ticks: 10,
            success,
            generation: 1,
        };
        t.push_episode(&ended(1.0, true), Some(0.5));
        t.push_episode(&ended(-2.0, false), None); // never valued: not in the comparison
        t.push_episode(&ended(0.0, false), Some(1.5));
        t.rewards.push(0.1, false, Outlook::default());
        let r = t.report().unwrap();
        assert_eq!((r.episodes, r.valued_episodes), (3, 2));
        assert_eq!(r.imagined_return, Some(1.0));
        assert_eq!(r.return_after_imagining, Some(0.5));
        assert_eq!(r.mean_return, Some(-1.0 / 3.0));
    }
}

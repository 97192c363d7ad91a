//! Scoring a model on recorded steps: one-step predictions against the copy-last-frame
//! baseline, and open-loop rollouts with error per horizon.

use serde::{Deserialize, Serialize};

use crate::heads::Outlook;
use crate::metrics::{FrameMetrics, ScoreTotals, compare, psnr_from_mse};
use crate::predictor::Predictor;
use crate::replay::Step;

/// Mean metrics of the model and of the copy-last-frame baseline over the same pairs, pooled
/// by [`ScoreTotals`] under the rule the game's reports follow: a pair whose real frame equals
/// the previous one (nothing moved, so copying is exact) is left out of every average, for
/// model and baseline alike, and only counted in `unchanged`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Prediction/target pairs seen: `scored + unchanged`.
    pub pairs: usize,
    /// Pairs averaged: the real frame differs from the previous one.
    #[serde(default)]
    pub scored: u64,
    /// Pairs left out of the averages because the real frame equals the previous one.
    #[serde(default)]
    pub unchanged: u64,
    /// Mean metrics of the model's one-step predictions over the scored pairs, PSNR that of
    /// the pooled MSE ([`ScoreTotals::mean`]); all zero when no pair was scored.
    pub model: FrameMetrics,
    /// Mean metrics of copying the previous frame over the same pairs.
    pub baseline: FrameMetrics,
    /// PSNR of the pooled MSE (model), dB; unlike the mean of per-frame PSNRs it is not
    /// dominated by easy frames. Equals `model.psnr`, or the cap (100 dB) when no pair was
    /// scored.
    pub model_psnr_pooled: f64,
    /// PSNR of the pooled MSE (baseline), dB.
    pub baseline_psnr_pooled: f64,
}

impl EvalReport {
    /// The report of pooled totals.
    pub fn from_totals(totals: &ScoreTotals) -> Self {
        let (model, baseline) = totals.mean().unwrap_or_default();
        Self {
            pairs: (totals.scored + totals.unchanged) as usize,
            scored: totals.scored,
            unchanged: totals.unchanged,
            model_psnr_pooled: psnr_from_mse(model.mse),
            baseline_psnr_pooled: psnr_from_mse(baseline.mse),
            model,
            baseline,
        }
    }

    /// Model PSNR minus baseline PSNR (pooled), dB: positive means the model beats copying.
    pub fn gain_db(&self) -> f64 {
        self.model_psnr_pooled - self.baseline_psnr_pooled
    }
}

/// Streams `steps` through `predictor` as the game does: observe frame `t` with the action
/// that led to it, predict frame `t + 1` from action `t`, then score that prediction against
/// the real frame `t + 1` (never against the frame it was computed from). Episode starts
/// reset the state and are not scored; pairs whose view did not change are counted, not
/// averaged (see [`EvalReport`]).
pub fn one_step(predictor: &mut Predictor, steps: &[Step]) -> EvalReport {
    predictor.reset();
    let mut totals = ScoreTotals::default();
    let mut prev: Option<&Step> = None;
    let mut pending = None;
    for step in steps {
        // Ticks come from files: one at `u64::MAX` wraps, as in the replay buffer.
        let continues = !step.first && prev.is_some_and(|p| p.tick.wrapping_add(1) == step.tick);
        if !continues {
            predictor.reset();
            pending = None;
        }
        if let (Some(pred), Some(p)) = (pending.take(), prev)
            && continues
        {
            let m = compare(&pred, &step.frame).expect("same size");
            let b = compare(&p.frame, &step.frame).expect("same size");
            totals.push(m, b);
        }
        let zero = vec![0.0; step.action.len()];
        let prev_action = prev.filter(|_| continues).map_or(&zero, |p| &p.action);
        if predictor.observe(&step.frame, prev_action).is_err() {
            break;
        }
        pending = predictor.predict_next(&step.action).ok().flatten();
        prev = Some(step);
    }
    EvalReport::from_totals(&totals)
}

/// Error of open-loop rollouts per horizon: from each start (every `stride` steps), observe
/// `context` frames, then imagine `horizon` frames from the recorded actions without seeing
/// any further frame. Returns, per horizon `1..=horizon`, the imagined frames and the last
/// observed frame (copied ahead: the baseline) against the real ones, pooled by the rule of
/// [`ScoreTotals`] (horizons whose view did not change since the last observed frame are
/// counted and left out, as the game's dream strips do).
pub fn open_loop(
    predictor: &mut Predictor,
    steps: &[Step],
    context: usize,
    horizon: usize,
    stride: usize,
) -> Vec<ScoreTotals> {
    let mut totals = vec![ScoreTotals::default(); horizon];
    let mut start = 0;
    while start + context + horizon <= steps.len() {
        let window = &steps[start..start + context + horizon];
        let contiguous = window
            .windows(2)
            .all(|w| !w[1].first && w[1].tick == w[0].tick.wrapping_add(1));
        if contiguous {
            predictor.reset();
            let zero = vec![0.0; window[0].action.len()];
            let mut ok = true;
            for (i, s) in window[..context].iter().enumerate() {
                let a = if i == 0 { &zero } else { &window[i - 1].action };
                ok &= predictor.observe(&s.frame, a).is_ok();
            }
            let actions: Vec<Vec<f32>> = window[context - 1..context - 1 + horizon]
                .iter()
                .map(|s| s.action.clone())
                .collect();
            if ok && let Ok(frames) = predictor.imagine(None, &actions) {
                let last = &window[context - 1].frame;
                for (k, f) in frames.iter().enumerate() {
                    let real = &window[context + k].frame;
                    if let (Ok(model), Ok(baseline)) = (compare(f, real), compare(last, real)) {
                        totals[k].push(model, baseline);
                    }
                }
            }
        }
        start += stride.max(1);
    }
    totals
}

/// A reward of at least this much is an event (a goal reached, a pickup taken): the sparse
/// +1 the tasks pay, well above step penalties and shaping.
pub const REWARD_EVENT: f32 = 0.5;

/// Rewards against the reward and continue heads' predictions for the same ticks, and the
/// baseline of always predicting the mean reward (of these same ticks: the best constant).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RewardTally {
    /// Ticks counted.
    pub ticks: u64,
    /// Sum of the rewards.
    pub reward_sum: f64,
    /// Sum of the squared rewards.
    pub reward_sq: f64,
    /// Sum of the model's squared errors.
    pub model_sq: f64,
    /// Ticks paying at least [`REWARD_EVENT`].
    pub events: u64,
    /// Events the model predicted (at least half of [`REWARD_EVENT`]).
    pub anticipated: u64,
    /// Predictions of an event (at least half of [`REWARD_EVENT`]) where none came.
    pub false_alarms: u64,
    /// Terminal ticks.
    pub terminals: u64,
    /// Sum of the predicted continue probability at terminal ticks.
    pub cont_at_terminals: f64,
    /// Sum of the predicted continue probability elsewhere.
    pub cont_elsewhere: f64,
}

impl RewardTally {
    /// Adds one tick: what it paid, whether it ended its episode as terminal, and the
    /// prediction made for it.
    pub fn push(&mut self, reward: f32, terminal: bool, predicted: Outlook) {
        let (r, p) = (f64::from(reward), f64::from(predicted.reward));
        if !(r.is_finite() && p.is_finite()) {
            return;
        }
        self.ticks += 1;
        self.reward_sum += r;
        self.reward_sq += r * r;
        self.model_sq += (r - p).powi(2);
        let alarm = predicted.reward >= REWARD_EVENT / 2.0;
        if reward >= REWARD_EVENT {
            self.events += 1;
            self.anticipated += u64::from(alarm);
        } else {
            self.false_alarms += u64::from(alarm);
        }
        if terminal {
            self.terminals += 1;
            self.cont_at_terminals += f64::from(predicted.cont);
        } else {
            self.cont_elsewhere += f64::from(predicted.cont);
        }
    }

    /// The model's mean squared error; `None` before the first tick.
    pub fn model_mse(&self) -> Option<f64> {
        (self.ticks > 0).then(|| self.model_sq / self.ticks as f64)
    }

    /// The mean squared error of predicting the mean reward (the rewards' variance).
    pub fn mean_mse(&self) -> Option<f64> {
        (self.ticks > 0).then(|| {
            let n = self.ticks as f64;
            (self.reward_sq / n - (self.reward_sum / n).powi(2)).max(0.0)
        })
    }

    /// The mean predicted continue probability at terminal ticks and elsewhere.
    pub fn mean_cont(&self) -> (Option<f64>, Option<f64>) {
        let others = self.ticks - self.terminals;
        (
            (self.terminals > 0).then(|| self.cont_at_terminals / self.terminals as f64),
            (others > 0).then(|| self.cont_elsewhere / others as f64),
        )
    }
}

/// Streams `steps` through `predictor` as [`one_step`] does and tallies the reward and
/// continue heads: `prior`, the prediction for tick `t + 1` made at tick `t` (what a game
/// shows and an agent plans with); `posterior`, what the heads say of each observed state.
pub fn rewards(predictor: &mut Predictor, steps: &[Step]) -> (RewardTally, RewardTally) {
    predictor.reset();
    let (mut prior, mut posterior) = (RewardTally::default(), RewardTally::default());
    let mut prev: Option<&Step> = None;
    let mut pending: Option<Outlook> = None;
    for step in steps {
        let continues = !step.first && prev.is_some_and(|p| p.tick.wrapping_add(1) == step.tick);
        if !continues {
            predictor.reset();
            pending = None;
        }
        if let Some(outlook) = pending.take() {
            prior.push(step.reward, step.terminal, outlook);
        }
        let zero = vec![0.0; step.action.len()];
        let prev_action = prev.filter(|_| continues).map_or(&zero, |p| &p.action);
        let Ok(state) = predictor.observe(&step.frame, prev_action) else {
            break;
        };
        posterior.push(step.reward, step.terminal, predictor.outlook(&state));
        if predictor.predict_next_deferred(&step.action).is_err() {
            break;
        }
        pending = predictor.next_outlook();
        prev = Some(step);
    }
    (prior, posterior)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::PSNR_CAP;

    #[test]
    fn the_mean_baseline_is_the_rewards_variance() {
        let mut t = RewardTally::default();
        let none = Outlook {
            reward: 0.0,
            cont: 0.9,
        };
        for r in [0.0, 0.0, 1.0, 0.0] {
            t.push(r, r == 1.0, none);
        }
        assert_eq!(t.mean_mse(), Some(0.1875)); // 1/4 - 1/16
        assert_eq!(t.model_mse(), Some(0.25));
        assert_eq!((t.events, t.anticipated, t.false_alarms), (1, 0, 0));
        let (at, elsewhere) = t.mean_cont();
        assert!((at.unwrap() - 0.9).abs() < 1e-6 && (elsewhere.unwrap() - 0.9).abs() < 1e-6);
        t.push(
            0.0,
            false,
            Outlook {
                reward: 0.4,
                cont: 1.0,
            },
        );
        assert_eq!(t.false_alarms, 1);
    }

    fn mse(mse: f64) -> FrameMetrics {
        FrameMetrics {
            mse,
            psnr: psnr_from_mse(mse),
            ..Default::default()
        }
    }

    /// Unchanged views count as pairs but enter neither average; with none scored both PSNRs
    /// are the cap, as for an empty evaluation.
    #[test]
    fn reports_leave_unchanged_views_out_for_model_and_baseline() {
        let mut totals = ScoreTotals::default();
        totals.push(mse(9.0), mse(0.0));
        let empty = EvalReport::from_totals(&totals);
        assert_eq!((empty.pairs, empty.scored, empty.unchanged), (1, 0, 1));
        assert_eq!(
            (empty.model_psnr_pooled, empty.baseline_psnr_pooled),
            (PSNR_CAP, PSNR_CAP)
        );
        totals.push(mse(10.0), mse(40.0));
        totals.push(mse(30.0), mse(40.0));
        let r = EvalReport::from_totals(&totals);
        assert_eq!((r.pairs, r.scored, r.unchanged), (3, 2, 1));
        assert!((r.model.mse - 20.0).abs() < 1e-9);
        assert!((r.model_psnr_pooled - psnr_from_mse(20.0)).abs() < 1e-9);
        assert_eq!(r.model.psnr, r.model_psnr_pooled);
        assert!((r.gain_db() - (psnr_from_mse(20.0) - psnr_from_mse(40.0))).abs() < 1e-9);
    }

    /// Reports written before `scored` and `unchanged` existed still load.
    #[test]
    fn old_reports_deserialise() {
        let old = serde_json::json!({
            "pairs": 2,
            "model": mse(4.0),
            "baseline": mse(8.0),
            "model_psnr_pooled": 1.0,
            "baseline_psnr_pooled": 2.0
        });
        let r: EvalReport = serde_json::from_value(old).unwrap();
        assert_eq!((r.pairs, r.scored, r.unchanged), (2, 0, 0));
    }
}

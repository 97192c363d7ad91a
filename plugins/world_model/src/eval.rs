//! Scoring a model on recorded steps: one-step predictions against the copy-last-frame
//! baseline, and open-loop rollouts with error per horizon.

use serde::{Deserialize, Serialize};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::PSNR_CAP;

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

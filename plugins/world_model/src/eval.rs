//! Scoring a model on recorded steps: one-step predictions against the copy-last-frame
//! baseline, and open-loop rollouts with error per horizon.

use serde::{Deserialize, Serialize};

use crate::metrics::{FrameMetrics, compare, psnr_from_mse};
use crate::predictor::Predictor;
use crate::replay::Step;

/// Mean metrics of the model and of the copy-last-frame baseline over the same pairs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Prediction/target pairs scored.
    pub pairs: usize,
    /// Mean metrics of the model's one-step predictions.
    pub model: FrameMetrics,
    /// Mean metrics of copying the previous frame.
    pub baseline: FrameMetrics,
    /// PSNR of the pooled MSE (model), dB; unlike the mean of per-frame PSNRs it is not
    /// dominated by easy frames.
    pub model_psnr_pooled: f64,
    /// PSNR of the pooled MSE (baseline), dB.
    pub baseline_psnr_pooled: f64,
}

impl EvalReport {
    /// Model PSNR minus baseline PSNR (pooled), dB: positive means the model beats copying.
    pub fn gain_db(&self) -> f64 {
        self.model_psnr_pooled - self.baseline_psnr_pooled
    }
}

fn accumulate(sum: &mut FrameMetrics, m: &FrameMetrics) {
    sum.mse += m.mse;
    sum.mae += m.mae;
    sum.psnr += m.psnr;
    sum.ssim += m.ssim;
    sum.hist_corr += m.hist_corr;
    for c in 0..3 {
        sum.rgb_mae[c] += m.rgb_mae[c];
    }
}

fn divide(sum: &mut FrameMetrics, n: usize) {
    let n = n.max(1) as f64;
    sum.mse /= n;
    sum.mae /= n;
    sum.psnr /= n;
    sum.ssim /= n;
    sum.hist_corr /= n;
    for c in 0..3 {
        sum.rgb_mae[c] /= n;
    }
}

/// Streams `steps` through `predictor` as the game does: observe frame `t` with the action
/// that led to it, predict frame `t + 1` from action `t`, then score that prediction against
/// the real frame `t + 1` (never against the frame it was computed from). Episode starts
/// reset the state and are not scored.
pub fn one_step(predictor: &mut Predictor, steps: &[Step]) -> EvalReport {
    predictor.reset();
    let mut report = EvalReport::default();
    let mut prev: Option<&Step> = None;
    let mut pending = None;
    for step in steps {
        let continues = !step.first && prev.is_some_and(|p| p.tick + 1 == step.tick);
        if !continues {
            predictor.reset();
            pending = None;
        }
        if let (Some(pred), Some(p)) = (pending.take(), prev)
            && continues
        {
            let m = compare(&pred, &step.frame).expect("same size");
            let b = compare(&p.frame, &step.frame).expect("same size");
            accumulate(&mut report.model, &m);
            accumulate(&mut report.baseline, &b);
            report.pairs += 1;
        }
        let zero = vec![0.0; step.action.len()];
        let prev_action = prev.filter(|_| continues).map_or(&zero, |p| &p.action);
        if predictor.observe(&step.frame, prev_action).is_err() {
            break;
        }
        pending = predictor.predict_next(&step.action).ok().flatten();
        prev = Some(step);
    }
    let (mse_m, mse_b) = (report.model.mse, report.baseline.mse);
    divide(&mut report.model, report.pairs);
    divide(&mut report.baseline, report.pairs);
    report.model_psnr_pooled = psnr_from_mse(mse_m / report.pairs.max(1) as f64);
    report.baseline_psnr_pooled = psnr_from_mse(mse_b / report.pairs.max(1) as f64);
    report
}

/// Error of open-loop rollouts per horizon: from each start (every `stride` steps), observe
/// `context` frames, then imagine `horizon` frames from the recorded actions without seeing
/// any further frame. Returns the mean MSE and PSNR of the pooled MSE per horizon `1..=horizon`.
pub fn open_loop(
    predictor: &mut Predictor,
    steps: &[Step],
    context: usize,
    horizon: usize,
    stride: usize,
) -> Vec<(f64, f64)> {
    let mut sums = vec![(0f64, 0usize); horizon];
    let mut start = 0;
    while start + context + horizon <= steps.len() {
        let window = &steps[start..start + context + horizon];
        let contiguous = window
            .windows(2)
            .all(|w| !w[1].first && w[1].tick == w[0].tick + 1);
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
                for (k, f) in frames.iter().enumerate() {
                    let m = compare(f, &window[context + k].frame).expect("same size");
                    sums[k].0 += m.mse;
                    sums[k].1 += 1;
                }
            }
        }
        start += stride.max(1);
    }
    sums.into_iter()
        .map(|(s, n)| {
            let mse = s / n.max(1) as f64;
            (mse, psnr_from_mse(mse))
        })
        .collect()
}

//! How well the model predicts: every scored tick against the copy-last-frame baseline, by
//! the one pooling rule of [`ScoreTotals`] (views that did not change are counted and left
//! out), and the dream strip's per-horizon figures.

use std::collections::VecDeque;

use bevy::prelude::*;
use world_model::metrics::{ScoreTotals, view_unchanged};
use world_model::{Frame, FrameMetrics};

use crate::messages::PredictionScored;
use crate::strip::{DreamStrip, HorizonStats};

/// The model's scores. Written in [`WorldModelSystems::Infer`](crate::WorldModelSystems::Infer).
#[derive(Resource, Debug, Clone, Default)]
pub struct ModelScores {
    /// The last scored prediction.
    pub last_score: Option<PredictionScored>,
    /// Recent scores, averaged.
    pub averages: ScoreWindow,
    /// The frames behind [`last_score`](Self::last_score), for reports and strips.
    pub last_frames: Option<ScoredFrames>,
    /// The newest dream strip (next frames imagined for the action held), scored as the
    /// real frames arrive.
    pub strip: Option<DreamStrip>,
    /// PSNR per horizon over recent fully scored strips.
    pub horizons: HorizonStats,
}

/// A prediction and the real frame it was scored against.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoredFrames {
    /// The tick both frames belong to.
    pub tick: u64,
    /// What the model predicted for the tick.
    pub predicted: Frame,
    /// What the camera saw.
    pub real: Frame,
}

/// The last [`ScoreWindow::LEN`] scored ticks in which the view changed, pooled by the rule
/// of [`ScoreTotals`]: a tick whose real frame equals the previous one makes the baseline
/// perfect (infinite PSNR), so it is counted in `unchanged` and left out of the averages,
/// for model and baseline alike.
#[derive(Clone, Debug, Default)]
pub struct ScoreWindow {
    scores: VecDeque<(FrameMetrics, FrameMetrics)>,
    /// Ticks scored since the start (view changed).
    pub scored: u64,
    /// Ticks skipped because the view did not change.
    pub unchanged: u64,
}

impl ScoreWindow {
    /// Ticks averaged (about two seconds at 60 fps).
    pub const LEN: usize = 120;

    /// Adds one scored tick.
    pub fn push(&mut self, model: FrameMetrics, baseline: FrameMetrics) {
        if view_unchanged(&baseline) {
            self.unchanged += 1;
            return;
        }
        self.scored += 1;
        self.scores.push_back((model, baseline));
        while self.scores.len() > Self::LEN {
            self.scores.pop_front();
        }
    }

    /// Mean (model, baseline) over the window, pooled as [`ScoreTotals::mean`]. `None`
    /// while empty.
    pub fn mean(&self) -> Option<(FrameMetrics, FrameMetrics)> {
        let mut totals = ScoreTotals::default();
        for (model, baseline) in &self.scores {
            totals.push(*model, *baseline);
        }
        totals.mean()
    }

    /// Number of ticks in the window.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// True before the first scored tick.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use world_model::metrics::psnr_from_mse;

    fn m(mse: f64) -> FrameMetrics {
        FrameMetrics {
            mse,
            mae: mse / 2.0,
            psnr: psnr_from_mse(mse),
            ssim: 0.5,
            hist_corr: 0.9,
            rgb_mae: [1.0, 2.0, 3.0],
        }
    }

    #[test]
    fn unchanged_views_are_counted_but_not_averaged() {
        let mut w = ScoreWindow::default();
        w.push(m(10.0), m(0.0));
        assert!(w.mean().is_none());
        assert_eq!((w.scored, w.unchanged), (0, 1));
        w.push(m(10.0), m(40.0));
        w.push(m(30.0), m(40.0));
        let (model, base) = w.mean().unwrap();
        assert!((model.mse - 20.0).abs() < 1e-9);
        assert!(
            (model.psnr - psnr_from_mse(20.0)).abs() < 1e-9,
            "pooled PSNR"
        );
        assert!((base.psnr - psnr_from_mse(40.0)).abs() < 1e-9);
        assert_eq!(model.rgb_mae, [1.0, 2.0, 3.0]);
        assert_eq!((w.scored, w.unchanged, w.len()), (2, 1, 2));
    }

    #[test]
    fn the_window_keeps_the_newest_ticks() {
        let mut w = ScoreWindow::default();
        for _ in 0..ScoreWindow::LEN {
            w.push(m(100.0), m(1.0));
        }
        for _ in 0..ScoreWindow::LEN {
            w.push(m(4.0), m(1.0));
        }
        assert_eq!(w.len(), ScoreWindow::LEN);
        assert!((w.mean().unwrap().0.mse - 4.0).abs() < 1e-9);
    }
}

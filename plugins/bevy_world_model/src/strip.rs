//! The dream strip: from the current state, the next [`HORIZON`] frames imagined for the
//! current action held, built one step per frame (so no frame pays for all of them), then
//! scored per horizon as the real frames of those ticks arrive; the next strip starts once
//! they have.

use std::collections::{BTreeMap, VecDeque};

use bevy::prelude::*;
use world_model::metrics::ScoreTotals;
use world_model::{Frame, FrameMetrics, Latent, Outlook, compare};

/// Frames per strip.
pub const HORIZON: usize = 8;

/// A finished strip and how well each horizon matched reality: scored here, once, for the
/// dashboard and for research reports alike.
#[derive(Clone, Debug, PartialEq)]
pub struct DreamStrip {
    /// Tick of the real frame the rollout started from; frame `k` predicts tick `start + k + 1`.
    pub start: u64,
    /// The real frame of `start`: the copy-last-frame baseline's guess for every horizon.
    pub start_frame: Frame,
    /// The imagined frames.
    pub frames: Vec<Frame>,
    /// Horizon `k`'s real frame and scores, once the frame of its tick arrived.
    pub horizons: Vec<Option<HorizonScore>>,
    /// The predicted reward and continue probability of each imagined step (empty when
    /// the strip was built without them).
    pub outlook: Vec<Outlook>,
}

/// One horizon of a [`DreamStrip`] against the real frame of its tick.
#[derive(Clone, Debug, PartialEq)]
pub struct HorizonScore {
    /// What the camera saw at that tick.
    pub real: Frame,
    /// The imagined frame against it.
    pub model: FrameMetrics,
    /// The strip's start frame (copied `k + 1` ticks ahead) against it.
    pub baseline: FrameMetrics,
}

/// The strip being imagined, one step per tick; `None` between strips.
#[derive(Resource, Default)]
pub(crate) struct PendingStrip(pub Option<StripBuilder>);

/// A strip being built, with the real frames that arrived meanwhile.
pub(crate) struct StripBuilder {
    pub start: u64,
    start_frame: Frame,
    pub action: Vec<f32>,
    pub state: Latent,
    pub frames: Vec<Frame>,
    pub outlook: Vec<Outlook>,
    reals: BTreeMap<u64, Frame>,
}

impl StripBuilder {
    /// A strip from the posterior `state` of the real `start_frame` of tick `start`.
    pub fn new(start: u64, start_frame: Frame, state: Latent, action: Vec<f32>) -> Self {
        Self {
            start,
            start_frame,
            action,
            state,
            frames: Vec::with_capacity(HORIZON),
            outlook: Vec::with_capacity(HORIZON),
            reals: BTreeMap::new(),
        }
    }

    pub fn is_done(&self) -> bool {
        self.frames.len() >= HORIZON
    }

    /// Keeps a real frame if the strip will predict its tick.
    pub fn see_real(&mut self, tick: u64, frame: &Frame) {
        if (self.start + 1..=self.start + HORIZON as u64).contains(&tick) {
            self.reals.insert(tick, frame.clone());
        }
    }

    /// The finished strip, scored against the real frames seen so far.
    pub fn finish(self) -> DreamStrip {
        let mut strip = DreamStrip::new(self.start, self.start_frame, self.frames);
        strip.outlook = self.outlook;
        for (tick, frame) in &self.reals {
            strip.score(*tick, frame);
        }
        strip
    }
}

impl DreamStrip {
    /// An unscored strip of `frames` imagined from `start_frame`, the real frame of `start`.
    pub fn new(start: u64, start_frame: Frame, frames: Vec<Frame>) -> Self {
        Self {
            start,
            start_frame,
            horizons: vec![None; frames.len()],
            frames,
            outlook: Vec::new(),
        }
    }

    /// Scores the frame predicted for `tick` against the real `frame`; false if the strip
    /// does not cover `tick`, already scored it, or the sizes differ.
    pub fn score(&mut self, tick: u64, frame: &Frame) -> bool {
        let Some(k) = tick.checked_sub(self.start + 1).map(|k| k as usize) else {
            return false;
        };
        let (Some(pred), Some(slot)) = (self.frames.get(k), self.horizons.get_mut(k)) else {
            return false;
        };
        if slot.is_some() {
            return false;
        }
        let (Ok(model), Ok(baseline)) = (compare(pred, frame), compare(&self.start_frame, frame))
        else {
            return false;
        };
        *slot = Some(HorizonScore {
            real: frame.clone(),
            model,
            baseline,
        });
        true
    }

    /// PSNR of horizon `k`'s imagined frame, once scored.
    pub fn psnr(&self, k: usize) -> Option<f64> {
        self.horizons.get(k)?.as_ref().map(|h| h.model.psnr)
    }

    /// True once every horizon is scored.
    pub fn is_scored(&self) -> bool {
        self.horizons.iter().all(Option::is_some)
    }

    /// True while the real frame of some horizon can still arrive, given that the newest
    /// real frame is of `tick`. A new strip waits for this one: replacing it earlier (a strip
    /// is built in eight frames, under a tick at game frame rates) left no strip complete,
    /// so the per-horizon figures never filled.
    pub fn awaits_reals(&self, tick: u64) -> bool {
        !self.is_scored() && tick < self.start + self.frames.len() as u64
    }
}

/// PSNR per horizon over the last [`HorizonStats::STRIPS`] fully scored strips, to show that
/// error grows with the horizon; pooled by the one rule of [`ScoreTotals`] (horizons whose
/// view did not change since the strip's start are left out).
#[derive(Clone, Debug, Default)]
pub struct HorizonStats {
    strips: VecDeque<Vec<(FrameMetrics, FrameMetrics)>>,
}

impl HorizonStats {
    /// Strips averaged.
    pub const STRIPS: usize = 30;

    /// Adds a scored strip (ignored unless every horizon is scored).
    pub fn push(&mut self, strip: &DreamStrip) {
        if !strip.is_scored() {
            return;
        }
        let scores = strip
            .horizons
            .iter()
            .flatten()
            .map(|h| (h.model, h.baseline))
            .collect();
        self.strips.push_back(scores);
        while self.strips.len() > Self::STRIPS {
            self.strips.pop_front();
        }
    }

    /// Pooled model PSNR per horizon (`None` where no strip's view changed); empty before the
    /// first scored strip.
    pub fn psnr(&self) -> Vec<Option<f64>> {
        if self.strips.is_empty() {
            return Vec::new();
        }
        (0..HORIZON)
            .map(|k| {
                let mut totals = ScoreTotals::default();
                for (model, baseline) in self.strips.iter().filter_map(|s| s.get(k)) {
                    totals.push(*model, *baseline);
                }
                totals.mean().map(|(model, _)| model.psnr)
            })
            .collect()
    }

    /// Strips averaged so far.
    pub fn len(&self) -> usize {
        self.strips.len()
    }

    /// True before the first scored strip.
    pub fn is_empty(&self) -> bool {
        self.strips.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use world_model::metrics::psnr_from_mse;

    fn strip(start: u64) -> DreamStrip {
        DreamStrip::new(
            start,
            Frame::filled(2, 2, [200; 3]),
            (0..HORIZON)
                .map(|k| Frame::filled(2, 2, [k as u8 * 10; 3]))
                .collect(),
        )
    }

    #[test]
    fn each_horizon_is_scored_against_its_own_tick() {
        let mut s = strip(100);
        assert!(
            !s.score(100, &Frame::filled(2, 2, [0; 3])),
            "the start frame is not predicted"
        );
        assert!(s.score(101, &Frame::filled(2, 2, [0; 3])));
        assert!(!s.score(101, &Frame::filled(2, 2, [9; 3])), "scored once");
        assert!(s.score(108, &Frame::filled(2, 2, [70; 3])));
        assert!(!s.score(109, &Frame::filled(2, 2, [0; 3])));
        assert_eq!(s.psnr(0), Some(psnr_from_mse(0.0)));
        assert_eq!(s.psnr(7), Some(psnr_from_mse(0.0)));
        assert!((1..7).all(|k| s.psnr(k).is_none()));
        let first = s.horizons[0].as_ref().unwrap();
        assert_eq!(first.baseline.mse, 200.0 * 200.0, "the start frame, copied");
        assert_eq!(first.real, Frame::filled(2, 2, [0; 3]));
        assert!(!s.is_scored());
        assert!(s.awaits_reals(107), "ticks 102-107 can still arrive");
        assert!(!s.awaits_reals(108), "its last tick has passed");
        let mut done = strip(0);
        for k in 1..=HORIZON as u64 {
            done.score(k, &Frame::filled(2, 2, [0; 3]));
        }
        assert!(done.is_scored() && !done.awaits_reals(3));
    }

    #[test]
    fn horizon_stats_pool_the_error_of_complete_strips() {
        let mut stats = HorizonStats::default();
        let mut s = strip(0);
        for k in 0..HORIZON as u64 {
            // The real frame differs from frame k by k grey levels.
            s.score(k + 1, &Frame::filled(2, 2, [(k * 10 + k) as u8; 3]));
        }
        stats.push(&strip(5)); // unscored: ignored
        stats.push(&s);
        let p: Vec<f64> = stats.psnr().into_iter().map(Option::unwrap).collect();
        assert_eq!(stats.len(), 1);
        assert_eq!(p.len(), HORIZON);
        assert!((p[3] - psnr_from_mse(9.0)).abs() < 1e-6, "{p:?}");
        assert!(
            p.windows(2).skip(1).all(|w| w[0] > w[1]),
            "error grows: {p:?}"
        );
    }
}

//! What the plugin publishes each frame: the prediction and heatmap images (persistent assets
//! updated in place), scores against the copy-last-frame baseline, trainer stats, the mode.

use std::collections::VecDeque;

use bevy::asset::RenderAssetUsages;
use bevy::image::ImageSampler;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
use world_model::metrics::psnr_from_mse;
use world_model::{Frame, FrameMetrics, TrainStats};

use crate::latent::LatentInfo;
use crate::messages::PredictionScored;
use crate::runtime::WorldModelRuntime;
use crate::strip::{DreamStrip, HORIZON, HorizonStats};

/// The model's live output. Images keep their handles for the whole session, so a UI can
/// show them once and see every update.
#[derive(Resource, Debug)]
pub struct WorldModelOutput {
    /// The model's predicted next frame (or the dream's current frame), sRGB RGBA.
    pub prediction: Handle<Image>,
    /// |prediction - real| of the last scored tick (black -> red -> yellow -> white).
    pub heatmap: Handle<Image>,
    /// The last scored prediction.
    pub last_score: Option<PredictionScored>,
    /// Recent scores, averaged.
    pub averages: ScoreWindow,
    /// The trainer's latest numbers.
    pub trainer: Option<TrainStats>,
    /// Where the model runs and why.
    pub device: String,
    /// Which weights are running: "random init" or the checkpoint they came from.
    pub model_source: String,
    /// Optimizer step of the weights predicting now.
    pub weights_step: u64,
    /// Optimizer step of the weights the session started from (or last loaded): what the
    /// model knew before learning online here.
    pub start_step: u64,
    /// When those weights started running (online learning counts from here).
    pub online_since: std::time::Instant,
    /// Milliseconds the last inference (observe + predict, or a dream step) took.
    pub infer_ms: f32,
    /// Transitions handed to the trainer.
    pub sent: u64,
    /// Transitions dropped because the trainer's queue was full (the frame loop never waits).
    pub dropped: u64,
    /// Frames that arrived after a later tick had been processed (not used).
    pub late_frames: u64,
    /// Ticks the current dream has run without a real frame.
    pub dream_ticks: u64,
    /// The last error, until the next success replaces it.
    pub last_error: Option<String>,
    /// The latent state now and its recent code usage.
    pub latent: Option<LatentInfo>,
    /// The newest dream strip (next frames imagined for the action held), scored as the
    /// real frames arrive.
    pub strip: Option<DreamStrip>,
    /// The strip's frames side by side (`HORIZON` frames wide), updated in place.
    pub strip_image: Handle<Image>,
    /// PSNR per horizon over recent strips.
    pub horizons: HorizonStats,
    /// The frames behind [`last_score`](Self::last_score), for reports and strips.
    pub last_frames: Option<ScoredFrames>,
    /// Transitions written to the recording (see `WorldModelPlugin::with_recording`).
    pub recorded: u64,
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

impl WorldModelOutput {
    pub(crate) fn new(images: &mut Assets<Image>, width: u32, height: u32) -> Self {
        Self {
            prediction: images.add(blank_image(width, height)),
            heatmap: images.add(blank_image(width, height)),
            last_score: None,
            averages: ScoreWindow::default(),
            trainer: None,
            device: "starting".into(),
            model_source: "random init".into(),
            weights_step: 0,
            start_step: 0,
            online_since: std::time::Instant::now(),
            infer_ms: 0.0,
            sent: 0,
            dropped: 0,
            late_frames: 0,
            dream_ticks: 0,
            last_error: None,
            latent: None,
            strip: None,
            strip_image: images.add(blank_image(width * HORIZON as u32, height)),
            horizons: HorizonStats::default(),
            last_frames: None,
            recorded: 0,
        }
    }
}

/// Draws the newest prediction and heatmap into their persistent images.
pub(crate) fn present(
    mut runtime: ResMut<WorldModelRuntime>,
    output: Res<WorldModelOutput>,
    mut images: ResMut<Assets<Image>>,
) {
    if let Some(frame) = runtime.show_prediction.take() {
        write_frame(&mut images, &output.prediction, &frame);
    }
    if let Some(frame) = runtime.show_heatmap.take() {
        write_frame(&mut images, &output.heatmap, &frame);
    }
    if let Some(frame) = runtime.show_strip.take() {
        write_frame(&mut images, &output.strip_image, &frame);
    }
}

/// A black sRGB image with nearest sampling (crisp when scaled up).
pub(crate) fn blank_image(width: u32, height: u32) -> Image {
    let mut image = Image::new_fill(
        Extent3d {
            width: width.max(1),
            height: height.max(1),
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        &[0, 0, 0, 255],
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::default(),
    );
    image.sampler = ImageSampler::nearest();
    image
}

/// Overwrites `handle`'s pixels with `frame` (same asset, same GPU texture). False when the
/// sizes differ or the asset is gone.
pub(crate) fn write_frame(
    images: &mut Assets<Image>,
    handle: &Handle<Image>,
    frame: &Frame,
) -> bool {
    let Some(mut image) = images.get_mut(handle) else {
        return false;
    };
    let rgba = frame.to_rgba();
    match image.data.as_mut() {
        Some(data) if data.len() == rgba.len() => {
            data.copy_from_slice(&rgba);
            true
        }
        _ => false,
    }
}

/// The last [`ScoreWindow::LEN`] scored ticks in which the view changed.
///
/// A tick whose real frame equals the previous one makes the baseline perfect (infinite
/// PSNR): such ticks are counted in `unchanged` and left out of the averages, for model and
/// baseline alike.
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
        if baseline.mse <= 0.0 {
            self.unchanged += 1;
            return;
        }
        self.scored += 1;
        self.scores.push_back((model, baseline));
        while self.scores.len() > Self::LEN {
            self.scores.pop_front();
        }
    }

    /// Mean (model, baseline) over the window; PSNR is computed from the mean MSE (pooled),
    /// the other metrics are plain means. `None` while empty.
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

/// Sums over every scored tick in which the view changed, for whole-run averages without
/// keeping the ticks. Same rule as [`ScoreWindow`]: ticks whose real frame equals the
/// previous one are only counted (`unchanged`), for model and baseline alike.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ScoreTotals {
    /// Ticks summed (view changed).
    pub scored: u64,
    /// Ticks skipped because the view did not change.
    pub unchanged: u64,
    model: FrameMetrics,
    baseline: FrameMetrics,
}

impl ScoreTotals {
    /// Adds one scored tick.
    pub fn push(&mut self, model: FrameMetrics, baseline: FrameMetrics) {
        if baseline.mse <= 0.0 {
            self.unchanged += 1;
            return;
        }
        self.scored += 1;
        add_scaled(&mut self.model, &model, 1.0);
        add_scaled(&mut self.baseline, &baseline, 1.0);
    }

    /// Mean (model, baseline); PSNR from the mean MSE (pooled), the rest plain means.
    /// `None` before the first summed tick.
    pub fn mean(&self) -> Option<(FrameMetrics, FrameMetrics)> {
        if self.scored == 0 {
            return None;
        }
        let w = 1.0 / self.scored as f64;
        let avg = |sum: &FrameMetrics| {
            let mut m = FrameMetrics::default();
            add_scaled(&mut m, sum, w);
            m.psnr = psnr_from_mse(m.mse);
            m
        };
        Some((avg(&self.model), avg(&self.baseline)))
    }
}

/// `acc += w * x` for every metric but PSNR (which is derived from the pooled MSE).
fn add_scaled(acc: &mut FrameMetrics, x: &FrameMetrics, w: f64) {
    acc.mse += x.mse * w;
    acc.mae += x.mae * w;
    acc.ssim += x.ssim * w;
    acc.hist_corr += x.hist_corr * w;
    for c in 0..3 {
        acc.rgb_mae[c] += x.rgb_mae[c] * w;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn totals_pool_every_changed_tick() {
        let mut t = ScoreTotals::default();
        assert!(t.mean().is_none());
        t.push(m(5.0), m(0.0));
        for mse in [10.0, 20.0, 30.0, 40.0] {
            t.push(m(mse), m(50.0));
        }
        assert_eq!((t.scored, t.unchanged), (4, 1));
        let (model, base) = t.mean().unwrap();
        assert!((model.mse - 25.0).abs() < 1e-9);
        assert!((model.psnr - psnr_from_mse(25.0)).abs() < 1e-9);
        assert!((base.psnr - psnr_from_mse(50.0)).abs() < 1e-9);
        assert!((model.ssim - 0.5).abs() < 1e-12);
    }
}

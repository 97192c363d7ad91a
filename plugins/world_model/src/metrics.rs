//! Image-quality metrics on two RGB u8 frames, plus an error heatmap.
//!
//! - MSE and MAE are on the 0-255 scale, over all pixels and channels.
//! - PSNR is `10 log10(255^2 / MSE)`, capped at 100 dB for identical frames.
//! - SSIM follows Wang et al. 2004: an 11x11 Gaussian window with sigma 1.5, `K1 = 0.01`,
//!   `K2 = 0.03`, `L = 255`, averaged over the *valid* window positions (as the authors'
//!   `ssim_index.m` and scikit-image, which crops the border). It is computed on **luminance**
//!   (ITU-R BT.601: `Y = 0.299 R + 0.587 G + 0.114 B`), the usual choice for a single score.
//!   Frames smaller than the window fall back to one window over the whole frame.
//! - Histogram correlation: 32 bins per channel, Pearson correlation over the bins (OpenCV's
//!   `HISTCMP_CORREL`), averaged over the three channels, as the Python original.
//!
//! [`ScoreTotals`] pools the scores of many ticks, model and copy-last-frame baseline side by
//! side, under the rule every report follows: ticks whose view did not change are left out.

use serde::{Deserialize, Serialize};

use crate::frame::Frame;

/// Every metric for one pair of frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FrameMetrics {
    /// Mean squared error, 0-255 scale.
    pub mse: f64,
    /// Mean absolute error, 0-255 scale.
    pub mae: f64,
    /// Peak signal-to-noise ratio in dB (100 for identical frames).
    pub psnr: f64,
    /// Structural similarity on luminance, in `[-1, 1]`.
    pub ssim: f64,
    /// Histogram correlation, in `[-1, 1]`.
    pub hist_corr: f64,
    /// Mean absolute error per channel (R, G, B), 0-255 scale.
    pub rgb_mae: [f64; 3],
}

/// Frames of different sizes cannot be compared.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("frames differ in size: {0}x{1} vs {2}x{3}")]
pub struct SizeMismatch(pub usize, pub usize, pub usize, pub usize);

/// PSNR reported for identical frames (an infinite ratio).
pub const PSNR_CAP: f64 = 100.0;

/// Computes every metric of `pred` against `target`.
pub fn compare(pred: &Frame, target: &Frame) -> Result<FrameMetrics, SizeMismatch> {
    if (pred.width, pred.height) != (target.width, target.height)
        || pred.rgb.len() != target.rgb.len()
    {
        return Err(SizeMismatch(
            pred.width,
            pred.height,
            target.width,
            target.height,
        ));
    }
    let n = (pred.width * pred.height) as f64;
    let mut sq = 0f64;
    let mut abs = [0f64; 3];
    for (p, t) in pred.rgb.chunks_exact(3).zip(target.rgb.chunks_exact(3)) {
        for c in 0..3 {
            let d = p[c] as f64 - t[c] as f64;
            sq += d * d;
            abs[c] += d.abs();
        }
    }
    let mse = sq / (3.0 * n);
    let rgb_mae = abs.map(|a| a / n);
    Ok(FrameMetrics {
        mse,
        mae: rgb_mae.iter().sum::<f64>() / 3.0,
        psnr: psnr_from_mse(mse),
        ssim: ssim(pred, target),
        hist_corr: hist_corr(pred, target),
        rgb_mae,
    })
}

/// PSNR in dB for a mean squared error on the 0-255 scale.
pub fn psnr_from_mse(mse: f64) -> f64 {
    if mse <= 0.0 {
        PSNR_CAP
    } else {
        (10.0 * (255.0f64 * 255.0 / mse).log10()).min(PSNR_CAP)
    }
}

/// The one rule for leaving a tick out of the averages: the real frame equals the previous
/// one (the copy-last-frame `baseline` scored MSE 0, infinite PSNR), so the tick says nothing
/// about prediction.
pub fn view_unchanged(baseline: &FrameMetrics) -> bool {
    baseline.mse <= 0.0
}

/// Sums of the model's and the copy-last-frame baseline's [`FrameMetrics`] over every tick
/// in which the view changed, for averages over a whole run without keeping the ticks. A tick
/// whose real frame equals the previous one (the baseline's MSE is 0) tells nothing about
/// prediction: it is only counted (`unchanged`), for model and baseline alike. The mean PSNR
/// is that of the pooled (mean) MSE, which easy frames do not dominate as they do a mean of
/// per-frame PSNRs; the other metrics are plain means.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ScoreTotals {
    /// Ticks summed (view changed).
    pub scored: u64,
    /// Ticks left out because the view did not change.
    pub unchanged: u64,
    model: FrameMetrics,
    baseline: FrameMetrics,
}

impl ScoreTotals {
    /// Adds one scored tick: the model's prediction and the previous frame, each against the
    /// real frame.
    pub fn push(&mut self, model: FrameMetrics, baseline: FrameMetrics) {
        if view_unchanged(&baseline) {
            self.unchanged += 1;
            return;
        }
        self.scored += 1;
        add_scaled(&mut self.model, &model, 1.0);
        add_scaled(&mut self.baseline, &baseline, 1.0);
    }

    /// Adds every tick of `other` (totals of another interval or another run).
    pub fn merge(&mut self, other: &ScoreTotals) {
        self.scored += other.scored;
        self.unchanged += other.unchanged;
        add_scaled(&mut self.model, &other.model, 1.0);
        add_scaled(&mut self.baseline, &other.baseline, 1.0);
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

fn luminance(f: &Frame) -> Vec<f64> {
    f.rgb
        .chunks_exact(3)
        .map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64)
        .collect()
}

fn gaussian_window(size: usize, sigma: f64) -> Vec<f64> {
    let half = (size / 2) as f64;
    let g: Vec<f64> = (0..size)
        .map(|i| (-((i as f64 - half).powi(2)) / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f64 = g.iter().sum();
    g.into_iter().map(|v| v / sum).collect()
}

/// Valid-mode separable filtering of a `w x h` image with the 1-D kernel `k`.
fn filter_valid(img: &[f64], w: usize, h: usize, k: &[f64]) -> (Vec<f64>, usize, usize) {
    let n = k.len();
    let (ow, oh) = (w + 1 - n, h + 1 - n);
    let mut rows = vec![0f64; ow * h];
    for y in 0..h {
        for x in 0..ow {
            rows[y * ow + x] = (0..n).map(|i| img[y * w + x + i] * k[i]).sum();
        }
    }
    let mut out = vec![0f64; ow * oh];
    for y in 0..oh {
        for x in 0..ow {
            out[y * ow + x] = (0..n).map(|i| rows[(y + i) * ow + x] * k[i]).sum();
        }
    }
    (out, ow, oh)
}

/// Mean SSIM on luminance (see the module docs for the exact definition).
pub fn ssim(a: &Frame, b: &Frame) -> f64 {
    let (x, y) = (luminance(a), luminance(b));
    let (w, h) = (a.width, a.height);
    let size = 11.min(w).min(h);
    let k = gaussian_window(size, 1.5);
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let prod = |p: &[f64], q: &[f64]| -> Vec<f64> { p.iter().zip(q).map(|(u, v)| u * v).collect() };
    let (mx, ow, oh) = filter_valid(&x, w, h, &k);
    let (my, _, _) = filter_valid(&y, w, h, &k);
    let (sxx, _, _) = filter_valid(&prod(&x, &x), w, h, &k);
    let (syy, _, _) = filter_valid(&prod(&y, &y), w, h, &k);
    let (sxy, _, _) = filter_valid(&prod(&x, &y), w, h, &k);
    let mut total = 0f64;
    for i in 0..ow * oh {
        let (ux, uy) = (mx[i], my[i]);
        let vx = sxx[i] - ux * ux;
        let vy = syy[i] - uy * uy;
        let cxy = sxy[i] - ux * uy;
        total +=
            ((2.0 * ux * uy + c1) * (2.0 * cxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
    }
    total / (ow * oh) as f64
}

/// Histogram correlation: 32 bins per channel, Pearson over bins, mean over channels.
/// Two flat histograms that are identical count as perfectly correlated.
pub fn hist_corr(a: &Frame, b: &Frame) -> f64 {
    let hist = |f: &Frame, c: usize| -> [f64; 32] {
        let mut h = [0f64; 32];
        for px in f.rgb.chunks_exact(3) {
            h[(px[c] / 8) as usize] += 1.0;
        }
        h
    };
    let mut sum = 0.0;
    for c in 0..3 {
        let (p, q) = (hist(a, c), hist(b, c));
        let (mp, mq) = (p.iter().sum::<f64>() / 32.0, q.iter().sum::<f64>() / 32.0);
        let (mut num, mut dp, mut dq) = (0.0, 0.0, 0.0);
        for i in 0..32 {
            num += (p[i] - mp) * (q[i] - mq);
            dp += (p[i] - mp).powi(2);
            dq += (q[i] - mq).powi(2);
        }
        sum += if dp == 0.0 || dq == 0.0 {
            if p == q { 1.0 } else { 0.0 }
        } else {
            num / (dp * dq).sqrt()
        };
    }
    sum / 3.0
}

/// The heatmap's colour for `v` in `[0, 1]` (clamped): black -> red -> yellow -> white, so a
/// legend can draw the same scale.
pub fn heat_color(v: f64) -> [u8; 3] {
    let v = v.clamp(0.0, 1.0) * 3.0;
    let channel = |x: f64| (x.clamp(0.0, 1.0) * 255.0).round() as u8;
    [channel(v), channel(v - 1.0), channel(v - 2.0)]
}

/// An error heatmap: per-pixel mean absolute error over channels, scaled so `full_scale`
/// (0-255 units) is the hottest colour, coloured black -> red -> yellow -> white.
pub fn error_heatmap(pred: &Frame, target: &Frame, full_scale: f64) -> Result<Frame, SizeMismatch> {
    if (pred.width, pred.height) != (target.width, target.height) {
        return Err(SizeMismatch(
            pred.width,
            pred.height,
            target.width,
            target.height,
        ));
    }
    let mut rgb = Vec::with_capacity(pred.rgb.len());
    for (p, t) in pred.rgb.chunks_exact(3).zip(target.rgb.chunks_exact(3)) {
        let err: f64 = (0..3)
            .map(|c| (p[c] as f64 - t[c] as f64).abs())
            .sum::<f64>()
            / 3.0;
        rgb.extend_from_slice(&heat_color(err / full_scale.max(1e-9)));
    }
    Ok(Frame {
        width: pred.width,
        height: pred.height,
        rgb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic test images that `tests/reference_metrics.py` rebuilds in NumPy.
    pub(crate) fn pattern(w: usize, h: usize, shift: usize) -> Frame {
        let mut rgb = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let xs = x + shift;
                rgb.push(((xs * 7 + y * 3) % 256) as u8);
                rgb.push(((xs * y) % 251) as u8);
                rgb.push((((xs / 4 + y / 4) % 2) * 200 + 20) as u8);
            }
        }
        Frame {
            width: w,
            height: h,
            rgb,
        }
    }

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

    /// Merging two intervals' totals pools their ticks as if pushed into one.
    #[test]
    fn merged_totals_equal_one_run_of_every_tick() {
        let (mut a, mut b, mut all) = (
            ScoreTotals::default(),
            ScoreTotals::default(),
            ScoreTotals::default(),
        );
        for (i, mse) in [0.0, 10.0, 20.0, 0.0, 30.0, 40.0].into_iter().enumerate() {
            let part = if i < 3 { &mut a } else { &mut b };
            part.push(m(mse + 1.0), m(mse));
            all.push(m(mse + 1.0), m(mse));
        }
        a.merge(&b);
        assert_eq!((a.scored, a.unchanged), (4, 2));
        let ((ma, ba), (mall, ball)) = (a.mean().unwrap(), all.mean().unwrap());
        for (x, y) in [(ma, mall), (ba, ball)] {
            assert!((x.mse - y.mse).abs() < 1e-12 && (x.psnr - y.psnr).abs() < 1e-12);
            assert!((x.hist_corr - y.hist_corr).abs() < 1e-12);
        }
        assert!((ma.mse - 26.0).abs() < 1e-12, "{}", ma.mse);
    }

    #[test]
    fn identical_frames_are_perfect() {
        let f = pattern(32, 24, 0);
        let m = compare(&f, &f).unwrap();
        assert_eq!((m.mse, m.mae, m.psnr), (0.0, 0.0, PSNR_CAP));
        assert!((m.ssim - 1.0).abs() < 1e-12);
        assert!((m.hist_corr - 1.0).abs() < 1e-12);
    }

    #[test]
    fn psnr_matches_the_definition() {
        // A uniform error of 10 levels: MSE 100, PSNR = 10 log10(65025 / 100) = 28.1308 dB.
        let a = Frame::filled(16, 16, [100, 100, 100]);
        let b = Frame::filled(16, 16, [110, 110, 110]);
        let m = compare(&a, &b).unwrap();
        assert_eq!(m.mse, 100.0);
        assert_eq!(m.rgb_mae, [10.0; 3]);
        assert!((m.psnr - 28.130_803_608_679_1).abs() < 1e-9, "{}", m.psnr);
    }

    /// Reference values from an independent implementation: scikit-image 0.24
    /// `structural_similarity(Y1, Y2, gaussian_weights=True, sigma=1.5,
    /// use_sample_covariance=False, data_range=255)` on the BT.601 luminance of the same
    /// images, and `skimage.metrics.peak_signal_noise_ratio(..., data_range=255)` on RGB.
    /// The script is `plugins/world_model/tests/reference_metrics.py`.
    #[test]
    fn ssim_and_psnr_match_scikit_image() {
        for (shift, ssim_ref, psnr_ref) in [
            (1, 0.552_137_936_796_226_6, 11.086_019_105_535_492),
            (3, -0.014_897_446_125_250_338, 6.568_540_912_445_201),
        ] {
            let m = compare(&pattern(48, 40, 0), &pattern(48, 40, shift)).unwrap();
            assert!(
                (m.ssim - ssim_ref).abs() < 1e-9,
                "ssim {} vs {ssim_ref}",
                m.ssim
            );
            assert!(
                (m.psnr - psnr_ref).abs() < 1e-9,
                "psnr {} vs {psnr_ref}",
                m.psnr
            );
        }
    }

    #[test]
    fn ssim_falls_with_noise_and_size_mismatch_is_an_error() {
        let a = pattern(32, 32, 0);
        let mut b = a.clone();
        for (i, v) in b.rgb.iter_mut().enumerate() {
            *v = v.wrapping_add(((i * 37) % 41) as u8);
        }
        assert!(ssim(&a, &b) < 0.9);
        assert!(compare(&a, &pattern(16, 32, 0)).is_err());
    }

    #[test]
    fn the_colour_scale_runs_black_red_yellow_white_and_clamps() {
        assert_eq!(heat_color(0.0), [0, 0, 0]);
        assert_eq!(heat_color(1.0 / 3.0), [255, 0, 0]);
        assert_eq!(heat_color(2.0 / 3.0), [255, 255, 0]);
        assert_eq!(heat_color(1.0), [255, 255, 255]);
        assert_eq!(heat_color(-1.0), [0, 0, 0]);
        assert_eq!(heat_color(7.0), [255, 255, 255]);
        assert_eq!(heat_color(0.5), [255, 128, 0]);
    }

    #[test]
    fn heatmap_is_black_where_equal_and_white_at_full_scale() {
        let a = Frame::filled(2, 1, [0, 0, 0]);
        let mut b = a.clone();
        b.rgb[3..6].copy_from_slice(&[255, 255, 255]);
        let heat = error_heatmap(&a, &b, 255.0).unwrap();
        assert_eq!(heat.rgb, vec![0, 0, 0, 255, 255, 255]);
    }

    #[test]
    fn hist_corr_of_shuffled_pixels_is_one() {
        let a = pattern(16, 16, 0);
        let mut b = a.clone();
        b.rgb
            .chunks_exact_mut(3)
            .rev()
            .zip(a.rgb.chunks_exact(3))
            .for_each(|(d, s)| d.copy_from_slice(s));
        assert!((hist_corr(&a, &b) - 1.0).abs() < 1e-12);
    }
}

//! The report's PNG strips: what the model predicted next to what the camera saw, and an
//! open-loop dream next to the real frames of the same ticks, with the error between them.

use bevy_world_model::world_model::{Frame, error_heatmap};
use bevy_world_model::{DreamStrip, ScoredFrames};

/// Pixels of each frame in the PNGs (64x64 frames become 256x256).
pub const SCALE: usize = 4;
/// Black pixels between cells.
const GAP: usize = 4;

/// One row per sample: real | predicted | error heatmap (`full_scale` = hottest colour).
pub fn predictions(samples: &[ScoredFrames], full_scale: f64) -> Option<Frame> {
    let rows: Vec<Vec<Frame>> = samples
        .iter()
        .map(|s| {
            let heat = error_heatmap(&s.predicted, &s.real, full_scale).ok()?;
            Some(vec![s.real.clone(), s.predicted.clone(), heat])
        })
        .collect::<Option<_>>()?;
    compose(&rows)
}

/// Three rows: the real frames of the ticks a rollout imagined (as the plugin scored them),
/// the imagined frames, and the error between them.
pub fn dream(strip: &DreamStrip, full_scale: f64) -> Option<Frame> {
    let real: Vec<Frame> = strip
        .horizons
        .iter()
        .map(|h| h.as_ref().map(|h| h.real.clone()))
        .collect::<Option<_>>()?;
    let heat: Vec<Frame> = strip
        .frames
        .iter()
        .zip(&real)
        .map(|(p, r)| error_heatmap(p, r, full_scale).ok())
        .collect::<Option<_>>()?;
    compose(&[real, strip.frames.clone(), heat])
}

fn compose(rows: &[Vec<Frame>]) -> Option<Frame> {
    let big: Vec<Vec<Frame>> = rows
        .iter()
        .map(|r| r.iter().map(|f| f.upscaled(SCALE)).collect())
        .collect();
    Frame::grid(&big, GAP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prediction_rows_hold_real_predicted_and_error() {
        let s = ScoredFrames {
            tick: 3,
            predicted: Frame::filled(2, 2, [0, 0, 0]),
            real: Frame::filled(2, 2, [255, 255, 255]),
        };
        let img = predictions(&[s.clone(), s], 64.0).unwrap();
        let cell = 2 * SCALE;
        assert_eq!(
            (img.width, img.height),
            (3 * cell + 2 * GAP, 2 * cell + GAP)
        );
        let px = |x: usize, y: usize| &img.rgb[(y * img.width + x) * 3..][..3];
        assert_eq!(px(0, 0), [255, 255, 255], "real");
        assert_eq!(px(cell + GAP, 0), [0, 0, 0], "predicted");
        assert_eq!(px(2 * (cell + GAP), 0), [255, 255, 255], "saturated error");
    }

    #[test]
    fn a_dream_needs_every_real_frame() {
        let mut strip = DreamStrip::new(
            5,
            Frame::filled(2, 2, [0; 3]),
            vec![Frame::filled(2, 2, [9; 3]); 2],
        );
        strip.score(6, &Frame::filled(2, 2, [9; 3]));
        assert!(dream(&strip, 64.0).is_none());
        strip.score(7, &Frame::filled(2, 2, [9; 3]));
        let img = dream(&strip, 64.0).unwrap();
        assert_eq!(img.height, 3 * 2 * SCALE + 2 * GAP);
    }
}

//! A coarse sketch of the frame, decoded from the latent alone: an auxiliary loss that makes
//! the latent hold what is in view.
//!
//! The residual and warp decoders draw each frame as a change to the previous one, so the
//! latent only has to hold what changes: a goal that stays in view is carried along by the
//! warp and never needs encoding. The reward head and the agent read nothing but the latent,
//! so on `arena` they could not tell a goal ahead from none (README, "the reward head"). A
//! small MLP that redraws the frame at `sketch_side x sketch_side` from the posterior's
//! features, with its gradients flowing into the encoder and the RSSM, asks the latent for
//! the view itself, as DreamerV3's plain decoder does, at a fraction of a decoder's cost.

use burn::nn::Linear;
use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::config::WorldModelConfig;
use crate::heads::seeded_linear;
use crate::kernels::{linear, silu};

/// Features to a `3 x side x side` image: one SiLU layer, then a linear output.
#[derive(Module, Debug)]
pub struct Sketch {
    hidden: Linear,
    out: Linear,
    /// Side of the sketch, in pixels.
    #[module(skip)]
    side: usize,
}

impl Sketch {
    /// A fresh sketch for `cfg`, or `None` when `cfg.sketch_side` is 0. Drawn from
    /// `cfg.seed`, not the device's random stream (as the heads are).
    pub fn new(cfg: &WorldModelConfig, device: &Device) -> Option<Self> {
        let side = cfg.sketch_side;
        if side == 0 {
            return None;
        }
        let mut rng = StdRng::seed_from_u64(cfg.seed ^ 0x5e7c4);
        let features = cfg.feature_size();
        let he = (6.0 / features as f32).sqrt();
        let out = 3 * side * side;
        Some(Self {
            hidden: seeded_linear(features, cfg.hidden, he, &mut rng, device),
            out: seeded_linear(
                cfg.hidden,
                out,
                1.0 / (cfg.hidden as f32).sqrt(),
                &mut rng,
                device,
            ),
            side,
        })
    }

    /// The sketch of each row of `features`, `[n, 3, side, side]`.
    pub fn forward(&self, features: Tensor<2>) -> Tensor<4> {
        let [n, _] = features.dims();
        linear(&self.out, silu(linear(&self.hidden, features)))
            .reshape([n, 3, self.side, self.side])
    }

    /// Squared error of the sketches of `features` against `frames` (`[n, 3, h, w]`, each
    /// side a multiple of the sketch's) averaged down to the sketch's size: summed over the
    /// sketch's pixels, averaged over rows, `[1]`.
    pub fn loss(&self, features: Tensor<2>, frames: Tensor<4>) -> Tensor<1> {
        let [n, c, h, w] = frames.dims();
        let s = self.side;
        let target = frames
            .reshape([n, c, s, h / s, s, w / s])
            .mean_dim(5)
            .mean_dim(3)
            .reshape([n, c, s, s]);
        (self.forward(features) - target)
            .square()
            .sum_dims(&[1, 2, 3])
            .reshape([n])
            .mean()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sketches_are_the_frame_averaged_down() {
        let device = Device::flex();
        let cfg = WorldModelConfig {
            width: 8,
            height: 8,
            deter: 4,
            stoch: 2,
            classes: 2,
            hidden: 6,
            sketch_side: 2,
            ..Default::default()
        };
        let none = WorldModelConfig {
            sketch_side: 0,
            ..cfg.clone()
        };
        assert!(Sketch::new(&none, &device).is_none());
        let sketch = Sketch::new(&cfg, &device).unwrap();
        let features = Tensor::<2>::zeros([1, cfg.feature_size()], &device);
        let drawn = sketch.forward(features.clone());
        assert_eq!(drawn.dims(), [1, 3, 2, 2]);
        // A frame whose 4x4 blocks each hold one value: its sketch is those values, and the
        // loss is the squared distance of the drawing from them.
        let values: Vec<f32> = (0..3 * 8 * 8)
            .map(|i| {
                let (ch, y, x) = (i / 64, (i / 8) % 8, i % 8);
                (ch * 4 + (y / 4) * 2 + x / 4) as f32 / 12.0
            })
            .collect();
        let frame = Tensor::<4>::from_data(TensorData::new(values, [1, 3, 8, 8]), &device);
        let blocks: Vec<f32> = (0..12).map(|i| i as f32 / 12.0).collect();
        let read = |t: Tensor<4>| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        let drawn = read(drawn);
        let want: f32 = drawn
            .iter()
            .zip(&blocks)
            .map(|(d, b)| (d - b).powi(2))
            .sum();
        let got = read(sketch.loss(features, frame).reshape([1, 1, 1, 1]))[0];
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }
}

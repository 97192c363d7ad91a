//! The whole world model (encoder -> RSSM -> decoder) and its training loss on sequences.

use burn::prelude::*;

use crate::behavior::Behavior;
use crate::config::{ReconLoss, WorldModelConfig};
use crate::heads::Heads;
use crate::networks::{Decoder, Encoder};
use crate::rssm::{Draw, Latent, Rssm, categorical_entropy, categorical_kl};
use crate::sketch::Sketch;

/// Encoder, RSSM and decoder: the trainable parameters of a world model.
#[derive(Module, Debug)]
pub struct WorldModel {
    /// Pixels to embedding.
    pub encoder: Encoder,
    /// Latent dynamics.
    pub rssm: Rssm,
    /// Features to pixels.
    pub decoder: Decoder,
    /// Features to the reward and whether the episode goes on.
    pub heads: Heads,
    /// The agent that learns inside the dream, when the config has one.
    pub behavior: Option<Behavior>,
    /// The coarse sketch the posterior redraws, when the config has one.
    pub sketch: Option<Sketch>,
}

/// A world model as checkpoints before the heads stored it: loaded strictly (every tensor
/// of the three networks, nothing else), then given fresh heads.
#[derive(Module, Debug)]
pub(crate) struct HeadlessModel {
    pub encoder: Encoder,
    pub rssm: Rssm,
    pub decoder: Decoder,
}

impl HeadlessModel {
    /// A fresh one, to load an old checkpoint's record into.
    pub fn new(cfg: &WorldModelConfig, device: &Device) -> Self {
        let WorldModel {
            encoder,
            rssm,
            decoder,
            ..
        } = WorldModel::new(cfg, device);
        Self {
            encoder,
            rssm,
            decoder,
        }
    }

    /// The full model, with fresh heads for `cfg`.
    pub fn with_fresh_heads(self, cfg: &WorldModelConfig, device: &Device) -> WorldModel {
        WorldModel {
            encoder: self.encoder,
            rssm: self.rssm,
            decoder: self.decoder,
            heads: Heads::new(cfg, device),
            behavior: Behavior::new(cfg, device),
            sketch: Sketch::new(cfg, device),
        }
    }
}

/// A batch of training sequences, already on the training device.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Frames, `[batch, seq, 3, height, width]`, in `[-0.5, 0.5]`.
    pub obs: Tensor<5>,
    /// `actions[:, t]` is the action taken after seeing `obs[:, t]`, `[batch, seq, action_dim]`.
    pub actions: Tensor<3>,
    /// 1 where `obs[:, t]` starts an episode (the state is reset there), `[batch, seq]`.
    pub first: Tensor<2>,
    /// `reward[:, t]` was received on arriving at `obs[:, t]`, `[batch, seq]`.
    pub reward: Tensor<2>,
    /// 0 where `obs[:, t]` ends its episode as terminal, else 1, `[batch, seq]`.
    pub cont: Tensor<2>,
}

/// The loss and its parts, as tensors (for backward) and as numbers (for the stats).
#[derive(Clone, Debug)]
pub struct LossOutput {
    /// Scalar total loss, `[1]`.
    pub total: Tensor<1>,
    /// Parts, stacked in the order of [`LossParts`]' fields, `[8]`.
    pub parts: Tensor<1>,
    /// Every posterior state of the batch, detached (`seq * batch` rows, time-major): where
    /// the agent's imagined trajectories start.
    pub posterior: Latent,
}

/// Loss parts read back from a [`LossOutput`], in nats or pixel units.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LossParts {
    /// Weighted total that was minimised.
    pub total: f32,
    /// Reconstruction from the posterior state.
    pub recon: f32,
    /// One-step prediction from the prior state.
    pub pred: f32,
    /// `KL(post || prior)`, before free bits and weights.
    pub kl: f32,
    /// Mean entropy of the prior, nats.
    pub prior_entropy: f32,
    /// Mean entropy of the posterior, nats.
    pub post_entropy: f32,
    /// Reward head's cross-entropy with the two-hot targets, nats: on the posterior states
    /// plus on the prior's (steps after the first).
    #[serde(default)]
    pub reward: f32,
    /// Continue head's binary cross-entropy, nats (posterior plus prior, as `reward`).
    #[serde(default)]
    pub cont: f32,
    /// The sketch's squared error per sketch pixel (0 without a sketch).
    #[serde(default)]
    pub sketch: f32,
}

impl LossParts {
    /// Reads the parts of a computed loss (one device sync).
    pub fn read(out: &LossOutput) -> Self {
        let v: Vec<f32> = out
            .parts
            .clone()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        let g = |i: usize| v.get(i).copied().unwrap_or(f32::NAN);
        Self {
            total: g(0),
            recon: g(1),
            pred: g(2),
            kl: g(3),
            prior_entropy: g(4),
            post_entropy: g(5),
            reward: g(6),
            cont: g(7),
            sketch: g(8),
        }
    }

    /// True when every part is a finite number.
    pub fn is_finite(&self) -> bool {
        [
            self.total,
            self.recon,
            self.pred,
            self.kl,
            self.prior_entropy,
            self.post_entropy,
            self.reward,
            self.cont,
            self.sketch,
        ]
        .iter()
        .all(|v| v.is_finite())
    }
}

impl WorldModel {
    /// A freshly initialised model for `cfg` on `device` (seed the device first for
    /// reproducible weights).
    pub fn new(cfg: &WorldModelConfig, device: &Device) -> Self {
        Self {
            encoder: Encoder::new(cfg, device),
            rssm: Rssm::new(cfg, Encoder::embed_size(cfg), device),
            decoder: Decoder::new(cfg, device),
            heads: Heads::new(cfg, device),
            behavior: Behavior::new(cfg, device),
            sketch: Sketch::new(cfg, device),
        }
    }

    /// Encodes and filters one observation: `h_t = f(prev, a_{t-1})`, `z_t ~ q(z | h_t, e_t)`.
    ///
    /// # Shapes
    /// - `obs`: `[n, 3, height, width]`, `prev_action`: `[n, action_dim]`
    pub fn observe_step(
        &self,
        prev: &Latent,
        prev_action: Tensor<2>,
        obs: Tensor<4>,
        draw: Draw,
    ) -> Latent {
        let h = self.rssm.transition(prev, prev_action);
        let embed = self.encoder.forward(obs);
        let z = self.rssm.draw(self.rssm.post_logp(h.clone(), embed), draw);
        Latent { h, z, frame: None }
    }

    /// One step in imagination with the prior only: `h_{t+1} = f(state, a_t)`,
    /// `z_{t+1} ~ p(z | h_{t+1})`. No pixels are read.
    /// For a residual model (the state carries its frame) the imagined frame is decoded at
    /// once, as a change to the state's frame.
    pub fn imagine_step(&self, state: &Latent, action: Tensor<2>, draw: Draw) -> Latent {
        let h = self.rssm.transition(state, action);
        let z = self.rssm.draw(self.rssm.prior_logp(h.clone()), draw);
        let mut next = Latent { h, z, frame: None };
        if let Some(prev) = &state.frame {
            next.frame = Some(self.next_frame(Some(prev), &next));
        }
        next
    }

    /// The frame of a state, `[n, 3, height, width]` in about `[-0.5, 0.5]`: the frame it
    /// carries (residual models), else the decoded state.
    pub fn decode(&self, state: &Latent) -> Tensor<4> {
        match &state.frame {
            Some(frame) => frame.clone(),
            None => self.decoder.forward(state.features()),
        }
    }

    /// The frame of `next`, the state that follows one whose frame is `prev_frame`: the
    /// decoded change added to `prev_frame` (residual models), or the decoded frame alone.
    pub fn next_frame(&self, prev_frame: Option<&Tensor<4>>, next: &Latent) -> Tensor<4> {
        self.decode_after(next.features(), prev_frame.cloned())
    }

    /// Decodes `features`, after `previous` when the model is residual.
    fn decode_after(&self, features: Tensor<2>, previous: Option<Tensor<4>>) -> Tensor<4> {
        match previous {
            Some(prev) => self.decoder.forward_after(features, prev),
            None => self.decoder.forward(features),
        }
    }

    /// The training loss on a batch of sequences.
    ///
    /// Per step `t`: the state is reset where `first[t]`, `h_t` comes from the previous state
    /// and action, the posterior reads `obs[t]`; the posterior state is decoded
    /// (reconstruction), a sample of the prior is decoded too (the one-step prediction the
    /// player sees, weighted by `pred_weight`, only where `t` continues an episode), and the
    /// balanced KL with free bits trains the prior and regularises the posterior.
    pub fn loss(&self, cfg: &WorldModelConfig, batch: &Batch) -> LossOutput {
        self.loss_with(cfg, batch, Draw::Sample)
    }

    /// [`loss`](Self::loss) with the stochastic states drawn as `draw` says: `Draw::Mode`
    /// makes the loss a deterministic function of the weights and the batch, so another
    /// implementation of the network can be checked against it (`benches/torch_twin.py`).
    pub fn loss_with(&self, cfg: &WorldModelConfig, batch: &Batch, draw: Draw) -> LossOutput {
        let [b, t, c, hh, ww] = batch.obs.dims();
        let device = batch.obs.device();
        let embed = self
            .encoder
            .forward(batch.obs.clone().reshape([b * t, c, hh, ww]))
            .reshape([b, t, Encoder::embed_size(cfg)]);
        let keep_all = batch.first.clone().neg().add_scalar(1.0); // [b, t]

        // The posterior must run step by step (z_t feeds h_{t+1}); everything that only
        // reads h (prior, KL, entropies, decoding) runs once over all steps, time-major.
        let mut state = Latent::zeros(cfg, b, &device);
        let mut prev_action = Tensor::<2>::zeros([b, cfg.action_dim], &device);
        let mut hs = Vec::with_capacity(t);
        let mut zs = Vec::with_capacity(t);
        let mut posts = Vec::with_capacity(t);
        for step in 0..t {
            let keep = keep_all.clone().slice([0..b, step..step + 1]); // [b, 1]
            state = state.mask(keep.clone());
            let h = self.rssm.transition(&state, prev_action * keep);
            let e = embed
                .clone()
                .slice([0..b, step..step + 1])
                .reshape([b as i64, -1]);
            let post = self.rssm.post_logp(h.clone(), e); // [b, stoch, classes]
            let z = self.rssm.draw(post.clone(), draw);
            hs.push(h.clone());
            zs.push(z.clone());
            posts.push(post);
            state = Latent { h, z, frame: None };
            prev_action = batch
                .actions
                .clone()
                .slice([0..b, step..step + 1])
                .reshape([b as i64, -1]);
        }
        let h_all = Tensor::cat(hs, 0); // [t * b, deter]
        let post = Tensor::cat(posts, 0); // [t * b, stoch, classes]
        let prior = self.rssm.prior_logp(h_all.clone());

        let kl = categorical_kl(post.clone(), prior.clone()).detach().mean();
        let dyn_loss = categorical_kl(post.clone().detach(), prior.clone())
            .clamp_min(cfg.free_nats)
            .mean();
        let rep_loss = categorical_kl(post.clone(), prior.clone().detach())
            .clamp_min(cfg.free_nats)
            .mean();
        let prior_ent = categorical_entropy(prior.clone().detach());
        let post_ent = categorical_entropy(post.detach());

        let obs_time_major = batch
            .obs
            .clone()
            .swap_dims(0, 1)
            .reshape([t * b, c, hh, ww]);
        // Residual models decode each frame as a change to the previous real frame (to the
        // frame itself where a sequence or an episode starts, so the change there is zero).
        let previous = cfg.residual.then(|| {
            // Row s (time-major) holds frame s - 1, or frame s itself where s is the first
            // step of the sequence or of an episode.
            if t == 1 {
                return obs_time_major.clone();
            }
            let shifted = Tensor::cat(
                vec![
                    obs_time_major.clone().narrow(0, 0, b),
                    obs_time_major.clone().narrow(0, 0, (t - 1) * b),
                ],
                0,
            );
            let keep = keep_all.clone().swap_dims(0, 1).reshape([t * b, 1, 1, 1]);
            let keep = Tensor::cat(
                vec![
                    Tensor::zeros([b, 1, 1, 1], &device),
                    keep.narrow(0, b, (t - 1) * b),
                ],
                0,
            );
            shifted * keep.clone() + obs_time_major.clone() * keep.neg().add_scalar(1.0)
        });
        let z_all = Tensor::cat(zs, 0);
        let posterior = Latent {
            h: h_all.clone().detach(),
            z: z_all.clone().detach(),
            frame: None,
        };
        let post_features = Tensor::cat(vec![h_all.clone(), z_all], 1);
        // What arriving in each posterior state paid, and whether its episode goes on.
        let time_major = |x: &Tensor<2>| x.clone().swap_dims(0, 1).reshape([t * b]);
        let head_features = if cfg.head_gradients {
            post_features.clone()
        } else {
            post_features.clone().detach()
        };
        let (reward_loss, cont_loss) = self.heads.loss(
            head_features,
            time_major(&batch.reward),
            time_major(&batch.cont),
        );
        // What the posterior must hold of the view itself, not only of its change.
        let sketch = match &self.sketch {
            Some(sketch) => sketch.loss(post_features.clone(), obs_time_major.clone()),
            None => Tensor::<1>::zeros([1], &device),
        };
        let recon_frames = self.decode_after(post_features, previous.clone());
        let recon = pixel_loss(cfg.recon_loss, recon_frames, obs_time_major.clone());

        let (pred, prior_features) = if t > 1 && cfg.pred_weight > 0.0 {
            // The prior at step s >= 1 predicts obs[s] from everything before it.
            let n = (t - 1) * b;
            let prior_next = prior.narrow(0, b, n);
            let z = self.rssm.draw(prior_next, draw);
            // After the last real frame before each predicted one (rows that start an
            // episode hold the frame itself, but their error is masked out below).
            let prior_features = Tensor::cat(vec![h_all.clone().narrow(0, b, n), z], 1);
            let frames =
                self.decode_after(prior_features.clone(), previous.map(|p| p.narrow(0, b, n)));
            let target = obs_time_major.narrow(0, b, n);
            let keep = keep_all
                .clone()
                .swap_dims(0, 1)
                .reshape([t * b, 1])
                .narrow(0, b, n); // [n, 1]: 0 where the step starts an episode
            let err = pixel_error(cfg.recon_loss, frames, target)
                .sum_dims(&[1, 2, 3])
                .reshape([n, 1]); // per frame, summed over pixels
            let kept = keep.clone().sum().clamp_min(1.0);
            ((err * keep).sum() / kept, Some(prior_features))
        } else {
            (Tensor::<1>::zeros([1], &device), None)
        };
        // The heads also learn from the prior's states (the same draws the one-step
        // prediction decoded): a game reads the next tick's reward off the prior, as the
        // agent's imagination does.
        let (reward_loss, cont_loss) = match prior_features {
            Some(features) => {
                let n = (t - 1) * b;
                let features = if cfg.head_gradients {
                    features
                } else {
                    features.detach()
                };
                let (r, c) = self.heads.loss(
                    features,
                    time_major(&batch.reward).narrow(0, b, n),
                    time_major(&batch.cont).narrow(0, b, n),
                );
                (reward_loss + r, cont_loss + c)
            }
            None => (reward_loss, cont_loss),
        };

        let total = recon.clone()
            + pred.clone().mul_scalar(cfg.pred_weight)
            + dyn_loss.mul_scalar(cfg.kl_dyn)
            + rep_loss.mul_scalar(cfg.kl_rep)
            + reward_loss.clone().mul_scalar(cfg.reward_weight)
            + cont_loss.clone().mul_scalar(cfg.cont_weight)
            + sketch.clone().mul_scalar(cfg.sketch_weight);
        // Parts are reported per pixel, so they read the same at any frame size.
        let per_pixel = 1.0 / (c * hh * ww) as f32;
        let parts = Tensor::cat(
            vec![
                total.clone().detach(),
                recon.detach().mul_scalar(per_pixel),
                pred.detach().mul_scalar(per_pixel),
                kl,
                prior_ent,
                post_ent,
                reward_loss.detach(),
                cont_loss.detach(),
                sketch
                    .detach()
                    .mul_scalar(1.0 / (3 * cfg.sketch_side.max(1).pow(2)) as f32),
            ],
            0,
        );
        LossOutput {
            total,
            parts,
            posterior,
        }
    }
}

/// Per-pixel error of `pred` against `target` for the chosen loss.
fn pixel_error(kind: ReconLoss, pred: Tensor<4>, target: Tensor<4>) -> Tensor<4> {
    let diff = pred - target;
    match kind {
        ReconLoss::L1 => diff.abs(),
        ReconLoss::Mse => diff.square(),
    }
}

/// Pixel loss summed over each frame's pixels and averaged over frames, `[1]`.
///
/// Summing (as Dreamer's log-likelihood does) rather than averaging over pixels keeps the
/// reconstruction gradient large next to the KL terms (nats per frame); averaged, the KL
/// wins, the posterior collapses onto the prior and gradients into the encoder vanish.
fn pixel_loss(kind: ReconLoss, pred: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
    let [n, _, _, _] = pred.dims();
    pixel_error(kind, pred, target)
        .sum_dims(&[1, 2, 3])
        .reshape([n])
        .mean()
}

//! Every hyper-parameter of the model and the trainer, in one serde struct.
//!
//! The config is saved inside every checkpoint and every JSON report, so a run can always be
//! reproduced and a checkpoint is never loaded into a network of another shape.

use serde::{Deserialize, Serialize};

use crate::networks::STAGES;

// Upper bounds of the config's sizes. A config comes from files (a `--config`, a checkpoint's
// header), so every size is bounded before anything is allocated from it: generous for real
// use (the shipped network is 64x64 with `deter` 256, the game's frame goes up to 512x512),
// and, with the three bounds on products below them, small enough that no config allowed
// here asks for more than a few GB at once.

/// Largest `width` and `height`, in pixels: twice the game's largest `--resolution`, 512.
pub const MAX_FRAME_SIDE: usize = 1024;
/// Bins of the reward head's two-hot distribution (DreamerV3's 255; see `heads`).
pub const REWARD_BINS: usize = 255;
/// Largest `action_dim` (the demo game's is 3).
pub const MAX_ACTION_DIM: usize = 256;
/// Largest `cnn_depth` (the last encoder stage has 8 times as many channels).
pub const MAX_CNN_DEPTH: usize = 256;
/// Largest `deter`.
pub const MAX_DETER: usize = 4096;
/// Largest `stoch`.
pub const MAX_STOCH: usize = 1024;
/// Largest `classes`.
pub const MAX_CLASSES: usize = 1024;
/// Largest `hidden`.
pub const MAX_HIDDEN: usize = 4096;
/// Largest `batch`.
pub const MAX_BATCH: usize = 1024;
/// Largest `seq_len`.
pub const MAX_SEQ_LEN: usize = 1024;
/// Largest `replay_capacity`, `min_frames` and recent-sampling `window`, in frames
/// ([`MAX_REPLAY_BYTES`] bounds the capacity further for large frames).
pub const MAX_REPLAY_CAPACITY: usize = 10_000_000;
/// Largest `warp_radius`, across or down, in pixels (the default is `[12, 6]`).
pub const MAX_WARP_RADIUS: usize = 64;
/// Largest `warmup_steps`.
pub const MAX_WARMUP_STEPS: usize = 100_000_000;
/// Largest `snapshot_every`.
pub const MAX_SNAPSHOT_EVERY: usize = 1_000_000;
/// Most memory the replay buffer may take ([`WorldModelConfig::replay_bytes`]): 16 GiB, so
/// the game's 20,000 frames still fit at its largest frame, 512x512 (15 GiB; the buffer's
/// pages are committed as frames arrive). At 64x64 that is 1.4 million frames.
pub const MAX_REPLAY_BYTES: u64 = 16 << 30;
/// Most trainable parameters ([`WorldModelConfig::parameter_count`]): 512 MiB of f32 weights,
/// about 2 GiB while training (weights, gradients, Adam's two moments). The default network
/// has 2.6 million at 64x64 and 102 million at 512x512.
pub const MAX_PARAMETERS: u64 = 128 << 20;
/// Most pixels in one training batch, `batch * seq_len * width * height` (the input alone is
/// 12 bytes a pixel as f32 RGB, the activations of every layer several times more): the
/// default batch (8 sequences of 8 frames) at 512x512.
pub const MAX_BATCH_PIXELS: u64 = 1 << 24;
/// Largest JSON config file read (`world-model-train --config`, the game's
/// `--model-config-file`, with [`read_to_string_limited`](crate::files::read_to_string_limited);
/// a config is under 1 KiB).
pub const MAX_CONFIG_FILE_BYTES: u64 = 1 << 20;

/// How the decoder doubles its spatial resolution at each stage.
///
/// Measured with `world-model-bench --upsample` on the flex CPU backend; see the README and
/// `docs/performance.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Upsample {
    /// `ConvTranspose2d`, kernel 4, stride 2 (what the Python original uses).
    ConvTranspose,
    /// Nearest-neighbour resize, then a 3x3 convolution.
    ResizeConv,
    /// A 3x3 convolution to four times the channels, then pixel shuffle (sub-pixel conv).
    PixelShuffle,
}

/// Reconstruction loss on pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconLoss {
    /// Mean absolute error, as the Python original.
    L1,
    /// Mean squared error.
    Mse,
}

/// Where training windows are drawn from in the replay buffer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// Every stored window equally likely.
    Uniform,
    /// With probability `fraction`, a window from the newest `window` frames; otherwise uniform.
    /// Keeps a live learner up to date with where the player is now.
    Recent {
        /// Share of batches drawn from the recent part.
        fraction: f32,
        /// Size of the recent part, in frames.
        window: usize,
    },
}

/// All hyper-parameters, with defaults sized for real-time learning at 64x64 on 2 CPU cores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorldModelConfig {
    /// Frame width in pixels. Must be a multiple of 16 (four stride-2 stages). Default: `64`
    pub width: usize,
    /// Frame height in pixels. Must be a multiple of 16. Default: `64`
    pub height: usize,
    /// Length of the action vector (forward, strafe, yaw in the demo game). Default: `3`
    pub action_dim: usize,
    /// Channels of the first encoder stage; doubled at each of the four stages. Default: `16`
    pub cnn_depth: usize,
    /// Size of the deterministic GRU state `h`. Default: `256`
    pub deter: usize,
    /// Number of categorical latent variables in `z`. Default: `16`
    pub stoch: usize,
    /// Classes per categorical variable. Default: `16`
    pub classes: usize,
    /// Width of the hidden layers of the prior, posterior and GRU input. Default: `256`
    pub hidden: usize,
    /// Decoder upsampling. Default: `conv_transpose` (the fastest of the three on flex for a
    /// default-config training step; see `docs/performance.md`)
    pub upsample: Upsample,
    /// Share of the uniform distribution mixed into every categorical, so no class has
    /// probability zero and the KL stays finite. Default: `0.01`
    pub unimix: f32,
    /// Free bits: KL below this many nats per sample is not penalised. Default: `1.0`
    pub free_nats: f32,
    /// Weight of the dynamics KL, `KL(sg(post) || prior)`, which trains the prior. Default: `0.5`
    pub kl_dyn: f32,
    /// Weight of the representation KL, `KL(post || sg(prior))`, which regularises the
    /// posterior. Default: `0.1`
    pub kl_rep: f32,
    /// Pixel loss. Default: `mse`
    pub recon_loss: ReconLoss,
    /// Weight of decoding the *prior* state (the one-step prediction we show the player)
    /// against the real frame; 0 gives plain Dreamer reconstruction training. Default: `1.0`
    pub pred_weight: f32,
    /// Weight of the reward head's loss (two-hot cross-entropy over symlog bins, as in
    /// DreamerV3), which also shapes the latent toward what pays. Default: `1.0`
    pub reward_weight: f32,
    /// Weight of the continue head's loss (binary cross-entropy of "not terminal").
    /// Default: `1.0`
    pub cont_weight: f32,
    /// Side of a coarse sketch of each frame that the posterior's features must redraw
    /// ([`Sketch`](crate::sketch::Sketch)), in pixels; it must divide the frame's width and
    /// height (16 always does). 0: none. The residual decoders draw changes, so without it
    /// the latent need not hold what stays in view, and the reward head and the agent read
    /// only the latent: 10 minutes on `arena`, then 3,000 held-out ticks, gave a reward error
    /// 21% below the mean's with a 16x16 sketch and 9% above without, and a better one-step
    /// PSNR. Off by default, for play without rewards: on `maze` (no task) it cost 0.4 dB
    /// of held-out PSNR against a run without it back to back, 0.9 dB on another day.
    /// Turn it on when the game reports rewards (the demo does on its task levels).
    /// Default: `0`
    pub sketch_side: usize,
    /// Weight of the sketch's squared error (summed over its pixels, like the
    /// reconstruction's): 16 gives each of a 16x16 sketch's pixels the weight of the 16
    /// frame pixels it stands for at 64x64. On `arena` that beat a weight of 1 on both the
    /// reward (21% below the mean's error against 9%) and the one-step PSNR (+6.33 against
    /// +5.94 dB over copying). Default: `16.0`
    pub sketch_weight: f32,
    /// Let the reward and continue losses train the encoder and the RSSM too, as DreamerV3
    /// does, instead of the heads alone reading the latent. Off by default: on play without
    /// rewards (every reward 0, nothing terminal) the heads' ever-shrinking losses kept
    /// pulling the latent and cost the warp learning proof 1.3 of its 3.0 dB over copying
    /// in the same 300 steps (`tests/warp_learning.rs`). Default: `false`
    pub head_gradients: bool,
    /// Decode each frame as a change to the previous one (the real frame while observing,
    /// the imagined one in a dream) instead of from scratch: a fresh model then starts at the
    /// copy-last-frame baseline rather than at grey. Alone (without `warp`), on the synthetic
    /// world's fast motion it learned far less than the plain decoder in the same steps (see
    /// `docs/performance.md`). Default: `true`
    pub residual: bool,
    /// With `residual`: before the decoded change is added, every pixel of the previous frame
    /// is moved by its own decoded amount, up to `warp_radius` pixels across and down. The
    /// camera's motion shifts most of the view from one tick to the next; a moved copy of
    /// the last frame predicts it in any world, where decoding the change from the latent
    /// alone works only for the world it was learned in. It also moves the pixels of objects
    /// that move before a still camera. Default: `true`
    pub warp: bool,
    /// Largest move of the warp, in pixels, `[across, down]`: a turn at the demo's 10 Hz
    /// tick moves the 64-pixel view about 10 pixels. Default: `[12, 6]`
    pub warp_radius: [usize; 2],
    /// Sequences per batch. Default: `8`
    pub batch: usize,
    /// Frames per training sequence. Default: `8`
    pub seq_len: usize,
    /// Adam learning rate after warm-up; constant afterwards, so a long session keeps
    /// learning. Default: `6e-4`
    pub lr: f64,
    /// Linear warm-up, in steps. Default: `100`
    pub warmup_steps: usize,
    /// Adam epsilon. Must stay far below the smallest gradients (encoder gradients reach
    /// 1e-7), or Adam silently stops updating those weights. Default: `1e-8`
    pub adam_eps: f32,
    /// Global gradient-norm clip (the loss is summed over pixels, so norms are large).
    /// Default: `1000.0`
    pub grad_clip: f32,
    /// Replay capacity in frames (each 64x64 RGB frame is 12 KiB). Default: `20000`
    pub replay_capacity: usize,
    /// Which windows training draws. Default: 50% from the newest 2000 frames
    pub sampling: Sampling,
    /// Training waits for this many frames before its first step. Default: `64`
    pub min_frames: usize,
    /// Publish a weight snapshot to the inference side every this many steps. Default: `10`
    pub snapshot_every: usize,
    /// Seed for weights and sampling. Default: `0`
    pub seed: u64,
    /// The agent that learns to act inside the dream (DreamerV3's actor-critic); none
    /// while `agent.actions` is empty. Default: none
    pub agent: AgentConfig,
}

/// Most discrete actions an agent may choose among.
pub const MAX_AGENT_ACTIONS: usize = 64;
/// Longest imagined trajectory.
pub const MAX_HORIZON: usize = 256;
/// Most hidden layers of the actor and the critic.
pub const MAX_AGENT_LAYERS: usize = 8;

/// DreamerV3's behaviour learning, at a size that learns on 2 CPU cores. Where a value comes
/// from DreamerV3 it says so (`configs.yaml` of danijar/dreamerv3, `agent.py`), and where we
/// depart from it, why. See `docs/agent.md`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    /// The game's discrete actions, each the action vector (`action_dim` long) the world
    /// model sees when it is taken. Empty: no agent. Default: empty
    pub actions: Vec<Vec<f32>>,
    /// Imagined steps per trajectory (`imag_length: 15`). Default: `15`
    pub horizon: usize,
    /// Discount per step. DreamerV3 uses `1 - 1/333` folded into its continue head; ours
    /// multiplies the continue head's probability. Default: `0.99`
    pub gamma: f32,
    /// Lambda of the returns (`imag_loss.lam: 0.95`). Default: `0.95`
    pub lambda: f32,
    /// Entropy bonus of the actor (`actent: 3e-4`). Default: `3e-4`
    pub entropy: f32,
    /// Share of the uniform policy mixed into the actor's (`policy.unimix: 0.01`, the
    /// paper's; the current code leaves it out of categorical actions). Default: `0.01`
    pub unimix: f32,
    /// Width of the actor's and critic's hidden layers (`size1m`'s units are 64; ours are
    /// wider because they read our larger latent). Default: `128`
    pub hidden: usize,
    /// Hidden layers of the actor and the critic (DreamerV3's heads have 3). Default: `2`
    pub layers: usize,
    /// Adam learning rate of the actor and of the critic. DreamerV3 trains everything at
    /// 4e-5 with LaProp over hours; ours has minutes. Default: `3e-4`
    pub lr: f64,
    /// Adam epsilon (the 2023 code's actor and critic: 1e-5). Default: `1e-5`
    pub adam_eps: f32,
    /// Global gradient-norm clip of each (the 2023 code's: 100). Default: `100.0`
    pub grad_clip: f32,
    /// Rate of the slow critic's moving average, updated after every critic step
    /// (`slowvalue: {rate: 0.02, every: 1}`). Default: `0.02`
    pub slow_rate: f32,
    /// Weight of the critic's pull towards the slow critic (`slowreg: 1.0`). Default: `1.0`
    pub slow_reg: f32,
    /// Decay of the moving 5th and 95th percentiles of the returns that scale the
    /// advantages (`retnorm: {decay: 0.99}`). Default: `0.99`
    pub return_decay: f32,
    /// Smallest return scale (`retnorm: {max: 1.0}`): small returns are not blown up.
    /// Default: `1.0`
    pub return_floor: f32,
    /// Actor-critic updates after each world-model step. Default: `1`
    pub updates_per_step: usize,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            actions: Vec::new(),
            horizon: 15,
            gamma: 0.99,
            lambda: 0.95,
            entropy: 3e-4,
            unimix: 0.01,
            hidden: 128,
            layers: 2,
            lr: 3e-4,
            adam_eps: 1e-5,
            grad_clip: 100.0,
            slow_rate: 0.02,
            slow_reg: 1.0,
            return_decay: 0.99,
            return_floor: 1.0,
            updates_per_step: 1,
        }
    }
}

impl AgentConfig {
    /// True when there is an agent to learn.
    pub fn enabled(&self) -> bool {
        !self.actions.is_empty()
    }

    /// What decides the shapes of the actor's and critic's weights.
    pub fn shape(&self) -> (usize, usize, usize) {
        (self.actions.len(), self.hidden, self.layers)
    }

    /// Checks the agent's values against `action_dim`; the message names the field.
    pub fn validate(&self, action_dim: usize) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError(format!("agent.{m}")));
        if self.actions.len() > MAX_AGENT_ACTIONS {
            return bad(format!(
                "actions: {} actions, at most {MAX_AGENT_ACTIONS}",
                self.actions.len()
            ));
        }
        for (i, a) in self.actions.iter().enumerate() {
            if a.len() != action_dim || a.iter().any(|v| !v.is_finite()) {
                return bad(format!(
                    "actions[{i}]: {a:?} must be {action_dim} finite numbers (action_dim)"
                ));
            }
        }
        if !self.enabled() {
            return Ok(());
        }
        if self.actions.len() < 2 {
            return bad("actions: an agent needs at least 2 actions to choose among".into());
        }
        for (name, value, lo, hi) in [
            ("horizon", self.horizon, 1, MAX_HORIZON),
            ("hidden", self.hidden, 1, MAX_HIDDEN),
            ("layers", self.layers, 1, MAX_AGENT_LAYERS),
            ("updates_per_step", self.updates_per_step, 0, 64),
        ] {
            if !(lo..=hi).contains(&value) {
                return bad(format!("{name}: {value} must be in [{lo}, {hi}]"));
            }
        }
        for (name, value, lo, hi) in [
            ("gamma", self.gamma, 0.0, 1.0),
            ("lambda", self.lambda, 0.0, 1.0),
            ("entropy", self.entropy, 0.0, 1.0),
            ("unimix", self.unimix, 0.0, 1.0),
            ("slow_rate", self.slow_rate, 0.0, 1.0),
            ("slow_reg", self.slow_reg, 0.0, 100.0),
            ("return_decay", self.return_decay, 0.0, 1.0),
            ("return_floor", self.return_floor, 1e-6, 1e6),
            ("adam_eps", self.adam_eps, 1e-12, 1.0),
            ("grad_clip", self.grad_clip, 0.0, 1e9),
        ] {
            if !(value.is_finite() && (lo..=hi).contains(&value)) {
                return bad(format!("{name}: {value} must be in [{lo}, {hi}]"));
            }
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr <= 1.0) {
            return bad(format!("lr: {} must be in (0, 1]", self.lr));
        }
        Ok(())
    }
}

impl Default for WorldModelConfig {
    /// The network that wins on held-out data (README, "Research runs": the warp decoder over
    /// the residual one, with MSE), used by the plugin, `world-model-train` and the game alike.
    fn default() -> Self {
        Self {
            recon_loss: ReconLoss::Mse,
            residual: true,
            warp: true,
            ..Self::plain()
        }
    }
}

impl WorldModelConfig {
    /// The plain decoder with L1 (the Python original's recipe): every frame decoded from the
    /// latent state alone. Still selectable, and what the synthetic learning proofs and the
    /// reference benchmark use; on the game's held-out seeds it loses to copying the last
    /// frame (README).
    pub fn plain() -> Self {
        Self {
            width: 64,
            height: 64,
            action_dim: 3,
            cnn_depth: 16,
            deter: 256,
            stoch: 16,
            classes: 16,
            hidden: 256,
            upsample: Upsample::ConvTranspose,
            unimix: 0.01,
            free_nats: 1.0,
            kl_dyn: 0.5,
            kl_rep: 0.1,
            recon_loss: ReconLoss::L1,
            pred_weight: 1.0,
            reward_weight: 1.0,
            cont_weight: 1.0,
            sketch_side: 0,
            sketch_weight: 16.0,
            head_gradients: false,
            residual: false,
            warp: false,
            warp_radius: [12, 6],
            batch: 8,
            seq_len: 8,
            lr: 6e-4,
            warmup_steps: 100,
            adam_eps: 1e-8,
            grad_clip: 1000.0,
            replay_capacity: 20_000,
            sampling: Sampling::Recent {
                fraction: 0.5,
                window: 2_000,
            },
            min_frames: 64,
            snapshot_every: 10,
            seed: 0,
            agent: AgentConfig::default(),
        }
    }
}

/// A config that cannot build a network or a trainer.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid world-model config: {0}")]
pub struct ConfigError(pub String);

impl WorldModelConfig {
    /// Size of the flattened stochastic state `z` (`stoch * classes`; saturates rather than
    /// overflows for a config [`validate`](Self::validate) refuses).
    pub fn stoch_size(&self) -> usize {
        self.stoch.saturating_mul(self.classes)
    }

    /// Size of the features the decoder reads: `h` and `z` side by side.
    pub fn feature_size(&self) -> usize {
        self.deter.saturating_add(self.stoch_size())
    }

    /// Bytes of one RGB u8 frame (saturating, as [`stoch_size`](Self::stoch_size)).
    pub fn frame_bytes(&self) -> usize {
        self.width.saturating_mul(self.height).saturating_mul(3)
    }

    /// Bytes the replay buffer takes from its first frame on: frames, actions, rewards and
    /// episode flags of `replay_capacity` steps (saturating).
    pub fn replay_bytes(&self) -> u64 {
        let per_step = (self.frame_bytes() as u64)
            .saturating_add((self.action_dim as u64).saturating_mul(4))
            .saturating_add(6);
        (self.replay_capacity as u64).saturating_mul(per_step)
    }

    /// Trainable parameters (every weight and bias) of the network this config builds
    /// (saturating).
    pub fn parameter_count(&self) -> u64 {
        let n = |v: usize| v as u64;
        let dense = |i: u64, o: u64| i.saturating_mul(o).saturating_add(o);
        let conv =
            |i: u64, o: u64, k: u64| i.saturating_mul(o).saturating_mul(k * k).saturating_add(o);
        // Channels of encoder stage `s` (the decoder mirrors them).
        let depth = |s: usize| n(self.cnn_depth).saturating_mul(1u64 << s);
        let (deter, hidden, stoch) = (n(self.deter), n(self.hidden), n(self.stoch_size()));
        let top = depth(STAGES - 1);
        let embed = top
            .saturating_mul(n(self.width >> STAGES))
            .saturating_mul(n(self.height >> STAGES));
        let mut parts = Vec::new();
        let mut c_in = 3;
        for s in 0..STAGES {
            parts.push(conv(c_in, depth(s), 4));
            c_in = depth(s);
        }
        parts.extend([
            dense(stoch.saturating_add(n(self.action_dim)), hidden),
            dense(hidden.saturating_add(deter), deter.saturating_mul(3)),
            dense(deter, hidden),
            dense(hidden, stoch),
            dense(deter.saturating_add(embed), hidden),
            dense(hidden, stoch),
            dense(deter.saturating_add(stoch), embed),
        ]);
        let mut c_in = top;
        for s in (0..STAGES).rev() {
            let c_out = if s == 0 { 3 } else { depth(s - 1) };
            parts.push(match self.upsample {
                Upsample::ConvTranspose => conv(c_in, c_out, 4),
                Upsample::ResizeConv => conv(c_in, c_out, 3),
                Upsample::PixelShuffle => conv(c_in, c_out.saturating_mul(4), 3),
            });
            c_in = c_out;
        }
        if self.warp {
            for radius in self.warp_radius {
                parts.push(dense(
                    n(self.cnn_depth),
                    n(radius).saturating_mul(2).saturating_add(1),
                ));
            }
        }
        // The reward and continue heads.
        let features = deter.saturating_add(stoch);
        parts.extend([
            dense(features, hidden),
            dense(hidden, n(REWARD_BINS)),
            dense(features, hidden),
            dense(hidden, 1),
        ]);
        if self.sketch_side > 0 {
            let side = n(self.sketch_side);
            parts.extend([
                dense(features, hidden),
                dense(hidden, side.saturating_mul(side).saturating_mul(3)),
            ]);
        }
        // The actor, the critic and the slow critic.
        if self.agent.enabled() {
            let (actions, width, layers) = self.agent.shape();
            let trunk = |out: u64| {
                let mut sum = dense(features, n(width));
                for _ in 1..layers {
                    sum = sum.saturating_add(dense(n(width), n(width)));
                }
                sum.saturating_add(dense(n(width), out))
            };
            parts.push(trunk(n(actions)));
            parts.push(trunk(n(REWARD_BINS)).saturating_mul(2));
        }
        parts.into_iter().fold(0, u64::saturating_add)
    }

    /// Pixels of one training batch, `batch * seq_len * width * height` (saturating).
    pub fn batch_pixels(&self) -> u64 {
        [self.batch, self.seq_len, self.width, self.height]
            .into_iter()
            .fold(1u64, |acc, v| acc.saturating_mul(v as u64))
    }

    /// Learning rate at optimizer step `step`: linear warm-up, then constant.
    pub fn lr_at(&self, step: u64) -> f64 {
        if self.warmup_steps == 0 {
            return self.lr;
        }
        let ramp = (step.saturating_add(1) as f64 / self.warmup_steps as f64).min(1.0);
        self.lr * ramp
    }

    /// Checks everything a network or trainer needs, naming the first problem found: every
    /// size within its bound (the `MAX_*` constants of this module, named in the message as
    /// in `deter: 1000000 is above the limit 4096`), the frame a multiple of 16, no zero
    /// size, every float finite and in range, and the memory the config asks for.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |msg: String| Err(ConfigError(msg));
        let window = match self.sampling {
            Sampling::Recent { window, .. } => window,
            Sampling::Uniform => 0,
        };
        for (name, value, limit) in [
            ("width", self.width, MAX_FRAME_SIDE),
            ("height", self.height, MAX_FRAME_SIDE),
            ("action_dim", self.action_dim, MAX_ACTION_DIM),
            ("cnn_depth", self.cnn_depth, MAX_CNN_DEPTH),
            ("deter", self.deter, MAX_DETER),
            ("stoch", self.stoch, MAX_STOCH),
            ("classes", self.classes, MAX_CLASSES),
            ("hidden", self.hidden, MAX_HIDDEN),
            ("batch", self.batch, MAX_BATCH),
            ("seq_len", self.seq_len, MAX_SEQ_LEN),
            ("replay_capacity", self.replay_capacity, MAX_REPLAY_CAPACITY),
            ("min_frames", self.min_frames, MAX_REPLAY_CAPACITY),
            ("sampling window", window, MAX_REPLAY_CAPACITY),
            ("warp_radius across", self.warp_radius[0], MAX_WARP_RADIUS),
            ("warp_radius down", self.warp_radius[1], MAX_WARP_RADIUS),
            ("warmup_steps", self.warmup_steps, MAX_WARMUP_STEPS),
            ("snapshot_every", self.snapshot_every, MAX_SNAPSHOT_EVERY),
        ] {
            if value > limit {
                return bad(format!("{name}: {value} is above the limit {limit}"));
            }
        }
        if self.width == 0
            || self.height == 0
            || !self.width.is_multiple_of(16)
            || !self.height.is_multiple_of(16)
        {
            return bad(format!(
                "frame size {}x{} must be non-zero multiples of 16",
                self.width, self.height
            ));
        }
        for (name, value) in [
            ("action_dim", self.action_dim),
            ("cnn_depth", self.cnn_depth),
            ("deter", self.deter),
            ("stoch", self.stoch),
            ("classes", self.classes),
            ("hidden", self.hidden),
            ("batch", self.batch),
            ("snapshot_every", self.snapshot_every),
        ] {
            if value == 0 {
                return bad(format!("{name} must be at least 1"));
            }
        }
        if self.warp && !self.residual {
            return bad("warp moves the previous frame, so it needs residual: true".into());
        }
        if self.warp && (self.warp_radius[0] >= self.width || self.warp_radius[1] >= self.height) {
            return bad(format!(
                "warp_radius {:?} must be smaller than the frame ({}x{})",
                self.warp_radius, self.width, self.height
            ));
        }
        if self.seq_len < 2 {
            return bad(format!("seq_len is {}, must be at least 2", self.seq_len));
        }
        if self.replay_capacity < self.seq_len {
            return bad(format!(
                "replay_capacity {} is smaller than seq_len {}",
                self.replay_capacity, self.seq_len
            ));
        }
        if self.min_frames > self.replay_capacity {
            return bad(format!(
                "min_frames {} is above replay_capacity {}: training would never start",
                self.min_frames, self.replay_capacity
            ));
        }
        if !(0.0..1.0).contains(&self.unimix) {
            return bad(format!("unimix {} must be in [0, 1)", self.unimix));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("lr {} must be a positive number", self.lr));
        }
        if !(self.adam_eps.is_finite() && self.adam_eps > 0.0) {
            return bad(format!(
                "adam_eps {} must be a positive number",
                self.adam_eps
            ));
        }
        self.agent.validate(self.action_dim)?;
        let side = self.sketch_side;
        if side > 0 && !(self.width.is_multiple_of(side) && self.height.is_multiple_of(side)) {
            return bad(format!(
                "sketch_side {side} must divide the frame's width {} and height {}",
                self.width, self.height
            ));
        }
        for (name, value) in [
            ("free_nats", self.free_nats),
            ("kl_dyn", self.kl_dyn),
            ("kl_rep", self.kl_rep),
            ("pred_weight", self.pred_weight),
            ("reward_weight", self.reward_weight),
            ("cont_weight", self.cont_weight),
            ("sketch_weight", self.sketch_weight),
            ("grad_clip", self.grad_clip),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return bad(format!("{name} {value} must be a non-negative number"));
            }
        }
        if let Sampling::Recent { fraction, window } = self.sampling
            && (!(0.0..=1.0).contains(&fraction) || window < self.seq_len)
        {
            return bad(format!(
                "recent sampling needs fraction in [0, 1] and window >= seq_len, got {fraction} and {window}"
            ));
        }
        const MIB: u64 = 1 << 20;
        if self.replay_bytes() > MAX_REPLAY_BYTES {
            return bad(format!(
                "replay_capacity: {} frames of {}x{} take {} MiB, above the limit {} MiB",
                self.replay_capacity,
                self.width,
                self.height,
                self.replay_bytes() / MIB,
                MAX_REPLAY_BYTES / MIB
            ));
        }
        if self.parameter_count() > MAX_PARAMETERS {
            return bad(format!(
                "network: {} parameters (from the frame size, cnn_depth, deter, stoch, classes \
                 and hidden) is above the limit {MAX_PARAMETERS}",
                self.parameter_count()
            ));
        }
        if self.batch_pixels() > MAX_BATCH_PIXELS {
            return bad(format!(
                "batch * seq_len * width * height: {} pixels is above the limit {MAX_BATCH_PIXELS}",
                self.batch_pixels()
            ));
        }
        Ok(())
    }

    /// Names the fields that change the network's shape and differ from `other`; empty when
    /// weights of one fit the other.
    pub fn shape_mismatches(&self, other: &Self) -> Vec<String> {
        let mut out = Vec::new();
        macro_rules! cmp {
            ($($f:ident),*) => {$(
                if self.$f != other.$f {
                    out.push(format!("{}: {:?} vs {:?}", stringify!($f), self.$f, other.$f));
                }
            )*};
        }
        cmp!(
            width,
            height,
            action_dim,
            cnn_depth,
            deter,
            stoch,
            classes,
            hidden,
            upsample,
            residual,
            warp,
            warp_radius
        );
        out
    }

    /// Reads a config from JSON text; unknown fields are an error so typos do not pass silently.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let cfg: Self = serde_json::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid() {
        WorldModelConfig::default().validate().unwrap();
    }

    #[test]
    fn bad_config_names_the_field() {
        let cfg = WorldModelConfig {
            width: 60,
            ..Default::default()
        };
        assert!(cfg.validate().unwrap_err().0.contains("60x64"));
        let err = WorldModelConfig::from_json(r#"{"detre": 3}"#).unwrap_err();
        assert!(err.0.contains("detre"), "{err}");
        let err = WorldModelConfig::from_json(r#"{"warp": true, "residual": false}"#).unwrap_err();
        assert!(err.0.contains("residual"), "{err}");
        let err = WorldModelConfig::from_json(
            r#"{"warp": true, "residual": true, "warp_radius": [64, 2]}"#,
        )
        .unwrap_err();
        assert!(err.0.contains("warp_radius"), "{err}");
    }

    #[test]
    fn partial_json_takes_defaults() {
        let cfg = WorldModelConfig::from_json(r#"{"deter": 64}"#).unwrap();
        assert_eq!(cfg.deter, 64);
        assert_eq!(cfg.width, 64);
    }

    #[test]
    fn lr_warms_up_and_never_decays() {
        let cfg = WorldModelConfig::default();
        assert!(cfg.lr_at(0) < cfg.lr);
        assert_eq!(cfg.lr_at(10_000_000), cfg.lr);
    }

    /// The count `validate` bounds is the network's: every weight and bias, for each
    /// decoder kind, with and without the warp, square or not.
    #[test]
    fn parameter_count_is_the_networks() {
        use burn::module::Module;
        let base = WorldModelConfig {
            cnn_depth: 4,
            deter: 24,
            stoch: 3,
            classes: 5,
            hidden: 20,
            action_dim: 2,
            ..Default::default()
        };
        for cfg in [
            WorldModelConfig::default(),
            base.clone(),
            WorldModelConfig {
                upsample: Upsample::ResizeConv,
                width: 32,
                height: 16,
                ..base.clone()
            },
            WorldModelConfig {
                upsample: Upsample::PixelShuffle,
                residual: true,
                warp: true,
                warp_radius: [3, 2],
                sketch_side: 8,
                ..base.clone()
            },
        ] {
            let model = crate::model::WorldModel::new(&cfg, &burn::tensor::Device::flex());
            assert_eq!(cfg.parameter_count(), model.num_params() as u64, "{cfg:?}");
        }
    }

    /// Real configs stay valid: the default, the shipped network, and the default at the
    /// game's largest frame (512x512).
    #[test]
    fn real_configs_are_within_the_bounds() {
        let shipped = WorldModelConfig {
            residual: true,
            warp: true,
            recon_loss: ReconLoss::Mse,
            ..Default::default()
        };
        for cfg in [
            WorldModelConfig::default(),
            shipped.clone(),
            WorldModelConfig {
                width: 512,
                height: 512,
                ..shipped
            },
        ] {
            cfg.validate().unwrap();
        }
    }

    /// Every size has an upper bound, named with the value and the limit in the message.
    #[test]
    fn sizes_above_their_bound_name_field_and_limit() {
        let d = WorldModelConfig::default();
        let cases: Vec<(&str, usize, WorldModelConfig)> = vec![
            (
                "width",
                MAX_FRAME_SIDE,
                WorldModelConfig {
                    width: MAX_FRAME_SIDE + 16,
                    ..d.clone()
                },
            ),
            (
                "height",
                MAX_FRAME_SIDE,
                WorldModelConfig {
                    height: usize::MAX,
                    ..d.clone()
                },
            ),
            (
                "action_dim",
                MAX_ACTION_DIM,
                WorldModelConfig {
                    action_dim: MAX_ACTION_DIM + 1,
                    ..d.clone()
                },
            ),
            (
                "cnn_depth",
                MAX_CNN_DEPTH,
                WorldModelConfig {
                    cnn_depth: MAX_CNN_DEPTH + 1,
                    ..d.clone()
                },
            ),
            (
                "deter",
                MAX_DETER,
                WorldModelConfig {
                    deter: 1_000_000,
                    ..d.clone()
                },
            ),
            (
                "stoch",
                MAX_STOCH,
                WorldModelConfig {
                    stoch: MAX_STOCH + 1,
                    ..d.clone()
                },
            ),
            (
                "classes",
                MAX_CLASSES,
                WorldModelConfig {
                    classes: MAX_CLASSES + 1,
                    ..d.clone()
                },
            ),
            (
                "hidden",
                MAX_HIDDEN,
                WorldModelConfig {
                    hidden: MAX_HIDDEN + 1,
                    ..d.clone()
                },
            ),
            (
                "batch",
                MAX_BATCH,
                WorldModelConfig {
                    batch: MAX_BATCH + 1,
                    ..d.clone()
                },
            ),
            (
                "seq_len",
                MAX_SEQ_LEN,
                WorldModelConfig {
                    seq_len: MAX_SEQ_LEN + 1,
                    ..d.clone()
                },
            ),
            (
                "replay_capacity",
                MAX_REPLAY_CAPACITY,
                WorldModelConfig {
                    replay_capacity: MAX_REPLAY_CAPACITY + 1,
                    ..d.clone()
                },
            ),
            (
                "min_frames",
                MAX_REPLAY_CAPACITY,
                WorldModelConfig {
                    min_frames: usize::MAX,
                    ..d.clone()
                },
            ),
            (
                "sampling window",
                MAX_REPLAY_CAPACITY,
                WorldModelConfig {
                    sampling: Sampling::Recent {
                        fraction: 0.5,
                        window: usize::MAX,
                    },
                    ..d.clone()
                },
            ),
            (
                "warp_radius across",
                MAX_WARP_RADIUS,
                WorldModelConfig {
                    warp_radius: [MAX_WARP_RADIUS + 1, 6],
                    ..d.clone()
                },
            ),
            (
                "warp_radius down",
                MAX_WARP_RADIUS,
                WorldModelConfig {
                    warp_radius: [12, usize::MAX],
                    ..d.clone()
                },
            ),
            (
                "warmup_steps",
                MAX_WARMUP_STEPS,
                WorldModelConfig {
                    warmup_steps: MAX_WARMUP_STEPS + 1,
                    ..d.clone()
                },
            ),
            (
                "snapshot_every",
                MAX_SNAPSHOT_EVERY,
                WorldModelConfig {
                    snapshot_every: MAX_SNAPSHOT_EVERY + 1,
                    ..d.clone()
                },
            ),
        ];
        for (field, limit, cfg) in cases {
            let err = cfg.validate().expect_err(field).0;
            assert!(
                err.starts_with(&format!("{field}: "))
                    && err.ends_with(&format!("is above the limit {limit}")),
                "{field}: {err}"
            );
        }
        let err = WorldModelConfig::from_json(r#"{"deter": 1000000}"#).unwrap_err();
        assert!(
            err.0.contains("deter: 1000000 is above the limit 4096"),
            "{err}"
        );
    }

    /// Sizes each within bounds whose product asks for too much memory are refused too.
    #[test]
    fn memory_bounds_are_checked() {
        let d = WorldModelConfig::default();
        for (cfg, what) in [
            (
                WorldModelConfig {
                    replay_capacity: 2_000_000,
                    ..d.clone()
                },
                "replay_capacity",
            ),
            (
                WorldModelConfig {
                    width: 1024,
                    height: 1024,
                    replay_capacity: 1000,
                    ..d.clone()
                },
                "parameters",
            ),
            (
                WorldModelConfig {
                    deter: 4096,
                    hidden: 4096,
                    stoch: 1024,
                    classes: 1024,
                    ..d.clone()
                },
                "parameters",
            ),
            (
                WorldModelConfig {
                    batch: 1024,
                    seq_len: 1024,
                    ..d.clone()
                },
                "pixels",
            ),
        ] {
            let err = cfg.validate().expect_err(what).0;
            assert!(err.contains(what) && err.contains("limit"), "{what}: {err}");
        }
    }

    /// Values that cannot train are refused naming the field: Adam's epsilon must be a
    /// positive number, as the learning rate; every float must be a number; training must be
    /// able to start.
    #[test]
    fn values_that_cannot_work_are_refused() {
        let d = WorldModelConfig::default();
        for eps in [-1.0, 0.0, f32::INFINITY, f32::NAN] {
            let err = WorldModelConfig {
                adam_eps: eps,
                ..d.clone()
            }
            .validate()
            .unwrap_err();
            assert!(err.0.contains("adam_eps"), "{eps}: {err}");
        }
        for lr in [-1.0, 0.0, f64::INFINITY, f64::NAN] {
            let err = WorldModelConfig { lr, ..d.clone() }.validate().unwrap_err();
            assert!(err.0.contains("lr"), "{lr}: {err}");
        }
        // The sketch must tile the frame: 64 is not a multiple of 12, nor 128 a size.
        for side in [12, 128] {
            let err = WorldModelConfig {
                sketch_side: side,
                ..d.clone()
            }
            .validate()
            .unwrap_err();
            assert!(err.0.contains("sketch_side"), "{side}: {err}");
        }
        for side in [0, 1, 16, 64] {
            let ok = WorldModelConfig {
                sketch_side: side,
                ..d.clone()
            };
            assert!(ok.validate().is_ok(), "{side}");
        }
        let nan = f32::NAN;
        for (field, cfg) in [
            (
                "unimix",
                WorldModelConfig {
                    unimix: nan,
                    ..d.clone()
                },
            ),
            (
                "free_nats",
                WorldModelConfig {
                    free_nats: nan,
                    ..d.clone()
                },
            ),
            (
                "kl_dyn",
                WorldModelConfig {
                    kl_dyn: nan,
                    ..d.clone()
                },
            ),
            (
                "kl_rep",
                WorldModelConfig {
                    kl_rep: nan,
                    ..d.clone()
                },
            ),
            (
                "pred_weight",
                WorldModelConfig {
                    pred_weight: nan,
                    ..d.clone()
                },
            ),
            (
                "reward_weight",
                WorldModelConfig {
                    reward_weight: -1.0,
                    ..d.clone()
                },
            ),
            (
                "cont_weight",
                WorldModelConfig {
                    cont_weight: nan,
                    ..d.clone()
                },
            ),
            (
                "grad_clip",
                WorldModelConfig {
                    grad_clip: nan,
                    ..d.clone()
                },
            ),
            (
                "fraction",
                WorldModelConfig {
                    sampling: Sampling::Recent {
                        fraction: nan,
                        window: 100,
                    },
                    ..d.clone()
                },
            ),
        ] {
            let err = cfg.validate().expect_err(field);
            assert!(err.0.contains(field), "{field}: {err}");
        }
        let err = WorldModelConfig {
            min_frames: 30_000,
            ..d.clone()
        }
        .validate()
        .unwrap_err();
        assert!(
            err.0
                .contains("min_frames 30000 is above replay_capacity 20000"),
            "{err}"
        );
    }

    #[test]
    fn shape_mismatch_lists_fields() {
        let a = WorldModelConfig::default();
        let b = WorldModelConfig {
            deter: 64,
            lr: 1.0,
            ..a.clone()
        };
        let diff = a.shape_mismatches(&b);
        assert_eq!(diff.len(), 1, "{diff:?}");
        assert!(diff[0].starts_with("deter"));
    }
}

//! Every hyper-parameter of the model and the trainer, in one serde struct.
//!
//! The config is saved inside every checkpoint and every JSON report, so a run can always be
//! reproduced and a checkpoint is never loaded into a network of another shape.

use serde::{Deserialize, Serialize};

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
    /// Pixel loss. Default: `l1`
    pub recon_loss: ReconLoss,
    /// Weight of decoding the *prior* state (the one-step prediction we show the player)
    /// against the real frame; 0 gives plain Dreamer reconstruction training. Default: `1.0`
    pub pred_weight: f32,
    /// Decode each frame as a change to the previous one (the real frame while observing,
    /// the imagined one in a dream) instead of from scratch: a fresh model then starts at the
    /// copy-last-frame baseline rather than at grey. Off by default: on the synthetic world's
    /// fast motion it learned far less than the plain decoder in the same steps (see
    /// `docs/performance.md`). Default: `false`
    pub residual: bool,
    /// With `residual`: before the decoded change is added, every pixel of the previous frame
    /// is moved by its own decoded amount, up to `warp_radius` pixels across and down. The
    /// camera's motion shifts most of the view from one tick to the next; a moved copy of
    /// the last frame predicts it in any world, where decoding the change from the latent
    /// alone works only for the world it was learned in. Default: `false`
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
}

impl Default for WorldModelConfig {
    fn default() -> Self {
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
        }
    }
}

/// A config that cannot build a network or a trainer.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid world-model config: {0}")]
pub struct ConfigError(pub String);

impl WorldModelConfig {
    /// Size of the flattened stochastic state `z` (`stoch * classes`).
    pub fn stoch_size(&self) -> usize {
        self.stoch * self.classes
    }

    /// Size of the features the decoder reads: `h` and `z` side by side.
    pub fn feature_size(&self) -> usize {
        self.deter + self.stoch_size()
    }

    /// Bytes of one RGB u8 frame.
    pub fn frame_bytes(&self) -> usize {
        self.width * self.height * 3
    }

    /// Learning rate at optimizer step `step`: linear warm-up, then constant.
    pub fn lr_at(&self, step: u64) -> f64 {
        if self.warmup_steps == 0 {
            return self.lr;
        }
        let ramp = ((step + 1) as f64 / self.warmup_steps as f64).min(1.0);
        self.lr * ramp
    }

    /// Checks everything a network or trainer needs, naming the first problem found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |msg: String| Err(ConfigError(msg));
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
        if !(0.0..1.0).contains(&self.unimix) {
            return bad(format!("unimix {} must be in [0, 1)", self.unimix));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("lr {} must be a positive number", self.lr));
        }
        for (name, value) in [
            ("free_nats", self.free_nats),
            ("kl_dyn", self.kl_dyn),
            ("kl_rep", self.kl_rep),
            ("pred_weight", self.pred_weight),
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
        let err = WorldModelConfig::from_json(r#"{"warp": true}"#).unwrap_err();
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

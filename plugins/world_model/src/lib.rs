//! # world_model
//!
//! A Dreamer-style world model in [Burn](https://burn.dev), with no game engine attached:
//! networks, the RSSM, losses, a sequence replay buffer, a trainer thread, metrics,
//! checkpoints and datasets. The Bevy plugin `bevy_world_model` drives it; the binaries
//! `world-model-train`, `world-model-metrics` and `world-model-bench` use it offline.
//!
//! ```no_run
//! use world_model::{DeviceChoice, Learner, Predictor, WorldModelConfig, synthetic};
//!
//! let device = DeviceChoice::Auto.resolve().unwrap().device;
//! let cfg = WorldModelConfig::default();
//! let mut learner = Learner::new(cfg.clone(), &device).unwrap();
//! for step in synthetic::record(64, 4, 64, 0) {
//!     learner.push(&step).unwrap();
//! }
//! for _ in 0..100 {
//!     learner.train_step();
//! }
//! let mut predictor = Predictor::new(learner.inference_model(), cfg, device);
//! let frame = synthetic::ScrollWorld::new(64, 1).render();
//! predictor.observe(&frame, &[0.0, 0.0, 0.0]).unwrap();
//! let next = predictor.predict_next(&[1.0, 0.0, 0.0]).unwrap();
//! ```
//!
//! Backends are chosen at run time ([`DeviceChoice`]): `flex` on the CPU, `wgpu` on a GPU.
#![warn(missing_docs)]

pub mod allocator;
pub mod behavior;
pub mod checkpoint;
pub mod config;
pub mod dataset;
pub mod device;
pub mod eval;
pub mod files;
pub mod frame;
pub mod heads;
pub mod kernels;
pub mod learner;
pub mod metrics;
pub mod model;
pub mod networks;
pub mod predictor;
pub mod replay;
pub mod rssm;
pub mod signals;
pub mod sketch;
pub mod synthetic;
pub mod trainer;

pub use behavior::BehaviorStats;
pub use checkpoint::{
    AgentProgress, Checkpoint, CheckpointEncodeError, CheckpointError, CheckpointMeta,
    OptimizerRestoreError,
};
pub use config::{AgentConfig, ConfigError, ReconLoss, Sampling, Upsample, WorldModelConfig};
pub use dataset::{Dataset, DatasetError, DatasetHeader, DatasetWriter, HeaderError};
pub use device::{DeviceChoice, DeviceError, ResolvedDevice};
pub use eval::{EvalReport, RewardTally};
pub use frame::{Frame, FrameIoError};
pub use heads::Outlook;
pub use learner::{Learner, PushError, StepOutcome, StepReport};
pub use metrics::{FrameMetrics, ScoreTotals, compare, error_heatmap};
pub use model::{LossParts, WorldModel};
pub use predictor::{PendingFrame, PredictError, Predictor, Rollout};
pub use replay::{ReplayBuffer, Step};
pub use rssm::Latent;
pub use trainer::{Control, Snapshot, TrainStats, TrainerEvent, TrainerHandle};

/// Re-export of the Burn device type, so users need no direct Burn dependency.
pub use burn::tensor::Device;

//! Shared helpers for the integration tests.
#![allow(dead_code)]

use world_model::synthetic::WorldSpec;
use world_model::{Device, Learner, Step, StepOutcome, WorldModelConfig};

/// The synthetic world of the learning proof: tiled with period 32 px, moving up to 8 px and
/// turning up to 0.3 rad per step, so copying the last frame is a weak guess.
pub fn fast_tiled_world(size: usize) -> WorldSpec {
    WorldSpec {
        size,
        move_speed: 8.0,
        turn_speed: 0.3,
        feature_scale: 32.0,
        periodic: true,
    }
}

/// A small network that learns the synthetic world in seconds on 2 CPU cores.
pub fn small_config(size: usize) -> WorldModelConfig {
    WorldModelConfig {
        width: size,
        height: size,
        cnn_depth: 8,
        deter: 128,
        stoch: 16,
        classes: 16,
        hidden: 128,
        batch: 8,
        seq_len: 6,
        lr: 3e-3,
        warmup_steps: 20,
        min_frames: 16,
        replay_capacity: 4096,
        ..WorldModelConfig::plain()
    }
}

/// [`small_config`] cut down to a network that takes a step in milliseconds: for tests of
/// files and threads rather than of learning.
pub fn tiny_config() -> WorldModelConfig {
    WorldModelConfig {
        cnn_depth: 4,
        deter: 32,
        stoch: 4,
        classes: 4,
        hidden: 32,
        batch: 2,
        seq_len: 4,
        ..small_config(16)
    }
}

/// Trains a fresh learner on `steps` for `n` optimizer steps.
pub fn train(cfg: &WorldModelConfig, steps: &[Step], n: usize) -> Learner {
    let mut learner = Learner::new(cfg.clone(), &Device::flex()).unwrap();
    for s in steps {
        learner.push(s).unwrap();
    }
    for _ in 0..n {
        let outcome = learner.train_step();
        assert!(
            matches!(outcome, StepOutcome::Updated(_)),
            "training step failed: {outcome:?}"
        );
    }
    learner
}

/// A fresh path in the temp directory.
pub fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("wm-test-{}-{name}", std::process::id()))
}

/// A warp network (the default decoder) small enough to build, save and take a training step
/// in milliseconds, with a replay the hostile-input tests can fill quickly.
pub fn tiny_warp_config() -> WorldModelConfig {
    WorldModelConfig {
        width: 16,
        height: 16,
        action_dim: 3,
        cnn_depth: 4,
        deter: 16,
        stoch: 4,
        classes: 4,
        hidden: 16,
        residual: true,
        warp: true,
        warp_radius: [2, 2],
        batch: 2,
        seq_len: 4,
        min_frames: 8,
        replay_capacity: 256,
        sampling: world_model::Sampling::Uniform,
        ..WorldModelConfig::default()
    }
}

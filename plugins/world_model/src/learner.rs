//! The synchronous training core: autodiff model, Adam, replay buffer, one step at a time.
//! The live [`trainer`](crate::trainer) thread and the offline `world-model-train` binary
//! both drive it.

use std::path::Path;
use std::time::Instant;

use burn::module::{ModuleVisitor, Param, ParamId};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use crate::behavior::{self, BehaviorStats, ReturnScale};
use crate::checkpoint::{self, AgentProgress, Checkpoint, CheckpointError, CheckpointMeta};
use crate::config::{ConfigError, WorldModelConfig};
use crate::kernels::FusedAdam;
use crate::model::{LossParts, WorldModel};
use crate::replay::{ReplayBuffer, Step};
use crate::rssm::Latent;

/// What one call to [`Learner::train_step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum StepOutcome {
    /// Not enough frames stored yet.
    Waiting,
    /// Weights were updated.
    Updated(StepReport),
    /// The loss or gradient was NaN or infinite: no update, last good weights restored.
    Skipped(StepReport),
}

/// Numbers about one training step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// Optimizer steps taken so far (after this one).
    pub step: u64,
    /// Loss parts.
    pub loss: LossParts,
    /// Global gradient norm before clipping.
    pub grad_norm: f32,
    /// Learning rate used.
    pub lr: f64,
    /// Wall time of the step, seconds.
    pub seconds: f64,
    /// The agent's last actor-critic update after this step, when the config has an agent.
    #[serde(default)]
    pub behavior: Option<BehaviorStats>,
}

/// Why [`Learner::push`] refused a step. Serialisable and comparable, so the trainer thread
/// can report it as a [`TrainerEvent`](crate::TrainerEvent).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The frame is not the size the model was built for (or its buffer does not match its
    /// size).
    #[error("frame is {width}x{height}, the model expects {expected_width}x{expected_height}")]
    FrameSize {
        /// Width of the frame given.
        width: usize,
        /// Height of the frame given.
        height: usize,
        /// Width the config asks for.
        expected_width: usize,
        /// Height the config asks for.
        expected_height: usize,
    },
    /// The action has the wrong length or a NaN or infinite entry.
    #[error("action {action:?} must be {expected} finite numbers")]
    Action {
        /// The action given.
        action: Vec<f32>,
        /// Entries the config asks for (`action_dim`).
        expected: usize,
    },
    /// The reward is NaN or infinite.
    #[error("reward {0} must be a finite number")]
    Reward(f32),
}

/// Owns everything training needs; not thread-bound, not blocking.
pub struct Learner {
    cfg: WorldModelConfig,
    device: Device,
    model: WorldModel,
    optim: ModuleOptimizer,
    last_good: (WorldModel, ModuleOptimizer),
    replay: ReplayBuffer,
    rng: StdRng,
    steps: u64,
    /// Step at which the optimizer state started (the learning-rate warm-up counts from it):
    /// 0, or the step of a checkpoint resumed without optimizer state.
    warmup_from: u64,
    frames_seen: u64,
    non_finite: u64,
    /// The agent's optimizers (actor, critic) and return scale.
    behavior: BehaviorTraining,
}

/// The actor-critic's own optimizer state and return normalisation.
#[derive(Clone)]
struct BehaviorTraining {
    actor: ModuleOptimizer,
    critic: ModuleOptimizer,
    scale: ReturnScale,
    updates: u64,
}

impl BehaviorTraining {
    fn new(cfg: &WorldModelConfig) -> Self {
        Self {
            actor: FusedAdam::new(cfg.agent.adam_eps).init(),
            critic: FusedAdam::new(cfg.agent.adam_eps).init(),
            scale: ReturnScale::default(),
            updates: 0,
        }
    }
}

impl Learner {
    /// A fresh model for `cfg` on `device` (autodiff is enabled here), seeded from `cfg.seed`.
    pub fn new(cfg: WorldModelConfig, device: &Device) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let ad = device.clone().autodiff();
        ad.seed(cfg.seed);
        let model = WorldModel::new(&cfg, &ad);
        Ok(Self::assemble(cfg, ad, model, None, 0, 0))
    }

    /// Resumes from a checkpoint loaded with [`checkpoint::load`]; training continues with the
    /// checkpoint's weights, optimizer state and counters, under `cfg` (whose network shape
    /// must match the checkpoint's: otherwise [`CheckpointError::ConfigMismatch`], as from
    /// [`checkpoint::load`] with the same config). An invalid `cfg` is
    /// [`CheckpointError::InvalidConfig`]; optimizer state Burn cannot restore is
    /// [`CheckpointError::Optimizer`].
    pub fn from_checkpoint(
        cfg: WorldModelConfig,
        ckpt: Checkpoint,
        device: &Device,
    ) -> Result<Self, CheckpointError> {
        cfg.validate()?;
        let Checkpoint {
            meta,
            model,
            optimizer,
            agent_optimizers,
            path,
        } = ckpt;
        let fields = meta.config.shape_mismatches(&cfg);
        if !fields.is_empty() {
            return Err(CheckpointError::ConfigMismatch { path, fields });
        }
        let ad = device.clone().autodiff();
        ad.seed(cfg.seed.wrapping_add(meta.steps));
        let mut model = model.to_device(&ad).train();
        // An agent of another shape (or none, in a checkpoint from before agents) starts fresh.
        let same_agent = meta.config.agent.shape() == cfg.agent.shape()
            && meta.config.agent.actions == cfg.agent.actions;
        if !same_agent {
            model.behavior = crate::behavior::Behavior::new(&cfg, &ad);
        }
        // So does a sketch the checkpoint has not got (or of another size).
        if meta.config.sketch_side != cfg.sketch_side {
            model.sketch = crate::sketch::Sketch::new(&cfg, &ad);
        }
        // The agent's own training goes on where it stopped when the file has it.
        let mut behavior = BehaviorTraining::new(&cfg);
        if same_agent && let Some([actor, critic]) = agent_optimizers {
            let restore = |optim, bytes| {
                checkpoint::restore_optimizer(optim, bytes).map_err(|source| {
                    CheckpointError::Optimizer {
                        path: path.clone(),
                        source,
                    }
                })
            };
            behavior.actor = restore(behavior.actor, actor)?;
            behavior.critic = restore(behavior.critic, critic)?;
            if let Some(progress) = meta.agent {
                behavior.updates = progress.updates;
                behavior.scale = progress.scale;
            }
        }
        let (optim, warmup_from) = match optimizer {
            Some(bytes) => (
                Some(
                    checkpoint::restore_optimizer(Self::fresh_optim(&cfg), bytes)
                        .map_err(|source| CheckpointError::Optimizer { path, source })?,
                ),
                0,
            ),
            // Fresh Adam moments make the first updates large: warm up again.
            None => (None, meta.steps),
        };
        let mut learner = Self::assemble(cfg, ad, model, optim, meta.steps, meta.frames_seen);
        learner.warmup_from = warmup_from;
        learner.behavior = behavior;
        Ok(learner)
    }

    fn fresh_optim(cfg: &WorldModelConfig) -> ModuleOptimizer {
        FusedAdam::new(cfg.adam_eps).init()
    }

    fn assemble(
        cfg: WorldModelConfig,
        device: Device,
        model: WorldModel,
        optim: Option<ModuleOptimizer>,
        steps: u64,
        frames_seen: u64,
    ) -> Self {
        let optim = optim.unwrap_or_else(|| Self::fresh_optim(&cfg));
        let behavior = BehaviorTraining::new(&cfg);
        let replay = ReplayBuffer::new(cfg.replay_capacity, cfg.width, cfg.height, cfg.action_dim);
        Self {
            rng: StdRng::seed_from_u64(cfg.seed ^ 0x5eed ^ steps),
            last_good: (model.clone(), optim.clone()),
            cfg,
            device,
            model,
            optim,
            replay,
            steps,
            warmup_from: 0,
            frames_seen,
            non_finite: 0,
            behavior,
        }
    }

    /// The config in use.
    pub fn config(&self) -> &WorldModelConfig {
        &self.cfg
    }

    /// Optimizer steps taken (including those of a resumed checkpoint).
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Frames received (including those of a resumed checkpoint).
    pub fn frames_seen(&self) -> u64 {
        self.frames_seen
    }

    /// Steps skipped because the loss or gradient was not finite.
    pub fn non_finite_steps(&self) -> u64 {
        self.non_finite
    }

    /// The replay buffer.
    pub fn replay(&self) -> &ReplayBuffer {
        &self.replay
    }

    /// Stores a step of experience, rejecting one whose frame or action does not fit the
    /// config.
    pub fn push(&mut self, step: &Step) -> Result<(), PushError> {
        let c = &self.cfg;
        if (step.frame.width, step.frame.height) != (c.width, c.height)
            || step.frame.rgb.len() != c.frame_bytes()
        {
            return Err(PushError::FrameSize {
                width: step.frame.width,
                height: step.frame.height,
                expected_width: c.width,
                expected_height: c.height,
            });
        }
        if step.action.len() != c.action_dim || step.action.iter().any(|a| !a.is_finite()) {
            return Err(PushError::Action {
                action: step.action.clone(),
                expected: c.action_dim,
            });
        }
        if !step.reward.is_finite() {
            return Err(PushError::Reward(step.reward));
        }
        self.replay.push(step);
        // Counters resumed from a checkpoint may be anything, up to `u64::MAX`.
        self.frames_seen = self.frames_seen.saturating_add(1);
        Ok(())
    }

    /// A copy of the weights for inference (no autodiff, same device backend).
    pub fn inference_model(&self) -> WorldModel {
        self.model.valid()
    }

    /// One optimizer step on a batch drawn from the replay buffer.
    pub fn train_step(&mut self) -> StepOutcome {
        let cfg = &self.cfg;
        if self.replay.len() < cfg.min_frames.max(cfg.seq_len) {
            return StepOutcome::Waiting;
        }
        let start = Instant::now();
        let Some(batch) = self.replay.sample(
            cfg.batch,
            cfg.seq_len,
            cfg.sampling,
            &mut self.rng,
            &self.device,
        ) else {
            return StepOutcome::Waiting;
        };
        let out = self.model.loss(cfg, &batch);
        let mut grads = GradientsParams::from_grads(out.total.backward(), &self.model);
        let grad_norm = global_grad_norm(&self.model, &grads);
        let loss = LossParts::read(&out);
        let lr = cfg.lr_at(self.steps.saturating_sub(self.warmup_from));
        let mut report = StepReport {
            step: self.steps,
            loss,
            grad_norm,
            lr,
            seconds: 0.0,
            behavior: None,
        };
        if !loss.is_finite() || !grad_norm.is_finite() {
            self.undo_last_update();
            report.seconds = start.elapsed().as_secs_f64();
            return StepOutcome::Skipped(report);
        }
        if grad_norm > cfg.grad_clip && cfg.grad_clip > 0.0 {
            scale_grads(&self.model, &mut grads, cfg.grad_clip / grad_norm);
        }
        self.last_good = (self.model.clone(), self.optim.clone());
        self.model = self.optim.step(lr, self.model.clone(), grads);
        self.steps = self.steps.saturating_add(1);
        for _ in 0..self.cfg.agent.updates_per_step {
            if let Some(stats) = self.behavior_step(&out.posterior) {
                report.behavior = Some(stats);
            }
        }
        report.step = self.steps;
        report.seconds = start.elapsed().as_secs_f64();
        StepOutcome::Updated(report)
    }

    /// One actor-critic update on trajectories imagined from `starts` (posterior states of
    /// the last batch) with the current world model; `None` without an agent, or when the
    /// update was not finite (then nothing changed).
    fn behavior_step(&mut self, starts: &Latent) -> Option<BehaviorStats> {
        let agent = &self.cfg.agent;
        let frozen = self.model.valid();
        let starts = Latent {
            h: starts.h.clone().inner(),
            z: starts.z.clone().inner(),
            frame: None,
        };
        let imagined = behavior::imagine(&frozen, frozen.behavior.as_ref()?, &self.cfg, starts);
        let mut model = self.model.clone();
        let mut learner = model.behavior.take()?;
        let mut scale = self.behavior.scale;
        let loss = behavior::behavior_loss(&learner, agent, &imagined, &mut scale);
        let s = loss.stats;
        if ![s.actor_loss, s.critic_loss, s.entropy]
            .iter()
            .all(|v| v.is_finite())
        {
            return None;
        }
        let mut grads = (loss.actor + loss.critic).backward();
        let mut actor_grads = GradientsParams::from_module(&mut grads, &learner.actor);
        let mut critic_grads = GradientsParams::from_module(&mut grads, &learner.critic);
        if !clip(&learner.actor, &mut actor_grads, agent.grad_clip)
            || !clip(&learner.critic, &mut critic_grads, agent.grad_clip)
        {
            return None;
        }
        learner.actor = self
            .behavior
            .actor
            .step(agent.lr, learner.actor, actor_grads);
        learner.critic = self
            .behavior
            .critic
            .step(agent.lr, learner.critic, critic_grads);
        learner.update_slow(agent.slow_rate);
        model.behavior = Some(learner);
        self.model = model;
        self.behavior.scale = scale;
        self.behavior.updates += 1;
        Some(s)
    }

    /// Actor-critic updates taken so far.
    pub fn behavior_updates(&self) -> u64 {
        self.behavior.updates
    }

    /// Puts back the weights and optimizer state from before the last update and counts a
    /// non-finite step: what [`train_step`](Self::train_step) does when a loss or gradient is
    /// NaN, and what the trainer thread does when an update left a weight NaN or infinite
    /// (an exploding step), so such weights are never published. The step counter stays.
    pub(crate) fn undo_last_update(&mut self) {
        self.non_finite = self.non_finite.saturating_add(1);
        let (model, optim) = self.last_good.clone();
        self.model = model;
        self.optim = optim;
    }

    /// The checkpoint header describing the current state.
    pub fn meta(&self) -> CheckpointMeta {
        CheckpointMeta {
            config: self.cfg.clone(),
            steps: self.steps,
            frames_seen: self.frames_seen,
            crate_version: env!("CARGO_PKG_VERSION").into(),
            agent: self.model.behavior.is_some().then_some(AgentProgress {
                updates: self.behavior.updates,
                scale: self.behavior.scale,
            }),
        }
    }

    /// Writes a compact checkpoint (half-precision weights, no optimizer state) to `path`:
    /// what a game ships (see [`checkpoint::to_bytes_compact`]). Weights that are not finite
    /// are refused ([`CheckpointEncodeError::NonFinite`](crate::CheckpointEncodeError::NonFinite)).
    pub fn save_compact(&self, path: &Path) -> Result<(), CheckpointError> {
        checkpoint::save_compact(path, &self.meta(), &self.model)
    }

    /// Writes weights, optimizer state, config and counters atomically to `path`; weights that
    /// are not finite are refused, as by [`save_compact`](Self::save_compact).
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        let agent = self
            .model
            .behavior
            .is_some()
            .then_some([&self.behavior.actor, &self.behavior.critic]);
        checkpoint::save(path, &self.meta(), &self.model, Some(&self.optim), agent)
    }

    /// Replaces the weights with NaN, for tests of the recovery path.
    #[doc(hidden)]
    pub fn poison_for_test(&mut self) {
        struct Poison;
        impl burn::module::ModuleMapper for Poison {
            fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
                param.map(|t| t.mul_scalar(f32::NAN))
            }
        }
        self.model = self.model.clone().map(&mut Poison);
    }
}

/// Collects the ids of every float parameter of a module.
struct ParamIds(Vec<(ParamId, usize)>);

impl ModuleVisitor for ParamIds {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push((param.id, D));
    }
}

fn param_ids<M: Module>(model: &M) -> Vec<(ParamId, usize)> {
    let mut ids = ParamIds(Vec::new());
    model.visit(&mut ids);
    ids.0
}

fn sum_sq<const D: usize>(grads: &GradientsParams, id: ParamId) -> Option<Tensor<1>> {
    grads.get::<D>(id).map(|g| g.square().sum())
}

/// L2 norm of all gradients together (one device sync).
fn global_grad_norm<M: Module>(model: &M, grads: &GradientsParams) -> f32 {
    let parts: Vec<Tensor<1>> = param_ids(model)
        .into_iter()
        .filter_map(|(id, rank)| match rank {
            1 => sum_sq::<1>(grads, id),
            2 => sum_sq::<2>(grads, id),
            3 => sum_sq::<3>(grads, id),
            4 => sum_sq::<4>(grads, id),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        return 0.0;
    }
    let total: f32 = Tensor::cat(parts, 0).sum().sqrt().into_scalar::<f32>();
    total
}

fn scale_one<const D: usize>(grads: &mut GradientsParams, id: ParamId, factor: f32) {
    if let Some(g) = grads.remove::<D>(id) {
        grads.register(id, g.mul_scalar(factor));
    }
}

/// Clips `grads` of `module` to a global norm of `max` (0: no clipping); false when the
/// norm is not finite.
fn clip<M: Module>(module: &M, grads: &mut GradientsParams, max: f32) -> bool {
    let norm = global_grad_norm(module, grads);
    if !norm.is_finite() {
        return false;
    }
    if norm > max && max > 0.0 {
        scale_grads(module, grads, max / norm);
    }
    true
}

/// Multiplies every gradient by `factor` (global-norm clipping).
fn scale_grads<M: Module>(model: &M, grads: &mut GradientsParams, factor: f32) {
    for (id, rank) in param_ids(model) {
        match rank {
            1 => scale_one::<1>(grads, id, factor),
            2 => scale_one::<2>(grads, id, factor),
            3 => scale_one::<3>(grads, id, factor),
            4 => scale_one::<4>(grads, id, factor),
            _ => {}
        }
    }
}

//! Behaviour learned inside the dream: DreamerV3's actor-critic, trained only on
//! trajectories the world model imagines (`docs/agent.md` cites each choice).
//!
//! From every posterior state of a world-model batch, the actor picks actions and the RSSM's
//! prior rolls the state forward `horizon` steps; the reward and continue heads say what each
//! imagined state pays and whether its episode goes on. Indices follow DreamerV3's
//! (`agent.py`, `imagine` and `lambda_return`): state `s_t` (`t = 0` is the real start),
//! action `a_t` taken at `s_t`, and `r_{t+1}`, `c_{t+1}` of the state it leads to. The
//! lambda-returns bootstrap from the critic, `R_H = V(s_H)` and
//! `R_t = r_{t+1} + gamma c_{t+1} ((1 - lambda) V(s_{t+1}) + lambda R_{t+1})`; each step is
//! weighted by the product of the continues up to it. No gradient flows through the
//! imagined dynamics: the actor learns by REINFORCE with advantages scaled by the moving
//! 5th-95th percentile range of the returns, the critic by two-hot cross-entropy towards the
//! returns and towards a slow moving average of itself.

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::Distribution;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::config::{AgentConfig, REWARD_BINS, WorldModelConfig};
use crate::heads::{seeded_linear, two_hot_loss, two_hot_mean};
use crate::kernels::{linear, silu};
use crate::model::WorldModel;
use crate::rssm::{Draw, Latent};

/// An MLP on the model's features: `layers` SiLU layers, then a linear output.
#[derive(Module, Debug)]
pub struct Mlp {
    hidden: Vec<Linear>,
    out: Linear,
}

impl Mlp {
    /// He-uniform hidden layers, the output uniform in `[-out_bound, out_bound]` (0: zero).
    fn new(
        input: usize,
        cfg: &AgentConfig,
        outputs: usize,
        out_bound: f32,
        rng: &mut StdRng,
        device: &Device,
    ) -> Self {
        let mut hidden = Vec::with_capacity(cfg.layers);
        let mut width = input;
        for _ in 0..cfg.layers {
            let bound = (6.0 / width as f32).sqrt();
            hidden.push(seeded_linear(width, cfg.hidden, bound, rng, device));
            width = cfg.hidden;
        }
        Self {
            hidden,
            out: seeded_linear(width, outputs, out_bound, rng, device),
        }
    }

    /// Outputs for each row of `features`.
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        let x = self
            .hidden
            .iter()
            .fold(features, |x, layer| silu(linear(layer, x)));
        linear(&self.out, x)
    }

    /// `rate * other + (1 - rate) * self`, layer by layer (the slow critic's update).
    fn blend(&self, other: &Self, rate: f32) -> Self {
        let mix = |a: &Linear, b: &Linear| Linear {
            weight: Param::from_tensor(
                (a.weight.val().mul_scalar(1.0 - rate) + b.weight.val().mul_scalar(rate)).detach(),
            ),
            bias: match (&a.bias, &b.bias) {
                (Some(x), Some(y)) => Some(Param::from_tensor(
                    (x.val().mul_scalar(1.0 - rate) + y.val().mul_scalar(rate)).detach(),
                )),
                _ => None,
            },
        };
        Self {
            hidden: self
                .hidden
                .iter()
                .zip(&other.hidden)
                .map(|(a, b)| mix(a, b))
                .collect(),
            out: mix(&self.out, &other.out),
        }
    }
}

/// The actor, the critic and the slow critic.
#[derive(Module, Debug)]
pub struct Behavior {
    /// Logits over the discrete actions.
    pub actor: Mlp,
    /// Two-hot logits of the value (zero-initialised output: a fresh critic says 0).
    pub critic: Mlp,
    /// A slow moving average of the critic, the critic's regulariser.
    pub slow_critic: Mlp,
}

impl Behavior {
    /// A fresh actor-critic for `cfg`'s agent, or `None` without one. Drawn from `cfg.seed`,
    /// not the device's random stream (as the heads are).
    pub fn new(cfg: &WorldModelConfig, device: &Device) -> Option<Self> {
        let agent = &cfg.agent;
        if !agent.enabled() {
            return None;
        }
        let mut rng = StdRng::seed_from_u64(cfg.seed ^ 0xac7012);
        let features = cfg.feature_size();
        // DreamerV3 scales the policy's output layer by 0.01: the first policy is uniform.
        let actor = Mlp::new(features, agent, agent.actions.len(), 1e-3, &mut rng, device);
        let critic = Mlp::new(features, agent, REWARD_BINS, 0.0, &mut rng, device);
        let slow_critic = critic.blend(&critic, 0.0);
        Some(Self {
            actor,
            critic,
            slow_critic,
        })
    }

    /// The policy's probabilities, `[n, actions]`, with `unimix` of the uniform mixed in.
    pub fn policy(&self, features: Tensor<2>, unimix: f32) -> Tensor<2> {
        let logits = self.actor.forward(features);
        let [_, a] = logits.dims();
        burn::tensor::activation::softmax(logits, 1)
            .mul_scalar(1.0 - unimix)
            .add_scalar(unimix / a as f32)
    }

    /// The critic's value of each row, `[n]`.
    pub fn value(&self, features: Tensor<2>) -> Tensor<1> {
        two_hot_mean(self.critic.forward(features))
    }

    /// The slow critic's update after a critic step: `slow <- rate * critic + (1 - rate) * slow`.
    pub fn update_slow(&mut self, rate: f32) {
        self.slow_critic = self.slow_critic.blend(&self.critic, rate);
    }
}

/// One row per sample of `probs` (`[n, k]`): the index drawn, as a one-hot row `[n, k]`.
pub fn sample_one_hot(probs: Tensor<2>) -> Tensor<2> {
    let [n, k] = probs.dims();
    let device = probs.device();
    let u = Tensor::<2>::random([n, 1], Distribution::Uniform(0.0, 1.0), &device);
    // The index is the number of classes whose cumulative probability is below u.
    let below = probs.cumsum(1).lower(u.repeat_dim(1, k)).float();
    let index = below.sum_dim(1).clamp_max((k - 1) as f32);
    one_hot(index, k)
}

/// One-hot rows of the class indices `index` (`[n, 1]`, as floats).
pub fn one_hot(index: Tensor<2>, k: usize) -> Tensor<2> {
    let [n, _] = index.dims();
    let classes = Tensor::<1, Int>::arange(0..k as i64, &index.device())
        .float()
        .reshape([1, k])
        .repeat_dim(0, n);
    classes.equal(index.repeat_dim(1, k)).float()
}

/// Trajectories imagined from start states, with what the heads say of every state.
#[derive(Clone, Debug)]
pub struct Imagined {
    /// Features of the states `s_0..s_H`, `(H + 1) * n` rows, step-major.
    pub features: Tensor<2>,
    /// The action taken at `s_0..s_{H-1}`, one-hot, `H * n` rows.
    pub actions: Tensor<2>,
    /// Reward of arriving at each state, `[H + 1, n]` (row 0 is unused).
    pub rewards: Tensor<2>,
    /// Probability that each state's episode goes on, `[H + 1, n]`.
    pub conts: Tensor<2>,
}

/// Rolls `starts` forward `horizon` steps on the prior with actions drawn from the policy.
/// `model` and `behavior` are inference modules (no autodiff); the action vectors the
/// world model sees are `cfg.agent.actions`.
pub fn imagine(
    model: &WorldModel,
    behavior: &Behavior,
    cfg: &WorldModelConfig,
    starts: Latent,
) -> Imagined {
    let agent = &cfg.agent;
    let [n, _] = starts.h.dims();
    let device = starts.h.device();
    let table: Vec<f32> = agent.actions.iter().flatten().copied().collect();
    let table = Tensor::<2>::from_data(
        TensorData::new(table, [agent.actions.len(), cfg.action_dim]),
        &device,
    );
    let mut state = Latent {
        frame: None,
        ..starts
    };
    let mut features = Vec::with_capacity(agent.horizon + 1);
    let mut actions = Vec::with_capacity(agent.horizon);
    for _ in 0..agent.horizon {
        let f = state.features();
        let a = sample_one_hot(behavior.policy(f.clone(), agent.unimix));
        let h = model
            .rssm
            .transition(&state, a.clone().matmul(table.clone()));
        let z = model
            .rssm
            .draw(model.rssm.prior_logp(h.clone()), Draw::Sample);
        features.push(f);
        actions.push(a);
        state = Latent { h, z, frame: None };
    }
    features.push(state.features());
    let features = Tensor::cat(features, 0);
    let (rewards, conts) = model.heads.predict(features.clone());
    let steps = agent.horizon + 1;
    Imagined {
        features,
        actions: Tensor::cat(actions, 0),
        rewards: rewards.reshape([steps, n]),
        conts: conts.reshape([steps, n]),
    }
}

/// Lambda-returns and weights of imagined trajectories, `[H, n]` each: `returns[t]` is
/// `R_t` and `weights[t]` the product of the continues `c_0..c_t` (DreamerV3 weighs the
/// start by its own predicted continue too).
pub fn lambda_returns(
    rewards: Tensor<2>,
    conts: Tensor<2>,
    values: Tensor<2>,
    gamma: f32,
    lambda: f32,
) -> (Tensor<2>, Tensor<2>) {
    let [steps, n] = rewards.dims();
    let row = |t: &Tensor<2>, i: usize| t.clone().slice([i..i + 1, 0..n]);
    let mut next = row(&values, steps - 1);
    let mut returns = Vec::with_capacity(steps - 1);
    for t in (0..steps - 1).rev() {
        let discount = row(&conts, t + 1).mul_scalar(gamma);
        let blend = row(&values, t + 1).mul_scalar(1.0 - lambda) + next.mul_scalar(lambda);
        next = row(&rewards, t + 1) + discount * blend;
        returns.push(next.clone());
    }
    returns.reverse();
    let mut weights = Vec::with_capacity(steps - 1);
    let mut w = row(&conts, 0);
    for t in 0..steps - 1 {
        if t > 0 {
            w = w * row(&conts, t);
        }
        weights.push(w.clone());
    }
    (Tensor::cat(returns, 0), Tensor::cat(weights, 0))
}

/// The `q`-quantile (in `[0, 1]`) of `values`, linearly interpolated (numpy's default).
pub fn quantile(values: &mut [f32], q: f32) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f32::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (values.len() - 1) as f32;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    values[lo] + (values[hi] - values[lo]) * (pos - lo as f32)
}

/// The moving 5th and 95th percentiles of the returns; the advantages are divided by
/// `max(floor, hi - lo)` (DreamerV3's `retnorm`: EMAs from 0, no bias correction).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReturnScale {
    /// Moving 5th percentile.
    pub lo: f32,
    /// Moving 95th percentile.
    pub hi: f32,
}

impl ReturnScale {
    /// Updates with a batch of returns and gives the scale to divide advantages by.
    pub fn update(&mut self, returns: &mut [f32], decay: f32, floor: f32) -> f32 {
        let lo = quantile(returns, 0.05);
        let hi = quantile(returns, 0.95);
        self.lo = decay * self.lo + (1.0 - decay) * lo;
        self.hi = decay * self.hi + (1.0 - decay) * hi;
        (self.hi - self.lo).max(floor)
    }
}

/// What one actor-critic update did.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BehaviorStats {
    /// The actor's loss.
    pub actor_loss: f32,
    /// The critic's loss.
    pub critic_loss: f32,
    /// Mean entropy of the policy over the imagined states, nats.
    pub entropy: f32,
    /// Mean lambda-return of the imagined trajectories' starts.
    pub imagined_return: f32,
    /// Mean value the critic gives the starts.
    pub value: f32,
    /// The return scale the advantages were divided by.
    pub return_scale: f32,
}

/// The actor's and critic's losses on imagined trajectories, for backward, and the stats.
pub struct BehaviorLoss {
    /// Actor loss, `[1]`.
    pub actor: Tensor<1>,
    /// Critic loss, `[1]`.
    pub critic: Tensor<1>,
    /// Figures read back (one sync).
    pub stats: BehaviorStats,
}

/// The losses of `behavior` (autodiff) on `imagined` (inference tensors, moved to the
/// autodiff device without gradients), with `scale` updated.
pub fn behavior_loss(
    behavior: &Behavior,
    cfg: &AgentConfig,
    imagined: &Imagined,
    scale: &mut ReturnScale,
) -> BehaviorLoss {
    let [steps, n] = imagined.rewards.dims();
    let h = steps - 1;
    let lift = |t: Tensor<2>| Tensor::<2>::from_inner(t);
    let features = lift(imagined.features.clone());
    let actions = lift(imagined.actions.clone());
    let rewards = lift(imagined.rewards.clone());
    let conts = lift(imagined.conts.clone());
    let [_, feat] = features.dims();

    // Values of every state: with gradients for the critic loss, detached for the returns.
    let critic_logits = behavior.critic.forward(features.clone());
    let values = two_hot_mean(critic_logits.clone()).reshape([steps, n]);
    let (returns, weights) = lambda_returns(
        rewards,
        conts,
        values.clone().detach(),
        cfg.gamma,
        cfg.lambda,
    );
    let returns_flat = returns.clone().reshape([h * n]);
    let weights_flat = weights.clone().reshape([h * n]);
    let mut host: Vec<f32> = returns_flat
        .clone()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default();
    let return_scale = scale.update(&mut host, cfg.return_decay, cfg.return_floor);

    // Actor: REINFORCE with the scaled advantage, plus the entropy bonus.
    let first = features.clone().slice([0..h * n, 0..feat]);
    let probs = behavior.policy(first.clone(), cfg.unimix);
    let log_probs = probs.clone().log();
    let log_pa = (log_probs.clone() * actions).sum_dim(1).reshape([h * n]);
    let entropy = (probs * log_probs).sum_dim(1).reshape([h * n]).neg();
    let base = values.clone().detach().slice([0..h, 0..n]).reshape([h * n]);
    let advantage = (returns_flat.clone() - base).div_scalar(return_scale);
    let actor = ((log_pa * advantage + entropy.clone().mul_scalar(cfg.entropy))
        * weights_flat.clone())
    .neg()
    .mean();

    // Critic: towards the returns and towards the slow critic's values.
    let logits = critic_logits.slice([0..h * n, 0..REWARD_BINS]);
    let slow = two_hot_mean(behavior.slow_critic.forward(first)).detach();
    let critic = ((two_hot_loss(logits.clone(), returns_flat)
        + two_hot_loss(logits, slow).mul_scalar(cfg.slow_reg))
        * weights_flat)
        .mean();

    let read = |t: Tensor<1>| {
        t.into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap_or_default()
    };
    let figures = read(Tensor::cat(
        vec![
            actor.clone().detach(),
            critic.clone().detach(),
            entropy.detach().mean(),
            returns.slice([0..1, 0..n]).mean(),
            values.detach().slice([0..1, 0..n]).mean(),
        ],
        0,
    ));
    let g = |i: usize| figures.get(i).copied().unwrap_or(f32::NAN);
    BehaviorLoss {
        actor,
        critic,
        stats: BehaviorStats {
            actor_loss: g(0),
            critic_loss: g(1),
            entropy: g(2),
            imagined_return: g(3),
            value: g(4),
            return_scale,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t2(rows: &[&[f32]]) -> Tensor<2> {
        let n = rows[0].len();
        let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_data(TensorData::new(flat, [rows.len(), n]), &Device::flex())
    }

    fn read(t: Tensor<2>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    /// A hand-computed case: three states, the reward of arriving at s_1 and s_2, a
    /// terminal at s_2 (continue 0), so nothing after it counts.
    #[test]
    fn lambda_returns_match_a_hand_computed_case() {
        let (gamma, lambda) = (0.9, 0.5);
        let rewards = t2(&[&[0.0], &[1.0], &[2.0]]);
        let conts = t2(&[&[1.0], &[1.0], &[0.0]]);
        let values = t2(&[&[0.5], &[3.0], &[10.0]]);
        let (returns, weights) = lambda_returns(rewards, conts, values, gamma, lambda);
        // R_1 = r_2 + gamma c_2 (...) = 2 (the terminal cuts the bootstrap of V(s_2) = 10).
        // R_0 = r_1 + gamma c_1 ((1 - lambda) V(s_1) + lambda R_1) = 1 + 0.9 (1.5 + 1) = 3.25.
        let r = read(returns);
        assert!(
            (r[0] - 3.25).abs() < 1e-6 && (r[1] - 2.0).abs() < 1e-6,
            "{r:?}"
        );
        // Weights: c_0 = 1, then c_0 c_1 = 1.
        assert_eq!(read(weights), vec![1.0, 1.0]);

        // A continue of 0 at the start (a terminal start state) weighs its whole trajectory 0.
        let conts = t2(&[&[0.0], &[1.0], &[1.0]]);
        let (_, w) = lambda_returns(
            t2(&[&[0.0], &[0.0], &[0.0]]),
            conts,
            t2(&[&[0.0], &[0.0], &[0.0]]),
            gamma,
            lambda,
        );
        assert_eq!(read(w), vec![0.0, 0.0]);
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0, 5.0];
        assert_eq!(quantile(&mut v, 0.5), 3.0);
        assert!((quantile(&mut v, 0.05) - 1.2).abs() < 1e-6);
        assert!((quantile(&mut v, 0.95) - 4.8).abs() < 1e-6);
        let mut scale = ReturnScale::default();
        // EMAs from 0 with decay 0.99: the range starts tiny, so the floor holds.
        assert_eq!(scale.update(&mut v, 0.99, 1.0), 1.0);
        assert!((scale.hi - 0.048).abs() < 1e-6);
    }

    #[test]
    fn sampled_actions_follow_the_probabilities() {
        let device = Device::flex();
        device.seed(1);
        let probs = t2(&[&[0.1, 0.0, 0.9]]).repeat_dim(0, 4000);
        let counts = read(sample_one_hot(probs).sum_dim(0));
        assert_eq!(counts.iter().sum::<f32>(), 4000.0, "one action per row");
        assert_eq!(counts[1], 0.0, "an impossible action is never drawn");
        assert!((counts[0] / 4000.0 - 0.1).abs() < 0.03, "{counts:?}");
    }
}

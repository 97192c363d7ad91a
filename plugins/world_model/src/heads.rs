//! What the model predicts besides pixels: the reward of a state and whether its episode
//! goes on, DreamerV3's reward and continue heads on the RSSM's features.
//!
//! Rewards are learned as a classification over [`REWARD_BINS`] bins spaced evenly in symlog
//! space (`symlog(x) = sign(x) ln(1 + |x|)`), with two-hot targets: a reward between two bins
//! puts its weight on both, in proportion to how near it is, so the expected bin is the
//! reward again. One loss then serves rewards of any scale, a +1 event as well as a -0.01
//! step penalty, and the output layer starts at zero so a fresh head predicts exactly 0.

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, log_softmax, sigmoid, softmax};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::config::WorldModelConfig;
use crate::kernels::{linear, silu};

pub use crate::config::REWARD_BINS;

/// The symlog value of the lowest and highest bin: rewards up to `±(e^20 - 1)` are inside.
pub const SYMLOG_LIMIT: f32 = 20.0;

/// `sign(x) ln(1 + |x|)`: squashes large magnitudes, near the identity around 0.
pub fn symlog(x: f32) -> f32 {
    x.signum() * x.abs().ln_1p()
}

/// The inverse of [`symlog`]: `sign(x) (e^|x| - 1)`.
pub fn symexp(x: f32) -> f32 {
    x.signum() * x.abs().exp_m1()
}

/// The symlog value of bin `i`.
pub fn bin_value(i: usize) -> f32 {
    -SYMLOG_LIMIT + 2.0 * SYMLOG_LIMIT * i as f32 / (REWARD_BINS - 1) as f32
}

/// The two-hot encoding of `reward`: weights on the two bins around `symlog(reward)` that sum
/// to 1 and whose weighted bin value is `symlog(reward)` (clamped to the outer bins).
pub fn two_hot(reward: f32) -> [(usize, f32); 2] {
    let x = symlog(reward).clamp(-SYMLOG_LIMIT, SYMLOG_LIMIT);
    let pos = (x + SYMLOG_LIMIT) / (2.0 * SYMLOG_LIMIT) * (REWARD_BINS - 1) as f32;
    let below = (pos.floor() as usize).min(REWARD_BINS - 2);
    let above_weight = (pos - below as f32).clamp(0.0, 1.0);
    [(below, 1.0 - above_weight), (below + 1, above_weight)]
}

/// The reward a distribution over the bins stands for: `symexp` of its expected bin value.
pub fn decode_reward(probs: &[f32]) -> f32 {
    symexp(
        probs
            .iter()
            .enumerate()
            .map(|(i, p)| p * bin_value(i))
            .sum(),
    )
}

/// The reward and continue heads.
#[derive(Module, Debug)]
pub struct Heads {
    reward_hidden: Linear,
    /// Zero-initialised: a fresh head predicts a reward of exactly 0.
    reward_out: Linear,
    cont_hidden: Linear,
    cont_out: Linear,
}

/// What the heads say of one state.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outlook {
    /// The predicted reward of arriving in the state.
    pub reward: f32,
    /// The predicted probability that the episode goes on after it (not terminal).
    pub cont: f32,
}

impl Heads {
    /// Fresh heads for `cfg`'s features. Their weights are drawn from `cfg.seed`, not from
    /// the device's random stream, so adding the heads left the networks' initialisation and
    /// the training draws of every existing run as they were.
    pub fn new(cfg: &WorldModelConfig, device: &Device) -> Self {
        let features = cfg.feature_size();
        let mut rng = StdRng::seed_from_u64(cfg.seed ^ 0x4ead5);
        // He-uniform for the layers followed by SiLU (as `hidden_linear`), PyTorch's default
        // for the continue logit; the reward's output starts at zero.
        let he = |fan_in: usize| (6.0 / fan_in as f32).sqrt();
        Self {
            reward_hidden: seeded_linear(features, cfg.hidden, he(features), &mut rng, device),
            reward_out: seeded_linear(cfg.hidden, REWARD_BINS, 0.0, &mut rng, device),
            cont_hidden: seeded_linear(features, cfg.hidden, he(features), &mut rng, device),
            cont_out: seeded_linear(
                cfg.hidden,
                1,
                1.0 / (cfg.hidden as f32).sqrt(),
                &mut rng,
                device,
            ),
        }
    }

    /// Reward logits over the bins, `[n, REWARD_BINS]`, from features `[n, feature_size]`.
    pub fn reward_logits(&self, features: Tensor<2>) -> Tensor<2> {
        linear(
            &self.reward_out,
            silu(linear(&self.reward_hidden, features)),
        )
    }

    /// Continue logits, `[n, 1]` (sigmoid: the probability the episode goes on).
    pub fn cont_logits(&self, features: Tensor<2>) -> Tensor<2> {
        linear(&self.cont_out, silu(linear(&self.cont_hidden, features)))
    }

    /// The expected reward and continue probability of each row of `features`, as tensors
    /// (`[n]` each), with no readback.
    pub fn predict(&self, features: Tensor<2>) -> (Tensor<1>, Tensor<1>) {
        let [n, _] = features.dims();
        let reward = two_hot_mean(self.reward_logits(features.clone()));
        let cont = sigmoid(self.cont_logits(features)).reshape([n]);
        (reward, cont)
    }

    /// [`predict`](Self::predict) read back: one [`Outlook`] per row.
    pub fn outlook(&self, features: Tensor<2>) -> Vec<Outlook> {
        let (reward, cont) = self.predict(features);
        let read = |t: Tensor<1>| {
            t.into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap_or_default()
        };
        read(reward)
            .into_iter()
            .zip(read(cont))
            .map(|(reward, cont)| Outlook { reward, cont })
            .collect()
    }

    /// The two losses, each averaged over rows, `[1]`: the cross-entropy of the reward logits
    /// with the two-hot targets of `reward` (`[n]`), and the binary cross-entropy of the
    /// continue logits with `cont` (`[n]`, 1 where the episode goes on).
    pub fn loss(
        &self,
        features: Tensor<2>,
        reward: Tensor<1>,
        cont: Tensor<1>,
    ) -> (Tensor<1>, Tensor<1>) {
        let [n, _] = features.dims();
        let reward_loss = two_hot_loss(self.reward_logits(features.clone()), reward).mean();
        let logit = self.cont_logits(features).reshape([n]);
        // -[c log σ(l) + (1 - c) log σ(-l)]
        let cont_loss = (cont.clone() * log_sigmoid(logit.clone())
            + cont.neg().add_scalar(1.0) * log_sigmoid(logit.neg()))
        .neg()
        .mean();
        (reward_loss, cont_loss)
    }
}

/// The value a distribution over the bins stands for, per row of `logits`
/// (`[n, REWARD_BINS]` -> `[n]`): `symexp` of the expected bin, on the device.
pub(crate) fn two_hot_mean(logits: Tensor<2>) -> Tensor<1> {
    let [n, _] = logits.dims();
    let device = logits.device();
    let probs = softmax(logits, 1);
    let bins: Vec<f32> = (0..REWARD_BINS).map(bin_value).collect();
    let bins = Tensor::<1>::from_data(TensorData::new(bins, [REWARD_BINS]), &device)
        .reshape([1, REWARD_BINS]);
    let x = (probs * bins).sum_dim(1).reshape([n]);
    // symexp, elementwise: sign(x) (e^|x| - 1).
    x.clone().sign() * x.abs().exp().sub_scalar(1.0)
}

/// Cross-entropy of `logits` (`[n, REWARD_BINS]`) with the two-hot targets of `values`
/// (`[n]`), per row, `[n]`.
pub(crate) fn two_hot_loss(logits: Tensor<2>, values: Tensor<1>) -> Tensor<1> {
    let [n, _] = logits.dims();
    let targets = two_hot_tensor(values, &logits.device());
    (targets * log_softmax(logits, 1))
        .sum_dim(1)
        .reshape([n])
        .neg()
}

/// A linear layer with weights uniform in `[-bound, bound]` from `rng` and zero biases.
pub(crate) fn seeded_linear(
    input: usize,
    output: usize,
    bound: f32,
    rng: &mut StdRng,
    device: &Device,
) -> Linear {
    let weights: Vec<f32> = (0..input * output)
        .map(|_| rng.random_range(-1.0f32..=1.0) * bound)
        .collect();
    Linear {
        weight: Param::from_tensor(Tensor::from_data(
            TensorData::new(weights, [input, output]),
            device,
        )),
        bias: Some(Param::from_tensor(Tensor::zeros([output], device))),
    }
}

/// Two-hot targets of rewards `[n]` as a `[n, REWARD_BINS]` tensor, on the device (the
/// same weights as [`two_hot`]; a GPU step reads nothing back for them).
fn two_hot_tensor(reward: Tensor<1>, device: &Device) -> Tensor<2> {
    let [n] = reward.dims();
    let x = (reward.clone().sign() * reward.abs().log1p()).clamp(-SYMLOG_LIMIT, SYMLOG_LIMIT);
    let pos = (x.add_scalar(SYMLOG_LIMIT))
        .div_scalar(2.0 * SYMLOG_LIMIT)
        .mul_scalar((REWARD_BINS - 1) as f32)
        .reshape([n, 1]);
    let below = pos.clone().floor().clamp_max((REWARD_BINS - 2) as f32);
    let above_weight = (pos - below.clone()).clamp(0.0, 1.0);
    let bins = Tensor::<1, Int>::arange(0..REWARD_BINS as i64, device)
        .float()
        .reshape([1, REWARD_BINS])
        .repeat_dim(0, n);
    let wide = |t: Tensor<2>| t.repeat_dim(1, REWARD_BINS);
    let on_below = bins.clone().equal(wide(below.clone())).float();
    let on_above = bins.equal(wide(below.add_scalar(1.0))).float();
    on_below * wide(above_weight.clone().neg().add_scalar(1.0)) + on_above * wide(above_weight)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probs(reward: f32) -> Vec<f32> {
        let mut p = vec![0.0; REWARD_BINS];
        for (bin, w) in two_hot(reward) {
            p[bin] += w;
        }
        p
    }

    /// Inside the bins, encoding then decoding gives the reward back (to f32 rounding of
    /// the symlog round trip), and the weights always sum to one.
    #[test]
    fn two_hot_round_trips_inside_the_bins() {
        for r in [
            0.0, 1.0, -1.0, 0.5, -0.01, 0.013, 3.7, -42.0, 1e3, -2.5e5, 1e7,
        ] {
            let p = probs(r);
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6, "{r}");
            // In symlog space the expected bin is the encoded value, to f32 rounding.
            let expected: f32 = p.iter().enumerate().map(|(i, w)| w * bin_value(i)).sum();
            assert!(
                (expected - symlog(r)).abs() < 2e-5,
                "{r}: {expected} vs {}",
                symlog(r)
            );
            let back = decode_reward(&p);
            assert!(
                (back - r).abs() <= 1e-4 * r.abs().max(1.0),
                "{r} came back as {back}"
            );
        }
        // Exactly on a bin, all weight is on it.
        assert_eq!(two_hot(0.0)[0].1 + two_hot(0.0)[1].1, 1.0);
        assert_eq!(decode_reward(&probs(0.0)), 0.0);
        // Beyond the outer bins, the reward is clamped to them.
        assert_eq!(decode_reward(&probs(f32::MAX)), symexp(SYMLOG_LIMIT));
        assert!((symexp(symlog(-7.25)) + 7.25).abs() < 1e-5);
    }

    #[test]
    fn the_device_two_hot_is_the_two_hot() {
        let device = Device::flex();
        let rewards = vec![0.0, 1.0, -1.0, 0.37, -0.01, 1e4, f32::MAX];
        let t = Tensor::<1>::from_data(TensorData::new(rewards.clone(), [rewards.len()]), &device);
        let got = two_hot_tensor(t, &device)
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap();
        for (row, r) in rewards.iter().enumerate() {
            let want = probs(*r);
            for bin in 0..REWARD_BINS {
                let g = got[row * REWARD_BINS + bin];
                assert!(
                    (g - want[bin]).abs() < 1e-5,
                    "{r} bin {bin}: {g} vs {}",
                    want[bin]
                );
            }
        }
    }

    #[test]
    fn fresh_heads_predict_zero_reward_and_a_fair_continue() {
        let cfg = WorldModelConfig {
            deter: 8,
            stoch: 2,
            classes: 3,
            hidden: 8,
            ..WorldModelConfig::plain()
        };
        let device = Device::flex();
        let heads = Heads::new(&cfg, &device);
        let features = Tensor::<2>::ones([3, cfg.feature_size()], &device);
        for o in heads.outlook(features.clone()) {
            assert_eq!(o.reward, 0.0);
            assert!(o.cont > 0.0 && o.cont < 1.0);
        }
        // The tensor loss agrees with the two-hot cross-entropy computed here: a uniform
        // distribution over the bins costs ln(bins) whatever the reward.
        let reward = Tensor::<1>::from_data(TensorData::new(vec![0.0, 1.0, -0.3], [3]), &device);
        let cont = Tensor::<1>::ones([3], &device);
        let (r, _) = heads.loss(features, reward, cont);
        let r = r.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()[0];
        assert!((r - (REWARD_BINS as f32).ln()).abs() < 1e-4, "{r}");
    }
}

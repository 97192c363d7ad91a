//! The recurrent state-space model: deterministic GRU state `h` and categorical stochastic
//! state `z`, with a prior `p(z | h)` and a posterior `q(z | h, embed)` (DreamerV2/V3).

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::{log_softmax, softmax};

use crate::kernels::{linear, silu};

use crate::config::WorldModelConfig;
use crate::networks::{GruCell, hidden_linear};

/// One model state: what the decoder reads and what the next step starts from.
#[derive(Clone, Debug)]
pub struct Latent {
    /// Deterministic state, `[n, deter]`.
    pub h: Tensor<2>,
    /// Stochastic state, one-hot per variable and flattened, `[n, stoch * classes]`.
    pub z: Tensor<2>,
    /// For a residual model ([`WorldModelConfig::residual`]): the frame at this state, real
    /// for a filtered state and imagined for an imagined one, `[n, 3, height, width]`; the
    /// next state's frame is decoded as a change to it. `None` otherwise.
    pub frame: Option<Tensor<4>>,
}

impl Latent {
    /// The all-zero state a new episode starts from.
    pub fn zeros(cfg: &WorldModelConfig, n: usize, device: &Device) -> Self {
        Self {
            h: Tensor::zeros([n, cfg.deter], device),
            z: Tensor::zeros([n, cfg.stoch_size()], device),
            frame: None,
        }
    }

    /// `h` and `z` side by side, the decoder's input, `[n, deter + stoch * classes]`.
    pub fn features(&self) -> Tensor<2> {
        Tensor::cat(vec![self.h.clone(), self.z.clone()], 1)
    }

    /// `h` and `z` read back to the CPU, for dashboards (one device sync each).
    pub fn values(&self) -> (Vec<f32>, Vec<f32>) {
        let read = |t: &Tensor<2>| {
            t.clone()
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap_or_default()
        };
        (read(&self.h), read(&self.z))
    }

    /// Multiplies both parts by `keep` (`[n, 1]`, 1 keeps, 0 resets to the start state).
    pub fn mask(self, keep: Tensor<2>) -> Self {
        Self {
            h: self.h * keep.clone(),
            z: self.z * keep,
            frame: self.frame,
        }
    }
}

/// How a categorical state is drawn from its distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Draw {
    /// A random sample with straight-through gradients (training).
    Sample,
    /// The most likely class of every variable (deterministic predictions).
    Mode,
}

/// The RSSM networks.
#[derive(Module, Debug)]
pub struct Rssm {
    img_in: Linear,
    gru: GruCell,
    prior_hidden: Linear,
    prior_out: Linear,
    post_hidden: Linear,
    post_out: Linear,
    stoch: usize,
    classes: usize,
    unimix: f32,
}

impl Rssm {
    /// Builds the RSSM for `cfg`, reading encoder embeddings of size `embed`.
    pub fn new(cfg: &WorldModelConfig, embed: usize, device: &Device) -> Self {
        let lin = |i, o| LinearConfig::new(i, o).init(device);
        Self {
            img_in: hidden_linear(cfg.stoch_size() + cfg.action_dim, cfg.hidden, device),
            gru: GruCell::new(cfg.hidden, cfg.deter, device),
            prior_hidden: hidden_linear(cfg.deter, cfg.hidden, device),
            prior_out: lin(cfg.hidden, cfg.stoch_size()),
            post_hidden: hidden_linear(cfg.deter + embed, cfg.hidden, device),
            post_out: lin(cfg.hidden, cfg.stoch_size()),
            stoch: cfg.stoch,
            classes: cfg.classes,
            unimix: cfg.unimix,
        }
    }

    /// The deterministic transition `h_{t+1} = GRU(h_t, [z_t, a_t])`.
    ///
    /// # Shapes
    /// - `prev.h`: `[n, deter]`, `prev.z`: `[n, stoch * classes]`, `action`: `[n, action_dim]`
    /// - returns `[n, deter]`
    pub fn transition(&self, prev: &Latent, action: Tensor<2>) -> Tensor<2> {
        let x = silu(linear(
            &self.img_in,
            Tensor::cat(vec![prev.z.clone(), action], 1),
        ));
        self.gru.forward(x, prev.h.clone())
    }

    /// Log-probabilities of the prior `p(z | h)`, unimix applied, `[n, stoch, classes]`.
    pub fn prior_logp(&self, h: Tensor<2>) -> Tensor<3> {
        let logits = linear(&self.prior_out, silu(linear(&self.prior_hidden, h)));
        self.mixed_logp(logits)
    }

    /// Log-probabilities of the posterior `q(z | h, embed)`, unimix applied, `[n, stoch, classes]`.
    pub fn post_logp(&self, h: Tensor<2>, embed: Tensor<2>) -> Tensor<3> {
        let x = Tensor::cat(vec![h, embed], 1);
        let logits = linear(&self.post_out, silu(linear(&self.post_hidden, x)));
        self.mixed_logp(logits)
    }

    fn mixed_logp(&self, logits: Tensor<2>) -> Tensor<3> {
        let [n, _] = logits.dims();
        let logits = logits.reshape([n, self.stoch, self.classes]);
        if self.unimix <= 0.0 {
            return log_softmax(logits, 2);
        }
        let probs = softmax(logits, 2)
            .mul_scalar(1.0 - self.unimix)
            .add_scalar(self.unimix / self.classes as f32);
        probs.log()
    }

    /// Draws `z` from log-probabilities, flattened to `[n, stoch * classes]`.
    ///
    /// `Draw::Sample` uses the Gumbel-max trick and straight-through gradients
    /// (`one_hot + p - sg(p)`), so the sample is discrete and the gradient is the softmax's.
    pub fn draw(&self, logp: Tensor<3>, draw: Draw) -> Tensor<2> {
        let [n, s, c] = logp.dims();
        let scores = match draw {
            Draw::Mode => logp.clone().detach(),
            Draw::Sample => {
                let u = Tensor::<3>::random(
                    [n, s, c],
                    Distribution::Uniform(1e-6, 1.0 - 1e-6),
                    &logp.device(),
                );
                let gumbel = u.log().neg().log().neg();
                logp.clone().detach() + gumbel
            }
        };
        let best = scores.clone().max_dim(2); // [n, s, 1]
        let one_hot = scores.greater_equal(best.expand([n, s, c])).float();
        let probs = logp.exp();
        let st = one_hot + probs.clone() - probs.detach();
        st.reshape([n, s * c])
    }

    /// Size of the deterministic state.
    pub fn deter(&self) -> usize {
        self.gru.size()
    }
}

/// `KL(p || q)` of two categorical distributions given as log-probabilities, summed over
/// variables and classes: `[n, stoch, classes]` -> `[n]`.
pub fn categorical_kl(logp: Tensor<3>, logq: Tensor<3>) -> Tensor<1> {
    let [n, _, _] = logp.dims();
    (logp.clone().exp() * (logp - logq))
        .reshape([n as i64, -1])
        .sum_dim(1)
        .reshape([n])
}

/// Mean entropy in nats of categorical log-probabilities `[n, stoch, classes]`, summed over
/// variables: a collapsed latent has entropy near 0, an unused one near `stoch * ln(classes)`.
pub fn categorical_entropy(logp: Tensor<3>) -> Tensor<1> {
    let [n, _, _] = logp.dims();
    (logp.clone().exp() * logp)
        .reshape([n as i64, -1])
        .sum_dim(1)
        .neg()
        .mean()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> WorldModelConfig {
        WorldModelConfig {
            deter: 8,
            stoch: 4,
            classes: 5,
            hidden: 8,
            ..WorldModelConfig::plain()
        }
    }

    #[test]
    fn kl_of_identical_distributions_is_zero_and_positive_otherwise() {
        let device = Device::flex();
        let p = log_softmax(
            Tensor::<3>::random([3, 4, 5], Distribution::Normal(0.0, 1.0), &device),
            2,
        );
        let q = log_softmax(
            Tensor::<3>::random([3, 4, 5], Distribution::Normal(0.0, 1.0), &device),
            2,
        );
        let same: Vec<f32> = categorical_kl(p.clone(), p.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert!(same.iter().all(|v| v.abs() < 1e-5), "{same:?}");
        let diff: Vec<f32> = categorical_kl(p, q)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert!(diff.iter().all(|v| *v > 0.0), "{diff:?}");
    }

    #[test]
    fn kl_matches_hand_computation() {
        // p = [0.5, 0.5], q = [0.25, 0.75]: KL = 0.5 ln 2 + 0.5 ln(2/3).
        let device = Device::flex();
        let p = Tensor::<3>::from_floats([[[0.5f32, 0.5]]], &device).log();
        let q = Tensor::<3>::from_floats([[[0.25f32, 0.75]]], &device).log();
        let kl: f32 = categorical_kl(p, q).into_scalar::<f32>();
        let expected = 0.5 * 2f32.ln() + 0.5 * (2.0f32 / 3.0).ln();
        assert!((kl - expected).abs() < 1e-6, "{kl} vs {expected}");
    }

    #[test]
    fn unimix_bounds_every_probability() {
        let device = Device::flex();
        let cfg = cfg();
        let rssm = Rssm::new(&cfg, 6, &device);
        let h = Tensor::<2>::random([2, 8], Distribution::Normal(0.0, 100.0), &device);
        let p: Vec<f32> = rssm
            .prior_logp(h)
            .exp()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let floor = cfg.unimix / cfg.classes as f32;
        assert!(
            p.iter().all(|v| *v >= floor * 0.999),
            "min {:?}",
            p.iter().cloned().fold(1.0, f32::min)
        );
    }

    #[test]
    fn draws_are_one_hot_per_variable() {
        let device = Device::flex();
        let cfg = cfg();
        let rssm = Rssm::new(&cfg, 6, &device);
        let logp = rssm.prior_logp(Tensor::ones([2, 8], &device));
        for draw in [Draw::Sample, Draw::Mode] {
            let z: Vec<f32> = rssm
                .draw(logp.clone(), draw)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            for var in z.chunks(cfg.classes) {
                let ones = var.iter().filter(|v| (**v - 1.0).abs() < 1e-5).count();
                let zeros = var.iter().filter(|v| v.abs() < 1e-5).count();
                assert_eq!((ones, zeros), (1, cfg.classes - 1), "{draw:?}: {var:?}");
            }
        }
    }
}

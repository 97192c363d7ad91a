//! The network of the Python original, kept exactly as specified: the yardstick for
//! comparing Burn with PyTorch (issue 7). Never tune it; tune the ops it runs on.

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::{self, sigmoid};
use world_model::kernels::{self, FusedAdam};

/// Which implementation of the elementwise ops, the convolutions and Adam the network runs on: Burn's own
/// (the "before" of issue 7) or our fused kernels. The layers and the arithmetic are the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Ops {
    /// Burn's `elu`, `tanh`, convolution modules and `AdamConfig` optimizer.
    Burn,
    /// `world_model::kernels`: fused ELU, tanh and Adam, convolutions with a matmul weight
    /// gradient, linear layers with products straight into fresh buffers.
    Fused,
}

impl Ops {
    pub fn elu<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Ops::Burn => activation::elu(x, 1.0),
            Ops::Fused => kernels::elu(x),
        }
    }

    pub fn tanh<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Ops::Burn => activation::tanh(x),
            Ops::Fused => kernels::tanh(x),
        }
    }

    pub fn conv(self, conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
        match self {
            Ops::Burn => conv.forward(x),
            Ops::Fused => kernels::conv2d(conv, x),
        }
    }

    pub fn linear(self, lin: &Linear, x: Tensor<2>) -> Tensor<2> {
        match self {
            Ops::Burn => lin.forward(x),
            Ops::Fused => kernels::linear(lin, x),
        }
    }

    pub fn deconv(self, deconv: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
        match self {
            Ops::Burn => deconv.forward(x),
            Ops::Fused => kernels::conv_transpose2d(deconv, x),
        }
    }

    /// Adam with PyTorch's defaults, as the original trains.
    pub fn adam(self) -> ModuleOptimizer {
        match self {
            Ops::Burn => AdamConfig::new().with_epsilon(1e-8).init(),
            Ops::Fused => FusedAdam::new(1e-8).init(),
        }
    }
}

/// The network of the Python original, layer for layer.
#[derive(Module, Debug)]
pub struct Reference {
    pub enc: Vec<Conv2d>,
    pub mu: Linear,
    pub logvar: Linear,
    pub gru_x: Linear,
    pub gru_h: Linear,
    pub dec_in: Linear,
    pub dec: Vec<ConvTranspose2d>,
}

pub const REF_H: usize = 48;
pub const REF_W: usize = 64;
pub const REF_BATCH: usize = 16;

impl Reference {
    pub fn new(device: &Device) -> Self {
        let conv = |i, o| {
            Conv2dConfig::new([i, o], [4, 4])
                .with_stride([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        let deconv = |i, o| {
            ConvTranspose2dConfig::new([i, o], [4, 4])
                .with_stride([2, 2])
                .with_padding([1, 1])
                .init(device)
        };
        let flat = 128 * 6 * 8;
        Self {
            enc: vec![conv(3, 32), conv(32, 64), conv(64, 128)],
            mu: LinearConfig::new(flat, 64).init(device),
            logvar: LinearConfig::new(flat, 64).init(device),
            gru_x: LinearConfig::new(64 + 4, 3 * 256).init(device),
            gru_h: LinearConfig::new(256, 3 * 256).init(device),
            dec_in: LinearConfig::new(320, flat).init(device),
            dec: vec![deconv(128, 64), deconv(64, 32), deconv(32, 3)],
        }
    }

    /// PyTorch `GRUCell` semantics.
    pub fn gru(&self, ops: Ops, x: Tensor<2>, h: Tensor<2>) -> Tensor<2> {
        let gx = ops.linear(&self.gru_x, x).chunk(3, 1);
        let gh = ops.linear(&self.gru_h, h.clone()).chunk(3, 1);
        let r = sigmoid(gx[0].clone() + gh[0].clone());
        let z = sigmoid(gx[1].clone() + gh[1].clone());
        let n = ops.tanh(gx[2].clone() + r * gh[2].clone());
        (z.clone().neg().add_scalar(1.0)) * n + z * h
    }

    /// The original's training loss from a zero state: L1 of the prediction against `next`
    /// plus 0.03 x the Gaussian KL per sample.
    pub fn loss(&self, ops: Ops, obs: Tensor<4>, action: Tensor<2>, next: Tensor<4>) -> Tensor<1> {
        let h = Tensor::zeros([REF_BATCH, 256], &obs.device());
        let (pred, mu, logvar, _) = self.forward(ops, obs, action, h);
        let l1 = (pred - next).abs().mean();
        let kl = (logvar.clone().add_scalar(1.0) - mu.square() - logvar.exp())
            .sum()
            .mul_scalar(-0.5 / REF_BATCH as f32);
        l1 + kl.mul_scalar(0.03)
    }

    /// Returns (prediction, mu, logvar, h').
    pub fn forward(
        &self,
        ops: Ops,
        obs: Tensor<4>,
        action: Tensor<2>,
        h: Tensor<2>,
    ) -> (Tensor<4>, Tensor<2>, Tensor<2>, Tensor<2>) {
        let mut x = obs;
        for c in &self.enc {
            x = ops.elu(ops.conv(c, x));
        }
        let x = x.flatten(1, 3);
        let (mu, logvar) = (ops.linear(&self.mu, x.clone()), ops.linear(&self.logvar, x));
        let eps = mu.random_like(Distribution::Normal(0.0, 1.0));
        let z = mu.clone() + eps * logvar.clone().mul_scalar(0.5).exp();
        let h = self.gru(ops, Tensor::cat(vec![z.clone(), action], 1), h);
        let [n, _] = h.dims();
        let mut y = ops
            .linear(&self.dec_in, Tensor::cat(vec![h.clone(), z], 1))
            .reshape([n, 128, 6, 8]);
        for (i, d) in self.dec.iter().enumerate() {
            y = ops.deconv(d, y);
            y = if i + 1 < self.dec.len() {
                ops.elu(y)
            } else {
                ops.tanh(y)
            };
        }
        (y, mu, logvar, h)
    }
}

/// A tensor of uniform noise in [-1, 1]: the bench's stand-in for frames and actions.
pub fn uniform<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Uniform(-1.0, 1.0), device)
}

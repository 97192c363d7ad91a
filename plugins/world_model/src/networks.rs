//! The pixel networks (encoder, decoder) and the GRU cell of the RSSM.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use crate::kernels::{conv_transpose2d, conv2d, linear, shift_mix, silu, softmax, tanh};

use crate::config::{Upsample, WorldModelConfig};

/// Number of stride-2 stages in the encoder and decoder (64 -> 4).
pub const STAGES: usize = 4;

/// A linear layer followed by SiLU, He-initialised (as the convolutions are).
pub fn hidden_linear(input: usize, output: usize, device: &Device) -> Linear {
    LinearConfig::new(input, output)
        .with_initializer(conv_init())
        .init(device)
}

/// He initialisation for layers followed by SiLU. Burn's default (PyTorch's, gain 1/sqrt(3))
/// shrinks the activations' variance about 6x per layer: four stages in, the embedding barely
/// depended on the image and an autoencoder made of these networks stayed at the mean
/// colour. With it the same autoencoder learns the images, and the learning proof gains
/// several times more over copying (figures in `docs/performance.md`).
pub(crate) fn conv_init() -> Initializer {
    Initializer::KaimingUniform {
        gain: std::f64::consts::SQRT_2,
        fan_out_only: false,
    }
}

/// Strided convolutions from an image to a flat embedding.
#[derive(Module, Debug)]
pub struct Encoder {
    convs: Vec<Conv2d>,
}

impl Encoder {
    /// Builds the encoder for `cfg` on `device`.
    pub fn new(cfg: &WorldModelConfig, device: &Device) -> Self {
        let mut convs = Vec::with_capacity(STAGES);
        let mut c_in = 3;
        for stage in 0..STAGES {
            let c_out = cfg.cnn_depth << stage;
            convs.push(
                Conv2dConfig::new([c_in, c_out], [4, 4])
                    .with_stride([2, 2])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .with_initializer(conv_init())
                    .init(device),
            );
            c_in = c_out;
        }
        Self { convs }
    }

    /// Size of the flat embedding for `cfg`.
    pub fn embed_size(cfg: &WorldModelConfig) -> usize {
        (cfg.cnn_depth << (STAGES - 1)) * (cfg.width >> STAGES) * (cfg.height >> STAGES)
    }

    /// # Shapes
    /// - `x`: `[n, 3, height, width]`, pixels in `[-0.5, 0.5]`
    /// - returns `[n, embed_size]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = x;
        for conv in &self.convs {
            x = silu(conv2d(conv, x)); // [n, c, h/2, w/2]
        }
        x.flatten(1, 3)
    }
}

/// One decoder stage that doubles height and width.
#[derive(Module, Debug)]
pub enum UpStage {
    /// See [`Upsample::ConvTranspose`].
    ConvTranspose(ConvTranspose2d),
    /// See [`Upsample::ResizeConv`].
    ResizeConv(Conv2d),
    /// See [`Upsample::PixelShuffle`].
    PixelShuffle(Conv2d),
}

impl UpStage {
    fn new(kind: Upsample, c_in: usize, c_out: usize, device: &Device) -> Self {
        let conv3 = |c: usize| {
            Conv2dConfig::new([c_in, c], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_initializer(conv_init())
                .init(device)
        };
        match kind {
            Upsample::ConvTranspose => Self::ConvTranspose(
                ConvTranspose2dConfig::new([c_in, c_out], [4, 4])
                    .with_stride([2, 2])
                    .with_padding([1, 1])
                    .with_initializer(conv_init())
                    .init(device),
            ),
            Upsample::ResizeConv => Self::ResizeConv(conv3(c_out)),
            Upsample::PixelShuffle => Self::PixelShuffle(conv3(c_out * 4)),
        }
    }

    /// The same stage with every weight and bias zero (its output is zero until trained).
    fn zeroed(self) -> Self {
        // New trainable parameters (`Param::map` would keep the value untracked).
        let zero4 = |p: Param<Tensor<4>>| Param::from_tensor(p.val().zeros_like());
        let zero1 =
            |p: Option<Param<Tensor<1>>>| p.map(|b| Param::from_tensor(b.val().zeros_like()));
        match self {
            Self::ConvTranspose(mut conv) => {
                conv.weight = zero4(conv.weight);
                conv.bias = zero1(conv.bias);
                Self::ConvTranspose(conv)
            }
            Self::ResizeConv(mut conv) => {
                conv.weight = zero4(conv.weight);
                conv.bias = zero1(conv.bias);
                Self::ResizeConv(conv)
            }
            Self::PixelShuffle(mut conv) => {
                conv.weight = zero4(conv.weight);
                conv.bias = zero1(conv.bias);
                Self::PixelShuffle(conv)
            }
        }
    }

    /// # Shapes
    /// `[n, c_in, h, w]` -> `[n, c_out, 2h, 2w]`
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Self::ConvTranspose(conv) => conv_transpose2d(conv, x),
            Self::ResizeConv(conv) => conv2d(conv, upsample_nearest2(x)),
            Self::PixelShuffle(conv) => pixel_shuffle2(conv2d(conv, x)),
        }
    }
}

/// Nearest-neighbour 2x upsampling by broadcasting, which every backend runs as one copy.
pub fn upsample_nearest2(x: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    x.reshape([n, c, h, 1, w, 1])
        .expand([n, c, h, 2, w, 2])
        .reshape([n, c, h * 2, w * 2])
}

/// Sub-pixel rearrangement: `[n, 4c, h, w]` -> `[n, c, 2h, 2w]`.
pub fn pixel_shuffle2(x: Tensor<4>) -> Tensor<4> {
    let [n, c4, h, w] = x.dims();
    let c = c4 / 4;
    x.reshape([n, c, 2, 2, h, w])
        .permute([0, 1, 4, 2, 5, 3])
        .reshape([n, c, h * 2, w * 2])
}

/// From model features `(h, z)` back to an image.
#[derive(Module, Debug)]
pub struct Decoder {
    input: Linear,
    stages: Vec<UpStage>,
    base: [usize; 3],
    /// Warp models: per pixel of the last stage's input, the logits of every move across
    /// and down (see [`WorldModelConfig::warp`]).
    motion: Option<Motion>,
}

impl Decoder {
    /// Builds the decoder for `cfg` on `device`.
    pub fn new(cfg: &WorldModelConfig, device: &Device) -> Self {
        let top = cfg.cnn_depth << (STAGES - 1);
        let base = [top, cfg.height >> STAGES, cfg.width >> STAGES];
        let input = hidden_linear(cfg.feature_size(), base.iter().product(), device);
        let mut stages = Vec::with_capacity(STAGES);
        let mut c_in = top;
        for stage in (0..STAGES).rev() {
            let c_out = if stage == 0 {
                3
            } else {
                cfg.cnn_depth << (stage - 1)
            };
            let up = UpStage::new(cfg.upsample, c_in, c_out, device);
            // A residual model's output is a change to the last frame: starting it at zero
            // starts the model at the copy-last-frame baseline.
            stages.push(if stage == 0 && cfg.residual {
                up.zeroed()
            } else {
                up
            });
            c_in = c_out;
        }
        let motion = cfg.warp.then(|| Motion::new(cfg, device));
        Self {
            input,
            stages,
            base,
            motion,
        }
    }

    /// The decoded frame, or for residual models the decoded change.
    ///
    /// # Shapes
    /// - `features`: `[n, deter + stoch * classes]`
    /// - returns `[n, 3, height, width]`, pixels around `[-0.5, 0.5]` (not clamped)
    pub fn forward(&self, features: Tensor<2>) -> Tensor<4> {
        let (hidden, last) = self.hidden(features);
        last.forward(hidden)
    }

    /// The frame that follows `previous` (residual models): the decoded change added to
    /// `previous`, moved first by the decoded warp when the model has one.
    ///
    /// # Shapes
    /// - `features`: `[n, deter + stoch * classes]`, `previous`: `[n, 3, height, width]`
    /// - returns `[n, 3, height, width]`
    pub fn forward_after(&self, features: Tensor<2>, previous: Tensor<4>) -> Tensor<4> {
        let (hidden, last) = self.hidden(features);
        let change = last.forward(hidden.clone());
        match &self.motion {
            Some(motion) => motion.warp(hidden, previous) + change,
            None => previous + change,
        }
    }

    /// Everything but the last stage: its input `[n, cnn_depth, height/2, width/2]`, and it.
    fn hidden(&self, features: Tensor<2>) -> (Tensor<4>, &UpStage) {
        let [n, _] = features.dims();
        let [c, h, w] = self.base;
        let mut x = linear(&self.input, features).reshape([n, c, h, w]);
        let (last, inner) = self.stages.split_last().expect("decoder has stages");
        for stage in inner {
            x = silu(stage.forward(x));
        }
        (x, last)
    }
}

/// The warp's move logits per pixel block, from the decoder's last hidden features.
#[derive(Module, Debug)]
pub struct Motion {
    /// Logits of the `2 * rx + 1` moves across.
    across: Linear,
    /// Logits of the `2 * ry + 1` moves down.
    down: Linear,
}

impl Motion {
    /// Zero weights, and a bias that favours staying put, so a fresh model starts close to
    /// the copy-last-frame baseline (57% of each pixel stays put with the default radii, the
    /// rest is spread over every move) with every move open to gradients.
    fn new(cfg: &WorldModelConfig, device: &Device) -> Self {
        let layer = |radius: usize| {
            let k = 2 * radius + 1;
            let mut layer = LinearConfig::new(cfg.cnn_depth, k).init(device);
            let mut bias = vec![0.0f32; k];
            bias[radius] = STAY_LOGIT;
            layer.weight = Param::from_tensor(layer.weight.val().zeros_like());
            layer.bias = Some(Param::from_tensor(Tensor::from_data(
                TensorData::new(bias, [k]),
                device,
            )));
            layer
        };
        Self {
            across: layer(cfg.warp_radius[0]),
            down: layer(cfg.warp_radius[1]),
        }
    }

    /// `previous` with every pixel moved across, then down, by the softmax mixture of moves
    /// read from the hidden features at its place (one mixture per 2x2 block).
    fn warp(&self, hidden: Tensor<4>, previous: Tensor<4>) -> Tensor<4> {
        let [n, c, h, w] = hidden.dims();
        let rows = hidden.permute([0, 2, 3, 1]).reshape([n * h * w, c]);
        // A layer of width 2r + 1 scores the moves -r..=r.
        let mix = |img: Tensor<4>, layer: &Linear, vertical: bool| {
            let [_, k] = layer.weight.dims();
            let weights = softmax(linear(layer, rows.clone())).reshape([n, h, w, k]);
            shift_mix(img, weights, k / 2, vertical)
        };
        mix(mix(previous, &self.across, false), &self.down, true)
    }
}

/// Initial logit of the zero move (every other move starts at 0).
const STAY_LOGIT: f32 = 4.0;

/// The GRU variant of Dreamer: one matmul for all gates, update gate biased towards keeping
/// the state (`sigmoid(u - 1)`), which keeps long rollouts stable.
#[derive(Module, Debug)]
pub struct GruCell {
    gates: Linear,
    size: usize,
}

impl GruCell {
    /// A cell reading `input` features with a state of `size`.
    pub fn new(input: usize, size: usize, device: &Device) -> Self {
        Self {
            gates: LinearConfig::new(input + size, 3 * size).init(device),
            size,
        }
    }

    /// # Shapes
    /// - `x`: `[n, input]`, `h`: `[n, size]`
    /// - returns the next state `[n, size]`
    pub fn forward(&self, x: Tensor<2>, h: Tensor<2>) -> Tensor<2> {
        let parts = linear(&self.gates, Tensor::cat(vec![x, h.clone()], 1));
        let mut chunks = parts.chunk(3, 1).into_iter();
        let (reset, cand, update) = (
            chunks.next().expect("3 chunks"),
            chunks.next().expect("3 chunks"),
            chunks.next().expect("3 chunks"),
        );
        let reset = sigmoid(reset);
        let cand = tanh(reset * cand);
        let update = sigmoid(update.sub_scalar(1.0));
        update.clone() * cand + (update.neg().add_scalar(1.0)) * h
    }

    /// Size of the state.
    pub fn size(&self) -> usize {
        self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> WorldModelConfig {
        WorldModelConfig {
            width: 32,
            height: 16,
            cnn_depth: 4,
            deter: 8,
            stoch: 2,
            classes: 3,
            hidden: 8,
            ..WorldModelConfig::plain()
        }
    }

    #[test]
    fn encoder_and_decoder_shapes_round_trip() {
        let device = Device::flex();
        for upsample in [
            Upsample::ConvTranspose,
            Upsample::ResizeConv,
            Upsample::PixelShuffle,
        ] {
            let cfg = WorldModelConfig {
                upsample,
                ..small()
            };
            let enc = Encoder::new(&cfg, &device);
            let dec = Decoder::new(&cfg, &device);
            let x = Tensor::<4>::zeros([2, 3, 16, 32], &device);
            let e = enc.forward(x);
            assert_eq!(e.dims(), [2, Encoder::embed_size(&cfg)]);
            let y = dec.forward(Tensor::zeros([2, cfg.feature_size()], &device));
            assert_eq!(y.dims(), [2, 3, 16, 32], "{upsample:?}");
        }
    }

    #[test]
    fn nearest_upsampling_repeats_pixels() {
        let device = Device::flex();
        let x = Tensor::<4>::from_floats([[[[1.0, 2.0], [3.0, 4.0]]]], &device);
        let y: Vec<f32> = upsample_nearest2(x)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(
            y,
            vec![
                1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 3.0, 3.0, 4.0, 4.0
            ]
        );
    }

    #[test]
    fn gru_keeps_state_shape() {
        let device = Device::flex();
        let gru = GruCell::new(5, 7, &device);
        let h = gru.forward(
            Tensor::ones([3, 5], &device),
            Tensor::zeros([3, 7], &device),
        );
        assert_eq!(h.dims(), [3, 7]);
    }
}

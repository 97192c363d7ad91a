//! Where a training step of the game's network (`WorldModelConfig::default()`) spends its
//! time: the step split into forward, backward and Adam, then each layer's forward and
//! backward alone on the shapes it sees in the step, beside its FLOP count (multiply-adds
//! count two). `docs/performance.md` ("The game's network") is written from this table.

use burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
use burn::nn::{LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use world_model::kernels::{FusedAdam, conv_transpose2d, conv2d, linear, shift_mix, silu, softmax};
use world_model::rssm::{Draw, Latent};
use world_model::{WorldModel, WorldModelConfig};

use crate::profile::{Row, layer, step_phases};
use crate::reference::uniform;
use crate::twin;

/// A row with the FLOPs of its forward pass.
pub struct GameRow {
    pub row: Row,
    pub mflop: f64,
}

fn with(row: Row, mflop: f64) -> GameRow {
    GameRow { row, mflop }
}

/// The breakdown for `cfg` (the game's network): phases, then layers.
pub fn breakdown(
    cfg: &WorldModelConfig,
    device: &Device,
    warmup: usize,
    iters: usize,
) -> Vec<GameRow> {
    let ad = device.clone().autodiff();
    ad.seed(cfg.seed);
    let model = WorldModel::new(cfg, &ad);
    let mut optim = FusedAdam::new(cfg.adam_eps).init();
    let batch = twin::check_batch(cfg, &ad);
    let (phases, model) = step_phases(
        &ad,
        (warmup, iters),
        model,
        |m| m.loss(cfg, &batch).total,
        |m, grads| optim.step(cfg.lr, m, grads),
    );
    let mut rows: Vec<GameRow> = phases.into_iter().map(|r| with(r, f64::NAN)).collect();
    let wi = (warmup, iters);
    let (b, t) = (cfg.batch, cfg.seq_len);
    // Frames the encoder reads, and rows the decoder decodes (reconstructions + predictions).
    let enc_n = b * t;
    let dec_n = (2 * t - 1) * b;
    let mf = |flop: usize| flop as f64 / 1e6;

    // Encoder: four 4x4 stride-2 convolutions with SiLU.
    let (mut c_in, mut side) = (3, cfg.width);
    for stage in 0..4 {
        let c_out = cfg.cnn_depth << stage;
        let conv = Conv2dConfig::new([c_in, c_out], [4, 4])
            .with_stride([2, 2])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&ad);
        let out = side / 2;
        let flop = 2 * enc_n * c_out * out * out * c_in * 16;
        rows.push(with(
            layer(
                &format!(
                    "enc conv{} {c_in}->{c_out} on {side}x{side} (n {enc_n})",
                    stage + 1
                ),
                uniform([enc_n, c_in, side, side], &ad),
                stage > 0,
                wi,
                |x| conv2d(&conv, x),
            ),
            mf(flop),
        ));
        rows.push(with(
            layer(
                &format!("  silu [{enc_n},{c_out},{out},{out}]"),
                uniform([enc_n, c_out, out, out], &ad),
                true,
                wi,
                silu,
            ),
            mf(enc_n * c_out * out * out * 4),
        ));
        (c_in, side) = (c_out, out);
    }
    let embed = c_in * side * side;

    // The RSSM's sequence: per step the transition and the posterior, batch b.
    let stoch = cfg.stoch_size();
    let rssm_flop = t
        * 2
        * b
        * ((stoch + cfg.action_dim) * cfg.hidden
            + (cfg.hidden + cfg.deter) * 3 * cfg.deter
            + (cfg.deter + embed) * cfg.hidden
            + cfg.hidden * stoch);
    let m = &model;
    let embeds = uniform([t, b, embed], &ad);
    rows.push(with(
        layer(
            &format!("rssm: {t} steps of transition + posterior (b {b})"),
            embeds,
            true,
            wi,
            |e| {
                let mut state = Latent::zeros(cfg, b, &ad);
                let mut hs = Vec::with_capacity(t);
                for step in 0..t {
                    let h = m
                        .rssm
                        .transition(&state, Tensor::zeros([b, cfg.action_dim], &ad));
                    let e = e.clone().narrow(0, step, 1).reshape([b, embed]);
                    let z = m.rssm.draw(m.rssm.post_logp(h.clone(), e), Draw::Sample);
                    hs.push(h.clone());
                    state = Latent { h, z, frame: None };
                }
                Tensor::cat(hs, 0)
            },
        ),
        mf(rssm_flop),
    ));
    rows.push(with(
        layer(
            &format!("rssm: prior on {} states", b * t),
            uniform([b * t, cfg.deter], &ad),
            true,
            wi,
            |h| m.rssm.prior_logp(h),
        ),
        mf(2 * b * t * (cfg.deter * cfg.hidden + cfg.hidden * stoch)),
    ));
    let features = cfg.feature_size();
    rows.push(with(
        layer(
            &format!("heads: reward + continue on {dec_n} states"),
            uniform([dec_n, features], &ad),
            false,
            wi,
            |f| {
                let (r, c) =
                    m.heads
                        .loss(f, Tensor::zeros([dec_n], &ad), Tensor::ones([dec_n], &ad));
                (r + c).reshape([1, 1])
            },
        ),
        mf(2 * dec_n
            * (2 * features * cfg.hidden + cfg.hidden * (world_model::heads::REWARD_BINS + 1))),
    ));

    // Decoder: input layer, four 4x4 stride-2 transposed convolutions (SiLU between), and
    // the warp: move logits per 2x2 block, softmax, two shift mixtures.
    let top = cfg.cnn_depth << 3;
    let base = cfg.width >> 4;
    let dec_in = LinearConfig::new(features, top * base * base).init(&ad);
    rows.push(with(
        layer(
            &format!(
                "dec input linear {features}->{} (n {dec_n})",
                top * base * base
            ),
            uniform([dec_n, features], &ad),
            true,
            wi,
            |x| linear(&dec_in, x),
        ),
        mf(2 * dec_n * features * top * base * base),
    ));
    let (mut c_in, mut side) = (top, base);
    for stage in (0..4).rev() {
        let c_out = if stage == 0 {
            3
        } else {
            cfg.cnn_depth << (stage - 1)
        };
        let deconv = ConvTranspose2dConfig::new([c_in, c_out], [4, 4])
            .with_stride([2, 2])
            .with_padding([1, 1])
            .init(&ad);
        let out = side * 2;
        rows.push(with(
            layer(
                &format!("dec deconv {c_in}->{c_out} {side}x{side} -> {out}x{out}"),
                uniform([dec_n, c_in, side, side], &ad),
                true,
                wi,
                |x| conv_transpose2d(&deconv, x),
            ),
            mf(2 * dec_n * c_in * side * side * c_out * 16),
        ));
        if stage > 0 {
            rows.push(with(
                layer(
                    &format!("  silu [{dec_n},{c_out},{out},{out}]"),
                    uniform([dec_n, c_out, out, out], &ad),
                    true,
                    wi,
                    silu,
                ),
                mf(dec_n * c_out * out * out * 4),
            ));
        }
        (c_in, side) = (c_out, out);
    }
    let (hw, blocks) = (cfg.width / 2, dec_n * (cfg.width / 2) * (cfg.height / 2));
    for (i, radius) in cfg.warp_radius.iter().copied().enumerate() {
        let k = 2 * radius + 1;
        let logits = LinearConfig::new(cfg.cnn_depth, k).init(&ad);
        let axis = if i == 0 { "across" } else { "down" };
        rows.push(with(
            layer(
                &format!(
                    "warp {axis}: logits {}->{k} + softmax on {blocks} blocks",
                    cfg.cnn_depth
                ),
                uniform([blocks, cfg.cnn_depth], &ad),
                true,
                wi,
                |x| softmax(linear(&logits, x)),
            ),
            mf(2 * blocks * cfg.cnn_depth * k + 4 * blocks * k),
        ));
        rows.push(with(
            layer(
                &format!("  of which logits {}->{k} alone", cfg.cnn_depth),
                uniform([blocks, cfg.cnn_depth], &ad),
                true,
                wi,
                |x| linear(&logits, x),
            ),
            mf(2 * blocks * cfg.cnn_depth * k),
        ));
        rows.push(with(
            layer(
                &format!("  of which softmax [{blocks},{k}] alone"),
                uniform([blocks, k], &ad),
                true,
                wi,
                softmax,
            ),
            mf(4 * blocks * k),
        ));
        let weights = softmax(uniform([dec_n, hw, hw, k], &ad))
            .detach()
            .require_grad();
        rows.push(with(
            layer(
                &format!(
                    "warp {axis}: shift mixture, {k} moves, [{dec_n},3,{},{}]",
                    cfg.height, cfg.width
                ),
                uniform([dec_n, 3, cfg.height, cfg.width], &ad),
                i == 1,
                wi,
                |img| shift_mix(img, weights.clone(), radius, i == 1),
            ),
            mf(2 * dec_n * 3 * cfg.height * cfg.width * k),
        ));
    }
    rows
}

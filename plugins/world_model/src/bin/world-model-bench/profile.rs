//! Where a training step of the reference network spends its time: the step split into
//! forward, backward and optimizer, and each layer's forward and backward timed alone on
//! the shapes it sees in the step. `docs/performance.md` is written from this table.

use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::sigmoid;

use crate::reference::{Ops, REF_BATCH, REF_H, REF_W, Reference, uniform};
use crate::time_ms;

/// One row of the breakdown: what was timed, forward ms, backward ms.
pub struct Row {
    pub name: String,
    pub forward_ms: f64,
    pub backward_ms: f64,
}

/// Forward alone (no autodiff), `iters` times.
fn forward_only<const D: usize>(
    name: String,
    (warmup, iters): (usize, usize),
    device: &Device,
    f: impl Fn() -> Tensor<D>,
) -> Row {
    Row {
        name,
        forward_ms: time_ms(warmup, iters, || {
            let _ = f();
            device.sync().expect("device syncs");
        }),
        backward_ms: 0.0,
    }
}

/// Forward alone, then forward + backward of `sum(f(x) * g)`; backward is the difference.
pub(crate) fn layer<const D: usize, const E: usize>(
    name: &str,
    input: Tensor<D>,
    grad_input: bool,
    (warmup, iters): (usize, usize),
    f: impl Fn(Tensor<D>) -> Tensor<E>,
) -> Row {
    let device = input.device();
    let input = if grad_input {
        input.require_grad()
    } else {
        input
    };
    let out_shape = f(input.clone()).shape();
    let g = Tensor::<E>::random(out_shape, Distribution::Uniform(-1.0, 1.0), &device);
    let forward_ms = time_ms(warmup, iters, || {
        let _ = f(input.clone());
        device.sync().expect("device syncs");
    });
    let both_ms = time_ms(warmup, iters, || {
        let loss = (f(input.clone()) * g.clone()).sum();
        let _ = loss.backward();
        device.sync().expect("device syncs");
    });
    Row {
        name: name.to_string(),
        forward_ms,
        backward_ms: (both_ms - forward_ms).max(0.0),
    }
}

/// A training step split into its phases, `warmup + iters` times: forward + loss, backward,
/// optimizer update, each synced before the clock is read. Returns the two "whole step" rows
/// (medians) and the trained model.
pub(crate) fn step_phases<M: Module>(
    device: &Device,
    (warmup, iters): (usize, usize),
    mut model: M,
    loss: impl Fn(&M) -> Tensor<1>,
    mut update: impl FnMut(M, GradientsParams) -> M,
) -> ([Row; 2], M) {
    let (mut fwd, mut bwd, mut opt) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..warmup + iters {
        let t = std::time::Instant::now();
        let l = loss(&model);
        device.sync().expect("device syncs");
        let t1 = std::time::Instant::now();
        let grads = GradientsParams::from_grads(l.backward(), &model);
        device.sync().expect("device syncs");
        let t2 = std::time::Instant::now();
        model = update(model, grads);
        device.sync().expect("device syncs");
        let t3 = std::time::Instant::now();
        if i >= warmup {
            fwd.push((t1 - t).as_secs_f64() * 1e3);
            bwd.push((t2 - t1).as_secs_f64() * 1e3);
            opt.push((t3 - t2).as_secs_f64() * 1e3);
        }
    }
    let med = crate::median;
    let rows = [
        Row {
            name: "whole step: forward + loss | backward".into(),
            forward_ms: med(fwd),
            backward_ms: med(bwd),
        },
        Row {
            name: "whole step: Adam update".into(),
            forward_ms: med(opt),
            backward_ms: 0.0,
        },
    ];
    (rows, model)
}

/// The breakdown: the step's phases first, then every layer of the reference network.
pub fn breakdown(device: &Device, ops: Ops, warmup: usize, iters: usize) -> Vec<Row> {
    let ad = device.clone().autodiff();
    let model = Reference::new(&ad);
    let mut optim = ops.adam();
    let obs = uniform([REF_BATCH, 3, REF_H, REF_W], &ad);
    let next = uniform([REF_BATCH, 3, REF_H, REF_W], &ad);
    let act = uniform([REF_BATCH, 4], &ad);
    let (phases, model) = step_phases(
        &ad,
        (warmup, iters),
        model,
        |m| m.loss(ops, obs.clone(), act.clone(), next.clone()),
        |m, grads| optim.step(1e-3, m, grads),
    );
    let mut rows = Vec::from(phases);
    let n = REF_BATCH;
    let wi = (warmup, iters);
    let m = &model;
    rows.push(layer(
        "conv1 3->32 4x4/2 on 48x64",
        uniform([n, 3, REF_H, REF_W], &ad),
        false,
        wi,
        |x| ops.conv(&m.enc[0], x),
    ));
    rows.push(layer(
        "elu [16,32,24,32]",
        uniform([n, 32, 24, 32], &ad),
        true,
        wi,
        |x| ops.elu(x),
    ));
    rows.push(layer(
        "conv2 32->64 on 24x32",
        uniform([n, 32, 24, 32], &ad),
        true,
        wi,
        |x| ops.conv(&m.enc[1], x),
    ));
    rows.push(layer(
        "elu [16,64,12,16]",
        uniform([n, 64, 12, 16], &ad),
        true,
        wi,
        |x| ops.elu(x),
    ));
    rows.push(layer(
        "conv3 64->128 on 12x16",
        uniform([n, 64, 12, 16], &ad),
        true,
        wi,
        |x| ops.conv(&m.enc[2], x),
    ));
    rows.push(layer(
        "elu [16,128,6,8]",
        uniform([n, 128, 6, 8], &ad),
        true,
        wi,
        |x| ops.elu(x),
    ));
    rows.push(layer(
        "mu + logvar linear 6144->64 (x2)",
        uniform([n, 6144], &ad),
        true,
        wi,
        |x| ops.linear(&m.mu, x.clone()) + ops.linear(&m.logvar, x),
    ));
    rows.push(layer(
        "GRU cell 68->256",
        uniform([n, 68], &ad),
        true,
        wi,
        |x| m.gru(ops, x, Tensor::zeros([n, 256], &ad)),
    ));
    rows.push(layer(
        "dec_in linear 320->6144",
        uniform([n, 320], &ad),
        true,
        wi,
        |x| ops.linear(&m.dec_in, x),
    ));
    rows.push(layer(
        "deconv1 128->64 6x8 -> 12x16",
        uniform([n, 128, 6, 8], &ad),
        true,
        wi,
        |x| ops.deconv(&m.dec[0], x),
    ));
    rows.push(layer(
        "elu [16,64,12,16]",
        uniform([n, 64, 12, 16], &ad),
        true,
        wi,
        |x| ops.elu(x),
    ));
    rows.push(layer(
        "deconv2 64->32 -> 24x32",
        uniform([n, 64, 12, 16], &ad),
        true,
        wi,
        |x| ops.deconv(&m.dec[1], x),
    ));
    rows.push(layer(
        "elu [16,32,24,32]",
        uniform([n, 32, 24, 32], &ad),
        true,
        wi,
        |x| ops.elu(x),
    ));
    rows.push(layer(
        "deconv3 32->3 -> 48x64",
        uniform([n, 32, 24, 32], &ad),
        true,
        wi,
        |x| ops.deconv(&m.dec[2], x),
    ));
    rows.push(layer(
        "tanh [16,3,48,64]",
        uniform([n, 3, REF_H, REF_W], &ad),
        true,
        wi,
        |x| ops.tanh(x),
    ));
    rows.push(layer(
        "sigmoid [16,768] (GRU gates)",
        uniform([n, 768], &ad),
        true,
        wi,
        sigmoid,
    ));
    rows.push(layer(
        "L1 loss [16,3,48,64]",
        uniform([n, 3, REF_H, REF_W], &ad),
        true,
        wi,
        |x| (x - next.clone()).abs().mean().reshape([1, 1]),
    ));
    let plain = device.clone();
    let (x, g, w) = (
        uniform([n, 320], &plain),
        uniform([n, 6144], &plain),
        uniform([320, 6144], &plain),
    );
    // Inference of one frame, layer by layer (no autodiff): what `inference` in the bench adds up.
    let m1 = model.valid();
    let one = |name: &str, f: &dyn Fn() -> Tensor<4>| {
        forward_only(
            format!("infer 1 frame: {name}"),
            (warmup, iters * 4),
            &plain,
            f,
        )
    };
    let (i1, i2, i3) = (
        uniform([1, 3, REF_H, REF_W], &plain),
        uniform([1, 32, 24, 32], &plain),
        uniform([1, 64, 12, 16], &plain),
    );
    let (d1, d2, d3) = (
        uniform([1, 128, 6, 8], &plain),
        uniform([1, 64, 12, 16], &plain),
        uniform([1, 32, 24, 32], &plain),
    );
    rows.push(one("conv1 + elu", &|| {
        ops.elu(ops.conv(&m1.enc[0], i1.clone()))
    }));
    rows.push(one("conv2 + elu", &|| {
        ops.elu(ops.conv(&m1.enc[1], i2.clone()))
    }));
    rows.push(one("conv3 + elu", &|| {
        ops.elu(ops.conv(&m1.enc[2], i3.clone()))
    }));
    let (f1, z1) = (uniform([1, 6144], &plain), uniform([1, 320], &plain));
    rows.push(one("mu + logvar", &|| {
        (ops.linear(&m1.mu, f1.clone()) + ops.linear(&m1.logvar, f1.clone())).reshape([1, 1, 8, 8])
    }));
    rows.push(one("dec_in", &|| {
        ops.linear(&m1.dec_in, z1.clone()).reshape([1, 128, 6, 8])
    }));
    rows.push(one("deconv1 + elu", &|| {
        ops.elu(ops.deconv(&m1.dec[0], d1.clone()))
    }));
    rows.push(one("deconv2 + elu", &|| {
        ops.elu(ops.deconv(&m1.dec[1], d2.clone()))
    }));
    rows.push(one("deconv3 + tanh", &|| {
        ops.tanh(ops.deconv(&m1.dec[2], d3.clone()))
    }));
    let op = |name: &str, f: &dyn Fn() -> Tensor<2>| {
        forward_only(name.to_string(), (warmup, iters), &plain, f)
    };
    rows.push(op("  matmul x^T [320,16] @ g [16,6144]", &|| {
        x.clone().transpose().matmul(g.clone())
    }));
    rows.push(op("  matmul g [16,6144] @ W^T [6144,320]", &|| {
        g.clone().matmul(w.clone().transpose())
    }));
    rows.push(op("  matmul x [16,320] @ W [320,6144]", &|| {
        x.clone().matmul(w.clone())
    }));
    rows.push(op("  sum_dim0 g [16,6144]", &|| g.clone().sum_dim(0)));
    let (a, b) = (uniform([3072, 512], &plain), uniform([512, 64], &plain));
    rows.push(op("  matmul [3072,512] @ [512,64] (100M FMA)", &|| {
        a.clone().matmul(b.clone())
    }));
    let bt = uniform([64, 512], &plain);
    rows.push(op("  matmul [3072,512] @ [64,512]^T", &|| {
        a.clone().matmul(bt.clone().transpose())
    }));
    let (c, d) = (uniform([64, 3072], &plain), uniform([3072, 512], &plain));
    rows.push(op("  matmul [64,3072] @ [3072,512]", &|| {
        c.clone().matmul(d.clone())
    }));
    let (e, f) = (uniform([3072, 64], &plain), uniform([3072, 512], &plain));
    rows.push(op("  matmul [3072,64]^T @ [3072,512]", &|| {
        e.clone().transpose().matmul(f.clone())
    }));
    rows.push(op("  matmul [3072,512]^T @ [3072,64]", &|| {
        f.clone().transpose().matmul(e.clone())
    }));
    rows
}

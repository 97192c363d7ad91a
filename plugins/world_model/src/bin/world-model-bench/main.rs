//! Speed of the world model on this machine: training step time and frames trained per
//! second for the plain config ([`WorldModelConfig::plain`]; `--decoders` adds the default
//! warp decoder), single-frame inference latency, and the exact network of
//! the Python original (for a 1:1 comparison with PyTorch). Medians after warm-up.
//!
//! `world-model-bench [--json] [--device auto|flex|wgpu] [--iters N] [--upsample] [--decoders]
//! [--agent] [--profile] [--torch benches/torch_twin.py]`

use std::time::Instant;

mod profile;
mod profile_game;
mod reference;
mod twin;

use burn::optim::GradientsParams;
use burn::prelude::*;
use clap::Parser;
use reference::{Ops, REF_BATCH, REF_H, REF_W, Reference, uniform};
use serde_json::json;
use world_model::{
    DeviceChoice, Learner, Predictor, ReconLoss, StepOutcome, Upsample, WorldModelConfig, synthetic,
};

/// Benchmark training and inference speed.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// auto, flex or wgpu.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// Timed iterations per measurement (after warm-up).
    #[arg(long, default_value_t = 15)]
    iters: usize,
    /// Warm-up iterations, not timed.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Also time a training step with each decoder upsampling kind.
    #[arg(long)]
    upsample: bool,
    /// Also time a training step with the residual decoder and with the warp decoder (both
    /// with the MSE loss, as the game trains them).
    #[arg(long)]
    decoders: bool,
    /// Also time the agent that learns in the dream, on the warp decoder the game trains:
    /// the world-model step alone and with one actor-critic update after it, the imagined
    /// steps per second of that update, and one decision (policy and value) at a state.
    #[arg(long)]
    agent: bool,
    /// Time only the reference network (for profiling it with `perf`).
    #[arg(long)]
    reference_only: bool,
    /// Time only the game's network (`WorldModelConfig::default()`, for profiling it with
    /// `perf`); with `--profile`, its step layer by layer.
    #[arg(long, conflicts_with = "reference_only")]
    game_only: bool,
    /// Print where the reference network's training step spends its time, layer by layer.
    #[arg(long)]
    profile: bool,
    /// Leave glibc's allocator at its defaults (freed buffers go back to the kernel), to
    /// measure what `world_model::allocator::keep_freed_memory` saves.
    #[arg(long)]
    default_malloc: bool,
    /// Elementwise ops and Adam for the reference network: Burn's own or our fused kernels.
    #[arg(long, value_enum, default_value = "fused")]
    ops: Ops,
    /// The PyTorch twin (`benches/torch_twin.py`): check that it computes our loss and
    /// gradients on the game's network, then print its step and inference times beside ours
    /// (the game's network and the reference), timed in the same run.
    #[arg(long, value_name = "SCRIPT")]
    torch: Option<std::path::PathBuf>,
    /// The Python that runs `--torch` (one with torch and numpy installed).
    #[arg(long, default_value = "python3", requires = "torch")]
    python: String,
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Times `f` (which must sync the device itself) in milliseconds.
pub(crate) fn time_ms(warmup: usize, iters: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    median(
        (0..iters.max(1))
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

/// Default-config numbers: train step ms, frames/s, inference ms.
fn bench_default(cfg: &WorldModelConfig, device: &Device, args: &Args) -> (f64, f64, f64) {
    let mut learner = Learner::new(cfg.clone(), device).expect("default config is valid");
    for step in synthetic::record(cfg.width, 4, 128, 7) {
        learner.push(&step).expect("synthetic steps fit");
    }
    let train_ms = time_ms(args.warmup, args.iters, || {
        assert!(matches!(learner.train_step(), StepOutcome::Updated(_)));
    });
    let frames_per_s = (cfg.batch * cfg.seq_len) as f64 / (train_ms / 1e3);
    let mut predictor = Predictor::new(learner.inference_model(), cfg.clone(), device.clone());
    let frames = synthetic::record(cfg.width, 1, 64, 9);
    let mut i = 0;
    let infer_ms = time_ms(args.warmup, args.iters * 2, || {
        let s = &frames[i % frames.len()];
        predictor.observe(&s.frame, &s.action).expect("frame fits");
        predictor.predict_next(&s.action).expect("action fits");
        i += 1;
    });
    (train_ms, frames_per_s, infer_ms)
}

/// The game's five discrete actions in `action_dim` (forward, turn either way, both): only
/// their count and spread matter to the timing.
fn demo_actions(action_dim: usize) -> Vec<Vec<f32>> {
    let unit = |i: usize, v: f32| {
        let mut a = vec![0.0; action_dim];
        a[i.min(action_dim - 1)] = v;
        a
    };
    let last = action_dim - 1;
    let both = |v: f32| {
        let mut a = unit(last, v);
        a[0] = 1.0;
        a
    };
    vec![
        unit(0, 1.0),
        unit(last, 1.0),
        unit(last, -1.0),
        both(1.0),
        both(-1.0),
    ]
}

/// The agent's cost on `cfg`: world-model step ms without an agent, with one, the imagined
/// steps per second of its update, and one decision's ms.
fn bench_agent(cfg: &WorldModelConfig, device: &Device, args: &Args) -> serde_json::Value {
    let (alone_ms, _, _) = bench_default(cfg, device, args);
    let mut with = cfg.clone();
    with.agent.actions = demo_actions(cfg.action_dim);
    let mut learner = Learner::new(with.clone(), device).expect("agent config is valid");
    for step in synthetic::record(with.width, 4, 128, 7) {
        learner.push(&step).expect("synthetic steps fit");
    }
    let step_ms = time_ms(args.warmup, args.iters, || {
        assert!(matches!(learner.train_step(), StepOutcome::Updated(_)));
    });
    let update_ms = (step_ms - alone_ms).max(f64::EPSILON);
    let imagined = (with.batch * with.seq_len * with.agent.horizon) as f64;
    let mut predictor = Predictor::new(learner.inference_model(), with.clone(), device.clone());
    let s = &synthetic::record(with.width, 1, 2, 9)[0];
    let state = predictor.observe(&s.frame, &s.action).expect("frame fits");
    let decide_ms = time_ms(args.warmup, args.iters * 2, || {
        assert!(predictor.decide(&state).is_some());
    });
    json!({
        "actions": with.agent.actions.len(),
        "horizon": with.agent.horizon,
        "world_model_step_ms": alone_ms,
        "step_with_agent_ms": step_ms,
        "agent_update_ms": update_ms,
        "imagined_steps_per_s": imagined / (update_ms / 1e3),
        "decide_ms": decide_ms,
    })
}

/// The original's training step and inference, timed: (train_step_ms, infer_ms).
fn bench_reference(device: &Device, args: &Args) -> (f64, f64) {
    let ad = device.clone().autodiff();
    // Moved into each update (as PyTorch updates in place), so Adam never copies a weight
    // that an old model still shares.
    let mut model = Some(Reference::new(&ad));
    let mut optim = args.ops.adam();
    let obs = uniform([REF_BATCH, 3, REF_H, REF_W], &ad);
    let next = uniform([REF_BATCH, 3, REF_H, REF_W], &ad);
    let act = uniform([REF_BATCH, 4], &ad);
    let train_ms = time_ms(args.warmup, args.iters, || {
        let m = model.take().expect("model is put back after every step");
        let loss = m.loss(args.ops, obs.clone(), act.clone(), next.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &m);
        model = Some(optim.step(1e-3, m, grads));
        let _: f32 = loss.into_scalar::<f32>();
    });
    let infer = model.expect("trained model").valid();
    let obs1 = uniform([1, 3, REF_H, REF_W], device);
    let act1 = Tensor::<2>::zeros([1, 4], device);
    let mut h = Tensor::<2>::zeros([1, 256], device);
    let infer_ms = time_ms(args.warmup, args.iters * 2, || {
        let (pred, _, _, h2) = infer.forward(args.ops, obs1.clone(), act1.clone(), h.clone());
        h = h2;
        let _ = pred.into_data();
    });
    (train_ms, infer_ms)
}

/// Ours and the PyTorch twin in one run: ours, the twin, ours again (the machine's speed
/// drifts; the two medians of ours bracket the twin's), on the game's network and on the
/// reference network. Errors are one line.
fn side_by_side(script: &std::path::Path, device: &Device, args: &Args) -> Result<(), String> {
    let game = WorldModelConfig::default();
    let dir = twin::export_dir();
    twin::export(&dir, &game, device)
        .map_err(|e| format!("cannot write the twin's inputs to {}: {e}", dir.display()))?;
    let ours = |label: &str| {
        eprintln!("timing ours ({label})...");
        let (ref_train, ref_infer) = bench_reference(device, args);
        let (train, _, infer) = bench_default(&game, device, args);
        [train, infer, ref_train, ref_infer]
    };
    let before = ours("before the twin");
    eprintln!("running {} ...", script.display());
    let result = twin::run(&args.python, script, &dir, args.warmup, args.iters);
    let _ = std::fs::remove_dir_all(&dir);
    let theirs = result?;
    let after = ours("after the twin");
    let check = &theirs["check"];
    let pick =
        |v: &serde_json::Value, net: &str, key: &str| v[net][key].as_f64().unwrap_or(f64::NAN);
    let twin = [
        pick(&theirs, "game", "train_step_ms"),
        pick(&theirs, "game", "infer_ms"),
        pick(&theirs, "reference", "train_step_ms"),
        pick(&theirs, "reference", "infer_ms"),
    ];
    let mean: Vec<f64> = before
        .iter()
        .zip(&after)
        .map(|(a, b)| (a + b) / 2.0)
        .collect();
    if args.json {
        let rows: Vec<serde_json::Value> = ["game_train_step_ms", "game_infer_ms", "reference_train_step_ms", "reference_infer_ms"]
            .iter()
            .enumerate()
            .map(|(i, name)| json!({"name": name, "ours_before": before[i], "ours_after": after[i], "torch": twin[i], "ratio": mean[i] / twin[i]}))
            .collect();
        println!("{}", json!({"rows": rows, "twin": theirs}));
        return Ok(());
    }
    println!(
        "PyTorch {} on {} threads ({}); twin computes our loss: {} (worst gradient {} off by {:.1e})",
        theirs["torch"].as_str().unwrap_or("?"),
        theirs["threads"],
        theirs["cpu_capability"].as_str().unwrap_or("?"),
        if check["ok"].as_bool() == Some(true) {
            "yes"
        } else {
            "NO"
        },
        check["worst_gradient"]["param"].as_str().unwrap_or("?"),
        check["worst_gradient"]["relative_error"]
            .as_f64()
            .unwrap_or(f64::NAN),
    );
    println!(
        "{:<44} {:>10} {:>10} {:>10} {:>8}",
        "median ms", "ours", "ours", "PyTorch", "ours /"
    );
    println!(
        "{:<44} {:>10} {:>10} {:>10} {:>8}",
        "", "before", "after", "", "PyTorch"
    );
    let names = [
        format!(
            "game network: train step (batch {} x seq {})",
            game.batch, game.seq_len
        ),
        "game network: inference, one frame".to_string(),
        format!("reference network: train step (batch {REF_BATCH})"),
        "reference network: inference, one frame".to_string(),
    ];
    for (i, name) in names.iter().enumerate() {
        println!(
            "{name:<44} {:>10.2} {:>10.2} {:>10.2} {:>8.2}",
            before[i],
            after[i],
            twin[i],
            mean[i] / twin[i]
        );
    }
    if check["ok"].as_bool() != Some(true) {
        return Err(format!("the twin's loss differs from ours: {check}"));
    }
    Ok(())
}

fn main() {
    let args = Args::parse();
    if !args.default_malloc {
        world_model::allocator::keep_freed_memory();
    }
    let resolved = match args.device.resolve() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let device = resolved.device.clone();
    // The plain decoder: the figures in the README and docs/performance.md were measured on
    // it (the default until the warp decoder won); --decoders adds the game's.
    let cfg = WorldModelConfig::plain();
    if !args.json {
        eprintln!("device: {}", resolved.description);
    }
    if args.profile && args.game_only {
        let game = WorldModelConfig::default();
        println!(
            "{:<58} {:>9} {:>9} {:>9} {:>9}",
            "game network (default config), batch 8 x seq 8",
            "MFLOP",
            "fwd ms",
            "bwd ms",
            "fwd GF/s"
        );
        for r in profile_game::breakdown(&game, &device, args.warmup, args.iters) {
            println!(
                "{:<58} {:>9.1} {:>9.2} {:>9.2} {:>9.1}",
                r.row.name,
                r.mflop,
                r.row.forward_ms,
                r.row.backward_ms,
                r.mflop / r.row.forward_ms
            );
        }
        return;
    }
    if args.profile {
        println!(
            "{:<42} {:>10} {:>10}",
            format!("reference network, batch 16, {:?} ops", args.ops),
            "fwd ms",
            "bwd ms"
        );
        for row in profile::breakdown(&device, args.ops, args.warmup, args.iters) {
            println!(
                "{:<42} {:>10.2} {:>10.2}",
                row.name, row.forward_ms, row.backward_ms
            );
        }
        return;
    }
    if let Some(script) = &args.torch {
        if let Err(e) = side_by_side(script, &device, &args) {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
        return;
    }
    if args.game_only {
        let game = WorldModelConfig::default();
        let (train, fps, infer) = bench_default(&game, &device, &args);
        if args.json {
            let game = json!({"train_step_ms": train, "frames_per_s": fps, "infer_ms": infer});
            println!("{}", json!({ "game": game }));
        } else {
            println!(
                "game network train step {train:.2} ms ({fps:.1} frames/s), inference {infer:.2} ms"
            );
        }
        return;
    }
    let (ref_train, ref_infer) = bench_reference(&device, &args);
    if args.reference_only {
        println!("reference train step {ref_train:.2} ms, inference {ref_infer:.2} ms");
        return;
    }
    let (train_ms, fps, infer_ms) = bench_default(&cfg, &device, &args);
    let mut upsample = serde_json::Map::new();
    if args.upsample {
        for kind in [
            Upsample::ConvTranspose,
            Upsample::ResizeConv,
            Upsample::PixelShuffle,
        ] {
            let c = WorldModelConfig {
                upsample: kind,
                ..cfg.clone()
            };
            let (t, f, i) = bench_default(&c, &device, &args);
            upsample.insert(
                format!("{kind:?}"),
                json!({"train_step_ms": t, "frames_per_s": f, "infer_ms": i}),
            );
        }
    }
    let mut decoders = serde_json::Map::new();
    if args.decoders {
        let residual = WorldModelConfig {
            residual: true,
            recon_loss: ReconLoss::Mse,
            ..cfg.clone()
        };
        let warp = WorldModelConfig {
            warp: true,
            ..residual.clone()
        };
        for (name, c) in [("residual", residual), ("warp", warp)] {
            let (t, f, i) = bench_default(&c, &device, &args);
            decoders.insert(
                name.to_string(),
                json!({"train_step_ms": t, "frames_per_s": f, "infer_ms": i}),
            );
        }
    }
    let agent = args.agent.then(|| {
        let warp = WorldModelConfig {
            residual: true,
            warp: true,
            recon_loss: ReconLoss::Mse,
            ..cfg.clone()
        };
        bench_agent(&warp, &device, &args)
    });
    if args.json {
        let mut out = json!({
            "reference": {"ops": format!("{:?}", args.ops), "train_step_ms": ref_train, "infer_ms": ref_infer},
            "plain": {"train_step_ms": train_ms, "frames_per_s": fps, "infer_ms": infer_ms},
        });
        if args.upsample {
            out["upsample"] = serde_json::Value::Object(upsample);
        }
        if args.decoders {
            out["decoders"] = serde_json::Value::Object(decoders);
        }
        if let Some(agent) = agent {
            out["agent"] = agent;
        }
        println!("{out}");
    } else {
        println!("device                       {}", resolved.description);
        println!(
            "reference (Python original)  train step {ref_train:8.2} ms (batch {REF_BATCH}, {:?} ops), inference {ref_infer:6.2} ms",
            args.ops
        );
        println!(
            "plain config                 train step {train_ms:8.2} ms (batch {} x seq {}), {fps:7.1} frames/s, inference {infer_ms:6.2} ms",
            cfg.batch, cfg.seq_len
        );
        for (k, v) in upsample {
            println!("upsample {k:<20} {v}");
        }
        for (k, v) in decoders {
            println!("decoder {k:<21} {v}");
        }
        if let Some(a) = agent {
            println!(
                "agent (warp decoder)         step {:8.2} ms alone, {:.2} ms with {} actions: update {:.2} ms, {:.0} imagined steps/s (horizon {}), decision {:.2} ms",
                a["world_model_step_ms"].as_f64().unwrap_or(f64::NAN),
                a["step_with_agent_ms"].as_f64().unwrap_or(f64::NAN),
                a["actions"],
                a["agent_update_ms"].as_f64().unwrap_or(f64::NAN),
                a["imagined_steps_per_s"].as_f64().unwrap_or(f64::NAN),
                a["horizon"],
                a["decide_ms"].as_f64().unwrap_or(f64::NAN),
            );
        }
    }
}

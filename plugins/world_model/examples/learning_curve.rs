//! Prints how fast a config learns the synthetic world: every `--every` steps, the loss parts
//! and the held-out one-step PSNR against copy-last-frame.
//!
//! `cargo run -p world_model --example learning_curve -- --size 32 --steps 1000 --config '{"lr": 0.002}'`

use std::time::Instant;

use clap::Parser;
use world_model::{Device, Learner, Predictor, StepOutcome, WorldModelConfig, eval, synthetic};

#[derive(Parser)]
struct Args {
    /// Frame size.
    #[arg(long, default_value_t = 32)]
    size: usize,
    /// Optimizer steps.
    #[arg(long, default_value_t = 1000)]
    steps: usize,
    /// Evaluate every this many steps.
    #[arg(long, default_value_t = 100)]
    every: usize,
    /// JSON config overrides (frame size comes from --size).
    #[arg(long, default_value = "{}")]
    config: String,
    /// Replace actions with shuffled ones (an action-blind baseline).
    #[arg(long)]
    shuffle: bool,
    /// World: tile the colour field with period --feature-scale.
    #[arg(long)]
    periodic: bool,
    /// Training episodes (48 steps each).
    #[arg(long, default_value_t = 24)]
    episodes: usize,
    /// World: pixels moved per step at full input.
    #[arg(long, default_value_t = 6.0)]
    move_speed: f32,
    /// World: radians turned per step at full input.
    #[arg(long, default_value_t = 0.2)]
    turn_speed: f32,
    /// World: wavelength scale of the colour field in pixels.
    #[arg(long, default_value_t = 100.0)]
    feature_scale: f32,
}

fn main() {
    let args = Args::parse();
    let mut cfg = WorldModelConfig::from_json(&args.config).expect("valid config");
    cfg.width = args.size;
    cfg.height = args.size;
    cfg.validate().expect("valid config");
    let world = synthetic::WorldSpec {
        size: args.size,
        move_speed: args.move_speed,
        turn_speed: args.turn_speed,
        feature_scale: args.feature_scale,
        periodic: args.periodic,
    };
    let mut data = synthetic::record_with(world, args.episodes, 48, 1);
    if args.shuffle {
        let n = data.len();
        let actions: Vec<Vec<f32>> = (0..n)
            .map(|i| data[(i * 7919) % n].action.clone())
            .collect();
        for (s, a) in data.iter_mut().zip(actions) {
            s.action = a;
        }
    }
    let held = synthetic::record_with(world, 6, 32, 999);
    let mut learner = Learner::new(cfg.clone(), &Device::flex()).unwrap();
    for s in &data {
        learner.push(s).unwrap();
    }
    let start = Instant::now();
    for i in 1..=args.steps {
        let out = learner.train_step();
        if i % args.every == 0 {
            let StepOutcome::Updated(r) = out else {
                panic!("{out:?}")
            };
            let mut p = Predictor::new(learner.inference_model(), cfg.clone(), Device::flex());
            let e = eval::one_step(&mut p, &held);
            p.set_draw(world_model::rssm::Draw::Sample);
            let es = eval::one_step(&mut p, &held);
            println!(
                "step {i:5} {:6.1}s gn {:.3} lr {:.5} loss {:.4} recon {:.4} pred {:.4} kl {:.2} | model {:.2} dB (sampled {:.2} dB) base {:.2} dB gain {:+.2}",
                start.elapsed().as_secs_f64(),
                r.grad_norm,
                r.lr,
                r.loss.total,
                r.loss.recon,
                r.loss.pred,
                r.loss.kl,
                e.model_psnr_pooled,
                es.model_psnr_pooled,
                e.baseline_psnr_pooled,
                e.gain_db()
            );
        }
    }
}

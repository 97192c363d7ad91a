//! Trains a world model offline from recorded datasets and writes a checkpoint and a JSON
//! report (config, losses, held-out one-step and open-loop scores against the baseline).
//!
//! `world-model-train --data run.wmds --out model.wmck --steps 2000`

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use world_model::{
    Dataset, DeviceChoice, Learner, Predictor, Sampling, StepOutcome, WorldModelConfig, checkpoint,
    eval,
};

/// Train a world model from datasets recorded by the game (`.wmds`).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Dataset files; the last `--holdout` share of each is kept for evaluation.
    #[arg(long = "data", required = true)]
    data: Vec<PathBuf>,
    /// Where to write the checkpoint.
    #[arg(long)]
    out: PathBuf,
    /// Optimizer steps to take.
    #[arg(long, default_value_t = 1000)]
    steps: u64,
    /// JSON config (fields not given take defaults); frame and action sizes come from the data.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Continue from this checkpoint (weights, optimizer state, counters).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Also write a compact copy here, for shipping with a game: half-precision weights and
    /// no optimizer state (a sixth of the size); the held-out scores are computed with it.
    #[arg(long, value_name = "PATH")]
    compact: Option<PathBuf>,
    /// Where to write the JSON report (default: next to the checkpoint, `.json`).
    #[arg(long)]
    report: Option<PathBuf>,
    /// auto, flex or wgpu.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// Share of each dataset held out for evaluation.
    #[arg(long, default_value_t = 0.1)]
    holdout: f64,
}

fn main() -> ExitCode {
    world_model::allocator::keep_freed_memory();
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    if !(0.0..1.0).contains(&args.holdout) {
        return Err(format!("--holdout {} must be in [0, 1)", args.holdout));
    }
    let mut cfg = match &args.config {
        Some(p) => {
            let text = world_model::files::read_to_string_limited(
                p,
                world_model::config::MAX_CONFIG_FILE_BYTES,
            )
            .map_err(|e| format!("cannot read config {}: {e}", p.display()))?;
            WorldModelConfig::from_json(&text).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => WorldModelConfig::default(),
    };
    let mut train = Vec::new();
    let mut held = Vec::new();
    let mut header = None;
    for path in &args.data {
        let ds = Dataset::load(path).map_err(|e| e.to_string())?;
        if ds.ignored_tail_bytes > 0 {
            eprintln!(
                "warning: {} ends with a partial record ({} bytes ignored)",
                path.display(),
                ds.ignored_tail_bytes
            );
        }
        if header.is_some_and(|h| h != ds.header) {
            return Err(format!(
                "{} has frames or actions of another size than the first dataset",
                path.display()
            ));
        }
        header = Some(ds.header);
        let cut = ((ds.steps.len() as f64) * (1.0 - args.holdout)).round() as usize;
        let mut steps = ds.steps;
        held.extend(steps.split_off(cut));
        train.extend(steps);
        eprintln!(
            "loaded {}: {} train, {} held out",
            path.display(),
            cut,
            held.len()
        );
    }
    let header = header.expect("clap requires one dataset");
    cfg.width = header.width;
    cfg.height = header.height;
    cfg.action_dim = header.action_dim;
    cfg.replay_capacity = cfg.replay_capacity.max(train.len());
    // Offline data has no "recent" part (the newest frames are just the last file given):
    // every window is equally likely, whatever the config says for live learning.
    if cfg.sampling != Sampling::Uniform {
        eprintln!("sampling: uniform over all training frames (offline data has no recency)");
        cfg.sampling = Sampling::Uniform;
    }
    cfg.validate().map_err(|e| e.to_string())?;

    let resolved = args.device.resolve().map_err(|e| e.to_string())?;
    eprintln!("device: {}", resolved.description);
    let mut learner = match &args.resume {
        Some(p) => {
            let ckpt =
                checkpoint::load(p, Some(&cfg), &resolved.device).map_err(|e| e.to_string())?;
            Learner::from_checkpoint(cfg.clone(), ckpt, &resolved.device)
                .map_err(|e| e.to_string())?
        }
        None => Learner::new(cfg.clone(), &resolved.device).map_err(|e| e.to_string())?,
    };
    for step in &train {
        learner.push(step).map_err(|e| e.to_string())?;
    }
    if learner.replay().len() < cfg.min_frames.max(cfg.seq_len) {
        return Err(format!(
            "only {} training frames; need at least {}",
            learner.replay().len(),
            cfg.min_frames.max(cfg.seq_len)
        ));
    }

    let started = Instant::now();
    let mut progress = Progress::new(args.steps);
    let mut last_loss = None;
    let mut skipped = 0;
    for i in 0..args.steps {
        match learner.train_step() {
            StepOutcome::Updated(r) => last_loss = Some(r.loss),
            StepOutcome::Skipped(_) => skipped += 1,
            StepOutcome::Waiting => return Err("replay buffer is empty".into()),
        }
        progress.show(i + 1, last_loss.map(|l| l.total));
    }
    progress.finish();
    let train_seconds = started.elapsed().as_secs_f64();

    learner.save(&args.out).map_err(|e| e.to_string())?;
    eprintln!("wrote {}", args.out.display());
    // The scores below are those of the weights a reader of the report will run.
    let model = match &args.compact {
        Some(path) => {
            learner.save_compact(path).map_err(|e| e.to_string())?;
            eprintln!("wrote {} (compact)", path.display());
            checkpoint::load(path, Some(&cfg), &resolved.device)
                .map_err(|e| e.to_string())?
                .model
        }
        None => learner.inference_model(),
    };

    let mut predictor = Predictor::new(model, cfg.clone(), resolved.device);
    let one_step = eval::one_step(&mut predictor, &held);
    let open_loop = eval::open_loop(&mut predictor, &held, 4, 8, 8);
    let report = serde_json::json!({
        "config": cfg,
        "device": resolved.description,
        "checkpoint": args.out,
        "compact_checkpoint": args.compact,
        "datasets": args.data,
        "train_frames": train.len(),
        "heldout_frames": held.len(),
        "steps_total": learner.steps(),
        "steps_this_run": args.steps,
        "non_finite_steps": skipped,
        "train_seconds": train_seconds,
        "steps_per_sec": args.steps as f64 / train_seconds.max(1e-9),
        "final_loss": last_loss,
        "heldout_one_step": one_step,
        "heldout_gain_db": one_step.gain_db(),
        "heldout_open_loop": open_loop.iter().enumerate().map(|(k, totals)| {
            let mean = totals.mean();
            serde_json::json!({
                "horizon": k + 1,
                "mse": mean.map(|(model, _)| model.mse),
                "psnr": mean.map(|(model, _)| model.psnr),
                "baseline_psnr": mean.map(|(_, baseline)| baseline.psnr),
                "scored": totals.scored,
                "unchanged": totals.unchanged,
            })
        }).collect::<Vec<_>>(),
    });
    let report_path = args
        .report
        .unwrap_or_else(|| args.out.with_extension("json"));
    checkpoint::write_atomic(
        &report_path,
        serde_json::to_string_pretty(&report)
            .expect("report serialises")
            .as_bytes(),
    )
    .map_err(|e| format!("cannot write report {}: {e}", report_path.display()))?;
    eprintln!(
        "held-out one-step PSNR {:.2} dB vs copy-last-frame {:.2} dB ({:+.2} dB) over {} pairs \
         ({} unchanged left out); report {}",
        one_step.model_psnr_pooled,
        one_step.baseline_psnr_pooled,
        one_step.gain_db(),
        one_step.scored,
        one_step.unchanged,
        report_path.display()
    );
    Ok(())
}

/// A one-line progress bar on stderr.
struct Progress {
    total: u64,
    started: Instant,
    last_draw: Option<Instant>,
}

impl Progress {
    fn new(total: u64) -> Self {
        Self {
            total,
            started: Instant::now(),
            last_draw: None,
        }
    }

    fn show(&mut self, done: u64, loss: Option<f32>) {
        if self
            .last_draw
            .is_some_and(|t| t.elapsed().as_millis() < 200 && done < self.total)
        {
            return;
        }
        self.last_draw = Some(Instant::now());
        let frac = done as f64 / self.total.max(1) as f64;
        let width = 30;
        let filled = (frac * width as f64).round() as usize;
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = done as f64 / elapsed.max(1e-9);
        let eta = (self.total - done) as f64 / rate.max(1e-9);
        let loss = loss.map_or("-".into(), |l| format!("{l:.4}"));
        eprint!(
            "\r[{}{}] {done}/{} loss {loss} {rate:.1} steps/s ETA {:.0}s   ",
            "#".repeat(filled),
            " ".repeat(width - filled),
            self.total,
            eta
        );
        let _ = std::io::stderr().flush();
    }

    fn finish(&self) {
        eprintln!();
    }
}

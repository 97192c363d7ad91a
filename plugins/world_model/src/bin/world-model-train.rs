//! Trains a world model offline from recorded datasets and writes a checkpoint and a JSON
//! report (config, losses, held-out one-step and open-loop scores against the baseline).
//!
//! `world-model-train --data run.wmds --out model.wmck --steps 2000`
//!
//! Before any work the outputs are checked: none may be the same file as an input or as
//! another output (paths compared as the file system resolves them), and each must go to a
//! directory that takes new files. SIGINT or SIGTERM during training stops it after the
//! current step: `--out` (and `--compact`) are written with the steps done so far, the report
//! is marked `"interrupted"` (no held-out evaluation), and the exit status is 130 or 143.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use world_model::signals::{self, Signal};
use world_model::{
    Dataset, DeviceChoice, Learner, Predictor, Sampling, StepOutcome, WorldModelConfig, checkpoint,
    eval, files,
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
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(signal)) => ExitCode::from(signal.exit_code()),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Trains and writes everything; `Some(signal)` when a signal stopped the training early.
fn run(args: Args) -> Result<Option<Signal>, String> {
    if !(0.0..1.0).contains(&args.holdout) {
        return Err(format!("--holdout {} must be in [0, 1)", args.holdout));
    }
    let report_path = args
        .report
        .clone()
        .unwrap_or_else(|| args.out.with_extension("json"));
    check_outputs(&args, &report_path)?;
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

    // From here on SIGINT and SIGTERM stop the training after its current step, and what
    // was learned is written (before, they end the program with nothing written).
    if let Err(e) = signals::install() {
        eprintln!("warning: SIGINT and SIGTERM will end training without saving: {e}");
    }
    let started = Instant::now();
    let mut progress = Progress::new(args.steps);
    let mut last_loss = None;
    let mut skipped = 0;
    let mut done = 0;
    let mut interrupted = None;
    for i in 0..args.steps {
        if let Some(signal) = signals::received() {
            interrupted = Some(signal);
            break;
        }
        match learner.train_step() {
            StepOutcome::Updated(r) => last_loss = Some(r.loss),
            StepOutcome::Skipped(_) => skipped += 1,
            StepOutcome::Waiting => return Err("replay buffer is empty".into()),
        }
        done = i + 1;
        progress.show(done, last_loss.map(|l| l.total));
    }
    progress.finish();
    let train_seconds = started.elapsed().as_secs_f64();
    if let Some(signal) = interrupted {
        eprintln!(
            "interrupted by {} after {done} of {} steps",
            signal.name(),
            args.steps
        );
        if done == 0 {
            // Nothing learned: an earlier --out stays as it was.
            eprintln!("no step was taken; nothing written");
            return Ok(Some(signal));
        }
    }

    learner.save(&args.out).map_err(|e| e.to_string())?;
    eprintln!("wrote {}", args.out.display());
    if let Some(path) = &args.compact {
        learner.save_compact(path).map_err(|e| e.to_string())?;
        eprintln!("wrote {} (compact)", path.display());
    }
    let mut report = serde_json::json!({
        "config": cfg,
        "device": resolved.description,
        "checkpoint": args.out,
        "compact_checkpoint": args.compact,
        "datasets": args.data,
        "train_frames": train.len(),
        "heldout_frames": held.len(),
        "steps_total": learner.steps(),
        "steps_this_run": done,
        "non_finite_steps": skipped,
        "train_seconds": train_seconds,
        "steps_per_sec": done as f64 / train_seconds.max(1e-9),
        "final_loss": last_loss,
    });
    let fields = report.as_object_mut().expect("the report is an object");
    // A signal during the saves above counts too: the evaluation is skipped.
    if let Some(signal) = interrupted.or_else(signals::received) {
        fields.insert("interrupted".into(), signal.name().into());
        for key in ["heldout_one_step", "heldout_gain_db", "heldout_open_loop"] {
            fields.insert(key.into(), serde_json::Value::Null);
        }
        write_report(&report_path, &report)?;
        eprintln!(
            "report {} (marked interrupted, no held-out evaluation)",
            report_path.display()
        );
        return Ok(Some(signal));
    }

    // The scores below are those of the weights a reader of the report will run.
    let model = match &args.compact {
        Some(path) => {
            checkpoint::load(path, Some(&cfg), &resolved.device)
                .map_err(|e| e.to_string())?
                .model
        }
        None => learner.inference_model(),
    };
    let mut predictor = Predictor::new(model, cfg.clone(), resolved.device);
    let one_step = eval::one_step(&mut predictor, &held);
    let open_loop = eval::open_loop(&mut predictor, &held, 4, 8, 8);
    fields.insert(
        "heldout_one_step".into(),
        serde_json::to_value(&one_step).expect("scores serialise"),
    );
    fields.insert("heldout_gain_db".into(), one_step.gain_db().into());
    fields.insert(
        "heldout_open_loop".into(),
        open_loop
            .iter()
            .enumerate()
            .map(|(k, totals)| {
                let mean = totals.mean();
                serde_json::json!({
                    "horizon": k + 1,
                    "mse": mean.map(|(model, _)| model.mse),
                    "psnr": mean.map(|(model, _)| model.psnr),
                    "baseline_psnr": mean.map(|(_, baseline)| baseline.psnr),
                    "scored": totals.scored,
                    "unchanged": totals.unchanged,
                })
            })
            .collect::<Vec<_>>()
            .into(),
    );
    // The reward and continue heads, on data that pays rewards (`.wmds` version 2).
    let paid = held.iter().any(|s| s.reward != 0.0 || s.terminal);
    if paid {
        let (prior, posterior) = eval::rewards(&mut predictor, &held);
        let tally = |t: &eval::RewardTally| {
            serde_json::json!({
                "ticks": t.ticks,
                "reward_mse": t.model_mse(),
                "mean_reward_mse": t.mean_mse(),
                "events": t.events,
                "anticipated": t.anticipated,
                "false_alarms": t.false_alarms,
            })
        };
        fields.insert(
            "heldout_rewards".into(),
            serde_json::json!({"prior": tally(&prior), "posterior": tally(&posterior)}),
        );
        let f = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.4}"));
        eprintln!(
            "held-out reward MSE {} a tick ahead, {} of the seen state, vs {} for the mean \
             reward; {} of {} events anticipated",
            f(prior.model_mse()),
            f(posterior.model_mse()),
            f(prior.mean_mse()),
            prior.anticipated,
            prior.events
        );
    }
    write_report(&report_path, &report)?;
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
    Ok(None)
}

/// Writes the JSON report atomically.
fn write_report(path: &Path, report: &serde_json::Value) -> Result<(), String> {
    checkpoint::write_atomic(
        path,
        serde_json::to_string_pretty(report)
            .expect("report serialises")
            .as_bytes(),
    )
    .map_err(|e| format!("cannot write report {}: {e}", path.display()))
}

/// Refuses, before any work, outputs (`--out`, `--compact`, the report) that are the same
/// file as an input (`--data`, `--config`, `--resume`) or as each other, and outputs that
/// cannot be written: a directory, or a path whose directory does not take new files (a
/// probe file is created and removed; a missing directory is created). `--resume X --out X`
/// is allowed: the checkpoint is read before it is written. The error names both flags.
fn check_outputs(args: &Args, report: &Path) -> Result<(), String> {
    let report_flag = if args.report.is_some() {
        "--report"
    } else {
        "--report (by default --out with the extension .json)"
    };
    let mut outputs: Vec<(&str, &Path)> = vec![("--out", args.out.as_path())];
    if let Some(path) = &args.compact {
        outputs.push(("--compact", path.as_path()));
    }
    outputs.push((report_flag, report));
    let mut inputs: Vec<(&str, &Path)> =
        args.data.iter().map(|p| ("--data", p.as_path())).collect();
    if let Some(path) = &args.config {
        inputs.push(("--config", path.as_path()));
    }
    if let Some(path) = &args.resume {
        inputs.push(("--resume", path.as_path()));
    }
    for (i, &(flag, path)) in outputs.iter().enumerate() {
        for &(other_flag, other) in &outputs[..i] {
            if files::same_file(path, other) {
                return Err(format!(
                    "{flag} {} and {other_flag} {} are the same file: one would overwrite the \
                     other; give them different paths",
                    path.display(),
                    other.display()
                ));
            }
        }
        for &(input_flag, input) in &inputs {
            let in_place = flag == "--out" && input_flag == "--resume";
            if !in_place && files::same_file(path, input) {
                return Err(format!(
                    "{flag} {} is the same file as {input_flag} {}: writing it would destroy \
                     that input; give {flag} another path",
                    path.display(),
                    input.display()
                ));
            }
        }
    }
    for &(flag, path) in &outputs {
        if path.is_dir() {
            return Err(format!(
                "{flag} {} is a directory; give a file path",
                path.display()
            ));
        }
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        files::probe_writable_dir(dir).map_err(|e| {
            format!(
                "{flag} {}: cannot write in {}: {e}",
                path.display(),
                dir.display()
            )
        })?;
    }
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

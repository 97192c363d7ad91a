//! Command-line flags of the demo game.

use std::path::{Path, PathBuf};

use bevy_world_model::world_model::{DeviceChoice, ReconLoss, WorldModelConfig, checkpoint};
use clap::{Args, Parser, Subcommand};

pub use crate::autopilot::AutopilotMode;

/// Frame size of the game's camera and network (the shipped checkpoint's).
pub const DEFAULT_RESOLUTION: u32 = 64;

/// Mini Dreamer: explore a procedurally generated world in first person.
#[derive(Parser, Debug, Clone)]
#[command(name = "mini-dreamer", version)]
pub struct Cli {
    /// Seed of the level layout and colours (a level file may fix its own).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Display scale of the agent's view (nearest filtering).
    #[arg(long, default_value_t = 4.0, value_parser = parse_scale)]
    pub scale: f32,
    /// Level: a name under assets/levels (e.g. `maze`, `gallery`) or a path to a .ron file.
    #[arg(long)]
    pub level: Option<String>,
    /// Run without a window: render offscreen only.
    #[arg(long)]
    pub headless: bool,
    /// Run this many frames, then exit (for scripts).
    #[arg(long)]
    pub frames: Option<u64>,
    /// After the last frame, save a PNG (of the window; headless: of the agent's view) and exit.
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// Width and height of the agent's camera image, in pixels.
    #[arg(long, default_value_t = DEFAULT_RESOLUTION, value_parser = clap::value_parser!(u32).range(16..=512))]
    pub resolution: u32,
    /// The agent explores on its own, seeded by --seed: `random` (least-visited walk avoiding
    /// walls; the default) or `curious` (towards where the model's prediction error is high).
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "random", value_name = "MODE")]
    pub autopilot: Option<AutopilotMode>,
    /// Run for this many minutes of wall-clock time, then exit (after the held-out evaluation
    /// when --report is given). Headless runs step the world at a fixed 30 Hz.
    #[arg(long, value_parser = parse_minutes)]
    pub minutes: Option<f64>,
    /// Write a research report (report.json, PNG strips, the checkpoint) to this directory;
    /// the run ends with an evaluation on a held-out seed. Needs --minutes and --autopilot.
    #[arg(long, value_name = "DIR", requires_all = ["minutes", "autopilot"])]
    pub report: Option<PathBuf>,
    /// Save every transition the model sees as a dataset in this directory (for
    /// `world-model-train`); the file is named after the level, seed and start time.
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// Model ticks per second: the model sees a frame and predicts the next every 1/tick-hz s
    /// whatever the frame rate (the shipped checkpoint learned at 10). Headless autopilot runs
    /// (research, eval, --record) simulate: each frame advances the world 1/tick-hz s, so the
    /// walk is the same on every machine; fewer ticks leave more of the CPU to the trainer
    /// and more motion between frames to predict.
    #[arg(long, default_value_t = 10.0, value_parser = parse_tick_hz)]
    pub tick_hz: f64,
    /// Seed of the held-out evaluation that ends a --report run [default: --seed + 1000].
    #[arg(long)]
    pub heldout_seed: Option<u64>,
    /// Level of the held-out evaluation [default: the training level].
    #[arg(long)]
    pub heldout_level: Option<String>,
    /// Scored ticks (view changed) of the held-out evaluation.
    #[arg(long, default_value_t = 900, value_parser = clap::value_parser!(u64).range(10..))]
    pub heldout_ticks: u64,
    /// Start the world model from this checkpoint (a bad file is reported; random weights are
    /// used) [default: the shipped assets/checkpoints/pretrained.wmck when playing; research
    /// runs (--minutes) start fresh].
    #[arg(long, value_name = "PATH")]
    pub ckpt: Option<PathBuf>,
    /// Start from random weights instead of the shipped pretrained checkpoint.
    #[arg(long, conflicts_with = "ckpt")]
    pub fresh: bool,
    /// Where the world model runs: auto (a GPU when there is one), cpu or gpu.
    #[arg(long, default_value = "auto", value_parser = parse_device)]
    pub device: DeviceChoice,
    /// World-model hyper-parameters from a JSON file (`WorldModelConfig` fields; absent ones
    /// take the game's defaults, unknown ones are an error); starts fresh unless --ckpt is
    /// given. `--resolution` sets the frame size.
    #[arg(long, value_name = "FILE", value_parser = parse_model_config)]
    pub model_config_file: Option<WorldModelConfig>,
    /// Start with learning paused (L toggles it).
    #[arg(long)]
    pub no_learning: bool,
    /// Print frame time and inference percentiles when the run ends (see README, benchmarks).
    #[arg(long)]
    pub timings: bool,
    /// Windowed without the dashboard (to measure what the dashboard costs).
    #[arg(long)]
    pub no_ui: bool,
    /// Draw the whole dashboard every frame, not only when it changes (to measure what the
    /// partial frames save).
    #[arg(long, conflicts_with = "no_ui")]
    pub ui_redraw_every_frame: bool,
    /// Headless only: run frames back to back instead of at 60 fps (or at --tick-hz in a
    /// research run); benchmarks, evaluations.
    #[arg(long)]
    pub uncapped: bool,
    /// Directory for checkpoints saved with F5.
    #[arg(long, value_name = "DIR", default_value = "checkpoints")]
    pub ckpt_dir: PathBuf,
    /// The network config to run, read from the `--ckpt` checkpoint (not a flag).
    #[arg(skip)]
    pub model_config: Option<WorldModelConfig>,
    /// `eval`: score a checkpoint on a seed or level it was not trained on.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands; without one the game runs.
#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Held-out evaluation: the autopilot explores a seed (or level) the checkpoint never saw,
    /// learning off, and report.json gets one-step and multi-step scores against the baseline.
    Eval(EvalArgs),
    /// Print the game's world-model config as JSON: what a fresh model runs and what
    /// scripts/pretrain.sh trains the shipped checkpoint with.
    ModelConfig,
}

/// Flags of `mini-dreamer eval`.
#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// The checkpoint to evaluate.
    #[arg(long, value_name = "PATH")]
    pub ckpt: PathBuf,
    /// Seed of the evaluation level (pick one the checkpoint was not trained on).
    #[arg(long, default_value_t = 1000)]
    pub seed: u64,
    /// Level name or .ron path.
    #[arg(long)]
    pub level: Option<String>,
    /// Directory for report.json and the PNG strips.
    #[arg(long, value_name = "DIR")]
    pub report: PathBuf,
    /// Scored ticks (view changed) to evaluate.
    #[arg(long, default_value_t = 900, value_parser = clap::value_parser!(u64).range(10..))]
    pub ticks: u64,
    /// How the agent explores.
    #[arg(long, value_enum, default_value = "random")]
    pub autopilot: AutopilotMode,
    /// Model ticks per simulated second (use the training run's).
    #[arg(long, default_value_t = 10.0, value_parser = parse_tick_hz)]
    pub tick_hz: f64,
    /// Where the model runs: auto, cpu or gpu.
    #[arg(long, default_value = "auto", value_parser = parse_device)]
    pub device: DeviceChoice,
}

impl Cli {
    /// The game run that `eval` is: headless, autopilot, learning off, from the checkpoint,
    /// straight into the held-out phase.
    pub fn for_eval(args: &EvalArgs) -> Self {
        let mut cli = Self::parse_from(["mini-dreamer"]);
        cli.seed = args.seed;
        cli.level = args.level.clone();
        cli.headless = true;
        cli.autopilot = Some(args.autopilot);
        cli.ckpt = Some(args.ckpt.clone());
        cli.device = args.device;
        cli.no_learning = true;
        cli.report = Some(args.report.clone());
        cli.heldout_seed = Some(args.seed);
        cli.heldout_ticks = args.ticks;
        cli.tick_hz = args.tick_hz;
        // Nothing learns, and the world steps a fixed 1/tick-hz per frame: run flat out.
        cli.uncapped = true;
        cli
    }

    /// Runs the network the `--ckpt` checkpoint was trained with (its shape and frame size),
    /// so any checkpoint loads. A file that cannot be read is an error for `eval`; the game
    /// instead reports it and starts from random weights.
    pub fn adopt_checkpoint_config(&mut self) -> Result<(), String> {
        let Some(path) = &self.ckpt else {
            return Ok(());
        };
        let meta = checkpoint::read_meta(path).map_err(|e| e.to_string())?;
        self.resolution = meta.config.width as u32;
        let mut config = meta.config;
        // How the replay buffer is sampled describes this session's online learning, not the
        // weights (offline training samples uniformly): take the game's.
        let game = game_model_config();
        config.sampling = game.sampling;
        config.replay_capacity = game.replay_capacity;
        self.model_config = Some(config);
        Ok(())
    }

    /// Picks the shipped checkpoint when nothing else was asked for: playing (not a research
    /// run or `eval`) with the game's network (no --fresh, --ckpt, --model-config-file or
    /// other --resolution). Returns whether it did; a missing file means starting fresh.
    pub fn default_to_shipped_checkpoint(&mut self, shipped: &Path) -> bool {
        let custom = self.fresh
            || self.ckpt.is_some()
            || self.model_config_file.is_some()
            || self.resolution != DEFAULT_RESOLUTION
            || self.minutes.is_some()
            || self.command.is_some();
        if custom || !shipped.is_file() {
            return false;
        }
        self.ckpt = Some(shipped.to_path_buf());
        true
    }

    /// Seed of the held-out evaluation.
    pub fn heldout_seed(&self) -> u64 {
        self.heldout_seed.unwrap_or(self.seed.wrapping_add(1000))
    }
}

fn parse_tick_hz(s: &str) -> Result<f64, String> {
    number_in(s, 1.0, 120.0)
}

fn parse_minutes(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if v > 0.0 && v.is_finite() {
        Ok(v)
    } else {
        Err(format!("{v} must be a positive number of minutes"))
    }
}

/// The game's network and trainer: warp decoding (the last frame moved pixel by pixel, plus
/// a decoded change; a fresh model starts close to copy-last-frame) with the MSE loss, the
/// config measured best on a held-out seed (README, research runs).
pub fn game_model_config() -> WorldModelConfig {
    WorldModelConfig {
        residual: true,
        warp: true,
        recon_loss: ReconLoss::Mse,
        ..WorldModelConfig::default()
    }
}

/// A `--model-config-file`: its fields over [`game_model_config`].
fn parse_model_config(path: &str) -> Result<WorldModelConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| format!("{path}: not a JSON object: {e}"))?;
    let mut merged = serde_json::to_value(game_model_config()).expect("config serialises");
    merged
        .as_object_mut()
        .expect("config is an object")
        .extend(fields);
    WorldModelConfig::from_json(&merged.to_string()).map_err(|e| format!("{path}: {e}"))
}

fn parse_device(s: &str) -> Result<DeviceChoice, String> {
    s.parse()
}

fn parse_scale(s: &str) -> Result<f32, String> {
    number_in(s, 1.0, 16.0)
}

/// A number in `lo..=hi` (NaN is out of range).
fn number_in<T>(s: &str, lo: T, hi: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let v: T = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is out of range {lo}..={hi}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config file is read and validated at start-up; a missing file, a typo and an
    /// out-of-range value are refused with the file's name and the problem.
    #[test]
    fn model_config_files_are_read_and_checked() {
        let dir = std::env::temp_dir().join(format!("md-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path.to_string_lossy().into_owned()
        };
        let good = write("good.json", r#"{"recon_loss": "l1", "deter": 128}"#);
        let cli = Cli::try_parse_from(["mini-dreamer", "--model-config-file", &good]).unwrap();
        let cfg = cli.model_config_file.expect("config read");
        // The file's fields over the game's defaults (residual and warp stay on).
        assert!(cfg.residual && cfg.warp && cfg.recon_loss == ReconLoss::L1 && cfg.deter == 128);
        for (file, problem) in [
            (write("typo.json", r#"{"residul": true}"#), "residul"),
            (write("range.json", r#"{"unimix": 2.0}"#), "unimix"),
            (
                dir.join("missing.json").to_string_lossy().into_owned(),
                "cannot read",
            ),
        ] {
            let err = Cli::try_parse_from(["mini-dreamer", "--model-config-file", &file])
                .map(|_| ())
                .expect_err("refused")
                .to_string();
            assert!(err.contains(problem), "{err}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    /// Playing starts from the shipped checkpoint; asking for anything else (fresh weights,
    /// another checkpoint or network, a research run) does not, nor does a missing file.
    #[test]
    fn playing_defaults_to_the_shipped_checkpoint() {
        let shipped = std::env::temp_dir().join(format!("md-shipped-{}.wmck", std::process::id()));
        std::fs::write(&shipped, b"x").unwrap();
        let parse = |args: &[&str]| {
            let mut cli = Cli::try_parse_from([&["mini-dreamer"], args].concat()).unwrap();
            let took = cli.default_to_shipped_checkpoint(&shipped);
            (took, cli.ckpt)
        };
        assert_eq!(parse(&["--seed", "4"]), (true, Some(shipped.clone())));
        assert_eq!(parse(&["--autopilot"]), (true, Some(shipped.clone())));
        for args in [
            &["--fresh"][..],
            &["--ckpt", "mine.wmck"],
            &["--resolution", "32"],
            &["--headless", "--autopilot", "--minutes", "1"],
            &["eval", "--ckpt", "m.wmck", "--report", "r"],
        ] {
            let (took, ckpt) = parse(args);
            assert!(!took, "{args:?}");
            assert_ne!(ckpt, Some(shipped.clone()), "{args:?}");
        }
        assert!(Cli::try_parse_from(["mini-dreamer", "--fresh", "--ckpt", "m"]).is_err());
        std::fs::remove_file(&shipped).unwrap();
        let mut cli = Cli::try_parse_from(["mini-dreamer"]).unwrap();
        assert!(
            !cli.default_to_shipped_checkpoint(&shipped),
            "missing file: fresh"
        );
    }

    #[test]
    fn bad_flags_are_rejected_by_clap() {
        assert!(Cli::try_parse_from(["mini-dreamer", "--scale", "0"]).is_err());
        assert!(Cli::try_parse_from(["mini-dreamer", "--seed", "abc"]).is_err());
        assert!(Cli::try_parse_from(["mini-dreamer", "--resolution", "8"]).is_err());
        assert!(Cli::try_parse_from(["mini-dreamer", "--bogus"]).is_err());
        assert!(Cli::try_parse_from(["mini-dreamer", "--device", "tpu"]).is_err());
        let gpu = Cli::try_parse_from(["mini-dreamer", "--device", "gpu"]).unwrap();
        assert_eq!(gpu.device, DeviceChoice::Wgpu);
        let ok = Cli::try_parse_from(["mini-dreamer", "--seed", "3", "--frames", "10"]).unwrap();
        assert_eq!((ok.seed, ok.frames), (3, Some(10)));
        assert!(Cli::try_parse_from(["mini-dreamer", "--minutes", "0"]).is_err());
        assert!(Cli::try_parse_from(["mini-dreamer", "--minutes", "nan"]).is_err());
        assert!(Cli::try_parse_from(["mini-dreamer", "--autopilot", "sideways"]).is_err());
        assert!(Cli::try_parse_from(["mini-dreamer", "--tick-hz", "0"]).is_err());
        // Redrawing a dashboard that is not there is a contradiction, not a no-op.
        assert!(
            Cli::try_parse_from(["mini-dreamer", "--no-ui", "--ui-redraw-every-frame"]).is_err()
        );
        assert!(!ok.ui_redraw_every_frame);
        let redraw = Cli::try_parse_from(["mini-dreamer", "--ui-redraw-every-frame"]).unwrap();
        assert!(redraw.ui_redraw_every_frame);
    }

    #[test]
    fn autopilot_mode_defaults_to_random_when_named_alone() {
        let cli = Cli::try_parse_from(["mini-dreamer", "--autopilot", "--minutes", "2"]).unwrap();
        assert_eq!(
            (cli.autopilot, cli.minutes),
            (Some(AutopilotMode::Random), Some(2.0))
        );
        let cli = Cli::try_parse_from(["mini-dreamer", "--autopilot", "curious"]).unwrap();
        assert_eq!(cli.autopilot, Some(AutopilotMode::Curious));
        assert_eq!(
            Cli::try_parse_from(["mini-dreamer"]).unwrap().autopilot,
            None
        );
    }

    #[test]
    fn a_report_needs_minutes_and_the_autopilot() {
        assert!(Cli::try_parse_from(["mini-dreamer", "--report", "r"]).is_err());
        assert!(Cli::try_parse_from(["mini-dreamer", "--report", "r", "--minutes", "1"]).is_err());
        let cli = Cli::try_parse_from([
            "mini-dreamer",
            "--report",
            "r",
            "--minutes",
            "1",
            "--autopilot",
            "--seed",
            "5",
        ])
        .unwrap();
        assert_eq!(cli.heldout_seed(), 1005);
    }

    #[test]
    fn eval_is_a_headless_frozen_autopilot_run() {
        let cli = Cli::try_parse_from([
            "mini-dreamer",
            "eval",
            "--ckpt",
            "m.ckpt",
            "--seed",
            "9",
            "--report",
            "out",
        ])
        .unwrap();
        let Some(Command::Eval(args)) = &cli.command else {
            panic!("expected eval");
        };
        let run = Cli::for_eval(args);
        assert!(run.headless && run.no_learning && run.uncapped);
        assert_eq!(
            (run.seed, run.heldout_seed(), run.heldout_ticks),
            (9, 9, 900)
        );
        assert_eq!(run.autopilot, Some(AutopilotMode::Random));
        assert!(Cli::try_parse_from(["mini-dreamer", "eval", "--seed", "9"]).is_err());
    }
}

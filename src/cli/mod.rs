//! Command-line flags of the demo game, in groups that `--help` lists under their own
//! headings (World, Model, Research, Display); `eval` has its own, grouped the same way.
//! [`RunPlan::from_cli`] turns the parsed flags, once, into the run the app is built from.
//!
//! Flags go after the subcommand they belong to: `mini-dreamer eval --seed 3 ...`. Before a
//! subcommand every flag is refused (an argument conflict naming the flag): `eval` has its
//! own `--seed`, `--level`, `--tick-hz`, `--device`, `--ckpt`, `--autopilot` and `--report`,
//! and fixes or has no use for the others (it runs headless, uncapped and with learning
//! off, takes the network and frame size from its checkpoint, scores `--ticks` on its
//! `--seed`, and has no window, dashboard or F5).

mod plan;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use bevy_world_model::world_model::{DeviceChoice, WorldModelConfig};
use clap::{Args, Parser, Subcommand};

use crate::research::pilots;

pub use crate::autopilot::AutopilotMode;
pub use plan::{PlanError, RunPlan};

/// Frame size of the game's camera and network (the shipped checkpoint's).
pub const DEFAULT_RESOLUTION: u32 = 64;

/// Ticks the random walk drives a timed, learning `--autopilot dreamer` run before the
/// agent (`--prefill`): five minutes at 10 ticks a second.
pub const DEFAULT_PREFILL_TICKS: u64 = 3000;

/// Most scored ticks `eval --ticks` and `--heldout-ticks` take: a million, a day of the
/// game's 10 Hz (the research code counts frames up to a few times that).
pub const MAX_TICKS: u64 = 1_000_000;

/// Mini Dreamer: explore a procedurally generated world in first person.
#[derive(Parser, Debug, Clone)]
#[command(name = "mini-dreamer", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// The game's flags (a subcommand takes its own, after its name).
    #[command(flatten)]
    pub game: GameArgs,
    /// `eval`: score a checkpoint on a seed or level it was not trained on.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The game's flags by group: as given, or as `eval` sets them ([`EvalArgs::game`]).
#[derive(Args, Debug, Clone)]
pub struct GameArgs {
    /// The world: level, seed, frame size, model tick rate.
    #[command(flatten, next_help_heading = "World")]
    pub world: WorldArgs,
    /// The world model: where its weights come from, where it runs, whether it learns.
    #[command(flatten, next_help_heading = "Model")]
    pub model: ModelArgs,
    /// The autopilot, research runs and their held-out evaluation, recording.
    #[command(flatten, next_help_heading = "Research")]
    pub research: ResearchArgs,
    /// Window, dashboard, frames and benchmarks.
    #[command(flatten, next_help_heading = "Display")]
    pub display: DisplayArgs,
}

/// The world flags: what level, which seed, the frame size and the model's tick rate.
#[derive(Args, Debug, Clone)]
pub struct WorldArgs {
    /// Seed of the level layout and colours (a level file may fix its own).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Level: a name under assets/levels (e.g. `maze`, `gallery`; also `maze.level.ron` or
    /// the old `maze.ron`) or a path to a .level.ron or .ron file.
    #[arg(long)]
    pub level: Option<String>,
    /// Width and height of the agent's camera image, in pixels.
    #[arg(long, default_value_t = DEFAULT_RESOLUTION, value_parser = clap::value_parser!(u32).range(16..=512))]
    pub resolution: u32,
    /// Model ticks per second: the model sees a frame and predicts the next every 1/tick-hz s
    /// whatever the frame rate (the shipped checkpoint learned at 10). Headless autopilot runs
    /// (research, eval, --record) simulate: each frame advances the world 1/tick-hz s, so the
    /// walk is the same on every machine; fewer ticks leave more of the CPU to the trainer
    /// and more motion between frames to predict.
    #[arg(long, default_value_t = 10.0, value_parser = parse_tick_hz)]
    pub tick_hz: f64,
}

/// The model flags: the start checkpoint or network, the device, learning, F5's folder.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Start the world model from this checkpoint (one that cannot be loaded is an error, never
    /// played on random weights) [default: the shipped assets/checkpoints/pretrained.wmck when
    /// playing; research runs (--minutes) start fresh].
    #[arg(long, value_name = "PATH")]
    pub ckpt: Option<PathBuf>,
    /// Start from random weights instead of the shipped pretrained checkpoint.
    #[arg(long, conflicts_with = "ckpt")]
    pub fresh: bool,
    /// Where the world model runs: auto (a GPU when there is one), cpu or gpu.
    #[arg(long, default_value = "auto", value_parser = parse_device)]
    pub device: DeviceChoice,
    /// World-model hyper-parameters from a JSON file (`WorldModelConfig` fields; absent ones
    /// take the game's defaults, unknown ones are an error); starts fresh. With --ckpt the
    /// network is the checkpoint's, and the file gives only what shapes learning: replay
    /// sampling and capacity, and the sketch. `--resolution` sets the frame size.
    #[arg(long, value_name = "FILE", value_parser = parse_model_config)]
    pub model_config_file: Option<ModelConfigFile>,
    /// Start with learning paused (L toggles it).
    #[arg(long)]
    pub no_learning: bool,
    /// Directory for checkpoints saved with F5.
    #[arg(long, value_name = "DIR", default_value = "checkpoints")]
    pub ckpt_dir: PathBuf,
}

/// The research flags: the autopilot, a timed run, its report and held-out evaluation,
/// recording a dataset.
#[derive(Args, Debug, Clone)]
pub struct ResearchArgs {
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
    /// A directory holding an earlier run's report.json or model.ckpt is refused.
    #[arg(long, value_name = "DIR", requires_all = ["minutes", "autopilot"])]
    pub report: Option<PathBuf>,
    /// Save every transition the model sees as a dataset in this directory (for
    /// `world-model-train`); the file is named after the level, seed and start time (with
    /// -2, -3, ... when that name is taken).
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// With --autopilot dreamer and learning on: the random walk drives the first TICKS model
    /// ticks while the agent already learns in the dream, then the agent takes over
    /// (DreamerV2's `prefill`). A fresh reward head learns what pays from a walk that goes
    /// everywhere, not from a policy that has not learned to move yet. 0: the agent from the
    /// first tick [default: 3000 in a timed run (--minutes), else 0, so that in play the agent
    /// drives from the start].
    #[arg(long, value_name = "TICKS", value_parser = clap::value_parser!(u64).range(0..=MAX_TICKS))]
    pub prefill: Option<u64>,
    /// Seed of the held-out evaluation that ends a --report run [default: --seed + 1000].
    #[arg(long)]
    pub heldout_seed: Option<u64>,
    /// Level of the held-out evaluation [default: the training level].
    #[arg(long)]
    pub heldout_level: Option<String>,
    /// Scored ticks (view changed) of the held-out evaluation.
    #[arg(long, default_value_t = 900, value_parser = clap::value_parser!(u64).range(10..=MAX_TICKS))]
    pub heldout_ticks: u64,
    /// On a task level, episodes each pilot then plays on the held-out world with learning
    /// off (the agent learned in the dream with --autopilot dreamer, then random and
    /// curious), compared side by side in the report; 0 skips the comparison.
    #[arg(long, default_value_t = pilots::DEFAULT_EPISODES, value_parser = clap::value_parser!(u64).range(0..=pilots::MAX_EPISODES))]
    pub eval_episodes: u64,
}

/// The display flags: window or not, when to stop, the dashboard, benchmarks.
#[derive(Args, Debug, Clone)]
pub struct DisplayArgs {
    /// Run without a window: render offscreen only.
    #[arg(long)]
    pub headless: bool,
    /// The window's size in logical pixels, WIDTHxHEIGHT (from 640x360 to 7680x4320).
    #[arg(long, default_value = "1280x720", value_parser = parse_window, value_name = "WxH")]
    pub window: (u32, u32),
    /// Run this many frames, then exit (for scripts).
    #[arg(long)]
    pub frames: Option<u64>,
    /// After the last frame, save a PNG (of the window; headless: of the agent's view) and exit.
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// Display scale of the agent's view (nearest filtering).
    #[arg(long, default_value_t = 4.0, value_parser = parse_scale)]
    pub scale: f32,
    /// Windowed without the dashboard (to measure what the dashboard costs).
    #[arg(long)]
    pub no_ui: bool,
    /// Draw the whole dashboard every frame, not only when it changes (to measure what the
    /// partial frames save).
    #[arg(long, conflicts_with = "no_ui")]
    pub ui_redraw_every_frame: bool,
    /// Print frame time and inference percentiles when the run ends (see README, benchmarks).
    #[arg(long)]
    pub timings: bool,
    /// Headless only: run frames back to back instead of at 60 fps (or at --tick-hz in a
    /// research run); benchmarks, evaluations.
    #[arg(long)]
    pub uncapped: bool,
}

/// Subcommands; without one the game runs.
#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Held-out evaluation: the autopilot explores a seed (or level) the checkpoint never saw,
    /// learning off, and report.json gets one-step and multi-step scores against the baseline.
    Eval(EvalArgs),
    /// Print the game's world-model config as JSON: what a fresh model runs (with
    /// `sketch_side: 16` on task levels) and what scripts/pretrain.sh trains the shipped
    /// checkpoint with.
    ModelConfig,
}

/// Flags of `mini-dreamer eval`, grouped as the game's are.
#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// The world evaluated on.
    #[command(flatten, next_help_heading = "World")]
    pub world: EvalWorldArgs,
    /// The checkpoint and where it runs.
    #[command(flatten, next_help_heading = "Model")]
    pub model: EvalModelArgs,
    /// The report, its length, the autopilot.
    #[command(flatten, next_help_heading = "Research")]
    pub research: EvalResearchArgs,
}

/// `eval`'s world flags.
#[derive(Args, Debug, Clone)]
pub struct EvalWorldArgs {
    /// Seed of the evaluation level (pick one the checkpoint was not trained on).
    #[arg(long, default_value_t = 1000)]
    pub seed: u64,
    /// Level name (as for the game's --level) or a path to a .level.ron or .ron file.
    #[arg(long)]
    pub level: Option<String>,
    /// Model ticks per simulated second (use the training run's).
    #[arg(long, default_value_t = 10.0, value_parser = parse_tick_hz)]
    pub tick_hz: f64,
}

/// `eval`'s model flags.
#[derive(Args, Debug, Clone)]
pub struct EvalModelArgs {
    /// The checkpoint to evaluate.
    #[arg(long, value_name = "PATH")]
    pub ckpt: PathBuf,
    /// Where the model runs: auto, cpu or gpu.
    #[arg(long, default_value = "auto", value_parser = parse_device)]
    pub device: DeviceChoice,
}

/// `eval`'s research flags.
#[derive(Args, Debug, Clone)]
pub struct EvalResearchArgs {
    /// Directory for report.json and the PNG strips.
    #[arg(long, value_name = "DIR")]
    pub report: PathBuf,
    /// Scored ticks (view changed) to evaluate.
    #[arg(long, default_value_t = 900, value_parser = clap::value_parser!(u64).range(10..=MAX_TICKS))]
    pub ticks: u64,
    /// How the agent explores.
    #[arg(long, value_enum, default_value = "random")]
    pub autopilot: AutopilotMode,
    /// On a task level, episodes each pilot then plays (the checkpoint's agent with
    /// --autopilot dreamer, then random and curious); 0 skips the comparison.
    #[arg(long, default_value_t = pilots::DEFAULT_EPISODES, value_parser = clap::value_parser!(u64).range(0..=pilots::MAX_EPISODES))]
    pub eval_episodes: u64,
}

impl GameArgs {
    /// Seed of the held-out evaluation: `--heldout-seed`, else `--seed` + 1000.
    pub fn heldout_seed(&self) -> u64 {
        self.research
            .heldout_seed
            .unwrap_or(self.world.seed.wrapping_add(1000))
    }
}

impl EvalArgs {
    /// The game run that `eval` is: headless, autopilot, learning off, from the checkpoint,
    /// straight into the held-out phase on `--seed`; every other flag at the game's default.
    pub fn game(&self) -> GameArgs {
        let defaults = Cli::parse_from(["mini-dreamer"]).game;
        GameArgs {
            world: WorldArgs {
                seed: self.world.seed,
                level: self.world.level.clone(),
                tick_hz: self.world.tick_hz,
                ..defaults.world
            },
            model: ModelArgs {
                ckpt: Some(self.model.ckpt.clone()),
                device: self.model.device,
                no_learning: true,
                ..defaults.model
            },
            research: ResearchArgs {
                autopilot: Some(self.research.autopilot),
                report: Some(self.research.report.clone()),
                heldout_seed: Some(self.world.seed),
                heldout_ticks: self.research.ticks,
                eval_episodes: self.research.eval_episodes,
                ..defaults.research
            },
            display: DisplayArgs {
                headless: true,
                // Nothing learns, and the world steps a fixed 1/tick-hz per frame: run flat out.
                uncapped: true,
                ..defaults.display
            },
        }
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

/// The game's network and trainer: [`WorldModelConfig::default`], the config measured best
/// on a held-out seed (warp decoding with MSE; README, research runs), the same one the plugin
/// and `world-model-train` start from.
pub fn game_model_config() -> WorldModelConfig {
    WorldModelConfig::default()
}

/// [`game_model_config`] for a run on `level`: with the sketch
/// ([`TASK_SKETCH_SIDE`]) where the level has a task. The sketch makes the latent hold the
/// view, which the reward head and the agent read; on a level without rewards it only costs
/// frames (README, "The sketch": 10 minutes on `arena`, reward error 21% below the mean's
/// with it, 9% above without; on `maze`, 0.4 and 0.9 dB of held-out PSNR lost with it).
pub fn game_model_config_for(level: &bevy_procgen::LevelSpec) -> WorldModelConfig {
    let mut config = game_model_config();
    if level.task.is_some() {
        config.sketch_side = TASK_SKETCH_SIDE;
    }
    config
}

/// Side of the sketch the game learns on task levels ([`game_model_config_for`]): 16x16,
/// a quarter of the 64x64 frame across.
pub const TASK_SKETCH_SIDE: usize = 16;

/// A `--model-config-file`, read and checked at start-up.
#[derive(Clone, Debug)]
pub struct ModelConfigFile {
    /// The file's fields over [`game_model_config`].
    pub config: WorldModelConfig,
    /// Whether the file sets `sketch_side`; if not, the level decides, as without a file
    /// ([`game_model_config_for`]).
    pub sets_sketch: bool,
}

/// A `--model-config-file`: its fields over [`game_model_config`].
fn parse_model_config(path: &str) -> Result<ModelConfigFile, String> {
    let text = bevy_world_model::world_model::files::read_to_string_limited(
        std::path::Path::new(path),
        bevy_world_model::world_model::config::MAX_CONFIG_FILE_BYTES,
    )
    .map_err(|e| format!("cannot read {path}: {e}"))?;
    let fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| format!("{path}: not a JSON object: {e}"))?;
    let sets_sketch = fields.contains_key("sketch_side");
    let mut merged = serde_json::to_value(game_model_config()).expect("config serialises");
    merged
        .as_object_mut()
        .expect("config is an object")
        .extend(fields);
    let config =
        WorldModelConfig::from_json(&merged.to_string()).map_err(|e| format!("{path}: {e}"))?;
    Ok(ModelConfigFile {
        config,
        sets_sketch,
    })
}

fn parse_device(s: &str) -> Result<DeviceChoice, String> {
    s.parse::<DeviceChoice>().map_err(|e| e.to_string())
}

fn parse_window(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once('x')
        .ok_or_else(|| format!("'{s}' is not WIDTHxHEIGHT (for example 1920x1080)"))?;
    Ok((number_in(w, 640, 7680)?, number_in(h, 360, 4320)?))
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

//! The run the command line asks for, resolved once: the level loaded, the start checkpoint
//! picked, its network adopted, `eval` turned into the game run it is, the research run and
//! the window mode decided. The app is assembled from the [`RunPlan`] and nothing changes it
//! afterwards.

use std::fmt;
use std::path::{Path, PathBuf};

use bevy_procgen::{LevelError, LevelSpec};
use bevy_world_model::world_model::checkpoint::{self, CheckpointError};
use bevy_world_model::world_model::files;
use bevy_world_model::world_model::{Device, WorldModelConfig};

use super::{
    AutopilotMode, Cli, Command, DEFAULT_RESOLUTION, DisplayArgs, GameArgs, ModelArgs,
    ResearchArgs, WorldArgs, game_model_config_for,
};
use crate::app::{self, Mode};
use crate::research::pilots::PilotPlan;
use crate::research::{HeldOutPlan, ResearchPlan, report::RunInfo};

/// What one run of the game does, from the command line; built by [`RunPlan::from_cli`] and
/// only read afterwards.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// Seed, level name, tick rate; `resolution` is the start checkpoint's frame size when
    /// it loads.
    pub world: WorldArgs,
    /// `ckpt` is the shipped checkpoint when playing without one (see [`RunPlan::from_cli`]).
    pub model: ModelArgs,
    /// The autopilot, the research run, recording (for `eval`: what it implies).
    pub research: ResearchArgs,
    /// Window, frames, dashboard, benchmarks (for `eval`: headless and uncapped).
    pub display: DisplayArgs,
    /// `eval`: a held-out evaluation of `--ckpt`, not a game.
    pub eval: bool,
    /// The level `--level` names, loaded and checked.
    pub spec: LevelSpec,
    /// The network to run: the start checkpoint's, else `--model-config-file`'s, else
    /// the game's for the level ([`game_model_config_for`]).
    pub model_config: WorldModelConfig,
    /// The research run (`--minutes`, `--report`, or `eval`), if any.
    pub research_run: Option<ResearchPlan>,
    /// With a window, or headless (`--headless`, `eval`, or no display found).
    pub mode: Mode,
    /// What to tell the user before the run starts, a line each (the binary prints them
    /// after `mini-dreamer: ` on stderr).
    pub notices: Vec<String>,
}

/// Why the command line asks for no run that can start.
#[derive(Debug)]
pub enum PlanError {
    /// `--level` or `--heldout-level` names no level, or a broken one.
    Level(LevelError),
    /// The checkpoint to run (`--ckpt`, or the one `eval` is to score) cannot be loaded: a
    /// model that was not loaded is never played or scored (random weights would be).
    Checkpoint(CheckpointError),
    /// The checkpoint loads, but the game cannot run its network (a frame that is not
    /// square, as the camera is; a config the game's replay settings make invalid).
    Unplayable {
        /// The checkpoint.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The subcommand runs no game (`model-config` prints the config).
    NoRun(&'static str),
    /// An output of the run cannot be written, or would replace an earlier run's files
    /// ([`RunPlan::check_outputs`]); the line names the flag and the path.
    Output(String),
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Level(e) => write!(f, "{e}"),
            Self::Checkpoint(e) => write!(f, "{e}"),
            Self::Unplayable { path, reason } => write!(f, "{}: {reason}", path.display()),
            Self::NoRun(command) => write!(f, "`{command}` runs no game"),
            Self::Output(line) => write!(f, "{line}"),
        }
    }
}

impl std::error::Error for PlanError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Level(e) => Some(e),
            Self::Checkpoint(e) => Some(e),
            Self::Unplayable { .. } | Self::NoRun(_) | Self::Output(_) => None,
        }
    }
}

impl From<LevelError> for PlanError {
    fn from(e: LevelError) -> Self {
        Self::Level(e)
    }
}

impl RunPlan {
    /// Ticks the random walk drives before the agent: `--prefill`, else
    /// [`DEFAULT_PREFILL_TICKS`](super::DEFAULT_PREFILL_TICKS) in a timed run; none where
    /// the agent does not learn or does not drive.
    pub fn prefill_ticks(&self) -> u64 {
        if self.research.autopilot != Some(crate::autopilot::AutopilotMode::Dreamer)
            || self.model.no_learning
        {
            return 0;
        }
        self.research
            .prefill
            .unwrap_or(if self.research.minutes.is_some() {
                super::DEFAULT_PREFILL_TICKS
            } else {
                0
            })
    }

    /// Resolves the command line into the run: the game's flags, or those `eval` stands
    /// for ([`super::EvalArgs::game`]); the level; the start checkpoint (the shipped one
    /// when playing with nothing else asked for, see [`app::shipped_checkpoint`]); the
    /// network that checkpoint was trained with (the file is loaded and checked here: one
    /// that cannot be loaded or run is an error, for the game as for `eval`; only a broken
    /// shipped checkpoint is a notice, and the game reports it and starts from random
    /// weights); the research run; the window mode.
    pub fn from_cli(cli: Cli) -> Result<Self, PlanError> {
        Self::with_shipped_checkpoint(cli, &app::shipped_checkpoint())
    }

    /// [`RunPlan::from_cli`] with the shipped checkpoint at `shipped` (tests).
    pub fn with_shipped_checkpoint(cli: Cli, shipped: &Path) -> Result<Self, PlanError> {
        let (mut game, eval) = match cli.command {
            None => (cli.game, false),
            Some(Command::Eval(args)) => (args.game(), true),
            Some(Command::ModelConfig) => return Err(PlanError::NoRun("model-config")),
        };
        let spec = app::resolve_level(game.world.level.as_deref())?;
        let mut notices = Vec::new();
        let takes_shipped = plays_the_shipped_network(&game, eval) && shipped.is_file();
        if takes_shipped {
            game.model.ckpt = Some(shipped.to_path_buf());
            notices.push(format!(
                "starting from the pretrained model {} (--fresh: random weights)",
                app::SHIPPED_CHECKPOINT
            ));
        }
        let level_config = game_model_config_for(&spec);
        let mut model_config = match &game.model.model_config_file {
            Some(file) if file.sets_sketch => file.config.clone(),
            Some(file) => WorldModelConfig {
                sketch_side: level_config.sketch_side,
                ..file.config.clone()
            },
            None => level_config,
        };
        if let Some(path) = &game.model.ckpt {
            match checkpoint_config(path, &model_config) {
                Ok(config) => {
                    game.world.resolution = config.width as u32;
                    model_config = config;
                }
                // The installation's file, not one the player named: the model plugin
                // reports it too and starts from random weights.
                Err(e) if takes_shipped => notices.push(format!(
                    "the pretrained model cannot be used ({e}); starting from random weights"
                )),
                Err(e) => return Err(e),
            }
        }
        // The agent that learns inside the dream needs the game's actions in its config: it
        // drives with `--autopilot dreamer`, and when the player presses G. Timed runs of the
        // other autopilots and `eval` leave it out, so their figures stay those of the world
        // model alone.
        let plays = !eval && game.research.minutes.is_none();
        let dreams = game.research.autopilot == Some(AutopilotMode::Dreamer);
        if (plays || dreams) && !model_config.agent.enabled() {
            model_config.agent.actions = crate::dreamer::action_vectors(game.world.tick_hz);
        }
        let research_run = research_plan(&game, &spec, eval, &mut notices)?;
        let mode = if game.display.headless {
            Mode::Headless
        } else if app::display_available() {
            Mode::Windowed
        } else {
            notices.push(
                "no display found ($DISPLAY is not set); starting headless. \
                 Use --frames N --screenshot view.png to save what the agent sees."
                    .into(),
            );
            Mode::Headless
        };
        let GameArgs {
            world,
            model,
            research,
            display,
        } = game;
        Ok(Self {
            world,
            model,
            research,
            display,
            eval,
            spec,
            model_config,
            research_run,
            mode,
            notices,
        })
    }
}

impl RunPlan {
    /// Checks the run's outputs before it starts, so that a long run never finds out at its
    /// end that it cannot write them, and never replaces an earlier run's files:
    /// - `--report DIR` must not hold an earlier run's `report.json` (nor, for a learning
    ///   run, its `model.ckpt`: an interrupted run leaves only that), which this run would
    ///   replace; it is then created if missing and must be a directory that takes new
    ///   files (a probe file is created and removed);
    /// - `--record DIR` likewise (each recording has a file of its own in it).
    ///
    /// The error is one line naming the flag and the path.
    pub fn check_outputs(&self) -> Result<(), PlanError> {
        if let Some(dir) = &self.research.report {
            let learning = self
                .research_run
                .as_ref()
                .is_some_and(|run| run.minutes.is_some());
            let earlier: &[&str] = if learning {
                &["report.json", "model.ckpt"]
            } else {
                &["report.json"]
            };
            for name in earlier {
                // A dangling link of that name would be replaced too.
                if dir.join(name).symlink_metadata().is_ok() {
                    return Err(PlanError::Output(format!(
                        "--report {} already holds {name} from an earlier run, which this run \
                         would replace; pick another directory",
                        dir.display()
                    )));
                }
            }
            writable_dir("--report", dir)?;
        }
        if let Some(dir) = &self.research.record {
            writable_dir("--record", dir)?;
        }
        Ok(())
    }
}

/// `dir` (the directory of `flag`) exists or is created, and takes new files.
fn writable_dir(flag: &str, dir: &Path) -> Result<(), PlanError> {
    files::probe_writable_dir(dir).map_err(|e| {
        PlanError::Output(format!("{flag} {}: cannot write there: {e}", dir.display()))
    })
}

/// Whether the run starts from the shipped checkpoint (when the file is there): playing (not
/// a research run or `eval`) with the game's network (no --fresh, --ckpt,
/// --model-config-file or other --resolution).
fn plays_the_shipped_network(game: &GameArgs, eval: bool) -> bool {
    !(eval
        || game.model.fresh
        || game.model.ckpt.is_some()
        || game.model.model_config_file.is_some()
        || game.world.resolution != DEFAULT_RESOLUTION
        || game.research.minutes.is_some())
}

/// The network the checkpoint at `path` was trained with (its shape and frame size), so any
/// checkpoint loads. The whole file is loaded and checked first, on the CPU whatever device
/// the game runs on ([`checkpoint::load`]: a bounded read, a valid header config, weights
/// that fit it and are finite), so a model that could not run is refused before the game
/// starts rather than replaced by random weights.
fn checkpoint_config(
    path: &Path,
    learning: &WorldModelConfig,
) -> Result<WorldModelConfig, PlanError> {
    let mut config = checkpoint::load(path, None, &Device::flex())
        .map_err(PlanError::Checkpoint)?
        .meta
        .config;
    let unplayable = |reason: String| PlanError::Unplayable {
        path: path.to_path_buf(),
        reason,
    };
    if config.width != config.height {
        return Err(unplayable(format!(
            "its frame is {}x{}, and the game's camera is square",
            config.width, config.height
        )));
    }
    // How the replay buffer is sampled and the sketch describe this session's online
    // learning, not the predictions (offline training samples uniformly; the sketch only
    // shapes the latent while it learns, and the learner gives a checkpoint without one a
    // fresh one): take them from `learning`, --model-config-file's or the game's.
    config.sampling = learning.sampling;
    config.replay_capacity = learning.replay_capacity;
    config.sketch_side = learning.sketch_side;
    config.sketch_weight = learning.sketch_weight;
    config
        .validate()
        .map_err(|e| unplayable(format!("with this session's learning settings: {e}")))?;
    Ok(config)
}

/// The pilots' comparison on a task level: `episodes` each, none for 0.
fn pilot_plan(own: AutopilotMode, episodes: u64) -> Option<PilotPlan> {
    (episodes > 0).then(|| PilotPlan::for_run(own, episodes))
}

/// The research run the flags ask for (`--minutes`, `--report`, or `eval`), if any. `eval`
/// evaluates the world it starts on; a training run with a report ends on the held-out seed
/// (and `--heldout-level`, if given).
fn research_plan(
    game: &GameArgs,
    spec: &LevelSpec,
    eval: bool,
    notices: &mut Vec<String>,
) -> Result<Option<ResearchPlan>, LevelError> {
    let research = &game.research;
    if research.minutes.is_none() && !eval {
        return Ok(None);
    }
    let autopilot = research.autopilot.unwrap_or_default();
    let seed = spec.seed.unwrap_or(game.world.seed);
    let heldout = match (&research.report, eval) {
        (None, _) => None,
        (Some(_), true) => Some(HeldOutPlan {
            spec: None,
            level: spec.name.clone(),
            seed,
            ticks: research.heldout_ticks,
            autopilot,
            pilots: pilot_plan(autopilot, research.eval_episodes),
            unseen: true,
        }),
        (Some(_), false) => {
            let held_spec = match &research.heldout_level {
                Some(level) => app::resolve_level(Some(level))?,
                None => spec.clone(),
            };
            let held_seed = held_spec.seed.unwrap_or(game.heldout_seed());
            let unseen = held_spec != *spec || held_seed != seed;
            if !unseen {
                notices.push(format!(
                    "level '{}' fixes its seed, so the held-out evaluation runs on the \
                     training world; give --heldout-level another level",
                    spec.name
                ));
            }
            Some(HeldOutPlan {
                level: held_spec.name.clone(),
                spec: Some(held_spec),
                seed: held_seed,
                ticks: research.heldout_ticks,
                autopilot,
                pilots: pilot_plan(autopilot, research.eval_episodes),
                unseen,
            })
        }
    };
    let minutes = if eval { None } else { research.minutes };
    Ok(Some(ResearchPlan {
        minutes,
        report_dir: research.report.clone(),
        heldout,
        run: RunInfo {
            level: spec.name.clone(),
            seed,
            autopilot,
            minutes,
            tick_hz: game.world.tick_hz,
        },
        command: std::env::args().collect::<Vec<_>>().join(" "),
    }))
}

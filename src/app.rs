//! Assembles the game's `App` for a window or for headless, offscreen rendering.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bevy::app::ScheduleRunnerPlugin;
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy::window::ExitCondition;
use bevy::winit::WinitPlugin;
use bevy_procgen::{LevelError, LevelSpec, ProcgenPlugin};
use bevy_world_model::{WorldModelPlugin, utc_timestamp};
use bevy_world_model_ui::WorldModelUiPlugin;

use crate::agent::{AgentPlugin, spawn_agent};
use crate::autopilot::{Autopilot, AutopilotPlugin};
use crate::cli::{Cli, game_model_config};
use crate::controls::{ControlsPlugin, ShippedLevels};
use crate::research::{HeldOutPlan, ResearchPlan, ResearchPlugin, report::RunInfo};
use crate::session::{SessionPlan, SessionPlugin};
use crate::timings::TimingsPlugin;

/// With or without a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A window showing the agent's view and the minimap.
    Windowed,
    /// No window at all: `primary_window: None`, winit disabled, a fixed-rate loop.
    Headless,
}

/// True when an X11 display is available (winit is built for X11 only).
pub fn display_available() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
}

/// Directory of the shipped levels: `assets/levels` under the working directory when it
/// exists (a moved or installed game), else the one in the source checkout.
pub fn levels_dir() -> PathBuf {
    let local = Path::new("assets/levels");
    if local.is_dir() {
        return local.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/levels")
}

/// The asset folder: `levels_dir()`'s parent, absolute, so the asset server finds the
/// levels wherever the binary runs from.
pub fn assets_dir() -> PathBuf {
    let levels = levels_dir();
    let dir = levels
        .parent()
        .map_or_else(|| PathBuf::from("assets"), Path::to_path_buf);
    std::path::absolute(&dir).unwrap_or(dir)
}

/// The shipped pretrained checkpoint, `checkpoints/pretrained.wmck` in [`assets_dir`]
/// (`scripts/pretrain.sh` writes it, with its config and evaluation report beside it).
pub fn shipped_checkpoint() -> PathBuf {
    assets_dir().join(SHIPPED_CHECKPOINT)
}

/// [`shipped_checkpoint`] relative to the asset folder.
pub const SHIPPED_CHECKPOINT: &str = "checkpoints/pretrained.wmck";

/// Names of the shipped levels, sorted (the order N cycles through).
pub fn shipped_level_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(levels_dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

/// The asset path of `--level` when it names a shipped level (those hot-reload); a file
/// elsewhere is read once.
pub fn shipped_asset_path(arg: Option<&str>) -> Option<String> {
    let name = arg.unwrap_or("maze");
    shipped_level_names()
        .iter()
        .any(|n| n == name)
        .then(|| format!("levels/{name}.ron"))
}

/// `--level`: a shipped level name, a path to a RON file, or the default level.
pub fn resolve_level(arg: Option<&str>) -> Result<LevelSpec, LevelError> {
    let Some(arg) = arg else {
        return LevelSpec::load(&levels_dir().join("maze.ron"));
    };
    let as_path = Path::new(arg);
    if as_path.exists() || arg.ends_with(".ron") {
        return LevelSpec::load(as_path);
    }
    let shipped = levels_dir().join(format!("{arg}.ron"));
    if shipped.exists() {
        return LevelSpec::load(&shipped);
    }
    Err(LevelError::Io {
        path: arg.into(),
        reason: format!(
            "no such file, and no shipped level of that name in {}",
            levels_dir().display()
        ),
    })
}

/// The world model as the CLI asks for it: resolution, device, start checkpoint, learning,
/// recording.
pub fn world_model_plugin(cli: &Cli, spec: &LevelSpec) -> WorldModelPlugin {
    let mut plugin = WorldModelPlugin::default();
    let config = cli
        .model_config
        .clone()
        .or_else(|| cli.model_config_file.clone())
        .unwrap_or_else(game_model_config);
    plugin = plugin.with_config(config);
    let mut plugin = plugin
        .with_resolution(cli.resolution, cli.resolution)
        .with_device(cli.device)
        .with_checkpoint_dir(&cli.ckpt_dir)
        .with_learning(!cli.no_learning)
        .with_tick_hz(cli.tick_hz);
    if let Some(path) = &cli.ckpt {
        plugin = plugin.with_checkpoint(path);
    }
    if let Some(dir) = &cli.record {
        let seed = spec.seed.unwrap_or(cli.seed);
        let name = format!("{}-seed{seed}-{}.wmds", spec.name, utc_timestamp());
        plugin = plugin.with_recording(dir.join(name));
    }
    plugin
}

/// The research run the CLI asks for (`--minutes`, `--report`, or `eval`), if any. `eval`
/// evaluates the world it starts on; a training run with a report ends on the held-out seed
/// (and `--heldout-level`, if given).
pub fn research_plan(
    cli: &Cli,
    spec: &LevelSpec,
    eval: bool,
) -> Result<Option<ResearchPlan>, LevelError> {
    if cli.minutes.is_none() && !eval {
        return Ok(None);
    }
    let autopilot = cli.autopilot.unwrap_or_default();
    let seed = spec.seed.unwrap_or(cli.seed);
    let heldout = match (&cli.report, eval) {
        (None, _) => None,
        (Some(_), true) => Some(HeldOutPlan {
            spec: None,
            level: spec.name.clone(),
            seed,
            ticks: cli.heldout_ticks,
            autopilot,
            unseen: true,
        }),
        (Some(_), false) => {
            let held_spec = match &cli.heldout_level {
                Some(level) => resolve_level(Some(level))?,
                None => spec.clone(),
            };
            let held_seed = held_spec.seed.unwrap_or(cli.heldout_seed());
            let unseen = held_spec != *spec || held_seed != seed;
            if !unseen {
                warn!(
                    "level '{}' fixes its seed, so the held-out evaluation runs on the training                      world; give --heldout-level another level",
                    spec.name
                );
            }
            Some(HeldOutPlan {
                level: held_spec.name.clone(),
                spec: Some(held_spec),
                seed: held_seed,
                ticks: cli.heldout_ticks,
                autopilot,
                unseen,
            })
        }
    };
    Ok(Some(ResearchPlan {
        minutes: if eval { None } else { cli.minutes },
        report_dir: cli.report.clone(),
        heldout,
        run: RunInfo {
            level: spec.name.clone(),
            seed,
            autopilot,
            minutes: if eval { None } else { cli.minutes },
            tick_hz: cli.tick_hz,
        },
        command: std::env::args().collect::<Vec<_>>().join(" "),
    }))
}

/// Assets from [`assets_dir`]; `watch` turns on hot reload of level files (not in research
/// runs, which must stay reproducible).
fn asset_plugin(watch: bool) -> AssetPlugin {
    AssetPlugin {
        file_path: assets_dir().display().to_string(),
        watch_for_changes_override: Some(watch),
        ..default()
    }
}

/// Builds the game; with a research plan, a research run of it.
pub fn build(cli: &Cli, spec: LevelSpec, mode: Mode, research: Option<ResearchPlan>) -> App {
    let mut app = App::new();
    // Headless with the autopilot (research, eval, recording) is a simulation: one model tick
    // of 1/tick-hz simulated seconds per frame.
    let simulated = research.is_some() || cli.autopilot.is_some();
    match mode {
        Mode::Windowed => {
            app.add_plugins(
                DefaultPlugins
                    .set(WindowPlugin {
                        primary_window: Some(Window {
                            title: "Mini Dreamer".into(),
                            resolution: (1280, 720).into(),
                            ..default()
                        }),
                        ..default()
                    })
                    .set(asset_plugin(true)),
            );
            if cli.no_ui {
                // The window is still cleared and presented, so the difference is the dashboard.
                app.add_systems(Startup, |mut commands: Commands| {
                    commands.spawn((
                        Camera2d,
                        Camera {
                            order: 10,
                            ..default()
                        },
                        Msaa::Off, // as the dashboard's camera
                    ));
                });
            } else {
                app.add_plugins(
                    WorldModelUiPlugin::with_scale(cli.scale)
                        .with_redraw_every_frame(cli.ui_redraw_every_frame)
                        .with_help(
                            "WASD move · mouse drag, arrows or Q/E turn · L learning · P dream · \
                     R reset latent · [ ] dream temperature · H heatmap · N next level · \
                     F5 save · Esc quit",
                        ),
                );
            }
        }
        Mode::Headless => {
            app.add_plugins(
                DefaultPlugins
                    .set(WindowPlugin {
                        primary_window: None,
                        exit_condition: ExitCondition::DontExit,
                        ..default()
                    })
                    .set(asset_plugin(research.is_none()))
                    .disable::<WinitPlugin>(),
            );
            // One model tick (WorldModelPlugin::with_tick_hz computes the same period).
            let tick = Duration::from_secs_f64(1.0 / cli.tick_hz);
            app.add_plugins(ScheduleRunnerPlugin::run_loop(if cli.uncapped {
                Duration::ZERO
            } else if simulated {
                tick
            } else {
                Duration::from_secs_f64(1.0 / 60.0)
            }));
            if simulated {
                // The same walk on every machine: the world advances a fixed step per frame
                // however long rendering and inference take.
                app.insert_resource(TimeUpdateStrategy::ManualDuration(tick));
            }
        }
    }
    if cli.timings {
        app.add_plugins(TimingsPlugin);
    }
    let resolution = cli.resolution;
    let (autopilot, seed) = (cli.autopilot, cli.seed);
    let mut model = world_model_plugin(cli, &spec);
    if research.is_some() && mode == Mode::Headless {
        // Nothing else needs the CPU between the few frames a second: train on every core.
        model = model.with_trainer_threads(
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        );
    }
    if let Some(plan) = research {
        app.add_plugins(ResearchPlugin { plan });
    }
    let mut procgen = ProcgenPlugin::new(spec).with_seed(cli.seed);
    if let Some(path) = shipped_asset_path(cli.level.as_deref()) {
        procgen = procgen.watching(path);
    }
    app.insert_resource(ShippedLevels {
        names: shipped_level_names(),
        seed: cli.seed,
    });
    app.add_plugins((
        model,
        procgen,
        ControlsPlugin,
        AgentPlugin,
        SessionPlugin(SessionPlan {
            frames: cli.frames,
            screenshot: cli.screenshot.clone(),
            windowed: mode == Mode::Windowed,
        }),
    ))
    .add_plugins(AutopilotPlugin)
    .add_systems(Startup, move |mut commands: Commands| {
        let agent = spawn_agent(&mut commands, resolution);
        if let Some(mode) = autopilot {
            commands
                .entity(agent)
                .insert(Autopilot::with_mode(seed, mode));
        }
    });
    app
}

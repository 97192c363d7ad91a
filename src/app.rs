//! Assembles the game's `App` for a window or for headless, offscreen rendering.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bevy::app::{PluginGroupBuilder, ScheduleRunnerPlugin};
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy::window::ExitCondition;
use bevy::winit::WinitPlugin;
use bevy_procgen::{LEVEL_EXTENSION, LevelError, LevelSpec, ProcgenPlugin, load_level};
use bevy_world_model::{WorldModelPlugin, utc_timestamp};
use bevy_world_model_ui::WorldModelUiPlugin;

use crate::agent::{AgentPlugin, spawn_agent};
use crate::autopilot::{Autopilot, AutopilotMode, AutopilotPlugin};
use crate::cli::RunPlan;
use crate::controls::{ControlsPlugin, ShippedLevels};
use crate::dreamer::{DreamerPlugin, Driver};
use crate::interrupt::InterruptPlugin;
use crate::research::ResearchPlugin;
use crate::session::{SessionPlan, SessionPlugin};
use crate::task::TaskPlugin;
use crate::timings::TimingsPlugin;

/// The dashboard's help line: the keys [`ControlsPlugin`] and the agent wire (the
/// dashboard reads no keys of its own, so the game lists them).
pub const KEY_HELP: &str = "WASD move · mouse drag, arrows or Q/E turn · L learning · P dream · \
     R reset latent · [ ] dream temperature · H heatmap · N next level · G agent drives · F5 save · \
     Esc quit";

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

/// Names of the shipped levels (`NAME.level.ron` files in [`levels_dir`]), sorted (the order
/// N cycles through).
pub fn shipped_level_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(levels_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().into_string().ok()?;
            Some(
                file.strip_suffix(LEVEL_EXTENSION)?
                    .strip_suffix('.')?
                    .to_owned(),
            )
        })
        .collect();
    names.sort();
    names
}

/// The file name of the shipped level `name`: `maze` -> `maze.level.ron`.
fn shipped_level_file(name: &str) -> String {
    format!("{name}.{LEVEL_EXTENSION}")
}

/// The shipped level `--level` names, if it names one: `maze`, `maze.level.ron`, or
/// `maze.ron` (its file's name before level files took the `.level.ron` extension); none
/// (`None`) is `maze`. An existing file of that name wins: it is what was meant.
fn shipped_level_name(arg: Option<&str>) -> Option<String> {
    let name = match arg {
        None => "maze",
        Some(arg) if Path::new(arg).exists() => return None,
        Some(arg) => arg
            .strip_suffix(LEVEL_EXTENSION)
            .and_then(|a| a.strip_suffix('.'))
            .or_else(|| arg.strip_suffix(".ron"))
            .unwrap_or(arg),
    };
    shipped_level_names().into_iter().find(|n| n == name)
}

/// The asset path of `--level` when it names a shipped level (those hot-reload); a file
/// elsewhere is read once.
pub fn shipped_asset_path(arg: Option<&str>) -> Option<String> {
    shipped_level_name(arg).map(|name| format!("levels/{}", shipped_level_file(&name)))
}

/// `--level`: a shipped level (by name, see [`shipped_asset_path`]), a path to a level
/// file, or the default level; checked as the asset loader checks it, so a broken file
/// stops the game before a window opens.
pub fn resolve_level(arg: Option<&str>) -> Result<LevelSpec, LevelError> {
    if let Some(name) = shipped_level_name(arg) {
        return load_level(&levels_dir().join(shipped_level_file(&name)));
    }
    let Some(arg) = arg else {
        // No maze shipped: the error names the file that is missing.
        return load_level(&levels_dir().join(shipped_level_file("maze")));
    };
    let as_path = Path::new(arg);
    if as_path.exists() || arg.ends_with(".ron") {
        return load_level(as_path);
    }
    Err(LevelError::Io {
        path: arg.into(),
        reason: format!(
            "no such file, and no shipped level of that name in {}",
            levels_dir().display()
        ),
    })
}

/// The world model as the run plan asks for it: network, resolution, device, start
/// checkpoint, learning, recording.
pub fn world_model_plugin(plan: &RunPlan) -> WorldModelPlugin {
    let (world, model) = (&plan.world, &plan.model);
    let mut plugin = WorldModelPlugin::default()
        .with_config(plan.model_config.clone())
        .with_resolution(world.resolution, world.resolution)
        .with_device(model.device)
        .with_checkpoint_dir(&model.ckpt_dir)
        .with_learning(!model.no_learning)
        .with_tick_hz(world.tick_hz);
    if let Some(path) = &model.ckpt {
        plugin = plugin.with_checkpoint(path);
    }
    if let Some(dir) = &plan.research.record {
        let seed = plan.spec.seed.unwrap_or(world.seed);
        // The name's file stem, not the name itself: it can never leave `dir` (`../x`).
        // Two runs started in the same second get `...-2.wmds` and so on: the plugin creates
        // the file only if it is new, and takes the next number if not.
        let stem = plan.spec.file_stem();
        let name = format!("{stem}-seed{seed}-{}.wmds", utc_timestamp());
        plugin = plugin.with_recording(dir.join(name));
    }
    plugin
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

/// Bevy's default plugins, without its Ctrl+C handler where [`InterruptPlugin`] handles
/// SIGINT and SIGTERM instead (Linux): Bevy's makes SIGINT an `AppExit` at once, before a
/// research run could save its weights, and leaves SIGTERM fatal.
fn default_plugins() -> PluginGroupBuilder {
    let plugins = DefaultPlugins.build();
    #[cfg(target_os = "linux")]
    let plugins = if plugins.contains::<bevy::app::TerminalCtrlCHandlerPlugin>() {
        plugins.disable::<bevy::app::TerminalCtrlCHandlerPlugin>()
    } else {
        plugins
    };
    plugins
}

/// Builds the game the plan describes; with a research run in it, a research run of it.
pub fn build(plan: &RunPlan) -> App {
    let (world, display, mode) = (&plan.world, &plan.display, plan.mode);
    let research = &plan.research_run;
    let mut app = App::new();
    // Headless with the autopilot (research, eval, recording) is a simulation: one model tick
    // of 1/tick-hz simulated seconds per frame.
    let simulated = research.is_some() || plan.research.autopilot.is_some();
    match mode {
        Mode::Windowed => {
            app.add_plugins(
                default_plugins()
                    .set(WindowPlugin {
                        primary_window: Some(Window {
                            title: "Mini Dreamer".into(),
                            resolution: display.window.into(),
                            ..default()
                        }),
                        ..default()
                    })
                    .set(asset_plugin(true)),
            );
            if display.no_ui {
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
                    WorldModelUiPlugin::with_scale(display.scale)
                        .with_redraw_every_frame(display.ui_redraw_every_frame)
                        .with_title("Mini Dreamer")
                        .with_help(KEY_HELP),
                );
            }
        }
        Mode::Headless => {
            app.add_plugins(
                default_plugins()
                    .set(WindowPlugin {
                        primary_window: None,
                        exit_condition: ExitCondition::DontExit,
                        ..default()
                    })
                    .set(asset_plugin(research.is_none()))
                    .disable::<WinitPlugin>(),
            );
            // One model tick (WorldModelPlugin::with_tick_hz computes the same period).
            let tick = Duration::from_secs_f64(1.0 / world.tick_hz);
            let paced_by_research = research.as_ref().is_some_and(|r| r.minutes.is_some());
            app.add_plugins(ScheduleRunnerPlugin::run_loop(
                if display.uncapped || paced_by_research {
                    Duration::ZERO
                } else if simulated {
                    tick
                } else {
                    Duration::from_secs_f64(1.0 / 60.0)
                },
            ));
            if simulated {
                // The same walk on every machine: the world advances a fixed step per frame
                // however long rendering and inference take.
                app.insert_resource(TimeUpdateStrategy::ManualDuration(tick));
            }
        }
    }
    app.add_plugins(InterruptPlugin);
    if display.timings {
        app.add_plugins(TimingsPlugin);
    }
    let resolution = world.resolution;
    let (autopilot, seed) = (plan.research.autopilot, world.seed);
    let prefill = plan.prefill_ticks();

    let mut model = world_model_plugin(plan);
    if research.is_some() && mode == Mode::Headless {
        // Nothing else needs the CPU between the few frames a second: train on every core.
        model = model.with_trainer_threads(
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        );
    }
    if let Some(research) = research {
        // Learning frames are paced by the research run itself, so that the evaluation after
        // learning runs frames back to back.
        let paced = mode == Mode::Headless && research.minutes.is_some() && !display.uncapped;
        app.add_plugins(ResearchPlugin {
            plan: research.clone(),
            training_pace: paced.then(|| Duration::from_secs_f64(1.0 / world.tick_hz)),
        });
    }
    let mut procgen = ProcgenPlugin::new(plan.spec.clone()).with_seed(world.seed);
    if let Some(path) = shipped_asset_path(world.level.as_deref()) {
        procgen = procgen.watching(path);
    }
    app.insert_resource(ShippedLevels {
        names: shipped_level_names(),
        seed: world.seed,
    });
    app.add_plugins((
        model,
        procgen,
        ControlsPlugin,
        AgentPlugin,
        SessionPlugin(SessionPlan {
            frames: display.frames,
            screenshot: display.screenshot.clone(),
            windowed: mode == Mode::Windowed,
        }),
    ))
    .add_plugins((
        AutopilotPlugin,
        TaskPlugin,
        DreamerPlugin {
            seed,
            driver: if autopilot == Some(AutopilotMode::Dreamer) {
                Driver::Agent
            } else {
                Driver::Player
            },
            prefill_ticks: prefill,
        },
    ))
    .add_systems(Startup, move |mut commands: Commands| {
        let agent = spawn_agent(&mut commands, resolution);
        if let Some(mode) = autopilot {
            // During the prefill the random walk drives ([`DreamerPlugin::prefill_ticks`]).
            let mode = if prefill > 0 {
                AutopilotMode::Random
            } else {
                mode
            };
            commands
                .entity(agent)
                .insert(Autopilot::with_mode(seed, mode));
        }
    });
    app
}

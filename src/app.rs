//! Assembles the game's `App` for a window or for headless, offscreen rendering.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bevy::app::ScheduleRunnerPlugin;
use bevy::prelude::*;
use bevy::window::ExitCondition;
use bevy::winit::WinitPlugin;
use bevy_procgen::{LevelError, LevelSpec, ProcgenPlugin};
use bevy_world_model::WorldModelPlugin;
use bevy_world_model_ui::WorldModelUiPlugin;

use crate::agent::{AgentPlugin, spawn_agent};
use crate::autopilot::{Autopilot, AutopilotPlugin};
use crate::cli::Cli;
use crate::controls::ControlsPlugin;
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

/// The world model as the CLI asks for it: resolution, device, start checkpoint, learning.
pub fn world_model_plugin(cli: &Cli) -> WorldModelPlugin {
    let mut plugin = WorldModelPlugin::default()
        .with_resolution(cli.resolution, cli.resolution)
        .with_device(cli.device)
        .with_checkpoint_dir(&cli.ckpt_dir)
        .with_learning(!cli.no_learning);
    if let Some(path) = &cli.ckpt {
        plugin = plugin.with_checkpoint(path);
    }
    plugin
}

/// Builds the game.
pub fn build(cli: &Cli, spec: LevelSpec, mode: Mode) -> App {
    let mut app = App::new();
    match mode {
        Mode::Windowed => {
            app.add_plugins(DefaultPlugins.set(WindowPlugin {
                primary_window: Some(Window {
                    title: "Mini Dreamer".into(),
                    resolution: (1280, 720).into(),
                    ..default()
                }),
                ..default()
            }));
            if cli.no_ui {
                // The window is still cleared and presented, so the difference is the dashboard.
                app.add_systems(Startup, |mut commands: Commands| {
                    commands.spawn((
                        Camera2d,
                        Camera {
                            order: 10,
                            ..default()
                        },
                    ));
                });
            } else {
                app.add_plugins(WorldModelUiPlugin::with_scale(cli.scale));
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
                    .disable::<WinitPlugin>(),
            )
            .add_plugins(ScheduleRunnerPlugin::run_loop(if cli.uncapped {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(1.0 / 60.0)
            }));
        }
    }
    if cli.timings {
        app.add_plugins(TimingsPlugin);
    }
    let resolution = cli.resolution;
    let (autopilot, seed) = (cli.autopilot, cli.seed);
    app.add_plugins((
        ProcgenPlugin::new(spec).with_seed(cli.seed),
        world_model_plugin(cli),
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
        if autopilot {
            commands.entity(agent).insert(Autopilot::new(seed));
        }
    });
    app
}

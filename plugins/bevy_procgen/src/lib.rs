//! # bevy_procgen
//!
//! Seeded procedural levels for Bevy: a grid of walls from one of four generators (maze,
//! rooms and corridors, caves, scatter) with guaranteed connectivity, props, baked light and
//! fog, merged into four meshes; the grid stays available as [`CurrentLevel`] for collision
//! ([`CurrentLevel::slide`]) and minimaps. Level files (`*.level.ron`) load through the asset
//! system ([`LevelLoader`]) and hot-reload. A level may set a task ([`TaskSpec`]: reach a
//! goal, collect pickups): [`CurrentTask`] plays its episodes and the plugin draws its goals.
//!
//! ```no_run
//! use bevy::prelude::*;
//! use bevy_procgen::{LevelSpec, ProcgenPlugin};
//!
//! App::new()
//!     .add_plugins(DefaultPlugins)
//!     .add_plugins(ProcgenPlugin::new(LevelSpec::default()).with_seed(7))
//!     .run();
//! ```
//!
//! Levels are RON files ([`LevelSpec`]); see `assets/levels/` and the README for the format.
//!
//! The modules build on each other in one direction, each using only those before it:
//! [`spec`] (the file format, its checks and errors) -> [`grid`] (the level as data,
//! collision) -> [`generate`] (a spec laid out into a grid; level files read and tried) ->
//! [`task`] (goals, rewards and episodes on a grid) -> [`mesh`] -> [`asset`] -> [`plugin`].
//! So the format can be read without the generators, a grid used without knowing how it was
//! made, and a task played without Bevy's ECS.
#![warn(missing_docs)]

pub mod asset;
pub mod generate;
pub mod grid;
pub mod mesh;
pub mod plugin;
pub mod spec;
pub mod task;

pub use asset::{LevelAsset, LevelLoader};
pub use generate::{load_level, parse_level};
pub use grid::{Fnv1a, Grid, Prop, PropKind, SeedRng};
pub use plugin::{
    CurrentLevel, CurrentTask, GoalMarker, LevelEvent, LevelRoot, LoadLevel, LoadLevelFile,
    MinimapFocus, ProcgenPlugin, ProcgenSystems, WatchedLevel,
};
pub use spec::{
    FORMAT_VERSION, Fog, Generator, LEVEL_EXTENSION, LevelError, LevelSpec, Lighting, NoiseSpec,
    Palette, Props, Spawn, TaskKind, TaskSpec,
};
pub use task::{Goal, GoalKind, TaskRun, TaskStep};

//! # bevy_procgen
//!
//! Seeded procedural levels for Bevy: a grid of walls with guaranteed connectivity, floor
//! and ceiling, coloured with noise and merged into three meshes; the grid stays available
//! as [`CurrentLevel`] for collision ([`CurrentLevel::slide`]) and minimaps.
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
#![warn(missing_docs)]

pub mod grid;
pub mod mesh;
pub mod plugin;
pub mod spec;

pub use grid::{Fnv1a, Grid, SeedRng};
pub use plugin::{
    CurrentLevel, LevelEvent, LevelRoot, LoadLevel, MinimapFocus, ProcgenPlugin, ProcgenSystems,
};
pub use spec::{LevelError, LevelSpec, Palette};

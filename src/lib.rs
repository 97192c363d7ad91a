//! The Mini Dreamer demo game: CLI, the agent and its controls, run control, app assembly.
//! The reusable parts live in `plugins/`.

pub mod agent;
pub mod app;
pub mod autopilot;
pub mod cli;
pub mod controls;
pub mod dreamer;
pub mod interrupt;
pub mod research;
pub mod session;
pub mod task;
pub mod timings;

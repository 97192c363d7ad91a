//! Shared helpers for the game's integration tests.

use std::time::Duration;

use bevy::input::InputPlugin;
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy_procgen::{LevelSpec, ProcgenPlugin};
use mini_dreamer::agent::AgentPlugin;
use mini_dreamer::autopilot::AutopilotPlugin;

/// A headless app (no renderer) with the level `spec` at `seed`, the agent's systems and the
/// autopilot's, stepping 1/30 s per update, with `agent` spawned.
pub fn walking_app(spec: LevelSpec, seed: u64, agent: impl Bundle) -> App {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin::default(),
        TransformPlugin,
        InputPlugin,
    ))
    .init_asset::<Mesh>()
    .init_asset::<StandardMaterial>()
    .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f64(
        1.0 / 30.0,
    )))
    .add_plugins((
        ProcgenPlugin::new(spec).with_seed(seed),
        AgentPlugin,
        AutopilotPlugin,
    ));
    app.world_mut().spawn(agent);
    app.finish();
    app.cleanup();
    app
}

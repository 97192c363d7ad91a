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
#[allow(dead_code)] // not every test binary needs it
pub fn walking_app(spec: LevelSpec, seed: u64, agent: impl Bundle) -> App {
    walking_app_with(spec, seed, agent, |_| {})
}

/// [`walking_app`] with more plugins and systems, added by `setup` before the app is
/// finished.
#[allow(dead_code)] // not every test binary needs it
pub fn walking_app_with(
    spec: LevelSpec,
    seed: u64,
    agent: impl Bundle,
    setup: impl FnOnce(&mut App),
) -> App {
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
    setup(&mut app);
    app.finish();
    app.cleanup();
    app
}

//! The autopilot explores: over a simulated minute it covers many cells of a maze and never
//! overlaps a wall, without any input.

use std::collections::HashSet;
use std::time::Duration;

use bevy::input::InputPlugin;
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy_procgen::{CurrentLevel, LevelSpec, ProcgenPlugin};
use mini_dreamer::agent::{Agent, AgentPlugin};
use mini_dreamer::autopilot::{Autopilot, AutopilotPlugin};

#[test]
fn the_autopilot_explores_without_touching_walls() {
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
        ProcgenPlugin::new(LevelSpec::default()).with_seed(11),
        AgentPlugin,
        AutopilotPlugin,
    ));
    app.world_mut()
        .spawn((Agent::default(), Autopilot::new(11)));
    app.finish();
    app.cleanup();

    let mut cells = HashSet::new();
    let mut turned = 0.0f32;
    let mut last_yaw = None;
    for _ in 0..1800 {
        app.update();
        let (agent, t) = app
            .world_mut()
            .query::<(&Agent, &Transform)>()
            .single(app.world())
            .map(|(a, t)| (*a, *t))
            .unwrap();
        let level = app.world().resource::<CurrentLevel>();
        let pos = level.world_to_cells(t.translation);
        assert!(
            !level
                .grid
                .overlaps(pos, agent.radius / level.spec.cell_size * 0.99),
            "overlaps a wall at {pos}"
        );
        cells.insert(pos.floor().as_ivec2());
        let yaw = t.rotation.to_euler(EulerRot::YXZ).0;
        if let Some(prev) = last_yaw {
            let d: f32 = yaw - prev;
            turned += d.sin().abs();
        }
        last_yaw = Some(yaw);
    }
    eprintln!("visited {} cells, turned {turned:.1}", cells.len());
    assert!(
        cells.len() >= 30,
        "visited only {} cells in a minute",
        cells.len()
    );
    assert!(turned > 3.0, "the walk turns (total |sin dyaw| {turned})");
}

//! The autopilot explores: over a simulated minute it covers many cells of a maze and never
//! overlaps a wall, without any input.

mod common;

use bevy::prelude::*;
use bevy_procgen::{CurrentLevel, LevelSpec};
use mini_dreamer::agent::Agent;
use mini_dreamer::autopilot::Autopilot;
use std::collections::HashSet;

#[test]
fn the_autopilot_explores_without_touching_walls() {
    let mut app = common::walking_app(
        LevelSpec::default(),
        11,
        (Agent::default(), Autopilot::new(11)),
    );

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

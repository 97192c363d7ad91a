//! The agent walks with collision: holding W in a corridor never passes the end wall, and
//! it never overlaps a wall on a random walk through a generated maze.

mod common;

use bevy::prelude::*;
use bevy_procgen::{CurrentLevel, LevelSpec};
use mini_dreamer::agent::{Agent, AgentAction, AgentSystems};

fn app(spec: LevelSpec) -> App {
    common::walking_app(spec, 3, Agent::default())
}

fn agent_pos(app: &mut App) -> Vec3 {
    app.world_mut()
        .query_filtered::<&Transform, With<Agent>>()
        .single(app.world())
        .unwrap()
        .translation
}

#[test]
fn holding_forward_stops_at_the_wall() {
    // The agent starts facing -z, so the corridor runs north from S.
    let spec = LevelSpec {
        layout: Some(vec![
            "###".into(),
            "#.#".into(),
            "#.#".into(),
            "#S#".into(),
            "###".into(),
        ]),
        ..Default::default()
    };
    let mut app = app(spec);
    app.update();
    let start = agent_pos(&mut app);
    app.world_mut()
        .resource_mut::<ButtonInput<KeyCode>>()
        .press(KeyCode::KeyW);
    for _ in 0..300 {
        app.update();
    }
    let end = agent_pos(&mut app);
    let level = app.world().resource::<CurrentLevel>();
    let cs = level.spec.cell_size;
    let radius = Agent::default().radius;
    assert!(
        end.z < start.z - cs,
        "the agent walked forward: {start} -> {end}"
    );
    assert!(
        end.z >= cs + radius - 1e-3,
        "the agent stopped at the end wall's face, not inside it: z = {}",
        end.z
    );
    assert!((end.x - start.x).abs() < 1e-4, "no sideways drift");
}

/// Feeds random actions directly, as an autopilot would.
fn random_actions(mut q: Query<&mut AgentAction>, mut n: Local<u32>) {
    *n = n.wrapping_mul(1_103_515_245).wrapping_add(12_345);
    let r = |k: u32| ((*n >> k) & 0xff) as f32 / 127.5 - 1.0;
    for mut a in &mut q {
        *a = AgentAction {
            forward: r(0).abs() * 0.5 + 0.5,
            strafe: r(8),
            yaw: r(16),
        };
    }
}

#[test]
fn random_walk_never_enters_a_wall() {
    let mut app = app(LevelSpec::default());
    app.add_systems(
        Update,
        random_actions
            .after(AgentSystems::Input)
            .before(AgentSystems::Move),
    );
    for _ in 0..3000 {
        app.update();
        let pos = agent_pos(&mut app);
        let level = app.world().resource::<CurrentLevel>();
        let cells = level.world_to_cells(pos);
        let r = Agent::default().radius / level.spec.cell_size;
        assert!(
            !level.grid.overlaps(cells, r * 0.999),
            "agent inside a wall at {pos}"
        );
    }
}

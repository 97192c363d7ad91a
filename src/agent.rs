//! The agent: a first-person body that walks the level with collision and carries the
//! camera the world model sees through.

use bevy::input::mouse::AccumulatedMouseMotion;
use bevy::prelude::*;
use bevy_procgen::{CurrentLevel, MinimapFocus, ProcgenSystems};
use bevy_world_model::{WorldModelCamera, WorldModelReward};

/// Movement parameters of an agent.
#[derive(Component, Clone, Copy, Debug)]
#[require(AgentAction, Transform, MinimapFocus)]
pub struct Agent {
    /// Metres per second at full forward input.
    pub speed: f32,
    /// Radians per second at full turn input.
    pub turn_speed: f32,
    /// Collision radius in metres.
    pub radius: f32,
    /// Camera height above the floor in metres.
    pub eye_height: f32,
}

impl Default for Agent {
    fn default() -> Self {
        Self {
            speed: 3.0,
            turn_speed: 2.2,
            radius: 0.3,
            eye_height: 1.2,
        }
    }
}

/// What the agent is asked to do this frame, each in `[-1, 1]`: forward (+) / back (-),
/// strafe right (+) / left (-), turn left (+) / right (-). Input systems write it; movement
/// reads it; the world model will use it as the action.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq)]
pub struct AgentAction {
    /// Forward speed share.
    pub forward: f32,
    /// Sideways speed share.
    pub strafe: f32,
    /// Turn rate share.
    pub yaw: f32,
}

/// Ordering of the agent's systems, in `Update`.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum AgentSystems {
    /// Reads keyboard and mouse into [`AgentAction`].
    Input,
    /// Applies [`AgentAction`] with collision.
    Move,
}

/// Agent input, movement and placement at level start.
pub struct AgentPlugin;

impl Plugin for AgentPlugin {
    fn build(&self, app: &mut App) {
        app.configure_sets(
            Update,
            (AgentSystems::Input, AgentSystems::Move)
                .chain()
                .after(ProcgenSystems::Spawn),
        )
        .add_systems(
            Update,
            (
                read_input.in_set(AgentSystems::Input),
                (place_at_start, move_agent)
                    .chain()
                    .in_set(AgentSystems::Move),
            ),
        );
    }
}

/// Spawns the agent with its first-person camera. The camera renders nothing itself (a
/// full-window 3D view is too slow on a software renderer): the world model's capture view
/// follows it and renders the 64x64 view the dashboard shows scaled up.
pub fn spawn_agent(commands: &mut Commands, resolution: u32) -> Entity {
    commands
        .spawn((
            Name::new("Agent"),
            Agent::default(),
            Camera3d::default(),
            Camera {
                order: -1,
                clear_color: ClearColorConfig::Custom(Color::srgb(0.05, 0.05, 0.07)),
                is_active: false,
                ..default()
            },
            Projection::Perspective(PerspectiveProjection {
                fov: 75f32.to_radians(),
                near: 0.05,
                ..default()
            }),
            Msaa::Off,
            WorldModelCamera {
                width: resolution,
                height: resolution,
            },
            // What the level's task pays each tick (nothing on a level without one).
            WorldModelReward::default(),
        ))
        .id()
}

pub(crate) fn read_input(
    keys: Option<Res<ButtonInput<KeyCode>>>,
    mouse: Option<Res<ButtonInput<MouseButton>>>,
    motion: Option<Res<AccumulatedMouseMotion>>,
    mut agents: Query<&mut AgentAction, With<Agent>>,
) {
    let Some(keys) = keys else {
        return;
    };
    let axis = |pos: &[KeyCode], neg: &[KeyCode]| {
        (keys.any_pressed(pos.iter().copied()) as i32
            - keys.any_pressed(neg.iter().copied()) as i32) as f32
    };
    let forward = axis(&[KeyCode::KeyW], &[KeyCode::KeyS]);
    let strafe = axis(&[KeyCode::KeyD], &[KeyCode::KeyA]);
    let mut yaw = axis(
        &[KeyCode::ArrowLeft, KeyCode::KeyQ],
        &[KeyCode::ArrowRight, KeyCode::KeyE],
    );
    if let (Some(mouse), Some(motion)) = (mouse, motion)
        && mouse.pressed(MouseButton::Left)
    {
        yaw -= motion.delta.x * 0.05;
    }
    for mut action in &mut agents {
        *action = AgentAction {
            forward,
            strafe,
            yaw: yaw.clamp(-1.0, 1.0),
        };
    }
}

/// Puts agents on the start cell whenever a new level spawns; when the level was only
/// edited (hot reload), agents stay where they are if that is still free, else move to the
/// nearest free cell.
fn place_at_start(
    level: Option<Res<CurrentLevel>>,
    mut seen: Local<u64>,
    mut agents: Query<(&Agent, &mut Transform)>,
) {
    let Some(level) = level else {
        return;
    };
    if *seen == level.generation {
        return;
    }
    *seen = level.generation;
    for (agent, mut t) in &mut agents {
        let radius = agent.radius / level.spec.cell_size;
        if level.reloaded {
            let pos = level.world_to_cells(t.translation);
            if !level.grid.overlaps(pos, radius) {
                continue;
            }
            if let Some(cell) = nearest_free_cell(&level, pos, radius) {
                t.translation = level.cell_center(cell) + Vec3::Y * agent.eye_height;
                continue;
            }
        }
        place_at_spawn(&level, agent, &mut t);
    }
}

/// Puts an agent on the level's start cell, facing down its longest open run.
pub(crate) fn place_at_spawn(level: &CurrentLevel, agent: &Agent, t: &mut Transform) {
    t.translation = level.cell_center(level.grid.start()) + Vec3::Y * agent.eye_height;
    t.rotation = Quat::from_rotation_y(level.start_yaw());
}

/// The open cell nearest `pos` (cells) whose centre a circle of `radius` fits in.
fn nearest_free_cell(level: &CurrentLevel, pos: Vec2, radius: f32) -> Option<IVec2> {
    level
        .grid
        .open_cells()
        .filter(|c| !level.grid.overlaps(c.as_vec2() + Vec2::splat(0.5), radius))
        .min_by(|a, b| {
            let da = (a.as_vec2() + Vec2::splat(0.5)).distance_squared(pos);
            let db = (b.as_vec2() + Vec2::splat(0.5)).distance_squared(pos);
            da.total_cmp(&db)
        })
}

/// Turns and moves agents by their action, sliding along walls.
pub fn move_agent(
    time: Res<Time>,
    level: Option<Res<CurrentLevel>>,
    mut agents: Query<(&Agent, &AgentAction, &mut Transform)>,
) {
    let Some(level) = level else {
        return;
    };
    let dt = time.delta_secs().min(0.1);
    for (agent, action, mut t) in &mut agents {
        t.rotate_y(action.yaw * agent.turn_speed * dt);
        let forward = t.forward().as_vec3();
        let right = t.right().as_vec3();
        let dir = forward * action.forward + right * action.strafe;
        let delta = Vec2::new(dir.x, dir.z).clamp_length_max(1.0) * agent.speed * dt;
        t.translation = level.slide(t.translation, delta, agent.radius);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy_procgen::{Grid, LevelSpec};

    #[test]
    fn after_an_edit_walls_push_the_agent_to_the_nearest_free_cell() {
        let spec = LevelSpec {
            layout: Some(vec![
                "#######".into(),
                "#S....#".into(),
                "###.###".into(),
                "#######".into(),
            ]),
            ..Default::default()
        };
        let level = CurrentLevel {
            grid: Grid::from_spec(&spec, 0).unwrap(),
            spec,
            seed: 0,
            generation: 2,
            reloaded: true,
        };
        // Standing inside the wall at (3, 3): the nearest free cell is (3, 2).
        let cell = nearest_free_cell(&level, Vec2::new(3.5, 3.4), 0.15);
        assert_eq!(cell, Some(IVec2::new(3, 2)));
        // Far right in the wall: (5, 1).
        let cell = nearest_free_cell(&level, Vec2::new(6.5, 1.5), 0.15);
        assert_eq!(cell, Some(IVec2::new(5, 1)));
    }
}

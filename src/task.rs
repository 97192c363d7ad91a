//! Plays the level's task ([`CurrentTask`]) once per model tick: where the agent stands after
//! the tick's movement decides what the tick pays ([`TaskRun::step`](bevy_procgen::TaskRun::step)), which goes to the world
//! model through [`WorldModelReward`] on the agent's camera, paired with the tick's frame.
//! When an episode ends (goal reached, time up), the agent reappears at the start on the next
//! tick, and that tick's frame starts the next episode with its goals placed again.

use bevy::prelude::*;
use bevy_procgen::{CurrentLevel, CurrentTask, Goal, ProcgenSystems};
use bevy_world_model::{EpisodeEnd, ModelClock, WorldModelCamera, WorldModelReward};

use crate::agent::{Agent, AgentSystems, place_at_spawn};

/// An episode of the level's task that ended.
#[derive(Message, Clone, Copy, Debug, PartialEq)]
pub struct EpisodeEnded {
    /// Its number in this level (0-based).
    pub episode: u64,
    /// The model tick it ended at (the next episode starts at the tick after).
    pub tick: u64,
    /// Rewards summed over it.
    pub episode_return: f32,
    /// Ticks it lasted.
    pub ticks: u32,
    /// Every goal was taken (else the time ran out).
    pub success: bool,
    /// The [`CurrentLevel::generation`] it was played in, to tell a level loaded again apart.
    pub generation: u64,
}

/// A model tick of the task: whether a goal left to take was in the agent's view, which is
/// what the reward head can see when it predicts the next tick's reward (research reports
/// split its error by it).
#[derive(Message, Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskTicked {
    /// The model tick.
    pub tick: u64,
    /// Some goal not yet taken was inside the view and not behind a wall.
    pub goal_in_view: bool,
}

/// Where the task stands between ticks.
#[derive(Resource, Debug, Default)]
struct TaskTicks {
    /// The model tick stepped last.
    last_tick: Option<u64>,
    /// The level generation the task belongs to.
    generation: Option<u64>,
    /// The last tick ended the episode: respawn at the next.
    respawn: bool,
}

/// Steps the level's task each model tick (in `Update`, after the agent moved, before the
/// goals are drawn).
pub struct TaskPlugin;

impl Plugin for TaskPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<TaskTicks>()
            .add_message::<EpisodeEnded>()
            .add_message::<TaskTicked>()
            .add_systems(
                Update,
                play_task
                    .after(AgentSystems::Move)
                    .before(ProcgenSystems::Goals),
            );
    }
}

fn play_task(
    clock: Option<Res<ModelClock>>,
    level: Option<Res<CurrentLevel>>,
    task: Option<ResMut<CurrentTask>>,
    mut ticks: ResMut<TaskTicks>,
    mut agents: Query<(
        &Agent,
        &mut Transform,
        Option<&mut WorldModelReward>,
        Option<&Projection>,
        Option<&WorldModelCamera>,
    )>,
    mut ended: MessageWriter<EpisodeEnded>,
    mut ticked: MessageWriter<TaskTicked>,
) {
    // Without a world model's clock there are no ticks to pay.
    let (Some(clock), Some(level), Some(mut task)) = (clock, level, task) else {
        return;
    };
    if task.generation != level.generation {
        return; // the level is being replaced
    }
    if ticks.generation != Some(level.generation) {
        // A new level (or the same one edited): its first episode starts where the agent
        // was placed.
        *ticks = TaskTicks {
            generation: Some(level.generation),
            ..default()
        };
    }
    if ticks.last_tick == Some(clock.tick) {
        return;
    }
    ticks.last_tick = Some(clock.tick);
    let Some((agent, mut transform, reward, projection, camera)) = agents.iter_mut().next() else {
        return;
    };
    let half_width = projection.and_then(|p| half_view_width(p, camera));
    let sighting = |transform: &Transform, task: &CurrentTask| TaskTicked {
        tick: clock.tick,
        goal_in_view: half_width
            .is_some_and(|h| goal_in_view(&level, task.run.goals(), transform, h)),
    };
    if ticks.respawn {
        // Nothing is paid for reappearing: this frame starts the next episode.
        ticks.respawn = false;
        place_at_spawn(&level, agent, &mut transform);
        task.run.next_episode();
        ticked.write(sighting(&transform, &task));
        return;
    }
    let step = task.run.step(level.world_to_cells(transform.translation));
    if let Some(mut reward) = reward {
        reward.pay(step.reward);
        reward.end = if step.terminal {
            Some(EpisodeEnd::Terminal)
        } else if step.truncated {
            Some(EpisodeEnd::Truncated)
        } else {
            None
        };
    }
    ticked.write(sighting(&transform, &task));
    if step.terminal || step.truncated {
        ended.write(EpisodeEnded {
            episode: task.run.episode(),
            tick: clock.tick,
            episode_return: task.run.episode_return(),
            ticks: task.run.ticks(),
            success: step.success,
            generation: level.generation,
        });
        ticks.respawn = true;
    }
}

/// Half the horizontal angle of a perspective camera's view (radians), with the aspect of
/// the world model's frame when the camera has one; `None` for other projections.
fn half_view_width(projection: &Projection, camera: Option<&WorldModelCamera>) -> Option<f32> {
    let Projection::Perspective(p) = projection else {
        return None;
    };
    let aspect = camera.map_or(p.aspect_ratio, |c| c.width as f32 / c.height.max(1) as f32);
    Some(((p.fov * 0.5).tan() * aspect).atan())
}

/// Whether some goal not yet taken is within `half_width` radians of where `eye` looks and
/// no wall stands between them (sampled every tenth of a cell along the line).
pub fn goal_in_view(
    level: &CurrentLevel,
    goals: &[Goal],
    eye: &Transform,
    half_width: f32,
) -> bool {
    let from = level.world_to_cells(eye.translation);
    let forward = eye.forward();
    let forward = Vec2::new(forward.x, forward.z).normalize_or_zero();
    goals.iter().filter(|g| !g.taken).any(|g| {
        let to = g.cell.as_vec2() + Vec2::splat(0.5);
        let way = to - from;
        let dist = way.length();
        if dist < 1e-3 {
            return true;
        }
        if forward.angle_to(way).abs() > half_width {
            return false;
        }
        let samples = (dist * 10.0).ceil() as usize;
        (1..samples).all(|i| {
            let p = from + way * (i as f32 / samples as f32);
            !level.grid.is_wall(p.floor().as_ivec2())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy_procgen::{GoalKind, Grid, LevelSpec};
    use std::f32::consts::FRAC_PI_4;

    fn level() -> CurrentLevel {
        let spec = LevelSpec {
            layout: Some(vec![
                "#######".into(),
                "#S....#".into(),
                "#.##..#".into(),
                "#.....#".into(),
                "#######".into(),
            ]),
            ..Default::default()
        };
        CurrentLevel {
            grid: Grid::from_spec(&spec, 0).unwrap(),
            spec,
            seed: 0,
            generation: 1,
            reloaded: false,
        }
    }

    fn goal(x: i32, z: i32) -> Goal {
        Goal {
            cell: IVec2::new(x, z),
            kind: GoalKind::Goal,
            taken: false,
        }
    }

    /// Standing at the centre of `cell`, looking along `dir` (x, z).
    fn eye(level: &CurrentLevel, cell: IVec2, dir: Vec3) -> Transform {
        let at = level.cell_center(cell) + Vec3::Y;
        Transform::from_translation(at).looking_to(dir, Vec3::Y)
    }

    #[test]
    fn a_goal_is_in_view_inside_the_angle_and_not_behind_a_wall() {
        let level = level();
        let east = eye(&level, IVec2::new(1, 1), Vec3::X);
        // Straight ahead down the corridor.
        assert!(goal_in_view(&level, &[goal(5, 1)], &east, FRAC_PI_4));
        // Behind, and 90 degrees to the side: out of a 90-degree view.
        assert!(!goal_in_view(&level, &[goal(1, 3)], &east, FRAC_PI_4));
        // Inside a view wider than a right angle, but the wall at (2, 2) is in the way.
        assert!(!goal_in_view(&level, &[goal(3, 3)], &east, 1.6));
        // Down the open column to the south.
        let south = eye(&level, IVec2::new(1, 1), Vec3::Z);
        assert!(goal_in_view(&level, &[goal(1, 3)], &south, FRAC_PI_4));
        // A taken goal is not looked for.
        let mut taken = goal(5, 1);
        taken.taken = true;
        assert!(!goal_in_view(&level, &[taken], &east, FRAC_PI_4));
    }

    #[test]
    fn the_view_width_follows_the_frame_aspect() {
        let projection = Projection::Perspective(PerspectiveProjection {
            fov: 90f32.to_radians(),
            ..default()
        });
        let square = WorldModelCamera {
            width: 64,
            height: 64,
        };
        let half = half_view_width(&projection, Some(&square)).unwrap();
        assert!((half - FRAC_PI_4).abs() < 1e-5, "{half}");
        let wide = WorldModelCamera {
            width: 128,
            height: 64,
        };
        let half = half_view_width(&projection, Some(&wide)).unwrap();
        assert!((half - 2f32.atan()).abs() < 1e-5, "{half}");
    }
}

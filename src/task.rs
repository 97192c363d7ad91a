//! Plays the level's task ([`CurrentTask`]) once per model tick: where the agent stands after
//! the tick's movement decides what the tick pays ([`TaskRun::step`](bevy_procgen::TaskRun::step)), which goes to the world
//! model through [`WorldModelReward`] on the agent's camera, paired with the tick's frame.
//! When an episode ends (goal reached, time up), the agent reappears at the start on the next
//! tick, and that tick's frame starts the next episode with its goals placed again.

use bevy::prelude::*;
use bevy_procgen::{CurrentLevel, CurrentTask, ProcgenSystems};
use bevy_world_model::{EpisodeEnd, ModelClock, WorldModelReward};

use crate::agent::{Agent, AgentSystems, place_at_spawn};

/// An episode of the level's task that ended.
#[derive(Message, Clone, Copy, Debug, PartialEq)]
pub struct EpisodeEnded {
    /// Its number in this level (0-based).
    pub episode: u64,
    /// Rewards summed over it.
    pub episode_return: f32,
    /// Ticks it lasted.
    pub ticks: u32,
    /// Every goal was taken (else the time ran out).
    pub success: bool,
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
    mut agents: Query<(&Agent, &mut Transform, Option<&mut WorldModelReward>)>,
    mut ended: MessageWriter<EpisodeEnded>,
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
    let Some((agent, mut transform, reward)) = agents.iter_mut().next() else {
        return;
    };
    if ticks.respawn {
        // Nothing is paid for reappearing: this frame starts the next episode.
        ticks.respawn = false;
        place_at_spawn(&level, agent, &mut transform);
        task.run.next_episode();
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
    if step.terminal || step.truncated {
        ended.write(EpisodeEnded {
            episode: task.run.episode(),
            episode_return: task.run.episode_return(),
            ticks: task.run.ticks(),
            success: step.success,
        });
        ticks.respawn = true;
    }
}

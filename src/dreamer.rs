//! `--autopilot dreamer`: the agent that learns inside the world model's dream drives.
//!
//! The game's discrete actions ([`dreamer_actions`]) are what the agent chooses among; each is
//! held for a whole model tick, so the camera's ego-motion over the tick, which is the action
//! the world model sees, is the action vector the agent imagined it with. At every new tick the
//! next action is drawn from the newest [`AgentPolicy`] (the posterior of the newest real
//! frame, a few ticks old since readbacks arrive late; in the pure dream, the imagined state).
//!
//! Who drives is the [`Driver`] state: `G` hands the body to the agent and back, and
//! `--autopilot dreamer` starts with the agent driving.

use bevy::prelude::*;
use bevy_procgen::SeedRng;
use bevy_world_model::{AgentPolicy, EgoMotionScale, ModelClock, WorldModelNotice};

use crate::agent::{Agent, AgentAction, AgentSystems};
use crate::autopilot::{Autopilot, AutopilotMode};

/// The demo's discrete actions: what the agent's body is asked to do, and the action vector
/// `[forward, strafe right, yaw left]` the world model sees when it is held for one tick of
/// `tick_s` seconds (the agent's speed and turn rate over the default ego-motion scale).
pub fn dreamer_actions(tick_s: f32) -> Vec<(AgentAction, Vec<f32>)> {
    let agent = Agent::default();
    let scale = EgoMotionScale::default();
    let step = agent.speed * tick_s;
    let turn = agent.turn_speed * tick_s;
    let act = |forward: f32, yaw: f32| {
        // Turning while walking: the body moves along the heading it has half-way through.
        let half = yaw * turn / 2.0;
        let vector = vec![
            forward * step * half.cos() / scale.translation,
            -forward * step * half.sin() / scale.translation,
            yaw * turn / scale.rotation,
        ];
        (
            AgentAction {
                forward,
                strafe: 0.0,
                yaw,
            },
            vector,
        )
    };
    vec![
        act(1.0, 0.0),
        act(0.0, 1.0),
        act(0.0, -1.0),
        act(1.0, 1.0),
        act(1.0, -1.0),
    ]
}

/// The action table of a run at `tick_hz`, for the agent's config.
pub fn action_vectors(tick_hz: f64) -> Vec<Vec<f32>> {
    dreamer_actions(1.0 / tick_hz as f32)
        .into_iter()
        .map(|(_, v)| v)
        .collect()
}

/// Where the dreamer pilot stands: the action it holds and the tick it chose it at.
#[derive(Resource, Debug)]
struct DreamerDrive {
    table: Vec<AgentAction>,
    rng: SeedRng,
    held: Option<AgentAction>,
    tick: Option<u64>,
}

/// Who moves the agent's body (the world-model plugin's state, so the dashboard shows it).
pub use bevy_world_model::Driver;

/// Lets the agent learned in the dream drive while [`Driver::Agent`] is the state; `G`
/// switches.
pub struct DreamerPlugin {
    /// Seed of the action draws.
    pub seed: u64,
    /// Who drives from the start (after the prefill, when there is one).
    pub driver: Driver,
    /// With [`Driver::Agent`]: the body's random walk (the game spawns it in
    /// [`AutopilotMode::Random`]) drives this many model ticks first, then the agent
    /// (DreamerV2's `prefill`). 0: none.
    pub prefill_ticks: u64,
}

/// The prefill still running: at `until_tick` the agent takes the body. A research run that
/// hands the body to a pilot before then removes it.
#[derive(Resource, Debug, Clone, Copy)]
pub struct DreamerPrefill {
    /// The model tick at which the agent takes over.
    pub until_tick: u64,
    seed: u64,
}

impl Plugin for DreamerPlugin {
    fn build(&self, app: &mut App) {
        let prefill = self.driver == Driver::Agent && self.prefill_ticks > 0;
        if prefill {
            app.insert_resource(DreamerPrefill {
                until_tick: self.prefill_ticks,
                seed: self.seed,
            });
        }
        app.insert_state(if prefill { Driver::Player } else { self.driver })
            .insert_resource(DreamerDrive {
                table: dreamer_actions(0.1).into_iter().map(|(a, _)| a).collect(),
                rng: SeedRng::new(self.seed ^ 0xd4ea),
                held: None,
                tick: None,
            })
            .add_systems(
                Update,
                (
                    switch_driver,
                    end_prefill.run_if(resource_exists::<DreamerPrefill>),
                    drive
                        .run_if(in_state(Driver::Agent))
                        .in_set(AgentSystems::Input)
                        .after(crate::agent::read_input)
                        .after(crate::autopilot::steer),
                ),
            );
    }
}

/// At the prefill's last tick the agent takes the body from the random walk.
fn end_prefill(
    clock: Option<Res<ModelClock>>,
    prefill: Res<DreamerPrefill>,
    pilots: Query<Entity, With<Autopilot>>,
    mut commands: Commands,
    mut next: ResMut<NextState<Driver>>,
    mut notices: MessageWriter<WorldModelNotice>,
) {
    if clock.is_none_or(|c| c.tick < prefill.until_tick) {
        return;
    }
    for pilot in &pilots {
        commands
            .entity(pilot)
            .insert(Autopilot::with_mode(prefill.seed, AutopilotMode::Dreamer));
    }
    commands.remove_resource::<DreamerPrefill>();
    next.set(Driver::Agent);
    notices.write(WorldModelNotice::info(format!(
        "prefill done after {} ticks: the agent drives",
        prefill.until_tick
    )));
}

/// `G`: the agent takes the body, or gives it back. A model without an agent (its config
/// has no `agent.actions`) keeps the player driving and says why.
fn switch_driver(
    keys: Option<Res<ButtonInput<KeyCode>>>,
    driver: Res<State<Driver>>,
    policy: Option<Res<AgentPolicy>>,
    mut next: ResMut<NextState<Driver>>,
    mut notices: MessageWriter<WorldModelNotice>,
) {
    let Some(keys) = keys else {
        return;
    };
    if !keys.just_pressed(KeyCode::KeyG) {
        return;
    }
    match driver.get() {
        Driver::Agent => {
            next.set(Driver::Player);
            notices.write(WorldModelNotice::info("you drive"));
        }
        Driver::Player if policy.is_some_and(|p| !p.probs.is_empty()) => {
            next.set(Driver::Agent);
            notices.write(WorldModelNotice::info("the agent drives (G to take over)"));
        }
        Driver::Player => {
            notices.write(WorldModelNotice::error(
                "the model has no agent to drive (its config has no agent.actions)",
            ));
        }
    }
}

fn drive(
    clock: Option<Res<ModelClock>>,
    policy: Option<Res<AgentPolicy>>,
    mut drive: ResMut<DreamerDrive>,
    mut agents: Query<&mut AgentAction, With<Agent>>,
) {
    let Some(clock) = clock else {
        return;
    };
    let drive = &mut *drive;
    if drive.tick != Some(clock.tick) {
        drive.tick = Some(clock.tick);
        let n = drive.table.len();
        let index = match policy.as_deref() {
            Some(p) if p.probs.len() == n => sample(&p.probs, drive.rng.unit()),
            // No decision yet (the first ticks): a uniform choice.
            _ => drive.rng.below(n),
        };
        drive.held = drive.table.get(index).copied();
    }
    if let Some(held) = drive.held {
        for mut action in &mut agents {
            *action = held;
        }
    }
}

/// The index whose cumulative probability first passes `u` (in `[0, 1)`).
fn sample(probs: &[f32], u: f32) -> usize {
    let mut acc = 0.0;
    for (i, p) in probs.iter().enumerate() {
        acc += p;
        if u < acc {
            return i;
        }
    }
    probs.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_what_one_tick_of_each_action_moves() {
        let t = dreamer_actions(0.1);
        // Forward: 3 m/s for 0.1 s over the 0.1 m unit.
        assert!((t[0].1[0] - 3.0).abs() < 1e-5 && t[0].1[2] == 0.0);
        // Turning left: 2.2 rad/s for 0.1 s over the 0.08 rad unit, no translation.
        assert!((t[1].1[2] - 2.75).abs() < 1e-5 && t[1].1[0] == 0.0);
        assert_eq!(t[2].1[2], -t[1].1[2]);
        // Walking while turning left drifts left (negative strafe right).
        assert!(t[3].1[1] < 0.0 && t[4].1[1] > 0.0);
    }

    #[test]
    fn sampling_follows_the_cumulative_probabilities() {
        let p = [0.2, 0.0, 0.8];
        assert_eq!(sample(&p, 0.1), 0);
        assert_eq!(sample(&p, 0.2), 2);
        assert_eq!(sample(&p, 0.999), 2);
    }
}

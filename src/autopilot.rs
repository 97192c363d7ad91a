//! `--autopilot`: the agent explores on its own, so the world model sees varied motion
//! without a player (headless runs, benchmarks, demos).
//!
//! A random walk that avoids walls and prefers the least-visited way: at each cell centre
//! (and whenever a wall is ahead) it compares going on, left, right and back by how often the
//! cell that way was visited, with a little randomness, and turns towards the best. Headings
//! stay on the grid's axes, so the walk keeps to the middle of corridors.

use std::collections::HashMap;
use std::f32::consts::{FRAC_PI_2, PI};

use bevy::prelude::*;
use bevy_procgen::{CurrentLevel, SeedRng};

use crate::agent::{Agent, AgentAction, AgentSystems};

/// Drives the agent's [`AgentAction`] when present on it (overriding keyboard input).
#[derive(Component, Debug)]
pub struct Autopilot {
    rng: SeedRng,
    visits: HashMap<IVec2, u32>,
    /// The cell where the last decision was taken.
    decided_in: Option<IVec2>,
    /// Radians still to turn (signed, + left).
    turn_left: f32,
}

impl Autopilot {
    /// A walk seeded by `seed` (same seed and level: same walk at a fixed frame rate).
    pub fn new(seed: u64) -> Self {
        Self {
            rng: SeedRng::new(seed ^ 0xa070_9110),
            visits: HashMap::new(),
            decided_in: None,
            turn_left: 0.0,
        }
    }

    /// Cells visited so far.
    pub fn cells_visited(&self) -> usize {
        self.visits.len()
    }
}

/// Adds the autopilot system (the game adds [`Autopilot`] to the agent with `--autopilot`).
pub struct AutopilotPlugin;

impl Plugin for AutopilotPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            Update,
            steer
                .in_set(AgentSystems::Input)
                .after(crate::agent::read_input),
        );
    }
}

/// Distance ahead, in cells, that must be free to keep walking.
const LOOKAHEAD: f32 = 0.7;
/// How close to a cell centre (cells) the walk decides where to go next.
const CENTRE: f32 = 0.2;

/// Whether a circle of `radius` at `pos` (cell units) can go `dist` cells along `dir`.
fn clear(level: &CurrentLevel, pos: Vec2, dir: Vec2, dist: f32, radius: f32) -> bool {
    let steps = 4;
    (1..=steps).all(|i| {
        !level
            .grid
            .overlaps(pos + dir * dist * i as f32 / steps as f32, radius)
    })
}

fn steer(
    time: Res<Time>,
    level: Option<Res<CurrentLevel>>,
    mut agents: Query<(&Agent, &Transform, &mut AgentAction, &mut Autopilot)>,
) {
    let Some(level) = level else {
        return;
    };
    let dt = time.delta_secs().min(0.1);
    for (agent, t, mut action, mut pilot) in &mut agents {
        let pilot = &mut *pilot;
        let pos = level.world_to_cells(t.translation);
        let cell = pos.floor().as_ivec2();
        let radius = agent.radius / level.spec.cell_size;
        let fwd = t.forward().as_vec3();
        let dir = Vec2::new(fwd.x, fwd.z).normalize_or_zero();
        // Vec2 angles run the other way round from Bevy's yaw (+ turns left seen from above).
        let towards = |yaw: f32| Vec2::from_angle(-yaw).rotate(dir);
        let at_centre = pos.distance(cell.as_vec2() + Vec2::splat(0.5)) < CENTRE;
        let blocked = !clear(&level, pos, dir, LOOKAHEAD, radius);

        if pilot.turn_left == 0.0 && (blocked || (at_centre && pilot.decided_in != Some(cell))) {
            *pilot.visits.entry(cell).or_default() += 1;
            pilot.decided_in = Some(cell);
            let mut best = (f32::MAX, PI);
            for yaw in [0.0, FRAC_PI_2, -FRAC_PI_2, PI] {
                let way = towards(yaw);
                if yaw != PI && !clear(&level, pos, way, 1.0, radius) {
                    continue;
                }
                let next = (pos + way).floor().as_ivec2();
                let seen = pilot.visits.get(&next).copied().unwrap_or(0) as f32;
                let back = if yaw == PI { 2.0 } else { 0.0 };
                let score = seen + pilot.rng.unit() * 0.9 + back;
                if score < best.0 {
                    best = (score, yaw);
                }
            }
            pilot.turn_left = best.1;
        }

        if pilot.turn_left != 0.0 {
            let rate = agent.turn_speed * dt;
            let step = pilot.turn_left.clamp(-rate, rate);
            pilot.turn_left -= step;
            if pilot.turn_left.abs() < 1e-3 {
                pilot.turn_left = 0.0;
            }
            *action = AgentAction {
                forward: 0.0,
                strafe: 0.0,
                yaw: step / rate.max(1e-6),
            };
            continue;
        }

        *action = AgentAction {
            forward: 1.0,
            strafe: 0.0,
            yaw: 0.0,
        };
    }
}

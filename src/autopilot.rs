//! `--autopilot`: the agent explores on its own, so the world model sees varied motion
//! without a player (headless runs, benchmarks, demos).
//!
//! A walk that avoids walls: at each cell centre (and whenever a wall is ahead) it compares
//! going on, left, right and back, and turns towards the best. Headings stay on the grid's
//! axes, so the walk keeps to the middle of corridors. [`AutopilotMode::Random`] prefers the
//! least-visited way, with a little randomness; [`AutopilotMode::Curious`] prefers the way
//! where the model's prediction error was highest (unknown cells count as the worst seen), so
//! it spends its time where there is most to learn.

use std::collections::HashMap;
use std::f32::consts::{FRAC_PI_2, PI};

use bevy::prelude::*;
use bevy_procgen::{CurrentLevel, SeedRng};
use bevy_world_model::PredictionScored;
use bevy_world_model::world_model::metrics::view_unchanged;
use clap::ValueEnum;
use serde::Serialize;

use crate::agent::{Agent, AgentAction, AgentSystems};

/// How the autopilot chooses where to go.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AutopilotMode {
    /// Least-visited random walk that avoids walls.
    #[default]
    Random,
    /// Towards the cells where the model's recent prediction error is highest.
    Curious,
    /// The agent learned inside the world model's dream drives (`crate::dreamer`).
    Dreamer,
}

impl AutopilotMode {
    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Random => "random",
            Self::Curious => "curious",
            Self::Dreamer => "dreamer",
        }
    }
}

/// Drives the agent's [`AgentAction`] when present on it (overriding keyboard input).
#[derive(Component, Debug)]
pub struct Autopilot {
    mode: AutopilotMode,
    rng: SeedRng,
    visits: HashMap<IVec2, u32>,
    /// Model error seen in each cell while walking (smoothed), as a multiple of the mean
    /// error at the time; curious mode steers by it.
    errors: HashMap<IVec2, f32>,
    /// Running mean of all errors seen, the scale against which an error counts as high.
    mean_error: f32,
    /// The cell where the last decision was taken.
    decided_in: Option<IVec2>,
    /// Radians still to turn (signed, + left).
    turn_left: f32,
}

impl Autopilot {
    /// A random walk seeded by `seed` (same seed and level: same walk at a fixed frame rate).
    pub fn new(seed: u64) -> Self {
        Self::with_mode(seed, AutopilotMode::Random)
    }

    /// A walk of the given mode seeded by `seed`.
    pub fn with_mode(seed: u64, mode: AutopilotMode) -> Self {
        Self {
            mode,
            rng: SeedRng::new(seed ^ 0xa070_9110),
            visits: HashMap::new(),
            errors: HashMap::new(),
            mean_error: 0.0,
            decided_in: None,
            turn_left: 0.0,
        }
    }

    /// Cells visited so far.
    pub fn cells_visited(&self) -> usize {
        self.visits.len()
    }

    /// The mode it walks in.
    pub fn mode(&self) -> AutopilotMode {
        self.mode
    }

    /// Notes the model's error (MSE) for a frame seen from `cell`.
    ///
    /// Stored relative to the running mean, so a cell seen early, when every prediction was
    /// poor, does not keep looking hard after the model has learned it.
    pub fn observe_error(&mut self, cell: IVec2, mse: f32) {
        if !mse.is_finite() {
            return;
        }
        self.mean_error = if self.mean_error == 0.0 {
            mse
        } else {
            0.99 * self.mean_error + 0.01 * mse
        };
        let relative = mse / self.mean_error.max(1e-6);
        let e = self.errors.entry(cell).or_insert(relative);
        *e = 0.7 * *e + 0.3 * relative;
    }

    /// How attractive the way into `cell` is (lower is better), before randomness.
    fn cost(&self, cell: IVec2, back: bool) -> f32 {
        let seen = self.visits.get(&cell).copied().unwrap_or(0) as f32;
        let back = if back { 2.0 } else { 0.0 };
        match self.mode {
            AutopilotMode::Random | AutopilotMode::Dreamer => seen + back,
            AutopilotMode::Curious => {
                let worst = self.errors.values().copied().fold(0.0f32, f32::max);
                let high = self.errors.get(&cell).copied().unwrap_or(worst);
                0.3 * seen + back - 2.0 * high
            }
        }
    }
}

/// Adds the autopilot system (the game adds [`Autopilot`] to the agent with `--autopilot`).
pub struct AutopilotPlugin;

impl Plugin for AutopilotPlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<PredictionScored>().add_systems(
            Update,
            (
                note_errors,
                steer
                    .in_set(AgentSystems::Input)
                    .after(crate::agent::read_input),
            ),
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

/// Curious mode: remembers the model's error for the cell the agent is in, while it walks
/// (a turn's error belongs to the turn, which happens wherever the walk decides to turn, not
/// to the place).
fn note_errors(
    mut scored: MessageReader<PredictionScored>,
    level: Option<Res<CurrentLevel>>,
    mut agents: Query<(&Transform, &mut Autopilot)>,
) {
    let Some(level) = level else {
        scored.clear();
        return;
    };
    for score in scored.read() {
        if score.dreamed || view_unchanged(&score.baseline) {
            continue;
        }
        for (t, mut pilot) in &mut agents {
            if pilot.mode == AutopilotMode::Curious && pilot.turn_left == 0.0 {
                let cell = level.world_to_cells(t.translation).floor().as_ivec2();
                pilot.observe_error(cell, score.model.mse as f32);
            }
        }
    }
}

pub(crate) fn steer(
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
        if pilot.mode == AutopilotMode::Dreamer {
            continue; // the dreamer drives (crate::dreamer)
        }
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
                let score = pilot.cost(next, yaw == PI) + pilot.rng.unit() * 0.9;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_prefers_the_least_visited_way() {
        let mut p = Autopilot::new(1);
        p.visits.insert(IVec2::new(1, 0), 3);
        assert!(p.cost(IVec2::new(0, 1), false) < p.cost(IVec2::new(1, 0), false));
        assert!(p.cost(IVec2::new(0, 1), true) > p.cost(IVec2::new(0, 2), false));
    }

    #[test]
    fn curious_prefers_high_error_and_unknown_cells() {
        let mut p = Autopilot::with_mode(1, AutopilotMode::Curious);
        let (easy, hard, unknown) = (IVec2::new(1, 0), IVec2::new(0, 1), IVec2::new(5, 5));
        for _ in 0..20 {
            p.observe_error(easy, 10.0);
            p.observe_error(hard, 100.0);
        }
        // Even visited more often, the hard cell wins over the easy one.
        p.visits.insert(easy, 1);
        p.visits.insert(hard, 3);
        assert!(p.cost(hard, false) < p.cost(easy, false));
        // An unknown cell counts as the worst seen.
        assert!(p.cost(unknown, false) <= p.cost(hard, false));
        p.observe_error(easy, f32::NAN);
        assert!(p.cost(easy, false).is_finite());
    }
}

//! A level's task being played ([`TaskRun`]): where this episode's goals are, what each tick
//! pays and when the episode ends. Pure logic on a [`Grid`], no ECS, so a game, a headless
//! run and a test step it the same way; the plugin only draws it ([`crate::CurrentTask`]).
//!
//! Goals are placed from the level's seed and the episode's number, so an episode can be
//! replayed. Walking distances to the goals left are one breadth-first search per change
//! (a new episode, a goal taken), so a tick is a few comparisons.

use bevy::math::{IVec2, Vec2};

use crate::generate::goal_cells;
use crate::grid::{Fnv1a, Grid, SeedRng};
use crate::spec::{TaskKind, TaskSpec};

/// What a goal is, which decides how it is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoalKind {
    /// The one goal of [`TaskKind::Reach`].
    Goal,
    /// One of the items of [`TaskKind::Collect`].
    Pickup,
}

/// One goal or pickup of the running episode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Goal {
    /// Its cell `(x, z)`; it is taken near the cell's centre.
    pub cell: IVec2,
    /// What it is.
    pub kind: GoalKind,
    /// Taken this episode (no longer shown, no longer pays).
    pub taken: bool,
}

/// What one tick of the task paid and whether the episode ended.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TaskStep {
    /// Goals taken (+1 each), less the step penalty, plus shaping.
    pub reward: f32,
    /// The episode ended because its last goal was taken (a true end: nothing follows).
    pub terminal: bool,
    /// The episode ended because its time ran out (not a terminal: the world went on, so a
    /// learner must not treat the next state as worthless). Never true with `terminal`.
    pub truncated: bool,
    /// Every goal was taken.
    pub success: bool,
}

/// A task being played: goals of the current episode, its tick count, the episode counter.
#[derive(Clone, Debug)]
pub struct TaskRun {
    spec: TaskSpec,
    grid: Grid,
    seed: u64,
    episode: u64,
    ticks: u32,
    goals: Vec<Goal>,
    episode_return: f32,
    /// Walking distance from every cell to the nearest goal not yet taken (row-major).
    field: Vec<Option<u32>>,
    /// The shaping potential of the state after the last tick (the start, at first).
    potential: f32,
}

impl TaskRun {
    /// A run of `spec` on `grid` with the level's `seed`, in its first episode (its goals
    /// placed). A task that does not fit the grid ([`crate::Grid::from_spec`] refuses one)
    /// still runs: a Reach goal goes to the farthest free cell, and there are as many pickups
    /// as free cells.
    pub fn new(spec: &TaskSpec, grid: &Grid, seed: u64) -> Self {
        let mut run = Self {
            spec: *spec,
            grid: grid.clone(),
            seed,
            episode: 0,
            ticks: 0,
            goals: Vec::new(),
            episode_return: 0.0,
            field: Vec::new(),
            potential: 0.0,
        };
        run.place();
        run
    }

    /// The task played.
    pub fn spec(&self) -> &TaskSpec {
        &self.spec
    }

    /// Episodes started before this one: the 0-based index of the current episode.
    pub fn episode(&self) -> u64 {
        self.episode
    }

    /// Ticks played in this episode.
    pub fn ticks(&self) -> u32 {
        self.ticks
    }

    /// This episode's goals, taken or not, in placement order.
    pub fn goals(&self) -> &[Goal] {
        &self.goals
    }

    /// Rewards summed in this episode so far.
    pub fn episode_return(&self) -> f32 {
        self.episode_return
    }

    /// Advances one tick with the agent at `pos` (continuous cell coordinates, as
    /// [`crate::CurrentLevel::world_to_cells`] gives): takes goals within radius (+1 each),
    /// subtracts the step penalty and adds shaping; ends the episode as terminal when the
    /// last goal is taken (success), as truncated when `time_limit` ticks are played
    /// (terminal wins when both happen on one tick). It does not start the next episode:
    /// after an ended step the caller calls [`TaskRun::next_episode`], so it can respawn the
    /// player first.
    pub fn step(&mut self, pos: Vec2) -> TaskStep {
        self.ticks = self.ticks.saturating_add(1);
        let radius = self.spec.kind.radius();
        let mut reward = -self.spec.step_penalty;
        let mut took = false;
        for goal in self.goals.iter_mut().filter(|g| !g.taken) {
            let centre = goal.cell.as_vec2() + Vec2::splat(0.5);
            if centre.distance(pos) <= radius {
                goal.taken = true;
                reward += 1.0;
                took = true;
            }
        }
        if took {
            self.field = self.distance_field();
        }
        let success = !self.goals.is_empty() && self.goals.iter().all(|g| g.taken);
        if let Some(gamma) = self.spec.shaping {
            // phi is 0 at a terminal state; in a cell with no distance (only off the walkable
            // cells, which collision prevents) it stays what it was.
            let after = if success {
                0.0
            } else {
                self.potential_at(pos).unwrap_or(self.potential)
            };
            reward += gamma * after - self.potential;
            self.potential = after;
        }
        self.episode_return += reward;
        TaskStep {
            reward,
            terminal: success,
            truncated: !success && self.ticks >= self.spec.time_limit,
            success,
        }
    }

    /// Starts the next episode: counter + 1, ticks 0, goals placed again from the level seed
    /// and the episode counter (the same seed and episode give the same goals).
    pub fn next_episode(&mut self) {
        self.episode = self.episode.wrapping_add(1);
        self.place();
    }

    /// Walking distance in cells from `cell` to the nearest goal not yet taken (`None` when
    /// none is reachable from it or all are taken).
    pub fn distance_to_goal(&self, cell: IVec2) -> Option<u32> {
        self.grid.index(cell).and_then(|i| self.field[i])
    }

    /// The shaping potential at `pos`: minus the walking distance from `pos` itself to the
    /// nearest goal left, through the centre of its own cell or of one of the 8 around it,
    /// whichever is shorter, measured along the grid's axes as the cell distances are (a
    /// straight-line offset would cut corners the cell distances do not, and jump where the
    /// neighbours change). So the potential changes smoothly as the player walks (by the
    /// distance covered towards the goal each tick) instead of in one-cell jumps at cell
    /// borders, which no one-tick-ahead reward prediction can time.
    fn potential_at(&self, pos: Vec2) -> Option<f32> {
        let cell = pos.floor().as_ivec2();
        (-1..=1)
            .flat_map(|dy| (-1..=1).map(move |dx| IVec2::new(dx, dy)))
            .filter_map(|d| {
                let c = cell + d;
                let k = self.distance_to_goal(c)?;
                let offset = (pos - (c.as_vec2() + Vec2::splat(0.5))).abs();
                Some(k as f32 + offset.x + offset.y)
            })
            .min_by(f32::total_cmp)
            .map(|d| -d)
    }

    /// Walking distances to the goals not yet taken.
    fn distance_field(&self) -> Vec<Option<u32>> {
        let left: Vec<IVec2> = self
            .goals
            .iter()
            .filter(|g| !g.taken)
            .map(|g| g.cell)
            .collect();
        self.grid.walking_distances(&left)
    }

    /// Places this episode's goals and resets its counters.
    fn place(&mut self) {
        let mut h = Fnv1a::default();
        h.write(b"task");
        h.write(&self.seed.to_le_bytes());
        h.write(&self.episode.to_le_bytes());
        let mut rng = SeedRng::new(h.finish());
        self.goals = match self.spec.kind {
            TaskKind::Reach { .. } => {
                let mut cells = goal_cells(&self.grid, &self.spec.kind);
                if cells.is_empty() {
                    cells = self.farthest_free_cells();
                }
                if cells.is_empty() {
                    Vec::new()
                } else {
                    vec![Goal {
                        cell: cells[rng.below(cells.len())],
                        kind: GoalKind::Goal,
                        taken: false,
                    }]
                }
            }
            TaskKind::Collect { count, .. } => {
                let mut cells = goal_cells(&self.grid, &self.spec.kind);
                let n = count.min(cells.len());
                // A partial Fisher-Yates shuffle: `n` distinct cells.
                for i in 0..n {
                    let j = i + rng.below(cells.len() - i);
                    cells.swap(i, j);
                }
                cells
                    .into_iter()
                    .take(n)
                    .map(|cell| Goal {
                        cell,
                        kind: GoalKind::Pickup,
                        taken: false,
                    })
                    .collect()
            }
        };
        self.ticks = 0;
        self.episode_return = 0.0;
        self.field = self.distance_field();
        self.potential = self
            .distance_to_goal(self.grid.start())
            .map_or(0.0, |d| -(d as f32));
    }

    /// The free cells (as [`goal_cells`] of a Collect) farthest from the start: where a
    /// Reach goal goes when none is `min_distance` away.
    fn farthest_free_cells(&self) -> Vec<IVec2> {
        let from_start = self.grid.walking_distances(&[self.grid.start()]);
        let at = |c: IVec2| self.grid.index(c).and_then(|i| from_start[i]);
        let free = goal_cells(
            &self.grid,
            &TaskKind::Collect {
                count: 1,
                radius: self.spec.kind.radius(),
            },
        );
        let farthest = free.iter().filter_map(|c| at(*c)).max();
        free.into_iter()
            .filter(|c| farthest.is_some() && at(*c) == farthest)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Generator, LevelSpec};

    /// A 21 x 21 maze and its grid, with `kind` as its task.
    fn maze(kind: TaskKind, seed: u64) -> (TaskSpec, Grid) {
        let task = TaskSpec {
            kind,
            ..Default::default()
        };
        let spec = LevelSpec {
            generator: Generator::Maze {
                rooms: 2,
                loop_chance: 0.1,
            },
            task: Some(task),
            ..Default::default()
        };
        (task, Grid::from_spec(&spec, seed).unwrap())
    }

    /// An open 7 x 7 room inside its border, start in the top left corner.
    fn room(task: TaskSpec) -> Grid {
        let mut rows = vec![format!("#{}#", ".".repeat(7)); 7];
        rows[0] = "#S......#".into();
        rows.insert(0, "#".repeat(9));
        rows.push("#".repeat(9));
        let spec = LevelSpec {
            layout: Some(rows),
            task: Some(task),
            ..Default::default()
        };
        Grid::from_spec(&spec, 0).unwrap()
    }

    fn centre(cell: IVec2) -> Vec2 {
        cell.as_vec2() + Vec2::splat(0.5)
    }

    #[test]
    fn the_same_seed_and_episode_give_the_same_goals() {
        for kind in [
            TaskKind::default(),
            TaskKind::Collect {
                count: 4,
                radius: 0.5,
            },
        ] {
            let (task, grid) = maze(kind, 3);
            let episodes = |seed: u64| {
                let mut run = TaskRun::new(&task, &grid, seed);
                let mut goals = Vec::new();
                for episode in 0..12 {
                    assert_eq!(run.episode(), episode);
                    goals.push(run.goals().to_vec());
                    run.next_episode();
                }
                goals
            };
            let seen = episodes(3);
            assert_eq!(seen, episodes(3), "same seed, same goals every episode");
            assert_ne!(seen, episodes(4), "another seed, other goals");
            let mut distinct = seen.clone();
            distinct.sort_by_key(|goals| {
                goals
                    .iter()
                    .map(|g| (g.cell.x, g.cell.y))
                    .collect::<Vec<_>>()
            });
            distinct.dedup();
            assert!(distinct.len() > 6, "episodes should differ: {seen:?}");
        }
    }

    #[test]
    fn pickups_are_distinct_free_cells_other_than_the_start() {
        let kind = TaskKind::Collect {
            count: 32,
            radius: 0.5,
        };
        for seed in 0..20 {
            let (task, grid) = maze(kind, seed);
            let run = TaskRun::new(&task, &grid, seed);
            let mut cells: Vec<(i32, i32)> =
                run.goals().iter().map(|g| (g.cell.x, g.cell.y)).collect();
            assert_eq!(cells.len(), 32);
            cells.sort();
            cells.dedup();
            assert_eq!(cells.len(), 32, "seed {seed}: two pickups share a cell");
            for g in run.goals() {
                assert!(g.kind == GoalKind::Pickup && !g.taken);
                assert!(!grid.is_wall(g.cell) && !grid.has_solid_prop(g.cell));
                assert_ne!(g.cell, grid.start());
            }
        }
    }

    #[test]
    fn a_reach_goal_is_at_least_min_distance_from_the_start() {
        let kind = TaskKind::Reach {
            min_distance: 12,
            radius: 0.5,
        };
        for seed in 0..30 {
            let (task, grid) = maze(kind, seed);
            let mut run = TaskRun::new(&task, &grid, seed);
            for _ in 0..5 {
                let [goal] = run.goals() else {
                    panic!("one goal: {:?}", run.goals());
                };
                assert_eq!(goal.kind, GoalKind::Goal);
                let d = grid.walking_distance(grid.start(), goal.cell).unwrap();
                assert!(d >= 12, "seed {seed}: goal {d} cells away");
                assert_eq!(run.distance_to_goal(grid.start()), Some(d));
                run.next_episode();
            }
        }
    }

    #[test]
    fn walking_onto_the_goal_pays_one_and_ends_the_episode() {
        let (task, grid) = maze(TaskKind::default(), 1);
        let mut run = TaskRun::new(&task, &grid, 1);
        let goal = run.goals()[0].cell;
        let step = run.step(centre(goal));
        assert_eq!(
            step,
            TaskStep {
                reward: 1.0,
                terminal: true,
                truncated: false,
                success: true,
            }
        );
        assert_eq!(run.episode_return(), 1.0);
        assert!(run.goals()[0].taken);
        assert_eq!(run.distance_to_goal(grid.start()), None, "none left");
        run.next_episode();
        assert_eq!((run.episode(), run.ticks()), (1, 0));
        assert_eq!(run.episode_return(), 0.0);
        assert!(!run.goals()[0].taken, "a new episode, a new goal");
    }

    #[test]
    fn standing_still_until_the_time_limit_truncates() {
        for penalty in [0.0, 0.25] {
            let task = TaskSpec {
                time_limit: 5,
                step_penalty: penalty,
                ..Default::default()
            };
            let grid = room(task);
            let mut run = TaskRun::new(&task, &grid, 9);
            let at = centre(grid.start());
            for tick in 1..=5 {
                let step = run.step(at);
                assert_eq!(step.reward, -penalty, "tick {tick}");
                assert!(!step.terminal && !step.success, "tick {tick}");
                assert_eq!(step.truncated, tick == 5, "tick {tick}");
                assert_eq!(run.ticks(), tick);
            }
            assert_eq!(run.episode_return(), -penalty * 5.0);
        }
    }

    #[test]
    fn the_last_goal_on_the_last_tick_is_a_terminal_not_a_truncation() {
        let task = TaskSpec {
            time_limit: 1,
            ..Default::default()
        };
        let grid = room(task);
        let mut run = TaskRun::new(&task, &grid, 2);
        let step = run.step(centre(run.goals()[0].cell));
        assert!(step.terminal && step.success && !step.truncated, "{step:?}");
    }

    #[test]
    fn collect_pays_one_per_pickup_and_ends_after_the_last() {
        let task = TaskSpec {
            kind: TaskKind::Collect {
                count: 3,
                radius: 0.5,
            },
            ..Default::default()
        };
        let grid = room(task);
        let mut run = TaskRun::new(&task, &grid, 5);
        let cells: Vec<IVec2> = run.goals().iter().map(|g| g.cell).collect();
        assert_eq!(cells.len(), 3);
        for (i, cell) in cells.iter().enumerate() {
            let step = run.step(centre(*cell));
            let last = i == 2;
            assert_eq!(step.reward, 1.0, "pickup {i}");
            assert_eq!((step.terminal, step.success), (last, last), "pickup {i}");
            assert!(!step.truncated);
            assert_eq!(run.goals().iter().filter(|g| g.taken).count(), i + 1);
        }
        // A taken pickup pays no more.
        let mut again = TaskRun::new(&task, &grid, 5);
        assert_eq!(again.step(centre(cells[0])).reward, 1.0);
        assert_eq!(again.step(centre(cells[0])).reward, 0.0);
    }

    /// With gamma = 1, shaping along any walk sums to phi(end) - phi(start): it cannot be
    /// farmed by walking in circles.
    #[test]
    fn shaping_with_gamma_one_telescopes() {
        for kind in [
            TaskKind::default(),
            TaskKind::Collect {
                count: 3,
                radius: 0.5,
            },
        ] {
            let task = TaskSpec {
                kind,
                shaping: Some(1.0),
                time_limit: 1000,
                ..Default::default()
            };
            let (_, grid) = maze(kind, 8);
            for seed in 0..10 {
                let mut run = TaskRun::new(&task, &grid, seed);
                let start = grid.start();
                let phi_start = -(run.distance_to_goal(start).unwrap() as f32);
                let mut rng = SeedRng::new(seed);
                let mut cell = start;
                let (mut total, mut taken) = (0.0, 0.0);
                for _ in 0..200 {
                    let options: Vec<IVec2> = [IVec2::X, IVec2::NEG_X, IVec2::Y, IVec2::NEG_Y]
                        .into_iter()
                        .map(|d| cell + d)
                        .filter(|c| !grid.is_wall(*c))
                        .collect();
                    cell = options[rng.below(options.len())];
                    let left = run.goals().iter().filter(|g| !g.taken).count();
                    let step = run.step(centre(cell));
                    taken += (left - run.goals().iter().filter(|g| !g.taken).count()) as f32;
                    total += step.reward;
                    if step.terminal {
                        break;
                    }
                }
                let phi_end = run.distance_to_goal(cell).map_or(0.0, |d| -(d as f32));
                assert_eq!(total - taken, phi_end - phi_start, "seed {seed}");
            }
        }
    }

    /// Shaping is smooth: walking in small steps anywhere in an open room never pays more
    /// than the distance walked (no jumps at cell borders).
    #[test]
    fn shaping_pays_no_more_than_the_distance_walked() {
        let spec = LevelSpec {
            layout: Some(
                std::iter::once("#########".to_string())
                    .chain(
                        (0..7).map(|i| if i == 3 { "#...S...#" } else { "#.......#" }.to_string()),
                    )
                    .chain(std::iter::once("#########".to_string()))
                    .collect(),
            ),
            ..Default::default()
        };
        let grid = Grid::from_spec(&spec, 0).unwrap();
        let task = TaskSpec {
            kind: TaskKind::Reach {
                min_distance: 3,
                radius: 0.5,
            },
            shaping: Some(1.0),
            time_limit: 100_000,
            ..Default::default()
        };
        for seed in 0..5 {
            let mut run = TaskRun::new(&task, &grid, seed);

            let mut pos = grid.start().as_vec2() + Vec2::splat(0.5);
            let mut rng = SeedRng::new(seed);
            let mut dir = Vec2::X;
            for _ in 0..2000 {
                if rng.unit() < 0.05 {
                    dir = [Vec2::X, Vec2::NEG_X, Vec2::Y, Vec2::NEG_Y][rng.below(4)];
                }
                let next = pos + dir * 0.15;
                if grid.overlaps(next, 0.15) {
                    continue;
                }
                pos = next;
                let step = run.step(pos);
                if step.terminal {
                    break;
                }
                assert!(
                    step.reward.abs() <= 0.15 + 1e-4,
                    "seed {seed}: {} at {pos}",
                    step.reward
                );
            }
        }
    }

    #[test]
    fn a_step_towards_the_goal_is_shaped_up_and_away_down() {
        let task = TaskSpec {
            shaping: Some(1.0),
            ..Default::default()
        };
        let grid = room(task);
        let mut run = TaskRun::new(&task, &grid, 4);
        let start = grid.start();
        let d = run.distance_to_goal(start).unwrap();
        let step = [IVec2::X, IVec2::Y]
            .into_iter()
            .map(|dir| start + dir)
            .find(|c| run.distance_to_goal(*c) == Some(d - 1))
            .expect("a neighbour nearer the goal");
        assert_eq!(run.step(centre(step)).reward, 1.0);
        assert_eq!(run.step(centre(start)).reward, -1.0);
    }
}

//! From a spec to a grid: [`Grid::from_spec`] lays out a level with the generators behind
//! [`Generator`] (mazes, rooms and corridors, caves, scattered blocks), then connectivity
//! repair, the spawn rule and props. Everything draws from one [`SeedRng`], so the same seed
//! and spec give the same level on every machine.
//!
//! Level files come in through [`parse_level`] and [`load_level`]: they parse and check the
//! values (in [`crate::spec`]) and then try the layout, since only building it shows that a
//! hand-made layout has cells the start cannot reach, or too few cells for its task's goals
//! ([`goal_cells`], where a task may put them).

use std::collections::VecDeque;
use std::path::Path;

use bevy::math::IVec2;

use crate::grid::{DIRS, Grid, Prop, PropKind, SeedRng};
use crate::spec::{
    Generator, LevelError, LevelSpec, MAX_CAVE_STEPS, MAX_ROOMS, MAX_SIDE, MAX_SPAWN_CELL,
    MIN_ROOM_SIDE, MIN_SIDE, Props, Spawn, TaskKind,
};

impl Grid {
    /// Builds the grid a spec describes: its hand-made layout, or one generated from `seed`
    /// by the spec's generator; then the start cell and the props.
    /// Every open cell is reachable from the start, or this is an error naming one that is
    /// not (only a hand-made layout can fail so: generated ones are repaired). A task's goals
    /// must fit too ([`goal_cells`] not empty, enough of them for every pickup), or this is
    /// an error naming the task's field.
    pub fn from_spec(spec: &LevelSpec, seed: u64) -> Result<Self, LevelError> {
        spec.validate()?;
        let mut grid = match &spec.layout {
            Some(rows) => Grid::from_layout(rows),
            None => walls(spec, seed),
        };
        if grid.open_cells().next().is_none() {
            return Err(LevelError::invalid(spec, "generator", "left no open cell"));
        }
        if spec.layout.is_none() {
            grid.set_start(spawn(&grid, spec.spawn, seed));
        }
        if let Some(cell) = grid.first_unreachable() {
            let start = grid.start();
            return Err(LevelError::invalid(
                spec,
                "layout",
                format!(
                    "open cell ({}, {}) cannot be reached from the start ({}, {})",
                    cell.x, cell.y, start.x, start.y
                ),
            ));
        }
        for prop in props(&grid, &spec.props, seed) {
            grid.add_prop(prop);
        }
        if let Some(task) = &spec.task {
            check_task(spec, &grid, &task.kind)?;
        }
        Ok(grid)
    }
}

/// The cells a task may put its goals in, row by row: open cells the start reaches, other
/// than the start and free of solid props (the agent could not stand on them); for
/// [`TaskKind::Reach`] only those at least `min_distance` cells of walking from the start.
/// Empty when no cell qualifies.
pub fn goal_cells(grid: &Grid, kind: &TaskKind) -> Vec<IVec2> {
    let start = grid.start();
    let from_start = grid.walking_distances(&[start]);
    let nearest = match *kind {
        TaskKind::Reach { min_distance, .. } => min_distance.max(1),
        TaskKind::Collect { .. } => 1,
    };
    grid.open_cells()
        .filter(|c| {
            let far = grid
                .index(*c)
                .and_then(|i| from_start[i])
                .is_some_and(|d| d as usize >= nearest);
            far && !grid.has_solid_prop(*c)
        })
        .collect()
}

/// Refuses a task whose goals do not fit in `grid`, naming the field to change.
fn check_task(spec: &LevelSpec, grid: &Grid, kind: &TaskKind) -> Result<(), LevelError> {
    let start = grid.start();
    match *kind {
        TaskKind::Reach { min_distance, .. } => {
            if goal_cells(grid, kind).is_empty() {
                let from_start = grid.walking_distances(&[start]);
                let farthest = goal_cells(
                    grid,
                    &TaskKind::Collect {
                        count: 1,
                        radius: 1.0,
                    },
                )
                .into_iter()
                .filter_map(|c| grid.index(c).and_then(|i| from_start[i]))
                .max()
                .unwrap_or(0);
                return Err(LevelError::invalid(
                    spec,
                    "task.kind.min_distance",
                    format!(
                        "{min_distance} cells: no free cell is that far from the start \
                         ({}, {}); the farthest is {farthest} cells of walking away",
                        start.x, start.y
                    ),
                ));
            }
        }
        TaskKind::Collect { count, .. } => {
            let free = goal_cells(grid, kind).len();
            if free < count {
                return Err(LevelError::invalid(
                    spec,
                    "task.kind.count",
                    format!(
                        "{count} pickups need as many free open cells besides the start; \
                         the level has {free}"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Parses a level file's text as [`LevelSpec::from_ron`] does, then makes sure it can be laid
/// out, so a broken file is refused when it is read (with its file and line: `origin` names
/// it) rather than when the level is built. This is what the asset loader and the game's
/// `--level` use.
///
/// A hand-made layout is tried: its connectivity does not depend on the seed, while a
/// generated level is connected by construction for every seed. So is a level with a task,
/// whose goals must fit ([`goal_cells`]): laid out with its own seed, or seed 0 when it has
/// none. A generated level that passes may still not fit its task with another seed
/// (only a `min_distance` near the level's longest walk can fail so): building it with that
/// seed ([`Grid::from_spec`]) then refuses it the same way.
pub fn parse_level(text: &str, origin: &str) -> Result<LevelSpec, LevelError> {
    let spec = LevelSpec::from_ron(text, origin)?;
    if spec.layout.is_some() || spec.task.is_some() {
        Grid::from_spec(&spec, spec.seed.unwrap_or(0)).map_err(|e| e.locate(origin, text))?;
    }
    Ok(spec)
}

/// Reads a level file and checks it as [`parse_level`] does, errors naming the path.
pub fn load_level(path: &Path) -> Result<LevelSpec, LevelError> {
    parse_level(&crate::spec::read_text(path)?, &path.display().to_string())
}

/// The walls of a generated level (the border is always wall); every open cell is reachable
/// from every other.
///
/// The spec should have passed [`LevelSpec::validate`] ([`Grid::from_spec`] checks it). One
/// that did not is clamped to the bounds (size, room count and sides, cave steps) rather
/// than trusted, so it can make an odd level but never overflow or run for long; a valid
/// spec is within them and unchanged by this.
pub fn walls(spec: &LevelSpec, seed: u64) -> Grid {
    let mut rng = SeedRng::new(seed);
    let (w, h) = (
        spec.width.clamp(MIN_SIDE, MAX_SIDE),
        spec.height.clamp(MIN_SIDE, MAX_SIDE),
    );
    let mut grid = match spec.generator {
        Generator::Maze { rooms, loop_chance } => {
            maze(w, h, rooms.min(MAX_ROOMS), loop_chance, &mut rng)
        }
        Generator::Rooms {
            rooms,
            min_size,
            max_size,
        } => {
            let max = max_size.clamp(MIN_ROOM_SIDE, w.min(h) - 2);
            let min = min_size.clamp(MIN_ROOM_SIDE, max);
            dungeon(w, h, rooms.min(MAX_ROOMS), min, max, &mut rng)
        }
        Generator::Caves { steps } => {
            caves(w, h, spec.wall_density, steps.min(MAX_CAVE_STEPS), &mut rng)
        }
        Generator::Scatter => scatter(w, h, spec.wall_density, &mut rng),
    };
    if grid.open_cells().next().is_none() {
        // Smoothing can close a small cave completely: keep the middle open.
        grid.set_wall(IVec2::new(w as i32 / 2, h as i32 / 2), false);
    }
    connect(&mut grid);
    grid
}

/// Depth-first carving on the odd lattice, rooms on odd corners, loops through walls that
/// separate two corridors. Connected by construction.
fn maze(w: usize, h: usize, rooms: usize, loop_chance: f32, rng: &mut SeedRng) -> Grid {
    let mut grid = Grid::filled(w, h, true);
    let mut stack = vec![IVec2::ONE];
    grid.set_wall(IVec2::ONE, false);
    while let Some(&cell) = stack.last() {
        let mut options: Vec<IVec2> = DIRS
            .iter()
            .map(|d| cell + *d * 2)
            .filter(|n| grid.in_interior(*n) && grid.is_wall(*n))
            .collect();
        if options.is_empty() {
            stack.pop();
            continue;
        }
        let next = options.swap_remove(rng.below(options.len()));
        grid.set_wall((cell + next) / 2, false);
        grid.set_wall(next, false);
        stack.push(next);
    }
    for _ in 0..rooms {
        let rw = 3 + 2 * rng.below(2);
        let rh = 3 + 2 * rng.below(2);
        if rw + 2 > w || rh + 2 > h {
            continue;
        }
        let x0 = 1 + 2 * rng.below((w - rw - 2) / 2 + 1);
        let z0 = 1 + 2 * rng.below((h - rh - 2) / 2 + 1);
        carve_rect(&mut grid, x0, z0, rw, rh);
    }
    for z in 1..h as i32 - 1 {
        for x in 1..w as i32 - 1 {
            let c = IVec2::new(x, z);
            if !grid.is_wall(c) {
                continue;
            }
            let horizontal = !grid.is_wall(c + IVec2::X) && !grid.is_wall(c - IVec2::X);
            let vertical = !grid.is_wall(c + IVec2::Y) && !grid.is_wall(c - IVec2::Y);
            if (horizontal ^ vertical) && rng.unit() < loop_chance {
                grid.set_wall(c, false);
            }
        }
    }
    grid
}

fn carve_rect(grid: &mut Grid, x0: usize, z0: usize, w: usize, h: usize) {
    for z in z0..z0 + h {
        for x in x0..x0 + w {
            let c = IVec2::new(x as i32, z as i32);
            if grid.in_interior(c) {
                grid.set_wall(c, false);
            }
        }
    }
}

/// Rooms placed at random without overlapping (a one-cell wall between them), each joined to
/// the previous one by an L-shaped corridor.
fn dungeon(w: usize, h: usize, rooms: usize, min: usize, max: usize, rng: &mut SeedRng) -> Grid {
    let mut grid = Grid::filled(w, h, true);
    let mut placed: Vec<(usize, usize, usize, usize)> = Vec::new();
    for _ in 0..rooms.max(1) * 4 {
        if placed.len() >= rooms.max(1) {
            break;
        }
        let rw = min + rng.below(max - min + 1);
        let rh = min + rng.below(max - min + 1);
        if rw + 2 > w || rh + 2 > h {
            continue;
        }
        let x0 = 1 + rng.below(w - rw - 1);
        let z0 = 1 + rng.below(h - rh - 1);
        let overlaps = placed
            .iter()
            .any(|&(x, z, pw, ph)| x0 <= x + pw && x <= x0 + rw && z0 <= z + ph && z <= z0 + rh);
        if overlaps {
            continue;
        }
        carve_rect(&mut grid, x0, z0, rw, rh);
        if let Some(&(px, pz, pw, ph)) = placed.last() {
            let a = IVec2::new((px + pw / 2) as i32, (pz + ph / 2) as i32);
            let b = IVec2::new((x0 + rw / 2) as i32, (z0 + rh / 2) as i32);
            corridor(&mut grid, a, b, rng.unit() < 0.5);
        }
        placed.push((x0, z0, rw, rh));
    }
    if placed.is_empty() {
        carve_rect(&mut grid, 1, 1, w - 2, h - 2);
    }
    grid
}

/// Opens an L-shaped corridor from `a` to `b`, along x first or along z first.
fn corridor(grid: &mut Grid, a: IVec2, b: IVec2, x_first: bool) {
    let corner = if x_first {
        IVec2::new(b.x, a.y)
    } else {
        IVec2::new(a.x, b.y)
    };
    for (from, to) in [(a, corner), (corner, b)] {
        let step = (to - from).signum();
        let mut c = from;
        loop {
            if grid.in_interior(c) {
                grid.set_wall(c, false);
            }
            if c == to {
                break;
            }
            c += step;
        }
    }
}

/// Random fill, then `steps` rounds of the 4-5 cellular automaton (wall with 5 or more wall
/// neighbours among 8, counting outside as wall), which turns noise into caves.
fn caves(w: usize, h: usize, density: f32, steps: usize, rng: &mut SeedRng) -> Grid {
    let mut grid = scatter(w, h, density, rng);
    for _ in 0..steps {
        let before = grid.clone();
        for z in 1..h as i32 - 1 {
            for x in 1..w as i32 - 1 {
                let c = IVec2::new(x, z);
                let walls = (-1..=1)
                    .flat_map(|dz| (-1..=1).map(move |dx| IVec2::new(dx, dz)))
                    .filter(|d| *d != IVec2::ZERO && before.is_wall(c + *d))
                    .count();
                grid.set_wall(c, walls >= 5);
            }
        }
    }
    grid
}

/// Each interior cell is wall with probability `density`.
fn scatter(w: usize, h: usize, density: f32, rng: &mut SeedRng) -> Grid {
    let mut grid = Grid::filled(w, h, true);
    for z in 1..h as i32 - 1 {
        for x in 1..w as i32 - 1 {
            grid.set_wall(IVec2::new(x, z), rng.unit() < density);
        }
    }
    grid
}

/// Connectivity repair in one pass: a breadth-first search from the largest open region
/// spreads through walls (never the border); whenever it reaches a region not yet joined, the
/// walls on its way there are opened and that whole region joins the search. Every region is
/// reached, each along a shortest tunnel from what was joined before it.
fn connect(grid: &mut Grid) {
    let (labels, sizes) = regions(grid);
    if sizes.len() <= 1 {
        return;
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); sizes.len()];
    for (i, l) in labels.iter().enumerate() {
        if let Some(l) = l {
            members[*l].push(i);
        }
    }
    let main = (0..sizes.len()).max_by_key(|&r| sizes[r]).expect("regions");
    let w = grid.width();
    let cell = |i: usize| IVec2::new((i % w) as i32, (i / w) as i32);
    let mut joined = vec![false; sizes.len()];
    let mut prev: Vec<Option<usize>> = vec![None; labels.len()];
    let mut seen = vec![false; labels.len()];
    let mut queue = VecDeque::new();
    joined[main] = true;
    for &i in &members[main] {
        seen[i] = true;
        queue.push_back(i);
    }
    while let Some(i) = queue.pop_front() {
        for d in DIRS {
            let c = cell(i) + d;
            if !grid.in_interior(c) {
                continue;
            }
            let Some(j) = grid.index(c) else { continue };
            if seen[j] {
                continue;
            }
            seen[j] = true;
            prev[j] = Some(i);
            match labels[j] {
                Some(l) if !joined[l] => {
                    // Open the tunnel that led here, back to the joined cells.
                    let mut k = Some(i);
                    while let Some(at) = k.filter(|&at| grid.is_wall(cell(at))) {
                        grid.set_wall(cell(at), false);
                        k = prev[at];
                    }
                    joined[l] = true;
                    for &m in &members[l] {
                        seen[m] = true;
                        queue.push_back(m);
                    }
                }
                _ => queue.push_back(j),
            }
        }
    }
}

/// Labels of the open cells' 4-connected regions, and each region's size.
fn regions(grid: &Grid) -> (Vec<Option<usize>>, Vec<usize>) {
    let w = grid.width();
    let mut labels = vec![None; w * grid.height()];
    let mut sizes = Vec::new();
    for c in grid.open_cells() {
        let i = grid.index(c).expect("open cells are inside");
        if labels[i].is_some() {
            continue;
        }
        let label = sizes.len();
        let mut size = 0;
        let mut queue = VecDeque::from([c]);
        labels[i] = Some(label);
        while let Some(c) = queue.pop_front() {
            size += 1;
            for d in DIRS {
                let n = c + d;
                if let Some(j) = grid.index(n)
                    && !grid.is_wall(n)
                    && labels[j].is_none()
                {
                    labels[j] = Some(label);
                    queue.push_back(n);
                }
            }
        }
        sizes.push(size);
    }
    (labels, sizes)
}

/// The start cell the spawn rule picks (always open).
pub fn spawn(grid: &Grid, rule: Spawn, seed: u64) -> IVec2 {
    let open: Vec<IVec2> = grid.open_cells().collect();
    let nearest = |target: IVec2| {
        open.iter()
            .copied()
            .min_by_key(|c| ((*c - target).length_squared(), c.y, c.x))
            .unwrap_or(IVec2::ZERO)
    };
    match rule {
        Spawn::First => open.first().copied().unwrap_or(IVec2::ZERO),
        Spawn::Center => nearest(IVec2::new(
            grid.width() as i32 / 2,
            grid.height() as i32 / 2,
        )),
        Spawn::Random => {
            let mut rng = SeedRng::new(seed ^ 0x5eed_5a00);
            open.get(rng.below(open.len().max(1)))
                .copied()
                .unwrap_or(IVec2::ZERO)
        }
        Spawn::Cell(x, z) => {
            // Valid specs are within these already; the clamp keeps the distances from
            // overflowing for one that is not.
            let m = MAX_SPAWN_CELL;
            nearest(IVec2::new(x.clamp(-m, m), z.clamp(-m, m)))
        }
    }
}

/// Props in open areas: a cell qualifies when all 8 neighbours are open (so a prop never
/// blocks a corridor) and it is not the start; lights may go in any open cell but the start.
pub fn props(grid: &Grid, spec: &Props, seed: u64) -> Vec<Prop> {
    let mut rng = SeedRng::new(seed ^ 0x0b1e_c75a);
    let mut out = Vec::new();
    let mut taken = std::collections::HashSet::new();
    for c in grid.open_cells() {
        if c == grid.start() {
            continue;
        }
        let roomy = (-1..=1)
            .flat_map(|dz| (-1..=1).map(move |dx| IVec2::new(dx, dz)))
            .all(|d| !grid.is_wall(c + d));
        let roll = rng.unit();
        let kind = if roomy && roll < spec.pillars {
            Some(PropKind::Pillar)
        } else if roomy && roll < spec.pillars + spec.crates {
            Some(PropKind::Crate)
        } else {
            None
        };
        if let Some(kind) = kind {
            // Keep solid props apart, so two never close a gap between them.
            let crowded = (-1..=1)
                .flat_map(|dz| (-1..=1).map(move |dx| IVec2::new(dx, dz)))
                .any(|d| taken.contains(&(c + d)));
            if !crowded {
                taken.insert(c);
                out.push(Prop { cell: c, kind });
            }
        }
        if rng.unit() < spec.lights {
            out.push(Prop {
                cell: c,
                kind: PropKind::Light,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use bevy::math::Vec2;

    use super::*;

    /// A random valid spec: any generator, size, density and props.
    fn random_spec(rng: &mut SeedRng) -> LevelSpec {
        let side = |rng: &mut SeedRng| 5 + rng.below(60);
        let (mut w, mut h) = (side(rng), side(rng));
        let generator = match rng.below(4) {
            0 => {
                w |= 1;
                h |= 1;
                Generator::Maze {
                    rooms: rng.below(8),
                    loop_chance: rng.unit(),
                }
            }
            1 => {
                let min = 2 + rng.below(3);
                let max = (min + rng.below(5)).min(w.min(h) - 2).max(min);
                Generator::Rooms {
                    rooms: rng.below(20),
                    min_size: min,
                    max_size: max,
                }
            }
            2 => Generator::Caves {
                steps: rng.below(8),
            },
            _ => Generator::Scatter,
        };
        LevelSpec {
            width: w,
            height: h,
            generator,
            wall_density: rng.unit() * 0.75,
            spawn: match rng.below(4) {
                0 => Spawn::First,
                1 => Spawn::Center,
                2 => Spawn::Random,
                _ => Spawn::Cell(rng.below(80) as i32 - 10, rng.below(80) as i32 - 10),
            },
            props: Props {
                pillars: rng.unit() * 0.5,
                crates: rng.unit() * 0.5,
                lights: rng.unit() * 0.5,
            },
            ..Default::default()
        }
    }

    /// Property test: for any seed and any valid parameters, generation ends, the spawn cell
    /// is open and free of solid props, and every open cell is reachable from it, also when
    /// solid props are treated as blocking their cells' centres.
    #[test]
    fn any_valid_spec_gives_a_connected_level_with_a_free_spawn() {
        let mut rng = SeedRng::new(2024);
        for case in 0..600 {
            let spec = random_spec(&mut rng);
            spec.validate()
                .unwrap_or_else(|e| panic!("case {case}: {e}: {spec:?}"));
            let seed = rng.next_u64();
            let grid = match Grid::from_spec(&spec, seed) {
                Ok(g) => g,
                Err(e) => panic!("case {case} seed {seed}: {e}\n{spec:?}"),
            };
            let start = grid.start();
            assert!(!grid.is_wall(start), "case {case}: spawn in a wall");
            let centre = start.as_vec2() + bevy::math::Vec2::splat(0.5);
            assert!(
                !grid.overlaps(centre, 0.15),
                "case {case}: spawn blocked by a prop"
            );
            assert_eq!(grid.first_unreachable(), None, "case {case}");
            for p in grid.props() {
                assert!(
                    !grid.is_wall(p.cell) && p.cell != start,
                    "case {case}: {p:?}"
                );
            }
            // Same seed, same level.
            assert_eq!(Grid::from_spec(&spec, seed).unwrap().hash(), grid.hash());
        }
    }

    #[test]
    fn each_generator_makes_its_own_kind_of_level() {
        let open_share = |generator: Generator| {
            let spec = LevelSpec {
                width: 41,
                height: 41,
                generator,
                ..Default::default()
            };
            let g = Grid::from_spec(&spec, 9).unwrap();
            g.open_cells().count() as f32 / (41.0 * 41.0)
        };
        let maze = open_share(Generator::default());
        let rooms = open_share(Generator::Rooms {
            rooms: 12,
            min_size: 3,
            max_size: 7,
        });
        let caves = open_share(Generator::Caves { steps: 4 });
        let scatter = open_share(Generator::Scatter);
        for (name, share) in [
            ("maze", maze),
            ("rooms", rooms),
            ("caves", caves),
            ("scatter", scatter),
        ] {
            assert!((0.2..0.9).contains(&share), "{name}: {share}");
        }
        assert_ne!(maze, caves);
    }

    #[test]
    fn repair_joins_separate_pockets() {
        let mut g = Grid::filled(9, 5, true);
        for c in [
            IVec2::new(1, 1),
            IVec2::new(2, 1),
            IVec2::new(6, 3),
            IVec2::new(7, 3),
        ] {
            g.set_wall(c, false);
        }
        assert!(regions(&g).1.len() == 2);
        connect(&mut g);
        assert_eq!(regions(&g).1.len(), 1);
        assert!(g.is_wall(IVec2::new(0, 1)), "the border stays");
    }

    fn maze_spec() -> LevelSpec {
        LevelSpec {
            width: 31,
            height: 25,
            ..Default::default()
        }
    }

    #[test]
    fn same_seed_same_grid_other_seed_other_grid() {
        let a = Grid::from_spec(&maze_spec(), 42).unwrap();
        let b = Grid::from_spec(&maze_spec(), 42).unwrap();
        let c = Grid::from_spec(&maze_spec(), 43).unwrap();
        assert_eq!(a.hash(), b.hash());
        assert_eq!(a, b);
        assert_ne!(a.hash(), c.hash());
    }

    #[test]
    fn every_open_cell_is_reachable_for_many_seeds() {
        for seed in 0..200 {
            let s = LevelSpec {
                generator: crate::spec::Generator::Maze {
                    rooms: (seed % 6) as usize,
                    loop_chance: (seed % 5) as f32 * 0.2,
                },
                ..maze_spec()
            };
            let g = Grid::from_spec(&s, seed).unwrap();
            assert_eq!(g.first_unreachable(), None, "seed {seed}");
            assert!(!g.is_wall(g.start()));
            let open = g.open_cells().count();
            assert!(
                open > g.width() * g.height() / 4,
                "seed {seed}: only {open} open"
            );
            // The border is solid.
            for x in 0..g.width() as i32 {
                assert!(
                    g.is_wall(IVec2::new(x, 0)) && g.is_wall(IVec2::new(x, g.height() as i32 - 1))
                );
            }
        }
    }

    #[test]
    fn layouts_with_islands_are_rejected() {
        let s = LevelSpec {
            layout: Some(vec!["#######".into(), "#S.#..#".into(), "#######".into()]),
            ..Default::default()
        };
        let err = Grid::from_spec(&s, 0).unwrap_err();
        assert!(
            err.to_string().contains("(4, 1) cannot be reached"),
            "{err}"
        );
    }

    #[test]
    fn sliding_never_enters_a_wall() {
        let g = Grid::from_spec(&maze_spec(), 7).unwrap();
        let mut rng = SeedRng::new(3);
        let mut p = g.start().as_vec2() + Vec2::splat(0.5);
        for _ in 0..20_000 {
            let d = Vec2::new(rng.unit() - 0.5, rng.unit() - 0.5) * 1.5;
            p = g.slide(p, d, 0.2);
            assert!(!g.overlaps(p, 0.2), "agent at {p} overlaps a wall");
        }
    }

    #[test]
    fn an_impossible_layout_is_refused_with_its_line() {
        let text = "(\n  name: \"islands\",\n  layout: Some([\n    \"#######\",\n    \"#S.#..#\",\n    \"#######\",\n  ]),\n)";
        assert!(
            LevelSpec::from_ron(text, "h.ron").is_ok(),
            "parsing alone does not lay the level out"
        );
        let err = parse_level(text, "h.ron").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("h.ron:3: layout:") && msg.contains("cannot be reached"),
            "{msg}"
        );
    }

    #[test]
    fn shipped_levels_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/levels");
        let suffix = format!(".{}", crate::spec::LEVEL_EXTENSION);
        let mut n = 0;
        let mut tasks = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(&suffix) {
                let spec = load_level(&path).unwrap_or_else(|e| panic!("{e}"));
                n += 1;
                if spec.task.is_some() {
                    // The game's --seed picks the layout of a level without its own: the
                    // task must fit whichever it is.
                    for seed in 0..50 {
                        Grid::from_spec(&spec, seed)
                            .unwrap_or_else(|e| panic!("{name} seed {seed}: {e}"));
                    }
                    tasks.push(spec.name.clone());
                }
            } else {
                // The loader claims only `.level.ron`: a plain `.ron` here would not load.
                assert!(!name.ends_with(".ron"), "{name} should be named *{suffix}");
            }
        }
        assert!(n >= 4, "expected shipped levels in {}", dir.display());
        tasks.sort();
        assert_eq!(tasks, ["arena", "seek"], "the shipped task levels");
    }

    #[test]
    fn a_task_that_does_not_fit_is_refused_with_its_line() {
        let text = |kind: &str| {
            format!(
                "(\n  layout: Some([\"#####\", \"#S..#\", \"#####\"]),\n  task: Some((\n    \
                 kind: {kind},\n  )),\n)"
            )
        };
        let err = parse_level(&text("Reach(min_distance: 3)"), "r.ron")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("r.ron:4: task.kind.min_distance: 3 cells")
                && err.contains("the farthest is 2"),
            "{err}"
        );
        let err = parse_level(&text("Collect(count: 3)"), "c.ron")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("c.ron:4: task.kind.count: 3 pickups") && err.contains("has 2"),
            "{err}"
        );
        parse_level(&text("Reach(min_distance: 2)"), "ok.ron").unwrap();
        parse_level(&text("Collect(count: 2)"), "ok.ron").unwrap();
        // A generated level is tried too: no walk in a 7 x 7 maze is 100 cells long.
        let maze =
            "(\n  width: 7,\n  height: 7,\n  task: Some((kind: Reach(min_distance: 100))),\n)";
        let err = parse_level(maze, "m.ron").unwrap_err().to_string();
        assert!(err.starts_with("m.ron:4: task.kind.min_distance"), "{err}");
        let spec = LevelSpec::from_ron(maze, "m.ron").unwrap();
        assert!(Grid::from_spec(&spec, 3).is_err(), "nor with another seed");
    }

    #[test]
    fn goal_cells_leave_out_the_start_and_solid_props() {
        let mut rows = vec![format!("#{}#", ".".repeat(9)); 9];
        rows.insert(0, "#".repeat(11));
        rows.push("#".repeat(11));
        let spec = LevelSpec {
            layout: Some(rows),
            props: Props {
                pillars: 0.5,
                crates: 0.5,
                lights: 0.5,
            },
            ..Default::default()
        };
        let grid = Grid::from_spec(&spec, 1).unwrap();
        let solid = grid
            .props()
            .iter()
            .filter(|p| p.kind != PropKind::Light)
            .count();
        assert!(solid > 0, "the test needs solid props");
        let kind = TaskKind::Collect {
            count: 1,
            radius: 0.5,
        };
        let cells = goal_cells(&grid, &kind);
        assert_eq!(cells.len(), 81 - 1 - solid);
        assert!(
            cells
                .iter()
                .all(|c| *c != grid.start() && !grid.has_solid_prop(*c))
        );
        let far = goal_cells(
            &grid,
            &TaskKind::Reach {
                min_distance: 10,
                radius: 0.5,
            },
        );
        assert!(!far.is_empty());
        for c in far {
            assert!(grid.walking_distance(grid.start(), c).unwrap() >= 10);
        }
    }

    #[test]
    fn spawn_rules_pick_open_cells() {
        let spec = LevelSpec {
            layout: Some(vec![
                "#####".into(),
                "#...#".into(),
                "#.#.#".into(),
                "#####".into(),
            ]),
            ..Default::default()
        };
        let g = Grid::from_spec(&spec, 0).unwrap();
        assert_eq!(spawn(&g, Spawn::First, 0), IVec2::new(1, 1));
        assert_eq!(spawn(&g, Spawn::Center, 0), IVec2::new(2, 1));
        assert_eq!(spawn(&g, Spawn::Cell(3, 3), 0), IVec2::new(3, 2));
        assert!(!g.is_wall(spawn(&g, Spawn::Random, 5)));
    }
}

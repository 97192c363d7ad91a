//! The level grid and what gameplay asks of it: walls and props, reachability, collision.
//! It is plain data; the generators that fill it live in [`crate::generate`] (which also
//! builds a grid from a spec: [`Grid::from_spec`]), so collision and minimap code need not
//! know how a level was made. Also the seeded random numbers and the stable hash that make a
//! seed mean the same level on every machine.

use std::collections::VecDeque;

use bevy::math::{IVec2, Vec2};

/// SplitMix64: tiny, fast and stable across releases, so a seed means the same level forever.
#[derive(Clone, Debug)]
pub struct SeedRng(u64);

impl SeedRng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// FNV-1a, 64 bit: a stable hash (unlike `std`'s, which may change between releases) for
/// the determinism fingerprints of grids and meshes.
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    /// Feeds bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ *b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// The hash of everything fed so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// What stands in an open cell besides the agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PropKind {
    /// A slim full-height column (solid).
    Pillar,
    /// A knee-high box (solid).
    Crate,
    /// A lamp on the ceiling (not solid; brightens what is near it).
    Light,
}

impl PropKind {
    /// Half the side of the solid square it occupies at its cell's centre, in cells (0: not
    /// solid).
    pub fn half_size(self) -> f32 {
        match self {
            Self::Pillar => 0.14,
            Self::Crate => 0.24,
            Self::Light => 0.0,
        }
    }
}

/// A prop and its cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prop {
    /// Cell `(x, z)`.
    pub cell: IVec2,
    /// What it is.
    pub kind: PropKind,
}

/// Walls, open cells and props of a level, row-major, `(x, z)` cell coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    width: usize,
    height: usize,
    walls: Vec<bool>,
    start: IVec2,
    props: Vec<Prop>,
    /// Half size of the solid prop in each cell (0: none), row-major like `walls`.
    solid: Vec<f32>,
}

pub(crate) const DIRS: [IVec2; 4] = [IVec2::X, IVec2::NEG_X, IVec2::Y, IVec2::NEG_Y];

impl Grid {
    /// A `width` x `height` grid, all wall or all open, start at `(1, 1)`, no props.
    pub fn filled(width: usize, height: usize, wall: bool) -> Self {
        Self {
            width,
            height,
            walls: vec![wall; width * height],
            start: IVec2::ONE,
            props: Vec::new(),
            solid: vec![0.0; width * height],
        }
    }

    /// The grid a hand-made layout draws (`#` wall, anything else open), starting at its `S`
    /// cell, or at the first open cell when it has none. The rows are validated beforehand
    /// ([`LevelSpec::validate`](crate::spec::LevelSpec::validate)): equal lengths, not empty.
    pub(crate) fn from_layout(rows: &[String]) -> Self {
        let height = rows.len();
        let width = rows[0].chars().count();
        let mut grid = Self::filled(width, height, true);
        let mut start = None;
        for (z, row) in rows.iter().enumerate() {
            for (x, c) in row.chars().enumerate() {
                let cell = IVec2::new(x as i32, z as i32);
                grid.set_wall(cell, c == '#');
                if c == 'S' {
                    start = Some(cell);
                }
            }
        }
        grid.start = start
            .or_else(|| grid.open_cells().next())
            .unwrap_or(IVec2::ZERO);
        grid
    }

    /// Puts a prop in an open cell (solid ones block movement there).
    pub(crate) fn add_prop(&mut self, prop: Prop) {
        if let Some(i) = self.index(prop.cell) {
            self.solid[i] = self.solid[i].max(prop.kind.half_size());
            self.props.push(prop);
        }
    }

    /// Moves the start (the spawn rule picks it after the walls are laid).
    pub(crate) fn set_start(&mut self, cell: IVec2) {
        self.start = cell;
    }

    /// The props, in placement order.
    pub fn props(&self) -> &[Prop] {
        &self.props
    }

    /// True inside the border ring.
    pub(crate) fn in_interior(&self, c: IVec2) -> bool {
        c.x > 0 && c.y > 0 && c.x < self.width as i32 - 1 && c.y < self.height as i32 - 1
    }

    pub(crate) fn index(&self, c: IVec2) -> Option<usize> {
        (c.x >= 0 && c.y >= 0 && (c.x as usize) < self.width && (c.y as usize) < self.height)
            .then(|| c.y as usize * self.width + c.x as usize)
    }

    pub(crate) fn set_wall(&mut self, c: IVec2, wall: bool) {
        if let Some(i) = self.index(c) {
            self.walls[i] = wall;
        }
    }

    /// Cells along x.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Cells along z.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The start cell of the agent.
    pub fn start(&self) -> IVec2 {
        self.start
    }

    /// True for wall cells and for everything outside the grid.
    pub fn is_wall(&self, c: IVec2) -> bool {
        self.index(c).is_none_or(|i| self.walls[i])
    }

    /// Every open cell, row by row.
    pub fn open_cells(&self) -> impl Iterator<Item = IVec2> + '_ {
        (0..self.height as i32)
            .flat_map(move |z| (0..self.width as i32).map(move |x| IVec2::new(x, z)))
            .filter(|c| !self.is_wall(*c))
    }

    /// Open cells reachable from the start, by 4-neighbour flood fill.
    pub fn reachable(&self) -> Vec<bool> {
        let mut seen = vec![false; self.walls.len()];
        if self.is_wall(self.start) {
            return seen;
        }
        let mut queue = VecDeque::from([self.start]);
        seen[self.index(self.start).expect("start is inside")] = true;
        while let Some(c) = queue.pop_front() {
            for d in DIRS {
                let n = c + d;
                if let Some(i) = self.index(n)
                    && !self.walls[i]
                    && !seen[i]
                {
                    seen[i] = true;
                    queue.push_back(n);
                }
            }
        }
        seen
    }

    /// Walking distance in cells (4-neighbour steps through open cells) from the nearest of
    /// `sources` to every cell, row-major (`z * width + x`); `None` for walls and for cells
    /// no source reaches. Props are walked through: they stand only in open areas, so going
    /// round one costs two steps at most.
    pub fn walking_distances(&self, sources: &[IVec2]) -> Vec<Option<u32>> {
        let mut dist: Vec<Option<u32>> = vec![None; self.walls.len()];
        let mut queue = VecDeque::new();
        for &c in sources {
            if let Some(i) = self.index(c)
                && !self.walls[i]
                && dist[i].is_none()
            {
                dist[i] = Some(0);
                queue.push_back(c);
            }
        }
        while let Some(c) = queue.pop_front() {
            let next = dist[self.index(c).expect("queued cells are inside")].map(|d| d + 1);
            for d in DIRS {
                let n = c + d;
                if let Some(i) = self.index(n)
                    && !self.walls[i]
                    && dist[i].is_none()
                {
                    dist[i] = next;
                    queue.push_back(n);
                }
            }
        }
        dist
    }

    /// Walking distance in cells from `from` to `to` ([`Grid::walking_distances`]), `None`
    /// when either is a wall or one cannot reach the other.
    pub fn walking_distance(&self, from: IVec2, to: IVec2) -> Option<u32> {
        let i = self.index(to)?;
        self.walking_distances(&[from])[i]
    }

    /// True when a solid prop (pillar or crate) stands in `c`: the agent cannot stand at its
    /// centre, so nothing is placed there for it to reach.
    pub fn has_solid_prop(&self, c: IVec2) -> bool {
        self.index(c).is_some_and(|i| self.solid[i] > 0.0)
    }

    /// The first open cell the start cannot reach, if any.
    pub fn first_unreachable(&self) -> Option<IVec2> {
        let seen = self.reachable();
        self.open_cells()
            .find(|c| !seen[self.index(*c).expect("open cells are inside")])
    }

    /// A stable 64-bit hash (FNV-1a) of the size, start and walls, for determinism checks.
    pub fn hash(&self) -> u64 {
        let mut h = Fnv1a::default();
        h.write(&(self.width as u64).to_le_bytes());
        h.write(&(self.height as u64).to_le_bytes());
        h.write(&self.start.x.to_le_bytes());
        h.write(&self.start.y.to_le_bytes());
        self.walls.iter().for_each(|w| h.write(&[*w as u8]));
        for p in &self.props {
            h.write(&p.cell.x.to_le_bytes());
            h.write(&p.cell.y.to_le_bytes());
            h.write(&[p.kind as u8]);
        }
        h.finish()
    }

    /// Moves a circle of `radius` (cell units) at `pos` by `delta`, sliding along walls:
    /// each axis moves separately and is cancelled if it would overlap a wall. Long moves are
    /// split into sub-steps shorter than the radius, so nothing tunnels through a wall.
    pub fn slide(&self, pos: Vec2, delta: Vec2, radius: f32) -> Vec2 {
        let steps = (delta.length() / (radius * 0.5)).ceil().max(1.0) as usize;
        let step = delta / steps as f32;
        let mut p = pos;
        for _ in 0..steps {
            let try_x = Vec2::new(p.x + step.x, p.y);
            if !self.overlaps(try_x, radius) {
                p = try_x;
            }
            let try_z = Vec2::new(p.x, p.y + step.y);
            if !self.overlaps(try_z, radius) {
                p = try_z;
            }
        }
        p
    }

    /// True when a circle at `pos` (cell units) overlaps a wall cell or a solid prop.
    pub fn overlaps(&self, pos: Vec2, radius: f32) -> bool {
        let min = (pos - Vec2::splat(radius)).floor().as_ivec2();
        let max = (pos + Vec2::splat(radius)).floor().as_ivec2();
        for z in min.y..=max.y {
            for x in min.x..=max.x {
                let c = IVec2::new(x, z);
                let (lo, hi) = if self.is_wall(c) {
                    (c.as_vec2(), c.as_vec2() + Vec2::ONE)
                } else {
                    let half = self.index(c).map_or(0.0, |i| self.solid[i]);
                    if half <= 0.0 {
                        continue;
                    }
                    let centre = c.as_vec2() + Vec2::splat(0.5);
                    (centre - Vec2::splat(half), centre + Vec2::splat(half))
                };
                let nearest = pos.clamp(lo, hi);
                if nearest.distance_squared(pos) < radius * radius {
                    return true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walking_into_a_wall_stops_at_its_face() {
        let g = Grid::from_layout(&[
            "#####".to_string(),
            "#S..#".to_string(),
            "#####".to_string(),
        ]);
        let p = g.slide(Vec2::new(1.5, 1.5), Vec2::new(10.0, 0.0), 0.25);
        assert!((p.x - 3.75).abs() < 0.2, "stopped at {p}");
        assert!(p.x < 3.75 + 1e-4);
    }

    #[test]
    fn walking_distances_go_round_walls() {
        let g = Grid::from_layout(&[
            "#####".to_string(),
            "#S#.#".to_string(),
            "#...#".to_string(),
            "#####".to_string(),
        ]);
        let start = g.start();
        assert_eq!(g.walking_distance(start, start), Some(0));
        assert_eq!(g.walking_distance(start, IVec2::new(3, 1)), Some(4));
        assert_eq!(g.walking_distance(start, IVec2::new(2, 1)), None, "a wall");
        let two = g.walking_distances(&[IVec2::new(1, 1), IVec2::new(3, 1)]);
        assert_eq!(two[g.index(IVec2::new(2, 2)).unwrap()], Some(2));
        assert!(g.walking_distances(&[]).iter().all(Option::is_none));
    }
}

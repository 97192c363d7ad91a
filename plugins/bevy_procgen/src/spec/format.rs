//! The level format: what a level file may say, every field with its default. These are
//! plain serde types so a game can also build a level in code (`..Default::default()`) and
//! write it out with [`LevelSpec::to_ron`].

use serde::{Deserialize, Serialize};

/// The level format this build reads and writes. A file may say `version: 1`; a newer
/// version is refused with a message rather than misread.
pub const FORMAT_VERSION: u32 = 1;

/// The extension of level files, without the leading dot (`maze.level.ron`). Level files
/// have this double extension, not plain `.ron`, so that the level loader can claim it and
/// leave a game's other RON assets to their own loaders.
pub const LEVEL_EXTENSION: &str = "level.ron";

/// A colour as sRGB floats in `[0, 1]` (the values a colour picker shows, divided by 255).
pub type Rgb = (f32, f32, f32);

/// Colours of a level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Palette {
    /// Wall colours; regions of the level pick among them with low-frequency noise.
    pub walls: Vec<Rgb>,
    /// Base floor colour.
    pub floor: Rgb,
    /// Base ceiling (or sky) colour.
    pub ceiling: Rgb,
    /// Colour distant things fade to when the level has [`Fog`].
    pub fog: Rgb,
    /// Colour of light props and of the glow they cast.
    pub light: Rgb,
    /// Colour of a task's goal ([`TaskKind::Reach`]): saturated and unlike the default walls,
    /// so the goal stands out in a 64x64 view.
    pub goal: Rgb,
    /// Colour of a task's pickups ([`TaskKind::Collect`]).
    pub pickup: Rgb,
}

impl Default for Palette {
    fn default() -> Self {
        Self {
            walls: vec![
                (0.80, 0.32, 0.22),
                (0.22, 0.50, 0.78),
                (0.35, 0.68, 0.32),
                (0.86, 0.72, 0.25),
            ],
            floor: (0.42, 0.36, 0.30),
            ceiling: (0.78, 0.80, 0.86),
            fog: (0.70, 0.72, 0.78),
            light: (1.0, 0.85, 0.55),
            goal: (0.95, 0.2, 0.85),
            pickup: (0.2, 0.95, 0.9),
        }
    }
}

/// How the walls are laid out. Every generator ends with every open cell reachable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Generator {
    /// A maze carved depth-first (connected by construction), with rooms and loops opened
    /// into it. Needs odd `width` and `height`.
    Maze {
        /// Rectangular rooms carved into the maze, 0 to 400
        /// ([`MAX_ROOMS`](crate::spec::MAX_ROOMS)).
        #[serde(default = "default_rooms")]
        rooms: usize,
        /// Share of walls between two corridors removed to make loops, `[0, 1]`.
        #[serde(default = "default_loop_chance")]
        loop_chance: f32,
    },
    /// Rectangular rooms joined by L-shaped corridors (a dungeon).
    Rooms {
        /// Rooms to try to place (overlapping ones are skipped), 0 to 400
        /// ([`MAX_ROOMS`](crate::spec::MAX_ROOMS)).
        #[serde(default = "default_room_count")]
        rooms: usize,
        /// Smallest room side, in cells (at least 2).
        #[serde(default = "default_min_room")]
        min_size: usize,
        /// Largest room side, in cells: at most the level's smaller side less 2 (its border).
        #[serde(default = "default_max_room")]
        max_size: usize,
    },
    /// Caves: random fill at `wall_density`, smoothed by cellular-automaton steps (a cell
    /// becomes wall with 5 or more wall neighbours of 8), then joined by tunnels.
    Caves {
        /// Smoothing steps, 0 to 20 ([`MAX_CAVE_STEPS`](crate::spec::MAX_CAVE_STEPS)).
        #[serde(default = "default_cave_steps")]
        steps: usize,
    },
    /// Random fill at `wall_density`; pockets the start cannot reach are joined by tunnels.
    Scatter,
}

fn default_rooms() -> usize {
    3
}
fn default_loop_chance() -> f32 {
    0.12
}
fn default_room_count() -> usize {
    10
}
fn default_min_room() -> usize {
    3
}
fn default_max_room() -> usize {
    6
}
fn default_cave_steps() -> usize {
    4
}

impl Default for Generator {
    fn default() -> Self {
        Self::Maze {
            rooms: default_rooms(),
            loop_chance: default_loop_chance(),
        }
    }
}

/// Smooth noise (Perlin fBm): `octaves` layers, each twice the frequency and half the
/// amplitude of the one before.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoiseSpec {
    /// Strength; 0 turns it off (bounds: see the fields of [`LevelSpec`] using it).
    pub amplitude: f32,
    /// Features per cell of the first octave (0.1: about one bump every 10 cells), above 0
    /// and at most 16 ([`MAX_FREQUENCY`](crate::spec::MAX_FREQUENCY)).
    pub frequency: f32,
    /// Layers of detail, 1-8.
    pub octaves: u32,
}

impl Default for NoiseSpec {
    fn default() -> Self {
        Self {
            amplitude: 0.0,
            frequency: 0.15,
            octaves: 2,
        }
    }
}

/// Things standing in open cells, as a share of the cells that can hold them (cells in open
/// areas, never in a corridor, so they never cut the level in two), each in `[0, 0.5]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Props {
    /// Slim full-height columns (solid).
    pub pillars: f32,
    /// Knee-high boxes (solid).
    pub crates: f32,
    /// Lamps on the ceiling that brighten what is near them.
    pub lights: f32,
}

/// Baked lighting (the level is drawn unlit, with light in its vertex colours: cheap for a
/// software rasteriser, and stable for a world model to learn).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Lighting {
    /// Overall brightness multiplier, `(0, 4]`.
    pub brightness: f32,
    /// How much darker the least-lit wall direction is than the most-lit, `[0, 1)`.
    pub contrast: f32,
    /// How much darker walls are at the floor than at the top, `[0, 1)`.
    pub floor_shadow: f32,
    /// Reach of a light prop, in cells, `(0, 16]`
    /// ([`MAX_LIGHT_RADIUS`](crate::spec::MAX_LIGHT_RADIUS)).
    pub light_radius: f32,
    /// Extra brightness right under a light prop, `[0, 4]`.
    pub light_strength: f32,
}

impl Default for Lighting {
    fn default() -> Self {
        Self {
            brightness: 1.0,
            contrast: 0.28,
            floor_shadow: 0.38,
            light_radius: 3.0,
            light_strength: 0.8,
        }
    }
}

/// Distance fog on the level's cameras, fading to `palette.fog`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fog {
    /// Distance (metres) where fog starts, 0 or more.
    pub start: f32,
    /// Distance where everything is fog colour: beyond `start`, at most 10,000
    /// ([`MAX_FOG`](crate::spec::MAX_FOG)).
    pub end: f32,
}

impl Default for Fog {
    fn default() -> Self {
        Self {
            start: 6.0,
            end: 30.0,
        }
    }
}

/// Where the agent starts (a layout's `S` cell overrides it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Spawn {
    /// The first open cell, row by row from the top left.
    #[default]
    First,
    /// The open cell nearest the middle of the level.
    Center,
    /// An open cell picked by the seed.
    Random,
    /// This cell `(x, z)`; if it is a wall, the nearest open cell. Each coordinate in
    /// `[-1000, 1000]` ([`MAX_SPAWN_CELL`](crate::spec::MAX_SPAWN_CELL)).
    Cell(i32, i32),
}

/// What the level asks of the player; none by default. With one, the game counts episodes:
/// each pays rewards for goals taken and ends when the last is taken (a terminal) or after
/// `time_limit` ticks (a truncation, not a terminal), so an agent can learn from it.
///
/// ```ron
/// task: Some((kind: Reach(min_distance: 3, radius: 0.5), time_limit: 200)),
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskSpec {
    /// What is to be done. Default: `Reach(min_distance: 4, radius: 0.5)`
    pub kind: TaskKind,
    /// Ticks per episode before it is truncated, 1 to 100,000
    /// ([`MAX_TIME_LIMIT`](crate::spec::MAX_TIME_LIMIT)). Default: `300`
    pub time_limit: u32,
    /// Subtracted from the reward every tick, `[0, 1]`, so shorter episodes pay more.
    /// Default: `0.0`
    pub step_penalty: f32,
    /// Potential-based shaping with this discount, `(0, 1]`: every tick also pays
    /// `gamma x phi(after) - phi(before)`, phi being minus the walking distance to the nearest
    /// goal left (0 once none is). With gamma the learner's discount it guides without changing
    /// which policy is best. Default: `None` (off)
    pub shaping: Option<f32>,
    /// Width of a Reach goal's column, in cells, `(0, 1]`: a wider goal is seen from farther
    /// in a small view. Default: `0.35`
    pub goal_width: f32,
}

impl Default for TaskSpec {
    fn default() -> Self {
        Self {
            kind: TaskKind::default(),
            time_limit: 300,
            step_penalty: 0.0,
            shaping: None,
            goal_width: 0.35,
        }
    }
}

/// The kinds of task. Goals are placed anew each episode, from the level's seed and the
/// episode's number, in open cells the start reaches (never on a solid prop).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum TaskKind {
    /// Walk to one goal, `+1` when reached; it ends the episode.
    Reach {
        /// Fewest cells of walking from the start to the goal, 1 to
        /// [`MAX_MIN_DISTANCE`](crate::spec::MAX_MIN_DISTANCE): large enough puts the goal out
        /// of sight of the start.
        #[serde(default = "default_min_distance")]
        min_distance: usize,
        /// How near (cells, from the goal cell's centre) counts as reached, `(0, 2]`
        /// ([`MAX_GOAL_RADIUS`](crate::spec::MAX_GOAL_RADIUS)).
        #[serde(default = "default_goal_radius")]
        radius: f32,
    },
    /// Pick up `count` items, `+1` each; the last ends the episode.
    Collect {
        /// Pickups, 1 to 32 ([`MAX_PICKUPS`](crate::spec::MAX_PICKUPS)), each in its own cell
        /// other than the start.
        #[serde(default = "default_pickups")]
        count: usize,
        /// How near (cells, from a pickup's cell centre) picks it up, `(0, 2]`.
        #[serde(default = "default_goal_radius")]
        radius: f32,
    },
}

fn default_min_distance() -> usize {
    4
}
fn default_goal_radius() -> f32 {
    0.5
}
fn default_pickups() -> usize {
    3
}

impl Default for TaskKind {
    fn default() -> Self {
        Self::Reach {
            min_distance: default_min_distance(),
            radius: default_goal_radius(),
        }
    }
}

impl TaskKind {
    /// How near (cells) the agent must come to a goal's cell centre to take it.
    pub fn radius(&self) -> f32 {
        match *self {
            Self::Reach { radius, .. } | Self::Collect { radius, .. } => radius,
        }
    }
}

/// Everything that defines a level. A file may give any subset; the rest are defaults.
///
/// ```ron
/// (
///     name: "twisty",
///     width: 25, height: 19,
///     generator: Maze(rooms: 4, loop_chance: 0.1),
/// )
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LevelSpec {
    /// Format version ([`FORMAT_VERSION`]).
    pub version: u32,
    /// Shown in the UI and logs, and part of file names (recorded datasets): 1 to 64
    /// characters of `A-Z a-z 0-9`, space, `_`, `.` and `-`, not starting with `.` or a space
    /// nor ending with a space.
    pub name: String,
    /// Cells along x, 5 to [`MAX_SIDE`](crate::spec::MAX_SIDE). Default: `21`
    pub width: usize,
    /// Cells along z, 5 to [`MAX_SIDE`](crate::spec::MAX_SIDE). Default: `21`
    pub height: usize,
    /// Seed of the layout and colours; `None` takes the game's `--seed`. Default: `None`
    pub seed: Option<u64>,
    /// How walls are laid out. Default: `Maze(rooms: 3, loop_chance: 0.12)`
    pub generator: Generator,
    /// Share of cells that start as wall for `Caves` and `Scatter`, `[0, 0.75]`. Default: `0.45`
    pub wall_density: f32,
    /// Size of a cell in world units (metres), `[0.75, 20]`. Default: `2.0`
    pub cell_size: f32,
    /// Height of walls and ceiling (metres), `[1.5, 50]`. Default: `2.5`
    pub wall_height: f32,
    /// Variation of wall heights, in metres (walls lower than the ceiling get a top),
    /// `amplitude` in `[0, 4 x wall_height]`, `octaves` 1 to 8. Default: off
    pub height_noise: NoiseSpec,
    /// Variation of brightness across walls, floor and ceiling, `amplitude` in `[0, 1]`,
    /// `octaves` 1 to 8.
    /// Default: `(amplitude: 0.25, frequency: 0.6, octaves: 1)`
    pub color_noise: NoiseSpec,
    /// Cells across one colour region of the walls, `(0, 1000]`. Default: `11`
    pub region_size: f32,
    /// Colours: 1 to 64 wall colours, every channel in `[0, 1]`.
    pub palette: Palette,
    /// Pillars, crates and lights. Default: none
    pub props: Props,
    /// Baked lighting.
    pub lighting: Lighting,
    /// Distance fog. Default: `None`
    pub fog: Option<Fog>,
    /// Vertical field of view of every 3D perspective camera while the level is in play, in
    /// degrees, `[MIN_FIELD_OF_VIEW, MAX_FIELD_OF_VIEW]`; `None` leaves cameras as the game
    /// set them. A task level may widen it so its goal is in view more often. Default: `None`
    pub field_of_view: Option<f32>,
    /// Where the agent starts. Default: `First`
    pub spawn: Spawn,
    /// A hand-made layout instead of a generated one: one string per row, `#` wall, `.` open,
    /// `S` the agent's start. Overrides `width`, `height` and `generator`. 1 to
    /// [`MAX_SIDE`](crate::spec::MAX_SIDE) rows of equal length, 1 to `MAX_SIDE` cells each.
    /// Default: `None`
    pub layout: Option<Vec<String>>,
    /// What the player is asked to do (goals, rewards, episodes). Default: `None`
    pub task: Option<TaskSpec>,
}

impl Default for LevelSpec {
    fn default() -> Self {
        Self {
            version: FORMAT_VERSION,
            name: "maze".into(),
            width: 21,
            height: 21,
            seed: None,
            generator: Generator::default(),
            wall_density: 0.45,
            cell_size: 2.0,
            wall_height: 2.5,
            height_noise: NoiseSpec::default(),
            color_noise: NoiseSpec {
                amplitude: 0.25,
                frequency: 0.6,
                octaves: 1,
            },
            region_size: 11.0,
            palette: Palette::default(),
            props: Props::default(),
            lighting: Lighting::default(),
            fog: None,
            field_of_view: None,
            spawn: Spawn::default(),
            layout: None,
            task: None,
        }
    }
}

//! The bounds of every number and list in a level file, in one place: [`LevelSpec::validate`]
//! checks them, and they are chosen so that the largest level the format allows, every field
//! at its most expensive bound, still generates well within a second while the game runs
//! (hot reload), and so that no value can overflow a counter or make a loop run for ever.
//! [`heaviest_levels`] builds those largest levels, for `examples/level_bench.rs` and the
//! tests.
//!
//! What each bound costs at its limit (201 x 201 cells, about 40,000):
//! - rooms ([`MAX_ROOMS`]): the rooms generator tries `4 x rooms` placements, each checked
//!   against the rooms already placed (at most 640,000 checks), then one corridor per room;
//! - cave steps ([`MAX_CAVE_STEPS`]): one pass over the grid each (8 neighbours a cell);
//! - lamps: at most half the open cells ([`MAX_PROP_SHARE`]), each lighting the cells within
//!   [`MAX_LIGHT_RADIUS`]: about 20,000 lamps x 33 x 33 cells, some 22 million steps;
//! - noise octaves ([`MAX_OCTAVES`]): Perlin samples per wall vertex colour and height.
//!
//! [`LevelSpec::validate`]: super::LevelSpec::validate

use super::format::{Fog, Generator, LevelSpec, Lighting, NoiseSpec, Palette, Props, Spawn};

/// Largest grid side, in cells: the largest level still generates quickly enough to hot-reload
/// while the game runs (measured by `examples/level_bench.rs`, figures in the README).
pub const MAX_SIDE: usize = 201;
/// Smallest side of a generated level, in cells (a layout may be smaller).
pub const MIN_SIDE: usize = 5;
/// Longest level `name`, in characters (it becomes part of file names: `--record`).
pub const MAX_NAME_LEN: usize = 64;
/// Most rooms of `Maze(rooms)` and `Rooms(rooms)`.
pub const MAX_ROOMS: usize = 400;
/// Smallest room side of `Rooms(min_size)`; the largest is the level's side less its border.
pub const MIN_ROOM_SIDE: usize = 2;
/// Most smoothing steps of `Caves(steps)`.
pub const MAX_CAVE_STEPS: usize = 20;
/// Largest `wall_density`.
pub const MAX_WALL_DENSITY: f32 = 0.75;
/// Smallest `cell_size` (metres): the agent (radius 0.3) still fits through a corridor.
pub const MIN_CELL_SIZE: f32 = 0.75;
/// Largest `cell_size` (metres).
pub const MAX_CELL_SIZE: f32 = 20.0;
/// Lowest `wall_height` (metres): the agent's eyes (1.2) stay below the ceiling.
pub const MIN_WALL_HEIGHT: f32 = 1.5;
/// Highest `wall_height` (metres).
pub const MAX_WALL_HEIGHT: f32 = 50.0;
/// Most `octaves` of a noise (the fewest is 1).
pub const MAX_OCTAVES: u32 = 8;
/// Highest noise `frequency` (features per cell; it must be above 0).
pub const MAX_FREQUENCY: f32 = 16.0;
/// Largest `height_noise.amplitude`, as a multiple of `wall_height`.
pub const MAX_HEIGHT_NOISE: f32 = 4.0;
/// Largest `region_size` (cells; it must be above 0).
pub const MAX_REGION_SIZE: f32 = 1000.0;
/// Most `palette.walls` colours (the fewest is 1).
pub const MAX_WALL_COLOURS: usize = 64;
/// Largest share of cells for each prop kind (`props.pillars`, `crates`, `lights`).
pub const MAX_PROP_SHARE: f32 = 0.5;
/// Largest `lighting.brightness` (it must be above 0).
pub const MAX_BRIGHTNESS: f32 = 4.0;
/// Largest `lighting.contrast` and `lighting.floor_shadow`.
pub const MAX_SHADE: f32 = 0.95;
/// Largest `lighting.light_radius` (cells; it must be above 0).
pub const MAX_LIGHT_RADIUS: f32 = 16.0;
/// Largest `lighting.light_strength`.
pub const MAX_LIGHT_STRENGTH: f32 = 4.0;
/// Farthest `fog.end` (metres).
pub const MAX_FOG: f32 = 10_000.0;
/// Narrowest `field_of_view` (degrees).
pub const MIN_FIELD_OF_VIEW: f32 = 20.0;
/// Widest `field_of_view` (degrees): wider views squeeze the middle of a small frame to
/// nothing, and 180 is no perspective at all.
pub const MAX_FIELD_OF_VIEW: f32 = 150.0;
/// Largest `|x|` and `|z|` of `Spawn::Cell(x, z)`.
pub const MAX_SPAWN_CELL: i32 = 1000;
/// Most ticks of `task.time_limit` (the fewest is 1): about half an hour of play at 60 ticks
/// a second, far longer than an episode an agent learns from.
pub const MAX_TIME_LIMIT: u32 = 100_000;
/// Largest `Reach(min_distance)` (cells of walking; the fewest is 1): no walk in the largest
/// grid is longer than its number of cells.
pub const MAX_MIN_DISTANCE: usize = MAX_SIDE * MAX_SIDE;
/// Largest `radius` of a task's goals (cells; it must be above 0).
pub const MAX_GOAL_RADIUS: f32 = 2.0;
/// Most `Collect(count)` pickups (the fewest is 1): each is an entity and a check per tick.
pub const MAX_PICKUPS: usize = 32;

/// The most expensive levels the format allows: the largest grid, each generator with its
/// counts at their limits (`limit-maze`, `limit-rooms`, `limit-caves`, `limit-scatter`) and a
/// hand-made layout of the largest size, open inside (`limit-layout`, the most lamps); every
/// other field at the bound that costs most (most octaves and props, the widest lamp light,
/// the most wall colours). Each is valid; `examples/level_bench.rs` times them.
pub fn heaviest_levels() -> Vec<LevelSpec> {
    let noise = |amplitude: f32| NoiseSpec {
        amplitude,
        frequency: MAX_FREQUENCY,
        octaves: MAX_OCTAVES,
    };
    let walls = (0..MAX_WALL_COLOURS)
        .map(|i| {
            let channel = |bit: usize| if (i >> bit) & 1 == 1 { 1.0 } else { 0.0 };
            (channel(0), channel(1), channel(2))
        })
        .collect();
    let base = LevelSpec {
        width: MAX_SIDE,
        height: MAX_SIDE,
        wall_density: MAX_WALL_DENSITY,
        cell_size: MAX_CELL_SIZE,
        wall_height: MAX_WALL_HEIGHT,
        height_noise: noise(MAX_WALL_HEIGHT * MAX_HEIGHT_NOISE),
        color_noise: noise(1.0),
        region_size: MAX_REGION_SIZE,
        palette: Palette {
            walls,
            ..Default::default()
        },
        props: Props {
            pillars: MAX_PROP_SHARE,
            crates: MAX_PROP_SHARE,
            lights: MAX_PROP_SHARE,
        },
        lighting: Lighting {
            brightness: MAX_BRIGHTNESS,
            contrast: MAX_SHADE,
            floor_shadow: MAX_SHADE,
            light_radius: MAX_LIGHT_RADIUS,
            light_strength: MAX_LIGHT_STRENGTH,
        },
        fog: Some(Fog {
            start: 0.0,
            end: MAX_FOG,
        }),
        field_of_view: Some(MAX_FIELD_OF_VIEW),
        spawn: Spawn::Cell(MAX_SPAWN_CELL, MAX_SPAWN_CELL),
        ..Default::default()
    };
    let generated = [
        (
            "limit-maze",
            Generator::Maze {
                rooms: MAX_ROOMS,
                loop_chance: 1.0,
            },
        ),
        (
            "limit-rooms",
            Generator::Rooms {
                rooms: MAX_ROOMS,
                min_size: MIN_ROOM_SIDE,
                max_size: MAX_SIDE - 2,
            },
        ),
        (
            "limit-caves",
            Generator::Caves {
                steps: MAX_CAVE_STEPS,
            },
        ),
        ("limit-scatter", Generator::Scatter),
    ]
    .map(|(name, generator)| LevelSpec {
        name: name.into(),
        generator,
        ..base.clone()
    });
    let open_row = format!("#{}#", ".".repeat(MAX_SIDE - 2));
    let mut rows = vec![open_row; MAX_SIDE];
    rows[0] = "#".repeat(MAX_SIDE);
    rows[MAX_SIDE - 1] = "#".repeat(MAX_SIDE);
    let layout = LevelSpec {
        name: "limit-layout".into(),
        layout: Some(rows),
        ..base
    };
    generated.into_iter().chain([layout]).collect()
}

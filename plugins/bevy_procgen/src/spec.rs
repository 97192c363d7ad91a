//! Level files: the RON format modders edit (versioned), with defaults, validation, and
//! errors that name the file, the line and the problem.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The level format this build reads and writes. A file may say `version: 1`; a newer
/// version is refused with a message rather than misread.
pub const FORMAT_VERSION: u32 = 1;

/// Largest grid side, in cells (generation stays well under 50 ms at this size).
pub const MAX_SIDE: usize = 201;

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
        /// Rectangular rooms carved into the maze.
        #[serde(default = "default_rooms")]
        rooms: usize,
        /// Share of walls between two corridors removed to make loops, `[0, 1]`.
        #[serde(default = "default_loop_chance")]
        loop_chance: f32,
    },
    /// Rectangular rooms joined by L-shaped corridors (a dungeon).
    Rooms {
        /// Rooms to try to place (overlapping ones are skipped).
        #[serde(default = "default_room_count")]
        rooms: usize,
        /// Smallest room side, in cells (at least 2).
        #[serde(default = "default_min_room")]
        min_size: usize,
        /// Largest room side, in cells.
        #[serde(default = "default_max_room")]
        max_size: usize,
    },
    /// Caves: random fill at `wall_density`, smoothed by cellular-automaton steps (a cell
    /// becomes wall with 5 or more wall neighbours of 8), then joined by tunnels.
    Caves {
        /// Smoothing steps.
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
    /// Strength; 0 turns it off.
    pub amplitude: f32,
    /// Features per cell of the first octave (0.1: about one bump every 10 cells).
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
/// areas, never in a corridor, so they never cut the level in two).
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
    /// Overall brightness multiplier.
    pub brightness: f32,
    /// How much darker the least-lit wall direction is than the most-lit, `[0, 1)`.
    pub contrast: f32,
    /// How much darker walls are at the floor than at the top, `[0, 1)`.
    pub floor_shadow: f32,
    /// Reach of a light prop, in cells.
    pub light_radius: f32,
    /// Extra brightness right under a light prop.
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
    /// Distance (metres) where fog starts.
    pub start: f32,
    /// Distance where everything is fog colour.
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
    /// This cell `(x, z)`; if it is a wall, the nearest open cell.
    Cell(i32, i32),
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
    /// Shown in the UI and logs.
    pub name: String,
    /// Cells along x, 5 to [`MAX_SIDE`]. Default: `21`
    pub width: usize,
    /// Cells along z, 5 to [`MAX_SIDE`]. Default: `21`
    pub height: usize,
    /// Seed of the layout and colours; `None` takes the game's `--seed`. Default: `None`
    pub seed: Option<u64>,
    /// How walls are laid out. Default: `Maze(rooms: 3, loop_chance: 0.12)`
    pub generator: Generator,
    /// Share of cells that start as wall for `Caves` and `Scatter`, `[0, 0.75]`. Default: `0.45`
    pub wall_density: f32,
    /// Size of a cell in world units (metres). Default: `2.0`
    pub cell_size: f32,
    /// Height of walls and ceiling. Default: `2.5`
    pub wall_height: f32,
    /// Variation of wall heights, in metres (walls lower than the ceiling get a top). Default: off
    pub height_noise: NoiseSpec,
    /// Variation of brightness across walls, floor and ceiling, `amplitude` in `[0, 1]`.
    /// Default: `(amplitude: 0.25, frequency: 0.6, octaves: 1)`
    pub color_noise: NoiseSpec,
    /// Cells across one colour region of the walls. Default: `11`
    pub region_size: f32,
    /// Colours.
    pub palette: Palette,
    /// Pillars, crates and lights. Default: none
    pub props: Props,
    /// Baked lighting.
    pub lighting: Lighting,
    /// Distance fog. Default: `None`
    pub fog: Option<Fog>,
    /// Where the agent starts. Default: `First`
    pub spawn: Spawn,
    /// A hand-made layout instead of a generated one: one string per row, `#` wall, `.` open,
    /// `S` the agent's start. Overrides `width`, `height` and `generator`. Default: `None`
    pub layout: Option<Vec<String>>,
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
            spawn: Spawn::default(),
            layout: None,
        }
    }
}

/// A level that cannot be used, with what is wrong in it and where.
#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum LevelError {
    /// The file could not be read.
    #[error("cannot read level {path}: {reason}")]
    Io {
        /// File path.
        path: String,
        /// OS message.
        reason: String,
    },
    /// The RON did not parse: syntax, an unknown field, a wrong type.
    #[error("{path}:{line}:{column}: {reason}")]
    Parse {
        /// File path.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Parser message.
        reason: String,
    },
    /// The asset server could not load a level file; the message names the file, the line
    /// and the problem (it is the loader's own [`LevelError`], as text).
    #[error("{0}")]
    Rejected(String),
    /// The values parsed but cannot make a level.
    #[error("{origin}{}: {field}: {reason}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        /// File path, or the level name when it did not come from a file.
        origin: String,
        /// 1-based line of the field, when known.
        line: Option<usize>,
        /// The field at fault (`props.pillars`, `layout` ...).
        field: String,
        /// What is wrong.
        reason: String,
    },
}

impl LevelError {
    /// The loader's message inside an asset-server load error: its first line (no backtrace),
    /// without the server's "Failed to load asset ... with asset loader ...:" prefix.
    pub fn from_load_error(text: &str) -> Self {
        let line = text.lines().next().unwrap_or_default();
        let message = match line.find("with asset loader '") {
            Some(i) => line[i..].split_once("': ").map_or(line, |(_, rest)| rest),
            None => line,
        };
        Self::Rejected(message.trim().to_string())
    }

    fn invalid(spec: &LevelSpec, field: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            origin: format!("level '{}'", spec.name),
            line: None,
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Names `origin` (a file) and the line of the field in `text`.
    fn locate(self, origin: &str, text: &str) -> Self {
        match self {
            Self::Invalid { field, reason, .. } => {
                let key = field.rsplit('.').next().unwrap_or(&field).to_string();
                let line = field_line(text, &key);
                Self::Invalid {
                    origin: origin.into(),
                    line,
                    field,
                    reason,
                }
            }
            other => other,
        }
    }
}

/// 1-based line where `key:` first appears outside a comment.
fn field_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let code = l.split("//").next().unwrap_or("");
            code.match_indices(key).any(|(i, _)| {
                let before_ok = code[..i]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !c.is_alphanumeric() && c != '_');
                let after = code[i + key.len()..].trim_start();
                before_ok && after.starts_with(':')
            })
        })
        .map(|i| i + 1)
}

impl LevelSpec {
    /// Parses RON text; `origin` (a path) names the source in errors, with the line.
    pub fn from_ron(text: &str, origin: &str) -> Result<Self, LevelError> {
        let spec: Self = ron::from_str(text).map_err(|e| LevelError::Parse {
            path: origin.into(),
            line: e.span.start.line,
            column: e.span.start.col,
            reason: e.code.to_string(),
        })?;
        spec.validate().map_err(|e| e.locate(origin, text))?;
        if spec.layout.is_some() {
            // A hand-made layout's connectivity does not depend on the seed: check it now.
            crate::grid::Grid::from_spec(&spec, 0).map_err(|e| e.locate(origin, text))?;
        }
        Ok(spec)
    }

    /// Reads and validates a level file.
    pub fn load(path: &Path) -> Result<Self, LevelError> {
        let text = std::fs::read_to_string(path).map_err(|e| LevelError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_ron(&text, &path.display().to_string())
    }

    /// The level as RON text (what a file with every field spelled out looks like).
    pub fn to_ron(&self) -> String {
        ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default())
            .expect("a level spec serialises")
    }

    /// Checks the values, naming the first problem and its field.
    pub fn validate(&self) -> Result<(), LevelError> {
        let bad = |field: &str, reason: String| Err(LevelError::invalid(self, field, reason));
        let unit = |field: &str, v: f32, max: f32| {
            if (0.0..=max).contains(&v) {
                Ok(())
            } else {
                bad(field, format!("{v} must be in [0, {max}]"))
            }
        };
        let positive = |field: &str, v: f32| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                bad(field, format!("{v} must be a positive number"))
            }
        };
        if self.version != FORMAT_VERSION {
            return bad(
                "version",
                format!(
                    "format version {} is not the one this game reads ({FORMAT_VERSION})",
                    self.version
                ),
            );
        }
        if let Some(rows) = &self.layout {
            self.validate_layout(rows)?;
        } else {
            for (field, side) in [("width", self.width), ("height", self.height)] {
                if !(5..=MAX_SIDE).contains(&side) {
                    return bad(field, format!("{side} must be in 5..={MAX_SIDE}"));
                }
            }
            self.validate_generator()?;
        }
        unit("wall_density", self.wall_density, 0.75)?;
        positive("cell_size", self.cell_size)?;
        positive("wall_height", self.wall_height)?;
        positive("region_size", self.region_size)?;
        for (field, n) in [
            ("height_noise", &self.height_noise),
            ("color_noise", &self.color_noise),
        ] {
            if !(1..=8).contains(&n.octaves) {
                return bad(field, format!("octaves {} must be in 1..=8", n.octaves));
            }
            if !(n.frequency > 0.0 && n.frequency.is_finite()) {
                return bad(field, format!("frequency {} must be positive", n.frequency));
            }
        }
        if !(0.0..=self.wall_height * 4.0).contains(&self.height_noise.amplitude) {
            return bad(
                "height_noise",
                format!(
                    "amplitude {} must be in [0, 4 x wall_height]",
                    self.height_noise.amplitude
                ),
            );
        }
        unit("color_noise", self.color_noise.amplitude, 1.0)?;
        if self.palette.walls.is_empty() {
            return bad("palette.walls", "needs at least one colour".into());
        }
        let colours = self.palette.walls.iter().chain([
            &self.palette.floor,
            &self.palette.ceiling,
            &self.palette.fog,
            &self.palette.light,
        ]);
        for c in colours {
            if ![c.0, c.1, c.2].iter().all(|v| (0.0..=1.0).contains(v)) {
                return bad(
                    "palette",
                    format!("colour {c:?} has a channel outside [0, 1]"),
                );
            }
        }
        unit("props.pillars", self.props.pillars, 0.5)?;
        unit("props.crates", self.props.crates, 0.5)?;
        unit("props.lights", self.props.lights, 0.5)?;
        positive("lighting.brightness", self.lighting.brightness)?;
        unit("lighting.contrast", self.lighting.contrast, 0.95)?;
        unit("lighting.floor_shadow", self.lighting.floor_shadow, 0.95)?;
        positive("lighting.light_radius", self.lighting.light_radius)?;
        unit("lighting.light_strength", self.lighting.light_strength, 4.0)?;
        if let Some(fog) = &self.fog
            && !(fog.start >= 0.0 && fog.end > fog.start && fog.end.is_finite())
        {
            return bad(
                "fog",
                format!(
                    "start {} and end {} need 0 <= start < end",
                    fog.start, fog.end
                ),
            );
        }
        Ok(())
    }

    fn validate_generator(&self) -> Result<(), LevelError> {
        let bad = |field: &str, reason: String| Err(LevelError::invalid(self, field, reason));
        match self.generator {
            Generator::Maze { loop_chance, .. } => {
                if self.width.is_multiple_of(2) || self.height.is_multiple_of(2) {
                    return bad(
                        "generator",
                        format!(
                            "Maze needs odd width and height (walls between corridors), got {}x{}",
                            self.width, self.height
                        ),
                    );
                }
                if !(0.0..=1.0).contains(&loop_chance) {
                    return bad("loop_chance", format!("{loop_chance} must be in [0, 1]"));
                }
            }
            Generator::Rooms {
                min_size, max_size, ..
            } => {
                if min_size < 2 || max_size < min_size {
                    return bad(
                        "min_size",
                        format!(
                            "rooms need 2 <= min_size <= max_size, got {min_size} and {max_size}"
                        ),
                    );
                }
                if max_size + 2 > self.width.min(self.height) {
                    return bad(
                        "max_size",
                        format!(
                            "{max_size} does not fit in a {}x{} level with its border",
                            self.width, self.height
                        ),
                    );
                }
            }
            Generator::Caves { steps } => {
                if steps > 20 {
                    return bad("steps", format!("{steps} must be at most 20"));
                }
            }
            Generator::Scatter => {}
        }
        Ok(())
    }

    fn validate_layout(&self, rows: &[String]) -> Result<(), LevelError> {
        let bad = |reason: String| Err(LevelError::invalid(self, "layout", reason));
        if rows.is_empty() || rows[0].is_empty() {
            return bad("is empty".into());
        }
        let w = rows[0].chars().count();
        if w > MAX_SIDE || rows.len() > MAX_SIDE {
            return bad(format!("{w}x{} is larger than {MAX_SIDE}", rows.len()));
        }
        for (i, row) in rows.iter().enumerate() {
            if row.chars().count() != w {
                return bad(format!(
                    "row {i} has {} cells, row 0 has {w}",
                    row.chars().count()
                ));
            }
            if let Some(c) = row.chars().find(|c| !matches!(c, '#' | '.' | 'S')) {
                return bad(format!(
                    "row {i} has '{c}'; use '#' wall, '.' open, 'S' start"
                ));
            }
        }
        let starts = rows
            .iter()
            .flat_map(|r| r.chars())
            .filter(|c| *c == 'S')
            .count();
        if starts > 1 {
            return bad(format!("{starts} start cells 'S', at most 1"));
        }
        if !rows.iter().any(|r| r.contains(['.', 'S'])) {
            return bad("has no open cell".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_file_takes_defaults() {
        let spec = LevelSpec::from_ron("(name: \"x\", width: 9)", "test").unwrap();
        assert_eq!((spec.width, spec.height), (9, 21));
        assert_eq!(spec.generator, Generator::default());
        let spec = LevelSpec::from_ron("(generator: Caves(), width: 30)", "t").unwrap();
        assert_eq!(spec.generator, Generator::Caves { steps: 4 });
    }

    #[test]
    fn broken_files_name_the_file_line_and_problem() {
        let err = LevelSpec::from_ron("(\n  width: 9,\n  height: ,\n)", "a.ron").unwrap_err();
        assert!(matches!(err, LevelError::Parse { line: 3, .. }), "{err}");
        assert!(err.to_string().starts_with("a.ron:3:"), "{err}");

        let err = LevelSpec::from_ron("(\n  name: \"x\",\n  widht: 9,\n)", "b.ron").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("b.ron:3:") && text.contains("widht"),
            "{text}"
        );

        let err =
            LevelSpec::from_ron("(\n  width: 9,\n  wall_density: 0.9,\n)", "c.ron").unwrap_err();
        assert_eq!(
            err.to_string(),
            "c.ron:3: wall_density: 0.9 must be in [0, 0.75]"
        );

        let err = LevelSpec::from_ron("(width: 8)", "d.ron").unwrap_err();
        assert!(err.to_string().contains("odd"), "{err}");

        let err = LevelSpec::from_ron("(\n  // props: none\n  props: (pillars: 2.0),\n)", "e.ron")
            .unwrap_err();
        assert!(
            err.to_string().starts_with("e.ron:3: props.pillars"),
            "{err}"
        );

        let err = LevelSpec::from_ron("(layout: Some([\"###\", \"#x#\"]))", "f.ron").unwrap_err();
        assert!(err.to_string().contains("'x'"), "{err}");

        let err = LevelSpec::from_ron("(version: 2)", "g.ron").unwrap_err();
        assert!(err.to_string().contains("format version 2"), "{err}");
    }

    #[test]
    fn asset_server_errors_keep_only_the_loaders_message() {
        let text = "Failed to load asset 'levels/a.ron' with asset loader \
                    'bevy_procgen::asset::LevelLoader': levels/a.ron:8: wall_density: 0.9 must be \
                    in [0, 0.75]\n   0: from<bevy_procgen::spec::LevelError>\n      at x.rs:1";
        assert_eq!(
            LevelError::from_load_error(text).to_string(),
            "levels/a.ron:8: wall_density: 0.9 must be in [0, 0.75]"
        );
        assert_eq!(
            LevelError::from_load_error("Path not found: levels/b.ron").to_string(),
            "Path not found: levels/b.ron"
        );
    }

    #[test]
    fn an_impossible_layout_is_refused_with_its_line() {
        let text = "(\n  name: \"islands\",\n  layout: Some([\n    \"#######\",\n    \"#S.#..#\",\n    \"#######\",\n  ]),\n)";
        let err = LevelSpec::from_ron(text, "h.ron").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("h.ron:3: layout:") && msg.contains("cannot be reached"),
            "{msg}"
        );
    }

    #[test]
    fn specs_round_trip_through_ron() {
        let spec = LevelSpec {
            generator: Generator::Rooms {
                rooms: 7,
                min_size: 3,
                max_size: 5,
            },
            fog: Some(Fog::default()),
            spawn: Spawn::Cell(3, 4),
            ..Default::default()
        };
        assert_eq!(LevelSpec::from_ron(&spec.to_ron(), "rt").unwrap(), spec);
    }

    #[test]
    fn shipped_levels_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/levels");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "ron") {
                LevelSpec::load(&path).unwrap();
                n += 1;
            }
        }
        assert!(n >= 4, "expected shipped levels in {}", dir.display());
    }
}

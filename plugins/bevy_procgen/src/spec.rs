//! Level files: the RON format modders edit, with defaults and validation.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// A colour as sRGB floats in `[0, 1]` (the values a colour picker shows, divided by 255).
pub type Rgb = (f32, f32, f32);

/// Colours of a level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Palette {
    /// Base floor colour.
    pub floor: Rgb,
    /// Base ceiling colour.
    pub ceiling: Rgb,
    /// Wall colours; regions of the level pick among them with low-frequency noise.
    pub walls: Vec<Rgb>,
}

impl Default for Palette {
    fn default() -> Self {
        Self {
            floor: (0.42, 0.36, 0.30),
            ceiling: (0.78, 0.80, 0.86),
            walls: vec![
                (0.80, 0.32, 0.22),
                (0.22, 0.50, 0.78),
                (0.35, 0.68, 0.32),
                (0.86, 0.72, 0.25),
            ],
        }
    }
}

/// Everything that defines a level. A file may give any subset; the rest are defaults.
///
/// ```ron
/// (
///     name: "twisty",
///     width: 25, height: 19,
///     seed: Some(7),
///     rooms: 4,
///     loop_chance: 0.1,
/// )
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LevelSpec {
    /// Shown in the UI and logs.
    pub name: String,
    /// Cells along x. Odd, at least 5 (a maze needs walls between corridors). Default: `21`
    pub width: usize,
    /// Cells along z. Odd, at least 5. Default: `21`
    pub height: usize,
    /// Seed of the layout and colours; `None` takes the game's `--seed`. Default: `None`
    pub seed: Option<u64>,
    /// Rectangular rooms carved into the maze. Default: `3`
    pub rooms: usize,
    /// Chance that a wall between two corridors is removed, making loops. Default: `0.12`
    pub loop_chance: f32,
    /// Size of a cell in world units (metres). Default: `2.0`
    pub cell_size: f32,
    /// Height of walls and ceiling. Default: `2.5`
    pub wall_height: f32,
    /// Colours.
    pub palette: Palette,
    /// Strength of the noise that varies colours, 0 for flat colours. Default: `0.25`
    pub color_variation: f32,
    /// A hand-made layout instead of a generated one: one string per row, `#` wall, `.` open,
    /// `S` the agent's start. Overrides `width`/`height`. Default: `None`
    pub layout: Option<Vec<String>>,
}

impl Default for LevelSpec {
    fn default() -> Self {
        Self {
            name: "maze".into(),
            width: 21,
            height: 21,
            seed: None,
            rooms: 3,
            loop_chance: 0.12,
            cell_size: 2.0,
            wall_height: 2.5,
            palette: Palette::default(),
            color_variation: 0.25,
            layout: None,
        }
    }
}

/// A level file that cannot be used, with what is wrong in it.
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
    /// The RON did not parse (the message has the line and column).
    #[error("level {path} is not valid RON: {reason}")]
    Parse {
        /// File path.
        path: String,
        /// Parser message.
        reason: String,
    },
    /// The values parsed but cannot make a level.
    #[error("level '{name}': {reason}")]
    Invalid {
        /// Level name.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

impl LevelSpec {
    /// Parses RON text; `origin` names the source in errors.
    pub fn from_ron(text: &str, origin: &str) -> Result<Self, LevelError> {
        let spec: Self = ron::from_str(text).map_err(|e| LevelError::Parse {
            path: origin.into(),
            reason: e.to_string(),
        })?;
        spec.validate()?;
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

    /// Checks the values, naming the first problem.
    pub fn validate(&self) -> Result<(), LevelError> {
        let bad = |reason: String| {
            Err(LevelError::Invalid {
                name: self.name.clone(),
                reason,
            })
        };
        if let Some(rows) = &self.layout {
            if rows.is_empty() || rows[0].is_empty() {
                return bad("layout is empty".into());
            }
            let w = rows[0].chars().count();
            for (i, row) in rows.iter().enumerate() {
                if row.chars().count() != w {
                    return bad(format!(
                        "layout row {i} has {} cells, row 0 has {w}",
                        row.chars().count()
                    ));
                }
                if let Some(c) = row.chars().find(|c| !matches!(c, '#' | '.' | 'S')) {
                    return bad(format!(
                        "layout row {i} has '{c}'; use '#' wall, '.' open, 'S' start"
                    ));
                }
            }
            let starts = rows
                .iter()
                .flat_map(|r| r.chars())
                .filter(|c| *c == 'S')
                .count();
            if starts > 1 {
                return bad(format!("layout has {starts} start cells 'S', at most 1"));
            }
        } else if self.width < 5
            || self.height < 5
            || self.width.is_multiple_of(2)
            || self.height.is_multiple_of(2)
        {
            return bad(format!(
                "size {}x{} must be odd and at least 5x5",
                self.width, self.height
            ));
        } else if self.width * self.height > 401 * 401 {
            return bad(format!("size {}x{} is too large", self.width, self.height));
        }
        if !(self.cell_size > 0.0 && self.cell_size.is_finite()) {
            return bad(format!("cell_size {} must be positive", self.cell_size));
        }
        if !(self.wall_height > 0.0 && self.wall_height.is_finite()) {
            return bad(format!("wall_height {} must be positive", self.wall_height));
        }
        if !(0.0..=1.0).contains(&self.loop_chance) {
            return bad(format!(
                "loop_chance {} must be in [0, 1]",
                self.loop_chance
            ));
        }
        if self.palette.walls.is_empty() {
            return bad("palette.walls needs at least one colour".into());
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
        assert_eq!((spec.width, spec.height, spec.rooms), (9, 21, 3));
    }

    #[test]
    fn broken_files_name_the_problem() {
        let err = LevelSpec::from_ron("(width: 9,", "a.ron").unwrap_err();
        assert!(matches!(err, LevelError::Parse { .. }), "{err}");
        assert!(err.to_string().contains("a.ron"), "{err}");
        let err = LevelSpec::from_ron("(widht: 9)", "b.ron").unwrap_err();
        assert!(err.to_string().contains("widht"), "{err}");
        let err = LevelSpec::from_ron("(width: 8)", "c.ron").unwrap_err();
        assert!(err.to_string().contains("odd"), "{err}");
        let err = LevelSpec::from_ron("(layout: Some([\"###\", \"#x#\"]))", "d.ron").unwrap_err();
        assert!(err.to_string().contains("'x'"), "{err}");
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
        assert!(n >= 2, "expected shipped levels in {}", dir.display());
    }
}

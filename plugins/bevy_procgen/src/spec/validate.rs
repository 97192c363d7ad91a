//! Bounds checks of a [`LevelSpec`]: each value against the range the generators and mesh
//! builder handle, so a bad file fails with its field named instead of making a broken world.
//! Whether the walls can be laid out at all (a hand-made layout's connectivity) is for the
//! generator to tell: see [`crate::generate::parse_level`].

use super::error::LevelError;
use super::format::{FORMAT_VERSION, Generator, LevelSpec, MAX_SIDE};

impl LevelSpec {
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

//! Bounds checks of a [`LevelSpec`]: each value against the range the generators and mesh
//! builder handle (the limits in `limits.rs`), so a bad file fails with its field and the
//! bound named instead of making a broken world, overflowing, or generating for minutes.
//! Whether the walls can be laid out at all (a hand-made layout's connectivity) is for the
//! generator to tell: see [`crate::generate::parse_level`].

use std::fmt::Display;

use super::error::LevelError;
use super::format::{FORMAT_VERSION, Generator, LevelSpec, NoiseSpec, Rgb, Spawn, TaskKind};
use super::limits::{
    MAX_BRIGHTNESS, MAX_CAVE_STEPS, MAX_CELL_SIZE, MAX_FIELD_OF_VIEW, MAX_FOG, MAX_FREQUENCY,
    MAX_GOAL_RADIUS, MAX_HEIGHT_NOISE, MAX_LIGHT_RADIUS, MAX_LIGHT_STRENGTH, MAX_MIN_DISTANCE,
    MAX_NAME_LEN, MAX_OCTAVES, MAX_PICKUPS, MAX_PROP_SHARE, MAX_REGION_SIZE, MAX_ROOMS, MAX_SHADE,
    MAX_SIDE, MAX_SPAWN_CELL, MAX_TIME_LIMIT, MAX_WALL_COLOURS, MAX_WALL_DENSITY, MAX_WALL_HEIGHT,
    MIN_CELL_SIZE, MIN_FIELD_OF_VIEW, MIN_ROOM_SIDE, MIN_SIDE, MIN_WALL_HEIGHT,
};

impl LevelSpec {
    /// Checks the values, naming the first problem, its field and the bound it breaks.
    pub fn validate(&self) -> Result<(), LevelError> {
        if self.version != FORMAT_VERSION {
            return self.bad(
                "version",
                format!(
                    "format version {} is not the one this game reads ({FORMAT_VERSION})",
                    self.version
                ),
            );
        }
        self.validate_name()?;
        for (field, side) in [("width", self.width), ("height", self.height)] {
            if !(MIN_SIDE..=MAX_SIDE).contains(&side) {
                return self.bad(field, format!("{side} must be in {MIN_SIDE}..={MAX_SIDE}"));
            }
        }
        self.validate_generator()?;
        if let Some(rows) = &self.layout {
            self.validate_layout(rows)?;
        } else {
            self.validate_generator_fits()?;
        }
        self.unit("wall_density", self.wall_density, MAX_WALL_DENSITY)?;
        self.number("cell_size", self.cell_size, MIN_CELL_SIZE, MAX_CELL_SIZE)?;
        self.number(
            "wall_height",
            self.wall_height,
            MIN_WALL_HEIGHT,
            MAX_WALL_HEIGHT,
        )?;
        self.positive("region_size", self.region_size, MAX_REGION_SIZE)?;
        self.validate_noise("height_noise", &self.height_noise)?;
        self.validate_noise("color_noise", &self.color_noise)?;
        let most = self.wall_height * MAX_HEIGHT_NOISE;
        let amplitude = self.height_noise.amplitude;
        if !(0.0..=most).contains(&amplitude) {
            return self.bad(
                "height_noise.amplitude",
                format!(
                    "{amplitude} must be in [0, {MAX_HEIGHT_NOISE} x wall_height] = [0, {most}]"
                ),
            );
        }
        self.unit("color_noise.amplitude", self.color_noise.amplitude, 1.0)?;
        self.validate_palette()?;
        self.unit("props.pillars", self.props.pillars, MAX_PROP_SHARE)?;
        self.unit("props.crates", self.props.crates, MAX_PROP_SHARE)?;
        self.unit("props.lights", self.props.lights, MAX_PROP_SHARE)?;
        let lit = &self.lighting;
        self.positive("lighting.brightness", lit.brightness, MAX_BRIGHTNESS)?;
        self.unit("lighting.contrast", lit.contrast, MAX_SHADE)?;
        self.unit("lighting.floor_shadow", lit.floor_shadow, MAX_SHADE)?;
        self.positive("lighting.light_radius", lit.light_radius, MAX_LIGHT_RADIUS)?;
        self.unit(
            "lighting.light_strength",
            lit.light_strength,
            MAX_LIGHT_STRENGTH,
        )?;
        if let Some(fog) = &self.fog {
            self.number("fog.start", fog.start, 0.0, MAX_FOG)?;
            self.number("fog.end", fog.end, 0.0, MAX_FOG)?;
            if fog.end <= fog.start {
                return self.bad(
                    "fog",
                    format!(
                        "start {} and end {} need 0 <= start < end",
                        fog.start, fog.end
                    ),
                );
            }
        }
        if let Some(fov) = self.field_of_view {
            self.number("field_of_view", fov, MIN_FIELD_OF_VIEW, MAX_FIELD_OF_VIEW)?;
        }
        let cells = -MAX_SPAWN_CELL..=MAX_SPAWN_CELL;
        if let Spawn::Cell(x, z) = self.spawn
            && !(cells.contains(&x) && cells.contains(&z))
        {
            return self.bad(
                "spawn",
                format!(
                    "Cell({x}, {z}): each coordinate must be in \
                     [-{MAX_SPAWN_CELL}, {MAX_SPAWN_CELL}]"
                ),
            );
        }
        self.validate_task()
    }

    /// The error of `field`, with what is wrong.
    fn bad(&self, field: &str, reason: String) -> Result<(), LevelError> {
        Err(LevelError::invalid(self, field, reason))
    }

    /// `v` in `[0, max]` (NaN is not).
    fn unit(&self, field: &str, v: f32, max: f32) -> Result<(), LevelError> {
        if (0.0..=max).contains(&v) {
            Ok(())
        } else {
            self.bad(field, format!("{v} must be in [0, {max}]"))
        }
    }

    /// `v` in `[min, max]` (NaN and infinities are not).
    fn number(&self, field: &str, v: f32, min: f32, max: f32) -> Result<(), LevelError> {
        if v.is_nan() {
            self.bad(
                field,
                format!("NaN is not a number; give one in [{min}, {max}]"),
            )
        } else if v < min {
            self.bad(field, format!("{v} is below the minimum {min}"))
        } else if v > max {
            self.bad(field, format!("{v} is above the limit {max}"))
        } else {
            Ok(())
        }
    }

    /// `v` above 0 and at most `max` (NaN and infinities are not).
    fn positive(&self, field: &str, v: f32, max: f32) -> Result<(), LevelError> {
        if v.is_nan() || v <= 0.0 {
            self.bad(
                field,
                format!("{v} must be a positive number, at most {max}"),
            )
        } else if v > max {
            self.bad(field, format!("{v} is above the limit {max}"))
        } else {
            Ok(())
        }
    }

    /// A whole number in `min..=max`.
    fn count<T: PartialOrd + Display>(
        &self,
        field: &str,
        v: T,
        min: T,
        max: T,
    ) -> Result<(), LevelError> {
        if v < min {
            self.bad(field, format!("{v} is below the minimum {min}"))
        } else if v > max {
            self.bad(field, format!("{v} is above the limit {max}"))
        } else {
            Ok(())
        }
    }

    /// The name becomes part of file names (`--record` datasets): it must not be able to
    /// name another directory, a hidden file or nothing.
    fn validate_name(&self) -> Result<(), LevelError> {
        let name = &self.name;
        let len = name.chars().count();
        if len == 0 {
            return self.bad(
                "name",
                format!("is empty; give 1 to {MAX_NAME_LEN} characters"),
            );
        }
        if len > MAX_NAME_LEN {
            return self.bad(
                "name",
                format!("{len} characters is above the limit {MAX_NAME_LEN}"),
            );
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '.' | '-');
        if let Some(c) = name.chars().find(|c| !allowed(*c)) {
            return self.bad(
                "name",
                format!(
                    "{name:?} has {c:?}; use only A-Z a-z 0-9, space, '_', '.' and '-' \
                     (the name becomes part of file names)"
                ),
            );
        }
        if name.starts_with(['.', ' ']) || name.ends_with(' ') {
            return self.bad(
                "name",
                format!("{name:?} must not start with '.' or a space, nor end with a space"),
            );
        }
        Ok(())
    }

    /// The generator's own bounds, which hold whatever the level's size (also checked with a
    /// layout, which does not use them, so no value in a file goes unchecked).
    fn validate_generator(&self) -> Result<(), LevelError> {
        match self.generator {
            Generator::Maze { rooms, loop_chance } => {
                self.count("generator.rooms", rooms, 0, MAX_ROOMS)?;
                self.unit("generator.loop_chance", loop_chance, 1.0)?;
            }
            Generator::Rooms {
                rooms,
                min_size,
                max_size,
            } => {
                self.count("generator.rooms", rooms, 0, MAX_ROOMS)?;
                if min_size < MIN_ROOM_SIDE || max_size < min_size {
                    return self.bad(
                        "generator.min_size",
                        format!(
                            "rooms need {MIN_ROOM_SIDE} <= min_size <= max_size, got {min_size} \
                             and {max_size}"
                        ),
                    );
                }
                self.count("generator.max_size", max_size, MIN_ROOM_SIDE, MAX_SIDE - 2)?;
            }
            Generator::Caves { steps } => {
                self.count("generator.steps", steps, 0, MAX_CAVE_STEPS)?;
            }
            Generator::Scatter => {}
        }
        Ok(())
    }

    /// What the generator needs of the level's size (not checked with a layout).
    fn validate_generator_fits(&self) -> Result<(), LevelError> {
        match self.generator {
            Generator::Maze { .. }
                if self.width.is_multiple_of(2) || self.height.is_multiple_of(2) =>
            {
                self.bad(
                    "generator",
                    format!(
                        "Maze needs odd width and height (walls between corridors), got {}x{}",
                        self.width, self.height
                    ),
                )
            }
            Generator::Rooms { max_size, .. } => {
                // Sides are at least MIN_SIDE here: no underflow.
                let fit = self.width.min(self.height) - 2;
                if max_size > fit {
                    return self.bad(
                        "generator.max_size",
                        format!(
                            "{max_size} does not fit in a {}x{} level with its border (the limit \
                             is {fit})",
                            self.width, self.height
                        ),
                    );
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn validate_noise(&self, field: &str, n: &NoiseSpec) -> Result<(), LevelError> {
        self.count(&format!("{field}.octaves"), n.octaves, 1, MAX_OCTAVES)?;
        self.positive(&format!("{field}.frequency"), n.frequency, MAX_FREQUENCY)
    }

    fn validate_palette(&self) -> Result<(), LevelError> {
        let p = &self.palette;
        let n = p.walls.len();
        if n == 0 {
            return self.bad("palette.walls", "needs at least one colour".into());
        }
        if n > MAX_WALL_COLOURS {
            return self.bad(
                "palette.walls",
                format!("{n} colours is above the limit {MAX_WALL_COLOURS}"),
            );
        }
        let named: [(&str, &Rgb); 6] = [
            ("palette.floor", &p.floor),
            ("palette.ceiling", &p.ceiling),
            ("palette.fog", &p.fog),
            ("palette.light", &p.light),
            ("palette.goal", &p.goal),
            ("palette.pickup", &p.pickup),
        ];
        let colours = p.walls.iter().map(|c| ("palette.walls", c)).chain(named);
        for (field, c) in colours {
            if ![c.0, c.1, c.2].iter().all(|v| (0.0..=1.0).contains(v)) {
                return self.bad(field, format!("colour {c:?} has a channel outside [0, 1]"));
            }
        }
        Ok(())
    }

    /// A task's own bounds. Whether its goals fit in the level's open cells is for the
    /// generator to tell ([`crate::generate::parse_level`]), as with a layout's connectivity.
    fn validate_task(&self) -> Result<(), LevelError> {
        let Some(task) = &self.task else {
            return Ok(());
        };
        self.count("task.time_limit", task.time_limit, 1, MAX_TIME_LIMIT)?;
        self.unit("task.step_penalty", task.step_penalty, 1.0)?;
        if let Some(gamma) = task.shaping {
            self.positive("task.shaping", gamma, 1.0)?;
        }
        self.positive("task.goal_width", task.goal_width, 1.0)?;
        match task.kind {
            TaskKind::Reach {
                min_distance,
                radius,
            } => {
                self.count("task.kind.min_distance", min_distance, 1, MAX_MIN_DISTANCE)?;
                self.positive("task.kind.radius", radius, MAX_GOAL_RADIUS)
            }
            TaskKind::Collect { count, radius } => {
                self.count("task.kind.count", count, 1, MAX_PICKUPS)?;
                self.positive("task.kind.radius", radius, MAX_GOAL_RADIUS)
            }
        }
    }

    fn validate_layout(&self, rows: &[String]) -> Result<(), LevelError> {
        let bad = |reason: String| self.bad("layout", reason);
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

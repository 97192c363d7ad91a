//! Level files: the RON format modders edit (versioned), with defaults, bounds checks, and
//! errors that name the file, the line and the problem.
//!
//! This module only reads and checks values; it never builds a level, so parsing stays cheap
//! and free of the generators. A file whose values pass can still describe walls that cannot
//! be laid out (a hand-made layout with unreachable cells): [`crate::generate::parse_level`]
//! and [`crate::generate::load_level`] also try that, and are what level files go through.
//!
//! Inside: `format.rs` holds the serde types of a level file and their defaults, `error.rs`
//! [`LevelError`] and how it comes to name the line of the field at fault, `limits.rs` the
//! bounds of every number and list (`MAX_*`, `MIN_*`, and [`heaviest_levels`], the most
//! expensive levels they allow), `validate.rs` the checks against them. Everything public is
//! re-exported here.

use std::path::Path;

mod error;
mod format;
mod limits;
mod validate;

pub use error::LevelError;
pub use format::{
    FORMAT_VERSION, Fog, Generator, LEVEL_EXTENSION, LevelSpec, Lighting, NoiseSpec, Palette,
    Props, Rgb, Spawn, TaskKind, TaskSpec,
};
pub use limits::{
    MAX_BRIGHTNESS, MAX_CAVE_STEPS, MAX_CELL_SIZE, MAX_FIELD_OF_VIEW, MAX_FOG, MAX_FREQUENCY,
    MAX_GOAL_RADIUS, MAX_HEIGHT_NOISE, MAX_LIGHT_RADIUS, MAX_LIGHT_STRENGTH, MAX_MIN_DISTANCE,
    MAX_NAME_LEN, MAX_OCTAVES, MAX_PICKUPS, MAX_PROP_SHARE, MAX_REGION_SIZE, MAX_ROOMS, MAX_SHADE,
    MAX_SIDE, MAX_SPAWN_CELL, MAX_TIME_LIMIT, MAX_WALL_COLOURS, MAX_WALL_DENSITY, MAX_WALL_HEIGHT,
    MIN_CELL_SIZE, MIN_FIELD_OF_VIEW, MIN_ROOM_SIDE, MIN_SIDE, MIN_WALL_HEIGHT, heaviest_levels,
};

impl LevelSpec {
    /// Parses RON text and checks its values; `origin` (a path) names the source in errors,
    /// with the line. It does not try to lay the level out: files go through
    /// [`crate::generate::parse_level`], which does.
    pub fn from_ron(text: &str, origin: &str) -> Result<Self, LevelError> {
        let spec: Self = ron::from_str(text).map_err(|e| LevelError::from_ron_error(e, origin))?;
        spec.validate().map_err(|e| e.locate(origin, text))?;
        Ok(spec)
    }

    /// Reads a level file and checks its values, as [`LevelSpec::from_ron`] does; to also
    /// check that it can be laid out, use [`crate::generate::load_level`].
    pub fn load(path: &Path) -> Result<Self, LevelError> {
        Self::from_ron(&read_text(path)?, &path.display().to_string())
    }

    /// The name as it may stand in a file name (recorded datasets are
    /// `<file_stem>-seed<S>-<time>.wmds`). A valid name ([`LevelSpec::validate`]) comes back
    /// as it is; in one that would not pass (a spec built in code), every character but
    /// `A-Z a-z 0-9`, space, `_`, `.` and `-` becomes `_`, leading dots and spaces and trailing
    /// spaces go, and 64 characters at most are kept (`level` if none is left). So it never
    /// holds a path separator and cannot point into another directory.
    pub fn file_stem(&self) -> String {
        let kept: String = self
            .name
            .chars()
            .take(MAX_NAME_LEN)
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '.' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let stem = kept.trim_start_matches(['.', ' ']).trim_end_matches(' ');
        if stem.is_empty() {
            "level".into()
        } else {
            stem.into()
        }
    }

    /// The level as RON text (what a file with every field spelled out looks like).
    pub fn to_ron(&self) -> String {
        ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default())
            .expect("a level spec serialises")
    }
}

/// The text of a level file, or a [`LevelError::Io`] naming it.
pub(crate) fn read_text(path: &Path) -> Result<String, LevelError> {
    std::fs::read_to_string(path).map_err(|e| LevelError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
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
    fn files_without_a_task_or_its_colours_still_load() {
        let spec =
            LevelSpec::from_ron("(name: \"x\", palette: (floor: (0.1, 0.1, 0.1)))", "t").unwrap();
        assert_eq!(spec.task, None);
        assert_eq!(spec.palette.goal, Palette::default().goal);
        assert_eq!(spec.palette.pickup, Palette::default().pickup);
        let spec = LevelSpec::from_ron("(task: Some((time_limit: 300)))", "t").unwrap();
        assert_eq!(spec.task, Some(TaskSpec::default()));
        let text = "(task: Some((kind: Collect(), shaping: Some(0.99))))";
        let task = LevelSpec::from_ron(text, "t").unwrap().task.unwrap();
        assert_eq!(
            task.kind,
            TaskKind::Collect {
                count: 3,
                radius: 0.5
            }
        );
        assert_eq!((task.time_limit, task.shaping), (300, Some(0.99)));
    }

    #[test]
    fn the_field_of_view_is_optional_and_bounded() {
        assert_eq!(LevelSpec::from_ron("()", "t").unwrap().field_of_view, None);
        let spec = LevelSpec::from_ron("(field_of_view: Some(110.0))", "t").unwrap();
        assert_eq!(spec.field_of_view, Some(110.0));
        for (text, expected) in [
            (
                "(\nfield_of_view: Some(10.0))",
                "f.ron:2: field_of_view: 10 is below the minimum 20",
            ),
            (
                "(\nfield_of_view: Some(179.0))",
                "f.ron:2: field_of_view: 179 is above the limit 150",
            ),
            (
                "(\nfield_of_view: Some(NaN))",
                "f.ron:2: field_of_view: NaN is not a number; give one in [20, 150]",
            ),
        ] {
            let err = LevelSpec::from_ron(text, "f.ron").unwrap_err().to_string();
            assert_eq!(err, expected);
        }
    }

    #[test]
    fn bad_task_values_name_the_field_and_line() {
        for (line, expected) in [
            (
                "time_limit: 0,",
                "task.time_limit: 0 is below the minimum 1",
            ),
            (
                "time_limit: 100001,",
                "task.time_limit: 100001 is above the limit 100000",
            ),
            (
                "step_penalty: 1.5,",
                "task.step_penalty: 1.5 must be in [0, 1]",
            ),
            (
                "step_penalty: NaN,",
                "task.step_penalty: NaN must be in [0, 1]",
            ),
            (
                "shaping: Some(0.0),",
                "task.shaping: 0 must be a positive number, at most 1",
            ),
            (
                "shaping: Some(1.01),",
                "task.shaping: 1.01 is above the limit 1",
            ),
            (
                "goal_width: 0.0,",
                "task.goal_width: 0 must be a positive number, at most 1",
            ),
            (
                "goal_width: 1.5,",
                "task.goal_width: 1.5 is above the limit 1",
            ),
            (
                "kind: Reach(min_distance: 0),",
                "task.kind.min_distance: 0 is below the minimum 1",
            ),
            (
                "kind: Reach(radius: inf),",
                "task.kind.radius: inf is above the limit 2",
            ),
            (
                "kind: Collect(count: 33),",
                "task.kind.count: 33 is above the limit 32",
            ),
            (
                "kind: Collect(radius: -1.0),",
                "task.kind.radius: -1 must be a positive number, at most 2",
            ),
        ] {
            let text = format!("(\n  name: \"t\",\n  task: Some((\n    {line}\n  )),\n)");
            let err = LevelSpec::from_ron(&text, "t.ron").unwrap_err();
            assert_eq!(err.to_string(), format!("t.ron:4: {expected}"), "{line}");
        }
        let err =
            LevelSpec::from_ron("(\n  palette: (goal: (2.0, 0.0, 0.0)),\n)", "p.ron").unwrap_err();
        assert!(
            err.to_string().starts_with("p.ron:2: palette.goal: colour"),
            "{err}"
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
            field_of_view: Some(100.0),
            spawn: Spawn::Cell(3, 4),
            task: Some(TaskSpec {
                kind: TaskKind::Collect {
                    count: 5,
                    radius: 0.75,
                },
                time_limit: 120,
                step_penalty: 0.01,
                shaping: Some(0.99),
                goal_width: 0.8,
            }),
            ..Default::default()
        };
        assert_eq!(LevelSpec::from_ron(&spec.to_ron(), "rt").unwrap(), spec);
    }
}

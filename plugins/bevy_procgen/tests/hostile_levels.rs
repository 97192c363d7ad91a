//! Hostile level files: numbers far past their bounds, NaN and infinities, names that try to
//! leave a directory. Each is refused with the file, the line, the field and the bound, and
//! nothing panics; the most expensive levels the bounds allow generate (and hot-reload
//! without taking the game down). The levels are written here, not shipped. Nothing is timed:
//! `examples/level_bench.rs` prints how long the levels at the bounds take.

use std::path::Path;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_procgen::spec::{
    MAX_BRIGHTNESS, MAX_CAVE_STEPS, MAX_CELL_SIZE, MAX_FOG, MAX_FREQUENCY, MAX_LIGHT_RADIUS,
    MAX_LIGHT_STRENGTH, MAX_NAME_LEN, MAX_OCTAVES, MAX_REGION_SIZE, MAX_ROOMS, MAX_SIDE,
    MAX_SPAWN_CELL, MAX_WALL_HEIGHT, MIN_CELL_SIZE, MIN_WALL_HEIGHT, heaviest_levels,
};
use bevy_procgen::{
    CurrentLevel, Fog, Generator, Grid, LevelError, LevelEvent, LevelSpec, LoadLevel,
    ProcgenPlugin, Spawn, generate, mesh, parse_level,
};

const FILE: &str = "levels/x.level.ron";

/// The error of a level file whose third line is `line`.
fn refused(line: &str) -> String {
    let text = format!("(\n  version: 1,\n  {line}\n)");
    match parse_level(&text, FILE) {
        Ok(spec) => panic!("{line} was accepted: {spec:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn numbers_past_their_bounds_are_refused_with_field_and_bound() {
    for (line, expected) in [
        (
            "generator: Rooms(rooms: 18446744073709551615),",
            "generator.rooms: 18446744073709551615 is above the limit 400",
        ),
        (
            "generator: Maze(rooms: 100000000000000),",
            "generator.rooms: 100000000000000 is above the limit 400",
        ),
        (
            "lighting: (light_radius: 50000.0),",
            "lighting.light_radius: 50000 is above the limit 16",
        ),
        (
            "height_noise: (octaves: 1000),",
            "height_noise.octaves: 1000 is above the limit 8",
        ),
        (
            "color_noise: (octaves: 0),",
            "color_noise.octaves: 0 is below the minimum 1",
        ),
        (
            "generator: Caves(steps: 18446744073709551615),",
            "generator.steps: 18446744073709551615 is above the limit 20",
        ),
        (
            // `max_size + 2` once overflowed here.
            "generator: Rooms(min_size: 3, max_size: 18446744073709551615),",
            "generator.max_size: 18446744073709551615 is above the limit 199",
        ),
        (
            "width: 18446744073709551615,",
            "width: 18446744073709551615 must be in 5..=201",
        ),
        (
            "spawn: Cell(-2147483648, 5),",
            "spawn: Cell(-2147483648, 5): each coordinate must be in [-1000, 1000]",
        ),
        (
            "region_size: 1000000.0,",
            "region_size: 1000000 is above the limit 1000",
        ),
        (
            "lighting: (brightness: 100.0),",
            "lighting.brightness: 100 is above the limit 4",
        ),
        (
            "cell_size: 0.01,",
            "cell_size: 0.01 is below the minimum 0.75",
        ),
    ] {
        assert_eq!(refused(line), format!("{FILE}:3: {expected}"), "{line}");
    }
}

#[test]
fn nan_and_infinities_are_refused() {
    for (line, expected) in [
        (
            "cell_size: NaN,",
            "cell_size: NaN is not a number; give one in [0.75, 20]",
        ),
        (
            "wall_height: inf,",
            "wall_height: inf is above the limit 50",
        ),
        (
            "wall_height: -inf,",
            "wall_height: -inf is below the minimum 1.5",
        ),
        (
            "fog: Some((start: 1.0, end: inf)),",
            "fog.end: inf is above the limit 10000",
        ),
        (
            "fog: Some((start: NaN, end: 5.0)),",
            "fog.start: NaN is not a number; give one in [0, 10000]",
        ),
        (
            "generator: Maze(loop_chance: NaN),",
            "generator.loop_chance: NaN must be in [0, 1]",
        ),
        (
            "props: (lights: NaN),",
            "props.lights: NaN must be in [0, 0.5]",
        ),
        (
            "color_noise: (frequency: inf),",
            "color_noise.frequency: inf is above the limit 16",
        ),
        (
            "height_noise: (frequency: NaN),",
            "height_noise.frequency: NaN must be a positive number, at most 16",
        ),
        (
            "region_size: -inf,",
            "region_size: -inf must be a positive number, at most 1000",
        ),
        (
            "lighting: (light_radius: NaN),",
            "lighting.light_radius: NaN must be a positive number, at most 16",
        ),
        (
            "wall_density: NaN,",
            "wall_density: NaN must be in [0, 0.75]",
        ),
    ] {
        assert_eq!(refused(line), format!("{FILE}:3: {expected}"), "{line}");
    }
    let err = refused("palette: (walls: [(NaN, 0.0, 0.0)]),");
    assert!(
        err.starts_with(&format!("{FILE}:3: palette.walls: colour")) && err.contains("[0, 1]"),
        "{err}"
    );
}

#[test]
fn errors_name_the_line_of_the_nested_field() {
    // `octaves` of the second noise, not the first; the level's own `fog`, not the palette's.
    let text = "(\n  height_noise: (octaves: 2),\n  color_noise: (\n    octaves: 99,\n  ),\n)";
    let err = parse_level(text, FILE).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{FILE}:4: color_noise.octaves: 99")),
        "{err}"
    );
    let text = "(\n  palette: (fog: (0.1, 0.1, 0.1)),\n  fog: Some((start: 9.0, end: 3.0)),\n)";
    let err = parse_level(text, FILE).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{FILE}:3: fog: start 9")), "{err}");
    let many = vec!["(0.5, 0.5, 0.5)"; 65].join(", ");
    let err = refused(&format!("palette: (walls: [{many}]),"));
    assert_eq!(
        err,
        format!("{FILE}:3: palette.walls: 65 colours is above the limit 64")
    );
}

#[test]
fn names_cannot_leave_the_recording_directory() {
    for name in [
        "../escaped",
        "a/b",
        "a\\\\b",
        "C:x",
        "",
        ".hidden",
        " x",
        "x ",
        "tab\\t",
    ] {
        let err = refused(&format!("name: \"{name}\","));
        assert!(err.contains(": name: "), "{name}: {err}");
        assert!(!err.contains('\n'), "{name}: {err}");
    }
    let err = refused("name: \"../escaped\",");
    assert!(
        err.starts_with(&format!("{FILE}:3: name: \"../escaped\" has '/'")),
        "{err}"
    );
    let long = "x".repeat(MAX_NAME_LEN + 1);
    let err = refused(&format!("name: \"{long}\","));
    assert!(
        err.ends_with("65 characters is above the limit 64"),
        "{err}"
    );
    for name in ["maze", "from-code", "my level 2", "v1.2_a-b", "x"] {
        let spec = LevelSpec {
            name: name.into(),
            ..Default::default()
        };
        spec.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(spec.file_stem(), name, "a valid name is its own file stem");
    }
    // A spec built in code skips the file checks: its file stem still stays in the directory.
    let long = "y".repeat(300);
    for name in [
        "../escaped",
        "..",
        "/etc/passwd",
        "a\\..\\b",
        "",
        "ü/..",
        long.as_str(),
    ] {
        let stem = LevelSpec {
            name: name.into(),
            ..Default::default()
        }
        .file_stem();
        assert!(
            !stem.is_empty()
                && stem.len() <= MAX_NAME_LEN
                && !stem.starts_with('.')
                && !stem.contains(['/', '\\', ':']),
            "{name:?} -> {stem:?}"
        );
        let dir = Path::new("/records");
        let file = dir.join(format!("{stem}-seed1-20250101T000000Z.wmds"));
        assert_eq!(file.parent(), Some(dir), "{name:?}");
    }
}

#[test]
fn one_past_each_bound_is_refused() {
    let base = heaviest_levels().remove(0);
    base.validate().unwrap();
    let cases: [(&str, fn(&mut LevelSpec)); 33] = [
        ("width", |s| s.width = MAX_SIDE + 2),
        ("height", |s| s.height = 3),
        ("generator.rooms", |s| {
            s.generator = Generator::Maze {
                rooms: MAX_ROOMS + 1,
                loop_chance: 0.5,
            }
        }),
        ("generator.rooms", |s| {
            s.generator = Generator::Rooms {
                rooms: MAX_ROOMS + 1,
                min_size: 2,
                max_size: 9,
            }
        }),
        ("generator.min_size", |s| {
            s.generator = Generator::Rooms {
                rooms: 1,
                min_size: 1,
                max_size: 9,
            }
        }),
        ("generator.max_size", |s| {
            s.generator = Generator::Rooms {
                rooms: 1,
                min_size: 2,
                max_size: MAX_SIDE - 1,
            }
        }),
        ("generator.max_size", |s| {
            s.width = 21;
            s.generator = Generator::Rooms {
                rooms: 1,
                min_size: 2,
                max_size: 20,
            }
        }),
        ("generator.steps", |s| {
            s.generator = Generator::Caves {
                steps: MAX_CAVE_STEPS + 1,
            }
        }),
        ("generator.loop_chance", |s| {
            s.generator = Generator::Maze {
                rooms: 0,
                loop_chance: 1.01,
            }
        }),
        ("wall_density", |s| s.wall_density = 0.76),
        ("cell_size", |s| s.cell_size = MAX_CELL_SIZE * 1.01),
        ("cell_size", |s| s.cell_size = MIN_CELL_SIZE * 0.99),
        ("wall_height", |s| s.wall_height = MAX_WALL_HEIGHT + 1.0),
        ("wall_height", |s| s.wall_height = MIN_WALL_HEIGHT - 0.1),
        ("height_noise.octaves", |s| {
            s.height_noise.octaves = MAX_OCTAVES + 1
        }),
        ("color_noise.octaves", |s| s.color_noise.octaves = 0),
        ("height_noise.frequency", |s| {
            s.height_noise.frequency = MAX_FREQUENCY * 1.01
        }),
        ("color_noise.frequency", |s| s.color_noise.frequency = 0.0),
        ("height_noise.amplitude", |s| {
            s.height_noise.amplitude = s.wall_height * 4.0 + 1.0
        }),
        ("color_noise.amplitude", |s| s.color_noise.amplitude = 1.01),
        ("region_size", |s| s.region_size = MAX_REGION_SIZE * 1.01),
        ("palette.walls", |s| s.palette.walls.push((0.5, 0.5, 0.5))),
        ("palette.walls", |s| s.palette.walls.clear()),
        ("props.lights", |s| s.props.lights = 0.51),
        ("lighting.brightness", |s| {
            s.lighting.brightness = MAX_BRIGHTNESS * 1.01
        }),
        ("lighting.contrast", |s| s.lighting.contrast = 0.96),
        ("lighting.light_radius", |s| {
            s.lighting.light_radius = MAX_LIGHT_RADIUS + 0.01
        }),
        ("lighting.light_strength", |s| {
            s.lighting.light_strength = MAX_LIGHT_STRENGTH + 0.01
        }),
        ("fog.end", |s| {
            s.fog = Some(Fog {
                start: 0.0,
                end: MAX_FOG * 1.01,
            })
        }),
        ("fog", |s| {
            s.fog = Some(Fog {
                start: 5.0,
                end: 5.0,
            })
        }),
        ("spawn", |s| s.spawn = Spawn::Cell(MAX_SPAWN_CELL + 1, 0)),
        ("name", |s| s.name = "x".repeat(MAX_NAME_LEN + 1)),
        ("layout", |s| {
            s.layout = Some(vec!["#".repeat(MAX_SIDE + 1); 3]);
        }),
    ];
    for (field, change) in cases {
        let mut spec = base.clone();
        change(&mut spec);
        let Err(err) = spec.validate() else {
            panic!("{field} past its bound was accepted");
        };
        let LevelError::Invalid { field: named, .. } = &err else {
            panic!("{field}: {err:?}");
        };
        assert_eq!(named, field, "{err}");
        // Building it is refused the same way, without a panic.
        assert!(Grid::from_spec(&spec, 1).is_err(), "{field}");
    }
}

#[test]
fn the_levels_at_the_bounds_generate() {
    let levels = heaviest_levels();
    assert_eq!(levels.len(), 5, "four generators and a layout");
    for spec in levels {
        spec.validate()
            .unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        // A file can say it: the RON of it reads back, layout tried and all.
        let back = parse_level(&spec.to_ron(), "limit.level.ron")
            .unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        assert_eq!(back, spec);
        let grid = Grid::from_spec(&spec, 7).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        assert_eq!(grid.first_unreachable(), None, "{}", spec.name);
        if spec.layout.is_some() {
            // Open inside: lamps in about half of its 199 x 199 cells, the most light to bake.
            let lamps = grid
                .props()
                .iter()
                .filter(|p| p.kind == bevy_procgen::PropKind::Light)
                .count();
            assert!(lamps > 15_000, "{lamps} lamps");
        }
        let meshes = mesh::build(&grid, &spec, 7);
        assert!(meshes.floor.quads() > 0, "{}", spec.name);
    }
}

#[test]
fn unchecked_specs_are_clamped_not_trusted() {
    // Generators and meshes called directly, without validation, still end and do not panic.
    for generator in [
        Generator::Maze {
            rooms: usize::MAX,
            loop_chance: f32::NAN,
        },
        Generator::Rooms {
            rooms: usize::MAX,
            min_size: 0,
            max_size: usize::MAX,
        },
        Generator::Rooms {
            rooms: 5,
            min_size: 50,
            max_size: 3,
        },
        Generator::Caves { steps: usize::MAX },
    ] {
        let spec = LevelSpec {
            width: usize::MAX,
            height: 0,
            generator,
            spawn: Spawn::Cell(i32::MIN, i32::MAX),
            ..Default::default()
        };
        let grid = generate::walls(&spec, 3);
        assert!(grid.width() <= MAX_SIDE && grid.height() <= MAX_SIDE);
        let _ = generate::spawn(&grid, spec.spawn, 3);
    }
    let valid = LevelSpec {
        props: bevy_procgen::Props {
            lights: 0.5,
            ..Default::default()
        },
        ..Default::default()
    };
    let grid = Grid::from_spec(&valid, 1).unwrap();
    let mut hostile = valid.clone();
    hostile.lighting.light_radius = 50_000.0;
    hostile.color_noise.octaves = u32::MAX;
    hostile.palette.walls.clear();
    let meshes = mesh::build(&grid, &hostile, 1);
    assert!(meshes.walls.quads() > 0);
}

/// A headless app playing `file` (asset path) under `assets`, or `spec` when no file.
fn app(assets: &Path, file: Option<&str>) -> App {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin {
            file_path: assets.display().to_string(),
            watch_for_changes_override: Some(file.is_some()),
            ..default()
        },
        TransformPlugin,
    ))
    .init_asset::<Mesh>()
    .init_asset::<StandardMaterial>()
    .add_plugins(match file {
        Some(file) => ProcgenPlugin::from_file(file).with_seed(5),
        None => ProcgenPlugin::new(LevelSpec::default()).with_seed(5),
    });
    app.finish();
    app.cleanup();
    app
}

/// Updates until `done` holds (panics after 30 s), collecting level events.
fn run_until(
    app: &mut App,
    what: &str,
    mut done: impl FnMut(&mut App, &[LevelEvent]) -> bool,
) -> Vec<LevelEvent> {
    let start = Instant::now();
    let mut events = Vec::new();
    loop {
        app.update();
        events.extend(
            app.world_mut()
                .resource_mut::<Messages<LevelEvent>>()
                .drain(),
        );
        if done(app, &events) {
            return events;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}: {events:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn level(app: &App) -> Option<(usize, u64, u64)> {
    app.world()
        .get_resource::<CurrentLevel>()
        .map(|l| (l.grid.width(), l.grid.hash(), l.generation))
}

#[test]
fn levels_at_the_bounds_spawn_and_the_game_goes_on() {
    let mut app = app(Path::new("."), None);
    run_until(&mut app, "the first level", |app, _| level(app).is_some());
    for spec in heaviest_levels() {
        let name = spec.name.clone();
        let (_, _, before) = level(&app).unwrap();
        app.world_mut().write_message(LoadLevel { spec, seed: 2 });
        let events = run_until(&mut app, &name, |app, _| {
            level(app).is_some_and(|(_, _, g)| g > before)
        });
        assert!(
            events
                .iter()
                .any(|e| matches!(e, LevelEvent::Spawned { name: n, .. } if *n == name)),
            "{name}: {events:?}"
        );
        assert_eq!(level(&app).unwrap().0, MAX_SIDE, "{name}");
    }
    // Past the bounds: refused, the last level stays, the app keeps updating.
    let kept = level(&app);
    app.world_mut().write_message(LoadLevel {
        spec: LevelSpec {
            generator: Generator::Rooms {
                rooms: usize::MAX,
                min_size: 3,
                max_size: 6,
            },
            ..Default::default()
        },
        seed: 0,
    });
    let events = run_until(&mut app, "the refusal", |_, events| {
        events.iter().any(|e| matches!(e, LevelEvent::Failed(_)))
    });
    assert!(
        events.iter().any(
            |e| matches!(e, LevelEvent::Failed(err) if err.to_string().contains("generator.rooms"))
        ),
        "{events:?}"
    );
    app.update();
    assert_eq!(level(&app), kept);
}

#[test]
fn hot_reloading_a_level_at_the_bounds_keeps_the_game_running() {
    let dir = std::env::temp_dir().join(format!("procgen-hostile-{}", std::process::id()));
    let file = dir.join("levels/hostile.level.ron");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "(name: \"hostile\", width: 11, height: 11)").unwrap();

    let mut app = app(&dir, Some("levels/hostile.level.ron"));
    run_until(&mut app, "the first load", |app, _| level(app).is_some());
    let (_, _, generation) = level(&app).unwrap();

    // Save the largest, most expensive level the format allows over the file.
    std::thread::sleep(Duration::from_millis(500));
    let heaviest = heaviest_levels()
        .into_iter()
        .find(|s| s.layout.is_some())
        .expect("a layout at the bounds");
    std::fs::write(&file, heaviest.to_ron()).unwrap();
    run_until(&mut app, "the reload at the bounds", |app, _| {
        level(app).is_some_and(|(_, _, g)| g > generation)
    });
    let kept = level(&app).unwrap();
    assert_eq!(kept.0, MAX_SIDE);

    // Then a hostile edit: refused with its line, the level stays, the game goes on.
    std::fs::write(
        &file,
        "(\n  name: \"hostile\",\n  generator: Rooms(rooms: 18446744073709551615),\n)",
    )
    .unwrap();
    let events = run_until(&mut app, "the refusal", |_, events| {
        events.iter().any(
            |e| matches!(e, LevelEvent::Failed(err) if err.to_string().contains("generator.rooms")),
        )
    });
    let text = events
        .iter()
        .find_map(|e| match e {
            LevelEvent::Failed(err) if err.to_string().contains("generator.rooms") => {
                Some(err.to_string())
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(
        text,
        "levels/hostile.level.ron:3: generator.rooms: 18446744073709551615 is above the limit 400"
    );
    for _ in 0..5 {
        app.update();
    }
    assert_eq!(level(&app), Some(kept), "the level at the bounds stays");
    let _ = std::fs::remove_dir_all(&dir);
}

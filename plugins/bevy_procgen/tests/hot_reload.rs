//! Level files hot-reload: a headless app loads a level file through the asset server, the
//! file is edited on disk, and the world is rebuilt from the new version; a broken edit is
//! reported with the file and line, and the level in play stays; so is a file that is not
//! there.

use std::path::Path;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_procgen::{CurrentLevel, LevelError, LevelEvent, ProcgenPlugin};

/// A headless app that plays the level file `file` (asset path) under `assets`.
fn app(assets: &Path, file: &str) -> App {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin {
            file_path: assets.display().to_string(),
            watch_for_changes_override: Some(true),
            ..default()
        },
        TransformPlugin,
    ))
    .init_asset::<Mesh>()
    .init_asset::<StandardMaterial>()
    .add_plugins(ProcgenPlugin::from_file(file).with_seed(5));
    app.finish();
    app.cleanup();
    app
}

/// Updates until `done` holds (panics after 20 s), collecting level events.
fn run_until(
    app: &mut App,
    what: &str,
    mut done: impl FnMut(&mut App, &[LevelEvent]) -> bool,
) -> Vec<LevelEvent> {
    let start = Instant::now();
    let mut events = Vec::new();
    loop {
        app.update();
        let world = app.world_mut();
        let mut reader = world.resource_mut::<Messages<LevelEvent>>();
        events.extend(reader.drain());
        if done(app, &events) {
            return events;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
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
fn editing_a_level_file_rebuilds_the_world() {
    let dir = std::env::temp_dir().join(format!("procgen-hot-{}", std::process::id()));
    let file = dir.join("levels/test.level.ron");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "(name: \"test\", width: 11, height: 11)").unwrap();

    let mut app = app(&dir, "levels/test.level.ron");
    run_until(&mut app, "the first load", |app, _| level(app).is_some());
    let (w, hash, generation) = level(&app).unwrap();
    assert_eq!(w, 11);

    // Give the watcher a moment to start, then save a bigger level over the file.
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(
        &file,
        "(name: \"test\", width: 25, height: 15, generator: Caves())",
    )
    .unwrap();
    run_until(&mut app, "the reload", |app, _| {
        level(app).is_some_and(|(_, _, g)| g > generation)
    });
    let (w2, hash2, generation2) = level(&app).unwrap();
    assert_eq!(w2, 25);
    assert_ne!(hash2, hash);
    assert!(
        app.world().resource::<CurrentLevel>().reloaded,
        "same level, edited"
    );

    // A broken edit is reported with file and line; the level stays.
    std::fs::write(&file, "(\n  name: \"test\",\n  wall_density: 7.0,\n)").unwrap();
    let events = run_until(&mut app, "the error", |_, events| {
        events.iter().any(|e| matches!(e, LevelEvent::Failed(_)))
    });
    let err = events
        .iter()
        .find_map(|e| match e {
            LevelEvent::Failed(err) => Some(err.clone()),
            _ => None,
        })
        .unwrap();
    let text = err.to_string();
    assert!(
        text.starts_with("levels/test.level.ron:3: wall_density") && !text.contains('\n'),
        "{text}"
    );
    // The loader's own error, not the asset server's text about it.
    assert!(
        matches!(err, LevelError::Invalid { line: Some(3), .. }),
        "{err:?}"
    );
    assert_eq!(
        level(&app),
        Some((w2, hash2, generation2)),
        "the old level stays"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_level_file_is_reported() {
    let dir = std::env::temp_dir().join(format!("procgen-missing-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("levels")).unwrap();
    let mut app = app(&dir, "levels/none.level.ron");
    let events = run_until(&mut app, "the error", |_, events| {
        events.iter().any(|e| matches!(e, LevelEvent::Failed(_)))
    });
    let err = events
        .iter()
        .find_map(|e| match e {
            LevelEvent::Failed(err) => Some(err.clone()),
            _ => None,
        })
        .unwrap();
    let text = err.to_string();
    assert!(
        matches!(err, LevelError::Rejected(_)) && text.contains("none.level.ron"),
        "{err:?}"
    );
    assert!(!text.contains('\n'), "{text}");
    assert!(level(&app).is_none(), "nothing to play");
    let _ = std::fs::remove_dir_all(&dir);
}

//! A game building its own level, from code and from a file, with `bevy_procgen`.
//!
//! Starts on a level written in Rust (rooms and corridors with fog and lamps); press N to
//! switch to `assets/levels/caves.level.ron` (loaded through the asset server and rebuilt
//! whenever the file is saved) and back. A fly camera walks the level with the arrow keys.
//!
//! In this workspace: `cargo build --workspace --examples`, then
//! `$CARGO_TARGET_DIR/debug/examples/custom_level` (add `300` to exit after 300 frames). The
//! example needs only Bevy and this crate, not the world model.

use bevy::prelude::*;
use bevy_procgen::{
    CurrentLevel, Fog, Generator, LevelEvent, LevelSpec, Lighting, LoadLevel, LoadLevelFile,
    Palette, ProcgenPlugin, ProcgenSystems, Props, Spawn,
};

/// The level from code: every field not given takes its default.
fn level_from_code() -> LevelSpec {
    LevelSpec {
        name: "from-code".into(),
        width: 33,
        height: 25,
        generator: Generator::Rooms {
            rooms: 9,
            min_size: 3,
            max_size: 6,
        },
        palette: Palette {
            walls: vec![(0.7, 0.65, 0.55), (0.55, 0.6, 0.7)],
            floor: (0.3, 0.28, 0.25),
            ceiling: (0.2, 0.2, 0.22),
            fog: (0.1, 0.1, 0.12),
            light: (1.0, 0.8, 0.5),
            ..Default::default()
        },
        props: Props {
            pillars: 0.05,
            crates: 0.05,
            lights: 0.08,
        },
        lighting: Lighting {
            brightness: 0.8,
            ..default()
        },
        fog: Some(Fog {
            start: 4.0,
            end: 20.0,
        }),
        spawn: Spawn::Center,
        ..default()
    }
}

fn main() {
    let frames: Option<u32> = std::env::args().nth(1).and_then(|a| a.parse().ok());
    // The game's shipped levels, two folders up from this crate.
    let assets = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets");
    App::new()
        .add_plugins(DefaultPlugins.set(AssetPlugin {
            file_path: assets.into(),
            watch_for_changes_override: Some(true),
            ..default()
        }))
        .add_plugins(ProcgenPlugin::new(level_from_code()).with_seed(7))
        .insert_resource(ExitAfter(frames))
        .add_systems(Startup, |mut commands: Commands| {
            commands.spawn((Camera3d::default(), Transform::default()));
        })
        .add_systems(
            Update,
            (
                switch_level,
                log_levels,
                walk.after(ProcgenSystems::Spawn),
                exit_after,
            ),
        )
        .run();
}

#[derive(Resource)]
struct ExitAfter(Option<u32>);

/// N: from code to the file and back.
fn switch_level(
    keys: Res<ButtonInput<KeyCode>>,
    level: Option<Res<CurrentLevel>>,
    mut from_code: MessageWriter<LoadLevel>,
    mut from_file: MessageWriter<LoadLevelFile>,
) {
    if !keys.just_pressed(KeyCode::KeyN) {
        return;
    }
    if level.is_some_and(|l| l.spec.name == "from-code") {
        from_file.write(LoadLevelFile {
            path: "levels/caves.level.ron".into(),
            seed: 7,
        });
    } else {
        from_code.write(LoadLevel {
            spec: level_from_code(),
            seed: 7,
        });
    }
}

/// Spawns, reloads and bad files (the level in play stays) arrive as messages.
fn log_levels(mut events: MessageReader<LevelEvent>) {
    for event in events.read() {
        match event {
            LevelEvent::Spawned { name, grid_hash } => info!("level {name} ({grid_hash:016x})"),
            LevelEvent::Failed(e) => warn!("{e}"),
        }
    }
}

/// Arrow keys walk the camera, sliding along walls; a new level starts it at its spawn.
fn walk(
    time: Res<Time>,
    keys: Res<ButtonInput<KeyCode>>,
    level: Option<Res<CurrentLevel>>,
    mut camera: Single<&mut Transform, With<Camera3d>>,
) {
    let Some(level) = level else { return };
    if level.is_changed() {
        camera.translation = level.cell_center(level.grid.start()) + Vec3::Y * 1.2;
        camera.rotation = Quat::from_rotation_y(level.start_yaw());
    }
    let dt = time.delta_secs();
    let turn = keys.pressed(KeyCode::ArrowLeft) as i32 - keys.pressed(KeyCode::ArrowRight) as i32;
    camera.rotate_y(turn as f32 * 2.0 * dt);
    let ahead = keys.pressed(KeyCode::ArrowUp) as i32 - keys.pressed(KeyCode::ArrowDown) as i32;
    let f = camera.forward().as_vec3() * ahead as f32 * 3.0 * dt;
    camera.translation = level.slide(camera.translation, Vec2::new(f.x, f.z), 0.3);
}

fn exit_after(mut frames: Local<u32>, limit: Res<ExitAfter>, mut exit: MessageWriter<AppExit>) {
    *frames += 1;
    if limit.0.is_some_and(|n| *frames >= n) {
        exit.write(AppExit::Success);
    }
}

//! A camera that never moves, watching things that do: its action is always zero, so what the
//! world model has to learn is how the objects move (the warp decoder moves their pixels).
//!
//! The game's own main camera is tagged: the window keeps its picture while the plugin
//! captures a 64x64 view that follows the camera. Every five seconds the log shows the
//! model's one-step PSNR against copying the last frame.
//!
//! `cargo build --workspace --examples`, then `$CARGO_TARGET_DIR/debug/examples/static_camera`
//! (add a frame count to exit after that many frames).

mod common;

use bevy::prelude::*;
use bevy_world_model::WorldModelCamera;

fn main() {
    App::new()
        .add_plugins(DefaultPlugins.set(common::window("static camera")))
        .add_plugins((common::world_model(), common::ExamplePlugin))
        .add_systems(Startup, setup)
        .add_systems(Update, move_objects)
        .run();
}

/// How an object moves: along `axis` by `amplitude`, `speed` radians of its cycle a second.
#[derive(Component)]
struct Motion {
    home: Vec3,
    axis: Vec3,
    amplitude: f32,
    speed: f32,
    spin: f32,
}

fn setup(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    commands.spawn((
        Mesh3d(meshes.add(Plane3d::default().mesh().size(12.0, 12.0))),
        MeshMaterial3d(materials.add(Color::srgb(0.35, 0.45, 0.35))),
    ));
    let objects: [(Mesh, Color, Motion); 3] = [
        (
            Cuboid::new(1.0, 1.0, 1.0).into(),
            Color::srgb(0.85, 0.25, 0.2),
            Motion {
                home: Vec3::new(0.0, 0.5, 0.0),
                axis: Vec3::X,
                amplitude: 2.5,
                speed: 0.9,
                spin: 0.0,
            },
        ),
        (
            Sphere::new(0.6).into(),
            Color::srgb(0.2, 0.35, 0.9),
            Motion {
                home: Vec3::new(-1.5, 1.6, -1.5),
                axis: Vec3::Y,
                amplitude: 1.0,
                speed: 1.3,
                spin: 0.0,
            },
        ),
        (
            Torus::new(0.3, 0.7).into(),
            Color::srgb(0.9, 0.8, 0.2),
            Motion {
                home: Vec3::new(1.8, 1.0, -1.0),
                axis: Vec3::Z,
                amplitude: 0.8,
                speed: 0.7,
                spin: 1.5,
            },
        ),
    ];
    for (mesh, color, motion) in objects {
        commands.spawn((
            Mesh3d(meshes.add(mesh)),
            MeshMaterial3d(materials.add(color)),
            Transform::from_translation(motion.home),
            motion,
        ));
    }
    commands.spawn((
        DirectionalLight {
            illuminance: 8_000.0,
            ..default()
        },
        Transform::from_xyz(4.0, 8.0, 4.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    // The game's main camera, tagged: it renders the window, the plugin captures its view.
    commands.spawn((
        Camera3d::default(),
        Msaa::Off,
        WorldModelCamera::default(),
        Transform::from_xyz(0.0, 3.0, 7.0).looking_at(Vec3::new(0.0, 0.8, 0.0), Vec3::Y),
    ));
}

fn move_objects(time: Res<Time>, mut objects: Query<(&Motion, &mut Transform)>) {
    let t = time.elapsed_secs();
    for (m, mut transform) in &mut objects {
        transform.translation = m.home + m.axis * m.amplitude * (t * m.speed).sin();
        transform.rotation = Quat::from_rotation_y(t * m.spin);
    }
}

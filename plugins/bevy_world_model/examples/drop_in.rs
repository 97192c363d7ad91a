//! An ordinary Bevy 3D scene that learns to predict its own camera's next frame.
//!
//! A game adds two lines:
//!
//! ```ignore
//! app.add_plugins(WorldModelPlugin::default());                  // 1. the plugin
//! commands.spawn((Camera3d::default(), WorldModelCamera::default())); // 2. tag a camera
//! ```
//!
//! Here the game's main camera circles a few shapes and is tagged: the window keeps its
//! picture while the plugin captures a 64x64 view that follows the camera. The action the
//! model learns from is the camera's own ego-motion, so the scene does nothing else for it.
//! Every five seconds the log shows the model's one-step PSNR against copying the last frame.
//! The plugin here is `WorldModelPlugin::default()` with the examples' CPU settings
//! (`common::world_model`: a frame-rate cap and the trainer on every core).
//!
//! `cargo build --workspace --examples`, then `$CARGO_TARGET_DIR/debug/examples/drop_in`
//! (add `600` to exit after 600 frames).

mod common;

use bevy::prelude::*;
use bevy_world_model::WorldModelCamera;

fn main() {
    App::new()
        .add_plugins(DefaultPlugins.set(common::window("drop in")))
        .add_plugins((common::world_model(), common::ExamplePlugin))
        .add_systems(Startup, setup)
        .add_systems(Update, fly_camera)
        .run();
}

/// The main camera, which circles the scene.
#[derive(Component)]
struct Orbit;

fn setup(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    commands.spawn((
        Mesh3d(meshes.add(Plane3d::default().mesh().size(20.0, 20.0))),
        MeshMaterial3d(materials.add(Color::srgb(0.3, 0.5, 0.3))),
    ));
    let shapes: [(Mesh, Color, Vec3); 4] = [
        (
            Cuboid::new(1.0, 1.0, 1.0).into(),
            Color::srgb(0.8, 0.2, 0.2),
            Vec3::new(2.0, 0.5, 0.0),
        ),
        (
            Sphere::new(0.7).into(),
            Color::srgb(0.2, 0.3, 0.9),
            Vec3::new(-2.0, 0.7, 1.0),
        ),
        (
            Cylinder::new(0.4, 2.0).into(),
            Color::srgb(0.9, 0.8, 0.2),
            Vec3::new(0.0, 1.0, -2.5),
        ),
        (
            Torus::new(0.3, 0.7).into(),
            Color::srgb(0.8, 0.3, 0.8),
            Vec3::new(0.5, 0.4, 2.5),
        ),
    ];
    for (mesh, color, pos) in shapes {
        commands.spawn((
            Mesh3d(meshes.add(mesh)),
            MeshMaterial3d(materials.add(color)),
            Transform::from_translation(pos),
        ));
    }
    commands.spawn((
        DirectionalLight {
            illuminance: 8_000.0,
            ..default()
        },
        Transform::from_xyz(4.0, 8.0, 4.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    // The game's main camera, tagged for the world model.
    commands.spawn((
        Camera3d::default(),
        WorldModelCamera::default(),
        Orbit,
        Transform::from_xyz(6.0, 1.5, 0.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
}

/// Circles the scene, never stopping, at a speed and distance that change slowly (0.27 to
/// 0.63 radians a second, 5 to 7 units), so actions vary.
fn fly_camera(time: Res<Time>, mut camera: Query<&mut Transform, With<Orbit>>) {
    let t = time.elapsed_secs();
    let angle = t * 0.45 + (t * 0.3).sin() * 0.6;
    let radius = 6.0 + (t * 0.23).sin();
    for mut transform in &mut camera {
        *transform = Transform::from_xyz(radius * angle.cos(), 1.5, radius * angle.sin())
            .looking_at(Vec3::new(0.0, 0.5, 0.0), Vec3::Y);
    }
}

//! A 2D scene: a `Camera2d` watching sprites and meshes bounce around a board.
//!
//! The game's main 2D camera is tagged, so the plugin captures its orthographic view (the
//! central square of the window, at 64x64) while the window keeps its picture. The camera
//! stands still, so its action is zero and the model learns how the shapes move.
//! Every five seconds the log shows the model's one-step PSNR against copying the last frame.
//!
//! `cargo build --workspace --examples`, then `$CARGO_TARGET_DIR/debug/examples/scene_2d`
//! (add a frame count to exit after that many frames).

mod common;

use bevy::prelude::*;
use bevy_world_model::WorldModelCamera;

/// Half the side of the square board the shapes bounce in, in pixels: the captured square.
const BOARD: f32 = 125.0;

fn main() {
    App::new()
        .add_plugins(DefaultPlugins.set(common::window("2D scene")))
        .add_plugins((common::world_model(), common::ExamplePlugin))
        .insert_resource(ClearColor(Color::srgb(0.12, 0.13, 0.18)))
        .add_systems(Startup, setup)
        .add_systems(Update, bounce)
        .run();
}

/// A shape's velocity (pixels per second), spin (radians per second) and half size, for
/// bouncing off the board's edges.
#[derive(Component)]
struct Bounce {
    velocity: Vec2,
    spin: f32,
    half: f32,
}

fn setup(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
) {
    // The board, so the edges the shapes bounce off are visible.
    commands.spawn((
        Sprite::from_color(Color::srgb(0.25, 0.3, 0.28), Vec2::splat(2.0 * BOARD)),
        Transform::from_xyz(0.0, 0.0, -1.0),
    ));
    let shapes: [(Mesh, Color, Vec2, Bounce); 3] = [
        (
            Circle::new(22.0).into(),
            Color::srgb(0.9, 0.3, 0.2),
            Vec2::new(-40.0, 30.0),
            Bounce {
                velocity: Vec2::new(70.0, 45.0),
                spin: 0.0,
                half: 22.0,
            },
        ),
        (
            Rectangle::new(44.0, 28.0).into(),
            Color::srgb(0.25, 0.5, 0.95),
            Vec2::new(50.0, -50.0),
            Bounce {
                velocity: Vec2::new(-50.0, 60.0),
                spin: 1.2,
                half: 26.0,
            },
        ),
        (
            RegularPolygon::new(24.0, 3).into(),
            Color::srgb(0.95, 0.85, 0.25),
            Vec2::new(10.0, 70.0),
            Bounce {
                velocity: Vec2::new(40.0, -35.0),
                spin: -0.8,
                half: 24.0,
            },
        ),
    ];
    for (mesh, color, at, bounce) in shapes {
        commands.spawn((
            Mesh2d(meshes.add(mesh)),
            MeshMaterial2d(materials.add(color)),
            Transform::from_translation(at.extend(0.0)),
            bounce,
        ));
    }
    // A sprite too: a paddle that slides along the bottom edge.
    commands.spawn((
        Sprite::from_color(Color::srgb(0.85, 0.85, 0.9), Vec2::new(60.0, 12.0)),
        Transform::from_xyz(0.0, -BOARD + 14.0, 0.5),
        Bounce {
            velocity: Vec2::new(55.0, 0.0),
            spin: 0.0,
            half: 30.0,
        },
    ));
    // The game's main camera, tagged: it renders the window, the plugin captures its view.
    commands.spawn((Camera2d, WorldModelCamera::default()));
}

/// Moves each shape and turns it back at the board's edges.
fn bounce(time: Res<Time>, mut shapes: Query<(&mut Bounce, &mut Transform)>) {
    let dt = time.delta_secs();
    for (mut b, mut transform) in &mut shapes {
        let mut at = transform.translation.truncate() + b.velocity * dt;
        let limit = BOARD - b.half;
        for axis in 0..2 {
            if at[axis].abs() > limit {
                at[axis] = at[axis].clamp(-limit, limit);
                b.velocity[axis] = -b.velocity[axis];
            }
        }
        transform.translation = at.extend(transform.translation.z);
        transform.rotate_z(b.spin * dt);
    }
}

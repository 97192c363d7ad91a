//! A 2D scene: a `Camera2d` watching sprites and meshes go round and across a board.
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

/// Half the side of the square board the shapes move on, in pixels: the captured square.
const BOARD: f32 = 125.0;

fn main() {
    App::new()
        .add_plugins(DefaultPlugins.set(common::window("2D scene")))
        .add_plugins((common::world_model(), common::ExamplePlugin))
        .insert_resource(ClearColor(Color::srgb(0.12, 0.13, 0.18)))
        .add_systems(Startup, setup)
        .add_systems(Update, move_shapes)
        .run();
}

/// A shape's path, an ellipse (a line when `across` is zero): at time `t` it is at
/// `centre + along * sin(speed * t + phase) + across * cos(speed * t + phase)`.
#[derive(Component)]
struct Path {
    centre: Vec2,
    along: Vec2,
    across: Vec2,
    speed: f32,
    phase: f32,
}

impl Path {
    fn at(&self, t: f32) -> Vec2 {
        let (sin, cos) = (self.speed * t + self.phase).sin_cos();
        self.centre + self.along * sin + self.across * cos
    }
}

fn setup(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
) {
    // The board, so the shapes move over something with edges.
    commands.spawn((
        Sprite::from_color(Color::srgb(0.25, 0.3, 0.28), Vec2::splat(2.0 * BOARD)),
        Transform::from_xyz(0.0, 0.0, -1.0),
    ));
    let shapes: [(Mesh, Color, Path); 3] = [
        // A circle going round the board.
        (
            Circle::new(22.0).into(),
            Color::srgb(0.9, 0.3, 0.2),
            Path {
                centre: Vec2::ZERO,
                along: Vec2::new(0.0, 70.0),
                across: Vec2::new(70.0, 0.0),
                speed: 0.8,
                phase: 0.0,
            },
        ),
        // A rectangle sliding corner to corner.
        (
            Rectangle::new(44.0, 28.0).into(),
            Color::srgb(0.25, 0.5, 0.95),
            Path {
                centre: Vec2::ZERO,
                along: Vec2::new(70.0, -60.0),
                across: Vec2::ZERO,
                speed: 0.9,
                phase: 1.0,
            },
        ),
        // A triangle on a small ellipse of its own, the other way round.
        (
            RegularPolygon::new(24.0, 3).into(),
            Color::srgb(0.95, 0.85, 0.25),
            Path {
                centre: Vec2::new(-35.0, 45.0),
                along: Vec2::new(40.0, 0.0),
                across: Vec2::new(0.0, 30.0),
                speed: 1.1,
                phase: 2.0,
            },
        ),
    ];
    for (mesh, color, path) in shapes {
        commands.spawn((
            Mesh2d(meshes.add(mesh)),
            MeshMaterial2d(materials.add(color)),
            Transform::from_translation(path.at(0.0).extend(0.0)),
            path,
        ));
    }
    // A sprite too: a paddle that slides along the bottom edge.
    commands.spawn((
        Sprite::from_color(Color::srgb(0.85, 0.85, 0.9), Vec2::new(60.0, 12.0)),
        Transform::from_xyz(0.0, -BOARD + 14.0, 0.5),
        Path {
            centre: Vec2::new(0.0, -BOARD + 14.0),
            along: Vec2::new(BOARD - 35.0, 0.0),
            across: Vec2::ZERO,
            speed: 0.7,
            phase: 0.0,
        },
    ));
    // The game's main camera, tagged: it renders the window, the plugin captures its view.
    commands.spawn((Camera2d, WorldModelCamera::default()));
}

/// Puts each shape where its path has it now.
fn move_shapes(time: Res<Time>, mut shapes: Query<(&Path, &mut Transform)>) {
    let t = time.elapsed_secs();
    for (path, mut transform) in &mut shapes {
        transform.translation = path.at(t).extend(transform.translation.z);
    }
}

//! Real rendering (lavapipe where there is no GPU): tagging a camera captures what it sees
//! through the plugin's own follower view, and leaves the camera's own rendering alone.

use std::time::Duration;

use bevy::app::{PluginsState, ScheduleRunnerPlugin};
use bevy::asset::RenderAssetUsages;
use bevy::camera::RenderTarget;
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::render::gpu_readback::{Readback, ReadbackComplete};
use bevy::render::pipelined_rendering::PipelinedRenderingPlugin;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat, TextureUsages};
use bevy::window::ExitCondition;
use bevy::winit::WinitPlugin;
use bevy_world_model::{CapturePlugin, CaptureView, FrameCaptured, WorldModelCamera};

/// The game's own target: wider than the capture, as a window would be.
const TARGET: (u32, u32) = (160, 90);
const CLEAR: Color = Color::srgb(0.0, 0.0, 1.0);

#[derive(Resource, Default)]
struct Seen {
    frames: Vec<FrameCaptured>,
    /// The last readback of the camera's own target (rows padded to 256 bytes).
    target: Vec<u8>,
}

fn collect(mut frames: MessageReader<FrameCaptured>, mut seen: ResMut<Seen>) {
    seen.frames.extend(frames.read().cloned());
}

fn headless_app() -> App {
    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: None,
                exit_condition: ExitCondition::DontExit,
                ..default()
            })
            .set(RenderPlugin {
                synchronous_pipeline_compilation: true,
                ..default()
            })
            .disable::<WinitPlugin>()
            .disable::<PipelinedRenderingPlugin>(),
    )
    .add_plugins((
        ScheduleRunnerPlugin::run_loop(Duration::ZERO),
        CapturePlugin,
    ))
    .init_resource::<Seen>()
    .add_systems(Update, collect);
    while app.plugins_state() == PluginsState::Adding {
        bevy::tasks::tick_global_task_pools_on_main_thread();
    }
    app.finish();
    app.cleanup();
    app
}

/// An image a camera can render into and the CPU can read back.
fn render_target(images: &mut Assets<Image>) -> Handle<Image> {
    let mut image = Image::new_fill(
        Extent3d {
            width: TARGET.0,
            height: TARGET.1,
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        &[0, 0, 0, 255],
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::default(),
    );
    image.texture_descriptor.usage =
        TextureUsages::TEXTURE_BINDING | TextureUsages::COPY_SRC | TextureUsages::RENDER_ATTACHMENT;
    images.add(image)
}

/// Pixels of a padded RGBA readback, RGB only.
fn pixels(data: &[u8], width: u32, height: u32) -> Vec<[u8; 3]> {
    let row = (width as usize * 4).div_ceil(256) * 256;
    (0..height as usize)
        .flat_map(|y| {
            (0..width as usize).map(move |x| {
                let p = &data[y * row + x * 4..][..3];
                [p[0], p[1], p[2]]
            })
        })
        .collect()
}

/// A tagged camera that renders into its own target (as a game's main camera renders into
/// its window) keeps that target and keeps drawing the scene there, while the capture view's
/// frames of the same scene arrive.
#[test]
fn a_tagged_camera_keeps_rendering_to_its_own_target() {
    let mut app = headless_app();
    let world = app.world_mut();
    let target = render_target(&mut world.resource_mut::<Assets<Image>>());
    let cube = world
        .resource_mut::<Assets<Mesh>>()
        .add(Cuboid::new(1.0, 1.0, 1.0));
    let material = world
        .resource_mut::<Assets<StandardMaterial>>()
        .add(Color::srgb(1.0, 0.2, 0.1));
    world.spawn((Mesh3d(cube), MeshMaterial3d(material)));
    world.spawn((
        DirectionalLight::default(),
        Transform::from_xyz(2.0, 4.0, 3.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    let camera = world
        .spawn((
            Camera3d::default(),
            Camera {
                clear_color: ClearColorConfig::Custom(CLEAR),
                ..default()
            },
            RenderTarget::Image(target.clone().into()),
            Transform::from_xyz(0.0, 0.5, 3.0).looking_at(Vec3::ZERO, Vec3::Y),
            WorldModelCamera {
                width: 32,
                height: 32,
            },
        ))
        .id();
    world.spawn(Readback::texture(target.clone())).observe(
        |ev: On<ReadbackComplete>, mut seen: ResMut<Seen>| {
            seen.target = ev.data.clone();
        },
    );
    for _ in 0..40 {
        app.update();
    }

    let world = app.world_mut();
    match world.get::<RenderTarget>(camera) {
        Some(RenderTarget::Image(t)) => assert_eq!(t.handle, target, "the camera's target"),
        other => panic!("the tagged camera's target changed: {other:?}"),
    }
    let views: Vec<CaptureView> = world.query::<&CaptureView>().iter(world).copied().collect();
    assert_eq!(views.len(), 1, "one capture view per tagged camera");
    assert_eq!(views[0].camera, camera);

    let seen = world.resource::<Seen>();
    assert!(
        seen.frames.len() > 10,
        "only {} frames captured",
        seen.frames.len()
    );
    let frame = &seen.frames.last().unwrap().frame;
    assert_eq!((frame.width, frame.height), (32, 32));
    let blue = |p: &[u8]| p[2] > 200 && p[0] < 40 && p[1] < 40;
    let lit = |p: &[u8]| p[0] > 100 && p[2] < 100;
    assert!(
        frame.rgb.chunks_exact(3).any(blue) && frame.rgb.chunks_exact(3).any(lit),
        "the capture shows the cube on the clear colour"
    );
    assert!(
        !seen.target.is_empty(),
        "the camera's own target was read back"
    );
    let own = pixels(&seen.target, TARGET.0, TARGET.1);
    assert!(
        own.iter().any(|p| blue(p)) && own.iter().any(|p| lit(p)),
        "the camera still draws the cube into its own target"
    );
}

/// A 2D camera is captured through a 2D view. (The workspace builds no sprite renderer, so
/// the scene is the camera's clear colour.)
#[test]
fn a_2d_camera_is_captured() {
    let mut app = headless_app();
    let world = app.world_mut();
    let target = render_target(&mut world.resource_mut::<Assets<Image>>());
    let camera = world
        .spawn((
            Camera2d,
            Camera {
                clear_color: ClearColorConfig::Custom(CLEAR),
                ..default()
            },
            RenderTarget::Image(target.into()),
            WorldModelCamera {
                width: 16,
                height: 16,
            },
        ))
        .id();
    for _ in 0..30 {
        app.update();
    }
    let world = app.world_mut();
    let is_2d = world
        .query_filtered::<&CaptureView, With<Camera2d>>()
        .iter(world)
        .any(|v| v.camera == camera);
    assert!(is_2d, "the capture view of a 2D camera is a 2D camera");
    let seen = world.resource::<Seen>();
    let frame = &seen.frames.last().expect("2D frames arrive").frame;
    assert!(seen.frames.iter().all(|f| f.camera == camera));
    assert!(
        frame
            .rgb
            .chunks_exact(3)
            .all(|p| p[2] > 200 && p[0] < 40 && p[1] < 40),
        "the 2D camera's clear colour"
    );
}

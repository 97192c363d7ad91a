//! Shared by the plugin's headless tests: a tiny config, an app with one tagged camera, a
//! synthetic episode, and stepping with injected frames.
#![allow(dead_code)] // each test binary uses a different part

use std::time::{Duration, Instant};

use bevy::asset::AssetPlugin;
use bevy::image::ImagePlugin;
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy_world_model::world_model::synthetic::{ScrollWorld, WorldSpec};
use bevy_world_model::world_model::{DeviceChoice, Frame, WorldModelConfig};
use bevy_world_model::*;

pub const SIZE: usize = 16;

pub fn tiny_config() -> WorldModelConfig {
    WorldModelConfig {
        width: SIZE,
        height: SIZE,
        cnn_depth: 4,
        deter: 32,
        stoch: 4,
        classes: 8,
        hidden: 32,
        batch: 4,
        seq_len: 4,
        min_frames: 8,
        snapshot_every: 1,
        ..WorldModelConfig::plain()
    }
}

/// A headless app with the plugin and one tagged camera.
pub fn app(plugin: WorldModelPlugin) -> (App, Entity) {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin::default(),
        ImagePlugin::default(),
        TransformPlugin,
        StatesPlugin,
    ))
    .add_plugins(plugin.with_device(DeviceChoice::Flex));
    let camera = app
        .world_mut()
        .spawn((
            WorldModelCamera {
                width: SIZE as u32,
                height: SIZE as u32,
            },
            WorldModelAction(vec![0.0; 3]),
            Transform::default(),
        ))
        .id();
    (app, camera)
}

/// Frames and actions of a synthetic episode: `frames[t]` is what tick `t` shows,
/// `actions[t]` led from `frames[t - 1]` to it.
pub struct Episode {
    pub frames: Vec<Frame>,
    pub actions: Vec<Vec<f32>>,
}

pub fn episode(ticks: usize, seed: u64) -> Episode {
    let spec = WorldSpec {
        size: SIZE,
        move_speed: 3.0,
        turn_speed: 0.2,
        feature_scale: 24.0,
        periodic: false,
    };
    let mut world = ScrollWorld::with_spec(spec, seed);
    let mut frames = vec![world.render()];
    let mut actions = vec![vec![0.0; 3]];
    for t in 1..ticks {
        let a = vec![
            ((t as f32) * 0.7).sin(),
            ((t as f32) * 0.3).cos() * 0.5,
            ((t as f32) * 0.2).sin() * 0.5,
        ];
        world.act(&a);
        frames.push(world.render());
        actions.push(a);
    }
    Episode { frames, actions }
}

pub fn captured(camera: Entity, tick: u64, frame: &Frame) -> FrameCaptured {
    FrameCaptured {
        camera,
        tick,
        frame: frame.clone(),
    }
}

/// One update at which the game sets the tick's action and frames `deliver` arrive.
pub fn step(app: &mut App, camera: Entity, ep: &Episode, deliver: &[u64]) {
    let next_tick = app.world().resource::<ModelClock>().tick + 1;
    if let Some(a) = ep.actions.get(next_tick as usize) {
        app.world_mut()
            .entity_mut(camera)
            .insert(WorldModelAction(a.clone()));
    }
    for &t in deliver {
        let msg = captured(camera, t, &ep.frames[t as usize]);
        app.world_mut().write_message(msg);
    }
    app.update();
}

#[derive(Resource, Default)]
pub struct Collected {
    pub scores: Vec<PredictionScored>,
    pub notices: Vec<WorldModelNotice>,
}

pub fn collect(
    mut c: ResMut<Collected>,
    mut scores: MessageReader<PredictionScored>,
    mut notices: MessageReader<WorldModelNotice>,
) {
    c.scores.extend(scores.read().cloned());
    c.notices.extend(notices.read().cloned());
}

pub fn with_collector(app: &mut App) {
    app.init_resource::<Collected>().add_systems(Last, collect);
}

/// Steps the app (one frame per update from update `u` on) until the trainer reports a save;
/// returns the saved file.
pub fn wait_for_save(
    app: &mut App,
    camera: Entity,
    ep: &Episode,
    u: &mut u64,
) -> std::path::PathBuf {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        step(app, camera, ep, &[*u - 1]);
        *u += 1;
        let notices = &app.world().resource::<Collected>().notices;
        if let Some(n) = notices.iter().find(|n| n.text.starts_with("saved ")) {
            return std::path::PathBuf::from(n.text.trim_start_matches("saved "));
        }
        assert!(Instant::now() < deadline, "no save notice: {notices:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

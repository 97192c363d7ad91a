//! The plugin's systems never touch the same data in an undefined order: every schedule it
//! adds systems to builds with Bevy's system-ambiguity detection set to error (a build
//! error panics the first `update`).
//!
//! Bevy's own `StateTransition` schedule is left out: its state machinery runs exclusive
//! systems that Bevy leaves unordered with one another, whatever a plugin adds.

use bevy::asset::AssetPlugin;
use bevy::ecs::schedule::{LogLevel, ScheduleBuildSettings, ScheduleLabel};
use bevy::image::ImagePlugin;
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy_world_model::world_model::{DeviceChoice, WorldModelConfig};
use bevy_world_model::{WorldModelCamera, WorldModelDiagnosticsPlugin, WorldModelPlugin};

#[test]
fn no_ambiguity_errors() {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin::default(),
        ImagePlugin::default(),
        TransformPlugin,
        StatesPlugin,
    ))
    .add_plugins((
        WorldModelPlugin::default()
            .with_config(WorldModelConfig {
                width: 16,
                height: 16,
                cnn_depth: 4,
                deter: 32,
                stoch: 4,
                classes: 8,
                hidden: 32,
                ..WorldModelConfig::plain()
            })
            .with_device(DeviceChoice::Flex)
            .with_learning(false),
        WorldModelDiagnosticsPlugin,
    ));
    app.world_mut().spawn((
        WorldModelCamera {
            width: 16,
            height: 16,
        },
        Transform::default(),
    ));
    // Every schedule the plugin and its diagnostics add systems to.
    let labels = [
        Startup.intern(),
        First.intern(),
        PreUpdate.intern(),
        PostUpdate.intern(),
        Last.intern(),
    ];
    for label in labels {
        app.edit_schedule(label, |schedule| {
            schedule.set_build_settings(ScheduleBuildSettings {
                ambiguity_detection: LogLevel::Error,
                ..default()
            });
        });
    }
    app.finish();
    app.cleanup();
    for _ in 0..3 {
        app.update();
    }
}

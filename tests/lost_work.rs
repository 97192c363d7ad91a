//! A run that lost work does not exit with success: after a checkpoint save failed, the
//! game's clean exit becomes an error exit (driven with `App::update()`, no window).

use std::time::{Duration, Instant};

use bevy::asset::AssetPlugin;
use bevy::image::ImagePlugin;
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy_world_model::world_model::{DeviceChoice, WorldModelConfig};
use bevy_world_model::{ModelStatus, SaveCheckpoint, WorldModelPlugin};
use mini_dreamer::session::{SessionPlan, SessionPlugin};

fn app() -> App {
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
                deter: 16,
                stoch: 4,
                classes: 4,
                hidden: 16,
                ..WorldModelConfig::plain()
            })
            .with_device(DeviceChoice::Flex),
        SessionPlugin(SessionPlan::default()),
    ));
    app.update();
    app
}

#[test]
fn a_failed_save_turns_a_clean_exit_into_an_error() {
    let mut app = app();
    // A directory under a regular file cannot be created: the trainer's save fails.
    let blocker = std::env::temp_dir().join(format!("md-lost-work-{}", std::process::id()));
    std::fs::write(&blocker, b"a file").unwrap();
    app.world_mut()
        .write_message(SaveCheckpoint(Some(blocker.join("sub/model.ckpt"))));
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.world().resource::<ModelStatus>().failed_saves == 0 {
        assert!(Instant::now() < deadline, "the save never failed");
        app.update();
        std::thread::sleep(Duration::from_millis(10));
    }
    app.world_mut().write_message(AppExit::Success);
    app.update();
    assert_eq!(app.should_exit(), Some(AppExit::error()));
    std::fs::remove_file(&blocker).ok();
}

#[test]
fn without_lost_work_a_clean_exit_stays_clean() {
    let mut app = app();
    app.update();
    app.world_mut().write_message(AppExit::Success);
    app.update();
    assert_eq!(app.should_exit(), Some(AppExit::Success));
}

//! The plugin in a headless `App`, driven with `App::update()`: frames are injected as
//! `FrameCaptured` messages (no GPU), with the lags and reordering real readbacks can have.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_world_model::world_model::WorldModelConfig;
use bevy_world_model::*;

mod common;
use common::*;

/// With learning off nothing reaches the trainer; switched on, transitions flow and the
/// trainer takes steps whose weights come back to the predictor.
#[test]
fn learning_off_sends_nothing_and_on_trains() {
    let (mut app, camera) = app(WorldModelPlugin::default()
        .with_config(tiny_config())
        .with_learning(false));
    app.update();
    let ep = episode(200, 3);
    for u in 2..40u64 {
        step(&mut app, camera, &ep, &[u - 1]);
    }
    {
        let out = app.world().resource::<ModelCounters>();
        assert_eq!((out.sent, out.dropped), (0, 0));
        let scores = app.world().resource::<ModelScores>();
        assert!(
            scores.averages.scored > 20,
            "prediction goes on: {}",
            scores.averages.scored
        );
    }
    assert_eq!(
        *app.world().resource::<State<Learning>>().get(),
        Learning::Paused
    );
    app.world_mut().write_message(ToggleLearning);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut u = 40u64;
    loop {
        step(&mut app, camera, &ep, &[u - 1]);
        u += 1;
        let status = app.world().resource::<ModelStatus>();
        if status.weights_step > 0 || Instant::now() > deadline || u >= 199 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = app.world().resource::<ModelCounters>();
    let status = app.world().resource::<ModelStatus>();
    assert_eq!(
        *app.world().resource::<State<Learning>>().get(),
        Learning::On
    );
    assert!(out.sent > 0, "transitions must flow once learning is on");
    assert!(
        status.weights_step > 0,
        "trained weights must reach the predictor"
    );
}

/// A burst larger than the trainer's queue never blocks the frame loop: the surplus is
/// dropped and counted.
#[test]
fn a_full_trainer_queue_drops_and_counts_instead_of_blocking() {
    // A slow training step (256 x 32 frames) so the trainer is busy while the bursts arrive
    // (at 64 x 32 a loaded machine's frame loop was slow enough for the trainer to keep up).
    let cfg = WorldModelConfig {
        batch: 256,
        seq_len: 32,
        min_frames: 32,
        ..tiny_config()
    };
    let (mut app, camera) = app(WorldModelPlugin::default().with_config(cfg));
    app.update();
    let ep = episode(300, 5);
    // 250 ticks of actions with the frames held back, then 4 bursts of 62 frames.
    let mut delivered = 0u64;
    for _ in 2..250u64 {
        step(&mut app, camera, &ep, &[]);
    }
    for burst in 0..4u64 {
        let ticks: Vec<u64> = (burst * 62 + 1..(burst + 1) * 62 + 1).collect();
        delivered += ticks.len() as u64;
        step(&mut app, camera, &ep, &ticks);
    }
    let out = app.world().resource::<ModelCounters>();
    assert_eq!(
        out.sent + out.dropped,
        delivered,
        "every transition is sent or counted"
    );
    assert!(
        out.dropped > 0,
        "a burst of {delivered} must overflow the queue of 128"
    );
}

/// A corrupt checkpoint is reported (message and output) and the model keeps predicting;
/// a good one saved through the plugin loads back.
#[test]
fn checkpoints_save_and_load_and_bad_files_change_nothing() {
    let dir = std::env::temp_dir().join(format!("wm-plugin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mut app, camera) = app(WorldModelPlugin::default()
        .with_config(tiny_config())
        .with_checkpoint_dir(&dir));
    with_collector(&mut app);
    app.update();
    let ep = episode(400, 9);
    let mut u = 2u64;
    for _ in 0..20 {
        step(&mut app, camera, &ep, &[u - 1]);
        u += 1;
    }

    let bad = dir.join("corrupt.ckpt");
    std::fs::write(&bad, b"this is not a checkpoint").unwrap();
    app.world_mut().write_message(LoadCheckpoint(bad.clone()));
    step(&mut app, camera, &ep, &[u - 1]);
    u += 1;
    let scored_before = app.world().resource::<ModelScores>().averages.scored;
    {
        let out = app.world().resource::<ModelStatus>();
        let err = out.last_error.clone().expect("the error is shown");
        assert!(err.contains("corrupt.ckpt"), "{err}");
        assert_eq!(out.model_source, "random init");
        let notices = &app.world().resource::<Collected>().notices;
        assert!(
            notices
                .iter()
                .any(|n| n.level == NoticeLevel::Error && n.text.contains("corrupt.ckpt"))
        );
    }
    for _ in 0..10 {
        step(&mut app, camera, &ep, &[u - 1]);
        u += 1;
    }
    assert!(
        app.world().resource::<ModelScores>().averages.scored >= scored_before + 9,
        "the old model keeps predicting"
    );

    // Save without a path: a timestamped file in the checkpoint dir.
    app.world_mut().write_message(SaveCheckpoint(None));
    let saved = wait_for_save(&mut app, camera, &ep, &mut u)
        .display()
        .to_string();
    assert!(
        saved.contains("world-model-") && saved.ends_with(".ckpt"),
        "{saved}"
    );
    assert!(std::path::Path::new(&saved).is_file());
    app.world_mut()
        .write_message(LoadCheckpoint(std::path::PathBuf::from(&saved)));
    step(&mut app, camera, &ep, &[u - 1]);
    let out = app.world().resource::<ModelStatus>();
    assert!(
        out.model_source.contains("world-model-"),
        "{}",
        out.model_source
    );
    assert!(out.last_error.is_none(), "{:?}", out.last_error);
    std::fs::remove_dir_all(&dir).ok();
}

/// The dream rolls forward on the prior with the live actions, without real frames; the
/// real frames still score it; a reset restarts it from the next real frame.
#[test]
fn the_dream_runs_on_live_actions_and_resets_from_a_real_frame() {
    let (mut app, camera) = app(WorldModelPlugin::default()
        .with_config(tiny_config())
        .with_learning(false));
    with_collector(&mut app);
    app.update();
    assert_eq!(
        *app.world().resource::<State<Driver>>().get(),
        Driver::Player,
        "the game drives until it hands over"
    );
    let ep = episode(200, 11);
    let mut u = 2u64;
    for _ in 0..10 {
        step(&mut app, camera, &ep, &[u - 1]);
        u += 1;
    }
    app.world_mut().write_message(ToggleDream);
    for _ in 0..20 {
        step(&mut app, camera, &ep, &[u - 1]);
        u += 1;
    }
    assert_eq!(
        *app.world().resource::<State<DreamMode>>().get(),
        DreamMode::Dreaming
    );
    let dreamed = app.world().resource::<ModelCounters>().dream_ticks;
    assert!(dreamed >= 18, "one dream step per tick, got {dreamed}");
    let dreamed_scores = app
        .world()
        .resource::<Collected>()
        .scores
        .iter()
        .filter(|s| s.dreamed)
        .count();
    assert!(
        dreamed_scores >= 15,
        "real frames score the dream: {dreamed_scores}"
    );

    app.world_mut().write_message(ResetLatent);
    step(&mut app, camera, &ep, &[u - 1]);
    u += 1;
    let after_reset = app.world().resource::<ModelCounters>().dream_ticks;
    assert!(
        after_reset <= 1,
        "the dream restarts from the next real frame: {after_reset}"
    );
    for _ in 0..5 {
        step(&mut app, camera, &ep, &[u - 1]);
        u += 1;
    }
    assert!(
        app.world().resource::<ModelCounters>().dream_ticks >= 3,
        "the dream restarted"
    );

    app.world_mut().write_message(ToggleDream);
    for _ in 0..5 {
        step(&mut app, camera, &ep, &[u - 1]);
        u += 1;
    }
    assert_eq!(
        *app.world().resource::<State<DreamMode>>().get(),
        DreamMode::Observing
    );
    let last = app
        .world()
        .resource::<Collected>()
        .scores
        .last()
        .cloned()
        .unwrap();
    assert!(!last.dreamed, "observing again");
}

#[test]
fn with_a_tick_rate_the_model_ticks_on_time_not_per_frame() {
    let (mut app, _camera) = app(WorldModelPlugin::default()
        .with_config(tiny_config())
        .with_tick_hz(10.0));
    // Two seconds at 60 fps.
    app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(
        Duration::from_secs_f64(1.0 / 60.0),
    ));
    for _ in 0..120 {
        app.update();
    }
    let clock = *app.world().resource::<ModelClock>();
    assert_eq!(clock.frames, 120);
    assert!(
        (19..=20).contains(&clock.tick),
        "{} ticks in 2 s",
        clock.tick
    );
}

/// Settings are live: a checkpoint directory set while the game runs is where the next save
/// without a path goes (the plugin reads `WorldModelSettings` at each use, never a copy).
#[test]
fn a_checkpoint_dir_changed_at_run_time_takes_effect_at_the_next_save() {
    let first = std::env::temp_dir().join(format!("wm-plugin-live-a-{}", std::process::id()));
    let second = std::env::temp_dir().join(format!("wm-plugin-live-b-{}", std::process::id()));
    let (mut app, camera) = app(WorldModelPlugin::default()
        .with_config(tiny_config())
        .with_checkpoint_dir(&first));
    with_collector(&mut app);
    app.update();
    let ep = episode(400, 13);
    let mut u = 2u64;
    for _ in 0..5 {
        step(&mut app, camera, &ep, &[u - 1]);
        u += 1;
    }
    app.world_mut()
        .resource_mut::<WorldModelSettings>()
        .checkpoint_dir = second.clone();
    app.world_mut().write_message(SaveCheckpoint(None));
    let saved = wait_for_save(&mut app, camera, &ep, &mut u);
    assert!(saved.starts_with(&second), "{}", saved.display());
    assert!(saved.is_file());
    assert!(!first.exists(), "nothing was saved to the old directory");
    std::fs::remove_dir_all(&second).ok();
}

//! The plugin in a headless `App`, driven with `App::update()`: frames are injected as
//! `FrameCaptured` messages (no GPU), with the lags and reordering real readbacks can have.

use std::time::{Duration, Instant};

use bevy::asset::AssetPlugin;
use bevy::image::ImagePlugin;
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy_world_model::world_model::synthetic::{ScrollWorld, WorldSpec};
use bevy_world_model::world_model::{
    DeviceChoice, Frame, Learner, Predictor, WorldModelConfig, compare,
};
use bevy_world_model::*;

const SIZE: usize = 16;

fn tiny_config() -> WorldModelConfig {
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
        ..Default::default()
    }
}

/// A headless app with the plugin and one tagged camera.
fn app(plugin: WorldModelPlugin) -> (App, Entity) {
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
struct Episode {
    frames: Vec<Frame>,
    actions: Vec<Vec<f32>>,
}

fn episode(ticks: usize, seed: u64) -> Episode {
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

fn captured(camera: Entity, tick: u64, frame: &Frame) -> FrameCaptured {
    FrameCaptured {
        camera,
        tick,
        frame: frame.clone(),
    }
}

/// One update at which the game sets the tick's action and frames `deliver` arrive.
fn step(app: &mut App, camera: Entity, ep: &Episode, deliver: &[u64]) {
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
struct Collected {
    scores: Vec<PredictionScored>,
    notices: Vec<WorldModelNotice>,
}

fn collect(
    mut c: ResMut<Collected>,
    mut scores: MessageReader<PredictionScored>,
    mut notices: MessageReader<WorldModelNotice>,
) {
    c.scores.extend(scores.read().cloned());
    c.notices.extend(notices.read().cloned());
}

fn with_collector(app: &mut App) {
    app.init_resource::<Collected>().add_systems(Last, collect);
}

/// Steps the app (one frame per update from update `u` on) until the trainer reports a save;
/// returns the saved file.
fn wait_for_save(app: &mut App, camera: Entity, ep: &Episode, u: &mut u64) -> std::path::PathBuf {
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

/// Pairing is exact even when readbacks arrive 2-5 ticks late and out of order: every
/// scored tick compares the prediction made for it with its own real frame, and the
/// baseline with the frame of the tick before.
#[test]
fn predictions_are_scored_against_the_frame_of_the_tick_they_predict() {
    let cfg = tiny_config();
    let (mut app, camera) = app(WorldModelPlugin::default()
        .with_config(cfg.clone())
        .with_learning(false));
    with_collector(&mut app);
    app.update(); // startup: tick 1
    let ep = episode(64, 7);
    // Tick t's frame arrives at update t + 2 or t + 3, pairs reversed; frame 20 comes after 21.
    for u in 2..62u64 {
        let deliver: Vec<u64> = match u {
            22 => vec![19],
            23 => vec![21],
            24 => vec![20, 22],
            u if u % 2 == 0 => [u.checked_sub(2), u.checked_sub(3)]
                .into_iter()
                .flatten()
                .filter(|t| *t >= 1)
                .collect(),
            _ => vec![],
        };
        step(&mut app, camera, &ep, &deliver);
    }
    let scores = std::mem::take(&mut app.world_mut().resource_mut::<Collected>().scores);
    assert!(scores.len() >= 50, "only {} ticks scored", scores.len());

    // An independent predictor with the same (untrained, seeded) weights.
    let device = bevy_world_model::world_model::Device::flex();
    let learner = Learner::new(cfg.clone(), &device).unwrap();
    let mut reference = Predictor::new(learner.inference_model(), cfg, device);
    let mut expected = std::collections::HashMap::new();
    reference.observe(&ep.frames[1], &ep.actions[1]).unwrap();
    for t in 1..60usize {
        let pred = reference.predict_next(&ep.actions[t + 1]).unwrap().unwrap();
        expected.insert(t as u64 + 1, compare(&pred, &ep.frames[t + 1]).unwrap());
        reference
            .observe(&ep.frames[t + 1], &ep.actions[t + 1])
            .unwrap();
    }
    let mut seen = std::collections::HashSet::new();
    for s in &scores {
        assert!(seen.insert(s.tick), "tick {} scored twice", s.tick);
        let t = s.tick as usize;
        let baseline = compare(&ep.frames[t - 1], &ep.frames[t]).unwrap();
        assert_eq!(s.baseline, baseline, "baseline of tick {t}");
        assert_eq!(
            Some(&s.model),
            expected.get(&s.tick),
            "model score of tick {t}"
        );
        assert!(!s.dreamed);
    }
    let out = app.world().resource::<ModelCounters>();
    assert_eq!(out.late_frames, 0);
    assert_eq!(out.sent, 0, "learning is off");
}

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
    // A slow training step (64 x 32 frames) so the trainer is busy while the bursts arrive.
    let cfg = WorldModelConfig {
        batch: 64,
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

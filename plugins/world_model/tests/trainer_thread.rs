//! The trainer thread: it learns from streamed steps, publishes snapshots and stats, never
//! blocks the sender, recovers from NaN, saves on request and stops cleanly.

mod common;

use std::time::{Duration, Instant};

use world_model::{
    Control, Device, Learner, StepOutcome, TrainerEvent, TrainerHandle, WorldModelConfig, synthetic,
};

fn tiny() -> WorldModelConfig {
    WorldModelConfig {
        min_frames: 8,
        snapshot_every: 2,
        ..common::tiny_config()
    }
}

fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// What a training program does at start (the trainer no longer does it itself).
fn as_a_training_program() {
    world_model::allocator::keep_freed_memory();
}

#[test]
fn streams_steps_publishes_snapshots_and_saves() {
    as_a_training_program();
    let handle = TrainerHandle::start(tiny(), &Device::flex()).unwrap();
    let data = synthetic::record(16, 2, 40, 4);
    let t = Instant::now();
    let mut accepted = 0;
    for s in data.iter().cycle().take(1000) {
        accepted += handle.send_step(s.clone()) as usize;
    }
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "sending 1000 steps must not wait on training"
    );
    assert!(
        accepted < 1000,
        "a full channel drops steps instead of blocking"
    );

    let snap =
        wait_for(Duration::from_secs(60), || handle.latest_snapshot()).expect("a snapshot arrives");
    assert!(snap.step >= 2);
    let stats = wait_for(Duration::from_secs(10), || {
        handle.latest_stats().filter(|s| s.step >= 2)
    })
    .expect("stats arrive");
    assert!(
        stats.loss.total.is_finite() && stats.loss.total > 0.0,
        "{stats:?}"
    );
    assert!(stats.frames_dropped > 0);
    assert!(stats.buffer_len > 0 && stats.buffer_len <= stats.buffer_capacity);

    let path = common::temp_path("thread.wmck");
    assert!(handle.control(Control::Save(path.clone())));
    let saved = wait_for(Duration::from_secs(30), || {
        handle
            .events()
            .into_iter()
            .find(|e| matches!(e, TrainerEvent::Saved(_)))
    });
    assert_eq!(saved, Some(TrainerEvent::Saved(path.clone())));
    assert!(path.exists());
    std::fs::remove_file(&path).unwrap();

    assert!(handle.control(Control::SetLearning(false)));
    handle.shutdown();
}

#[test]
fn bad_steps_are_reported_not_fatal() {
    as_a_training_program();
    let handle = TrainerHandle::start(tiny(), &Device::flex()).unwrap();
    let mut step = synthetic::record(8, 1, 1, 0).remove(0);
    step.action = vec![f32::NAN, 0.0, 0.0];
    handle.send_step(step);
    let event = wait_for(Duration::from_secs(10), || {
        handle.events().into_iter().next()
    });
    assert!(
        matches!(event, Some(TrainerEvent::BadStep(ref e)) if e.to_string().contains("8x8")),
        "{event:?}"
    );
    assert!(handle.is_running());
}

#[test]
fn nan_weights_skip_the_update_and_restore_the_last_good_ones() {
    let cfg = tiny();
    let mut learner = Learner::new(cfg, &Device::flex()).unwrap();
    for s in synthetic::record(16, 1, 40, 8) {
        learner.push(&s).unwrap();
    }
    assert!(matches!(learner.train_step(), StepOutcome::Updated(_)));
    learner.poison_for_test();
    let outcome = learner.train_step();
    assert!(
        matches!(outcome, StepOutcome::Skipped(r) if !r.loss.total.is_finite()),
        "{outcome:?}"
    );
    assert_eq!(learner.non_finite_steps(), 1);
    assert_eq!(learner.steps(), 1, "no update counted");
    let outcome = learner.train_step();
    assert!(
        matches!(outcome, StepOutcome::Updated(r) if r.loss.total.is_finite()),
        "training goes on with the restored weights: {outcome:?}"
    );
}

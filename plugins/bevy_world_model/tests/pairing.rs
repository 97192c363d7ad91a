//! Exact pairing, in a process of its own: the test compares the plugin's predictions with
//! an independent predictor built from the same seed, and Burn's device RNG is shared by
//! every learner a process creates (a concurrent test's would draw from it in between).

use bevy::prelude::*;
use bevy_world_model::world_model::{Learner, Predictor, compare};
use bevy_world_model::*;

mod common;
use common::*;

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

//! Rewards and episode ends reported through `WorldModelReward` are paired with ticks as
//! exactly as frames and actions: the reward paid before tick t's frame is tick t's, the
//! frame after an episode's end starts a new one, and the recording holds both.

use bevy::prelude::*;
use bevy_world_model::world_model::Dataset;
use bevy_world_model::*;

mod common;
use common::*;

/// What the game pays for arriving at tick `t`, and how the episode ends there.
fn outcome(t: u64) -> (f32, Option<EpisodeEnd>) {
    let reward = if t.is_multiple_of(7) {
        t as f32 * 0.1
    } else {
        0.0
    };
    let end = match t {
        10 => Some(EpisodeEnd::Terminal),
        20 => Some(EpisodeEnd::Truncated),
        _ => None,
    };
    (reward, end)
}

#[test]
fn rewards_and_episode_ends_belong_to_their_tick() {
    let path = std::env::temp_dir().join(format!("wm-rewards-{}.wmds", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let (mut app, camera) = app(WorldModelPlugin::default()
        .with_config(tiny_config())
        .with_learning(false)
        .with_recording(&path));
    app.init_resource::<Scored>().add_systems(
        Last,
        |mut s: ResMut<Scored>, mut m: MessageReader<RewardScored>| {
            s.0.extend(m.read().copied());
        },
    );
    app.world_mut()
        .entity_mut(camera)
        .insert(WorldModelReward::default());
    app.update(); // startup: tick 1 (nothing was paid before the first frame)
    let ep = episode(40, 3);
    for u in 2..32u64 {
        // The game pays in two parts during the frame of tick u; the plugin adds them up.
        let (reward, end) = outcome(u);
        {
            let mut e = app.world_mut().entity_mut(camera);
            let mut r = e.get_mut::<WorldModelReward>().unwrap();
            r.pay(reward * 0.25);
            r.pay(reward * 0.75);
            r.pay(f32::NAN); // ignored
            r.end = end;
        }
        // Frames arrive one tick late.
        step(&mut app, camera, &ep, &[u - 1]);
    }
    app.world_mut().write_message(FinishRecording);
    app.update();

    let steps = Dataset::load(&path).unwrap().steps;
    assert!(steps.len() >= 28, "{} steps recorded", steps.len());
    for s in &steps {
        let (reward, end) = if s.tick == 1 {
            (0.0, None)
        } else {
            outcome(s.tick)
        };
        assert!(
            (s.reward - reward).abs() < 1e-6,
            "tick {}: {}",
            s.tick,
            s.reward
        );
        assert_eq!(
            s.terminal,
            end == Some(EpisodeEnd::Terminal),
            "tick {}",
            s.tick
        );
        let starts = matches!(s.tick, 1 | 11 | 21);
        assert_eq!(s.first, starts, "tick {} first", s.tick);
    }
    std::fs::remove_file(&path).unwrap();

    let episodes = app.world().resource::<Episodes>();
    assert_eq!((episodes.ended, episodes.terminal), (2, 1));
    let returns: Vec<(f32, u64)> = episodes.recent.iter().map(|(r, n, _)| (*r, *n)).collect();
    // Ticks 1-10 pay 0.7 (tick 7); ticks 11-20 pay 1.4 (tick 14).
    assert_eq!(returns.len(), 2);
    assert!(
        (returns[0].0 - 0.7).abs() < 1e-5 && returns[0].1 == 10,
        "{returns:?}"
    );
    assert!(
        (returns[1].0 - 1.4).abs() < 1e-5 && returns[1].1 == 10,
        "{returns:?}"
    );

    // Every tick but an episode's first is scored against the prediction made for it; a
    // fresh reward head predicts exactly 0.
    let scored = &app.world().resource::<Scored>().0;
    let ticks: Vec<u64> = scored.iter().map(|s| s.tick).collect();
    assert!(!ticks.contains(&11) && !ticks.contains(&21), "{ticks:?}");
    assert!(ticks.contains(&10) && ticks.contains(&14), "{ticks:?}");
    for s in scored {
        assert_eq!((s.reward, s.end), outcome(s.tick), "tick {}", s.tick);
        assert_eq!(s.predicted.reward, 0.0);
        assert!(s.predicted.cont > 0.0 && s.predicted.cont < 1.0);
    }
}

#[derive(Resource, Default)]
struct Scored(Vec<RewardScored>);

/// With an agent in the config, every processed frame publishes the agent's decision on its
/// posterior rolled forward to the present tick: one probability per action, summing to one;
/// without one, nothing is published.
#[test]
fn the_agent_decides_on_every_real_frame() {
    let cfg = bevy_world_model::world_model::WorldModelConfig {
        agent: bevy_world_model::world_model::AgentConfig {
            actions: vec![vec![1.0, 0.0, 0.0], vec![0.0, 0.0, 1.0]],
            hidden: 8,
            ..Default::default()
        },
        ..tiny_config()
    };
    for (cfg, has_agent) in [(cfg, true), (tiny_config(), false)] {
        let (mut app, camera) = app(WorldModelPlugin::default()
            .with_config(cfg)
            .with_learning(false));
        app.update();
        let ep = episode(12, 4);
        for u in 2..10u64 {
            step(&mut app, camera, &ep, &[u - 1]);
        }
        let policy = app.world().resource::<AgentPolicy>();
        if has_agent {
            // The newest frame processed is tick 8's; the decision is rolled forward
            // through the action taken since, to the present tick.
            assert_eq!(policy.tick, 9, "decided for the present");
            assert_eq!(policy.probs.len(), 2);
            assert!((policy.probs.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert!(policy.value.is_finite() && !policy.dreamed);
        } else {
            assert_eq!(*policy, AgentPolicy::default());
        }
    }
}

//! The game plays a level's task once per model tick: reaching the goal pays +1 and ends the
//! episode as terminal on that tick, the agent reappears at the start on the next with the
//! goal placed again, and standing still until the time limit truncates.

mod common;

use bevy::prelude::*;
use bevy_procgen::{CurrentLevel, CurrentTask, generate::load_level};
use bevy_world_model::{EpisodeEnd, ModelClock, WorldModelReward};
use mini_dreamer::agent::Agent;
use mini_dreamer::task::{EpisodeEnded, TaskPlugin};

#[derive(Resource, Default)]
struct Ended(Vec<EpisodeEnded>);

fn app() -> App {
    let mut spec = load_level(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/levels/arena.level.ron"
    )))
    .unwrap();
    // The goal's reward alone (arena's shaping is TaskRun's, tested in bevy_procgen).
    if let Some(task) = spec.task.as_mut() {
        task.shaping = None;
    }
    let agent = (Agent::default(), WorldModelReward::default());
    let mut app = common::walking_app_with(spec, 5, agent, |app| {
        app.init_resource::<ModelClock>()
            .init_resource::<Ended>()
            .add_plugins(TaskPlugin)
            .add_systems(
                Last,
                |mut e: ResMut<Ended>, mut m: MessageReader<EpisodeEnded>| {
                    e.0.extend(m.read().copied());
                },
            );
    });
    app.update(); // the level spawns, the agent is placed
    app
}

/// One model tick: the clock advances, the app updates, and what the tick paid is taken
/// (as the world-model plugin does).
fn tick(app: &mut App) -> WorldModelReward {
    app.world_mut().resource_mut::<ModelClock>().tick += 1;
    app.update();
    let world = app.world_mut();
    let mut q = world.query::<&mut WorldModelReward>();
    std::mem::take(&mut *q.single_mut(world).unwrap())
}

fn agent(app: &mut App) -> Mut<'_, Transform> {
    let world = app.world_mut();
    let mut q = world.query_filtered::<&mut Transform, With<Agent>>();
    q.single_mut(world).unwrap()
}

#[test]
fn reaching_the_goal_pays_ends_and_respawns() {
    let mut app = app();
    assert_eq!(
        tick(&mut app),
        WorldModelReward::default(),
        "nothing paid at the start"
    );
    let (goal, start) = {
        let task = app.world().resource::<CurrentTask>();
        let level = app.world().resource::<CurrentLevel>();
        let goal = level.cell_center(task.run.goals()[0].cell);
        (goal, level.cell_center(level.grid.start()))
    };
    agent(&mut app).translation = goal + Vec3::Y * Agent::default().eye_height;
    let paid = tick(&mut app);
    assert_eq!(paid.reward, 1.0);
    assert_eq!(paid.end, Some(EpisodeEnd::Terminal));
    let ended = app.world().resource::<Ended>().0.clone();
    assert_eq!(ended.len(), 1);
    // Ticks 0 (the level's first update), 1 and 2 were played.
    assert!(ended[0].success && ended[0].episode == 0, "{ended:?}");
    assert_eq!(ended[0].ticks, 3);
    assert_eq!(ended[0].episode_return, 1.0);

    // The next tick starts the next episode at the start, paying nothing.
    assert_eq!(tick(&mut app), WorldModelReward::default());
    let pos = agent(&mut app).translation;
    assert!(
        (pos.xz() - start.xz()).length() < 1e-4,
        "respawned at {pos}"
    );
    assert_eq!(app.world().resource::<CurrentTask>().run.episode(), 1);

    // Standing still until the time limit: truncated, not terminal, nothing paid.
    let limit = app.world().resource::<CurrentTask>().run.spec().time_limit;
    let mut last = WorldModelReward::default();
    for _ in 0..limit {
        last = tick(&mut app);
        if last.end.is_some() {
            break;
        }
        assert_eq!(last.reward, 0.0);
    }
    assert_eq!(last.end, Some(EpisodeEnd::Truncated));
    let ended = app.world().resource::<Ended>().0.clone();
    assert_eq!(ended.len(), 2);
    assert!(!ended[1].success && ended[1].ticks == limit);
}

//! The plugin spawns levels as entities: the same seed gives the same grid, the same spawned
//! transforms and the same meshes; a broken request keeps the old level; a level's task
//! comes with it, and its goal entities follow the task.

use bevy::prelude::*;
use bevy_procgen::{
    CurrentLevel, CurrentTask, Fnv1a, GoalMarker, LevelEvent, LevelRoot, LevelSpec, LoadLevel,
    ProcgenPlugin, TaskKind, TaskSpec,
};

fn app(seed: u64) -> App {
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, AssetPlugin::default(), TransformPlugin))
        .init_asset::<Mesh>()
        .init_asset::<StandardMaterial>()
        .add_plugins(ProcgenPlugin::new(LevelSpec::default()).with_seed(seed));
    app.finish();
    app.cleanup();
    app.update();
    app.update();
    app
}

/// Hash of every spawned level entity's transform and mesh vertex positions.
fn fingerprint(app: &mut App) -> (u64, u64) {
    let grid_hash = app.world().resource::<CurrentLevel>().grid.hash();
    let world = app.world_mut();
    let mut entries: Vec<(String, [f32; 3], u64)> = Vec::new();
    let mut q = world.query::<(&Name, &GlobalTransform, &Mesh3d)>();
    let meshes = world.resource::<Assets<Mesh>>();
    for (name, t, mesh) in q.iter(world) {
        let mesh = meshes.get(&mesh.0).expect("mesh exists");
        let pos = mesh
            .attribute(Mesh::ATTRIBUTE_POSITION)
            .and_then(|a| a.as_float3())
            .expect("positions");
        let mut h = Fnv1a::default();
        for p in pos.iter().flatten() {
            h.write(&p.to_le_bytes());
        }
        entries.push((name.to_string(), t.translation().to_array(), h.finish()));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(entries.len(), 3, "walls, floor and ceiling: {entries:?}");
    let mut h = Fnv1a::default();
    for (name, t, mh) in &entries {
        h.write(name.as_bytes());
        t.iter().for_each(|v| h.write(&v.to_le_bytes()));
        h.write(&mh.to_le_bytes());
    }
    (grid_hash, h.finish())
}

#[test]
fn same_seed_same_level_entities() {
    let a = fingerprint(&mut app(11));
    let b = fingerprint(&mut app(11));
    let c = fingerprint(&mut app(12));
    assert_eq!(a, b, "same seed, same grid and same spawned walls");
    assert_ne!(a.0, c.0, "another seed, another grid");
    assert_ne!(a.1, c.1, "another seed, other wall meshes");
}

#[test]
fn broken_level_request_keeps_the_old_level() {
    let mut app = app(1);
    let before = app.world().resource::<CurrentLevel>().grid.hash();
    app.world_mut().write_message(LoadLevel {
        spec: LevelSpec {
            layout: Some(vec![
                "###".into(),
                "#S#".into(),
                "#.#".into(),
                "###".into(),
                "#.#".into(),
            ]),
            ..Default::default()
        },
        seed: 0,
    });
    app.update();
    let events: Vec<LevelEvent> = app
        .world_mut()
        .resource_mut::<Messages<LevelEvent>>()
        .drain()
        .collect();
    assert!(
        events.iter().any(|e| matches!(e, LevelEvent::Failed(err) if err.to_string().contains("cannot be reached"))),
        "{events:?}"
    );
    assert_eq!(app.world().resource::<CurrentLevel>().grid.hash(), before);
    let roots = app
        .world_mut()
        .query_filtered::<Entity, With<LevelRoot>>()
        .iter(app.world())
        .count();
    assert_eq!(roots, 1, "the old level is still spawned");
}

/// A small open room with three pickups.
fn task_level() -> LevelSpec {
    LevelSpec {
        name: "pickups".into(),
        layout: Some(vec![
            "#######".into(),
            "#S....#".into(),
            "#.....#".into(),
            "#######".into(),
        ]),
        task: Some(TaskSpec {
            kind: TaskKind::Collect {
                count: 3,
                radius: 0.5,
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The goal entities: index, visibility, world position and parent, by index.
fn goal_entities(app: &mut App) -> Vec<(usize, Visibility, Vec3, Entity)> {
    let world = app.world_mut();
    let mut q = world.query::<(&GoalMarker, &Visibility, &Transform, &ChildOf)>();
    let mut goals: Vec<_> = q
        .iter(world)
        .map(|(m, v, t, parent)| (m.index, *v, t.translation, parent.parent()))
        .collect();
    goals.sort_by_key(|g| g.0);
    goals
}

#[test]
fn goal_entities_follow_the_task() {
    let mut app = app(1);
    assert!(
        app.world().get_resource::<CurrentTask>().is_none(),
        "the default level has no task"
    );
    app.world_mut().write_message(LoadLevel {
        spec: task_level(),
        seed: 3,
    });
    app.update();
    let level = app.world().resource::<CurrentLevel>().clone();
    let task = app.world().resource::<CurrentTask>().clone();
    assert_eq!(task.generation, level.generation, "the task of this level");
    assert_eq!(task.run.goals().len(), 3);
    let root = app
        .world_mut()
        .query_filtered::<Entity, With<LevelRoot>>()
        .single(app.world())
        .expect("one level root");
    let goals = goal_entities(&mut app);
    assert_eq!(goals.len(), 3, "{goals:?}");
    for (i, (index, visibility, at, parent)) in goals.iter().enumerate() {
        assert_eq!(*index, i);
        assert_eq!(*visibility, Visibility::Inherited, "goal {i} shown");
        assert_eq!(*parent, root, "goal {i} goes with the level");
        let centre = level.cell_center(task.run.goals()[i].cell);
        assert_eq!((at.x, at.z), (centre.x, centre.z), "goal {i} on its cell");
    }

    // The game takes pickup 1: it is hidden, the others stay.
    let cell = task.run.goals()[1].cell;
    let step = app
        .world_mut()
        .resource_mut::<CurrentTask>()
        .run
        .step(cell.as_vec2() + Vec2::splat(0.5));
    assert_eq!(step.reward, 1.0);
    app.update();
    let shown: Vec<Visibility> = goal_entities(&mut app).iter().map(|g| g.1).collect();
    assert_eq!(
        shown,
        [
            Visibility::Inherited,
            Visibility::Hidden,
            Visibility::Inherited
        ]
    );

    // A new episode: three goals again, all shown, where the run now puts them.
    app.world_mut()
        .resource_mut::<CurrentTask>()
        .run
        .next_episode();
    app.update();
    let run = app.world().resource::<CurrentTask>().run.clone();
    let goals = goal_entities(&mut app);
    assert_eq!(
        goals.len(),
        3,
        "the old episode's goals are gone: {goals:?}"
    );
    for (i, (_, visibility, at, _)) in goals.iter().enumerate() {
        assert_eq!(*visibility, Visibility::Inherited);
        let centre = level.cell_center(run.goals()[i].cell);
        assert_eq!((at.x, at.z), (centre.x, centre.z));
    }

    // A level without a task: no task, no goals.
    app.world_mut().write_message(LoadLevel {
        spec: LevelSpec::default(),
        seed: 3,
    });
    app.update();
    assert!(app.world().get_resource::<CurrentTask>().is_none());
    assert!(goal_entities(&mut app).is_empty());
}

#[test]
fn a_level_sets_the_field_of_view_and_the_next_one_gives_it_back() {
    let mut app = app(1);
    let game_fov = 75f32.to_radians();
    let camera = app
        .world_mut()
        .spawn((
            Camera3d::default(),
            Projection::Perspective(PerspectiveProjection {
                fov: game_fov,
                ..default()
            }),
        ))
        .id();
    let fov = |app: &App| match app.world().get::<Projection>(camera) {
        Some(Projection::Perspective(p)) => p.fov,
        other => panic!("not a perspective camera: {other:?}"),
    };
    app.update();
    assert_eq!(
        fov(&app),
        game_fov,
        "the default level leaves the view alone"
    );
    let wide = LevelSpec {
        field_of_view: Some(120.0),
        ..Default::default()
    };
    app.world_mut().write_message(LoadLevel {
        spec: wide,
        seed: 0,
    });
    app.update();
    app.update();
    assert!(
        (fov(&app) - 120f32.to_radians()).abs() < 1e-6,
        "{}",
        fov(&app)
    );
    app.world_mut().write_message(LoadLevel {
        spec: LevelSpec::default(),
        seed: 0,
    });
    app.update();
    app.update();
    assert_eq!(fov(&app), game_fov, "a level without a view gives it back");
}

/// Only an edit of the level in play (same name and seed, new contents) is a reload that lets
/// players keep their place; the same level asked for again, or on another seed, starts afresh.
#[test]
fn only_an_edited_level_counts_as_reloaded() {
    let mut app = app(5);
    let load = |app: &mut App, spec: LevelSpec, seed: u64| {
        app.world_mut().write_message(LoadLevel { spec, seed });
        app.update();
        let level = app.world().resource::<CurrentLevel>();
        (level.generation, level.reloaded)
    };
    let start = app.world().resource::<CurrentLevel>().generation;
    assert_eq!(load(&mut app, LevelSpec::default(), 5), (start + 1, false));
    assert_eq!(load(&mut app, LevelSpec::default(), 6), (start + 2, false));
    let edited = LevelSpec {
        width: LevelSpec::default().width + 2,
        ..LevelSpec::default()
    };
    assert_eq!(load(&mut app, edited, 6), (start + 3, true));
}

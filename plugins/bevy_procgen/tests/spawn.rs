//! The plugin spawns levels as entities: the same seed gives the same grid, the same spawned
//! transforms and the same meshes; a broken request keeps the old level.

use bevy::prelude::*;
use bevy_procgen::{
    CurrentLevel, Fnv1a, LevelEvent, LevelRoot, LevelSpec, LoadLevel, ProcgenPlugin,
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

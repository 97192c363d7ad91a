//! [`ProcgenPlugin`]: turns a [`LevelSpec`] into world entities and keeps the level's grid
//! as a resource for collision and the minimap.

use bevy::math::{IVec2, Vec2, Vec3};
use bevy::prelude::*;

use crate::grid::Grid;
use crate::mesh;
use crate::spec::{LevelError, LevelSpec};

/// Adds procedural levels to an app.
///
/// The first level is spawned at startup from the spec and seed given here; send
/// [`LoadLevel`] to replace it at run time. Needs `Assets<Mesh>` and
/// `Assets<StandardMaterial>` (present with `DefaultPlugins`).
#[derive(Clone, Debug, Default)]
pub struct ProcgenPlugin {
    spec: LevelSpec,
    seed: u64,
}

impl ProcgenPlugin {
    /// A plugin that spawns `spec` at startup.
    #[must_use]
    pub fn new(spec: LevelSpec) -> Self {
        Self { spec, seed: 0 }
    }

    /// Seed used when the spec has none.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// Ordering hooks, all in `Update`.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProcgenSystems {
    /// Despawns the old level and spawns a requested one. Gameplay that reads
    /// [`CurrentLevel`] should run after it.
    Spawn,
}

/// The level in play: its spec, grid and seed. Replaced whole when a new level spawns.
#[derive(Resource, Clone, Debug)]
pub struct CurrentLevel {
    /// The spec it was built from.
    pub spec: LevelSpec,
    /// Walls and open cells.
    pub grid: Grid,
    /// Seed actually used.
    pub seed: u64,
    /// Counts spawned levels, so systems can notice a change.
    pub generation: u64,
}

impl CurrentLevel {
    /// World position (y = 0) of the centre of `cell`.
    pub fn cell_center(&self, cell: IVec2) -> Vec3 {
        let cs = self.spec.cell_size;
        Vec3::new((cell.x as f32 + 0.5) * cs, 0.0, (cell.y as f32 + 0.5) * cs)
    }

    /// Yaw (radians about +Y; 0 looks along -Z) that faces the longest open run of cells from
    /// the start, so the first view is down a corridor rather than into a wall.
    pub fn start_yaw(&self) -> f32 {
        use std::f32::consts::{FRAC_PI_2, PI};
        let start = self.grid.start();
        let run = |dir: IVec2| {
            (1..)
                .take_while(|k| !self.grid.is_wall(start + dir * *k))
                .count()
        };
        [
            (IVec2::NEG_Y, 0.0),
            (IVec2::NEG_X, FRAC_PI_2),
            (IVec2::Y, PI),
            (IVec2::X, -FRAC_PI_2),
        ]
        .into_iter()
        .max_by_key(|(dir, _)| run(*dir))
        .map_or(0.0, |(_, yaw)| yaw)
    }

    /// World x/z to continuous cell coordinates.
    pub fn world_to_cells(&self, pos: Vec3) -> Vec2 {
        Vec2::new(pos.x, pos.z) / self.spec.cell_size
    }

    /// Moves a circle of `radius` world units at `pos` by `delta` (x/z), sliding along walls.
    pub fn slide(&self, pos: Vec3, delta: Vec2, radius: f32) -> Vec3 {
        let cs = self.spec.cell_size;
        let p = self
            .grid
            .slide(self.world_to_cells(pos), delta / cs, radius / cs)
            * cs;
        Vec3::new(p.x, pos.y, p.y)
    }
}

/// Root entity of a spawned level; everything of the level is its child.
#[derive(Component, Debug)]
pub struct LevelRoot;

/// Marks the entity the minimap follows (position and heading).
#[derive(Component, Debug, Default)]
pub struct MinimapFocus;

/// Request to replace the level.
#[derive(Message, Clone, Debug)]
pub struct LoadLevel {
    /// What to build.
    pub spec: LevelSpec,
    /// Seed used when the spec has none.
    pub seed: u64,
}

/// Sent after a level spawned, or when a requested one could not be built (the old level
/// stays in play).
#[derive(Message, Clone, Debug)]
pub enum LevelEvent {
    /// A level is now in play.
    Spawned {
        /// Its name.
        name: String,
        /// [`Grid::hash`] of its layout.
        grid_hash: u64,
    },
    /// The request was rejected.
    Failed(LevelError),
}

impl Plugin for ProcgenPlugin {
    fn build(&self, app: &mut App) {
        // Messages
        app.add_message::<LoadLevel>().add_message::<LevelEvent>();
        // Systems
        let initial = LoadLevel {
            spec: self.spec.clone(),
            seed: self.seed,
        };
        app.add_systems(Startup, move |mut writer: MessageWriter<LoadLevel>| {
            writer.write(initial.clone());
        })
        .add_systems(Update, spawn_requested_level.in_set(ProcgenSystems::Spawn));
    }
}

fn spawn_requested_level(
    mut commands: Commands,
    mut requests: MessageReader<LoadLevel>,
    mut events: MessageWriter<LevelEvent>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    old: Query<Entity, With<LevelRoot>>,
    current: Option<Res<CurrentLevel>>,
) {
    let Some(request) = requests.read().last().cloned() else {
        return;
    };
    let seed = request.spec.seed.unwrap_or(request.seed);
    let grid = match Grid::from_spec(&request.spec, seed) {
        Ok(g) => g,
        Err(e) => {
            error!("{e}; keeping the current level");
            events.write(LevelEvent::Failed(e));
            return;
        }
    };
    for e in &old {
        commands.entity(e).despawn();
    }
    let built = mesh::build(&grid, &request.spec, seed);
    let material = materials.add(StandardMaterial {
        base_color: Color::WHITE,
        unlit: true,
        ..default()
    });
    commands
        .spawn((
            LevelRoot,
            Name::new(format!("Level {}", request.spec.name)),
            Transform::default(),
            Visibility::default(),
        ))
        .with_children(|root| {
            for (name, data) in [
                ("Walls", built.walls),
                ("Floor", built.floor),
                ("Ceiling", built.ceiling),
            ] {
                root.spawn((
                    Name::new(name),
                    Mesh3d(meshes.add(data.into_mesh())),
                    MeshMaterial3d(material.clone()),
                    Transform::default(),
                ));
            }
        });
    info!(
        "level '{}' {}x{} seed {seed} (grid hash {:016x})",
        request.spec.name,
        grid.width(),
        grid.height(),
        grid.hash()
    );
    events.write(LevelEvent::Spawned {
        name: request.spec.name.clone(),
        grid_hash: grid.hash(),
    });
    commands.insert_resource(CurrentLevel {
        spec: request.spec,
        grid,
        seed,
        generation: current.map_or(1, |c| c.generation + 1),
    });
}

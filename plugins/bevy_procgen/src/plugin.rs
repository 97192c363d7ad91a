//! [`ProcgenPlugin`]: turns a [`LevelSpec`] into world entities and keeps the level's grid
//! as a resource for collision and the minimap, and its task ([`CurrentTask`]) with the
//! entities that show its goals.

use bevy::math::{IVec2, Vec2, Vec3};
use bevy::prelude::*;

use bevy::asset::{AssetLoadError, AssetLoadFailedEvent};
use bevy::pbr::{DistanceFog, FogFalloff};

use crate::asset::{LevelAsset, LevelLoader};
use crate::grid::Grid;
use crate::mesh;
use crate::spec::{LevelError, LevelSpec, Rgb};
use crate::task::{GoalKind, TaskRun};

/// Adds procedural levels to an app.
///
/// The first level is spawned at startup from the spec and seed given here (or, with
/// [`ProcgenPlugin::from_file`], once its file has loaded); send [`LoadLevel`] or
/// [`LoadLevelFile`] to replace it at run time. A level that came from a file is rebuilt
/// when the file changes (with Bevy's `file_watcher` feature). Needs `AssetPlugin`,
/// `Assets<Mesh>` and `Assets<StandardMaterial>` (present with `DefaultPlugins`).
#[derive(Clone, Debug, Default)]
pub struct ProcgenPlugin {
    spec: Option<LevelSpec>,
    file: Option<String>,
    seed: u64,
}

impl ProcgenPlugin {
    /// A plugin that spawns `spec` at startup.
    #[must_use]
    pub fn new(spec: LevelSpec) -> Self {
        Self {
            spec: Some(spec),
            file: None,
            seed: 0,
        }
    }

    /// A plugin that loads the level file at `path` (an asset path such as
    /// `levels/maze.level.ron`) and keeps it in play as the file changes.
    #[must_use]
    pub fn from_file(path: impl Into<String>) -> Self {
        Self {
            spec: None,
            file: Some(path.into()),
            seed: 0,
        }
    }

    /// Also watch this file (asset path): the level, spawned at once from the spec given to
    /// [`ProcgenPlugin::new`], is rebuilt whenever the file changes.
    #[must_use]
    pub fn watching(mut self, path: impl Into<String>) -> Self {
        self.file = Some(path.into());
        self
    }

    /// Seed used when the spec has none.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// Ordering hooks, all in `Update`, in this order.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProcgenSystems {
    /// Despawns the old level and spawns a requested one. Gameplay that reads
    /// [`CurrentLevel`] should run after it.
    Spawn,
    /// Keeps the goal entities ([`GoalMarker`]) in step with [`CurrentTask`]: respawned when
    /// the episode or the level changes, hidden when taken. Runs after
    /// [`ProcgenSystems::Spawn`]; a game that steps the task in `Update` should do so before
    /// it, so a taken goal disappears in the same frame.
    Goals,
}

/// Height of a Reach goal's column (metres): above the agent's eyes (1.2), so it shows over
/// crates and is seen from afar.
const GOAL_HEIGHT: f32 = 1.6;
/// Side of a pickup's cube, in cells.
const PICKUP_SIZE: f32 = 0.3;
/// Height of a pickup's centre (metres): a little below the agent's eyes, in view ahead.
const PICKUP_HEIGHT: f32 = 0.9;

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
    /// True when this level replaced itself with new contents (same name and seed: its file
    /// was edited): players should stay where they are when they can. Loading the same level
    /// again, or on another seed, is a fresh start.
    pub reloaded: bool,
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

/// The task of the level in play, when it has one: inserted when such a level spawns (a new
/// run, in its first episode), removed when a level without one does. The game plays it
/// through `ResMut<CurrentTask>` ([`TaskRun::step`], [`TaskRun::next_episode`]); the plugin
/// only shows its goals.
#[derive(Resource, Clone, Debug)]
pub struct CurrentTask {
    /// Goals, ticks and episodes.
    pub run: TaskRun,
    /// The [`CurrentLevel::generation`] it belongs to.
    pub generation: u64,
}

/// A visible goal or pickup of [`CurrentTask`], a child of the [`LevelRoot`]; hidden once
/// taken.
#[derive(Component, Clone, Copy, Debug)]
pub struct GoalMarker {
    /// Its index in [`TaskRun::goals`].
    pub index: usize,
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

/// Request to load a level file (asset path, e.g. `levels/caves.level.ron`) and keep it in play,
/// rebuilt whenever the file changes.
#[derive(Message, Clone, Debug)]
pub struct LoadLevelFile {
    /// Asset path of the file.
    pub path: String,
    /// Seed used when the file has none.
    pub seed: u64,
}

/// The level file being watched, if the level in play came from one.
#[derive(Resource, Clone, Debug, Default)]
pub struct WatchedLevel {
    /// Asset path of the file.
    pub path: Option<String>,
    handle: Option<Handle<LevelAsset>>,
    seed: u64,
    /// The asset version already turned into a level.
    applied: bool,
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
        // Assets and messages
        app.init_asset::<LevelAsset>()
            .init_asset_loader::<LevelLoader>()
            .init_resource::<WatchedLevel>()
            .add_message::<LoadLevel>()
            .add_message::<LoadLevelFile>()
            .add_message::<LevelEvent>();
        // Systems
        let initial = self.spec.clone().map(|spec| LoadLevel {
            spec,
            seed: self.seed,
        });
        let file = self.file.clone().map(|path| LoadLevelFile {
            path,
            seed: self.seed,
        });
        app.add_systems(
            Startup,
            move |mut levels: MessageWriter<LoadLevel>,
                  server: Option<Res<AssetServer>>,
                  mut watched: ResMut<WatchedLevel>| {
                if let Some(initial) = &initial {
                    levels.write(initial.clone());
                }
                if let (Some(file), Some(server)) = (&file, &server) {
                    watch(&mut watched, server, file);
                    // The level above is already this file's: only changes need applying.
                    watched.applied = initial.is_some();
                }
            },
        )
        .add_systems(
            Update,
            (
                load_requested_files,
                apply_level_files,
                spawn_requested_level,
                apply_fog,
                apply_field_of_view,
            )
                .chain()
                .in_set(ProcgenSystems::Spawn),
        )
        .configure_sets(Update, ProcgenSystems::Goals.after(ProcgenSystems::Spawn))
        .add_systems(Update, sync_goals.in_set(ProcgenSystems::Goals));
    }
}

fn watch(watched: &mut WatchedLevel, server: &AssetServer, request: &LoadLevelFile) {
    *watched = WatchedLevel {
        path: Some(request.path.clone()),
        handle: Some(server.load(request.path.clone())),
        seed: request.seed,
        applied: false,
    };
}

fn load_requested_files(
    mut requests: MessageReader<LoadLevelFile>,
    server: Res<AssetServer>,
    mut watched: ResMut<WatchedLevel>,
) {
    if let Some(request) = requests.read().last() {
        watch(&mut watched, &server, request);
    }
}

/// Turns the watched file into a level when it loads or changes; reports a file that fails
/// to load (the level in play stays).
fn apply_level_files(
    mut watched: ResMut<WatchedLevel>,
    mut asset_events: MessageReader<AssetEvent<LevelAsset>>,
    mut failures: MessageReader<AssetLoadFailedEvent<LevelAsset>>,
    assets: Res<Assets<LevelAsset>>,
    mut levels: MessageWriter<LoadLevel>,
    mut events: MessageWriter<LevelEvent>,
) {
    let Some(id) = watched.handle.as_ref().map(Handle::id) else {
        asset_events.clear();
        failures.clear();
        return;
    };
    for failure in failures.read().filter(|f| f.id == id) {
        let error = load_failure(&failure.error);
        error!("{error}; keeping the current level");
        events.write(LevelEvent::Failed(error));
    }
    let mut changed = false;
    for event in asset_events.read() {
        match event {
            AssetEvent::LoadedWithDependencies { id: e } if *e == id => {
                changed |= !watched.applied;
            }
            AssetEvent::Modified { id: e } if *e == id => changed = true,
            _ => {}
        }
    }
    if changed && let Some(asset) = assets.get(id) {
        watched.applied = true;
        info!(
            "level file {} loaded",
            watched.path.as_deref().unwrap_or("?")
        );
        levels.write(LoadLevel {
            spec: asset.0.clone(),
            seed: watched.seed,
        });
    }
}

/// The [`LevelError`] behind a failed load of a level file: the loader's own, as it was
/// returned (it names the file, the line and the problem), when the loader ran; else the
/// asset server's message (a missing file, no loader), first line only, since a Bevy error's
/// text may carry a backtrace.
fn load_failure(error: &AssetLoadError) -> LevelError {
    if let AssetLoadError::AssetLoaderError(loader) = error
        && let Some(level) = loader.error().downcast_ref::<LevelError>()
    {
        return level.clone();
    }
    let text = error.to_string();
    LevelError::Rejected(text.lines().next().unwrap_or_default().trim().to_string())
}

/// Distance fog on every 3D camera, as the level asks.
fn apply_fog(
    mut commands: Commands,
    level: Option<Res<CurrentLevel>>,
    cameras: Query<(Entity, Has<DistanceFog>), With<Camera3d>>,
    new_cameras: Query<Entity, Added<Camera3d>>,
) {
    let Some(level) = level else {
        return;
    };
    if !level.is_changed() && new_cameras.is_empty() {
        return;
    }
    for (camera, has_fog) in &cameras {
        match &level.spec.fog {
            Some(fog) => {
                let (r, g, b) = level.spec.palette.fog;
                commands.entity(camera).insert(DistanceFog {
                    color: Color::srgb(r, g, b),
                    falloff: FogFalloff::Linear {
                        start: fog.start,
                        end: fog.end,
                    },
                    ..default()
                });
            }
            None if has_fog => {
                commands.entity(camera).remove::<DistanceFog>();
            }
            None => {}
        }
    }
}

/// The field of view a camera had before a level set its own, given back when a level
/// without one is played.
#[derive(Component, Clone, Copy, Debug)]
struct GameFieldOfView(f32);

/// The level's `field_of_view` on every 3D perspective camera (radians in Bevy, degrees in
/// the file); a level without one gives each camera back the view the game gave it.
fn apply_field_of_view(
    mut commands: Commands,
    level: Option<Res<CurrentLevel>>,
    mut cameras: Query<(Entity, &mut Projection, Option<&GameFieldOfView>), With<Camera3d>>,
    new_cameras: Query<Entity, Added<Camera3d>>,
) {
    let Some(level) = level else {
        return;
    };
    if !level.is_changed() && new_cameras.is_empty() {
        return;
    }
    for (camera, mut projection, game) in &mut cameras {
        let Projection::Perspective(perspective) = projection.as_mut() else {
            continue;
        };
        match (level.spec.field_of_view, game) {
            (Some(degrees), _) => {
                if game.is_none() {
                    commands
                        .entity(camera)
                        .insert(GameFieldOfView(perspective.fov));
                }
                let fov = degrees.to_radians();
                if perspective.fov != fov {
                    perspective.fov = fov;
                }
            }
            (None, Some(&GameFieldOfView(fov))) => {
                perspective.fov = fov;
                commands.entity(camera).remove::<GameFieldOfView>();
            }
            (None, None) => {}
        }
    }
}

/// Lays out and meshes a level. A spec that validates always builds (its bounds keep every
/// generator finite and in range: see `spec/limits.rs`); should one still panic, the panic
/// becomes an error and the level in play stays, so no file saved while the game runs can
/// take it down.
fn build_level(spec: &LevelSpec, seed: u64) -> Result<(Grid, mesh::LevelMeshes), LevelError> {
    let build = || -> Result<(Grid, mesh::LevelMeshes), LevelError> {
        let grid = Grid::from_spec(spec, seed)?;
        let meshes = mesh::build(&grid, spec, seed);
        Ok((grid, meshes))
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(build)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        Err(LevelError::invalid(
            spec,
            "generator",
            format!("building the level failed: {what}"),
        ))
    })
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
    let (grid, built) = match build_level(&request.spec, seed) {
        Ok(level) => level,
        Err(e) => {
            error!("{e}; keeping the current level");
            events.write(LevelEvent::Failed(e));
            return;
        }
    };
    for e in &old {
        commands.entity(e).despawn();
    }
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
                ("Props", built.props),
            ] {
                if data.quads() == 0 {
                    continue;
                }
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
    // An edit of the level in play (same name and seed, new contents); the same level asked
    // for again, or on another seed, starts afresh.
    let reloaded = current.as_ref().is_some_and(|c| {
        c.spec.name == request.spec.name && c.seed == seed && c.spec != request.spec
    });
    let generation = current.map_or(1, |c| c.generation + 1);
    match &request.spec.task {
        Some(task) => commands.insert_resource(CurrentTask {
            run: TaskRun::new(task, &grid, seed),
            generation,
        }),
        None => commands.remove_resource::<CurrentTask>(),
    }
    commands.insert_resource(CurrentLevel {
        spec: request.spec,
        grid,
        seed,
        generation,
        reloaded,
    });
}

/// Keeps the goal entities in step with [`CurrentTask`]: spawns them under the level root
/// for each new episode or level, hides those taken, and despawns them when there is no
/// task. It only reads the run; the game mutates it.
fn sync_goals(
    mut commands: Commands,
    task: Option<Res<CurrentTask>>,
    level: Option<Res<CurrentLevel>>,
    roots: Query<Entity, With<LevelRoot>>,
    mut goals: Query<(Entity, &GoalMarker, &mut Visibility)>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut shown: Local<Option<(u64, u64)>>,
) {
    let Some(task) = task else {
        for (goal, ..) in &goals {
            commands.entity(goal).despawn();
        }
        *shown = None;
        return;
    };
    let Some(level) = level.filter(|l| l.generation == task.generation) else {
        return;
    };
    let key = (task.generation, task.run.episode());
    if *shown != Some(key) {
        let Some(root) = roots.iter().next() else {
            return;
        };
        for (goal, ..) in &goals {
            commands.entity(goal).despawn();
        }
        spawn_goals(
            &mut commands,
            root,
            &level,
            &task.run,
            &mut meshes,
            &mut materials,
        );
        *shown = Some(key);
        return;
    }
    if task.is_changed() {
        for (_, marker, mut visibility) in &mut goals {
            let taken = task.run.goals().get(marker.index).is_none_or(|g| g.taken);
            visibility.set_if_neq(if taken {
                Visibility::Hidden
            } else {
                Visibility::Inherited
            });
        }
    }
}

/// One entity per goal of `run`, children of `root`, in the level's goal and pickup colours,
/// unlit like the level so they look the same under any lighting: a column for a Reach goal,
/// a small cube for a pickup; static, which is easier for a world model to predict.
fn spawn_goals(
    commands: &mut Commands,
    root: Entity,
    level: &CurrentLevel,
    run: &TaskRun,
    meshes: &mut Assets<Mesh>,
    materials: &mut Assets<StandardMaterial>,
) {
    if run.goals().is_empty() {
        return;
    }
    let cs = level.spec.cell_size;
    let mut unlit = |(r, g, b): Rgb| {
        materials.add(StandardMaterial {
            base_color: Color::srgb(r, g, b),
            unlit: true,
            ..default()
        })
    };
    let goal_material = unlit(level.spec.palette.goal);
    let pickup_material = unlit(level.spec.palette.pickup);
    let column = meshes.add(Cylinder::new(run.spec().goal_width * 0.5 * cs, GOAL_HEIGHT));
    let cube = meshes.add(Cuboid::from_length(PICKUP_SIZE * cs));
    for (index, goal) in run.goals().iter().enumerate() {
        let (name, mesh, material, y) = match goal.kind {
            GoalKind::Goal => ("Goal", &column, &goal_material, GOAL_HEIGHT * 0.5),
            GoalKind::Pickup => ("Pickup", &cube, &pickup_material, PICKUP_HEIGHT),
        };
        commands.spawn((
            GoalMarker { index },
            Name::new(format!("{name} {index}")),
            Mesh3d(mesh.clone()),
            MeshMaterial3d(material.clone()),
            Transform::from_translation(level.cell_center(goal.cell) + Vec3::Y * y),
            if goal.taken {
                Visibility::Hidden
            } else {
                Visibility::Inherited
            },
            ChildOf(root),
        ));
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use bevy::asset::io::AssetReaderError;

    use super::*;

    /// The loader's own errors come back whole (`tests/hot_reload.rs` loads a broken file);
    /// the server's are kept as their message.
    #[test]
    fn other_load_failures_keep_the_servers_message() {
        let missing = AssetLoadError::AssetReaderError(AssetReaderError::NotFound(PathBuf::from(
            "levels/b.level.ron",
        )));
        let error = load_failure(&missing);
        assert!(matches!(error, LevelError::Rejected(_)), "{error:?}");
        assert_eq!(error.to_string(), "Path not found: levels/b.level.ron");
    }
}

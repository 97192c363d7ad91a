//! Camera capture: for each tagged camera the plugin renders a small view of its own, a
//! [`CaptureView`] that follows the tagged camera (pose, projection, render layers, fog) and
//! renders into a small image, so the tagged camera keeps rendering where it did. Bevy's
//! [`Readback`] copies that image to the CPU every frame; each frame arrives tagged with the
//! [`ModelClock`] tick at which it was rendered, not the tick at which it arrived (readback
//! lags 1-2 frames).
//!
//! The readback's row padding is stripped here, once, by [`Frame::from_rgba`]: every
//! reader of [`FrameCaptured`] gets a [`Frame`].
//!
//! How the tag stays exact: when the render world prepares a frame whose capture image exists
//! on the GPU (exactly the condition under which Bevy's readback copies it), it appends the
//! extracted tick to a queue shared with the main world; readbacks complete in submission
//! order, so each [`ReadbackComplete`] takes the oldest tick of its queue.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bevy::asset::RenderAssetUsages;
use bevy::camera::visibility::{RenderLayers, VisibilitySystems};
use bevy::camera::{CameraUpdateSystems, RenderTarget, ScalingMode};
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::image::ImageSampler;
use bevy::light::SimulationLightSystems;
use bevy::pbr::DistanceFog;
use bevy::prelude::*;
use bevy::render::gpu_readback::{Readback, ReadbackComplete};
use bevy::render::render_asset::RenderAssets;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat, TextureUsages};
use bevy::render::texture::GpuImage;
use bevy::render::{Extract, ExtractSchedule, Render, RenderApp, RenderSystems};
use bevy::transform::TransformSystems;
use world_model::Frame;

use crate::schedule::WorldModelSystems;

/// Captures every [`WorldModelCamera`] to the CPU each frame, tagged by tick.
///
/// Works with `DefaultPlugins` (a renderer is needed for frames to arrive) and with
/// `MinimalPlugins` plus `AssetPlugin` and `ImagePlugin` (cameras are set up, no frames come).
#[derive(Default, Debug, Clone, Copy)]
pub struct CapturePlugin;

impl Plugin for CapturePlugin {
    fn build(&self, app: &mut App) {
        // Resources
        let ticks = SubmittedTicks::default();
        app.init_resource::<ModelClock>()
            .init_resource::<LatestFrames>()
            .init_resource::<CaptureInbox>()
            .insert_resource(ticks.clone())
            .add_message::<FrameCaptured>();
        // Main schedule
        app.configure_sets(
            First,
            WorldModelSystems::Tick
                .after(bevy::time::TimeSystems)
                .after(bevy::ecs::message::MessageUpdateSystems),
        )
        .configure_sets(PreUpdate, WorldModelSystems::Capture)
        .configure_sets(
            PostUpdate,
            WorldModelSystems::Follow
                .after(TransformSystems::Propagate)
                .before(CameraUpdateSystems)
                .before(VisibilitySystems::UpdateFrusta)
                .before(SimulationLightSystems::UpdateDirectionalLightCascades),
        )
        .add_systems(First, advance_clock.in_set(WorldModelSystems::Tick))
        .add_systems(PostUpdate, follow_cameras.in_set(WorldModelSystems::Follow))
        .add_systems(
            PreUpdate,
            (emit_frames, attach_capture)
                .chain()
                .in_set(WorldModelSystems::Capture),
        );
        // Render world
        build_render_side(app, ticks);
    }
}

/// Tag a camera with this to have the world model see what it sees.
///
/// The camera keeps its own target: the plugin spawns a [`CaptureView`] that follows it and
/// renders a `width x height` image (nearest sampling, so it scales up crisply), read back
/// every frame. The view has the camera's vertical extent (perspective field of view, or
/// orthographic height) and its own aspect ratio, so a wide window is captured as its central
/// part. A camera that exists only for the model may be inactive (`Camera { is_active: false,
/// .. }`): the view still follows and renders it. With several tagged cameras each gets its
/// own view and frames; [`WorldModelPlugin`](crate::WorldModelPlugin) learns from the first
/// one it finds (another when that one goes).
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorldModelCamera {
    /// Capture width in pixels.
    pub width: u32,
    /// Capture height in pixels.
    pub height: u32,
}

impl Default for WorldModelCamera {
    fn default() -> Self {
        Self {
            width: 64,
            height: 64,
        }
    }
}

/// Added to a [`WorldModelCamera`] by the plugin: the image its [`CaptureView`] renders into
/// (show it in a UI directly, no CPU copy needed).
#[derive(Component, Clone, Debug)]
pub struct CaptureImage(pub Handle<Image>);

/// The camera the plugin renders a tagged camera's view with, into that camera's
/// [`CaptureImage`]. Moved to the tagged camera's pose in [`WorldModelSystems::Follow`], before
/// Bevy computes cameras, frusta and visibility, so the frame rendered at a tick shows that
/// tick's pose.
#[derive(Component, Clone, Copy, Debug)]
pub struct CaptureView {
    /// The tagged camera it follows.
    pub camera: Entity,
}

/// On the entity that carries the [`Readback`] of a capture: which camera it reads.
#[derive(Component, Clone, Copy, Debug)]
pub struct CaptureSource {
    /// The tagged camera.
    pub camera: Entity,
    image: AssetId<Image>,
}

/// Counts model ticks; every captured frame carries the tick it was rendered at.
///
/// A tick is one step of the world model: one frame it sees, one action, one prediction. By
/// default the clock ticks every `frames_per_tick` app updates; with a `period` it ticks on
/// time instead, so the motion between two frames the model sees (and the meaning of a
/// trained model's actions) does not depend on the frame rate.
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelClock {
    /// Current tick; advances in [`WorldModelSystems::Tick`].
    pub tick: u64,
    /// App updates per tick (0 reads as 1), when there is no `period`.
    pub frames_per_tick: u32,
    /// Time between ticks (virtual time); `None` ticks by frames.
    pub period: Option<Duration>,
    /// App updates counted so far.
    pub frames: u64,
    /// Time since the last tick, when ticking by `period`.
    pub since_tick: Duration,
}

impl ModelClock {
    /// Counts one app update that advanced time by `dt`. On time, at most one tick per update,
    /// and a long frame does not queue up ticks: the model sees every frame of a slow game.
    pub fn advance(&mut self, dt: Duration) {
        self.frames += 1;
        let ticks = match self.period {
            Some(period) if !period.is_zero() => {
                self.since_tick += dt;
                if self.since_tick >= period {
                    self.since_tick = (self.since_tick - period).min(period);
                    true
                } else {
                    false
                }
            }
            _ => self
                .frames
                .is_multiple_of(u64::from(self.frames_per_tick.max(1))),
        };
        if ticks {
            self.tick += 1;
        }
    }
}

/// One frame read back from a tagged camera.
#[derive(Message, Clone, Debug)]
pub struct FrameCaptured {
    /// The tagged camera.
    pub camera: Entity,
    /// [`ModelClock`] tick at which the frame was rendered.
    pub tick: u64,
    /// What the camera saw: sRGB-encoded RGB, rows top first, the GPU's row padding gone.
    pub frame: Frame,
}

/// The newest captured frame of each tagged camera.
#[derive(Resource, Default, Debug)]
pub struct LatestFrames(pub HashMap<Entity, FrameCaptured>);

/// Frames that completed during extraction, waiting for [`emit_frames`].
#[derive(Resource, Default)]
struct CaptureInbox(VecDeque<FrameCaptured>);

/// Ticks of submitted readbacks, per readback entity, shared by both worlds.
#[derive(Resource, Clone, Default)]
struct SubmittedTicks(Arc<Mutex<HashMap<Entity, VecDeque<u64>>>>);

/// Readback sources seen at this frame's extraction, with the tick they were extracted at.
#[derive(Resource, Default)]
struct ExtractedSources(Vec<(Entity, AssetId<Image>, u64)>);

/// Number of readbacks that were tagged but whose result never arrived; capped so a bug can
/// never grow memory.
const MAX_PENDING: usize = 64;

fn advance_clock(time: Res<Time>, mut clock: ResMut<ModelClock>) {
    clock.advance(time.delta());
}

/// The render-affecting parts of a newly tagged camera that its view copies.
type TaggedCamera<'a> = (
    Entity,
    &'a WorldModelCamera,
    Option<&'a Camera>,
    Option<&'a Camera3d>,
    Option<&'a Camera2d>,
    Option<&'a Projection>,
    Option<&'a RenderLayers>,
    Option<&'a Msaa>,
    Option<&'a Tonemapping>,
    Option<&'a DistanceFog>,
    &'a GlobalTransform,
);

/// Gives every newly tagged camera its capture image, a [`CaptureView`] that renders into it
/// and a readback entity. The tagged camera itself is left as it is.
fn attach_capture(
    mut commands: Commands,
    mut images: ResMut<Assets<Image>>,
    cameras: Query<TaggedCamera, Added<WorldModelCamera>>,
) {
    for (camera, spec, cam, cam3d, cam2d, projection, layers, msaa, tonemapping, fog, pose) in
        &cameras
    {
        let Some(cam) = cam else {
            debug!("{camera} is tagged with WorldModelCamera but is not a camera; not captured");
            continue;
        };
        let size = Extent3d {
            width: spec.width.max(1),
            height: spec.height.max(1),
            depth_or_array_layers: 1,
        };
        let mut image = Image::new_fill(
            size,
            TextureDimension::D2,
            &[0, 0, 0, 255],
            TextureFormat::Rgba8UnormSrgb,
            RenderAssetUsages::default(),
        );
        image.texture_descriptor.usage = TextureUsages::TEXTURE_BINDING
            | TextureUsages::COPY_DST
            | TextureUsages::COPY_SRC
            | TextureUsages::RENDER_ATTACHMENT;
        image.sampler = ImageSampler::nearest();
        let handle = images.add(image);
        commands.entity(camera).insert(CaptureImage(handle.clone()));
        let view_camera = Camera {
            order: cam.order,
            clear_color: cam.clear_color,
            is_active: true,
            ..default()
        };
        let mut view = commands.spawn((
            Name::new("World model capture view"),
            CaptureView { camera },
            RenderTarget::Image(handle.clone().into()),
            projection.map(view_projection).unwrap_or_default(),
            layers.cloned().unwrap_or_default(),
            msaa.copied().unwrap_or_default(),
            pose.compute_transform(),
            *pose,
        ));
        // The camera and its kind in one insert: Bevy checks for a render graph when the
        // camera is added.
        match (cam3d, cam2d) {
            (Some(c3), _) => view.insert((view_camera, c3.clone())),
            (None, Some(_)) => view.insert((view_camera, Camera2d)),
            (None, None) => view.insert((view_camera, Camera3d::default())),
        };
        if let Some(t) = tonemapping {
            view.insert(*t);
        }
        if let Some(f) = fog {
            view.insert(f.clone());
        }
        commands
            .spawn((
                Name::new("World model capture readback"),
                Readback::texture(handle.clone()),
                CaptureSource {
                    camera,
                    image: handle.id(),
                },
            ))
            .observe(on_readback);
    }
}

/// The projection a capture view renders a camera's `projection` with: the same, except that
/// an orthographic view keeps the camera's vertical extent in world units (a scaling mode
/// such as `WindowSize` would otherwise show a 64-pixel-wide part of the world).
fn view_projection(projection: &Projection) -> Projection {
    match projection {
        Projection::Orthographic(o) if o.area.height() > 0.0 && o.scale > 0.0 => {
            Projection::Orthographic(OrthographicProjection {
                scaling_mode: ScalingMode::FixedVertical {
                    viewport_height: o.area.height() / o.scale,
                },
                ..o.clone()
            })
        }
        other => other.clone(),
    }
}

/// The tagged cameras' pose and what else a view copies when it changes.
type Followed<'a> = (
    &'a GlobalTransform,
    Ref<'a, Projection>,
    Option<Ref<'a, RenderLayers>>,
    Option<Ref<'a, DistanceFog>>,
);

/// Moves every capture view to its tagged camera's pose of this frame and copies the
/// projection, render layers and fog when they changed; a view whose camera is gone or no
/// longer tagged is despawned with its readback.
fn follow_cameras(
    mut commands: Commands,
    sources: Query<Followed, (With<WorldModelCamera>, Without<CaptureView>)>,
    mut views: Query<
        (
            Entity,
            &CaptureView,
            &mut Transform,
            &mut GlobalTransform,
            &mut Projection,
            Option<&RenderLayers>,
            Option<&DistanceFog>,
        ),
        Without<WorldModelCamera>,
    >,
    readbacks: Query<(Entity, &CaptureSource)>,
) {
    for (view, follows, mut transform, mut global, mut projection, layers, fog) in &mut views {
        let Ok((pose, source_projection, source_layers, source_fog)) = sources.get(follows.camera)
        else {
            commands.entity(view).despawn();
            for (readback, source) in &readbacks {
                if source.camera == follows.camera {
                    commands.entity(readback).despawn();
                }
            }
            continue;
        };
        *global = *pose;
        *transform = pose.compute_transform();
        if source_projection.is_changed() {
            *projection = view_projection(&source_projection);
        }
        match source_layers {
            Some(l) if l.is_changed() || layers != Some(&*l) => {
                commands.entity(view).insert(RenderLayers::clone(&l));
            }
            None if layers.is_some_and(|l| *l != RenderLayers::default()) => {
                commands.entity(view).insert(RenderLayers::default());
            }
            _ => {}
        }
        match source_fog {
            Some(f) if f.is_changed() || fog.is_none() => {
                commands.entity(view).insert(DistanceFog::clone(&f));
            }
            None if fog.is_some() => {
                commands.entity(view).remove::<DistanceFog>();
            }
            _ => {}
        }
    }
}

/// Main world, during extraction: tags a completed readback with its tick.
fn on_readback(
    ev: On<ReadbackComplete>,
    sources: Query<&CaptureSource>,
    cameras: Query<&WorldModelCamera>,
    ticks: Res<SubmittedTicks>,
    mut inbox: ResMut<CaptureInbox>,
) {
    let Ok(source) = sources.get(ev.entity) else {
        return;
    };
    let Some(tick) = ticks
        .0
        .lock()
        .ok()
        .and_then(|mut q| q.get_mut(&ev.entity).and_then(VecDeque::pop_front))
    else {
        warn!("a capture readback arrived without a submitted tick; dropped");
        return;
    };
    let Ok(spec) = cameras.get(source.camera) else {
        return;
    };
    let (w, h) = (spec.width.max(1) as usize, spec.height.max(1) as usize);
    // Bevy's texture readback pads each row to a multiple of 256 bytes.
    let row_bytes = (w * 4).div_ceil(256) * 256;
    let frame = match Frame::from_rgba(w, h, &ev.data, row_bytes) {
        Ok(frame) => frame,
        Err(e) => {
            warn!("capture readback dropped: {e}");
            return;
        }
    };
    inbox.0.push_back(FrameCaptured {
        camera: source.camera,
        tick,
        frame,
    });
}

/// Turns frames that completed since the last update into [`FrameCaptured`] messages.
fn emit_frames(
    mut inbox: ResMut<CaptureInbox>,
    mut latest: ResMut<LatestFrames>,
    mut writer: MessageWriter<FrameCaptured>,
) {
    for frame in inbox.0.drain(..) {
        latest.0.insert(frame.camera, frame.clone());
        writer.write(frame);
    }
}

/// Render world, extraction: which capture sources exist this frame, at which tick.
fn extract_sources(
    mut out: ResMut<ExtractedSources>,
    sources: Extract<Query<(Entity, &CaptureSource), With<Readback>>>,
    clock: Extract<Res<ModelClock>>,
) {
    out.0.clear();
    out.0
        .extend(sources.iter().map(|(e, s)| (e, s.image, clock.tick)));
}

/// Render world, after GPU images are prepared: a readback is submitted this frame exactly
/// for the sources whose image is on the GPU; record their ticks in order.
fn record_submitted_ticks(
    sources: Res<ExtractedSources>,
    images: Res<RenderAssets<GpuImage>>,
    ticks: Res<SubmittedTicks>,
) {
    let Ok(mut queues) = ticks.0.lock() else {
        return;
    };
    for (entity, image, tick) in &sources.0 {
        if images.get(*image).is_some() {
            let q = queues.entry(*entity).or_default();
            q.push_back(*tick);
            while q.len() > MAX_PENDING {
                q.pop_front();
            }
        }
    }
}

/// Adds the render-world half of capture tagging (when there is a renderer).
fn build_render_side(app: &mut App, ticks: SubmittedTicks) {
    let Some(render_app) = app.get_sub_app_mut(RenderApp) else {
        return;
    };
    render_app
        .insert_resource(ticks)
        .init_resource::<ExtractedSources>()
        .add_systems(ExtractSchedule, extract_sources)
        .add_systems(
            Render,
            record_submitted_ticks.in_set(RenderSystems::PrepareBindGroups),
        );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_orthographic_view_keeps_the_cameras_vertical_extent() {
        let mut ortho = OrthographicProjection {
            scaling_mode: ScalingMode::WindowSize,
            scale: 2.0,
            ..OrthographicProjection::default_2d()
        };
        // As Bevy computes it for a 1280x720 window: 2 world units per pixel.
        ortho.area = Rect::new(-1280.0, -720.0, 1280.0, 720.0);
        let Projection::Orthographic(view) = view_projection(&Projection::Orthographic(ortho))
        else {
            panic!("still orthographic");
        };
        match view.scaling_mode {
            ScalingMode::FixedVertical { viewport_height } => {
                assert_eq!(viewport_height * view.scale, 1440.0, "world units tall");
            }
            other => panic!("{other:?}"),
        }
        // Before Bevy computed the area there is nothing to keep: copied as it is.
        let fresh = Projection::Orthographic(OrthographicProjection {
            area: Rect::default(),
            ..OrthographicProjection::default_2d()
        });
        assert!(matches!(
            view_projection(&fresh),
            Projection::Orthographic(OrthographicProjection {
                scaling_mode: ScalingMode::WindowSize,
                ..
            })
        ));
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn by_frames_the_clock_ticks_every_nth_update() {
        let mut clock = ModelClock {
            frames_per_tick: 3,
            ..default()
        };
        for _ in 0..9 {
            clock.advance(ms(16));
        }
        assert_eq!(clock.tick, 3);
    }

    #[test]
    fn on_time_the_tick_rate_does_not_depend_on_the_frame_rate() {
        let period = Some(ms(100));
        // One second at 60 fps and at 20 fps: ten ticks either way.
        for frame_ms in [16_667_u64, 50_000] {
            let mut clock = ModelClock {
                period,
                ..default()
            };
            for _ in 0..(1_000_000 / frame_ms) {
                clock.advance(Duration::from_micros(frame_ms));
            }
            assert!(
                (9..=10).contains(&clock.tick),
                "{frame_ms} us: {}",
                clock.tick
            );
        }
        // A frame of exactly the period ticks every frame (headless research runs).
        let mut clock = ModelClock {
            period,
            ..default()
        };
        clock.advance(Duration::ZERO);
        for _ in 0..5 {
            clock.advance(ms(100));
        }
        assert_eq!(clock.tick, 5);
    }

    #[test]
    fn a_slow_game_ticks_every_frame_without_a_backlog() {
        let mut clock = ModelClock {
            period: Some(ms(100)),
            ..default()
        };
        clock.advance(ms(1000));
        assert_eq!(clock.tick, 1);
        // The stall left at most one period owed: the next short frame ticks, then time rules.
        clock.advance(ms(10));
        assert_eq!(clock.tick, 2);
        clock.advance(ms(10));
        assert_eq!(clock.tick, 2);
    }
}

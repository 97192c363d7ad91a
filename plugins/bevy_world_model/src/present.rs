//! [`WorldModelSystems::Present`](crate::WorldModelSystems::Present): the model's images.
//! They are persistent assets updated in place, so a UI shows each handle once and sees
//! every update; the inference stages queue what to draw, and this stage draws it.

use bevy::asset::RenderAssetUsages;
use bevy::image::ImageSampler;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
use world_model::Frame;

use crate::strip::HORIZON;

/// The model's images, sRGB RGBA with nearest sampling (crisp when scaled up).
#[derive(Resource, Debug, Clone)]
pub struct ModelImages {
    /// The model's predicted next frame (or the dream's current frame).
    pub prediction: Handle<Image>,
    /// |prediction - real| of the last scored tick (black -> red -> yellow -> white).
    pub heatmap: Handle<Image>,
    /// The newest dream strip's frames side by side (`HORIZON` frames wide).
    pub strip: Handle<Image>,
}

impl ModelImages {
    /// Blank images for frames of `width x height`.
    pub(crate) fn new(images: &mut Assets<Image>, width: u32, height: u32) -> Self {
        Self {
            prediction: images.add(blank_image(width, height)),
            heatmap: images.add(blank_image(width, height)),
            strip: images.add(blank_image(width * HORIZON as u32, height)),
        }
    }
}

/// Frames the inference stages want drawn this frame; taken by [`present`].
#[derive(Resource, Default)]
pub(crate) struct PresentQueue {
    pub prediction: Option<Frame>,
    pub heatmap: Option<Frame>,
    pub strip: Option<Frame>,
}

/// Draws the queued prediction, heatmap and strip into their persistent images.
pub(crate) fn present(
    mut queue: ResMut<PresentQueue>,
    targets: Res<ModelImages>,
    mut images: ResMut<Assets<Image>>,
) {
    if let Some(frame) = queue.prediction.take() {
        write_frame(&mut images, &targets.prediction, &frame);
    }
    if let Some(frame) = queue.heatmap.take() {
        write_frame(&mut images, &targets.heatmap, &frame);
    }
    if let Some(frame) = queue.strip.take() {
        write_frame(&mut images, &targets.strip, &frame);
    }
}

/// A black sRGB image with nearest sampling (crisp when scaled up).
fn blank_image(width: u32, height: u32) -> Image {
    let mut image = Image::new_fill(
        Extent3d {
            width: width.max(1),
            height: height.max(1),
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        &[0, 0, 0, 255],
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::default(),
    );
    image.sampler = ImageSampler::nearest();
    image
}

/// Overwrites `handle`'s pixels with `frame` (same asset, same GPU texture). False when the
/// sizes differ or the asset is gone.
fn write_frame(images: &mut Assets<Image>, handle: &Handle<Image>, frame: &Frame) -> bool {
    let Some(mut image) = images.get_mut(handle) else {
        return false;
    };
    let rgba = frame.to_rgba();
    match image.data.as_mut() {
        Some(data) if data.len() == rgba.len() => {
            data.copy_from_slice(&rgba);
            true
        }
        _ => false,
    }
}

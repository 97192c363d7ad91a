//! RGB u8 frames, the currency between the game, the replay buffer, metrics and the model.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// One RGB image, 8 bits per channel, rows top to bottom, no padding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height * 3` bytes, RGB interleaved.
    pub rgb: Vec<u8>,
}

/// A frame whose buffer does not match its size.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("frame of {width}x{height} needs {expected} bytes, got {got}")]
pub struct FrameSizeError {
    /// Claimed width.
    pub width: usize,
    /// Claimed height.
    pub height: usize,
    /// Bytes the size needs.
    pub expected: usize,
    /// Bytes given.
    pub got: usize,
}

/// Why a frame could not be read from or written to an image file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameIoError {
    /// The file could not be read or decoded.
    #[error("cannot read image {path}: {source}")]
    Read {
        /// File involved.
        path: PathBuf,
        /// The `image` crate's error.
        source: image::ImageError,
    },
    /// The file could not be encoded or written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// File involved.
        path: PathBuf,
        /// The `image` crate's error.
        source: image::ImageError,
    },
}

impl Frame {
    /// Wraps an RGB buffer, checking its length.
    pub fn new(width: usize, height: usize, rgb: Vec<u8>) -> Result<Self, FrameSizeError> {
        // Saturating: a size too large for memory matches no buffer.
        let expected = width.saturating_mul(height).saturating_mul(3);
        if rgb.len() != expected {
            return Err(FrameSizeError {
                width,
                height,
                expected,
                got: rgb.len(),
            });
        }
        Ok(Self { width, height, rgb })
    }

    /// A frame of one colour.
    pub fn filled(width: usize, height: usize, color: [u8; 3]) -> Self {
        Self {
            width,
            height,
            rgb: color.repeat(width * height),
        }
    }

    /// Drops the alpha channel of an RGBA buffer whose rows may be padded to `row_bytes`
    /// (GPU readbacks pad rows to 256 bytes).
    pub fn from_rgba(
        width: usize,
        height: usize,
        rgba: &[u8],
        row_bytes: usize,
    ) -> Result<Self, FrameSizeError> {
        // Checked: sizes too large for memory fit no buffer (and must not overflow).
        let needed = width.checked_mul(4).and_then(|line| {
            row_bytes
                .checked_mul(height.saturating_sub(1))?
                .checked_add(line)
                .filter(|_| row_bytes >= line)
        });
        if needed.is_none_or(|needed| rgba.len() < needed) {
            return Err(FrameSizeError {
                width,
                height,
                expected: row_bytes.saturating_mul(height),
                got: rgba.len(),
            });
        }
        let mut rgb = Vec::with_capacity(width * height * 3);
        for row in 0..height {
            let line = &rgba[row * row_bytes..row * row_bytes + width * 4];
            for px in line.chunks_exact(4) {
                rgb.extend_from_slice(&px[..3]);
            }
        }
        Ok(Self { width, height, rgb })
    }

    /// RGBA with opaque alpha, for textures.
    pub fn to_rgba(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.width * self.height * 4);
        for px in self.rgb.chunks_exact(3) {
            out.extend_from_slice(px);
            out.push(255);
        }
        out
    }

    /// Reads a PNG (any colour type the `image` crate decodes) as RGB.
    pub fn load_png(path: &Path) -> Result<Self, FrameIoError> {
        let img = image::open(path)
            .map_err(|source| FrameIoError::Read {
                path: path.into(),
                source,
            })?
            .to_rgb8();
        let (w, h) = img.dimensions();
        Ok(Self {
            width: w as usize,
            height: h as usize,
            rgb: img.into_raw(),
        })
    }

    /// Frames of one size laid out in a grid, row by row (rows may differ in length; short
    /// rows are padded with black), `gap` black pixels between cells. `None` when there are
    /// no frames or their sizes differ.
    pub fn grid(rows: &[Vec<Frame>], gap: usize) -> Option<Frame> {
        let first = rows.iter().flatten().next()?;
        let (w, h) = (first.width, first.height);
        if rows.iter().flatten().any(|f| (f.width, f.height) != (w, h)) {
            return None;
        }
        let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
        let width = cols * w + cols.saturating_sub(1) * gap;
        let height = rows.len() * h + rows.len().saturating_sub(1) * gap;
        let mut rgb = vec![0u8; width * height * 3];
        for (r, row) in rows.iter().enumerate() {
            for (c, f) in row.iter().enumerate() {
                let (x0, y0) = (c * (w + gap), r * (h + gap));
                for y in 0..h {
                    let dst = ((y0 + y) * width + x0) * 3;
                    rgb[dst..dst + w * 3].copy_from_slice(&f.rgb[y * w * 3..(y + 1) * w * 3]);
                }
            }
        }
        Some(Frame { width, height, rgb })
    }

    /// The frame enlarged `k` times with nearest-neighbour sampling (crisp pixels).
    pub fn upscaled(&self, k: usize) -> Frame {
        let k = k.max(1);
        let width = self.width * k;
        let mut rgb = Vec::with_capacity(width * self.height * k * 3);
        for y in 0..self.height {
            let mut line = Vec::with_capacity(width * 3);
            for px in self.rgb[y * self.width * 3..(y + 1) * self.width * 3].chunks_exact(3) {
                for _ in 0..k {
                    line.extend_from_slice(px);
                }
            }
            for _ in 0..k {
                rgb.extend_from_slice(&line);
            }
        }
        Frame {
            width,
            height: self.height * k,
            rgb,
        }
    }

    /// Writes the frame as an RGB PNG.
    pub fn save_png(&self, path: &Path) -> Result<(), FrameIoError> {
        image::save_buffer(
            path,
            &self.rgb,
            self.width as u32,
            self.height as u32,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|source| FrameIoError::Write {
            path: path.into(),
            source,
        })
    }
}

/// Frames to a `[n, 3, height, width]` tensor in `[-0.5, 0.5]` (all frames the same size).
pub fn frames_to_tensor(frames: &[&Frame], device: &Device) -> Tensor<4> {
    let (w, h) = (frames[0].width, frames[0].height);
    let mut data = vec![0f32; frames.len() * 3 * h * w];
    for (i, f) in frames.iter().enumerate() {
        write_chw(&f.rgb, w, h, &mut data[i * 3 * h * w..(i + 1) * 3 * h * w]);
    }
    Tensor::from_data(TensorData::new(data, [frames.len(), 3, h, w]), device)
}

/// Writes interleaved RGB u8 as planar CHW floats in `[-0.5, 0.5]`.
pub fn write_chw(rgb: &[u8], w: usize, h: usize, out: &mut [f32]) {
    let plane = w * h;
    for (p, px) in rgb.chunks_exact(3).enumerate() {
        for c in 0..3 {
            out[c * plane + p] = px[c] as f32 / 255.0 - 0.5;
        }
    }
}

/// A `[n, 3, height, width]` tensor in about `[-0.5, 0.5]` back to frames (clamped).
pub fn tensor_to_frames(t: Tensor<4>) -> Vec<Frame> {
    let [n, _, h, w] = t.dims();
    let data: Vec<f32> = t
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default();
    let plane = w * h;
    (0..n)
        .map(|i| {
            let base = i * 3 * plane;
            let mut rgb = Vec::with_capacity(plane * 3);
            for p in 0..plane {
                for c in 0..3 {
                    let v = data.get(base + c * plane + p).copied().unwrap_or(0.0);
                    rgb.push(((v + 0.5) * 255.0).round().clamp(0.0, 255.0) as u8);
                }
            }
            Frame {
                width: w,
                height: h,
                rgb,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_lay_frames_out_row_by_row_with_gaps() {
        let a = Frame::filled(2, 1, [1, 1, 1]);
        let b = Frame::filled(2, 1, [2, 2, 2]);
        let g = Frame::grid(&[vec![a.clone(), b.clone()], vec![b.clone()]], 1).unwrap();
        assert_eq!((g.width, g.height), (5, 3));
        let px = |x: usize, y: usize| g.rgb[(y * 5 + x) * 3];
        assert_eq!(
            [px(0, 0), px(1, 0), px(2, 0), px(3, 0), px(4, 0)],
            [1, 1, 0, 2, 2]
        );
        assert_eq!([px(0, 1), px(4, 1)], [0, 0], "gap row");
        assert_eq!(
            [px(0, 2), px(1, 2), px(3, 2)],
            [2, 2, 0],
            "short row padded"
        );
        assert!(Frame::grid(&[vec![a, Frame::filled(1, 1, [0; 3])]], 0).is_none());
        assert!(Frame::grid(&[], 0).is_none());
    }

    #[test]
    fn upscaling_repeats_pixels() {
        let f = Frame::new(2, 1, vec![1, 2, 3, 4, 5, 6]).unwrap();
        let u = f.upscaled(2);
        assert_eq!((u.width, u.height), (4, 2));
        assert_eq!(&u.rgb[..12], &[1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
        assert_eq!(u.rgb[..12], u.rgb[12..]);
    }

    #[test]
    fn tensor_round_trip_is_exact_for_u8() {
        let device = Device::flex();
        let rgb: Vec<u8> = (0..4 * 2 * 3).map(|i| (i * 11 % 256) as u8).collect();
        let f = Frame::new(4, 2, rgb).unwrap();
        let back = tensor_to_frames(frames_to_tensor(&[&f, &f], &device));
        assert_eq!(back, vec![f.clone(), f]);
    }

    #[test]
    fn rgba_rows_are_unpadded() {
        let mut rgba = vec![0u8; 2 * 16];
        rgba[0..4].copy_from_slice(&[1, 2, 3, 255]);
        rgba[16..20].copy_from_slice(&[4, 5, 6, 255]);
        let f = Frame::from_rgba(1, 2, &rgba, 16).unwrap();
        assert_eq!(f.rgb, vec![1, 2, 3, 4, 5, 6]);
        assert!(Frame::from_rgba(4, 2, &rgba, 8).is_err());
    }

    #[test]
    fn wrong_buffer_length_is_an_error() {
        let err = Frame::new(2, 2, vec![0; 11]).unwrap_err();
        assert_eq!(err.expected, 12);
    }
}

//! A per-pixel mixture of shifted copies of an image, with a hand-written backward.
//!
//! `out[y, x] = sum_k w[y, x, k] * img[y, x - (k - r)]` along rows (or the same down
//! columns), borders repeated. With softmax weights this moves every pixel by its own, learned
//! amount of up to `r` pixels: the warp decoder moves the last frame's pixels where the
//! camera's motion takes them. Built from Burn ops it needs `2r + 1` shifted copies of the
//! batch and their weighted sum (tens of MB a pass, and as many again backward); here a row
//! is one dot product per pixel over a padded copy of the row, and the weights (one per
//! `f x f` block, channels last as a linear layer makes them) are read in place (timings in
//! `docs/performance.md`, under the warp decoder).
//!
//! Laid out like Burn's `custom-cubecl-kernel` example: this file holds the backend extension
//! trait and [`shift_mix`] beside its `_reference` twin from Burn ops; `compute.rs` holds the
//! flex loops; `backward.rs` the autodiff glue.

mod backward;
mod compute;
#[cfg(test)]
mod tests;

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::prelude::*;

use super::on_flex;

/// The shift mixture as a Burn backend extension (flex, and autodiff over flex).
#[backend_extension(Flex, Autodiff)]
pub trait ShiftKernels: Backend {
    /// The mixture of `img` `[n, c, h, w]` under weights `[n, h / f, w / f, 2 * radius + 1]`
    /// (channels last; each weight covers an `f x f` block of pixels), along rows, or down
    /// columns when `vertical`.
    fn shift_mix_forward(
        img: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        radius: usize,
        vertical: bool,
    ) -> FloatTensor<Self>;
    /// Gradients of the image (an empty tensor unless `image_grad`) and of the weights.
    fn shift_mix_backward(
        img: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        radius: usize,
        vertical: bool,
        image_grad: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
}

/// Every pixel of `img` `[n, c, h, w]` replaced by a mixture of the pixels up to `radius`
/// to its left and right (or above and below when `vertical`), weighted by `weights`
/// `[n, h / f, w / f, 2 * radius + 1]` (channels last, as a linear layer over pixels makes
/// them; one weight per `f x f` block of pixels, `f >= 1`): channel `k` weighs the pixel
/// `k - radius` places back, so a one-hot weight on channel `radius + s` moves the whole
/// image `s` pixels right (down). Borders repeat. The fused kernel on flex; Burn ops
/// elsewhere.
pub fn shift_mix(img: Tensor<4>, weights: Tensor<4>, radius: usize, vertical: bool) -> Tensor<4> {
    if on_flex(&img) && on_flex(&weights) {
        Tensor::from_dispatch(Dispatch::shift_mix_forward(
            img.into_dispatch(),
            weights.into_dispatch(),
            radius,
            vertical,
        ))
    } else {
        shift_mix_reference(img, weights, radius, vertical)
    }
}

/// [`shift_mix`] from Burn ops: one shifted copy of the image per weight channel.
fn shift_mix_reference(
    img: Tensor<4>,
    weights: Tensor<4>,
    radius: usize,
    vertical: bool,
) -> Tensor<4> {
    let [n, c, h, w] = img.dims();
    let [_, wh, ww, k] = weights.dims();
    let f = h / wh;
    let weights = weights
        .permute([0, 3, 1, 2])
        .reshape([n, k, wh, 1, ww, 1])
        .expand([n, k, wh, f, ww, f])
        .reshape([n, k, h, w]);
    let (axis, len) = if vertical { (2, h) } else { (3, w) };
    let mut out = img.zeros_like();
    for k in 0..2 * radius + 1 {
        let s = k as isize - radius as isize;
        let a = s.unsigned_abs().min(len);
        let edge = |at: usize| {
            let mut dims = [n, c, h, w];
            dims[axis] = a;
            img.clone().narrow(axis, at, 1).expand(dims)
        };
        let shifted = if a == 0 {
            img.clone()
        } else if a == len {
            edge(if s > 0 { 0 } else { len - 1 })
        } else if s > 0 {
            Tensor::cat(vec![edge(0), img.clone().narrow(axis, 0, len - a)], axis)
        } else {
            Tensor::cat(
                vec![img.clone().narrow(axis, a, len - a), edge(len - 1)],
                axis,
            )
        };
        out = out + shifted * weights.clone().narrow(1, k, 1);
    }
    out
}

//! A per-pixel mixture of shifted copies of an image, with a hand-written backward.
//!
//! `out[y, x] = sum_k w[y, x, k] * img[y, x - (k - r)]` along rows (or the same down
//! columns), borders repeated. With softmax weights this moves every pixel by its own, learned
//! amount of up to `r` pixels: the warp decoder moves the last frame's pixels where the
//! camera's motion takes them. Built from Burn ops it needs `2r + 1` shifted copies of the
//! batch and their weighted sum (tens of MB a pass, and as many again backward); here a row
//! is one dot product per pixel over a padded copy of the row, and the weights (one per
//! `f x f` block, channels last as a linear layer makes them) are read in place. On the
//! warp decoder's 120 frames of 64x64 the pass across takes about 9 ms.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::Shape;
use rayon::prelude::*;
use std::ops::Range;

use super::{on_flex, register_grads, slices};

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

/// Sizes of one call, checked once.
#[derive(Clone, Copy, Debug)]
struct Dims {
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    radius: usize,
    /// Pixels per weight along each axis.
    f: usize,
    /// Width of a weight plane.
    ww: usize,
}

impl Dims {
    fn of(img: &FlexTensor, weights: &FlexTensor, radius: usize) -> Self {
        let (s, ws) = (img.layout().shape(), weights.layout().shape());
        let (n, c, h, w) = (s[0], s[1], s[2], s[3]);
        let k = 2 * radius + 1;
        let f = h / ws[1].max(1);
        assert!(
            (ws[0], ws[3]) == (n, k) && f >= 1 && ws[1] * f == h && ws[2] * f == w,
            "shift weights must be [n, h / f, w / f, 2 * radius + 1], got {ws:?} for an image {s:?}"
        );
        Self {
            c,
            h,
            w,
            k,
            radius,
            f,
            ww: ws[2],
        }
    }

    /// Pixels of one image.
    fn image(&self) -> usize {
        self.c * self.h * self.w
    }

    /// Weights of one image: `[h / f, w / f, k]`.
    fn weights(&self) -> usize {
        self.h / self.f * self.ww * self.k
    }

    /// Row `y` of one image's channel `ch`, as a range of its pixels.
    fn row(&self, ch: usize, y: usize) -> Range<usize> {
        let at = (ch * self.h + y) * self.w;
        at..at + self.w
    }

    /// The weights of pixel row `y` in one image's weights: `[w / f, k]`.
    fn weight_row(&self, y: usize) -> Range<usize> {
        let len = self.ww * self.k;
        let at = (y / self.f) * len;
        at..at + len
    }

    /// Source row of output row `y` under shift channel `k` (down columns), border repeated.
    fn source_row(&self, y: usize, k: usize) -> usize {
        (y as isize - k as isize + self.radius as isize).clamp(0, self.h as isize - 1) as usize
    }

    /// `row` padded by `radius` repeated border pixels on each side, reversed, into `rev`
    /// (`w + 2 * radius` long). Across a row, output pixel `x` is then the dot product of its
    /// `k` weights with `rev[w - 1 - x..][..k]`: one contiguous window per pixel.
    fn reversed_padded(&self, row: &[f32], rev: &mut [f32]) {
        let last = rev.len() - 1;
        for (j, v) in rev.iter_mut().enumerate() {
            *v = row[self.padded_source(last - j)];
        }
    }

    /// Pixel of the row that padded position `i` repeats.
    fn padded_source(&self, i: usize) -> usize {
        (i as isize - self.radius as isize).clamp(0, self.w as isize - 1) as usize
    }

    /// The weights of row `y` per shift and pixel, `[k, w]`, into `out` (down columns).
    fn weights_by_shift(&self, wb: &[f32], y: usize, out: &mut [f32]) {
        let row = &wb[self.weight_row(y)];
        for x in 0..self.w {
            let cell = &row[(x / self.f) * self.k..][..self.k];
            for (kk, &v) in cell.iter().enumerate() {
                out[kk * self.w + x] = v;
            }
        }
    }
}

fn f32s(x: &FlexTensor) -> &[f32] {
    x.as_slice::<f32>().expect("contiguous f32")
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// `out += a * x`, elementwise.
fn axpy(out: &mut [f32], a: f32, x: &[f32]) {
    out.iter_mut().zip(x).for_each(|(o, v)| *o += a * v);
}

/// `out += a * b`, elementwise.
fn add_product(out: &mut [f32], a: &[f32], b: &[f32]) {
    out.iter_mut()
        .zip(a.iter().zip(b))
        .for_each(|(o, (a, b))| *o += a * b);
}

/// One image's mixture: `img` and `out` `[c, h, w]`, weights `wb` `[h / f, w / f, k]`.
fn forward_image(d: &Dims, vertical: bool, img: &[f32], wb: &[f32], out: &mut [f32]) {
    if vertical {
        let mut by_shift = vec![0.0f32; d.k * d.w];
        for y in 0..d.h {
            if y % d.f == 0 {
                // Rows of one block share their weights.
                d.weights_by_shift(wb, y, &mut by_shift);
            }
            for ch in 0..d.c {
                let o = &mut out[d.row(ch, y)];
                for (kk, wk) in by_shift.chunks(d.w).enumerate() {
                    add_product(o, wk, &img[d.row(ch, d.source_row(y, kk))]);
                }
            }
        }
    } else {
        let mut rev = vec![0.0f32; d.w + 2 * d.radius];
        for ch in 0..d.c {
            for y in 0..d.h {
                d.reversed_padded(&img[d.row(ch, y)], &mut rev);
                let cells = &wb[d.weight_row(y)];
                for (x, o) in out[d.row(ch, y)].iter_mut().enumerate() {
                    *o = dot(&cells[(x / d.f) * d.k..][..d.k], &rev[d.w - 1 - x..][..d.k]);
                }
            }
        }
    }
}

/// One image's weight gradient `dw` `[h / f, w / f, k]` under the upstream gradient `g`.
fn weight_grad_image(d: &Dims, vertical: bool, img: &[f32], g: &[f32], dw: &mut [f32]) {
    if vertical {
        let mut acc = vec![0.0f32; d.w];
        for y in 0..d.h {
            let cells = d.weight_row(y);
            for kk in 0..d.k {
                acc.fill(0.0);
                for ch in 0..d.c {
                    add_product(
                        &mut acc,
                        &g[d.row(ch, y)],
                        &img[d.row(ch, d.source_row(y, kk))],
                    );
                }
                let row = &mut dw[cells.clone()];
                for (x, v) in acc.iter().enumerate() {
                    row[(x / d.f) * d.k + kk] += v;
                }
            }
        }
    } else {
        let mut rev = vec![0.0f32; d.w + 2 * d.radius];
        for ch in 0..d.c {
            for y in 0..d.h {
                d.reversed_padded(&img[d.row(ch, y)], &mut rev);
                let cells = &mut dw[d.weight_row(y)];
                for (x, &gx) in g[d.row(ch, y)].iter().enumerate() {
                    axpy(
                        &mut cells[(x / d.f) * d.k..][..d.k],
                        gx,
                        &rev[d.w - 1 - x..][..d.k],
                    );
                }
            }
        }
    }
}

/// One image's image gradient `di` `[c, h, w]` under the upstream gradient `g`.
fn image_grad_image(d: &Dims, vertical: bool, wb: &[f32], g: &[f32], di: &mut [f32]) {
    if vertical {
        let mut by_shift = vec![0.0f32; d.k * d.w];
        for y in 0..d.h {
            if y % d.f == 0 {
                // Rows of one block share their weights.
                d.weights_by_shift(wb, y, &mut by_shift);
            }
            for ch in 0..d.c {
                let gr = &g[d.row(ch, y)];
                for (kk, wk) in by_shift.chunks(d.w).enumerate() {
                    add_product(&mut di[d.row(ch, d.source_row(y, kk))], gr, wk);
                }
            }
        }
    } else {
        let mut drev = vec![0.0f32; d.w + 2 * d.radius];
        let last = drev.len() - 1;
        for ch in 0..d.c {
            for y in 0..d.h {
                drev.fill(0.0);
                let cells = &wb[d.weight_row(y)];
                for (x, &gx) in g[d.row(ch, y)].iter().enumerate() {
                    axpy(
                        &mut drev[d.w - 1 - x..][..d.k],
                        gx,
                        &cells[(x / d.f) * d.k..][..d.k],
                    );
                }
                let row = &mut di[d.row(ch, y)];
                for (j, v) in drev.iter().enumerate() {
                    row[d.padded_source(last - j)] += v;
                }
            }
        }
    }
}

impl ShiftKernels for Flex {
    fn shift_mix_forward(
        img: FlexTensor,
        weights: FlexTensor,
        radius: usize,
        vertical: bool,
    ) -> FlexTensor {
        let (img, weights) = (slices::contiguous(img), slices::contiguous(weights));
        let d = Dims::of(&img, &weights, radius);
        let (src, wts) = (f32s(&img), f32s(&weights));
        let mut out = vec![0.0f32; src.len()];
        out.par_chunks_mut(d.image())
            .zip(src.par_chunks(d.image()))
            .zip(wts.par_chunks(d.weights()))
            .for_each(|((out, img), wb)| forward_image(&d, vertical, img, wb, out));
        slices::from_vec(out, img.layout())
    }

    fn shift_mix_backward(
        img: FlexTensor,
        weights: FlexTensor,
        grad: FlexTensor,
        radius: usize,
        vertical: bool,
        image_grad: bool,
    ) -> (FlexTensor, FlexTensor) {
        let (img, weights, grad) = (
            slices::contiguous(img),
            slices::contiguous(weights),
            slices::contiguous(grad),
        );
        let d = Dims::of(&img, &weights, radius);
        let (src, wts, g) = (f32s(&img), f32s(&weights), f32s(&grad));
        let mut dw = vec![0.0f32; wts.len()];
        dw.par_chunks_mut(d.weights())
            .zip(src.par_chunks(d.image()).zip(g.par_chunks(d.image())))
            .for_each(|(dw, (img, g))| weight_grad_image(&d, vertical, img, g, dw));
        let dw = slices::from_vec(dw, weights.layout());
        let dimg = if image_grad {
            let mut di = vec![0.0f32; src.len()];
            di.par_chunks_mut(d.image())
                .zip(wts.par_chunks(d.weights()).zip(g.par_chunks(d.image())))
                .for_each(|(di, (wb, g))| image_grad_image(&d, vertical, wb, g, di));
            slices::from_vec(di, img.layout())
        } else {
            slices::from_vec(Vec::new(), &Layout::contiguous(Shape::new([0])))
        };
        (dimg, dw)
    }
}

/// The backward step of a shift mixture: `(radius, vertical)`.
#[derive(Debug)]
struct ShiftBackward(usize, bool);

impl<B: Backend + ShiftKernels> Backward<B, 2> for ShiftBackward {
    /// The image and the weights.
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (img, weights) = ops.state;
        let [img_node, w_node] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (dimg, dw) =
            B::shift_mix_backward(img, weights, grad, self.0, self.1, img_node.is_some());
        register_grads!(grads, B, [(img_node, dimg), (w_node, dw)]);
    }
}

impl<B: Backend + ShiftKernels, C: CheckpointStrategy> ShiftKernels for Autodiff<B, C> {
    /// Runs the inner mixture and records its backward step when either input is tracked.
    fn shift_mix_forward(
        img: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        radius: usize,
        vertical: bool,
    ) -> FloatTensor<Self> {
        let nodes = [img.node(), weights.node()];
        let (img, weights) = (img.into_primitive(), weights.into_primitive());
        let out = B::shift_mix_forward(img.clone(), weights.clone(), radius, vertical);
        match ShiftBackward(radius, vertical)
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((img, weights), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn shift_mix_backward(
        img: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        radius: usize,
        vertical: bool,
        image_grad: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (dimg, dw) = B::shift_mix_backward(
            Self::inner(img),
            Self::inner(weights),
            Self::inner(grad),
            radius,
            vertical,
            image_grad,
        );
        (Self::from_inner(dimg), Self::from_inner(dw))
    }
}

/// Every pixel of `img` `[n, c, h, w]` replaced by a mixture of the pixels up to `radius`
/// to its left and right (or above and below when `vertical`), weighted by `weights`
/// `[n, h / f, w / f, 2 * radius + 1]` (channels last, as a linear layer over pixels makes
/// them; one weight per `f x f` block of pixels, `f >= 1`): channel `k` weighs the pixel `k - radius` places back, so a one-hot weight on channel
/// `radius + s` moves the whole image `s` pixels right (down). Borders repeat. The fused
/// kernel on flex; Burn ops elsewhere.
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

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};

    /// Output and the image and weight gradients of `f` under the upstream gradient `up`.
    fn run(
        img: &Tensor<4>,
        weights: &Tensor<4>,
        up: &Tensor<4>,
        f: impl Fn(Tensor<4>, Tensor<4>) -> Tensor<4>,
    ) -> [burn::tensor::TensorData; 3] {
        let ig = img.clone().detach().require_grad();
        let wg = weights.clone().detach().require_grad();
        let y = f(ig.clone(), wg.clone());
        let g = (y.clone() * up.clone()).sum().backward();
        [
            y.into_data(),
            ig.grad(&g).expect("image grad").into_data(),
            wg.grad(&g).expect("weight grad").into_data(),
        ]
    }

    /// The kernel matches the Burn-ops mixture in output and both gradients, along rows and
    /// columns, for radii below and above the image size (every pixel reads a border), with
    /// a weight per pixel and per 2x2 block.
    #[test]
    fn shift_mix_matches_burn_ops_and_gradients() {
        let device = Device::flex().autodiff();
        for (radius, vertical, f) in [
            (2, false, 1),
            (2, true, 1),
            (7, false, 1),
            (7, true, 1),
            (3, false, 2),
            (3, true, 2),
        ] {
            let img = Tensor::<4>::random([3, 2, 6, 8], Distribution::Uniform(-1.0, 1.0), &device);
            let weights = Tensor::<4>::random(
                [3, 6 / f, 8 / f, 2 * radius + 1],
                Distribution::Uniform(0.0, 1.0),
                &device,
            );
            let up = Tensor::<4>::random([3, 2, 6, 8], Distribution::Uniform(-1.0, 1.0), &device);
            let ours = run(&img, &weights, &up, |i, w| {
                shift_mix(i, w, radius, vertical)
            });
            let refs = run(&img, &weights, &up, |i, w| {
                shift_mix_reference(i, w, radius, vertical)
            });
            for (name, (a, b)) in ["output", "image grad", "weight grad"]
                .iter()
                .zip(ours.iter().zip(refs.iter()))
            {
                eprintln!("radius {radius}, vertical {vertical}, block {f}: checking {name}");
                a.assert_approx_eq::<f32>(b, Tolerance::absolute(1e-4));
            }
        }
    }

    /// A one-hot weight moves the image by exactly its shift, repeating the border.
    #[test]
    fn one_hot_weights_move_the_image() {
        let device = Device::flex();
        let img = Tensor::<4>::from_floats([[[[1.0, 2.0, 3.0, 4.0]]]], &device);
        let radius = 2;
        // Channel radius + 1: everything one pixel to the right.
        let weights = Tensor::<4>::zeros([1, 1, 4, 5], &device).slice_assign(
            [0..1, 0..1, 0..4, 3..4],
            Tensor::ones([1, 1, 4, 1], &device),
        );
        let out: Vec<f32> = shift_mix(img.clone(), weights, radius, false)
            .into_data()
            .try_to_vec()
            .unwrap();
        assert_eq!(out, vec![1.0, 1.0, 2.0, 3.0]);
        // Down a column of one pixel, nothing moves.
        let weights = Tensor::<4>::ones([1, 1, 4, 5], &device);
        let out: Vec<f32> = shift_mix(img, weights, radius, true)
            .into_data()
            .try_to_vec()
            .unwrap();
        assert_eq!(out, vec![5.0, 10.0, 15.0, 20.0]);
    }

    /// Without autodiff, and with an image that needs no gradient, the kernel still runs.
    #[test]
    fn weight_gradient_without_image_gradient() {
        let device = Device::flex().autodiff();
        let img = Tensor::<4>::random([2, 3, 4, 4], Distribution::Uniform(-1.0, 1.0), &device);
        let w = Tensor::<4>::random([2, 4, 4, 3], Distribution::Uniform(0.0, 1.0), &device)
            .require_grad();
        let g = shift_mix(img.clone(), w.clone(), 1, false).sum().backward();
        let ours = w.grad(&g).expect("weight grad").into_data();
        let w2 = w.clone().detach().require_grad();
        let g = shift_mix_reference(img, w2.clone(), 1, false)
            .sum()
            .backward();
        ours.assert_approx_eq::<f32>(
            &w2.grad(&g).expect("weight grad").into_data(),
            Tolerance::absolute(1e-4),
        );
    }
}

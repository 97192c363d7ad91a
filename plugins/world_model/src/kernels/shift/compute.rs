//! The shift mixture on flex: the sizes of one call, and per image the forward, the weight
//! gradient and the image gradient, each row as contiguous windows over a padded copy.

use std::ops::Range;

use burn::backend::Flex;
use burn::backend::flex::{FlexTensor, Layout};
use burn::tensor::Shape;

use super::ShiftKernels;
use crate::kernels::fastmath;
use crate::kernels::simd::wide;
use crate::kernels::slices;

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
    #[inline(always)]
    fn row(&self, ch: usize, y: usize) -> Range<usize> {
        let at = (ch * self.h + y) * self.w;
        at..at + self.w
    }

    /// The weights of pixel row `y` in one image's weights: `[w / f, k]`.
    #[inline(always)]
    fn weight_row(&self, y: usize) -> Range<usize> {
        let len = self.ww * self.k;
        let at = (y / self.f) * len;
        at..at + len
    }

    /// Source row of output row `y` under shift channel `k` (down columns), border repeated.
    #[inline(always)]
    fn source_row(&self, y: usize, k: usize) -> usize {
        (y as isize - k as isize + self.radius as isize).clamp(0, self.h as isize - 1) as usize
    }

    /// `row` padded by `radius` repeated border pixels on each side, reversed, into `rev`
    /// (`w + 2 * radius` long). Across a row, output pixel `x` is then the dot product of its
    /// `k` weights with `rev[w - 1 - x..][..k]`: one contiguous window per pixel.
    #[inline(always)]
    fn reversed_padded(&self, row: &[f32], rev: &mut [f32]) {
        let last = rev.len() - 1;
        for (j, v) in rev.iter_mut().enumerate() {
            *v = row[self.padded_source(last - j)];
        }
    }

    /// Pixel of the row that padded position `i` repeats.
    #[inline(always)]
    fn padded_source(&self, i: usize) -> usize {
        (i as isize - self.radius as isize).clamp(0, self.w as isize - 1) as usize
    }

    /// The weights of row `y` per shift and pixel, `[k, w]`, into `out` (down columns).
    #[inline(always)]
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

/// `out += a * x`, elementwise.
#[inline(always)]
fn axpy(out: &mut [f32], a: f32, x: &[f32]) {
    out.iter_mut().zip(x).for_each(|(o, v)| *o += a * v);
}

/// `out += a * b`, elementwise.
#[inline(always)]
fn add_product(out: &mut [f32], a: &[f32], b: &[f32]) {
    out.iter_mut()
        .zip(a.iter().zip(b))
        .for_each(|(o, (a, b))| *o += a * b);
}

/// One image's mixture: `img` and `out` `[c, h, w]`, weights `wb` `[h / f, w / f, k]`.
#[inline(always)]
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
                    *o =
                        fastmath::dot(&cells[(x / d.f) * d.k..][..d.k], &rev[d.w - 1 - x..][..d.k]);
                }
            }
        }
    }
}

/// One image's weight gradient `dw` `[h / f, w / f, k]` under the upstream gradient `g`.
#[inline(always)]
fn weight_grad_image(d: &Dims, vertical: bool, img: &[f32], g: &[f32], dw: &mut [f32]) {
    if vertical {
        // Per block row and move: the products of its `f` pixel rows summed along the row,
        // then each block's `f` columns added into its one weight (the strided scatter is
        // the scalar part, so it runs once per block rather than once per pixel).
        let mut acc = vec![0.0f32; d.w];
        for by in 0..d.h / d.f {
            let cells = d.weight_row(by * d.f);
            for kk in 0..d.k {
                acc.fill(0.0);
                for y in by * d.f..(by + 1) * d.f {
                    for ch in 0..d.c {
                        add_product(
                            &mut acc,
                            &g[d.row(ch, y)],
                            &img[d.row(ch, d.source_row(y, kk))],
                        );
                    }
                }
                let row = &mut dw[cells.clone()];
                for (bx, block) in acc.chunks(d.f).enumerate() {
                    row[bx * d.k + kk] += block.iter().sum::<f32>();
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
#[inline(always)]
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
        let out = slices::par_parts(src.len(), d.image(), |i, out| {
            let img = &src[i * d.image()..][..d.image()];
            let wb = &wts[i * d.weights()..][..d.weights()];
            wide(|| forward_image(&d, vertical, img, wb, out))
        });
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
        let dw = slices::par_parts(wts.len(), d.weights(), |i, dw| {
            let img = &src[i * d.image()..][..d.image()];
            let g = &g[i * d.image()..][..d.image()];
            wide(|| weight_grad_image(&d, vertical, img, g, dw))
        });
        let dw = slices::from_vec(dw, weights.layout());
        let dimg = if image_grad {
            let di = slices::par_parts(src.len(), d.image(), |i, di| {
                let wb = &wts[i * d.weights()..][..d.weights()];
                let g = &g[i * d.image()..][..d.image()];
                wide(|| image_grad_image(&d, vertical, wb, g, di))
            });
            slices::from_vec(di, img.layout())
        } else {
            slices::from_vec(Vec::new(), &Layout::contiguous(Shape::new([0])))
        };
        (dimg, dw)
    }
}

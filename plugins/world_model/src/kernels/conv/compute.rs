//! The convolutions on flex: how patches and image overlap, im2col and its inverse scatter,
//! the layout changes between `[n, c, h, w]` and channels-last rows, and the forward and
//! backward of each kind as whole-batch gemms.

use burn::backend::Flex;
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::ops::FloatTensorOps;
use burn::tensor::Shape;

use super::ConvKernels;
use crate::kernels::{gemm, slices};

/// How an image of `img_hw` and a grid of `grid_hw` positions overlap: position `(y, x)` of
/// the grid covers image pixels `(y*stride - padding + i, x*stride - padding + j)`.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    img_hw: [usize; 2],
    grid_hw: [usize; 2],
}

impl Geometry {
    /// Output size of a convolution over `img_hw`.
    fn conv(
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        img_hw: [usize; 2],
    ) -> Self {
        let out = |d: usize| (img_hw[d] + 2 * padding[d] - kernel[d]) / stride[d] + 1;
        Self {
            kernel,
            stride,
            padding,
            img_hw,
            grid_hw: [out(0), out(1)],
        }
    }

    /// A transposed convolution from `grid_hw` onto the image it produces.
    fn transposed(
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        grid_hw: [usize; 2],
    ) -> Self {
        let out = |d: usize| (grid_hw[d] - 1) * stride[d] + kernel[d] - 2 * padding[d];
        Self {
            kernel,
            stride,
            padding,
            img_hw: [out(0), out(1)],
            grid_hw,
        }
    }

    fn positions(&self) -> usize {
        self.grid_hw[0] * self.grid_hw[1]
    }

    fn pixels(&self) -> usize {
        self.img_hw[0] * self.img_hw[1]
    }

    /// Calls `f(patch_index, pixel_index)` for each kernel tap of grid position `pos` that
    /// lands inside the image; `patch_index` counts `(channel 0, i, j)` taps.
    #[inline]
    fn taps(&self, pos: usize, mut f: impl FnMut(usize, usize)) {
        let [kh, kw] = self.kernel;
        let [h, w] = self.img_hw;
        let (gy, gx) = (pos / self.grid_hw[1], pos % self.grid_hw[1]);
        let y0 = (gy * self.stride[0]) as isize - self.padding[0] as isize;
        let x0 = (gx * self.stride[1]) as isize - self.padding[1] as isize;
        for i in 0..kh {
            let y = y0 + i as isize;
            if y < 0 || y >= h as isize {
                continue;
            }
            for j in 0..kw {
                let x = x0 + j as isize;
                if x >= 0 && x < w as isize {
                    f(i * kw + j, y as usize * w + x as usize);
                }
            }
        }
    }
}

fn tensor(data: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    slices::from_vec(data, &Layout::contiguous(shape.into()))
}

fn matmul(a: FlexTensor, b: FlexTensor) -> FlexTensor {
    gemm::matmul(&a, &b)
}

/// `a @ b` for a long inner dimension (a weight gradient sums over every position of the
/// batch): gemm parallelises over the output, which is small here, so the two halves of the
/// sum run as two products on two threads.
fn matmul_long(a: FlexTensor, b: FlexTensor) -> FlexTensor {
    let k = a.layout().shape()[1];
    if k < 2048 {
        return matmul(a, b);
    }
    let half = k / 2;
    let (first, second) = rayon::join(
        || matmul(a.narrow(1, 0, half), b.narrow(0, 0, half)),
        || matmul(a.narrow(1, half, k - half), b.narrow(0, half, k - half)),
    );
    slices::zip(first, second, |x, y| x + y)
}

fn transpose(t: FlexTensor) -> FlexTensor {
    Flex::float_swap_dims(t, 0, 1)
}

/// The patches of channels-last `rows` (`[n*h*w, c]`): `[n*positions, kh*kw*c]`, each tap's
/// `c` channels contiguous, zeros where a patch overhangs the image.
fn patches(rows: &FlexTensor, g: &Geometry) -> FlexTensor {
    let c = rows.layout().shape()[1];
    let n = rows.layout().shape()[0] / g.pixels();
    let row = g.kernel[0] * g.kernel[1] * c;
    let src = rows.as_slice::<f32>().expect("contiguous f32");
    let out = slices::par_parts(n * g.positions() * row, g.positions() * row, |i, out| {
        let img = &src[i * g.pixels() * c..][..g.pixels() * c];
        // The networks' channel counts as constants: a tap's copy is then a few vector moves
        // instead of a call to `memcpy` for 12 or 64 bytes (the first layers' patches were
        // mostly those calls).
        match c {
            3 => image_patches::<3>(g, img, out),
            16 => image_patches::<16>(g, img, out),
            32 => image_patches::<32>(g, img, out),
            _ => {
                for (pos, patch) in out.chunks_mut(row).enumerate() {
                    g.taps(pos, |tap, pixel| {
                        patch[tap * c..(tap + 1) * c]
                            .copy_from_slice(&img[pixel * c..(pixel + 1) * c]);
                    });
                }
            }
        }
    });
    tensor(out, [n * g.positions(), row])
}

/// One image's patches for `C` channels (see [`patches`]).
#[inline(always)]
fn image_patches<const C: usize>(g: &Geometry, img: &[f32], out: &mut [f32]) {
    let row = g.kernel[0] * g.kernel[1] * C;
    for (pos, patch) in out.chunks_mut(row).enumerate() {
        g.taps(pos, |tap, pixel| {
            let dst: &mut [f32; C] = (&mut patch[tap * C..][..C]).try_into().expect("C floats");
            let src: &[f32; C] = img[pixel * C..][..C].try_into().expect("C floats");
            *dst = *src;
        });
    }
}

/// The inverse scatter of [`patches`]: sums every patch entry back onto its pixel, giving
/// channels-last rows `[n*h*w, c]` (starting from `bias[c]` on every pixel when given).
fn fold(patches: FlexTensor, g: &Geometry, n: usize, c: usize, bias: Option<&[f32]>) -> FlexTensor {
    let patches = slices::contiguous(patches);
    let src = patches.as_slice::<f32>().expect("contiguous f32");
    let row = g.kernel[0] * g.kernel[1] * c;
    let img = slices::par_parts(n * g.pixels() * c, g.pixels() * c, |i, img| {
        let patches = &src[i * g.positions() * row..][..g.positions() * row];
        if let Some(bias) = bias {
            img.chunks_mut(c).for_each(|px| px.copy_from_slice(bias));
        }
        for (pos, patch) in patches.chunks(row).enumerate() {
            g.taps(pos, |tap, pixel| {
                let dst = &mut img[pixel * c..(pixel + 1) * c];
                dst.iter_mut()
                    .zip(&patch[tap * c..(tap + 1) * c])
                    .for_each(|(d, v)| *d += v);
            });
        }
    });
    tensor(img, [n * g.pixels(), c])
}

/// `[n, c, h, w]` as rows `[n*h*w, c]` (channels last).
fn to_rows(t: FlexTensor) -> FlexTensor {
    let t = slices::contiguous(t);
    let [n, c, h, w] = t.layout().shape().dims();
    let src = t.as_slice::<f32>().expect("contiguous f32");
    let rows = slices::par_parts(n * h * w * c, h * w * c, |i, rows| {
        let img = &src[i * c * h * w..][..c * h * w];
        for (ch, plane) in img.chunks(h * w).enumerate() {
            for (p, &v) in plane.iter().enumerate() {
                rows[p * c + ch] = v;
            }
        }
    });
    tensor(rows, [n * h * w, c])
}

/// Rows `[n*h*w, c]` back to `[n, c, h, w]`, adding `bias[c]` when given.
fn from_rows(rows: FlexTensor, n: usize, hw: [usize; 2], bias: Option<&[f32]>) -> FlexTensor {
    let rows = slices::contiguous(rows);
    let c = rows.layout().shape()[1];
    let p = hw[0] * hw[1];
    let src = rows.as_slice::<f32>().expect("contiguous f32");
    let img = slices::par_parts(n * c * p, c * p, |i, img| {
        let rows = &src[i * p * c..][..p * c];
        for (ch, plane) in img.chunks_mut(p).enumerate() {
            let b = bias.map_or(0.0, |b| b[ch]);
            for (i, v) in plane.iter_mut().enumerate() {
                *v = rows[i * c + ch] + b;
            }
        }
    });
    tensor(img, [n, c, hw[0], hw[1]])
}

/// A `[a, b, kh, kw]` weight as the `[a, kh*kw*b]` matrix that multiplies channels-last
/// patches.
fn weight_matrix(weight: FlexTensor) -> (FlexTensor, [usize; 4]) {
    let dims: [usize; 4] = weight.layout().shape().dims();
    let m = Flex::float_permute(weight, &[0, 2, 3, 1]).to_contiguous();
    (
        Flex::float_reshape(m, Shape::new([dims[0], dims[1] * dims[2] * dims[3]])),
        dims,
    )
}

/// The inverse of [`weight_matrix`]: a `[a, kh*kw*b]` gradient back to `[a, b, kh, kw]`.
fn weight_from_matrix(m: FlexTensor, [a, b, kh, kw]: [usize; 4]) -> FlexTensor {
    let m = Flex::float_reshape(slices::contiguous(m), Shape::new([a, kh, kw, b]));
    Flex::float_permute(m, &[0, 3, 1, 2]).to_contiguous()
}

fn bias_values(bias: &FlexTensor) -> Vec<f32> {
    slices::contiguous(bias.clone())
        .as_slice::<f32>()
        .expect("contiguous f32")
        .to_vec()
}

/// A convolution on flex: `patches(x) @ W^T`.
fn flex_conv2d_forward(
    x: FlexTensor,
    weight: FlexTensor,
    bias: FlexTensor,
    stride: [usize; 2],
    padding: [usize; 2],
) -> (FlexTensor, FlexTensor) {
    let [n, _, h, w] = x.layout().shape().dims();
    let (wm, [_, _, kh, kw]) = weight_matrix(weight);
    let g = Geometry::conv([kh, kw], stride, padding, [h, w]);
    let p = patches(&to_rows(x), &g);
    let out_rows = matmul(p.clone(), transpose(wm)); // [n*pos, out]
    let y = from_rows(out_rows, n, g.grid_hw, Some(&bias_values(&bias)));
    (y, p)
}

/// A convolution's gradients on flex.
fn flex_conv2d_backward(
    patches: FlexTensor,
    weight: FlexTensor,
    grad: FlexTensor,
    input_hw: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    input_grad: bool,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let n = grad.layout().shape()[0];
    let (wm, dims) = weight_matrix(weight);
    let g = Geometry::conv([dims[2], dims[3]], stride, padding, input_hw);
    let grad_rows = to_rows(grad); // [n*pos, out]
    let db = slices::column_sums(&grad_rows);
    let dw = matmul_long(transpose(grad_rows.clone()), patches); // [out, kk*in]
    let dx = if input_grad {
        let dp = matmul(grad_rows, wm); // [n*pos, kk*in]
        from_rows(fold(dp, &g, n, dims[1], None), n, input_hw, None)
    } else {
        tensor(Vec::new(), [0])
    };
    (dx, weight_from_matrix(dw, dims), db)
}

/// A transposed convolution on flex: `x @ W` folded onto the output.
fn flex_conv_transpose2d_forward(
    x: FlexTensor,
    weight: FlexTensor,
    bias: FlexTensor,
    stride: [usize; 2],
    padding: [usize; 2],
) -> (FlexTensor, FlexTensor) {
    let [n, _, h, w] = x.layout().shape().dims();
    let (wm, [_, out, kh, kw]) = weight_matrix(weight);
    let g = Geometry::transposed([kh, kw], stride, padding, [h, w]);
    let x_rows = to_rows(x); // [n*h*w, in]
    let out_patches = matmul(x_rows.clone(), wm); // [n*h*w, kk*out]
    let y_rows = fold(out_patches, &g, n, out, Some(&bias_values(&bias)));
    (from_rows(y_rows, n, g.img_hw, None), x_rows)
}

/// A transposed convolution's gradients on flex.
fn flex_conv_transpose2d_backward(
    input_rows: FlexTensor,
    weight: FlexTensor,
    grad: FlexTensor,
    input_hw: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    input_grad: bool,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let n = grad.layout().shape()[0];
    let (wm, dims) = weight_matrix(weight);
    let g = Geometry::transposed([dims[2], dims[3]], stride, padding, input_hw);
    let grad_rows = to_rows(grad); // [n*out_pixels, out]
    let db = slices::column_sums(&grad_rows);
    let gp = patches(&grad_rows, &g); // [n*h*w, kk*out]
    let dx = if input_grad {
        let dx_rows = matmul(gp.clone(), transpose(wm)); // [n*h*w, in]
        from_rows(dx_rows, n, input_hw, None)
    } else {
        tensor(Vec::new(), [0])
    };
    let dw = matmul_long(transpose(input_rows), gp); // [in, kk*out]
    (dx, weight_from_matrix(dw, dims), db)
}

impl ConvKernels for Flex {
    fn conv_forward(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        stride: [usize; 2],
        padding: [usize; 2],
        transposed: bool,
    ) -> (FlexTensor, FlexTensor) {
        if transposed {
            flex_conv_transpose2d_forward(x, weight, bias, stride, padding)
        } else {
            flex_conv2d_forward(x, weight, bias, stride, padding)
        }
    }

    fn conv_backward(
        saved: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        input_hw: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        transposed: bool,
        input_grad: bool,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let backward = if transposed {
            flex_conv_transpose2d_backward
        } else {
            flex_conv2d_backward
        };
        backward(saved, weight, grad, input_hw, stride, padding, input_grad)
    }
}

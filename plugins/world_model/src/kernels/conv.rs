//! Convolution and transposed convolution as matrix products over unfolded patches.
//!
//! A convolution is `patches(x) @ W^T`, where `patches` puts the input patch under each output
//! position in a row (im2col); its weight gradient is `grad^T @ patches` and its input gradient
//! folds `grad @ W` back onto the image. A transposed convolution is the same with the roles
//! of input and output swapped. Every product is one large gemm over the whole batch, and the
//! forward keeps its patches for the backward. Burn instead computes a convolution's weight
//! gradient as another convolution with the batch moved into the channels: on the reference
//! network each layer's backward cost 2-4x its forward.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, backend_extension};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::prelude::*;
use burn::tensor::Shape;
use rayon::prelude::*;

use super::{gemm, on_flex, register_grads, slices};

/// The convolutions as a Burn backend extension (flex, and autodiff over flex). Weights are
/// `[out, in, kh, kw]` for a convolution and `[in, out, kh, kw]` for a transposed one
/// (`transposed`; Burn's layouts); dilation 1, one group, symmetric padding, no output padding.
#[backend_extension(Flex, Autodiff)]
pub trait ConvKernels: Backend {
    /// The convolution, and what its backward needs: the input's patches
    /// `[n*oh*ow, in*kh*kw]` (convolution) or the input as rows `[n*h*w, in]` (transposed).
    fn conv_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
        transposed: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
    /// Gradients of input (`input_hw` = its `[h, w]`; an empty tensor unless `input_grad`),
    /// weight and bias, from what [`conv_forward`](Self::conv_forward) kept.
    #[allow(clippy::too_many_arguments)]
    fn conv_backward(
        saved: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        input_hw: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        transposed: bool,
        input_grad: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

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
    let mut out = vec![0.0f32; n * g.positions() * row];
    out.par_chunks_mut(g.positions() * row)
        .zip(src.par_chunks(g.pixels() * c))
        .for_each(|(out, img)| {
            for (pos, patch) in out.chunks_mut(row).enumerate() {
                g.taps(pos, |tap, pixel| {
                    patch[tap * c..(tap + 1) * c].copy_from_slice(&img[pixel * c..(pixel + 1) * c]);
                });
            }
        });
    tensor(out, [n * g.positions(), row])
}

/// The inverse scatter of [`patches`]: sums every patch entry back onto its pixel, giving
/// channels-last rows `[n*h*w, c]` (starting from `bias[c]` on every pixel when given).
fn fold(patches: FlexTensor, g: &Geometry, n: usize, c: usize, bias: Option<&[f32]>) -> FlexTensor {
    let patches = slices::contiguous(patches);
    let src = patches.as_slice::<f32>().expect("contiguous f32");
    let row = g.kernel[0] * g.kernel[1] * c;
    let mut img = vec![0.0f32; n * g.pixels() * c];
    img.par_chunks_mut(g.pixels() * c)
        .zip(src.par_chunks(g.positions() * row))
        .for_each(|(img, patches)| {
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
    let mut rows = vec![0.0f32; n * h * w * c];
    rows.par_chunks_mut(h * w * c)
        .zip(src.par_chunks(c * h * w))
        .for_each(|(rows, img)| {
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
    let mut img = vec![0.0f32; n * c * p];
    img.par_chunks_mut(c * p)
        .zip(src.par_chunks(p * c))
        .for_each(|(img, rows)| {
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

/// The backward step of a convolution (`.0`: transposed).
#[derive(Debug)]
struct ConvBackward(bool);

impl<B: Backend + ConvKernels> Backward<B, 3> for ConvBackward {
    /// What the forward kept (patches or input rows), weight, input `[h, w]`, stride, padding.
    type State = (
        FloatTensor<B>,
        FloatTensor<B>,
        [usize; 2],
        [usize; 2],
        [usize; 2],
    );

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (saved, weight, input_hw, stride, padding) = ops.state;
        let [x_node, w_node, b_node] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (dx, dw, db) = B::conv_backward(
            saved,
            weight,
            grad,
            input_hw,
            stride,
            padding,
            self.0,
            x_node.is_some(),
        );
        register_grads!(grads, B, [(x_node, dx), (w_node, dw), (b_node, db)]);
    }
}

impl<B: Backend + ConvKernels, C: CheckpointStrategy> ConvKernels for Autodiff<B, C> {
    /// Runs the inner convolution and records its backward step when any input is tracked.
    fn conv_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
        transposed: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let nodes = [x.node(), weight.node(), bias.node()];
        let (x, weight, bias) = (
            x.into_primitive(),
            weight.into_primitive(),
            bias.into_primitive(),
        );
        let input_hw = {
            let s = burn::backend::TensorMetadata::shape(&x);
            [s[2], s[3]]
        };
        let (out, saved) = B::conv_forward(x, weight.clone(), bias, stride, padding, transposed);
        let out = match ConvBackward(transposed)
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                prep.finish((saved.clone(), weight, input_hw, stride, padding), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(out),
        };
        (out, Self::from_inner(saved))
    }

    fn conv_backward(
        saved: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        input_hw: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        transposed: bool,
        input_grad: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (dx, dw, db) = B::conv_backward(
            Self::inner(saved),
            Self::inner(weight),
            Self::inner(grad),
            input_hw,
            stride,
            padding,
            transposed,
            input_grad,
        );
        (
            Self::from_inner(dx),
            Self::from_inner(dw),
            Self::from_inner(db),
        )
    }
}

/// Symmetric padding of a module's config, if it has one.
fn symmetric(padding: &PaddingConfig2d) -> Option<[usize; 2]> {
    match *padding {
        PaddingConfig2d::Valid => Some([0, 0]),
        PaddingConfig2d::Explicit(t, l, b, r) if t == b && l == r => Some([t, l]),
        _ => None,
    }
}

/// `conv.forward(x)` as patch matrix products on flex for strided convolutions (the
/// encoder's); Burn's own convolution for stride 1, where the patches are 9x the input and
/// flex's tiled convolution was faster (resize-conv decoder: 858 ms per default-config step
/// on Burn's, 1,269 ms on patches), on other backends, and for dilated, grouped, bias-free or
/// asymmetrically padded layers.
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let padding = symmetric(&conv.padding);
    match (&conv.bias, padding) {
        (Some(bias), Some(padding))
            if on_flex(&x)
                && conv.stride != [1, 1]
                && conv.dilation == [1, 1]
                && conv.groups == 1 =>
        {
            let (y, _) = Dispatch::conv_forward(
                x.into_dispatch(),
                conv.weight.val().into_dispatch(),
                bias.val().into_dispatch(),
                conv.stride,
                padding,
                false,
            );
            Tensor::from_dispatch(y)
        }
        _ => conv.forward(x),
    }
}

/// `deconv.forward(x)` as patch matrix products on flex; Burn's own elsewhere.
pub fn conv_transpose2d(deconv: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
    match &deconv.bias {
        Some(bias)
            if on_flex(&x)
                && deconv.dilation == [1, 1]
                && deconv.groups == 1
                && deconv.padding_out == [0, 0] =>
        {
            let (y, _) = Dispatch::conv_forward(
                x.into_dispatch(),
                deconv.weight.val().into_dispatch(),
                bias.val().into_dispatch(),
                deconv.stride,
                deconv.padding,
                true,
            );
            Tensor::from_dispatch(y)
        }
        _ => deconv.forward(x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
    use burn::tensor::{Distribution, Tolerance};

    /// Output, input gradient, weight gradient and bias gradient of `f`.
    fn run(
        x: &Tensor<4>,
        up: &Tensor<4>,
        weight: &Tensor<4>,
        bias: &Tensor<1>,
        f: impl Fn(Tensor<4>) -> Tensor<4>,
    ) -> [burn::tensor::TensorData; 4] {
        let xg = x.clone().detach().require_grad();
        let y = f(xg.clone());
        let grads = (y.clone() * up.clone()).sum().backward();
        [
            y.into_data(),
            xg.grad(&grads).expect("x grad").into_data(),
            weight.grad(&grads).expect("weight grad").into_data(),
            bias.grad(&grads).expect("bias grad").into_data(),
        ]
    }

    fn assert_all_close(a: [burn::tensor::TensorData; 4], b: [burn::tensor::TensorData; 4]) {
        for (name, (a, b)) in ["output", "x grad", "weight grad", "bias grad"]
            .iter()
            .zip(a.iter().zip(b.iter()))
        {
            eprintln!("checking {name}");
            a.assert_approx_eq::<f32>(b, Tolerance::absolute(2e-4).set_relative(1e-4));
        }
    }

    /// Every gradient matches Burn's convolution, for the network's 4x4/2 layers and for
    /// odd sizes and strides where the strided forward skips input rows; batch 16 takes the
    /// weight gradient's split-sum path (more than 2048 positions).
    #[test]
    fn conv2d_matches_burn() {
        let device = Device::flex().autodiff();
        let cases = [
            (4, 2, 1, [12, 16]),
            (3, 1, 1, [7, 9]),
            (3, 2, 0, [8, 11]),
            (5, 3, 2, [10, 13]),
        ];
        for ((kernel, stride, pad, [h, w]), batch) in cases.into_iter().zip([16, 2, 16, 2]) {
            let conv = Conv2dConfig::new([3, 5], [kernel, kernel])
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                .init(&device);
            let x =
                Tensor::<4>::random([batch, 3, h, w], Distribution::Uniform(-1.0, 1.0), &device);
            let out = conv.forward(x.clone());
            let up = Tensor::<4>::random(out.shape(), Distribution::Uniform(-1.0, 1.0), &device);
            let (weight, bias) = (conv.weight.val(), conv.bias.as_ref().expect("bias").val());
            eprintln!("conv k{kernel} s{stride} p{pad} {batch}x{h}x{w}");
            assert_all_close(
                run(&x, &up, &weight, &bias, |x| conv2d(&conv, x)),
                run(&x, &up, &weight, &bias, |x| conv.forward(x)),
            );
        }
    }

    #[test]
    fn conv_transpose2d_matches_burn() {
        let device = Device::flex().autodiff();
        let cases = [(4, 2, 1, [6, 8]), (3, 1, 1, [5, 7]), (3, 2, 1, [4, 5])];
        for ((kernel, stride, pad, [h, w]), batch) in cases.into_iter().zip([3, 16, 16]) {
            let deconv = ConvTranspose2dConfig::new([4, 3], [kernel, kernel])
                .with_stride([stride, stride])
                .with_padding([pad, pad])
                .init(&device);
            let x =
                Tensor::<4>::random([batch, 4, h, w], Distribution::Uniform(-1.0, 1.0), &device);
            let out = deconv.forward(x.clone());
            let up = Tensor::<4>::random(out.shape(), Distribution::Uniform(-1.0, 1.0), &device);
            let (weight, bias) = (
                deconv.weight.val(),
                deconv.bias.as_ref().expect("bias").val(),
            );
            eprintln!("deconv k{kernel} s{stride} p{pad} {batch}x{h}x{w}");
            assert_all_close(
                run(&x, &up, &weight, &bias, |x| conv_transpose2d(&deconv, x)),
                run(&x, &up, &weight, &bias, |x| deconv.forward(x)),
            );
        }
    }

    /// An input that needs no gradient (the first layer's image) still gets the weight and
    /// bias gradients right, and inference without autodiff gives Burn's output.
    #[test]
    fn parameter_gradients_without_input_gradient_and_plain_inference() {
        let device = Device::flex().autodiff();
        let conv = Conv2dConfig::new([3, 4], [4, 4])
            .with_stride([2, 2])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&device);
        let x = Tensor::<4>::random([2, 3, 8, 8], Distribution::Uniform(-1.0, 1.0), &device);
        let grads = |y: Tensor<4>| {
            let g = y.sum().backward();
            (
                conv.weight.val().grad(&g).expect("weight grad").into_data(),
                conv.bias
                    .as_ref()
                    .expect("bias")
                    .val()
                    .grad(&g)
                    .expect("bias grad")
                    .into_data(),
            )
        };
        let (w1, b1) = grads(conv2d(&conv, x.clone()));
        let (w2, b2) = grads(conv.forward(x.clone()));
        w1.assert_approx_eq::<f32>(&w2, Tolerance::absolute(2e-4));
        b1.assert_approx_eq::<f32>(&b2, Tolerance::absolute(2e-4));
        let plain = conv.valid();
        let x = x.inner();
        conv2d(&plain, x.clone())
            .into_data()
            .assert_approx_eq::<f32>(&plain.forward(x).into_data(), Tolerance::absolute(1e-4));
    }
}

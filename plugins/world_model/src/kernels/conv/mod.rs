//! Convolution and transposed convolution as matrix products over unfolded patches.
//!
//! A convolution is `patches(x) @ W^T`, where `patches` puts the input patch under each output
//! position in a row (im2col); its weight gradient is `grad^T @ patches` and its input gradient
//! folds `grad @ W` back onto the image. A transposed convolution is the same with the roles
//! of input and output swapped. Every product is one large gemm over the whole batch, and the
//! forward keeps its patches for the backward. Burn instead computes a convolution's weight
//! gradient as another convolution with the batch moved into the channels, which made each
//! layer's backward cost several times its forward (see `docs/performance.md`).
//!
//! Laid out like Burn's `custom-cubecl-kernel` example: this file holds the backend extension
//! trait and the public functions beside their `_reference` twins (Burn's own layers, which
//! the tests compare against); `compute.rs` holds the flex loops (patch geometry, im2col,
//! fold and the products); `backward.rs` the autodiff glue.

mod backward;
mod compute;
#[cfg(test)]
mod tests;

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::prelude::*;

use super::on_flex;

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
/// flex's tiled convolution made the resize-conv decoder's step faster (see
/// `docs/performance.md`), on other backends, and for dilated, grouped, bias-free or
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
        _ => conv2d_reference(conv, x),
    }
}

/// [`conv2d`] from Burn's own layer: what the fused path replaces, and where it falls back.
fn conv2d_reference(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    conv.forward(x)
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
        _ => conv_transpose2d_reference(deconv, x),
    }
}

/// [`conv_transpose2d`] from Burn's own layer: what the fused path replaces, and where it
/// falls back.
fn conv_transpose2d_reference(deconv: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
    deconv.forward(x)
}

//! Fused CPU kernels for the ops where Burn's flex backend spends most of a training step
//! (see `docs/performance.md`): activations that Burn composes from five elementwise ops or
//! whose backward recomputes the forward, and Adam, which Burn runs as a dozen whole-tensor
//! passes per parameter. Each runs in one parallel pass through Burn's backend-extension
//! points; on any other backend (wgpu) the same functions fall back to Burn's own ops, so
//! callers never branch. Every kernel is tested against the op it replaces.

mod activation;
mod adam;
mod conv;
mod fastmath;
mod gemm;
mod linear;
mod shift;
mod simd;
mod slices;

pub use activation::{ActivationKernels, elu, silu, softmax, tanh};
pub use adam::{AdamKernel, FusedAdam};
pub use conv::{ConvKernels, conv_transpose2d, conv2d};
pub use linear::{LinearKernels, linear};
pub use shift::{ShiftKernels, shift_mix};

use burn::backend::DispatchDevice;
use burn::prelude::*;
use burn::tensor::DType;

/// Whether the fused flex kernel can take this tensor (f32 on the flex backend).
fn on_flex<const D: usize>(x: &Tensor<D>) -> bool {
    x.dtype() == DType::F32
        && matches!(
            x.device().without_autodiff().as_dispatch(),
            DispatchDevice::Flex(_)
        )
}

/// Hands each computed gradient of a backward step to the parent node it belongs to
/// (parents that need no gradient are `None`, and their entry is dropped). A macro because
/// Burn does not export the node type.
macro_rules! register_grads {
    ($grads:expr, $backend:ty, [$(($node:expr, $grad:expr)),+ $(,)?]) => {
        $(
            if let Some(node) = $node {
                $grads.register::<$backend>(node.id, $grad);
            }
        )+
    };
}
use register_grads;

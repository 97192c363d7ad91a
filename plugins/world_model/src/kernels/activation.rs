//! ELU, tanh, SiLU and softmax as single-pass kernels with single-pass backwards.
//!
//! Burn builds `elu` from five tensor ops (compare, exp, subtract, scale, select), each a
//! full pass with its own allocation and its own backward; its `tanh` backward recomputes the
//! forward. Here each activation is one pass forward, and its backward one pass that reads the
//! saved output (ELU, tanh, softmax) or input (SiLU). Burn's softmax is five passes (max,
//! subtract, exp, sum, divide) and its backward as many again, a large part of the warp
//! decoder's step on its 123k rows of 25 moves (see `docs/performance.md`).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::activation;

use super::simd::wide;
use super::{fastmath, on_flex, slices};

/// The activation kernels as a Burn backend extension (flex, and autodiff over flex).
#[backend_extension(Flex, Autodiff)]
pub trait ActivationKernels: Backend {
    /// ELU with alpha 1.
    fn elu_fused(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// ELU's input gradient from its output `y`: `grad` where `y > 0`, else `grad * (y + 1)`.
    fn elu_grad(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
    /// Hyperbolic tangent.
    fn tanh_fused(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// tanh's input gradient from its output `y`: `grad * (1 - y^2)`.
    fn tanh_grad(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
    /// SiLU, `x * sigmoid(x)`.
    fn silu_fused(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// SiLU's input gradient from its input `x`: `grad * s * (1 + x * (1 - s))`, `s = sigmoid(x)`.
    fn silu_grad(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
    /// Softmax over the last dimension.
    fn softmax_fused(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// Softmax's input gradient from its output `y`, row by row: `y * (grad - sum(grad * y))`.
    fn softmax_grad(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
}

#[inline(always)]
fn elu_f32(x: f32) -> f32 {
    // exp(min(x, 0)) keeps the branch a select, so the loop vectorises.
    let neg = fastmath::exp(x.min(0.0)) - 1.0;
    if x > 0.0 { x } else { neg }
}

impl ActivationKernels for Flex {
    fn elu_fused(x: FlexTensor) -> FlexTensor {
        slices::map(x, elu_f32)
    }
    fn elu_grad(y: FlexTensor, grad: FlexTensor) -> FlexTensor {
        slices::zip(y, grad, |y, g| if y > 0.0 { g } else { g * (y + 1.0) })
    }
    fn tanh_fused(x: FlexTensor) -> FlexTensor {
        slices::map(x, fastmath::tanh)
    }
    fn tanh_grad(y: FlexTensor, grad: FlexTensor) -> FlexTensor {
        slices::zip(y, grad, |y, g| g * (1.0 - y * y))
    }
    fn silu_fused(x: FlexTensor) -> FlexTensor {
        slices::map(x, |x| x * fastmath::sigmoid(x))
    }
    fn silu_grad(x: FlexTensor, grad: FlexTensor) -> FlexTensor {
        slices::zip(x, grad, |x, g| {
            let s = fastmath::sigmoid(x);
            g * s * (1.0 + x * (1.0 - s))
        })
    }
    fn softmax_fused(x: FlexTensor) -> FlexTensor {
        rows(x, None, |x, _, out| {
            let max = fastmath::max(x);
            // The exponentials in a loop of their own: with the sum in it (a sequential float
            // reduction) the loop, `exp` included, ran one float at a time.
            for (o, &v) in out.iter_mut().zip(x) {
                *o = fastmath::exp(v - max);
            }
            let inv = 1.0 / fastmath::sum(out);
            out.iter_mut().for_each(|o| *o *= inv);
        })
    }
    fn softmax_grad(y: FlexTensor, grad: FlexTensor) -> FlexTensor {
        rows(y, Some(grad), |y, g, out| {
            let g = g.expect("softmax gradient rows");
            let s = fastmath::dot(y, g);
            for ((o, &y), &g) in out.iter_mut().zip(y).zip(g) {
                *o = y * (g - s);
            }
        })
    }
}

/// `f(row of a, row of b, row of out)` for every row along the last dimension of `a` (and of
/// `b`, same shape), many rows per parallel task; returns `out`.
fn rows(
    a: FlexTensor,
    b: Option<FlexTensor>,
    f: impl Fn(&[f32], Option<&[f32]>, &mut [f32]) + Sync + Send,
) -> FlexTensor {
    let a = slices::contiguous(a);
    let b = b.map(slices::contiguous);
    let len = *a
        .layout()
        .shape()
        .last()
        .expect("softmax needs a dimension");
    let sa = a.as_slice::<f32>().expect("contiguous f32");
    let sb = b
        .as_ref()
        .map(|b| b.as_slice::<f32>().expect("contiguous f32"));
    let task = len * (4096 / len.max(1)).max(1);
    let out = slices::par_parts(sa.len(), task, |i, o| {
        let at = i * task;
        wide(|| {
            for (j, o) in o.chunks_mut(len).enumerate() {
                let r = at + j * len..at + (j + 1) * len;
                f(&sa[r.clone()], sb.map(|b| &b[r]), o);
            }
        })
    });
    slices::from_vec(out, a.layout())
}

/// Which saved tensor an activation's backward reads, and how it turns it into a gradient.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Elu,
    Tanh,
    Silu,
    Softmax,
}

#[derive(Debug)]
struct ActivationBackward(Kind);

impl<B: Backend + ActivationKernels> Backward<B, 1> for ActivationBackward {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let saved = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |grad| match self.0 {
            Kind::Elu => B::elu_grad(saved, grad),
            Kind::Tanh => B::tanh_grad(saved, grad),
            Kind::Silu => B::silu_grad(saved, grad),
            Kind::Softmax => B::softmax_grad(saved, grad),
        });
    }
}

/// Runs the inner kernel and records the backward step (saving the output, or for SiLU the
/// input) when the input is tracked.
fn tracked<B: Backend + ActivationKernels, C: CheckpointStrategy>(
    kind: Kind,
    x: FloatTensor<Autodiff<B, C>>,
) -> FloatTensor<Autodiff<B, C>> {
    let node = x.node();
    let input = x.into_primitive();
    let saved_input = matches!(kind, Kind::Silu).then(|| input.clone());
    let out = match kind {
        Kind::Elu => B::elu_fused(input),
        Kind::Tanh => B::tanh_fused(input),
        Kind::Silu => B::silu_fused(input),
        Kind::Softmax => B::softmax_fused(input),
    };
    match ActivationBackward(kind)
        .prepare::<C>([node])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let state = saved_input.unwrap_or_else(|| out.clone());
            prep.finish(state, out)
        }
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

impl<B: Backend + ActivationKernels, C: CheckpointStrategy> ActivationKernels for Autodiff<B, C> {
    fn elu_fused(x: FloatTensor<Self>) -> FloatTensor<Self> {
        tracked::<B, C>(Kind::Elu, x)
    }
    fn elu_grad(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::from_inner(B::elu_grad(Self::inner(y), Self::inner(grad)))
    }
    fn tanh_fused(x: FloatTensor<Self>) -> FloatTensor<Self> {
        tracked::<B, C>(Kind::Tanh, x)
    }
    fn tanh_grad(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::from_inner(B::tanh_grad(Self::inner(y), Self::inner(grad)))
    }
    fn silu_fused(x: FloatTensor<Self>) -> FloatTensor<Self> {
        tracked::<B, C>(Kind::Silu, x)
    }
    fn silu_grad(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::from_inner(B::silu_grad(Self::inner(x), Self::inner(grad)))
    }
    fn softmax_fused(x: FloatTensor<Self>) -> FloatTensor<Self> {
        tracked::<B, C>(Kind::Softmax, x)
    }
    fn softmax_grad(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::from_inner(B::softmax_grad(Self::inner(y), Self::inner(grad)))
    }
}

/// Softmax over the last dimension: one fused pass on flex (its backward reuses the
/// output), Burn's `softmax` elsewhere.
pub fn softmax<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if on_flex(&x) {
        Tensor::from_dispatch(Dispatch::softmax_fused(x.into_dispatch()))
    } else {
        activation::softmax(x, D - 1)
    }
}

/// ELU (alpha 1): one fused pass on flex, Burn's `elu` elsewhere.
pub fn elu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if on_flex(&x) {
        Tensor::from_dispatch(Dispatch::elu_fused(x.into_dispatch()))
    } else {
        activation::elu(x, 1.0)
    }
}

/// tanh: one fused pass on flex (its backward reuses the output), Burn's `tanh` elsewhere.
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if on_flex(&x) {
        Tensor::from_dispatch(Dispatch::tanh_fused(x.into_dispatch()))
    } else {
        activation::tanh(x)
    }
}

/// SiLU: one fused pass on flex, Burn's `silu` elsewhere.
pub fn silu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if on_flex(&x) {
        Tensor::from_dispatch(Dispatch::silu_fused(x.into_dispatch()))
    } else {
        activation::silu(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};

    type Op = fn(Tensor<4>) -> Tensor<4>;

    fn pairs() -> [(&'static str, Op, Op); 4] {
        [
            ("elu", elu, |x| activation::elu(x, 1.0)),
            ("tanh", tanh, activation::tanh),
            ("silu", silu, activation::silu),
            ("softmax", softmax, |x| activation::softmax(x, 3)),
        ]
    }

    /// Values and gradients match Burn's ops, on a large (parallel) and a small tensor, and on
    /// a transposed (strided) view.
    #[test]
    fn fused_activations_match_burn_forward_and_backward() {
        let device = Device::flex().autodiff();
        for shape in [[16, 32, 24, 32], [2, 3, 4, 5]] {
            let base = Tensor::<4>::random(shape, Distribution::Uniform(-4.0, 4.0), &device);
            let upstream = Tensor::<4>::random(shape, Distribution::Uniform(-1.0, 1.0), &device);
            for strided in [false, true] {
                for (name, fused, reference) in pairs() {
                    let run = |op: Op| {
                        let x = base.clone().detach().require_grad();
                        let input = if strided {
                            x.clone().swap_dims(2, 3)
                        } else {
                            x.clone()
                        };
                        let y = op(input);
                        let up = if strided {
                            upstream.clone().swap_dims(2, 3)
                        } else {
                            upstream.clone()
                        };
                        let grads = (y.clone() * up).sum().backward();
                        let gx = x.grad(&grads).expect("input has a gradient");
                        (y.into_data(), gx.into_data())
                    };
                    let (y1, g1) = run(fused);
                    let (y2, g2) = run(reference);
                    let tol = Tolerance::<f32>::absolute(1e-5);
                    y1.assert_approx_eq::<f32>(&y2, tol);
                    g1.assert_approx_eq::<f32>(&g2, tol);
                    eprintln!("{name} {shape:?} strided={strided}: matches");
                }
            }
        }
    }

    /// Without autodiff the wrappers still compute the same values.
    #[test]
    fn fused_activations_work_without_autodiff() {
        let device = Device::flex();
        let x = Tensor::<4>::random([3, 4, 5, 6], Distribution::Uniform(-3.0, 3.0), &device);
        for (_, fused, reference) in pairs() {
            fused(x.clone()).into_data().assert_approx_eq::<f32>(
                &reference(x.clone()).into_data(),
                Tolerance::absolute(1e-5),
            );
        }
    }
}

//! A linear layer whose products go straight into fresh buffers, with a hand-written
//! backward.
//!
//! Burn's `Linear` is `x @ W + b` as two tracked ops: its backward runs flex's matmul (which
//! zero-fills and copies every product) on transposed views and adds a broadcast bias
//! gradient. On the reference network the decoder's input layer (`320 -> 6144`) spent a
//! large share of the whole step in that backward (see `docs/performance.md`).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, backend_extension};
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::Shape;
use rayon::prelude::*;

use super::{gemm, on_flex, register_grads, slices};

/// The linear layer as a Burn backend extension (flex, and autodiff over flex). `weight` is
/// `[in, out]` and `bias` `[out]`, Burn's layout.
#[backend_extension(Flex, Autodiff)]
pub trait LinearKernels: Backend {
    /// `x @ weight + bias` for `x` `[n, in]`.
    fn linear_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
    /// Gradients of input (an empty tensor unless `input_grad`), weight and bias.
    fn linear_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        input_grad: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// Rows this long or more have their bias added on several threads.
const PARALLEL_ROWS_MIN: usize = 16 * 1024;
/// Weights this small (in x out) fit in the first-level cache, whichever way they are read.
const SMALL_WEIGHT: usize = 4096;

impl LinearKernels for Flex {
    fn linear_forward(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        let mut y = gemm::matmul(&x, &weight);
        let bias = slices::contiguous(bias);
        let bias = bias.as_slice::<f32>().expect("contiguous f32");
        let out = y.storage_mut::<f32>();
        let add = |row: &mut [f32]| row.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
        if out.len() >= PARALLEL_ROWS_MIN {
            out.par_chunks_mut(bias.len()).for_each(add);
        } else {
            out.chunks_mut(bias.len()).for_each(add);
        }
        y
    }

    fn linear_backward(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        input_grad: bool,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let grad = slices::contiguous(grad);
        let dw = gemm::matmul(&Flex::float_swap_dims(x, 0, 1), &grad);
        let dx = if input_grad && weight.layout().num_elements() <= SMALL_WEIGHT {
            // A small weight (the warp's move logits) is read across its rows at no cost,
            // and the input gradient then needs no transposing copy.
            gemm::matmul(&grad, &Flex::float_swap_dims(weight, 0, 1))
        } else if input_grad {
            // As `(W @ g^T)^T`: `g @ W^T` reads the weight across its rows, several times
            // slower on the decoder input's shape (see `docs/performance.md`).
            let dx_t = gemm::matmul(&weight, &Flex::float_swap_dims(grad.clone(), 0, 1));
            slices::contiguous(Flex::float_swap_dims(dx_t, 0, 1))
        } else {
            slices::from_vec(Vec::new(), &Layout::contiguous(Shape::new([0])))
        };
        (dx, dw, slices::column_sums(&grad))
    }
}

/// The backward step of a linear layer.
#[derive(Debug)]
struct LinearBackward;

impl<B: Backend + LinearKernels> Backward<B, 3> for LinearBackward {
    /// The input and the weight.
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (x, weight) = ops.state;
        let [x_node, w_node, b_node] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (dx, dw, db) = B::linear_backward(x, weight, grad, x_node.is_some());
        register_grads!(grads, B, [(x_node, dx), (w_node, dw), (b_node, db)]);
    }
}

impl<B: Backend + LinearKernels, C: CheckpointStrategy> LinearKernels for Autodiff<B, C> {
    /// Runs the inner layer and records its backward step when any input is tracked.
    fn linear_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let nodes = [x.node(), weight.node(), bias.node()];
        let (x, weight, bias) = (
            x.into_primitive(),
            weight.into_primitive(),
            bias.into_primitive(),
        );
        let out = B::linear_forward(x.clone(), weight.clone(), bias);
        match LinearBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((x, weight), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn linear_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        input_grad: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (dx, dw, db) = B::linear_backward(
            Self::inner(x),
            Self::inner(weight),
            Self::inner(grad),
            input_grad,
        );
        (
            Self::from_inner(dx),
            Self::from_inner(dw),
            Self::from_inner(db),
        )
    }
}

/// `lin.forward(x)` for `x` `[n, in]` through the kernel on flex; Burn's own layer on other
/// backends and without a bias.
pub fn linear(lin: &Linear, x: Tensor<2>) -> Tensor<2> {
    match &lin.bias {
        Some(bias) if on_flex(&x) => Tensor::from_dispatch(Dispatch::linear_forward(
            x.into_dispatch(),
            lin.weight.val().into_dispatch(),
            bias.val().into_dispatch(),
        )),
        _ => lin.forward(x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;
    use burn::tensor::{Distribution, Tolerance};

    /// Output and the input, weight and bias gradients of `f` under the upstream gradient `up`.
    fn run(
        lin: &Linear,
        x: &Tensor<2>,
        up: &Tensor<2>,
        f: impl Fn(Tensor<2>) -> Tensor<2>,
    ) -> [burn::tensor::TensorData; 4] {
        let xg = x.clone().detach().require_grad();
        let y = f(xg.clone());
        let g = (y.clone() * up.clone()).sum().backward();
        [
            y.into_data(),
            xg.grad(&g).expect("x grad").into_data(),
            lin.weight.val().grad(&g).expect("weight grad").into_data(),
            lin.bias
                .as_ref()
                .expect("bias")
                .val()
                .grad(&g)
                .expect("bias grad")
                .into_data(),
        ]
    }

    /// Every gradient matches Burn's layer, for a tiny layer (one thread) and the reference
    /// network's decoder input (products on two threads); inference without autodiff too.
    #[test]
    fn linear_matches_burn_forward_and_every_gradient() {
        let device = Device::flex().autodiff();
        for (n, i, o) in [(3, 5, 7), (16, 320, 6144)] {
            let lin: Linear = LinearConfig::new(i, o).init(&device);
            let x = Tensor::<2>::random([n, i], Distribution::Uniform(-1.0, 1.0), &device);
            let up = Tensor::<2>::random([n, o], Distribution::Uniform(-1.0, 1.0), &device);
            let ours = run(&lin, &x, &up, |x| linear(&lin, x));
            let burns = run(&lin, &x, &up, |x| lin.forward(x));
            for (name, (a, b)) in ["output", "x grad", "weight grad", "bias grad"]
                .iter()
                .zip(ours.iter().zip(burns.iter()))
            {
                eprintln!("{n}x{i}->{o}: checking {name}");
                a.assert_approx_eq::<f32>(b, Tolerance::absolute(2e-4).set_relative(1e-4));
            }
            let plain = lin.valid();
            let x = x.inner();
            linear(&plain, x.clone())
                .into_data()
                .assert_approx_eq::<f32>(&plain.forward(x).into_data(), Tolerance::absolute(1e-4));
        }
    }

    /// An input that needs no gradient still gets the weight and bias gradients right.
    #[test]
    fn parameter_gradients_without_input_gradient() {
        let device = Device::flex().autodiff();
        let lin: Linear = LinearConfig::new(6, 4).init(&device);
        let x = Tensor::<2>::random([5, 6], Distribution::Uniform(-1.0, 1.0), &device);
        let grads = |y: Tensor<2>| {
            let g = y.sum().backward();
            let bias = lin.bias.as_ref().expect("bias").val();
            (
                lin.weight.val().grad(&g).expect("weight grad").into_data(),
                bias.grad(&g).expect("bias grad").into_data(),
            )
        };
        let (w1, b1) = grads(linear(&lin, x.clone()));
        let (w2, b2) = grads(lin.forward(x));
        w1.assert_approx_eq::<f32>(&w2, Tolerance::absolute(2e-4));
        b1.assert_approx_eq::<f32>(&b2, Tolerance::absolute(2e-4));
    }
}

//! The convolutions under autodiff, step by step as in Burn's `custom-cubecl-kernel` example:
//! the forward runs the inner backend's convolution and, when an input is tracked, records a
//! backward step holding what that forward kept; the backward step turns the output's
//! gradient into the gradients of input, weight and bias and hands each to its parent.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend};

use super::ConvKernels;
use crate::kernels::register_grads;

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
        // What the forward kept for this step.
        let (saved, weight, input_hw, stride, padding) = ops.state;
        // The parents in the order given to `prepare`: input, weight, bias; `None` for one
        // that needs no gradient.
        let [x_node, w_node, b_node] = ops.parents;
        // The gradient arriving at this step's output.
        let grad = grads.consume::<B>(&ops.node);
        // All three gradients in one call on the inner backend; the input's is computed only
        // when the input is tracked (the first layer's image is not).
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
        // Each gradient to its parent, where the parent is tracked.
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
        // The graph nodes of the inputs, in the order the backward step reads its parents.
        let nodes = [x.node(), weight.node(), bias.node()];
        // The inner backend's tensors.
        let (x, weight, bias) = (
            x.into_primitive(),
            weight.into_primitive(),
            bias.into_primitive(),
        );
        // The input's `[h, w]`, which the input gradient is folded back onto.
        let input_hw = {
            let s = burn::backend::TensorMetadata::shape(&x);
            [s[2], s[3]]
        };
        // The convolution itself, on the inner backend, keeping its patches (or input rows).
        let (out, saved) = B::conv_forward(x, weight.clone(), bias, stride, padding, transposed);
        // Record the backward step (compute bound: its state is kept, never recomputed) when
        // any input is tracked; otherwise just wrap the output.
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
        // What the forward kept, untracked, as the trait's second output.
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
        // Called directly (not through a recorded step): the inner backend's, untracked.
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

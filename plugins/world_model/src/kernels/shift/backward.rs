//! The shift mixture under autodiff, step by step as in Burn's `custom-cubecl-kernel`
//! example: the forward runs the inner backend's mixture and, when an input is tracked,
//! records a backward step holding the image and the weights; the backward step turns the
//! output's gradient into the image and weight gradients and hands each to its parent.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend};

use super::ShiftKernels;
use crate::kernels::register_grads;

/// The backward step of a shift mixture: `(radius, vertical)`.
#[derive(Debug)]
struct ShiftBackward(usize, bool);

impl<B: Backend + ShiftKernels> Backward<B, 2> for ShiftBackward {
    /// The image and the weights.
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        // What the forward kept for this step.
        let (img, weights) = ops.state;
        // The parents in the order given to `prepare`: image, weights; `None` for one that
        // needs no gradient.
        let [img_node, w_node] = ops.parents;
        // The gradient arriving at this step's output.
        let grad = grads.consume::<B>(&ops.node);
        // Both gradients in one call on the inner backend; the image's is computed only when
        // the image is tracked.
        let (dimg, dw) =
            B::shift_mix_backward(img, weights, grad, self.0, self.1, img_node.is_some());
        // Each gradient to its parent, where the parent is tracked.
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
        // The graph nodes of the inputs, in the order the backward step reads its parents.
        let nodes = [img.node(), weights.node()];
        // The inner backend's tensors.
        let (img, weights) = (img.into_primitive(), weights.into_primitive());
        // The mixture itself, on the inner backend.
        let out = B::shift_mix_forward(img.clone(), weights.clone(), radius, vertical);
        // Record the backward step (compute bound: its state, the image and the weights, is
        // kept, never recomputed) when either input is tracked; otherwise just wrap the output.
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
        // Called directly (not through a recorded step): the inner backend's, untracked.
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

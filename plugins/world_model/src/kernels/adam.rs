//! Adam in one pass per parameter.
//!
//! Burn's Adam updates each parameter with about a dozen whole-tensor ops (scale, add, square,
//! sqrt, divide...), each allocating a result: on the reference network that was a quarter of
//! a training step. [`FusedAdam`] does the same arithmetic in one parallel pass that updates
//! the parameter and both moments, and keeps Burn's state type, so optimizer state saved by
//! either loads into the other (checkpoints stay compatible).

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::optim::{
    Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer,
};
use burn::prelude::*;
use rayon::prelude::*;

use super::{on_flex, slices};

/// The Adam update as a Burn backend extension (flex only: the optimizer runs on the inner,
/// non-autodiff tensors).
#[backend_extension(Flex)]
pub trait AdamKernel: Backend {
    /// One Adam step at 1-based step `time`; returns the new parameter and moments.
    #[allow(clippy::too_many_arguments)]
    fn adam_update(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        lr: f64,
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
        time: i32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// A compact contiguous tensor the caller may write: copies only when shared or strided.
fn writable(x: FlexTensor) -> FlexTensor {
    let x = slices::contiguous(x);
    if x.layout().start_offset() == 0 && x.bytes().len() == x.layout().num_elements() * 4 {
        x
    } else {
        x.to_contiguous()
    }
}

impl AdamKernel for Flex {
    fn adam_update(
        param: FlexTensor,
        grad: FlexTensor,
        moment_1: FlexTensor,
        moment_2: FlexTensor,
        lr: f64,
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
        time: i32,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let grad = slices::contiguous(grad);
        let (mut p, mut m, mut v) = (writable(param), writable(moment_1), writable(moment_2));
        let bc2 = (1.0 - beta_2.powi(time)).sqrt();
        let step = lr as f32 * bc2 / (1.0 - beta_1.powi(time));
        let eps = epsilon * bc2;
        let g = grad.as_slice::<f32>().expect("contiguous f32");
        let (ps, ms, vs) = (
            p.storage_mut::<f32>(),
            m.storage_mut::<f32>(),
            v.storage_mut::<f32>(),
        );
        assert!(
            ps.len() == g.len() && ms.len() == g.len() && vs.len() == g.len(),
            "adam_update: parameter, gradient and moments differ in size"
        );
        let update = |(((p, m), v), g): (((&mut [f32], &mut [f32]), &mut [f32]), &[f32])| {
            for i in 0..g.len() {
                m[i] = beta_1 * m[i] + (1.0 - beta_1) * g[i];
                v[i] = beta_2 * v[i] + (1.0 - beta_2) * g[i] * g[i];
                p[i] -= step * m[i] / (v[i].sqrt() + eps);
            }
        };
        const CHUNK: usize = 16 * 1024;
        if g.len() < 2 * CHUNK {
            update((((ps, ms), vs), g));
        } else {
            ps.par_chunks_mut(CHUNK)
                .zip(ms.par_chunks_mut(CHUNK))
                .zip(vs.par_chunks_mut(CHUNK))
                .zip(g.par_chunks(CHUNK))
                .for_each(update);
        }
        (p, m, v)
    }
}

/// Adam (no weight decay, no AMSGrad) with the fused flex kernel; on other backends it is
/// Burn's own Adam. Same arithmetic and state as `AdamConfig::new().with_epsilon(epsilon)`.
#[derive(Clone)]
pub struct FusedAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    fallback: Adam,
}

impl FusedAdam {
    /// Adam with betas 0.9 / 0.999 and the given epsilon.
    pub fn new(epsilon: f32) -> Self {
        Self {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon,
            fallback: AdamConfig::new().with_epsilon(epsilon).build(),
        }
    }

    /// The whole-module optimizer the learner steps.
    pub fn init(self) -> ModuleOptimizer {
        ModuleOptimizer::from(self)
    }
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if !on_flex(&tensor) {
            return self.fallback.step(lr, tensor, grad, state);
        }
        let (m, v, time) = match state {
            Some(s) => (
                s.momentum.moment_1,
                s.momentum.moment_2,
                s.momentum.time + 1,
            ),
            None => (grad.zeros_like(), grad.zeros_like(), 1),
        };
        let (p, m, v) = Dispatch::adam_update(
            tensor.into_dispatch(),
            grad.into_dispatch(),
            m.into_dispatch(),
            v.into_dispatch(),
            lr,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            time as i32,
        );
        let momentum =
            AdaptiveMomentumState::new(time, Tensor::from_dispatch(m), Tensor::from_dispatch(v));
        (Tensor::from_dispatch(p), Some(AdamState::new(momentum)))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdamState::new(state.momentum.to_device(device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::GradientsParams;
    use burn::tensor::{Distribution, Tolerance};

    /// A seeded 300x200 linear layer (60,000 weights take the parallel path, the 200
    /// biases the serial one) and its input.
    fn setup() -> (Linear, Tensor<2>) {
        let device = Device::flex().autodiff();
        device.seed(7);
        let model = LinearConfig::new(300, 200).init(&device);
        let x = Tensor::<2>::random([8, 300], Distribution::Uniform(-1.0, 1.0), &device);
        (model, x)
    }

    fn train(
        mut model: Linear,
        x: &Tensor<2>,
        mut optim: ModuleOptimizer,
        steps: usize,
    ) -> (Linear, ModuleOptimizer) {
        for _ in 0..steps {
            let loss = model.forward(x.clone()).square().mean();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(1e-2, model, grads);
        }
        (model, optim)
    }

    fn assert_same(a: Linear, b: Linear) {
        let tol = Tolerance::<f32>::absolute(1e-5);
        a.weight
            .val()
            .into_data()
            .assert_approx_eq::<f32>(&b.weight.val().into_data(), tol);
        let (ab, bb) = (a.bias.expect("bias"), b.bias.expect("bias"));
        ab.val()
            .into_data()
            .assert_approx_eq::<f32>(&bb.val().into_data(), tol);
    }

    /// Twenty steps of the fused kernel land on the same weights as Burn's Adam.
    #[test]
    fn fused_adam_matches_burn_adam() {
        let (model, x) = setup();
        let (fused, _) = train(model.clone(), &x, FusedAdam::new(1e-8).init(), 20);
        let (burn, _) = train(model, &x, AdamConfig::new().with_epsilon(1e-8).init(), 20);
        assert_same(fused, burn);
    }

    /// With the weights and the optimizer state shared by a kept copy (as the learner keeps
    /// its last good step), the update lands on the same weights as in place and leaves the
    /// kept copy as it was.
    #[test]
    fn fused_adam_on_shared_weights_matches_and_leaves_the_copy() {
        let (model, x) = setup();
        let (in_place, _) = train(model.clone(), &x, FusedAdam::new(1e-8).init(), 5);
        let mut current = model.clone();
        let mut optim = FusedAdam::new(1e-8).init();
        let mut kept = (current.clone(), optim.clone());
        for _ in 0..5 {
            kept = (current.clone(), optim.clone());
            let loss = current.forward(x.clone()).square().mean();
            let grads = GradientsParams::from_grads(loss.backward(), &current);
            current = optim.step(1e-2, current, grads);
        }
        assert_same(current, in_place);
        let (before_last, _) = train(model, &x, FusedAdam::new(1e-8).init(), 4);
        assert_same(kept.0, before_last);
    }

    /// Burn's Adam state, saved and loaded into FusedAdam, continues exactly where Burn's
    /// Adam would have (checkpoints written before the fused kernel keep their momentum).
    #[test]
    fn fused_adam_continues_from_burn_adam_state() {
        let (model, x) = setup();
        let burn = || AdamConfig::new().with_epsilon(1e-8).init();
        let (half, burn_optim) = train(model.clone(), &x, burn(), 3);
        let bytes = burn_optim.into_bytes().expect("state serialises");
        let restored = FusedAdam::new(1e-8)
            .init()
            .from_bytes(bytes)
            .expect("Burn's Adam state loads into FusedAdam");
        let (continued, _) = train(half, &x, restored, 3);
        let (straight, _) = train(model, &x, burn(), 6);
        assert_same(continued, straight);
    }
}

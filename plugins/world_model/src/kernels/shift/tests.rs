use super::*;
use burn::tensor::{Distribution, Tolerance};

/// Output and the image and weight gradients of `f` under the upstream gradient `up`.
fn run(
    img: &Tensor<4>,
    weights: &Tensor<4>,
    up: &Tensor<4>,
    f: impl Fn(Tensor<4>, Tensor<4>) -> Tensor<4>,
) -> [burn::tensor::TensorData; 3] {
    let ig = img.clone().detach().require_grad();
    let wg = weights.clone().detach().require_grad();
    let y = f(ig.clone(), wg.clone());
    let g = (y.clone() * up.clone()).sum().backward();
    [
        y.into_data(),
        ig.grad(&g).expect("image grad").into_data(),
        wg.grad(&g).expect("weight grad").into_data(),
    ]
}

/// The kernel matches the Burn-ops mixture in output and both gradients, along rows and
/// columns, for radii below and above the image size (every pixel reads a border), with
/// a weight per pixel and per 2x2 block.
#[test]
fn shift_mix_matches_burn_ops_and_gradients() {
    let device = Device::flex().autodiff();
    for (radius, vertical, f) in [
        (2, false, 1),
        (2, true, 1),
        (7, false, 1),
        (7, true, 1),
        (3, false, 2),
        (3, true, 2),
    ] {
        let img = Tensor::<4>::random([3, 2, 6, 8], Distribution::Uniform(-1.0, 1.0), &device);
        let weights = Tensor::<4>::random(
            [3, 6 / f, 8 / f, 2 * radius + 1],
            Distribution::Uniform(0.0, 1.0),
            &device,
        );
        let up = Tensor::<4>::random([3, 2, 6, 8], Distribution::Uniform(-1.0, 1.0), &device);
        let ours = run(&img, &weights, &up, |i, w| {
            shift_mix(i, w, radius, vertical)
        });
        let refs = run(&img, &weights, &up, |i, w| {
            shift_mix_reference(i, w, radius, vertical)
        });
        for (name, (a, b)) in ["output", "image grad", "weight grad"]
            .iter()
            .zip(ours.iter().zip(refs.iter()))
        {
            eprintln!("radius {radius}, vertical {vertical}, block {f}: checking {name}");
            a.assert_approx_eq::<f32>(b, Tolerance::absolute(1e-4));
        }
    }
}

/// A one-hot weight moves the image by exactly its shift, repeating the border.
#[test]
fn one_hot_weights_move_the_image() {
    let device = Device::flex();
    let img = Tensor::<4>::from_floats([[[[1.0, 2.0, 3.0, 4.0]]]], &device);
    let radius = 2;
    // Channel radius + 1: everything one pixel to the right.
    let weights = Tensor::<4>::zeros([1, 1, 4, 5], &device).slice_assign(
        [0..1, 0..1, 0..4, 3..4],
        Tensor::ones([1, 1, 4, 1], &device),
    );
    let out: Vec<f32> = shift_mix(img.clone(), weights, radius, false)
        .into_data()
        .try_to_vec()
        .unwrap();
    assert_eq!(out, vec![1.0, 1.0, 2.0, 3.0]);
    // Down a column of one pixel, nothing moves.
    let weights = Tensor::<4>::ones([1, 1, 4, 5], &device);
    let out: Vec<f32> = shift_mix(img, weights, radius, true)
        .into_data()
        .try_to_vec()
        .unwrap();
    assert_eq!(out, vec![5.0, 10.0, 15.0, 20.0]);
}

/// Without autodiff, and with an image that needs no gradient, the kernel still runs.
#[test]
fn weight_gradient_without_image_gradient() {
    let device = Device::flex().autodiff();
    let img = Tensor::<4>::random([2, 3, 4, 4], Distribution::Uniform(-1.0, 1.0), &device);
    let w =
        Tensor::<4>::random([2, 4, 4, 3], Distribution::Uniform(0.0, 1.0), &device).require_grad();
    let g = shift_mix(img.clone(), w.clone(), 1, false).sum().backward();
    let ours = w.grad(&g).expect("weight grad").into_data();
    let w2 = w.clone().detach().require_grad();
    let g = shift_mix_reference(img, w2.clone(), 1, false)
        .sum()
        .backward();
    ours.assert_approx_eq::<f32>(
        &w2.grad(&g).expect("weight grad").into_data(),
        Tolerance::absolute(1e-4),
    );
}

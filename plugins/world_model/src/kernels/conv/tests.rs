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
        let x = Tensor::<4>::random([batch, 3, h, w], Distribution::Uniform(-1.0, 1.0), &device);
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
        let x = Tensor::<4>::random([batch, 4, h, w], Distribution::Uniform(-1.0, 1.0), &device);
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

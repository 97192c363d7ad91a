//! A branch-free `exp` for f32 that the compiler vectorises (glibc's `expm1f` and `tanhf`
//! were the single largest cost of the fused activations: scalar calls, one element at a
//! time; see `docs/performance.md`).
//! Cephes' polynomial after range reduction by ln 2; relative error below 3e-7 over the
//! whole clamped range, checked against `f32::exp` in the tests below.

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in a high part exact in f32 and the rest, so `x - n ln 2` loses no bits.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits (SSE2 has no
/// vector floor, so this keeps the loop vectorisable).
const ROUND: f32 = 12_582_912.0;

/// e^x, clamped to [-87, 88] (results between 1.6e-38 and 1.7e38; no infinities or denormals).
#[inline(always)]
pub(super) fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let y = p * r * r + r + 1.0;
    // 2^n from the integer in t's mantissa: (n + 127) << 23.
    let scale = f32::from_bits(((t.to_bits() as i32 - 0x4B40_0000 + 127) << 23) as u32);
    y * scale
}

/// Logistic sigmoid from [`exp`].
#[inline(always)]
pub(super) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// tanh from [`exp`]: `1 - 2 / (e^2x + 1)`; absolute error below 2e-7.
#[inline(always)]
pub(super) fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (exp(2.0 * x) + 1.0)
}

/// Lanes of the reductions below: one AVX2 vector (two SSE2 ones).
const LANES: usize = 8;

/// `sum(a[i] * b[i])` over eight running sums, so the loop vectorises: a single running sum
/// is a chain of dependent adds (float addition is not reassociated for us), one float at a
/// time at the adder's latency, which made the 25-move dot products of the warp slow.
#[inline(always)]
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (ac, ar) = a.as_chunks::<LANES>();
    let (bc, br) = b.as_chunks::<LANES>();
    let mut acc = [0.0f32; LANES];
    for (x, y) in ac.iter().zip(bc) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let tail: f32 = ar.iter().zip(br).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// `sum(a)` over eight running sums (see [`dot`]).
#[inline(always)]
pub(super) fn sum(a: &[f32]) -> f32 {
    let (ac, ar) = a.as_chunks::<LANES>();
    let mut acc = [0.0f32; LANES];
    for x in ac {
        for l in 0..LANES {
            acc[l] += x[l];
        }
    }
    acc.iter().sum::<f32>() + ar.iter().sum::<f32>()
}

/// The largest element (`-inf` for none) over eight running maxima (see [`dot`]).
#[inline(always)]
pub(super) fn max(a: &[f32]) -> f32 {
    let (ac, ar) = a.as_chunks::<LANES>();
    let mut acc = [f32::NEG_INFINITY; LANES];
    for x in ac {
        for l in 0..LANES {
            acc[l] = if x[l] > acc[l] { x[l] } else { acc[l] };
        }
    }
    let m = acc.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    ar.iter().copied().fold(m, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> impl Iterator<Item = f32> {
        (-870_000..=880_000).map(|i| i as f32 * 1e-4)
    }

    #[test]
    fn exp_matches_std_within_3e_7_relative() {
        for x in grid() {
            let (got, want) = (exp(x), (x as f64).exp());
            let rel = ((got as f64 - want) / want).abs();
            assert!(rel < 3e-7, "exp({x}) = {got}, want {want} (rel {rel:e})");
        }
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) > 0.0 && exp(1000.0).is_finite());
    }

    #[test]
    fn reductions_match_the_plain_loops() {
        for n in [0, 1, 7, 8, 9, 25, 64, 1000] {
            let a: Vec<f32> = (0..n)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
                .collect();
            let b: Vec<f32> = (0..n)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) / 5.0)
                .collect();
            let plain_dot: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            let plain_sum: f32 = a.iter().sum();
            let tol = 1e-4 * (1.0 + plain_dot.abs());
            assert!((dot(&a, &b) - plain_dot).abs() <= tol, "dot of {n}");
            assert!(
                (sum(&a) - plain_sum).abs() <= 1e-4 * (1.0 + plain_sum.abs()),
                "sum of {n}"
            );
            let plain_max = a.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(max(&a), plain_max, "max of {n}");
        }
    }

    #[test]
    fn tanh_and_sigmoid_match_std() {
        for x in grid().step_by(7) {
            let x = x / 4.0;
            assert!(
                (tanh(x) as f64 - (x as f64).tanh()).abs() < 2e-7,
                "tanh({x})"
            );
            let s = 1.0 / (1.0 + (-(x as f64)).exp());
            assert!((sigmoid(x) as f64 - s).abs() < 2e-7, "sigmoid({x})");
        }
    }
}

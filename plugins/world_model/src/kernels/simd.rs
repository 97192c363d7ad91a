//! Wider vectors for the kernels' own loops where the CPU has them.
//!
//! The crate is built for baseline x86-64, whose vectors are SSE2's four floats; the loops
//! of the activations, the softmax and the shift mixture vectorise to that width. [`wide`]
//! runs a loop compiled again with AVX2 (eight floats) when the CPU has it, chosen at run
//! time as `gemm` chooses its AVX-512 kernels, so one binary runs everywhere.

/// Runs `f`, compiled for AVX2 where the CPU has it (the closure and everything it inlines,
/// such as `fastmath::exp`), else as built. Call it inside each parallel task: the closure's
/// loop must be inlined into it to get the wider code.
#[inline(always)]
pub(super) fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, the only feature `avx2` is compiled with.
        return unsafe { avx2(f) };
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_runs_the_closure_once_and_returns_its_value() {
        let mut calls = 0;
        let v = wide(|| {
            calls += 1;
            (0..1000).map(|i| i as f32).sum::<f32>()
        });
        assert_eq!((v, calls), (499_500.0, 1));
    }
}

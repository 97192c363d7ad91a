//! Matrix products written straight into a fresh f32 buffer.
//!
//! flex's `float_matmul` calls the same `gemm` crate, but first zero-fills a byte buffer and
//! then copies it into an aligned one: two extra passes over every output, a sizeable share
//! of a reference training step in `perf` (`memset` + `memmove` under `FlexTensor::empty`;
//! see `docs/performance.md`). Here the output is allocated once and `gemm` writes it
//! without reading it.

use burn::backend::flex::{FlexTensor, Layout};
use burn::tensor::{DType, Shape};
use gemm::Parallelism;
use rayon::prelude::*;

use super::slices;

/// Below this many multiply-adds a product runs on the calling thread (as flex decides).
const PARALLEL_MIN_FMA: usize = 192 * 192 * 192;
/// Products with an inner dimension this long and an output this small split the inner
/// dimension across threads.
const SPLIT_K_MIN: usize = 16 * 1024;
const SPLIT_K_MAX_OUTPUT: usize = 64 * 64;

/// `a @ b` for 2-D f32 tensors of any strides (transposed views included), as a new
/// contiguous `[m, n]` tensor.
pub(super) fn matmul(a: &FlexTensor, b: &FlexTensor) -> FlexTensor {
    assert!(
        a.dtype() == DType::F32 && b.dtype() == DType::F32,
        "gemm takes f32 tensors"
    );
    let [m, k]: [usize; 2] = a.layout().shape().dims();
    let [k2, n]: [usize; 2] = b.layout().shape().dims();
    assert_eq!(k, k2, "matmul [{m}, {k}] @ [{k2}, {n}]");
    let (a_rs, a_cs) = strides(a.layout());
    let (b_rs, b_cs) = strides(b.layout());
    let a_data = a.storage::<f32>();
    let b_data = b.storage::<f32>();
    check_bounds(a_data.len(), a.layout(), m, k);
    check_bounds(b_data.len(), b.layout(), k, n);
    if k == 0 {
        let zeros = vec![0.0; m * n];
        return slices::from_vec(zeros, &Layout::contiguous(Shape::new([m, n])));
    }
    let threads = rayon::current_num_threads();
    if k >= SPLIT_K_MIN && m * n <= SPLIT_K_MAX_OUTPUT && threads > 1 {
        // A small output over a long inner dimension (a weight gradient summed over every
        // pixel): gemm parallelises over the output only, so it would run on one thread.
        // Each thread takes a fixed share of `k`; the shares are added in order.
        let parts: Vec<Vec<f32>> = (0..threads)
            .into_par_iter()
            .map(|i| {
                let (from, to) = (i * k / threads, (i + 1) * k / threads);
                let mut part = Vec::with_capacity(m * n);
                // SAFETY: rows `from..to` of b and columns `from..to` of a lie inside the
                // views checked above; `part` has room for `m * n` values, all written.
                unsafe {
                    let a = a_data.as_ptr().add(a.layout().start_offset());
                    let b = b_data.as_ptr().add(b.layout().start_offset());
                    product(
                        part.as_mut_ptr(),
                        [m, n, to - from],
                        a.offset(from as isize * a_cs),
                        (a_rs, a_cs),
                        b.offset(from as isize * b_rs),
                        (b_rs, b_cs),
                        Parallelism::None,
                    );
                    part.set_len(m * n);
                }
                part
            })
            .collect();
        let mut parts = parts.into_iter();
        let mut out = parts.next().expect("at least two threads");
        for part in parts {
            out.iter_mut().zip(&part).for_each(|(o, v)| *o += v);
        }
        return slices::from_vec(out, &Layout::contiguous(Shape::new([m, n])));
    }
    let mut out: Vec<f32> = Vec::with_capacity(m * n);
    let parallelism = if m * n * k >= PARALLEL_MIN_FMA {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    };
    // SAFETY: the bounds of both operands' views were checked above; `out` has room for
    // `m * n` values, and gemm writes every one of them before anything reads them.
    unsafe {
        product(
            out.as_mut_ptr(),
            [m, n, k],
            a_data.as_ptr().add(a.layout().start_offset()),
            (a_rs, a_cs),
            b_data.as_ptr().add(b.layout().start_offset()),
            (b_rs, b_cs),
            parallelism,
        );
        out.set_len(m * n);
    }
    slices::from_vec(out, &Layout::contiguous(Shape::new([m, n])))
}

/// `dst = a @ b` for `[m, k] @ [k, n]` views given by pointer and (row, column) strides,
/// into a contiguous `[m, n]` destination that is written, never read.
///
/// # Safety
/// Every element of both views must be readable and `dst` must have room for `m * n` floats.
unsafe fn product(
    dst: *mut f32,
    [m, n, k]: [usize; 3],
    a: *const f32,
    (a_rs, a_cs): (isize, isize),
    b: *const f32,
    (b_rs, b_cs): (isize, isize),
    parallelism: Parallelism,
) {
    // SAFETY: as the caller promises.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            n as isize,
            false,
            a,
            a_cs,
            a_rs,
            b,
            b_cs,
            b_rs,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// (row stride, column stride) of a 2-D layout, in elements.
fn strides(layout: &Layout) -> (isize, isize) {
    let s = layout.strides();
    (s[0], s[1])
}

/// Panics unless every element of the `[rows, cols]` view lies inside `len`.
fn check_bounds(len: usize, layout: &Layout, rows: usize, cols: usize) {
    if rows == 0 || cols == 0 {
        return;
    }
    let (rs, cs) = strides(layout);
    let start = layout.start_offset() as isize;
    let corners = [
        start,
        start + (rows as isize - 1) * rs,
        start + (cols as isize - 1) * cs,
        start + (rows as isize - 1) * rs + (cols as isize - 1) * cs,
    ];
    assert!(
        corners.iter().all(|&c| c >= 0 && (c as usize) < len),
        "matmul operand view outside its storage"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::backend::ops::FloatTensorOps;

    fn tensor(rows: usize, cols: usize, seed: u32) -> FlexTensor {
        let data = (0..rows * cols)
            .map(|i| (((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        slices::from_vec(data, &Layout::contiguous(Shape::new([rows, cols])))
    }

    fn assert_close(a: &FlexTensor, b: &FlexTensor) {
        let a = slices::contiguous(a.clone());
        let b = slices::contiguous(b.clone());
        assert_eq!(a.layout().shape(), b.layout().shape());
        let (a, b) = (a.as_slice::<f32>().unwrap(), b.as_slice::<f32>().unwrap());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "{i}: {x} vs {y}");
        }
    }

    #[test]
    fn matches_flex_for_plain_transposed_and_narrowed_operands() {
        // Small (one thread) and large (rayon) products, every orientation the kernels use.
        for (m, k, n) in [(5, 7, 3), (300, 200, 130)] {
            let a = tensor(m, k, 1);
            let b = tensor(k, n, 2);
            let bt = tensor(n, k, 3);
            let at = tensor(k, m, 4);
            let cases = [
                (a.clone(), b.clone()),
                (a.clone(), Flex::float_swap_dims(bt.clone(), 0, 1)),
                (Flex::float_swap_dims(at.clone(), 0, 1), b.clone()),
                (
                    Flex::float_swap_dims(at, 0, 1),
                    Flex::float_swap_dims(bt, 0, 1),
                ),
                (a.narrow(1, 1, k - 2), b.narrow(0, 1, k - 2)),
            ];
            for (x, y) in cases {
                assert_close(&matmul(&x, &y), &Flex::float_matmul(x, y));
            }
        }
    }

    #[test]
    fn long_inner_dimension_split_across_threads_matches_flex() {
        // A weight gradient's shape: x^T [16, k] @ g [k, 25], k past SPLIT_K_MIN.
        let k = SPLIT_K_MIN + 1234;
        let x = tensor(k, 16, 5);
        let g = tensor(k, 25, 6);
        let xt = Flex::float_swap_dims(x, 0, 1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let ours = pool.install(|| matmul(&xt, &g));
        assert_close(&ours, &Flex::float_matmul(xt, g));
    }

    #[test]
    fn empty_inner_dimension_gives_zeros() {
        let a = tensor(3, 0, 1);
        let b = tensor(0, 4, 2);
        let out = matmul(&a, &b);
        assert_eq!(out.layout().shape().dims::<2>(), [3, 4]);
        assert!(out.as_slice::<f32>().unwrap().iter().all(|&v| v == 0.0));
    }

    #[test]
    #[should_panic(expected = "matmul [2, 3] @ [4, 5]")]
    fn mismatched_shapes_are_refused() {
        matmul(&tensor(2, 3, 1), &tensor(4, 5, 2));
    }
}

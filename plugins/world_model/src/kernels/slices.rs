//! Parallel elementwise passes over flex tensors' f32 storage, shared by the kernels.

use burn::backend::flex::{FlexTensor, Layout};
use burn::tensor::{Bytes, DType};
use rayon::prelude::*;

use std::mem::MaybeUninit;

use super::simd::wide;

/// Below this many elements a pass runs on the calling thread (splitting costs more).
const PARALLEL_MIN: usize = 32 * 1024;
/// Elements per parallel chunk: large enough to amortise scheduling, small enough to balance.
const CHUNK: usize = 16 * 1024;

/// The tensor as one contiguous f32 slice (copies only a strided view).
pub(super) fn contiguous(x: FlexTensor) -> FlexTensor {
    assert_eq!(x.dtype(), DType::F32, "fused kernels take f32 tensors");
    if x.as_slice::<f32>().is_some() {
        x
    } else {
        x.to_contiguous()
    }
}

/// A fresh contiguous f32 tensor of `shape` holding `data`.
pub(super) fn from_vec(data: Vec<f32>, layout: &Layout) -> FlexTensor {
    FlexTensor::new(
        Bytes::from_elems(data),
        Layout::contiguous(layout.shape().clone()),
        DType::F32,
    )
}

/// A new buffer of `len` floats, built part by part in parallel: each part of `part`
/// floats (the last may be shorter) is zeroed and then handed to `f(index, part)` on the
/// thread that fills it. A `vec![0.0; len]` zeroes the whole buffer on one thread first,
/// through main memory; here the zeroing is spread over the threads and leaves each part in
/// its core's cache for `f` (`memset` was 5% of the game's training step).
pub(super) fn par_parts(
    len: usize,
    part: usize,
    f: impl Fn(usize, &mut [f32]) + Sync + Send,
) -> Vec<f32> {
    let mut buf: Vec<MaybeUninit<f32>> = Vec::with_capacity(len);
    // SAFETY: `MaybeUninit` needs no initialisation, and the capacity is `len`.
    unsafe { buf.set_len(len) };
    let fill = |i: usize, chunk: &mut [MaybeUninit<f32>]| {
        chunk.iter_mut().for_each(|v| {
            v.write(0.0);
        });
        // SAFETY: every element of `chunk` was written just above; `MaybeUninit<f32>` has
        // the layout of `f32`.
        let chunk = unsafe { &mut *(chunk as *mut [MaybeUninit<f32>] as *mut [f32]) };
        f(i, chunk);
    };
    let part = part.max(1);
    if len < PARALLEL_MIN {
        buf.chunks_mut(part)
            .enumerate()
            .for_each(|(i, c)| fill(i, c));
    } else {
        buf.par_chunks_mut(part)
            .enumerate()
            .for_each(|(i, c)| fill(i, c));
    }
    let mut buf = std::mem::ManuallyDrop::new(buf);
    // SAFETY: every part was initialised above (a panic in `f` never gets here), and
    // `MaybeUninit<f32>` has the layout of `f32`, so the allocation is a valid `Vec<f32>`.
    unsafe { Vec::from_raw_parts(buf.as_mut_ptr().cast::<f32>(), buf.len(), buf.capacity()) }
}

/// Column sums of `[r, c]` contiguous rows, `[c]`: a bias gradient.
pub(super) fn column_sums(rows: &FlexTensor) -> FlexTensor {
    let c = rows.layout().shape()[1];
    let src = rows.as_slice::<f32>().expect("contiguous f32");
    let sum_rows = |part: &[f32]| {
        let mut sums = vec![0.0f32; c];
        for row in part.chunks(c) {
            sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
        }
        sums
    };
    // Many rows (a bias over every pixel block): partial sums over fixed runs of rows on
    // every thread, added up in order, so the result does not depend on the scheduling.
    let sums = if src.len() >= PARALLEL_MIN && c > 0 {
        let rows_per_task = (CHUNK * 4 / c).max(1) * c;
        let parts: Vec<Vec<f32>> = src.par_chunks(rows_per_task).map(sum_rows).collect();
        let mut sums = vec![0.0f32; c];
        for part in parts {
            sums.iter_mut().zip(&part).for_each(|(s, v)| *s += v);
        }
        sums
    } else {
        sum_rows(src)
    };
    from_vec(sums, &Layout::contiguous(burn::tensor::Shape::new([c])))
}

/// `f` applied to every element: in place when the tensor owns its buffer, else into a new one.
pub(super) fn map(x: FlexTensor, f: impl Fn(f32) -> f32 + Sync + Send) -> FlexTensor {
    let mut x = contiguous(x);
    let n = x.layout().num_elements();
    let owns_all = x.layout().start_offset() == 0;
    if owns_all
        && let Some(buf) = x.try_storage_mut::<f32>()
        && buf.len() == n
    {
        chunks(buf, |c| c.iter_mut().for_each(|v| *v = f(*v)));
        return x;
    }
    let src = x.as_slice::<f32>().expect("contiguous f32");
    let out = par_parts(n, CHUNK, |i, o| {
        let s = &src[i * CHUNK..][..o.len()];
        wide(|| o.iter_mut().zip(s).for_each(|(o, &s)| *o = f(s)))
    });
    from_vec(out, x.layout())
}

/// `f(a, b)` for every pair of elements of two same-shaped tensors, into a new tensor.
pub(super) fn zip(
    a: FlexTensor,
    b: FlexTensor,
    f: impl Fn(f32, f32) -> f32 + Sync + Send,
) -> FlexTensor {
    assert_eq!(
        a.layout().shape(),
        b.layout().shape(),
        "fused kernel operands differ in shape"
    );
    let (a, b) = (contiguous(a), contiguous(b));
    let (sa, sb) = (
        a.as_slice::<f32>().expect("contiguous f32"),
        b.as_slice::<f32>().expect("contiguous f32"),
    );
    let out = par_parts(sa.len(), CHUNK, |i, o| {
        let (a, b) = (&sa[i * CHUNK..][..o.len()], &sb[i * CHUNK..][..o.len()]);
        wide(|| {
            o.iter_mut()
                .zip(a.iter().zip(b))
                .for_each(|(o, (&x, &y))| *o = f(x, y))
        })
    });
    from_vec(out, a.layout())
}

/// Runs `body` over chunks of `buf`, in parallel when it is large.
fn chunks(buf: &mut [f32], body: impl Fn(&mut [f32]) + Sync + Send) {
    if buf.len() < PARALLEL_MIN {
        wide(|| body(buf));
    } else {
        buf.par_chunks_mut(CHUNK).for_each(|c| wide(|| body(c)));
    }
}

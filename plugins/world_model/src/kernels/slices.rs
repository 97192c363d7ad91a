//! Parallel elementwise passes over flex tensors' f32 storage, shared by the kernels.

use burn::backend::flex::{FlexTensor, Layout};
use burn::tensor::{Bytes, DType};
use rayon::prelude::*;

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

/// Column sums of `[r, c]` contiguous rows, `[c]`: a bias gradient.
pub(super) fn column_sums(rows: &FlexTensor) -> FlexTensor {
    let c = rows.layout().shape()[1];
    let src = rows.as_slice::<f32>().expect("contiguous f32");
    let mut sums = vec![0.0f32; c];
    for row in src.chunks(c) {
        sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
    }
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
    let mut out = vec![0.0f32; n];
    chunks_with(&mut out, src, |o, s| {
        o.iter_mut().zip(s).for_each(|(o, &s)| *o = f(s))
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
    let mut out = vec![0.0f32; sa.len()];
    let body = |o: &mut [f32], a: &[f32], b: &[f32]| {
        o.iter_mut()
            .zip(a.iter().zip(b))
            .for_each(|(o, (&x, &y))| *o = f(x, y))
    };
    if out.len() < PARALLEL_MIN {
        body(&mut out, sa, sb);
    } else {
        out.par_chunks_mut(CHUNK)
            .zip(sa.par_chunks(CHUNK).zip(sb.par_chunks(CHUNK)))
            .for_each(|(o, (a, b))| body(o, a, b));
    }
    from_vec(out, a.layout())
}

/// Runs `body` over chunks of `buf`, in parallel when it is large.
fn chunks(buf: &mut [f32], body: impl Fn(&mut [f32]) + Sync + Send) {
    if buf.len() < PARALLEL_MIN {
        body(buf);
    } else {
        buf.par_chunks_mut(CHUNK).for_each(body);
    }
}

/// Runs `body` over matching chunks of `out` and `src`, in parallel when they are large.
fn chunks_with(out: &mut [f32], src: &[f32], body: impl Fn(&mut [f32], &[f32]) + Sync + Send) {
    if out.len() < PARALLEL_MIN {
        body(out, src);
    } else {
        out.par_chunks_mut(CHUNK)
            .zip(src.par_chunks(CHUNK))
            .for_each(|(o, s)| body(o, s));
    }
}

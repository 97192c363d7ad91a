//! Stop glibc from handing freed tensor memory back to the kernel between training steps.
//!
//! A training step allocates and frees tens of megabytes of multi-megabyte buffers. With
//! glibc's defaults each such buffer is a fresh `mmap` (or the heap top is trimmed after it is
//! freed), so the next step page-faults and zeroes all of it again, a visible share of the
//! step time (the counts are in `docs/performance.md`). PyTorch avoids the same cost with its
//! caching allocator. Keeping freed memory in the heap costs resident memory equal to the peak
//! of one step.
//!
//! The setting is process-wide, so the library never makes it on its own: nothing in this
//! crate (not the [`trainer`](crate::trainer) thread either) calls [`keep_freed_memory`].
//! Programs that train call it once at start: `world-model-train` and `world-model-bench` do
//! (the bench's `--default-malloc` leaves it out, to measure it), as does the game's `main`.

/// Keeps freed memory in the process heap (glibc only; elsewhere nothing). Call it once at
/// start-up, before training, in programs that train; it changes the allocator of the whole
/// process, so a library or plugin should leave the choice to the program.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator tunables; any value is accepted or refused
    // (return 0) without touching existing allocations.
    unsafe {
        // Serve buffers up to 32 MiB (glibc's maximum) from the heap, never trim it, and
        // grow it in 64 MiB steps.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

//! Puts captured frames back in tick order before the model sees them. Readbacks arrive a
//! few ticks late and (in principle) out of order; pairing is by tick, never by arrival.

use std::collections::BTreeMap;

use bevy::prelude::*;
use world_model::Frame;

/// What happened to a pushed frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Queued.
    Queued,
    /// A frame of this tick is already queued or was processed (several frames per tick).
    Duplicate,
    /// Older than a frame already processed: too late to use.
    Late,
}

/// A frame ready for the model.
#[derive(Debug)]
pub(crate) struct Ready {
    pub tick: u64,
    pub frame: Frame,
    /// True when the previous processed frame is that of `tick - 1` (the state carries on).
    pub contiguous: bool,
}

/// Frames of the model's camera waiting for their turn, by tick.
#[derive(Resource, Debug, Default)]
pub(crate) struct FrameQueue {
    pending: BTreeMap<u64, Frame>,
    last: Option<u64>,
    /// A frame-size mismatch was reported already (report once, not every frame).
    pub size_error_reported: bool,
}

impl FrameQueue {
    /// Ticks to wait for a missing frame before going on without it.
    pub const REORDER_WINDOW: u64 = 4;
    /// Frames held at most (a stalled model never grows memory).
    pub const MAX_PENDING: usize = 64;

    pub fn push(&mut self, tick: u64, frame: Frame) -> Pushed {
        match self.last {
            Some(last) if tick < last => return Pushed::Late,
            Some(last) if tick == last => return Pushed::Duplicate,
            _ => {}
        }
        if self.pending.contains_key(&tick) {
            return Pushed::Duplicate;
        }
        self.pending.insert(tick, frame);
        while self.pending.len() > Self::MAX_PENDING {
            self.pending.pop_first();
        }
        Pushed::Queued
    }

    /// The next frame to process at tick `now`, whose following action (that of `tick + 1`)
    /// must already be known, so `tick < now`. A frame after a gap waits up to
    /// [`Self::REORDER_WINDOW`] ticks for the missing one.
    pub fn pop_ready(&mut self, now: u64) -> Option<Ready> {
        let (&tick, _) = self.pending.first_key_value()?;
        if tick >= now {
            return None;
        }
        let contiguous = self.last.is_some_and(|l| l + 1 == tick);
        if !contiguous && self.last.is_some() && now < tick + Self::REORDER_WINDOW {
            return None;
        }
        let (tick, frame) = self.pending.pop_first()?;
        self.last = Some(tick);
        Some(Ready {
            tick,
            frame,
            contiguous,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: u8) -> Frame {
        Frame::filled(2, 2, [v, v, v])
    }

    fn drain(q: &mut FrameQueue, now: u64) -> Vec<(u64, bool)> {
        std::iter::from_fn(|| q.pop_ready(now))
            .map(|r| (r.tick, r.contiguous))
            .collect()
    }

    #[test]
    fn frames_come_out_in_tick_order_once_the_next_action_is_known() {
        let mut q = FrameQueue::default();
        for t in [3, 1, 2] {
            assert_eq!(q.push(t, f(t as u8)), Pushed::Queued);
        }
        assert_eq!(
            drain(&mut q, 3),
            vec![(1, false), (2, true)],
            "3 waits for tick 4"
        );
        assert_eq!(drain(&mut q, 4), vec![(3, true)]);
    }

    #[test]
    fn late_and_duplicate_frames_are_refused() {
        let mut q = FrameQueue::default();
        q.push(5, f(5));
        drain(&mut q, 10);
        assert_eq!(q.push(4, f(4)), Pushed::Late);
        assert_eq!(q.push(5, f(5)), Pushed::Duplicate);
        q.push(6, f(6));
        assert_eq!(q.push(6, f(6)), Pushed::Duplicate);
    }

    #[test]
    fn a_gap_is_waited_for_then_skipped() {
        let mut q = FrameQueue::default();
        q.push(1, f(1));
        assert_eq!(drain(&mut q, 2), vec![(1, false)]);
        q.push(3, f(3));
        assert!(drain(&mut q, 5).is_empty(), "waiting for tick 2");
        q.push(2, f(2));
        assert_eq!(drain(&mut q, 5), vec![(2, true), (3, true)]);
        q.push(5, f(5));
        assert_eq!(drain(&mut q, 9), vec![(5, false)], "4 never came");
    }
}

//! A bounded sequence replay buffer: frames stored as u8 in one ring, sampled as windows of
//! consecutive steps with episode starts flagged.

use burn::prelude::*;
use rand::{Rng, RngExt};

use crate::config::Sampling;
use crate::frame::{Frame, write_chw};
use crate::model::Batch;

/// One step of experience: a frame, the action taken after it, whether it starts an
/// episode (nothing before it is related to it), and what arriving at it paid and whether it
/// ended the episode.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Tick of the frame in its source; a gap to the previous step starts a new episode.
    pub tick: u64,
    /// The observed frame.
    pub frame: Frame,
    /// The action taken after seeing `frame`.
    pub action: Vec<f32>,
    /// True when `frame` starts an episode (a teleport, a reset, a new level).
    pub first: bool,
    /// The reward of the transition into this frame (0 where nothing is paid).
    pub reward: f32,
    /// True when this frame ends its episode as terminal (a goal reached): nothing follows
    /// it, and the next step starts a new episode. An episode cut by a time limit is not
    /// terminal: its next step is only `first`.
    pub terminal: bool,
}

impl Step {
    /// A step with no reward that ends nothing (what a game without a task records).
    pub fn new(tick: u64, frame: Frame, action: Vec<f32>, first: bool) -> Self {
        Self {
            tick,
            frame,
            action,
            first,
            reward: 0.0,
            terminal: false,
        }
    }
}

/// Ring buffer of steps with a fixed frame capacity; the oldest steps are overwritten.
///
/// Memory is allocated once, on the first push: `capacity * (width * height * 3 + 4 * action_dim
/// + 6)` bytes, so a 20,000-frame buffer at 64x64 takes 235 MiB and never more.
#[derive(Debug)]
pub struct ReplayBuffer {
    capacity: usize,
    width: usize,
    height: usize,
    action_dim: usize,
    frames: Vec<u8>,
    actions: Vec<f32>,
    first: Vec<bool>,
    reward: Vec<f32>,
    terminal: Vec<bool>,
    /// Index in the ring of the next write.
    head: usize,
    len: usize,
    last_tick: Option<u64>,
    pushed: u64,
}

impl ReplayBuffer {
    /// An empty buffer for `capacity` frames of `width x height` and actions of `action_dim`.
    pub fn new(capacity: usize, width: usize, height: usize, action_dim: usize) -> Self {
        assert!(capacity > 0, "replay capacity must be at least 1");
        Self {
            capacity,
            width,
            height,
            action_dim,
            frames: Vec::new(),
            actions: Vec::new(),
            first: Vec::new(),
            reward: Vec::new(),
            terminal: Vec::new(),
            head: 0,
            len: 0,
            last_tick: None,
            pushed: 0,
        }
    }

    /// Steps stored now (at most the capacity).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True before the first push.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Maximum number of steps kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Steps pushed since creation, including overwritten ones.
    pub fn total_pushed(&self) -> u64 {
        self.pushed
    }

    fn frame_bytes(&self) -> usize {
        self.width * self.height * 3
    }

    /// Appends a step, overwriting the oldest when full. A step whose tick does not follow the
    /// previous one is stored as an episode start, so dropped frames never splice two
    /// unrelated moments into one sequence; so is the step after a terminal one, so no
    /// sequence runs on past the end of an episode.
    ///
    /// # Panics
    /// If the frame or action size differs from the buffer's (a programming error;
    /// [`Learner::push`](crate::Learner::push) checks sizes before pushing).
    pub fn push(&mut self, step: &Step) {
        assert_eq!(
            (step.frame.width, step.frame.height, step.action.len()),
            (self.width, self.height, self.action_dim),
            "step does not match the replay buffer's frame size or action size"
        );
        if self.frames.is_empty() {
            self.frames = vec![0; self.capacity * self.frame_bytes()];
            self.actions = vec![0.0; self.capacity * self.action_dim];
            self.first = vec![false; self.capacity];
            self.reward = vec![0.0; self.capacity];
            self.terminal = vec![false; self.capacity];
        }
        let after_terminal = self.len > 0 && self.terminal[self.ring_index(self.len - 1)];
        let fb = self.frame_bytes();
        let i = self.head;
        self.frames[i * fb..(i + 1) * fb].copy_from_slice(&step.frame.rgb);
        self.actions[i * self.action_dim..(i + 1) * self.action_dim].copy_from_slice(&step.action);
        let contiguous = self
            .last_tick
            .is_some_and(|t| step.tick == t.wrapping_add(1));
        self.first[i] = step.first || !contiguous || after_terminal;
        self.reward[i] = step.reward;
        self.terminal[i] = step.terminal;
        self.last_tick = Some(step.tick);
        self.head = (self.head + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
        self.pushed += 1;
    }

    /// Ring index of the `logical`-th oldest stored step.
    fn ring_index(&self, logical: usize) -> usize {
        (self.head + self.capacity - self.len + logical) % self.capacity
    }

    /// Chooses the logical start of a window of `seq_len` steps.
    fn sample_start(&self, seq_len: usize, sampling: Sampling, rng: &mut impl Rng) -> usize {
        let starts = self.len - seq_len + 1;
        match sampling {
            Sampling::Recent { fraction, window } if rng.random::<f32>() < fraction => {
                let recent = window.min(self.len).max(seq_len) - seq_len + 1;
                starts - 1 - rng.random_range(0..recent)
            }
            _ => rng.random_range(0..starts),
        }
    }

    /// Draws `batch` windows of `seq_len` consecutive steps as tensors on `device`, or `None`
    /// while fewer than `seq_len` steps are stored. The first step of every window is flagged
    /// as an episode start (nothing before it is in the window).
    pub fn sample(
        &self,
        batch: usize,
        seq_len: usize,
        sampling: Sampling,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Option<Batch> {
        if self.len < seq_len || batch == 0 {
            return None;
        }
        let (w, h, a) = (self.width, self.height, self.action_dim);
        let fb = self.frame_bytes();
        let mut obs = vec![0f32; batch * seq_len * fb];
        let mut actions = vec![0f32; batch * seq_len * a];
        let mut first = vec![0f32; batch * seq_len];
        let mut reward = vec![0f32; batch * seq_len];
        let mut cont = vec![0f32; batch * seq_len];
        for b in 0..batch {
            let start = self.sample_start(seq_len, sampling, rng);
            for t in 0..seq_len {
                let slot = b * seq_len + t;
                let i = self.ring_index(start + t);
                write_chw(
                    &self.frames[i * fb..(i + 1) * fb],
                    w,
                    h,
                    &mut obs[slot * fb..(slot + 1) * fb],
                );
                actions[slot * a..(slot + 1) * a]
                    .copy_from_slice(&self.actions[i * a..(i + 1) * a]);
                first[slot] = if t == 0 || self.first[i] { 1.0 } else { 0.0 };
                reward[slot] = self.reward[i];
                cont[slot] = if self.terminal[i] { 0.0 } else { 1.0 };
            }
        }
        Some(Batch {
            obs: Tensor::from_data(TensorData::new(obs, [batch, seq_len, 3, h, w]), device),
            actions: Tensor::from_data(TensorData::new(actions, [batch, seq_len, a]), device),
            first: Tensor::from_data(TensorData::new(first, [batch, seq_len]), device),
            reward: Tensor::from_data(TensorData::new(reward, [batch, seq_len]), device),
            cont: Tensor::from_data(TensorData::new(cont, [batch, seq_len]), device),
        })
    }

    /// The stored steps, oldest first (for writing a dataset or inspecting the buffer).
    pub fn iter(&self) -> impl Iterator<Item = (Frame, &[f32], bool)> + '_ {
        let fb = self.frame_bytes();
        (0..self.len).map(move |logical| {
            let i = self.ring_index(logical);
            (
                Frame {
                    width: self.width,
                    height: self.height,
                    rgb: self.frames[i * fb..(i + 1) * fb].to_vec(),
                },
                &self.actions[i * self.action_dim..(i + 1) * self.action_dim],
                self.first[i],
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn step(tick: u64) -> Step {
        Step::new(
            tick,
            Frame::filled(2, 2, [tick as u8, 0, 0]),
            vec![tick as f32],
            false,
        )
    }

    #[test]
    fn push_overwrites_when_full_and_memory_stays_bounded() {
        let mut buf = ReplayBuffer::new(3, 2, 2, 1);
        for t in 0..10 {
            buf.push(&step(t));
        }
        assert_eq!(buf.len(), 3);
        assert_eq!(buf.total_pushed(), 10);
        assert_eq!(
            buf.frames.len(),
            3 * 12,
            "storage never grows past capacity"
        );
        let kept: Vec<u8> = buf.iter().map(|(f, _, _)| f.rgb[0]).collect();
        assert_eq!(kept, vec![7, 8, 9], "oldest first, newest kept");
    }

    #[test]
    fn tick_gaps_and_resets_start_episodes() {
        let mut buf = ReplayBuffer::new(8, 2, 2, 1);
        buf.push(&step(0));
        buf.push(&step(1));
        buf.push(&step(5)); // frames 2..4 were dropped
        buf.push(&Step {
            first: true,
            ..step(6)
        });
        buf.push(&step(7));
        let firsts: Vec<bool> = buf.iter().map(|(_, _, f)| f).collect();
        assert_eq!(firsts, vec![true, false, true, true, false]);
    }

    /// The step after a terminal one starts an episode even when its tick follows, and the
    /// windows carry each step's reward and a continue of 0 exactly at the terminal.
    #[test]
    fn terminals_end_episodes_and_rewards_ride_along() {
        let device = Device::flex();
        let mut buf = ReplayBuffer::new(8, 2, 2, 1);
        for t in 0..6 {
            buf.push(&Step {
                reward: t as f32 * 0.5,
                terminal: t == 2,
                ..step(t)
            });
        }
        let firsts: Vec<bool> = buf.iter().map(|(_, _, f)| f).collect();
        assert_eq!(firsts, vec![true, false, false, true, false, false]);
        let batch = buf
            .sample(
                1,
                6,
                Sampling::Uniform,
                &mut StdRng::seed_from_u64(0),
                &device,
            )
            .unwrap();
        let read = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(read(batch.reward), vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5]);
        assert_eq!(read(batch.cont), vec![1.0, 1.0, 0.0, 1.0, 1.0, 1.0]);
        assert_eq!(read(batch.first), vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn windows_are_consecutive_with_actions_aligned() {
        let device = Device::flex();
        let mut buf = ReplayBuffer::new(6, 2, 2, 1);
        for t in 0..20 {
            buf.push(&step(t));
        }
        let mut rng = StdRng::seed_from_u64(1);
        let batch = buf
            .sample(16, 4, Sampling::Uniform, &mut rng, &device)
            .unwrap();
        assert_eq!(batch.obs.dims(), [16, 4, 3, 2, 2]);
        let obs: Vec<f32> = batch.obs.into_data().try_to_vec::<f32>().unwrap();
        let act: Vec<f32> = batch.actions.into_data().try_to_vec::<f32>().unwrap();
        let first: Vec<f32> = batch.first.into_data().try_to_vec::<f32>().unwrap();
        for b in 0..16 {
            let red0 = ((obs[b * 4 * 12] + 0.5) * 255.0).round();
            assert!(
                (14.0..=16.0).contains(&red0),
                "window starts inside the ring"
            );
            for t in 0..4 {
                let red = ((obs[(b * 4 + t) * 12] + 0.5) * 255.0).round();
                assert_eq!(red, red0 + t as f32, "frames are consecutive");
                assert_eq!(act[b * 4 + t], red, "action belongs to its frame");
                assert_eq!(first[b * 4 + t], if t == 0 { 1.0 } else { 0.0 });
            }
        }
    }

    #[test]
    fn recent_sampling_prefers_new_frames() {
        let device = Device::flex();
        let mut buf = ReplayBuffer::new(100, 2, 2, 1);
        for t in 0..100 {
            buf.push(&step(t));
        }
        let mut rng = StdRng::seed_from_u64(2);
        let sampling = Sampling::Recent {
            fraction: 1.0,
            window: 10,
        };
        let batch = buf.sample(64, 2, sampling, &mut rng, &device).unwrap();
        let act: Vec<f32> = batch.actions.into_data().try_to_vec::<f32>().unwrap();
        assert!(act.iter().all(|a| *a >= 90.0), "{act:?}");
    }

    #[test]
    fn too_few_frames_gives_no_batch() {
        let mut buf = ReplayBuffer::new(10, 2, 2, 1);
        buf.push(&step(0));
        let mut rng = StdRng::seed_from_u64(0);
        assert!(
            buf.sample(1, 2, Sampling::Uniform, &mut rng, &Device::flex())
                .is_none()
        );
    }
}

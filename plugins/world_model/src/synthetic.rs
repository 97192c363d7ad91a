//! A synthetic action-conditioned world for tests and benchmarks: a square view onto an
//! endless, smooth colour texture that the action moves (forward, strafe) and rotates (yaw).
//!
//! The next frame is fully determined by the current view and the action, so a model that
//! uses the action can beat copying the last frame by a wide margin, and one that ignores the
//! action cannot.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::frame::Frame;
use crate::replay::Step;

/// Pixels moved per step at full forward or strafe input.
pub const MOVE_SPEED: f32 = 6.0;
/// Radians turned per step at full yaw input.
pub const TURN_SPEED: f32 = 0.2;

/// The texture and a camera pose on it.
#[derive(Clone, Debug)]
pub struct ScrollWorld {
    size: usize,
    x: f32,
    y: f32,
    heading: f32,
}

fn texel(u: f32, v: f32) -> [u8; 3] {
    use std::f32::consts::TAU;
    let r = 0.5 + 0.4 * (TAU * u / 97.0).sin();
    let g = 0.5 + 0.4 * (TAU * v / 113.0).sin();
    let b = 0.5 + 0.4 * (TAU * (u + v) / 131.0).cos();
    [r, g, b].map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8)
}

impl ScrollWorld {
    /// A `size x size` view at a pose drawn from `seed`.
    pub fn new(size: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        Self {
            size,
            x: rng.random_range(0.0..1000.0),
            y: rng.random_range(0.0..1000.0),
            heading: rng.random_range(0.0..std::f32::consts::TAU),
        }
    }

    /// What the camera sees now.
    pub fn render(&self) -> Frame {
        let n = self.size;
        let half = n as f32 / 2.0;
        let (s, c) = self.heading.sin_cos();
        let mut rgb = Vec::with_capacity(n * n * 3);
        for i in 0..n {
            for j in 0..n {
                let (dx, dy) = (j as f32 - half, i as f32 - half);
                let u = self.x + c * dx - s * dy;
                let v = self.y + s * dx + c * dy;
                rgb.extend_from_slice(&texel(u, v));
            }
        }
        Frame {
            width: n,
            height: n,
            rgb,
        }
    }

    /// Applies an action `[forward, strafe, yaw]`, each in `[-1, 1]`.
    pub fn act(&mut self, action: &[f32]) {
        let (s, c) = self.heading.sin_cos();
        let (fwd, strafe) = (action[0] * MOVE_SPEED, action[1] * MOVE_SPEED);
        // "Forward" is up the view (-y in view space), strafe is along +x.
        self.x += c * strafe + s * fwd;
        self.y += s * strafe - c * fwd;
        self.heading += action[2] * TURN_SPEED;
    }
}

/// Records `episodes` episodes of `len` steps under a random policy that holds each action
/// for a few steps. Step ticks are consecutive within an episode; every episode starts with
/// `first = true`.
pub fn record(size: usize, episodes: usize, len: usize, seed: u64) -> Vec<Step> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0xabcd);
    let mut steps = Vec::with_capacity(episodes * len);
    let mut tick = 0u64;
    for ep in 0..episodes {
        let mut world = ScrollWorld::new(size, seed.wrapping_mul(1000).wrapping_add(ep as u64));
        let mut action = vec![0.0f32; 3];
        for t in 0..len {
            if t % 4 == 0 {
                action = (0..3).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            }
            steps.push(Step {
                tick,
                frame: world.render(),
                action: action.clone(),
                first: t == 0,
            });
            world.act(&action);
            tick += 1;
        }
        tick += 1; // a gap between episodes
    }
    steps
}

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

/// How the synthetic world looks and moves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorldSpec {
    /// View width and height in pixels.
    pub size: usize,
    /// Pixels moved per step at full forward or strafe input.
    pub move_speed: f32,
    /// Radians turned per step at full yaw input.
    pub turn_speed: f32,
    /// Wavelength scale of the colour field, in pixels (larger is smoother).
    pub feature_scale: f32,
    /// Tile the colour field with period `feature_scale` in both axes: a small, finite world
    /// (like a game level) whose every view a model can learn, instead of an endless one.
    pub periodic: bool,
}

impl WorldSpec {
    /// The default world at `size`: moves 6 px and turns 0.2 rad per step at full input,
    /// colour waves of about 100 px.
    pub fn new(size: usize) -> Self {
        Self {
            size,
            move_speed: 6.0,
            turn_speed: 0.2,
            feature_scale: 100.0,
            periodic: false,
        }
    }
}

/// The texture and a camera pose on it.
#[derive(Clone, Debug)]
pub struct ScrollWorld {
    spec: WorldSpec,
    x: f32,
    y: f32,
    heading: f32,
}

fn texel(u: f32, v: f32, scale: f32, periodic: bool) -> [u8; 3] {
    use std::f32::consts::TAU;
    let (u, v) = (u / scale, v / scale);
    // Incommensurate frequencies never repeat; whole ones tile with period `scale`.
    let f = if periodic {
        [1.0, 1.0, 1.0]
    } else {
        [1.03, 0.88, 0.76]
    };
    let r = 0.5 + 0.4 * (TAU * u * f[0]).sin();
    let g = 0.5 + 0.4 * (TAU * v * f[1]).sin();
    let b = 0.5 + 0.4 * (TAU * (u + v) * f[2]).cos();
    [r, g, b].map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8)
}

impl ScrollWorld {
    /// A `size x size` view of the default world at a pose drawn from `seed`.
    pub fn new(size: usize, seed: u64) -> Self {
        Self::with_spec(WorldSpec::new(size), seed)
    }

    /// A view of the world `spec` at a pose drawn from `seed`.
    pub fn with_spec(spec: WorldSpec, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        Self {
            spec,
            x: rng.random_range(0.0..1000.0),
            y: rng.random_range(0.0..1000.0),
            heading: rng.random_range(0.0..std::f32::consts::TAU),
        }
    }

    /// What the camera sees now.
    pub fn render(&self) -> Frame {
        let n = self.spec.size;
        let half = n as f32 / 2.0;
        let (s, c) = self.heading.sin_cos();
        let mut rgb = Vec::with_capacity(n * n * 3);
        for i in 0..n {
            for j in 0..n {
                let (dx, dy) = (j as f32 - half, i as f32 - half);
                let u = self.x + c * dx - s * dy;
                let v = self.y + s * dx + c * dy;
                rgb.extend_from_slice(&texel(u, v, self.spec.feature_scale, self.spec.periodic));
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
        let speed = self.spec.move_speed;
        let (fwd, strafe) = (action[0] * speed, action[1] * speed);
        // "Forward" is up the view (-y in view space), strafe is along +x.
        self.x += c * strafe + s * fwd;
        self.y += s * strafe - c * fwd;
        self.heading += action[2] * self.spec.turn_speed;
    }
}

/// Records `episodes` episodes of `len` steps under a random policy that holds each action
/// for a few steps. Step ticks are consecutive within an episode; every episode starts with
/// `first = true`.
pub fn record(size: usize, episodes: usize, len: usize, seed: u64) -> Vec<Step> {
    record_with(WorldSpec::new(size), episodes, len, seed)
}

/// [`record`] in the world `spec`.
pub fn record_with(spec: WorldSpec, episodes: usize, len: usize, seed: u64) -> Vec<Step> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0xabcd);
    let mut steps = Vec::with_capacity(episodes * len);
    let mut tick = 0u64;
    for ep in 0..episodes {
        let mut world =
            ScrollWorld::with_spec(spec, seed.wrapping_mul(1000).wrapping_add(ep as u64));
        let mut action = vec![0.0f32; 3];
        for t in 0..len {
            if t % 4 == 0 {
                action = (0..3).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            }
            steps.push(Step::new(tick, world.render(), action.clone(), t == 0));
            world.act(&action);
            tick += 1;
        }
        tick += 1; // a gap between episodes
    }
    steps
}

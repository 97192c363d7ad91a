//! Proof that the agent learns to act inside the dream: on a tiny corridor whose best policy
//! is known (always step right), an actor trained only on trajectories the world model
//! imagines reaches the goal as the best policy does, and far more often and sooner than a
//! uniform policy.
//!
//! Alone in its process for the reason given in `learning.rs` (Burn's shared device RNG).

use world_model::{
    AgentConfig, Device, Frame, Learner, Predictor, Step, StepOutcome, WorldModelConfig,
};

const SIZE: usize = 16;
/// Cells of the corridor; the agent starts in 0, the goal is the last.
const CELLS: i32 = 5;
/// Ticks before an episode is cut short (a truncation).
const LIMIT: u32 = 12;
/// Actions: step left, step right.
const ACTIONS: [f32; 2] = [-1.0, 1.0];

/// The corridor: the view is dark with a bright bar where the agent stands.
struct Corridor {
    pos: i32,
    ticks: u32,
}

impl Corridor {
    fn new() -> Self {
        Self { pos: 0, ticks: 0 }
    }

    fn render(&self) -> Frame {
        let mut f = Frame::filled(SIZE, SIZE, [20, 20, 30]);
        let x0 = 1 + self.pos as usize * 3;
        for y in 0..SIZE {
            for x in x0..x0 + 2 {
                let i = (y * SIZE + x) * 3;
                f.rgb[i..i + 3].copy_from_slice(&[240, 230, 200]);
            }
        }
        f
    }

    /// Takes action `a` (an index of [`ACTIONS`]): the reward of arriving, and whether the
    /// episode ended as terminal or truncated.
    fn step(&mut self, a: usize) -> (f32, bool, bool) {
        self.pos = (self.pos + ACTIONS[a] as i32).clamp(0, CELLS - 1);
        self.ticks += 1;
        let terminal = self.pos == CELLS - 1;
        let reward = if terminal { 1.0 } else { 0.0 };
        (reward, terminal, !terminal && self.ticks >= LIMIT)
    }
}

/// A small deterministic generator for the uniform policy (the test's own draws).
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Episodes under the uniform policy as training data: each step's frame, the action taken
/// after it, what arriving at it paid and whether it ended the episode.
fn random_play(episodes: usize, seed: u64) -> Vec<Step> {
    let mut rng = seed | 1;
    let mut steps = Vec::new();
    let mut tick = 0u64;
    for _ in 0..episodes {
        let mut env = Corridor::new();
        let (mut reward, mut terminal, mut first) = (0.0, false, true);
        loop {
            let a = (next(&mut rng) % 2) as usize;
            steps.push(Step {
                reward,
                terminal,
                ..Step::new(tick, env.render(), vec![ACTIONS[a]], first)
            });
            tick += 1;
            first = false;
            if terminal {
                break;
            }
            let (r, t, truncated) = env.step(a);
            (reward, terminal) = (r, t);
            if truncated {
                // The last frame of a cut episode is kept, not terminal; the next starts anew.
                steps.push(Step {
                    reward,
                    ..Step::new(tick, env.render(), vec![0.0], false)
                });
                tick += 1;
                break;
            }
        }
        tick += 1; // a gap: the next episode is not contiguous
    }
    steps
}

/// Success rate and mean ticks of the successful episodes, choosing actions with `choose`.
fn evaluate(episodes: usize, mut choose: impl FnMut(&Frame, Option<f32>) -> usize) -> (f64, f64) {
    let (mut successes, mut ticks) = (0u32, 0u32);
    for _ in 0..episodes {
        let mut env = Corridor::new();
        let mut last = None;
        loop {
            let a = choose(&env.render(), last);
            last = Some(ACTIONS[a]);
            let (_, terminal, truncated) = env.step(a);
            if terminal {
                successes += 1;
                ticks += env.ticks;
                break;
            }
            if truncated {
                break;
            }
        }
    }
    (
        f64::from(successes) / episodes as f64,
        f64::from(ticks) / f64::from(successes.max(1)),
    )
}

#[test]
fn an_actor_trained_in_imagination_walks_to_the_goal() {
    let cfg = WorldModelConfig {
        width: SIZE,
        height: SIZE,
        action_dim: 1,
        cnn_depth: 4,
        deter: 64,
        stoch: 8,
        classes: 8,
        hidden: 64,
        batch: 16,
        seq_len: 8,
        lr: 3e-3,
        warmup_steps: 20,
        min_frames: 16,
        replay_capacity: 8192,
        sampling: world_model::Sampling::Uniform,
        agent: AgentConfig {
            actions: ACTIONS.iter().map(|a| vec![*a]).collect(),
            horizon: 10,
            gamma: 0.9,
            hidden: 64,
            lr: 1e-3,
            ..AgentConfig::default()
        },
        ..WorldModelConfig::plain()
    };
    let device = Device::flex();
    let mut learner = Learner::new(cfg.clone(), &device).unwrap();
    for s in random_play(300, 7) {
        learner.push(&s).unwrap();
    }
    let mut last = None;
    for _ in 0..800 {
        if let StepOutcome::Updated(r) = learner.train_step() {
            last = r.behavior.or(last);
        }
    }
    let stats = last.expect("the agent was updated");
    eprintln!("last actor-critic update: {stats:?}");
    assert_eq!(learner.behavior_updates(), 800);

    // The agent in the real corridor: it sees frames, the model filters them, the actor's
    // most likely action is taken.
    let mut predictor = Predictor::new(learner.inference_model(), cfg, device);
    let (agent_rate, agent_ticks) = evaluate(40, |frame, last| {
        if last.is_none() {
            predictor.reset();
        }
        let prev = vec![last.unwrap_or(0.0)];
        let state = predictor.observe(frame, &prev).unwrap();
        let p = predictor.policy(&state).unwrap();
        usize::from(p[1] > p[0])
    });
    let mut rng = 99u64;
    let (uniform_rate, uniform_ticks) = evaluate(2000, |_, _| (next(&mut rng) % 2) as usize);
    eprintln!(
        "agent: {:.0}% reach the goal in {agent_ticks:.1} ticks; uniform: {:.0}% in {uniform_ticks:.1}; best: 100% in 4",
        agent_rate * 100.0,
        uniform_rate * 100.0
    );
    assert!(
        agent_rate >= 0.95 && agent_ticks <= 4.5,
        "the best policy reaches the goal every time in 4 ticks; the agent {:.0}% in {agent_ticks:.1}",
        agent_rate * 100.0
    );
    assert!(
        uniform_rate < 0.6,
        "the task must be hard for a uniform policy: {uniform_rate}"
    );
}

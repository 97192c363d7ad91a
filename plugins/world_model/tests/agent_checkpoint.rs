//! The agent's training state rides in full checkpoints. Alone in its own test binary: the
//! check compares two resumed updates weight by weight, and the device's random draws are
//! shared by every test of a process, so a test running beside it would change the draws.

mod common;

use world_model::checkpoint;
use world_model::{Device, Learner, StepOutcome, WorldModelConfig, synthetic};

/// Every float parameter of `model`, flattened.
fn weights(model: &world_model::WorldModel) -> Vec<f32> {
    use burn::module::{Module, ModuleVisitor, Param};
    use burn::prelude::Tensor;
    struct Flat(Vec<f32>);
    impl ModuleVisitor for Flat {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let data = param.val().into_data().convert::<f32>();
            self.0
                .extend(data.try_to_vec::<f32>().expect("f32 weights"));
        }
    }
    let mut flat = Flat(Vec::new());
    model.visit(&mut flat);
    flat.0
}

/// The agent's training goes on where it stopped: its update count and return scale come
/// back from the file, and so do its optimizers' moments: one more update from the saved
/// moments moves the weights differently from one taken with fresh moments (whose first
/// Adam step moves every weight by about the learning rate), from the same weights and batch.
#[test]
fn an_agents_training_state_round_trips() {
    let cfg = WorldModelConfig {
        agent: world_model::AgentConfig {
            actions: vec![vec![1.0, 0.0, 0.0], vec![0.0, 0.0, 1.0]],
            horizon: 3,
            hidden: 16,
            ..Default::default()
        },
        ..common::tiny_config()
    };
    let data = synthetic::record(16, 2, 20, 3);
    let learner = common::train(&cfg, &data, 3);
    let progress = learner
        .meta()
        .agent
        .expect("a learner with an agent says where it is");
    assert_eq!(progress.updates, 3);
    assert!(progress.scale.hi >= progress.scale.lo);
    let path = common::temp_path("agent-progress.wmck");
    learner.save(&path).unwrap();
    let before = weights(&learner.inference_model());
    // How far one more step moves each weight, resumed with or without the agent's moments.
    let step = |keep_moments: bool| -> Vec<f32> {
        let mut ckpt = checkpoint::load(&path, Some(&cfg), &Device::flex()).unwrap();
        assert!(
            ckpt.agent_optimizers.is_some(),
            "the actor's and critic's Adam state"
        );
        if !keep_moments {
            ckpt.agent_optimizers = None;
        }
        let mut resumed = Learner::from_checkpoint(cfg.clone(), ckpt, &Device::flex()).unwrap();
        if keep_moments {
            assert_eq!(resumed.behavior_updates(), 3);
            assert_eq!(resumed.meta().agent, Some(progress));
        }
        for s in &data {
            resumed.push(s).unwrap();
        }
        assert!(matches!(resumed.train_step(), StepOutcome::Updated(_)));
        let after = weights(&resumed.inference_model());
        after.iter().zip(&before).map(|(a, b)| a - b).collect()
    };
    let gap = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max)
    };
    let (kept, again, fresh) = (step(true), step(true), step(false));
    // Threads may sum in another order: a rounding apart, far below an Adam step.
    assert!(gap(&kept, &again) < 1e-6, "{}", gap(&kept, &again));
    assert!(
        gap(&kept, &fresh) > 1e-5,
        "the saved moments, not fresh ones, took the update: {}",
        gap(&kept, &fresh)
    );
    std::fs::remove_file(path).unwrap();
}

//! Training on the synthetic world lowers the loss and keeps the latent informative.

mod common;

use world_model::{Device, Learner, StepOutcome, synthetic};

const SIZE: usize = 32;

/// Training lowers the reconstruction error and the posterior carries information (its KL to
/// the prior stays above the free bits instead of collapsing onto the prior, which is what
/// happened when the pixel loss was averaged instead of summed per frame).
#[test]
fn training_lowers_the_loss_and_keeps_the_latent_informative() {
    let cfg = common::small_config(SIZE);
    let mut learner = Learner::new(cfg.clone(), &Device::flex()).unwrap();
    for s in synthetic::record(SIZE, 24, 48, 1) {
        learner.push(&s).unwrap();
    }
    let mut recon = Vec::new();
    let mut kl = Vec::new();
    for _ in 0..300 {
        match learner.train_step() {
            StepOutcome::Updated(r) => {
                recon.push(r.loss.recon);
                kl.push(r.loss.kl);
            }
            other => panic!("training step failed: {other:?}"),
        }
    }
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let (start, end) = (mean(&recon[..10]), mean(&recon[recon.len() - 20..]));
    let end_kl = mean(&kl[kl.len() - 20..]);
    eprintln!("recon per pixel {start:.4} -> {end:.4}, KL {end_kl:.2} nats");
    assert!(
        end < 0.85 * start,
        "reconstruction must improve: {start:.4} -> {end:.4}"
    );
    assert!(
        end_kl > cfg.free_nats,
        "posterior collapsed: KL {end_kl:.2} nats"
    );
}

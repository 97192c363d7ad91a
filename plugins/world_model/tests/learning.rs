//! Proof that the model learns, on the synthetic world (a view onto a smooth colour field that
//! the action moves and turns).
//!
//! Alone in its process on purpose: Burn's device RNG is shared, so another test drawing
//! random numbers at the same time would change this one's initialisation and sampling (run
//! alone it is deterministic: +5.2 dB; interleaved with another test it once gave +3.0 dB).

mod common;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use world_model::{Device, Predictor, eval, synthetic};

const SIZE: usize = 32;

/// The full claim: one-step predictions beat copy-last-frame by 3 dB on held-out episodes,
/// and shuffled actions do clearly worse.
///
/// The world is the tiled variant (period 32 px, moves up to 8 px and turns up to 0.3 rad per
/// step): finite like a game level, and fast enough that copying the last frame is no better
/// than predicting the mean colour. Held-out episodes start at unseen poses and follow unseen
/// action sequences. Measured: +5.2 dB after 600 steps (about 40 s on 2 cores); shuffled
/// actions +0.03 dB.
#[test]
fn one_step_prediction_beats_copy_last_frame_and_needs_the_actions() {
    const TRAIN_STEPS: usize = 600;
    let cfg = common::small_config(SIZE);
    let world = common::fast_tiled_world(SIZE);
    let train_data = synthetic::record_with(world, 24, 48, 1);
    let held_out = synthetic::record_with(world, 6, 32, 999);

    let learner = common::train(&cfg, &train_data, TRAIN_STEPS);
    let mut predictor = Predictor::new(learner.inference_model(), cfg.clone(), Device::flex());
    let report = eval::one_step(&mut predictor, &held_out);
    eprintln!(
        "with actions: model {:.2} dB, baseline {:.2} dB, gain {:+.2} dB over {} pairs",
        report.model_psnr_pooled,
        report.baseline_psnr_pooled,
        report.gain_db(),
        report.pairs
    );
    assert_eq!(
        report.pairs,
        6 * 31,
        "every continuing step is scored exactly once"
    );
    assert!(
        report.gain_db() >= 3.0,
        "model must beat copy-last-frame by 3 dB, got {:+.2} dB",
        report.gain_db()
    );

    let mut shuffled = train_data.clone();
    let mut actions: Vec<Vec<f32>> = shuffled.iter().map(|s| s.action.clone()).collect();
    actions.shuffle(&mut StdRng::seed_from_u64(5));
    for (s, a) in shuffled.iter_mut().zip(actions) {
        s.action = a;
    }
    let blind = common::train(&cfg, &shuffled, TRAIN_STEPS);
    let mut blind_predictor = Predictor::new(blind.inference_model(), cfg, Device::flex());
    let blind_report = eval::one_step(&mut blind_predictor, &held_out);
    eprintln!(
        "shuffled actions: model {:.2} dB, gain {:+.2} dB",
        blind_report.model_psnr_pooled,
        blind_report.gain_db()
    );
    assert!(
        report.model_psnr_pooled - blind_report.model_psnr_pooled >= 2.0,
        "true actions must help clearly: {:.2} dB vs shuffled {:.2} dB",
        report.model_psnr_pooled,
        blind_report.model_psnr_pooled
    );
}

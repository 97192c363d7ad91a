//! Checkpoints round-trip bit-exactly, resume training, and every kind of bad file gets a
//! clear error instead of a panic.

mod common;

use world_model::checkpoint::{self, CheckpointError};
use world_model::{Device, Learner, Predictor, StepOutcome, WorldModelConfig, synthetic};

fn trained() -> (WorldModelConfig, Learner) {
    let cfg = common::tiny_config();
    let data = synthetic::record(16, 2, 20, 3);
    let learner = common::train(&cfg, &data, 3);
    (cfg, learner)
}

/// The tiny network with no sketch, whatever the default, after one step.
fn unsketched() -> (WorldModelConfig, Learner) {
    let cfg = WorldModelConfig {
        sketch_side: 0,
        ..common::tiny_config()
    };
    let learner = common::train(&cfg, &synthetic::record(16, 2, 20, 3), 1);
    (cfg, learner)
}

fn predictions(p: &mut Predictor) -> Vec<u8> {
    let frames = synthetic::record(16, 1, 6, 11);
    let mut out = Vec::new();
    p.reset();
    for s in &frames {
        p.observe(&s.frame, &s.action).unwrap();
        out.extend(p.predict_next(&s.action).unwrap().unwrap().rgb);
    }
    out
}

#[test]
fn save_load_gives_bit_exact_predictions_and_resumes_counters() {
    let (cfg, learner) = trained();
    let path = common::temp_path("roundtrip.wmck");
    learner.save(&path).unwrap();
    let ckpt = checkpoint::load(&path, Some(&cfg), &Device::flex()).unwrap();
    assert_eq!(ckpt.meta.steps, 3);
    assert_eq!(ckpt.meta.config, cfg);
    assert!(ckpt.optimizer.is_some(), "optimizer state is saved");

    let mut before = Predictor::new(learner.inference_model(), cfg.clone(), Device::flex());
    let mut after = Predictor::new(ckpt.model.clone(), cfg.clone(), Device::flex());
    assert_eq!(predictions(&mut before), predictions(&mut after));

    let mut resumed = Learner::from_checkpoint(cfg, ckpt, &Device::flex()).unwrap();
    assert_eq!(resumed.steps(), 3);
    for s in synthetic::record(16, 2, 20, 3) {
        resumed.push(&s).unwrap();
    }
    assert!(matches!(resumed.train_step(), StepOutcome::Updated(r) if r.step == 4));
    std::fs::remove_file(&path).unwrap();
}

/// The shipping format: f16 weights and no optimizer state, a sixth of the size; it loads as
/// f32, predicts like the full checkpoint up to f16 rounding, and training resumed from it
/// warms the learning rate up again (its Adam moments start from zero).
#[test]
fn compact_checkpoints_are_small_load_as_f32_and_resume_with_a_warm_up() {
    let (cfg, mut learner) = trained();
    for s in synthetic::record(16, 2, 20, 3) {
        learner.push(&s).unwrap();
    }
    for _ in 0..cfg.warmup_steps + 2 {
        learner.train_step();
    }
    let (full, compact) = (
        common::temp_path("full.wmck"),
        common::temp_path("compact.wmck"),
    );
    learner.save(&full).unwrap();
    learner.save_compact(&compact).unwrap();
    let size = |p: &std::path::Path| std::fs::metadata(p).unwrap().len() as f64;
    let ratio = size(&compact) / size(&full);
    assert!(
        (0.1..0.25).contains(&ratio),
        "compact / full size = {ratio:.3}"
    );

    let ckpt = checkpoint::load(&compact, Some(&cfg), &Device::flex()).unwrap();
    assert!(ckpt.optimizer.is_none());
    assert_eq!(ckpt.meta.steps, learner.steps());
    let mut exact = Predictor::new(learner.inference_model(), cfg.clone(), Device::flex());
    let mut half = Predictor::new(ckpt.model.clone(), cfg.clone(), Device::flex());
    let (a, b) = (predictions(&mut exact), predictions(&mut half));
    let worst = a.iter().zip(&b).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
    assert!(worst <= 3, "f16 weights change a pixel by {worst} levels");

    let mut resumed = Learner::from_checkpoint(cfg.clone(), ckpt, &Device::flex()).unwrap();
    for s in synthetic::record(16, 2, 20, 3) {
        resumed.push(&s).unwrap();
    }
    let StepOutcome::Updated(r) = resumed.train_step() else {
        panic!("a compact checkpoint trains on");
    };
    assert_eq!(r.step, learner.steps() + 1);
    assert!(r.lr < cfg.lr, "warm-up restarts: lr {} of {}", r.lr, cfg.lr);
    assert_eq!(r.lr, cfg.lr_at(0));
    std::fs::remove_file(&full).unwrap();
    std::fs::remove_file(&compact).unwrap();
}

#[test]
fn bad_files_get_clear_errors() {
    let (cfg, learner) = trained();
    let path = common::temp_path("bad.wmck");
    learner.save(&path).unwrap();
    let good = std::fs::read(&path).unwrap();
    let load = |bytes: &[u8]| {
        std::fs::write(&path, bytes).unwrap();
        checkpoint::load(&path, Some(&cfg), &Device::flex())
            .err()
            .expect("must fail")
    };

    let err = load(&good[..good.len() / 2]);
    assert!(matches!(err, CheckpointError::Truncated { .. }), "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");

    let err = load(b"PK\x03\x04 this is a zip file, not a checkpoint");
    assert!(matches!(err, CheckpointError::NotACheckpoint(_)), "{err}");

    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    let err = load(&flipped);
    assert!(matches!(err, CheckpointError::Corrupt(_)), "{err}");

    let err = load(&[]);
    assert!(matches!(err, CheckpointError::NotACheckpoint(_)), "{err}");

    std::fs::write(&path, &good).unwrap();
    let other = WorldModelConfig {
        deter: 64,
        ..cfg.clone()
    };
    let err = checkpoint::load(&path, Some(&other), &Device::flex())
        .err()
        .expect("must fail");
    assert!(
        matches!(err, CheckpointError::ConfigMismatch { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("deter: 32 vs 64"), "{err}");

    let missing = common::temp_path("does-not-exist.wmck");
    let err = checkpoint::load(&missing, None, &Device::flex())
        .err()
        .expect("must fail");
    assert!(matches!(err, CheckpointError::Io { .. }), "{err}");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn saving_never_leaves_a_partial_file_under_the_real_name() {
    let (_, learner) = trained();
    let dir = common::temp_path("atomic-dir");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.wmck");
    learner.save(&path).unwrap();
    learner.save(&path).unwrap();
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["model.wmck".to_string()],
        "no temp files left behind"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Resuming under a config of another network shape is the same typed error as loading with
/// it: `ConfigMismatch`, naming the file and the fields.
#[test]
fn resuming_under_another_shape_is_a_config_mismatch() {
    let (cfg, learner) = trained();
    let file = common::temp_path("resume-shape.wmck");
    learner.save(&file).unwrap();
    let ckpt = checkpoint::load(&file, None, &Device::flex()).unwrap();
    assert_eq!(ckpt.path, file);
    let other = WorldModelConfig {
        deter: 64,
        ..cfg.clone()
    };
    let err = Learner::from_checkpoint(other, ckpt, &Device::flex())
        .err()
        .expect("must fail");
    assert!(
        matches!(err, CheckpointError::ConfigMismatch { ref path, .. } if *path == file),
        "{err}"
    );
    assert!(err.to_string().contains("deter: 32 vs 64"), "{err}");
    std::fs::remove_file(&file).unwrap();
}

/// An atomic write removes the temporary files of writes killed long ago (`NAME.wm-tmp-...`,
/// over an hour old), keeps a fresh one (a save under way) and every other file, and a write
/// that fails leaves no temporary file of its own.
#[test]
fn stale_temporary_files_are_removed_and_failed_writes_leave_none() {
    use std::time::{Duration, SystemTime};
    let dir = common::temp_path("stale-temps");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let stale = dir.join(format!(
        "model-2min.ckpt{}999999-0",
        checkpoint::TEMP_MARKER
    ));
    let fresh = dir.join(format!("model.ckpt{}999999-1", checkpoint::TEMP_MARKER));
    let other = dir.join("notes.txt");
    for path in [&stale, &fresh, &other] {
        std::fs::write(path, b"x").unwrap();
    }
    let long_ago = SystemTime::now() - checkpoint::STALE_TEMP_AGE - Duration::from_secs(60);
    for path in [&stale, &other] {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
    }
    let target = dir.join("model.ckpt");
    checkpoint::write_atomic(&target, b"weights").unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"weights");
    assert!(!stale.exists(), "the stale temporary file is removed");
    assert!(fresh.exists() && other.exists(), "the rest is kept");

    // A directory of the target's name: the rename fails, and its temporary file goes.
    let blocked = dir.join("blocked");
    std::fs::create_dir_all(blocked.join("inside")).unwrap();
    assert!(checkpoint::write_atomic(&blocked, b"weights").is_err());
    let temps: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(checkpoint::TEMP_MARKER))
        .collect();
    assert_eq!(
        temps,
        vec![fresh.file_name().unwrap().to_string_lossy().into_owned()]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An agent's weights ride in the checkpoint: the loaded policy is the saved one. A
/// checkpoint without an agent loads into a config with one (the agent starts fresh), and
/// one with an agent into a config without (the agent is dropped).
#[test]
fn agents_round_trip_and_checkpoints_without_one_still_load() {
    let (plain_cfg, plain) = trained();
    let cfg = WorldModelConfig {
        agent: world_model::AgentConfig {
            actions: vec![
                vec![1.0, 0.0, 0.0],
                vec![0.0, 0.0, 1.0],
                vec![0.0, 0.0, -1.0],
            ],
            horizon: 3,
            hidden: 16,
            ..Default::default()
        },
        ..plain_cfg.clone()
    };
    let data = synthetic::record(16, 2, 20, 3);
    let learner = common::train(&cfg, &data, 3);
    assert_eq!(learner.behavior_updates(), 3);
    let path = common::temp_path("agent.wmck");
    learner.save(&path).unwrap();
    let ckpt = checkpoint::load(&path, Some(&cfg), &Device::flex()).unwrap();
    assert_eq!(ckpt.meta.config.agent, cfg.agent);
    let policy = |p: &mut Predictor| {
        p.reset();
        let s = p.observe(&data[0].frame, &[0.0; 3]).unwrap();
        (p.policy(&s).unwrap(), p.value(&s).unwrap())
    };
    let mut before = Predictor::new(learner.inference_model(), cfg.clone(), Device::flex());
    let mut after = Predictor::new(ckpt.model.clone(), cfg.clone(), Device::flex());
    let (saved, loaded) = (policy(&mut before), policy(&mut after));
    assert_eq!(saved, loaded);
    assert_eq!(saved.0.len(), 3);
    assert!((saved.0.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    // Resuming it without an agent in the config drops the agent.
    let dropped = Learner::from_checkpoint(plain_cfg.clone(), ckpt, &Device::flex()).unwrap();
    let mut p = Predictor::new(dropped.inference_model(), plain_cfg.clone(), Device::flex());
    let s = p.observe(&data[0].frame, &[0.0; 3]).unwrap();
    assert!(p.policy(&s).is_none());

    // A checkpoint from before agents, resumed with one: the agent starts fresh and learns.
    let old = common::temp_path("no-agent.wmck");
    plain.save(&old).unwrap();
    let ckpt = checkpoint::load(&old, Some(&cfg), &Device::flex()).unwrap();
    let mut resumed = Learner::from_checkpoint(cfg.clone(), ckpt, &Device::flex()).unwrap();
    for s in &data {
        resumed.push(s).unwrap();
    }
    assert!(matches!(resumed.train_step(), StepOutcome::Updated(r) if r.behavior.is_some()));
    for p in [path, old] {
        std::fs::remove_file(p).unwrap();
    }
}

/// A sketch is an auxiliary network, like the agent: resuming a checkpoint without one
/// under a config that asks for one gives it a fresh sketch and trains on (and back again
/// drops it), keeping every other weight.
#[test]
fn resuming_with_or_without_a_sketch_keeps_the_model() {
    let (cfg, learner) = unsketched();
    let path = common::temp_path("sketch.wmck");
    learner.save(&path).unwrap();
    let sketched = WorldModelConfig {
        sketch_side: 4,
        ..cfg.clone()
    };
    let ckpt = checkpoint::load(&path, Some(&sketched), &Device::flex()).unwrap();
    assert!(ckpt.model.sketch.is_none());
    let mut resumed = Learner::from_checkpoint(sketched.clone(), ckpt, &Device::flex()).unwrap();
    for s in synthetic::record(16, 2, 20, 3) {
        resumed.push(&s).unwrap();
    }
    let StepOutcome::Updated(r) = resumed.train_step() else {
        panic!("trains with a fresh sketch");
    };
    assert!(
        r.loss.sketch > 0.0,
        "the sketch's error is in the loss: {:?}",
        r.loss
    );
    resumed.save(&path).unwrap();
    let ckpt = checkpoint::load(&path, Some(&cfg), &Device::flex()).unwrap();
    assert_eq!(ckpt.meta.config.sketch_side, 4);
    assert!(ckpt.model.sketch.is_some());
    let plain = Learner::from_checkpoint(cfg, ckpt, &Device::flex()).unwrap();
    assert!(plain.inference_model().sketch.is_none());
    std::fs::remove_file(&path).unwrap();
}

/// A header written before `sketch_side` existed describes a model without a sketch (the
/// shipped checkpoint is one): it loads as such, not with today's default sketch.
#[test]
fn headers_from_before_the_sketch_load_without_one() {
    let (_, learner) = unsketched();
    let path = common::temp_path("presketch.wmck");
    learner.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let [header, weights, optim] = checkpoint::sections(&path, &bytes).unwrap();
    let mut meta: serde_json::Value = serde_json::from_slice(header).unwrap();
    meta["config"]
        .as_object_mut()
        .unwrap()
        .remove("sketch_side")
        .expect("the field is written");
    let old = serde_json::to_vec(&meta).unwrap();
    std::fs::write(&path, checkpoint::assemble(&old, weights, optim)).unwrap();
    let ckpt = checkpoint::load(&path, None, &Device::flex()).unwrap();
    assert_eq!(ckpt.meta.config.sketch_side, 0);
    assert!(ckpt.model.sketch.is_none());
    std::fs::remove_file(&path).unwrap();
}

//! The hostile-input suite: crafted checkpoints, datasets and configs (generated here, none
//! shipped), `/dev/zero` and huge sparse files, each refused with an error naming the
//! problem, quickly and without a panic; and the same through the real `world-model-train`
//! binary under a memory limit, so an attempted huge allocation fails the test instead of
//! the machine.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use world_model::checkpoint::{self, CheckpointError};
use world_model::config::{
    MAX_ACTION_DIM, MAX_BATCH, MAX_CLASSES, MAX_CNN_DEPTH, MAX_DETER, MAX_FRAME_SIDE, MAX_HIDDEN,
    MAX_REPLAY_CAPACITY, MAX_SEQ_LEN, MAX_SNAPSHOT_EVERY, MAX_STOCH, MAX_WARMUP_STEPS,
    MAX_WARP_RADIUS,
};
use world_model::{
    Dataset, DatasetError, DatasetHeader, DatasetWriter, Device, Learner, Predictor, Step,
    StepOutcome, TrainerEvent, TrainerHandle, WorldModelConfig, eval, synthetic,
};

/// A network small enough to build and save in milliseconds, with the warp decoder (whose
/// motion layers start with a bias of exactly 4.0: [`with_nan_weights`] finds it).
fn tiny() -> WorldModelConfig {
    WorldModelConfig {
        snapshot_every: 1,
        ..common::tiny_warp_config()
    }
}

/// A valid full-precision checkpoint of a fresh `cfg` network, as bytes.
fn checkpoint_bytes(cfg: &WorldModelConfig, name: &str) -> Vec<u8> {
    let learner = Learner::new(cfg.clone(), &Device::flex()).unwrap();
    let path = common::temp_path(name);
    checkpoint::save(
        &path,
        &learner.meta(),
        &learner.inference_model(),
        None,
        None,
    )
    .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    bytes
}

/// The header, weights and optimizer sections of a valid checkpoint.
fn sections(bytes: &[u8]) -> [Vec<u8>; 3] {
    checkpoint::sections(std::path::Path::new("test"), bytes)
        .expect("a valid checkpoint")
        .map(<[u8]>::to_vec)
}

/// A checkpoint file of these sections, with a correct checksum.
fn seal(header: &[u8], weights: &[u8], optim: &[u8]) -> Vec<u8> {
    checkpoint::assemble(header, weights, optim)
}

/// `bytes` with its header JSON edited (and the checksum fixed, so only the edit is wrong).
fn with_header(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let [header, weights, optim] = sections(bytes);
    let mut json: serde_json::Value = serde_json::from_slice(&header).unwrap();
    edit(&mut json);
    seal(&serde_json::to_vec(&json).unwrap(), &weights, &optim)
}

/// `bytes` (a full-precision checkpoint of a warp network) with the motion layers' 4.0 biases
/// overwritten by NaN, checksum fixed: a file that is intact but whose weights are not. Only
/// the burnpack's tensor data is searched: it starts after a 10-byte header (the metadata
/// size is its `u32` at bytes 6..10) and the metadata, at the next multiple of 256.
fn with_nan_weights(bytes: &[u8]) -> Vec<u8> {
    let [header, mut weights, optim] = sections(bytes);
    let metadata = u32::from_le_bytes(weights[6..10].try_into().unwrap()) as usize;
    let data = (10 + metadata).div_ceil(256) * 256;
    let mut replaced = 0;
    for word in weights[data..].chunks_exact_mut(4) {
        if word[..] == 4.0f32.to_le_bytes()[..] {
            word.copy_from_slice(&f32::NAN.to_le_bytes());
            replaced += 1;
        }
    }
    assert!(replaced > 0, "the warp biases are in the weights");
    seal(&header, &weights, &optim)
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = common::temp_path(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn load_err(path: &Path) -> CheckpointError {
    let started = Instant::now();
    let err = checkpoint::load(path, None, &Device::flex())
        .err()
        .expect("must be refused");
    assert!(started.elapsed() < Duration::from_secs(10), "{err}");
    err
}

/// A valid file whose header config was edited: sizes above their bounds, a shape that is
/// invalid, one its weights do not fit (non-square), a header that is no config at all.
#[test]
fn checkpoint_headers_are_checked_before_anything_is_built() {
    let good = checkpoint_bytes(&tiny(), "hdr-good.wmck");
    for (field, value, limit) in [
        ("width", 1u64 << 40, MAX_FRAME_SIDE),
        ("height", 1 << 20, MAX_FRAME_SIDE),
        ("deter", 1_000_000, MAX_DETER),
        ("cnn_depth", u64::MAX, MAX_CNN_DEPTH),
        ("hidden", 1 << 30, MAX_HIDDEN),
        ("stoch", 1 << 30, MAX_STOCH),
        ("classes", 1 << 30, MAX_CLASSES),
        ("action_dim", 1 << 30, MAX_ACTION_DIM),
        ("replay_capacity", u64::MAX, MAX_REPLAY_CAPACITY),
    ] {
        let path = write(
            "hdr-huge.wmck",
            &with_header(&good, |h| h["config"][field] = value.into()),
        );
        for err in [
            load_err(&path),
            checkpoint::read_meta(&path).expect_err("refused"),
        ] {
            let text = err.to_string();
            assert!(matches!(err, CheckpointError::Header { .. }), "{text}");
            assert!(
                text.contains(&format!("{field}: {value} is above the limit {limit}")),
                "{text}"
            );
            assert!(text.contains("hdr-huge.wmck"), "{text}");
        }
    }
    for (edit, expected) in [
        (serde_json::json!({"width": 60}), "multiples of 16"),
        (serde_json::json!({"warp_radius": [16, 2]}), "warp_radius"),
        (serde_json::json!({"adam_eps": -1.0}), "adam_eps"),
        (serde_json::json!({"min_frames": 1000}), "min_frames"),
        (serde_json::json!({"detre": 3}), "detre"),
    ] {
        let path = write(
            "hdr-invalid.wmck",
            &with_header(&good, |h| {
                for (k, v) in edit.as_object().unwrap() {
                    h["config"][k] = v.clone();
                }
            }),
        );
        let err = load_err(&path);
        assert!(matches!(err, CheckpointError::Header { .. }), "{err}");
        assert!(err.to_string().contains(expected), "{err}");
    }
    // Valid, but not the network the weights were saved from.
    let path = write(
        "hdr-nonsquare.wmck",
        &with_header(&good, |h| h["config"]["width"] = serde_json::json!(32)),
    );
    let err = load_err(&path);
    assert!(matches!(err, CheckpointError::Weights { .. }), "{err}");
    assert!(err.to_string().contains("do not fit"), "{err}");
    // A header that is not JSON.
    let [_, weights, optim] = sections(&good);
    let path = write(
        "hdr-garbage.wmck",
        &seal(b"\xff{not json", &weights, &optim),
    );
    assert!(matches!(load_err(&path), CheckpointError::Header { .. }));
    for name in [
        "hdr-huge.wmck",
        "hdr-invalid.wmck",
        "hdr-nonsquare.wmck",
        "hdr-garbage.wmck",
    ] {
        std::fs::remove_file(common::temp_path(name)).unwrap();
    }
}

/// Cut anywhere, a checkpoint is "not a checkpoint" (before its magic ends) or "truncated".
#[test]
fn truncated_checkpoints_are_refused_at_every_length() {
    let good = checkpoint_bytes(&tiny(), "cut-good.wmck");
    let header_len = sections(&good)[0].len();
    let mut cuts = vec![
        0,
        3,
        8,
        11,
        12,
        19,
        20,
        20 + header_len / 2,
        20 + header_len + 4,
    ];
    cuts.extend((0..good.len()).step_by(good.len() / 40 + 1));
    cuts.extend([good.len() - 9, good.len() - 8, good.len() - 1]);
    let path = common::temp_path("cut.wmck");
    for cut in cuts {
        std::fs::write(&path, &good[..cut]).unwrap();
        let err = load_err(&path);
        assert!(
            matches!(
                err,
                CheckpointError::NotACheckpoint(_) | CheckpointError::Truncated { .. }
            ),
            "cut at {cut}: {err}"
        );
    }
    std::fs::remove_file(&path).unwrap();
}

/// Intact files (checksums right) whose weights are garbage, missing, or another network's.
#[test]
fn garbage_weights_are_an_error() {
    let good = checkpoint_bytes(&tiny(), "garbage-good.wmck");
    let [header, weights, optim] = sections(&good);
    let mut x: u32 = 12345;
    let noise: Vec<u8> = (0..weights.len())
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect();
    let other = checkpoint_bytes(
        &WorldModelConfig {
            deter: 32,
            ..tiny()
        },
        "garbage-other.wmck",
    );
    let other_weights = sections(&other)[1].clone();
    for (what, weights) in [
        ("noise", noise),
        ("empty", Vec::new()),
        ("half", weights[..weights.len() / 2].to_vec()),
        ("other network", other_weights),
    ] {
        let path = write("garbage.wmck", &seal(&header, &weights, &optim));
        let err = load_err(&path);
        assert!(
            matches!(err, CheckpointError::Weights { .. }),
            "{what}: {err}"
        );
        std::fs::remove_file(&path).unwrap();
    }
}

/// A checkpoint full of NaN is refused naming the file; NaN weights are never saved, and an
/// exploding update never reaches inference.
#[test]
fn non_finite_weights_are_never_loaded_saved_or_published() {
    let good = checkpoint_bytes(&tiny(), "nan-good.wmck");
    let path = write("nan.wmck", &with_nan_weights(&good));
    let err = load_err(&path);
    assert!(matches!(err, CheckpointError::NonFinite { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("nan.wmck") && text.contains("not finite"),
        "{text}"
    );
    std::fs::remove_file(&path).unwrap();

    let mut learner = Learner::new(tiny(), &Device::flex()).unwrap();
    learner.poison_for_test();
    let out = common::temp_path("never-written.wmck");
    for err in [learner.save(&out), learner.save_compact(&out)] {
        let err = err.expect_err("refused");
        assert!(err.to_string().contains("not finite"), "{err}");
    }
    assert!(!out.exists(), "nothing written");

    // An update so large it leaves the weights infinite (with finite losses: the learning
    // rate overflows f32) is not published, and the trainer says so.
    let exploding = WorldModelConfig {
        lr: 1e39,
        warmup_steps: 0,
        ..tiny()
    };
    let mut learner = Learner::new(exploding.clone(), &Device::flex()).unwrap();
    for s in synthetic::record(16, 1, 20, 2) {
        learner.push(&s).unwrap();
    }
    assert!(matches!(learner.train_step(), StepOutcome::Updated(_)));
    let err = learner.save(&out).expect_err("refused");
    assert!(err.to_string().contains("not finite"), "{err}");
    assert!(!out.exists());

    let handle = TrainerHandle::start(exploding, &Device::flex()).unwrap();
    for s in synthetic::record(16, 1, 20, 2) {
        handle.send_step(s);
    }
    let started = Instant::now();
    let mut events = Vec::new();
    while started.elapsed() < Duration::from_secs(60)
        && !events
            .iter()
            .any(|e| matches!(e, TrainerEvent::NonFinite { .. }))
    {
        events.extend(handle.events());
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TrainerEvent::NonFinite { .. })),
        "{events:?}"
    );
    if let Some(snap) = handle.latest_snapshot() {
        assert_eq!(checkpoint::non_finite_parameter(&snap.model), None);
    }
    handle.shutdown();
}

/// Step counters read from a checkpoint at `u64::MAX` saturate instead of overflowing.
#[test]
fn counters_at_the_maximum_do_not_overflow() {
    let good = checkpoint_bytes(&tiny(), "max-good.wmck");
    let path = write(
        "max.wmck",
        &with_header(&good, |h| {
            h["steps"] = u64::MAX.into();
            h["frames_seen"] = u64::MAX.into();
        }),
    );
    let ckpt = checkpoint::load(&path, Some(&tiny()), &Device::flex()).unwrap();
    assert_eq!(ckpt.meta.steps, u64::MAX);
    let mut learner = Learner::from_checkpoint(tiny(), ckpt, &Device::flex()).unwrap();
    for s in synthetic::record(16, 1, 20, 2) {
        learner.push(&s).unwrap();
    }
    assert_eq!(learner.frames_seen(), u64::MAX);
    assert!(matches!(learner.train_step(), StepOutcome::Updated(r) if r.step == u64::MAX));
    learner.save(&path).unwrap();
    assert_eq!(checkpoint::read_meta(&path).unwrap().steps, u64::MAX);
    std::fs::remove_file(&path).unwrap();
}

/// `/dev/zero` (no size to stat, never ends) and a 10 GB sparse file are refused at once.
#[test]
fn endless_and_huge_files_fail_fast() {
    let started = Instant::now();
    let zero = Path::new("/dev/zero");
    assert!(matches!(load_err(zero), CheckpointError::NotACheckpoint(_)));
    assert!(checkpoint::read_meta(zero).is_err());
    let err = Dataset::load(zero).unwrap_err();
    assert!(matches!(err, DatasetError::Format { .. }), "{err}");
    let err = world_model::files::read_to_string_limited(
        zero,
        world_model::config::MAX_CONFIG_FILE_BYTES,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FileTooLarge, "{err}");

    let huge = |name: &str, magic: &[u8]| {
        let path = common::temp_path(name);
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(magic).unwrap();
        f.set_len(10 << 30).unwrap();
        path
    };
    let path = huge("huge.wmck", b"MDWMCKPT");
    let err = load_err(&path);
    assert!(
        matches!(err, CheckpointError::Io { ref source, .. } if source.kind() == ErrorKind::FileTooLarge),
        "{err}"
    );
    assert!(err.to_string().contains("limit"), "{err}");
    std::fs::remove_file(&path).unwrap();
    let path = huge("huge.wmds", b"MDWMDATA");
    let err = Dataset::load(&path).unwrap_err();
    assert!(
        matches!(err, DatasetError::Io { ref source, .. } if source.kind() == ErrorKind::FileTooLarge),
        "{err}"
    );
    std::fs::remove_file(&path).unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// The bytes of a dataset file with this JSON header and these records.
fn dataset_bytes(header: &str, records: &[u8]) -> Vec<u8> {
    let mut out = b"MDWMDATA".to_vec();
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(records);
    out
}

/// Header sizes are bounded before a record is read; ticks at `u64::MAX` go through the
/// replay buffer and the evaluation; a cut file keeps its whole records.
#[test]
fn crafted_datasets_are_refused_or_read_safely() {
    for (header, expected) in [
        (
            r#"{"width": 1099511627776, "height": 16, "action_dim": 3}"#,
            "width: 1099511627776 is above the limit 1024",
        ),
        (
            r#"{"width": 16, "height": 18446744073709551615, "action_dim": 3}"#,
            "height: 18446744073709551615 is above the limit",
        ),
        (
            r#"{"width": 16, "height": 16, "action_dim": 4294967296}"#,
            "action_dim: 4294967296 is above the limit",
        ),
        (
            r#"{"width": 0, "height": 16, "action_dim": 3}"#,
            "zero size",
        ),
    ] {
        let path = write("crafted.wmds", &dataset_bytes(header, &[0; 64]));
        let err = Dataset::load(&path).unwrap_err();
        assert!(matches!(err, DatasetError::Format { .. }), "{err}");
        assert!(err.to_string().contains(expected), "{err}");
        assert!(err.to_string().contains("crafted.wmds"), "{err}");
    }
    let mut huge_len = b"MDWMDATA".to_vec();
    huge_len.extend_from_slice(&1u32.to_le_bytes());
    huge_len.extend_from_slice(&u64::MAX.to_le_bytes());
    let path = write("crafted.wmds", &huge_len);
    assert!(
        Dataset::load(&path)
            .unwrap_err()
            .to_string()
            .contains("implausible")
    );

    // Ticks that wrap: recorded, read back, trained on and evaluated without overflow.
    let header = DatasetHeader {
        width: 16,
        height: 16,
        action_dim: 3,
    };
    let steps: Vec<Step> = synthetic::record(16, 1, 14, 6)
        .into_iter()
        .enumerate()
        .map(|(i, s)| Step {
            tick: (u64::MAX - 6).wrapping_add(i as u64),
            ..s
        })
        .collect();
    let mut w = DatasetWriter::create(&path, header).unwrap();
    for s in &steps {
        w.write(s).unwrap();
    }
    w.finish().unwrap();
    let ds = Dataset::load(&path).unwrap();
    assert_eq!(ds.steps, steps);
    assert!(ds.steps.iter().any(|s| s.tick == u64::MAX));
    let mut learner = Learner::new(tiny(), &Device::flex()).unwrap();
    for s in &ds.steps {
        learner.push(s).unwrap();
    }
    assert!(matches!(learner.train_step(), StepOutcome::Updated(_)));
    let mut predictor = Predictor::new(learner.inference_model(), tiny(), Device::flex());
    let report = eval::one_step(&mut predictor, &ds.steps);
    assert!(report.scored + report.unchanged > 0, "{report:?}");
    let open = eval::open_loop(&mut predictor, &ds.steps, 4, 8, 2);
    assert_eq!(open.len(), 8);

    // Cut at every part: the fixed header, the JSON, a record.
    let full = std::fs::read(&path).unwrap();
    let json_end = 20 + u64::from_le_bytes(full[12..20].try_into().unwrap()) as usize;
    let record = (full.len() - json_end) / steps.len();
    for (cut, expected) in [
        (0, Err("shorter than its header")),
        (19, Err("shorter than its header")),
        (json_end - 1, Err("header is truncated")),
        (json_end, Ok((0, 0))),
        (json_end + 5, Ok((0, 5))),
        (full.len() - 3, Ok((steps.len() - 1, record - 3))),
    ] {
        std::fs::write(&path, &full[..cut]).unwrap();
        match (Dataset::load(&path), expected) {
            (Ok(ds), Ok((n, tail))) => {
                assert_eq!(
                    (ds.steps.len(), ds.ignored_tail_bytes),
                    (n, tail),
                    "cut {cut}"
                )
            }
            (Err(e), Err(reason)) => assert!(e.to_string().contains(reason), "cut {cut}: {e}"),
            (got, want) => panic!("cut {cut}: {got:?}, expected {want:?}"),
        }
    }
    std::fs::remove_file(&path).unwrap();
}

/// Configs from JSON files: every bounded size over its bound, Adam's epsilon and the other
/// values that cannot work, each refused naming the field.
#[test]
fn configs_that_cannot_work_are_refused_naming_the_field() {
    for (field, limit) in [
        ("width", MAX_FRAME_SIDE),
        ("height", MAX_FRAME_SIDE),
        ("action_dim", MAX_ACTION_DIM),
        ("cnn_depth", MAX_CNN_DEPTH),
        ("deter", MAX_DETER),
        ("stoch", MAX_STOCH),
        ("classes", MAX_CLASSES),
        ("hidden", MAX_HIDDEN),
        ("batch", MAX_BATCH),
        ("seq_len", MAX_SEQ_LEN),
        ("replay_capacity", MAX_REPLAY_CAPACITY),
        ("min_frames", MAX_REPLAY_CAPACITY),
        ("warmup_steps", MAX_WARMUP_STEPS),
        ("snapshot_every", MAX_SNAPSHOT_EVERY),
    ] {
        // A multiple of 16 past the limit, so only the bound is wrong.
        let value = (limit / 16 + 1) * 16;
        let err = WorldModelConfig::from_json(&format!(r#"{{"{field}": {value}}}"#)).unwrap_err();
        assert!(
            err.0
                .contains(&format!("{field}: {value} is above the limit {limit}")),
            "{err}"
        );
    }
    let err = WorldModelConfig::from_json(&format!(
        r#"{{"warp_radius": [{}, 2]}}"#,
        MAX_WARP_RADIUS + 1
    ))
    .unwrap_err();
    assert!(err.0.contains("warp_radius"), "{err}");
    // 1e39 is beyond f32: it reads as infinity.
    for eps in ["-1", "0", "1e39"] {
        let err = WorldModelConfig::from_json(&format!(r#"{{"adam_eps": {eps}}}"#)).unwrap_err();
        assert!(err.0.contains("adam_eps"), "{eps}: {err}");
    }
    let err = WorldModelConfig {
        adam_eps: f32::INFINITY,
        ..tiny()
    }
    .validate()
    .unwrap_err();
    assert!(err.0.contains("adam_eps"), "{err}");
    for (json, field) in [
        (r#"{"lr": 0}"#, "lr"),
        (r#"{"lr": -1e-3}"#, "lr"),
        (
            r#"{"min_frames": 30000, "replay_capacity": 20000}"#,
            "min_frames",
        ),
        (r#"{"grad_clip": -1}"#, "grad_clip"),
        (r#"{"kl_dyn": 1e39}"#, "kl_dyn"),
    ] {
        let err = WorldModelConfig::from_json(json).unwrap_err();
        assert!(err.0.contains(field), "{json}: {err}");
    }
}

/// What a bounded run of a binary printed on stderr, and how it ended.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    stderr: String,
}

/// Virtual memory the binaries may use, in KiB (`ulimit -v`): 4 GB, enough for a normal
/// start of the flex backend, far below what a size from a file could ask for.
const MEMORY_LIMIT_KIB: u64 = 4_000_000;

/// Runs `program args` under the memory limit, killed after 60 s (a test failure).
fn run_limited(program: &Path, args: &[&std::ffi::OsStr]) -> Outcome {
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!("ulimit -v {MEMORY_LIMIT_KIB}; exec \"$0\" \"$@\""))
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash starts");
    let mut pipe = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} {args:?} ran past 60 s: {}",
                program.display(),
                reader.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        code: status.code(),
        stderr: reader.join().expect("stderr read"),
    }
}

/// A failure (an exit code, not a signal), no panic, and exactly one `error:` line, naming
/// each of `names`.
fn assert_one_clear_error(out: &Outcome, names: &[&str]) {
    assert!(out.code.is_some_and(|c| c != 0), "{out:?}");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    for name in names {
        assert!(errors[0].contains(name), "{name} in {}", errors[0]);
    }
}

#[test]
fn world_model_train_refuses_hostile_files_in_one_line() {
    let bin = Path::new(env!("CARGO_BIN_EXE_world-model-train"));
    let out_ckpt = common::temp_path("train-out.wmck");
    let os = |p: &Path| p.as_os_str().to_owned();
    let run = |args: &[std::ffi::OsString]| {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        run_limited(bin, &args)
    };

    let out = run(&[
        "--data".into(),
        "/dev/zero".into(),
        "--out".into(),
        os(&out_ckpt),
    ]);
    assert_one_clear_error(&out, &["/dev/zero"]);

    let huge = write(
        "train-huge.wmds",
        &dataset_bytes(
            r#"{"width": 1099511627776, "height": 1099511627776, "action_dim": 3}"#,
            &[0; 64],
        ),
    );
    let out = run(&["--data".into(), os(&huge), "--out".into(), os(&out_ckpt)]);
    assert_one_clear_error(&out, &["train-huge.wmds", "above the limit"]);

    let out = run(&[
        "--data".into(),
        os(&huge),
        "--config".into(),
        "/dev/zero".into(),
        "--out".into(),
        os(&out_ckpt),
    ]);
    assert_one_clear_error(&out, &["/dev/zero", "limit"]);

    // A dataset and config that fit, and a checkpoint of that network full of NaN.
    let data = common::temp_path("train-good.wmds");
    let mut w = DatasetWriter::create(
        &data,
        DatasetHeader {
            width: 16,
            height: 16,
            action_dim: 3,
        },
    )
    .unwrap();
    for s in synthetic::record(16, 1, 20, 3) {
        w.write(&s).unwrap();
    }
    w.finish().unwrap();
    let config = write(
        "train-config.json",
        serde_json::to_string(&tiny()).unwrap().as_bytes(),
    );
    let nan = write(
        "train-nan.wmck",
        &with_nan_weights(&checkpoint_bytes(&tiny(), "train-good.wmck")),
    );
    let out = run(&[
        "--data".into(),
        os(&data),
        "--config".into(),
        os(&config),
        "--resume".into(),
        os(&nan),
        "--device".into(),
        "flex".into(),
        "--steps".into(),
        "1".into(),
        "--out".into(),
        os(&out_ckpt),
    ]);
    assert_one_clear_error(&out, &["train-nan.wmck", "not finite"]);
    assert!(!out_ckpt.exists());
    for p in [huge, data, config, nan] {
        std::fs::remove_file(p).unwrap();
    }
}

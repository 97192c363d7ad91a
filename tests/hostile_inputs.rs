//! The hostile-input suite through the real `mini-dreamer` binary, under a memory limit (an
//! attempted huge allocation fails the test, not the machine) and a 60 s timeout: a
//! checkpoint that is `/dev/zero`, full of NaN, with an invalid header or a frame the camera
//! cannot have, a config asking for a huge network, tick counts near 2^64. Each is refused
//! before the game starts, with a non-zero exit and one clear `error:` line.

#[allow(dead_code)]
mod binary;

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bevy_world_model::world_model::{Device, Learner, Sampling, WorldModelConfig, checkpoint};
use binary::game;

/// Virtual memory the game may use, in KiB (`ulimit -v`): 4 GB, enough for it to start
/// (it plays headless within it), far below what a size from a file could ask for.
const MEMORY_LIMIT_KIB: u64 = 4_000_000;

/// What a bounded run printed on stderr, and how it ended.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    stderr: String,
}

/// `mini-dreamer ARGS` (as [`game`] sets it up) under the memory limit, killed after 60 s
/// (a test failure).
fn run(args: &[&OsStr]) -> Outcome {
    let inner = game();
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!("ulimit -v {MEMORY_LIMIT_KIB}; exec \"$0\" \"$@\""))
        .arg(inner.get_program())
        .args(args);
    for (key, value) in inner.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    let mut child = cmd
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
                "mini-dreamer {args:?} ran past 60 s: {}",
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

/// A failure (an exit code, not a signal), no panic, exactly one `error:` line, naming each
/// of `names`.
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

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("md-hostile-{}-{name}", std::process::id()))
}

/// A fresh checkpoint of a tiny warp network with a `width x height` frame, as bytes (full
/// precision: its motion layers' biases are exactly 4.0).
fn checkpoint_bytes(width: usize, height: usize) -> Vec<u8> {
    let cfg = WorldModelConfig {
        width,
        height,
        cnn_depth: 4,
        deter: 16,
        stoch: 4,
        classes: 4,
        hidden: 16,
        residual: true,
        warp: true,
        warp_radius: [2, 2],
        batch: 2,
        seq_len: 4,
        min_frames: 8,
        replay_capacity: 256,
        sampling: Sampling::Uniform,
        ..WorldModelConfig::default()
    };
    // A name of its own per call: tests run in parallel threads of one process.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let learner = Learner::new(cfg, &Device::flex()).unwrap();
    let path = temp(&format!("fresh-{width}x{height}-{call}.wmck"));
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

/// The motion biases (4.0) in the burnpack's tensor data (after its 10-byte header and
/// metadata, at the next multiple of 256) made NaN.
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
    let path = temp(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `eval --ckpt CKPT --report DIR`.
fn eval(ckpt: &Path) -> Outcome {
    let report = temp("report");
    let out = run(&[
        os("eval"),
        os("--ckpt"),
        ckpt.as_os_str(),
        os("--report"),
        report.as_os_str(),
    ]);
    assert!(!report.join("report.json").exists(), "nothing was scored");
    out
}

/// The game on `--ckpt CKPT`, headless for one frame.
fn play(ckpt: &Path) -> Outcome {
    run(&[
        os("--ckpt"),
        ckpt.as_os_str(),
        os("--headless"),
        os("--frames"),
        os("1"),
    ])
}

#[test]
fn checkpoints_that_cannot_run_are_refused_before_the_game_starts() {
    let zero = Path::new("/dev/zero");
    assert_one_clear_error(&eval(zero), &["/dev/zero"]);
    assert_one_clear_error(&play(zero), &["/dev/zero"]);

    let good = checkpoint_bytes(16, 16);
    let nan = write("nan.wmck", &with_nan_weights(&good));
    assert_one_clear_error(&eval(&nan), &["nan.wmck", "not finite"]);
    assert_one_clear_error(&play(&nan), &["nan.wmck", "not finite"]);

    let [header, weights, optim] = sections(&good);
    let mut json: serde_json::Value = serde_json::from_slice(&header).unwrap();
    json["config"]["deter"] = serde_json::json!(1_000_000);
    let huge = write(
        "huge-header.wmck",
        &seal(&serde_json::to_vec(&json).unwrap(), &weights, &optim),
    );
    let names = ["huge-header.wmck", "deter: 1000000 is above the limit 4096"];
    assert_one_clear_error(&eval(&huge), &names);
    assert_one_clear_error(&play(&huge), &names);

    // A valid checkpoint, but of a frame the game's square camera cannot give it.
    let wide = write("wide.wmck", &checkpoint_bytes(32, 16));
    assert_one_clear_error(&eval(&wide), &["wide.wmck", "square"]);

    for p in [nan, huge, wide] {
        std::fs::remove_file(p).unwrap();
    }
}

#[test]
fn configs_and_counts_out_of_range_are_refused_in_one_line() {
    let config = write("huge.json", br#"{"deter": 1000000}"#);
    let out = run(&[os("--model-config-file"), config.as_os_str()]);
    assert_one_clear_error(
        &out,
        &["huge.json", "deter: 1000000 is above the limit 4096"],
    );
    std::fs::remove_file(&config).unwrap();

    let out = run(&[os("--model-config-file"), os("/dev/zero")]);
    assert_one_clear_error(&out, &["/dev/zero", "limit"]);

    let out = run(&[
        os("eval"),
        os("--ckpt"),
        os("m.wmck"),
        os("--report"),
        os("r"),
        os("--ticks"),
        os("18446744073709551615"),
    ]);
    assert_one_clear_error(&out, &["--ticks", "18446744073709551615"]);

    let out = run(&[os("--heldout-ticks"), os("18446744073709551615")]);
    assert_one_clear_error(&out, &["--heldout-ticks"]);
}

/// `--record` and `--report` that cannot be written, or that hold an earlier run's report
/// or checkpoint, are refused before the run starts (nothing loads, learns or renders), with
/// one line naming the flag and the path; the earlier files are left byte for byte.
#[test]
fn outputs_that_cannot_be_written_or_would_replace_a_run_are_refused() {
    let dir = temp("outputs");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let research = |report: &Path| {
        run(&[
            os("--headless"),
            os("--autopilot"),
            os("--minutes"),
            os("1"),
            os("--report"),
            report.as_os_str(),
        ])
    };

    let out = run(&[
        os("--headless"),
        os("--fresh"),
        os("--frames"),
        os("600"),
        os("--record"),
        file.as_os_str(),
    ]);
    assert_one_clear_error(&out, &["--record", "a-file", "not a directory"]);
    let out = research(&file);
    assert_one_clear_error(&out, &["--report", "a-file", "not a directory"]);
    assert_eq!(std::fs::read(&file).unwrap(), b"not a directory");

    // A directory holding an earlier run's report, or an interrupted run's checkpoint.
    for name in ["report.json", "model.ckpt"] {
        let earlier = dir.join(format!("earlier-{name}"));
        std::fs::create_dir_all(&earlier).unwrap();
        let bytes = format!("the earlier run's {name}").into_bytes();
        std::fs::write(earlier.join(name), &bytes).unwrap();
        let out = research(&earlier);
        assert_one_clear_error(&out, &["--report", "earlier-", name, "another directory"]);
        assert_eq!(std::fs::read(earlier.join(name)).unwrap(), bytes);
        assert_eq!(
            std::fs::read_dir(&earlier).unwrap().count(),
            1,
            "nothing added"
        );
    }

    // `eval` writes report.json too.
    let ckpt = write("outputs-16.wmck", &checkpoint_bytes(16, 16));
    let earlier = dir.join("earlier-eval");
    std::fs::create_dir_all(&earlier).unwrap();
    std::fs::write(earlier.join("report.json"), b"{}").unwrap();
    let out = run(&[
        os("eval"),
        os("--ckpt"),
        ckpt.as_os_str(),
        os("--report"),
        earlier.as_os_str(),
    ]);
    assert_one_clear_error(&out, &["--report", "report.json"]);
    assert_eq!(std::fs::read(earlier.join("report.json")).unwrap(), b"{}");
    std::fs::remove_file(&ckpt).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

//! `world-model-train` through the real binary, on a tiny network and a small synthetic
//! dataset: outputs that would overwrite an input or each other are refused in one line
//! before any work (every file there before is unchanged, byte for byte, and none is added);
//! an `--out` whose directory takes no files is refused before training; SIGTERM and SIGINT
//! during training write `--out` with the steps done so far and a report marked interrupted,
//! and exit with 143 and 130.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use world_model::{DatasetHeader, DatasetWriter, Step, WorldModelConfig, synthetic};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_world-model-train"))
}

/// A network that takes a training step in milliseconds.
fn tiny() -> WorldModelConfig {
    common::tiny_warp_config()
}

/// A fresh, empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = common::temp_path(&format!("train-cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A small synthetic dataset (`data.wmds`) and the tiny config (`tiny.json`) in `dir`.
fn inputs(dir: &Path) -> (PathBuf, PathBuf) {
    let data = dir.join("data.wmds");
    write_dataset(&data, synthetic::record(16, 1, 20, 3));
    let config = dir.join("tiny.json");
    std::fs::write(&config, serde_json::to_string(&tiny()).unwrap()).unwrap();
    (data, config)
}

/// Writes `steps` (16x16 frames, 3-long actions) as a dataset at `path`.
fn write_dataset(path: &Path, steps: impl IntoIterator<Item = Step>) {
    let header = DatasetHeader {
        width: 16,
        height: 16,
        action_dim: 3,
    };
    let mut writer = DatasetWriter::create(path, header).unwrap();
    for step in steps {
        writer.write(&step).unwrap();
    }
    writer.finish().unwrap();
}

/// Every file in `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect()
}

fn os(p: &Path) -> OsString {
    p.as_os_str().to_owned()
}

/// `--data DATA --config CONFIG --device flex --steps STEPS --out OUT`.
fn args(data: &Path, config: &Path, steps: u64, out: &Path) -> Vec<OsString> {
    vec![
        "--data".into(),
        os(data),
        "--config".into(),
        os(config),
        "--device".into(),
        "flex".into(),
        "--steps".into(),
        steps.to_string().into(),
        "--out".into(),
        os(out),
    ]
}

/// How a run ended, and what it printed on stderr.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    stderr: String,
}

/// A running `world-model-train` whose stderr is collected as it comes (the progress bar
/// redraws one line with `\r`).
struct Running {
    child: Child,
    stderr: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Running {
    fn start(args: &[OsString]) -> Self {
        let mut child = Command::new(bin())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("world-model-train starts");
        let mut pipe = child.stderr.take().expect("stderr is piped");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sink.lock().unwrap().extend_from_slice(&buf[..n]),
                }
            }
        });
        Self {
            child,
            stderr,
            reader: Some(reader),
        }
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Waits until stderr shows `text` (killed, and a test failure, after `limit`).
    fn wait_for(&mut self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.stderr().contains(text) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "ended ({status}) before printing {text:?}: {}",
                    self.stderr()
                );
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("no {text:?} within {limit:?}: {}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the end (killed, and a test failure, after `limit`).
    fn finish(mut self, limit: Duration) -> Outcome {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("still running after {limit:?}: {}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        Outcome {
            code: status.code(),
            stderr: self.stderr(),
        }
    }
}

/// Runs to the end, at most 60 s.
fn run(args: &[OsString]) -> Outcome {
    Running::start(args).finish(Duration::from_secs(60))
}

/// A failure (an exit code, not a signal), no panic, exactly one `error:` line naming each of
/// `names`, and nothing loaded or trained before it.
fn assert_refused_at_once(out: &Outcome, names: &[&str]) {
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
    assert!(
        !out.stderr.contains("loaded") && !out.stderr.contains("steps/s"),
        "refused before any work: {}",
        out.stderr
    );
}

#[test]
fn outputs_that_would_overwrite_an_input_or_each_other_are_refused() {
    let dir = scratch("overwrite");
    let (data, config) = inputs(&dir);
    // Files of an earlier run, which a refused run must leave as they are.
    let ckpt = dir.join("model.wmck");
    std::fs::write(&ckpt, b"an earlier checkpoint").unwrap();
    let json_out = dir.join("model.json");
    std::fs::write(&json_out, b"an earlier checkpoint named .json").unwrap();
    let compact = dir.join("compact.wmck");
    let with = |base: Vec<OsString>, more: &[OsString]| [base, more.to_vec()].concat();
    let cases: Vec<(Vec<OsString>, [&str; 2])> = vec![
        // The report's default path is --out with .json: here --out itself.
        (args(&data, &config, 1, &json_out), ["--out", "--report"]),
        (args(&data, &config, 1, &data), ["--out", "--data"]),
        // The same file given another way.
        (
            args(&data, &config, 1, &dir.join(".").join("data.wmds")),
            ["--out", "--data"],
        ),
        (args(&data, &config, 1, &config), ["--out", "--config"]),
        (
            with(
                args(&data, &config, 1, &ckpt),
                &["--compact".into(), os(&ckpt)],
            ),
            ["--compact", "--out"],
        ),
        (
            with(
                args(&data, &config, 1, &ckpt),
                &["--report".into(), os(&ckpt)],
            ),
            ["--report", "--out"],
        ),
        // Two outputs that do not exist yet, given the same path.
        (
            with(
                args(&data, &config, 1, &ckpt),
                &[
                    "--compact".into(),
                    os(&compact),
                    "--report".into(),
                    os(&dir.join(".").join("compact.wmck")),
                ],
            ),
            ["--report", "--compact"],
        ),
        (
            with(
                args(&data, &config, 1, &ckpt),
                &["--report".into(), os(&data)],
            ),
            ["--report", "--data"],
        ),
        // The compact copy would replace the checkpoint it resumes from.
        (
            with(
                args(&data, &config, 1, &dir.join("new.wmck")),
                &["--resume".into(), os(&ckpt), "--compact".into(), os(&ckpt)],
            ),
            ["--compact", "--resume"],
        ),
    ];
    let before = snapshot(&dir);
    for (args, names) in &cases {
        let out = run(args);
        assert_refused_at_once(&out, names);
        assert_eq!(snapshot(&dir), before, "{args:?} changed the directory");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_out_that_cannot_be_written_is_refused_before_training() {
    let dir = scratch("unwritable");
    let (data, config) = inputs(&dir);
    let blocker = dir.join("a-file");
    std::fs::write(&blocker, b"not a directory").unwrap();
    // Steps enough for hours: only a refusal ends it within the test's limit.
    let many = 1_000_000_000;

    let out = run(&args(&data, &config, many, &blocker.join("model.wmck")));
    assert_refused_at_once(&out, &["--out", "a-file", "not a directory"]);
    assert_eq!(std::fs::read(&blocker).unwrap(), b"not a directory");

    let out = run(&args(&data, &config, many, &dir));
    assert_refused_at_once(&out, &["--out", "is a directory"]);

    let out = run(&with_report(
        args(&data, &config, many, &dir.join("model.wmck")),
        &blocker.join("report.json"),
    ));
    assert_refused_at_once(&out, &["--report", "a-file", "not a directory"]);

    #[cfg(target_os = "linux")]
    // SAFETY: geteuid only returns the caller's user id. Root writes into any directory, so
    // a read-only one is tried only as another user.
    if unsafe { libc::geteuid() } != 0 {
        use std::os::unix::fs::PermissionsExt;
        let read_only = dir.join("read-only");
        std::fs::create_dir_all(&read_only).unwrap();
        std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o555)).unwrap();
        let out = run(&args(&data, &config, many, &read_only.join("model.wmck")));
        std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_refused_at_once(&out, &["--out", "read-only"]);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn with_report(mut args: Vec<OsString>, report: &Path) -> Vec<OsString> {
    args.push("--report".into());
    args.push(os(report));
    args
}

/// Trains for ever, sends `signal` once the progress bar shows, and checks the run stopped
/// promptly with `code`, writing `--out` (which loads, with the steps done) and a report
/// marked interrupted.
#[cfg(target_os = "linux")]
fn stops_cleanly_on(signal: libc::c_int, name: &str, code: i32) {
    let dir = scratch(&format!("signal-{name}"));
    let (data, config) = inputs(&dir);
    let out = dir.join("model.wmck");
    let mut running = Running::start(&args(&data, &config, 1_000_000_000, &out));
    running.wait_for("steps/s", Duration::from_secs(60));
    let sent = Instant::now();
    // SAFETY: kill only sends a signal, to the child this test started and still holds.
    let rc = unsafe { libc::kill(running.child.id() as libc::pid_t, signal) };
    assert_eq!(rc, 0, "signal sent");
    let outcome = running.finish(Duration::from_secs(60));
    assert_eq!(outcome.code, Some(code), "{}", outcome.stderr);
    assert!(
        sent.elapsed() < Duration::from_secs(30),
        "stopped {:?} after the signal",
        sent.elapsed()
    );
    assert!(
        outcome.stderr.contains(&format!("interrupted by {name}")),
        "{}",
        outcome.stderr
    );
    assert!(!outcome.stderr.contains("error:"), "{}", outcome.stderr);
    let ckpt = world_model::checkpoint::load(&out, None, &world_model::Device::flex())
        .expect("--out is a checkpoint that loads");
    assert!(ckpt.meta.steps >= 1, "{} steps saved", ckpt.meta.steps);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("model.json")).unwrap()).unwrap();
    assert_eq!(report["interrupted"], name);
    assert_eq!(report["steps_total"].as_u64(), Some(ckpt.meta.steps));
    assert!(report["heldout_one_step"].is_null());
    let temps: Vec<String> = snapshot(&dir)
        .into_keys()
        .filter(|n| n.contains(".wm-tmp-"))
        .collect();
    assert!(temps.is_empty(), "temporary files left: {temps:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn sigterm_during_training_saves_out_and_exits_143() {
    stops_cleanly_on(libc::SIGTERM, "SIGTERM", 143);
}

#[cfg(target_os = "linux")]
#[test]
fn sigint_during_training_saves_out_and_exits_130() {
    stops_cleanly_on(libc::SIGINT, "SIGINT", 130);
}

/// Data that pays rewards (a `.wmds` version 2 recording of a task) gets the reward head's
/// held-out figures in the report and on stderr; data that pays none gets neither.
#[test]
fn rewarded_data_reports_the_reward_head() {
    let dir = scratch("rewards");
    let (plain, config) = inputs(&dir);
    let paid = dir.join("paid.wmds");
    let steps = synthetic::record(16, 1, 40, 3).into_iter().enumerate();
    write_dataset(
        &paid,
        steps.map(|(i, mut step)| {
            step.reward = if i % 2 == 0 { 1.0 } else { 0.0 };
            step
        }),
    );
    for (data, expected) in [(&paid, true), (&plain, false)] {
        let out = dir.join("model.wmck");
        let report = dir.join("report.json");
        let outcome = run(&with_report(args(data, &config, 3, &out), &report));
        assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        let rewards = &report["heldout_rewards"];
        assert_eq!(!rewards.is_null(), expected, "{report}");
        assert_eq!(outcome.stderr.contains("held-out reward MSE"), expected);
        if expected {
            let prior = &rewards["prior"];
            assert!(prior["ticks"].as_u64().unwrap() > 0, "{rewards}");
            assert!(
                prior["mean_reward_mse"].as_f64().unwrap() > 0.0,
                "{rewards}"
            );
            assert!(prior["reward_mse"].as_f64().is_some(), "{rewards}");
            assert!(prior["events"].as_u64().unwrap() > 0, "{rewards}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

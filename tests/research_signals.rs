//! SIGTERM during a research run, through the real binary: the weights learned so far are
//! saved to `--report DIR/model.ckpt` (a checkpoint that loads), the run says it was
//! interrupted and exits with 143, and no report is written. A tiny network and a run of
//! half a minute, signalled at its first progress line (10 s in), keep it to about 15 s
//! plus the game's start-up.

#[allow(dead_code)]
mod binary;

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bevy_world_model::world_model::{Device, checkpoint};
use binary::game;

#[test]
fn sigterm_saves_a_research_runs_weights_and_exits_143() {
    let tmp = std::env::temp_dir().join(format!("mini-dreamer-sigterm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let config = tmp.join("tiny.json");
    std::fs::write(
        &config,
        r#"{"cnn_depth": 4, "deter": 16, "stoch": 4, "classes": 4, "hidden": 16,
            "batch": 2, "seq_len": 4, "min_frames": 8}"#,
    )
    .unwrap();
    let report = tmp.join("run");
    let mut child = game()
        .args([
            "--headless",
            "--autopilot",
            "--minutes",
            "0.5",
            "--seed",
            "3",
        ])
        .args(["--heldout-ticks", "10", "--model-config-file"])
        .arg(&config)
        .arg("--report")
        .arg(&report)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mini-dreamer starts");
    let (lines_tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout is piped");
    let out_reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    // The first progress line: learning has started.
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    while !seen.iter().any(|l: &String| l.contains("learning | step")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "no progress line: {seen:?}\n{}",
                    err_reader.join().unwrap_or_default()
                );
            }
        }
    }
    // bash's own `kill`: no procps needed.
    let killed = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("kill -TERM {}", child.id()))
        .status()
        .expect("bash runs");
    assert!(killed.success());
    let sent = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if sent.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running 60 s after SIGTERM: {seen:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = out_reader.join();
    seen.extend(lines.try_iter());
    let stderr = err_reader.join().unwrap_or_default();
    let stdout = seen.join("\n");
    eprintln!("{stdout}\n{stderr}");

    assert_eq!(status.code(), Some(143), "exit status");
    assert!(
        stdout.contains("interrupted by SIGTERM"),
        "says it was interrupted"
    );
    let ckpt = checkpoint::load(&report.join("model.ckpt"), None, &Device::flex())
        .expect("model.ckpt saved and loads");
    assert_eq!(ckpt.meta.config.deter, 16, "the run's network");
    assert!(!report.join("report.json").exists(), "no report");
    let _ = std::fs::remove_dir_all(&tmp);
}

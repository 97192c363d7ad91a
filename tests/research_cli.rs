//! The headless research mode end to end, through the real binary (lavapipe renders where
//! there is no GPU): a one-minute learning run writes a report of the documented shape, its
//! loss falls, its recording is a dataset `world-model-train` can read, and `eval` scores the
//! checkpoint it saved on another seed. Bad input to `eval` (a bad checkpoint, a game flag
//! before it) is a clear error.

mod binary;

use bevy_world_model::world_model::Dataset;
use binary::{game, read_report};
use serde_json::Value;

fn assert_scores(v: &Value, what: &str) {
    for side in ["model", "baseline"] {
        for metric in ["psnr", "ssim", "mse"] {
            let x = v[side][metric].as_f64();
            assert!(
                x.is_some_and(f64::is_finite),
                "{what}.{side}.{metric} = {:?}",
                v[side][metric]
            );
        }
    }
    assert!(
        v["ticks_scored"].as_u64().unwrap() > 0,
        "{what}: ticks scored"
    );
    assert!(
        v["ticks_unchanged"].as_u64().is_some(),
        "{what}: unchanged count"
    );
}

#[test]
fn a_minute_of_research_then_a_held_out_eval() {
    let tmp = std::env::temp_dir().join(format!("mini-dreamer-research-{}", std::process::id()));
    let (report, data, eval) = (tmp.join("run"), tmp.join("data"), tmp.join("eval"));
    let _ = std::fs::remove_dir_all(&tmp);

    let out = game()
        .args(["--headless", "--autopilot", "--minutes", "1", "--seed", "3"])
        .args(["--heldout-ticks", "120", "--report"])
        .arg(&report)
        .arg("--record")
        .arg(&data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "research run failed");
    assert!(
        stdout.contains("learning | step"),
        "progress lines are printed"
    );

    let r = read_report(&report);
    assert_eq!(r["version"], 1);
    assert_eq!(r["kind"], "train");
    assert_eq!(r["run"]["seed"], 3);
    assert!(r["config"]["width"].as_u64() == Some(64));
    assert!(r["device"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(r["throughput"]["train_steps"].as_u64().unwrap() > 0);
    assert!(
        r["series"].as_array().unwrap().len() >= 4,
        "a point every 10 s"
    );
    assert_scores(&r["training"], "training");
    let held = &r["heldout"];
    assert_scores(held, "heldout");
    assert_eq!(
        held["seed"], 1003,
        "held-out seed defaults to --seed + 1000"
    );
    assert_eq!(held["unseen"], true);
    assert!(held["ticks_scored"].as_u64().unwrap() >= 120);
    let horizons = held["horizons"].as_array().unwrap();
    assert!(!horizons.is_empty(), "open-loop horizons scored");
    assert_eq!(horizons[0]["k"], 1);
    let loss = &r["loss"];
    assert!(
        loss["last"].as_f64().unwrap() < loss["first"].as_f64().unwrap(),
        "the loss fell: {loss}"
    );
    assert_eq!(loss["fell"], true);
    for f in ["predictions.png", "dream.png", "model.ckpt"] {
        assert!(report.join(f).is_file(), "{f} written");
        assert!(
            r["files"].as_array().unwrap().iter().any(|v| v == f),
            "{f} listed"
        );
    }

    // The recording is a dataset of every transition, at the model's frame size.
    let files: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(
        name.starts_with("maze-seed3-") && name.ends_with(".wmds"),
        "{name}"
    );
    let ds = Dataset::load(&files[0]).unwrap();
    assert_eq!((ds.header.width, ds.header.height), (64, 64));
    assert!(ds.steps.len() > 300, "{} steps recorded", ds.steps.len());
    assert!(ds.steps.windows(2).any(|w| w[0].frame != w[1].frame));
    assert!(ds.steps.iter().any(|s| s.action.iter().any(|a| *a != 0.0)));

    // `eval` scores the saved checkpoint on another seed, learning off.
    let out = game()
        .args(["eval", "--seed", "77", "--ticks", "60", "--ckpt"])
        .arg(report.join("model.ckpt"))
        .arg("--report")
        .arg(&eval)
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e = read_report(&eval);
    assert_eq!(e["kind"], "eval");
    assert_eq!(e["heldout"]["seed"], 77);
    assert_scores(&e["heldout"], "eval heldout");
    assert_eq!(e["throughput"]["frames_sent"], 0, "learning is off in eval");
    assert!(e["model_source"].as_str().unwrap().contains("model.ckpt"));

    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn eval_of_a_missing_or_corrupt_checkpoint_is_a_clear_error() {
    let tmp = std::env::temp_dir().join(format!("mini-dreamer-badckpt-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let corrupt = tmp.join("corrupt.ckpt");
    std::fs::write(&corrupt, b"not a checkpoint").unwrap();
    for ckpt in [tmp.join("missing.ckpt"), corrupt] {
        let out = game()
            .args(["eval", "--report"])
            .arg(tmp.join("r"))
            .arg("--ckpt")
            .arg(&ckpt)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(
            err.contains("error:") && err.contains(&*ckpt.file_name().unwrap().to_string_lossy()),
            "{err}"
        );
        assert!(!tmp.join("r/report.json").exists());
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_game_flag_before_eval_is_refused_naming_it() {
    // `eval` has its own --seed; the one before it would otherwise be silently dropped.
    let out = game()
        .args(["--seed", "3", "eval", "--ckpt", "m.wmck", "--report", "r"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "a usage error: {err}");
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error:") && first.contains("--seed") && first.contains("eval"),
        "{err}"
    );
}

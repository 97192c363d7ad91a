use clap::CommandFactory;
use clap::error::ErrorKind;

use super::*;
use bevy_world_model::world_model::ReconLoss;

/// `mini-dreamer ARGS`, parsed.
fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from([&["mini-dreamer"], args].concat())
}

/// `mini-dreamer BEFORE eval --ckpt m.wmck --report r`, parsed.
fn before_eval(before: &[&str]) -> Result<Cli, clap::Error> {
    parse(&[before, &["eval", "--ckpt", "m.wmck", "--report", "r"]].concat())
}

/// The game's flags of the `eval` in `cli`.
fn eval_game(cli: &Cli) -> GameArgs {
    let Some(Command::Eval(args)) = &cli.command else {
        panic!("expected eval");
    };
    args.game()
}

/// clap's own consistency checks (ids named in `requires_all`, `conflicts_with`, ...).
#[test]
fn the_command_line_is_well_formed() {
    Cli::command().debug_assert();
}

/// A config file is read and validated at start-up; a missing file, a typo and an
/// out-of-range value are refused with the file's name and the problem.
#[test]
fn model_config_files_are_read_and_checked() {
    let dir = std::env::temp_dir().join(format!("md-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    };
    let good = write("good.json", r#"{"recon_loss": "l1", "deter": 128}"#);
    let cli = parse(&["--model-config-file", &good]).unwrap();
    let file = cli.game.model.model_config_file.expect("config read");
    assert!(!file.sets_sketch);
    let cfg = file.config;
    // The file's fields over the game's defaults (residual and warp stay on).
    assert!(cfg.residual && cfg.warp && cfg.recon_loss == ReconLoss::L1 && cfg.deter == 128);
    for (file, problem) in [
        (write("typo.json", r#"{"residul": true}"#), "residul"),
        (write("range.json", r#"{"unimix": 2.0}"#), "unimix"),
        (
            dir.join("missing.json").to_string_lossy().into_owned(),
            "cannot read",
        ),
    ] {
        let err = parse(&["--model-config-file", &file])
            .map(|_| ())
            .expect_err("refused")
            .to_string();
        assert!(err.contains(problem), "{err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Playing starts from the shipped checkpoint; asking for anything else (fresh weights,
/// another checkpoint or network, a research run, `eval`) does not, nor does a missing file.
#[test]
fn playing_defaults_to_the_shipped_checkpoint() {
    let shipped = std::env::temp_dir().join(format!("md-shipped-{}.wmck", std::process::id()));
    std::fs::write(&shipped, b"x").unwrap();
    let plan = |args: &[&str]| {
        RunPlan::with_shipped_checkpoint(parse(args).unwrap(), &shipped).map_err(|e| e.to_string())
    };
    // Whether the plan took the shipped checkpoint (and says so), and its checkpoint.
    let took = |args: &[&str]| {
        let run = plan(args).unwrap();
        let said = run.notices.iter().any(|n| n.contains("pretrained model"));
        (said, run.model.ckpt)
    };
    assert_eq!(took(&["--seed", "4"]), (true, Some(shipped.clone())));
    assert_eq!(took(&["--autopilot"]), (true, Some(shipped.clone())));
    for args in [
        &["--fresh"][..],
        &["--resolution", "32"],
        &["--headless", "--autopilot", "--minutes", "1"],
    ] {
        let (said, ckpt) = took(args);
        assert!(!said, "{args:?}");
        assert_ne!(ckpt, Some(shipped.clone()), "{args:?}");
    }
    // Another --ckpt is what runs, never the shipped one: one that cannot be loaded (here a
    // missing file) is an error naming it, not a game on random weights.
    let err = plan(&["--ckpt", "mine.wmck"]).expect_err("no such file");
    assert!(err.contains("mine.wmck"), "{err}");
    // `eval` scores its own --ckpt (here a missing file, an error naming it), never the
    // shipped one.
    let err = plan(&["eval", "--ckpt", "m.wmck", "--report", "r"]).expect_err("no such file");
    assert!(err.contains("m.wmck"), "{err}");
    assert!(parse(&["--fresh", "--ckpt", "m"]).is_err());
    std::fs::remove_file(&shipped).unwrap();
    assert_eq!(took(&[]), (false, None), "missing file: fresh");
}

#[test]
fn bad_flags_are_rejected_by_clap() {
    assert!(parse(&["--scale", "0"]).is_err());
    assert!(parse(&["--seed", "abc"]).is_err());
    assert!(parse(&["--resolution", "8"]).is_err());
    assert!(parse(&["--bogus"]).is_err());
    assert!(parse(&["--device", "tpu"]).is_err());
    let gpu = parse(&["--device", "gpu"]).unwrap();
    assert_eq!(gpu.game.model.device, DeviceChoice::Wgpu);
    let ok = parse(&["--seed", "3", "--frames", "10"]).unwrap();
    assert_eq!((ok.game.world.seed, ok.game.display.frames), (3, Some(10)));
    assert!(parse(&["--minutes", "0"]).is_err());
    assert!(parse(&["--minutes", "nan"]).is_err());
    assert!(parse(&["--autopilot", "sideways"]).is_err());
    assert!(parse(&["--tick-hz", "0"]).is_err());
    // Redrawing a dashboard that is not there is a contradiction, not a no-op.
    assert!(parse(&["--no-ui", "--ui-redraw-every-frame"]).is_err());
    assert!(!ok.game.display.ui_redraw_every_frame);
    let redraw = parse(&["--ui-redraw-every-frame"]).unwrap();
    assert!(redraw.game.display.ui_redraw_every_frame);
    assert_eq!(ok.game.display.window, (1280, 720));
    let big = parse(&["--window", "1920x1080"]).unwrap();
    assert_eq!(big.game.display.window, (1920, 1080));
    for bad in ["1920", "100x100", "1920x99999", "axb"] {
        assert!(parse(&["--window", bad]).is_err(), "{bad}");
    }
    // The pilots' comparison: 50 episodes each by default, 0 skips it, a bound above.
    assert_eq!(ok.game.research.eval_episodes, 50);
    assert!(parse(&["--eval-episodes", "0"]).is_ok());
    assert!(parse(&["--eval-episodes", "100000"]).is_err());
}

#[test]
fn autopilot_mode_defaults_to_random_when_named_alone() {
    let cli = parse(&["--autopilot", "--minutes", "2"]).unwrap();
    assert_eq!(
        (cli.game.research.autopilot, cli.game.research.minutes),
        (Some(AutopilotMode::Random), Some(2.0))
    );
    let cli = parse(&["--autopilot", "curious"]).unwrap();
    assert_eq!(cli.game.research.autopilot, Some(AutopilotMode::Curious));
    assert_eq!(parse(&[]).unwrap().game.research.autopilot, None);
}

#[test]
fn a_report_needs_minutes_and_the_autopilot() {
    assert!(parse(&["--report", "r"]).is_err());
    assert!(parse(&["--report", "r", "--minutes", "1"]).is_err());
    let cli = parse(&[
        "--report",
        "r",
        "--minutes",
        "1",
        "--autopilot",
        "--seed",
        "5",
    ])
    .unwrap();
    assert_eq!(cli.game.heldout_seed(), 1005);
}

#[test]
fn eval_is_a_headless_frozen_autopilot_run() {
    let cli = parse(&["eval", "--ckpt", "m.ckpt", "--seed", "9", "--report", "out"]).unwrap();
    let run = eval_game(&cli);
    assert!(run.display.headless && run.model.no_learning && run.display.uncapped);
    assert_eq!(
        (
            run.world.seed,
            run.heldout_seed(),
            run.research.heldout_ticks
        ),
        (9, 9, 900)
    );
    assert_eq!(run.research.autopilot, Some(AutopilotMode::Random));
    assert!(parse(&["eval", "--seed", "9"]).is_err());
}

/// `eval`'s own flags, after it, are what it runs with.
#[test]
fn flags_after_eval_are_honoured() {
    let cli = parse(&[
        "eval",
        "--ckpt",
        "m.wmck",
        "--report",
        "r",
        "--seed",
        "3",
        "--level",
        "gallery",
        "--tick-hz",
        "5",
        "--device",
        "cpu",
        "--ticks",
        "100",
        "--autopilot",
        "curious",
    ])
    .unwrap();
    let run = eval_game(&cli);
    assert_eq!(
        (
            run.world.seed,
            run.world.level.as_deref(),
            run.world.tick_hz
        ),
        (3, Some("gallery"), 5.0)
    );
    assert_eq!(run.model.device, DeviceChoice::Flex);
    assert_eq!(run.model.ckpt, Some(PathBuf::from("m.wmck")));
    assert_eq!(run.research.report, Some(PathBuf::from("r")));
    assert_eq!(
        (run.research.heldout_ticks, run.research.autopilot),
        (100, Some(AutopilotMode::Curious))
    );
}

/// A world flag before `eval` is refused, not silently dropped: `eval` has its own
/// `--seed`, `--level` and `--tick-hz`, and takes the frame size from its checkpoint.
#[test]
fn world_flags_before_eval_are_refused() {
    for flag in [
        &["--seed", "3"][..],
        &["--level", "gallery"],
        &["--tick-hz", "5"],
        &["--resolution", "32"],
    ] {
        let err = before_eval(flag).expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict, "{flag:?}: {err}");
        assert!(err.to_string().contains(flag[0]), "{flag:?}: {err}");
    }
}

/// A model flag before `eval` is refused: `eval` has its own `--ckpt` and `--device`, runs
/// the checkpoint's network with learning off, and has no F5.
#[test]
fn model_flags_before_eval_are_refused() {
    let config = std::env::temp_dir().join(format!("md-cfg-eval-{}.json", std::process::id()));
    std::fs::write(&config, "{}").unwrap();
    let config = config.to_string_lossy().into_owned();
    for flag in [
        &["--ckpt", "other.wmck"][..],
        &["--fresh"],
        &["--device", "cpu"],
        &["--model-config-file", &config],
        &["--no-learning"],
        &["--ckpt-dir", "saves"],
    ] {
        let err = before_eval(flag).expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict, "{flag:?}: {err}");
        assert!(err.to_string().contains(flag[0]), "{flag:?}: {err}");
    }
    std::fs::remove_file(&config).ok();
}

/// A research flag before `eval` is refused: `eval` has its own `--autopilot`, `--report`,
/// `--seed` and `--ticks` for the held-out run, is no timed training run, and records
/// nothing.
#[test]
fn research_flags_before_eval_are_refused() {
    for flag in [
        &["--autopilot", "curious"][..],
        &["--minutes", "1"],
        &["--report", "elsewhere"],
        &["--record", "data"],
        &["--heldout-seed", "5"],
        &["--heldout-level", "gallery"],
        &["--heldout-ticks", "100"],
    ] {
        let err = before_eval(flag).expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict, "{flag:?}: {err}");
        assert!(err.to_string().contains(flag[0]), "{flag:?}: {err}");
    }
}

/// A display flag before `eval` is refused: `eval` is always headless and uncapped, has no
/// window or dashboard, and ends when its ticks are scored.
#[test]
fn display_flags_before_eval_are_refused() {
    for flag in [
        &["--headless"][..],
        &["--frames", "10"],
        &["--screenshot", "shot.png"],
        &["--scale", "2"],
        &["--no-ui"],
        &["--ui-redraw-every-frame"],
        &["--timings"],
        &["--uncapped"],
    ] {
        let err = before_eval(flag).expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict, "{flag:?}: {err}");
        assert!(err.to_string().contains(flag[0]), "{flag:?}: {err}");
    }
}

/// `model-config` takes no game flags either.
#[test]
fn flags_before_model_config_are_refused() {
    let err = parse(&["--seed", "3", "model-config"]).expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::ArgumentConflict, "{err}");
    assert!(matches!(
        parse(&["model-config"]).unwrap().command,
        Some(Command::ModelConfig)
    ));
}

/// `--help` lists the game's flags under their group's heading, in group order.
#[test]
fn help_lists_the_flags_by_group() {
    let help = Cli::command().render_help().to_string();
    let at = |text: &str| {
        help.find(text)
            .unwrap_or_else(|| panic!("{text} missing from:\n{help}"))
    };
    let headings = ["World:", "Model:", "Research:", "Display:"].map(at);
    assert!(headings.is_sorted(), "{help}");
    for (flag, group) in [
        ("--seed", 0),
        ("--tick-hz", 0),
        ("--ckpt-dir", 1),
        ("--no-learning", 1),
        ("--heldout-ticks", 2),
        ("--autopilot", 2),
        ("--headless", 3),
        ("--uncapped", 3),
    ] {
        let pos = at(flag);
        assert!(pos > headings[group], "{flag} after {}", headings[group]);
        if let Some(next) = headings.get(group + 1) {
            assert!(pos < *next, "{flag} before the next heading");
        }
    }
}

/// Played games carry the agent (G hands it the body) and so does `--autopilot dreamer`;
/// timed runs of the other autopilots train the world model alone.
#[test]
fn the_agent_comes_with_play_and_the_dreamer_only() {
    let missing = std::env::temp_dir().join("md-no-shipped-checkpoint.wmck");
    let actions = |args: &[&str]| {
        let run = RunPlan::with_shipped_checkpoint(parse(args).unwrap(), &missing).unwrap();
        run.model_config.agent.actions.len()
    };
    assert_eq!(actions(&["--seed", "4"]), 5);
    assert_eq!(actions(&["--autopilot", "random", "--frames", "10"]), 5);
    assert_eq!(
        actions(&["--headless", "--autopilot", "dreamer", "--minutes", "1"]),
        5
    );
    assert_eq!(
        actions(&["--headless", "--autopilot", "random", "--minutes", "1"]),
        0
    );
    assert_eq!(
        actions(&["--headless", "--autopilot", "curious", "--minutes", "1"]),
        0
    );
}

/// With --ckpt the network is the checkpoint's, and --model-config-file gives only what shapes
/// learning: here a sketch for a checkpoint saved without one (as the shipped one is).
#[test]
fn a_checkpoint_learns_with_the_files_sketch() {
    use bevy_world_model::world_model::{Device, Learner, WorldModelConfig, checkpoint};
    let dir = std::env::temp_dir().join(format!("md-ckpt-sketch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let small = WorldModelConfig {
        deter: 32,
        stoch: 4,
        classes: 4,
        hidden: 16,
        sketch_side: 0,
        ..WorldModelConfig::default()
    };
    let learner = Learner::new(small, &Device::flex()).unwrap();
    let ckpt = dir.join("small.wmck");
    checkpoint::save(
        &ckpt,
        &learner.meta(),
        &learner.inference_model(),
        None,
        None,
    )
    .unwrap();
    let file = dir.join("sketch.json");
    std::fs::write(
        &file,
        r#"{"sketch_side": 16, "sketch_weight": 4.0, "deter": 256}"#,
    )
    .unwrap();
    let config = |extra: &[&str]| {
        let args = [&["--ckpt", ckpt.to_str().unwrap()][..], extra].concat();
        RunPlan::from_cli(parse(&args).unwrap())
            .unwrap()
            .model_config
    };
    let with_file = config(&["--model-config-file", file.to_str().unwrap()]);
    // The checkpoint's network (the file's `deter` is not applied), the file's sketch.
    assert_eq!(with_file.deter, 32);
    assert_eq!((with_file.sketch_side, with_file.sketch_weight), (16, 4.0));
    // Without a file, the game's for the level: a sketch where there is a task to learn.
    let game = game_model_config();
    for (level, side) in [("maze", 0), ("arena", TASK_SKETCH_SIDE)] {
        let without = config(&["--level", level]);
        assert_eq!(without.deter, 32);
        assert_eq!(
            (without.sketch_side, without.sketch_weight),
            (side, game.sketch_weight),
            "{level}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The game learns with the sketch on task levels and without it elsewhere; a config file
/// says for itself.
#[test]
fn task_levels_learn_with_the_sketch() {
    let side = |args: &[&str]| {
        RunPlan::from_cli(parse(&[&["--fresh"][..], args].concat()).unwrap())
            .unwrap()
            .model_config
            .sketch_side
    };
    assert_eq!(side(&["--level", "arena"]), TASK_SKETCH_SIDE);
    assert_eq!(side(&["--level", "seek"]), TASK_SKETCH_SIDE);
    assert_eq!(side(&["--level", "maze"]), 0);
    assert_eq!(game_model_config().sketch_side, 0);
    // A file that leaves the sketch out keeps the level's; one that sets it decides.
    let dir = std::env::temp_dir().join(format!("md-task-sketch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (text, arena_side) in [
        (r#"{"lr": 1e-4}"#, TASK_SKETCH_SIDE),
        (r#"{"sketch_side": 0}"#, 0),
    ] {
        let file = dir.join("config.json");
        std::fs::write(&file, text).unwrap();
        let file = file.to_str().unwrap();
        assert_eq!(
            side(&["--level", "arena", "--model-config-file", file]),
            arena_side,
            "{text}"
        );
        assert_eq!(
            side(&["--level", "maze", "--model-config-file", file]),
            0,
            "{text}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The random walk drives first only where the agent learns and drives: by default in a
/// timed dreamer run, never with learning off or another pilot; `--prefill` says for itself.
#[test]
fn the_prefill_is_for_learning_dreamer_runs() {
    let missing = std::env::temp_dir().join("md-no-shipped-checkpoint.wmck");
    let prefill = |args: &[&str]| {
        RunPlan::with_shipped_checkpoint(parse(args).unwrap(), &missing)
            .unwrap()
            .prefill_ticks()
    };
    let timed = ["--headless", "--autopilot", "dreamer", "--minutes", "1"];
    assert_eq!(prefill(&timed), DEFAULT_PREFILL_TICKS);
    assert_eq!(prefill(&[&timed[..], &["--prefill", "40"]].concat()), 40);
    assert_eq!(prefill(&[&timed[..], &["--no-learning"]].concat()), 0);
    // Played, the agent drives from the start unless told otherwise.
    assert_eq!(prefill(&["--autopilot", "dreamer"]), 0);
    assert_eq!(prefill(&["--autopilot", "dreamer", "--prefill", "7"]), 7);
    assert_eq!(
        prefill(&[
            "--headless",
            "--autopilot",
            "random",
            "--minutes",
            "1",
            "--prefill",
            "9"
        ]),
        0
    );
    assert!(parse(&["--prefill", "-1"]).is_err());
}

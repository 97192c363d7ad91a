//! A dreamer research run on a task level ends with the pilots' comparison: with learning
//! off, on the held-out world, the agent learned in the dream, the random and the curious
//! autopilot each play the asked-for episodes, and the report sets their figures side by
//! side (through the real binary; lavapipe renders where there is no GPU).

mod binary;

use binary::{game, read_report};

#[test]
fn a_dreamer_run_on_arena_compares_three_pilots_on_the_held_out_episodes() {
    let dir = std::env::temp_dir().join(format!("mini-dreamer-pilots-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = game()
        .args(["--headless", "--autopilot", "dreamer", "--level", "arena"])
        .args([
            "--minutes",
            "0.2",
            "--heldout-ticks",
            "30",
            "--eval-episodes",
            "2",
        ])
        .arg("--report")
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "research run failed");

    let r = read_report(&dir);
    let e = &r["episodes"];
    assert_eq!(e["level"], "arena");
    assert_eq!(
        e["seed"], r["heldout"]["seed"],
        "played on the held-out world"
    );
    assert_eq!(e["episodes_per_pilot"], 2);
    assert_eq!(e["time_limit"], 200);
    let pilots = e["pilots"].as_array().expect("pilots listed");
    let names: Vec<&str> = pilots
        .iter()
        .map(|p| p["autopilot"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dreamer", "random", "curious"]);
    for p in pilots {
        let name = &p["autopilot"];
        assert_eq!(p["episodes"], 2, "{name}: every episode played");
        assert_eq!(p["complete"], true, "{name}");
        let successes = p["successes"].as_u64().unwrap();
        assert!(successes <= 2, "{name}");
        assert_eq!(
            p["success_rate"].as_f64().unwrap(),
            successes as f64 / 2.0,
            "{name}"
        );
        let median = p["median_episode_ticks"].as_f64().unwrap();
        assert!(median > 0.0 && median <= 200.0, "{name}: {median} ticks");
        assert_eq!(
            p["median_ticks_to_success"].is_null(),
            successes == 0,
            "{name}: ticks to the goal only for episodes that reached it"
        );
        assert!(
            p["frames"].as_u64().unwrap() >= p["median_episode_ticks"].as_f64().unwrap() as u64,
            "{name}"
        );
        assert!(
            stdout.contains(&format!(
                "episodes: {} reached the goal in",
                name.as_str().unwrap()
            )),
            "{name}: a summary line"
        );
    }
    // Only the agent values the starts of its episodes.
    assert!(pilots[0]["valued_episodes"].as_u64().unwrap() >= 1);
    assert!(pilots[0]["imagined_return"].as_f64().is_some());
    for p in &pilots[1..] {
        assert_eq!(p["valued_episodes"], 0);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

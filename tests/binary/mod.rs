//! Shared helpers for the tests that run the real `mini-dreamer` binary.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The game binary, logging warnings and errors only.
pub fn game() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mini-dreamer"));
    cmd.env("RUST_LOG", "warn");
    cmd
}

/// `report.json` of a research run or an `eval`.
pub fn read_report(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json written");
    serde_json::from_str(&text).expect("report.json is JSON")
}

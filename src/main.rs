//! `mini-dreamer`: the demo game. See README.md for keys and flags.

use std::process::ExitCode;

use clap::Parser;
use mini_dreamer::app::{self, Mode};
use mini_dreamer::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let spec = match app::resolve_level(cli.level.as_deref()) {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mode = match (cli.headless, app::display_available()) {
        (true, _) => Mode::Headless,
        (false, true) => Mode::Windowed,
        (false, false) => {
            eprintln!(
                "mini-dreamer: no display found ($DISPLAY is not set); starting headless. \
                 Use --frames N --screenshot view.png to save what the agent sees."
            );
            Mode::Headless
        }
    };
    match app::build(&cli, spec, mode).run() {
        bevy::app::AppExit::Success => ExitCode::SUCCESS,
        bevy::app::AppExit::Error(code) => ExitCode::from(code.get()),
    }
}

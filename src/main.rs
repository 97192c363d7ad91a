//! `mini-dreamer`: the demo game. See README.md for keys and flags.

use std::process::ExitCode;

use clap::Parser;
use mini_dreamer::app;
use mini_dreamer::cli::{Cli, Command, RunPlan, game_model_config};

fn main() -> ExitCode {
    // The game trains in-process: keep freed tensor memory in the heap between steps (an
    // explicit choice of this binary; the plugin leaves a host game's allocator alone).
    bevy_world_model::world_model::allocator::keep_freed_memory();
    let cli = Cli::parse();
    if let Some(Command::ModelConfig) = cli.command {
        println!(
            "{}",
            serde_json::to_string_pretty(&game_model_config()).expect("config serialises")
        );
        return ExitCode::SUCCESS;
    }
    // The outputs are checked before anything runs: a long run must not find out at its end
    // that it cannot write, or that it replaced an earlier run's files.
    let plan = match RunPlan::from_cli(cli).and_then(|plan| plan.check_outputs().map(|()| plan)) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    for notice in &plan.notices {
        eprintln!("mini-dreamer: {notice}");
    }
    match app::build(&plan).run() {
        bevy::app::AppExit::Success => ExitCode::SUCCESS,
        bevy::app::AppExit::Error(code) => ExitCode::from(code.get()),
    }
}

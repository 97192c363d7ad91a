//! `mini-dreamer`: the demo game. See README.md for keys and flags.

use std::process::ExitCode;

use clap::Parser;
use mini_dreamer::app::{self, Mode};
use mini_dreamer::cli::{Cli, Command, game_model_config};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (cli, eval) = match &cli.command {
        Some(Command::Eval(args)) => (Cli::for_eval(args), true),
        Some(Command::ModelConfig) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&game_model_config()).expect("config serialises")
            );
            return ExitCode::SUCCESS;
        }
        None => (cli, false),
    };
    let spec = match app::resolve_level(cli.level.as_deref()) {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut cli = cli;
    if cli.default_to_shipped_checkpoint(&app::shipped_checkpoint()) {
        eprintln!(
            "mini-dreamer: starting from the pretrained model {} (--fresh: random weights)",
            app::SHIPPED_CHECKPOINT
        );
    }
    // A game run reports a bad checkpoint in the dashboard and starts from random weights;
    // an evaluation of random weights would be meaningless.
    if let Err(e) = cli.adopt_checkpoint_config()
        && eval
    {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let research = match app::research_plan(&cli, &spec, eval) {
        Ok(plan) => plan,
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
    match app::build(&cli, spec, mode, research).run() {
        bevy::app::AppExit::Success => ExitCode::SUCCESS,
        bevy::app::AppExit::Error(code) => ExitCode::from(code.get()),
    }
}

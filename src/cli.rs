//! Command-line flags of the demo game.

use std::path::PathBuf;

use bevy_world_model::world_model::DeviceChoice;
use clap::Parser;

/// Mini Dreamer: explore a procedurally generated world in first person.
#[derive(Parser, Debug, Clone)]
#[command(name = "mini-dreamer", version)]
pub struct Cli {
    /// Seed of the level layout and colours (a level file may fix its own).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Display scale of the agent's view (nearest filtering).
    #[arg(long, default_value_t = 4.0, value_parser = parse_scale)]
    pub scale: f32,
    /// Level: a name under assets/levels (e.g. `maze`, `gallery`) or a path to a .ron file.
    #[arg(long)]
    pub level: Option<String>,
    /// Run without a window: render offscreen only.
    #[arg(long)]
    pub headless: bool,
    /// Run this many frames, then exit (for scripts).
    #[arg(long)]
    pub frames: Option<u64>,
    /// After the last frame, save a PNG (of the window; headless: of the agent's view) and exit.
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// Width and height of the agent's camera image, in pixels.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(16..=512))]
    pub resolution: u32,
    /// The agent explores on its own (random walk avoiding walls, seeded by --seed).
    #[arg(long)]
    pub autopilot: bool,
    /// Start the world model from this checkpoint (a bad file is reported; random weights are used).
    #[arg(long, value_name = "PATH")]
    pub ckpt: Option<PathBuf>,
    /// Where the world model runs: auto (a GPU when there is one), cpu or gpu.
    #[arg(long, default_value = "auto", value_parser = parse_device)]
    pub device: DeviceChoice,
    /// Start with learning paused (L toggles it).
    #[arg(long)]
    pub no_learning: bool,
    /// Print frame time and inference percentiles when the run ends (see README, benchmarks).
    #[arg(long)]
    pub timings: bool,
    /// Windowed without the dashboard (to measure what the dashboard costs).
    #[arg(long)]
    pub no_ui: bool,
    /// Headless only: run frames back to back instead of at 60 fps (for benchmarks).
    #[arg(long)]
    pub uncapped: bool,
    /// Directory for checkpoints saved with F5.
    #[arg(long, value_name = "DIR", default_value = "checkpoints")]
    pub ckpt_dir: PathBuf,
}

fn parse_device(s: &str) -> Result<DeviceChoice, String> {
    s.parse()
}

fn parse_scale(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if (1.0..=16.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is out of range 1..=16"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_flags_are_rejected_by_clap() {
        assert!(Cli::try_parse_from(["mini-dreamer", "--scale", "0"]).is_err());
        assert!(Cli::try_parse_from(["mini-dreamer", "--seed", "abc"]).is_err());
        assert!(Cli::try_parse_from(["mini-dreamer", "--resolution", "8"]).is_err());
        assert!(Cli::try_parse_from(["mini-dreamer", "--bogus"]).is_err());
        assert!(Cli::try_parse_from(["mini-dreamer", "--device", "tpu"]).is_err());
        let gpu = Cli::try_parse_from(["mini-dreamer", "--device", "gpu"]).unwrap();
        assert_eq!(gpu.device, DeviceChoice::Wgpu);
        let ok = Cli::try_parse_from(["mini-dreamer", "--seed", "3", "--frames", "10"]).unwrap();
        assert_eq!((ok.seed, ok.frames), (3, Some(10)));
    }
}

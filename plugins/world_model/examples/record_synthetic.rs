//! Writes a dataset of the synthetic world, for trying `world-model-train` without the game.
//!
//! `cargo run -p world_model --example record_synthetic -- synthetic.wmds --size 64 --episodes 20 --len 64`

use std::path::PathBuf;

use clap::Parser;
use world_model::{DatasetHeader, DatasetWriter, synthetic};

#[derive(Parser)]
struct Args {
    /// Output file.
    out: PathBuf,
    /// Frame size.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Episodes to record.
    #[arg(long, default_value_t = 20)]
    episodes: usize,
    /// Steps per episode.
    #[arg(long, default_value_t = 64)]
    len: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let header = DatasetHeader {
        width: args.size,
        height: args.size,
        action_dim: 3,
    };
    let mut writer = DatasetWriter::create(&args.out, header)?;
    for step in synthetic::record(args.size, args.episodes, args.len, args.seed) {
        writer.write(&step)?;
    }
    let n = writer.finish()?;
    eprintln!("wrote {n} steps to {}", args.out.display());
    Ok(())
}

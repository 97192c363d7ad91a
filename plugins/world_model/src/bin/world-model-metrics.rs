//! Prints every frame metric for two images of equal size.
//!
//! `world-model-metrics A.png B.png [--json]`

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use world_model::{Frame, compare};

/// Compare two images with the metrics the game shows (MSE, MAE, PSNR, SSIM, histogram
/// correlation, per-channel error).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// First image (for example the prediction).
    a: PathBuf,
    /// Second image (for example the real frame).
    b: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let load = |p: &PathBuf| Frame::load_png(p);
    let (a, b) = match (load(&args.a), load(&args.b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let m = match compare(&a, &b) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.json {
        println!("{}", serde_json::to_string(&m).expect("metrics serialise"));
    } else {
        println!("mse        {:.4}", m.mse);
        println!("mae        {:.4}", m.mae);
        println!("psnr       {:.4} dB", m.psnr);
        println!(
            "ssim       {:.6}  (luminance, 11x11 Gaussian, sigma 1.5)",
            m.ssim
        );
        println!("hist_corr  {:.6}", m.hist_corr);
        println!(
            "rgb_mae    {:.4} {:.4} {:.4}",
            m.rgb_mae[0], m.rgb_mae[1], m.rgb_mae[2]
        );
    }
    ExitCode::SUCCESS
}

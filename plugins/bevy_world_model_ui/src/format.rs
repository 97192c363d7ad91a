//! Number formatting shared by the panels, kept apart from egui so it is tested.

use bevy_world_model::world_model::FrameMetrics;

/// `model vs baseline` for one metric, with the model's advantage signed so positive means
/// the model wins (`higher_is_better` says which way the metric points): a reader never has
/// to remember which way each metric points.
pub fn versus(model: f64, baseline: f64, higher_is_better: bool, decimals: usize) -> String {
    let gain = if higher_is_better {
        model - baseline
    } else {
        baseline - model
    };
    let verdict = if gain > 0.0 {
        "model wins"
    } else {
        "copy wins"
    };
    format!("{model:.decimals$} vs {baseline:.decimals$} ({gain:+.decimals$}, {verdict})")
}

/// One line per metric: model against the copy-last-frame baseline, the yardstick a
/// next-frame predictor has to beat to be worth anything.
pub fn metric_lines(model: &FrameMetrics, baseline: &FrameMetrics) -> Vec<(&'static str, String)> {
    let rgb = |m: &FrameMetrics| {
        format!(
            "{:.1}/{:.1}/{:.1}",
            m.rgb_mae[0], m.rgb_mae[1], m.rgb_mae[2]
        )
    };
    vec![
        ("PSNR dB", versus(model.psnr, baseline.psnr, true, 2)),
        ("SSIM", versus(model.ssim, baseline.ssim, true, 3)),
        ("MSE", versus(model.mse, baseline.mse, false, 1)),
        ("MAE", versus(model.mae, baseline.mae, false, 2)),
        (
            "hist corr",
            versus(model.hist_corr, baseline.hist_corr, true, 3),
        ),
        ("RGB MAE", format!("{} vs {}", rgb(model), rgb(baseline))),
    ]
}

/// Where the running weights came from and how long they have learned online since, so
/// what the model learned here is told apart from what it started with:
/// `weights of step 4120 · online 1m 05s, +120 steps`.
pub fn online_summary(start_step: u64, weights_step: u64, online: std::time::Duration) -> String {
    let secs = online.as_secs();
    let time = match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, secs % 3600 / 60),
    };
    format!(
        "weights of step {weights_step} · online {time}, +{} steps",
        weights_step.saturating_sub(start_step)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn online_time_and_steps_count_from_the_start_weights() {
        assert_eq!(
            online_summary(4000, 4120, Duration::from_secs(65)),
            "weights of step 4120 · online 1m 05s, +120 steps"
        );
        assert_eq!(
            online_summary(0, 7, Duration::from_millis(9_900)),
            "weights of step 7 · online 9s, +7 steps"
        );
        // A snapshot older than a just-loaded checkpoint never shows a negative count.
        assert_eq!(
            online_summary(500, 10, Duration::from_secs(7_380)),
            "weights of step 10 · online 2h 03m, +0 steps"
        );
    }

    #[test]
    fn the_sign_says_who_wins_whichever_way_the_metric_points() {
        assert_eq!(
            versus(20.0, 17.5, true, 1),
            "20.0 vs 17.5 (+2.5, model wins)"
        );
        assert_eq!(versus(30.0, 40.0, false, 0), "30 vs 40 (+10, model wins)");
        assert_eq!(
            versus(0.5, 0.75, true, 2),
            "0.50 vs 0.75 (-0.25, copy wins)"
        );
    }

    #[test]
    fn every_metric_gets_a_line() {
        let m = FrameMetrics {
            mse: 10.0,
            mae: 2.0,
            psnr: 38.1,
            ssim: 0.9,
            hist_corr: 0.99,
            rgb_mae: [1.0, 2.0, 3.0],
        };
        let lines = metric_lines(&m, &m);
        assert_eq!(lines.len(), 6);
        assert_eq!(lines[5].1, "1.0/2.0/3.0 vs 1.0/2.0/3.0");
        assert!(lines[0].1.contains("copy wins"), "a tie is not a win");
    }
}

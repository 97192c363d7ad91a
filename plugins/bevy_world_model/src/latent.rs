//! What the latent state looks like: the deterministic state's norm and how many of the
//! stochastic code's classes the model actually uses (a collapsed code uses few).

use std::collections::VecDeque;

use bevy::prelude::*;

/// A summary of recent latent states, for dashboards.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatentInfo {
    /// L2 norm of the deterministic state `h` now.
    pub h_norm: f32,
    /// The class chosen in each categorical group now.
    pub code: Vec<u16>,
    /// Number of classes per group.
    pub classes: usize,
    /// (group, class) pairs used at least once in the window.
    pub active: usize,
    /// All (group, class) pairs.
    pub total: usize,
    /// Mean over groups of the entropy of the class frequencies in the window, nats
    /// (`ln(classes)` when every class is used equally; 0 when one class is always used).
    pub usage_entropy: f32,
}

/// Class counts over the last [`CodeUsage::WINDOW`] codes.
#[derive(Resource, Debug, Default)]
pub(crate) struct CodeUsage {
    codes: VecDeque<Vec<u16>>,
    counts: Vec<Vec<u32>>,
}

impl CodeUsage {
    /// Codes remembered (about two seconds at 60 fps).
    pub const WINDOW: usize = 120;

    /// Adds the code of one tick, from the one-hot stochastic state `z`
    /// (`groups * classes` values), and returns the summary with `h_norm`.
    pub fn push(&mut self, z: &[f32], h: &[f32], groups: usize, classes: usize) -> LatentInfo {
        let code: Vec<u16> = (0..groups)
            .map(|g| {
                let row = &z[g * classes..(g + 1) * classes];
                row.iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i as u16)
            })
            .collect();
        if self.counts.len() != groups || self.counts.first().is_some_and(|c| c.len() != classes) {
            self.counts = vec![vec![0; classes]; groups];
            self.codes.clear();
        }
        for (g, &c) in code.iter().enumerate() {
            self.counts[g][c as usize] += 1;
        }
        self.codes.push_back(code.clone());
        if self.codes.len() > Self::WINDOW
            && let Some(old) = self.codes.pop_front()
        {
            for (g, &c) in old.iter().enumerate() {
                self.counts[g][c as usize] -= 1;
            }
        }
        let n = self.codes.len() as f32;
        let active = self.counts.iter().flatten().filter(|&&c| c > 0).count();
        let entropy = self
            .counts
            .iter()
            .map(|row| {
                row.iter()
                    .filter(|&&c| c > 0)
                    .map(|&c| {
                        let p = c as f32 / n;
                        -p * p.ln()
                    })
                    .sum::<f32>()
            })
            .sum::<f32>()
            / groups.max(1) as f32;
        LatentInfo {
            h_norm: h.iter().map(|v| v * v).sum::<f32>().sqrt(),
            code,
            classes,
            active,
            total: groups * classes,
            usage_entropy: entropy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_hot(code: &[usize], classes: usize) -> Vec<f32> {
        let mut z = vec![0.0; code.len() * classes];
        for (g, &c) in code.iter().enumerate() {
            z[g * classes + c] = 1.0;
        }
        z
    }

    #[test]
    fn a_constant_code_uses_one_class_per_group_with_zero_entropy() {
        let mut u = CodeUsage::default();
        let mut info = LatentInfo::default();
        for _ in 0..10 {
            info = u.push(&one_hot(&[1, 3], 4), &[3.0, 4.0], 2, 4);
        }
        assert_eq!(info.code, vec![1, 3]);
        assert_eq!((info.active, info.total), (2, 8));
        assert_eq!(info.usage_entropy, 0.0);
        assert_eq!(info.h_norm, 5.0);
    }

    #[test]
    fn uniform_use_reaches_ln_classes_and_the_window_forgets() {
        let mut u = CodeUsage::default();
        let mut info = LatentInfo::default();
        for t in 0..CodeUsage::WINDOW {
            info = u.push(&one_hot(&[t % 4], 4), &[0.0], 1, 4);
        }
        assert_eq!(info.active, 4);
        assert!((info.usage_entropy - 4f32.ln()).abs() < 1e-5);
        for _ in 0..CodeUsage::WINDOW {
            info = u.push(&one_hot(&[2], 4), &[0.0], 1, 4);
        }
        assert_eq!(info.active, 1, "old codes leave the window");
    }
}

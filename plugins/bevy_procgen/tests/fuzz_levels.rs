//! Bounded fuzzing of the level reader, in CI: random mutations of the shipped level files
//! (numbers replaced by random and extreme values, characters flipped, lines cut) and random
//! text. Every input must parse-and-generate or be refused with an error: no panic, no hang.
//! `FUZZ_ITERS=20000 cargo test --workspace --test fuzz_levels` runs longer.

use bevy_procgen::generate::parse_level;
use bevy_procgen::{Grid, TaskRun, mesh};

/// Inputs per run (CI keeps it to a few seconds).
fn iterations() -> u64 {
    std::env::var("FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

/// SplitMix64: a seeded, dependency-free source of test inputs (failures reproduce).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A number as a level file could spell it: small, huge, negative, fractional, odd.
    fn number(&mut self) -> String {
        match self.below(8) {
            0 => self.below(10).to_string(),
            1 => self.below(1000).to_string(),
            2 => self.next().to_string(),
            3 => format!("-{}", self.below(1 << 40)),
            4 => format!("{}.{}", self.below(100), self.below(1000)),
            5 => ["NaN", "inf", "-inf", "1e308", "-0.0"][self.below(5) as usize].into(),
            6 => u64::MAX.to_string(),
            _ => format!("{}e{}", self.below(10), self.below(40)),
        }
    }
}

/// The shipped levels' text.
fn shipped() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/levels");
    let mut texts: Vec<String> = std::fs::read_dir(&dir)
        .expect("assets/levels")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".level.ron"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    texts.sort();
    assert!(!texts.is_empty(), "no shipped levels in {}", dir.display());
    texts
}

/// Replaces one number of `text` (a run of digits) by `with`.
fn replace_number(text: &str, rng: &mut Rng, with: &str) -> String {
    let starts: Vec<usize> = text
        .char_indices()
        .filter(|&(i, c)| {
            c.is_ascii_digit() && !text[..i].ends_with(|p: char| p.is_ascii_alphanumeric())
        })
        .map(|(i, _)| i)
        .collect();
    if starts.is_empty() {
        return text.to_owned();
    }
    let at = starts[rng.below(starts.len() as u64) as usize];
    let end = text[at..]
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or(text.len(), |n| at + n);
    format!("{}{}{}", &text[..at], with, &text[end..])
}

#[test]
fn the_level_reader_refuses_or_builds_any_text() {
    let mut rng = Rng(3);
    let levels = shipped();
    let mut accepted = 0;
    for i in 0..iterations() {
        let base = &levels[rng.below(levels.len() as u64) as usize];
        let text = match i % 4 {
            0 | 1 => {
                let mut t = base.clone();
                for _ in 0..1 + rng.below(3) {
                    let n = rng.number();
                    t = replace_number(&t, &mut rng, &n);
                }
                t
            }
            2 => {
                let mut bytes = base.clone().into_bytes();
                for _ in 0..1 + rng.below(6) {
                    let at = rng.below(bytes.len() as u64) as usize;
                    let alphabet = b"()[],:\"#.S0123456789abcxyz \n";
                    bytes[at] = alphabet[rng.below(alphabet.len() as u64) as usize];
                }
                String::from_utf8_lossy(&bytes).into_owned()
            }
            _ => {
                let lines: Vec<&str> = base.lines().collect();
                let keep = rng.below(lines.len() as u64 + 1) as usize;
                lines[..keep].join("\n")
            }
        };
        if let Ok(spec) = parse_level(&text, &format!("fuzz-{i}.level.ron")) {
            // What the game does with an accepted file: lay it out and build its meshes.
            let seed = rng.next();
            if let Ok(grid) = Grid::from_spec(&spec, seed) {
                mesh::build(&grid, &spec, seed);
                if let Some(task) = &spec.task {
                    // And play a few ticks of its task, into the next episode.
                    let mut run = TaskRun::new(task, &grid, seed);
                    let start = grid.start().as_vec2() + bevy::math::Vec2::splat(0.5);
                    for _ in 0..3 {
                        run.step(start);
                    }
                    run.next_episode();
                }
                accepted += 1;
            }
        }
    }
    assert!(accepted > 0, "some mutations stay valid and generate");
}

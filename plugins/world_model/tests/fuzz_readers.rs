//! Bounded fuzzing of the checkpoint and dataset readers, in CI: random byte strings,
//! random "valid-looking" files (the right magic and version, random section lengths and
//! headers, the checksum recomputed so parsing goes past it) and random mutations of real
//! files. Every one must load or be refused with an error: no panic, no abort, no huge
//! allocation. `FUZZ_ITERS=20000 cargo test --workspace --test fuzz_readers` runs longer.

mod common;

use world_model::checkpoint;
use world_model::{Dataset, DatasetHeader, DatasetWriter, Device, Learner};

/// Inputs of each kind per run (CI keeps it to a few seconds).
fn iterations() -> u64 {
    std::env::var("FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600)
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

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// A size: mostly small, sometimes huge or at the edges of the integer types.
    fn size(&mut self) -> u64 {
        match self.below(6) {
            0 => self.below(16),
            1 => self.below(1 << 12),
            2 => self.below(1 << 32),
            3 => u64::MAX - self.below(4),
            4 => 1 << self.below(64),
            _ => self.next(),
        }
    }
}

/// A file of the checkpoint layout with these sections; its checksum right, or zeroed.
fn checkpoint_file(sections: [&[u8]; 3], fix_checksum: bool) -> Vec<u8> {
    let mut out = checkpoint::assemble(sections[0], sections[1], sections[2]);
    if !fix_checksum {
        let body = out.len() - 8;
        out[body..].fill(0);
    }
    out
}

/// Loads `bytes` as a checkpoint: an error or a model whose weights are finite (the loader
/// checks), never a panic.
fn load_checkpoint(bytes: &[u8], name: &str) {
    let path = common::temp_path(name);
    std::fs::write(&path, bytes).unwrap();
    let _ = checkpoint::read_meta(&path);
    let _ = checkpoint::load(&path, None, &Device::flex());
    std::fs::remove_file(&path).ok();
}

#[test]
fn the_checkpoint_reader_refuses_or_loads_any_bytes() {
    let mut rng = Rng(1);
    let cfg = common::tiny_warp_config();
    let learner = Learner::new(cfg.clone(), &Device::flex()).unwrap();
    let real_path = common::temp_path("fuzz-real.wmck");
    checkpoint::save(
        &real_path,
        &learner.meta(),
        &learner.inference_model(),
        None,
        None,
    )
    .unwrap();
    let real = std::fs::read(&real_path).unwrap();
    std::fs::remove_file(&real_path).ok();
    let header = serde_json::to_vec(&learner.meta()).unwrap();
    for i in 0..iterations() {
        let input = match i % 5 {
            // Noise, with and without the magic.
            0 => {
                let mut b = if rng.below(2) == 0 {
                    b"MDWMCKPT".to_vec()
                } else {
                    Vec::new()
                };
                let n = rng.below(256) as usize;
                b.extend(rng.bytes(n));
                b
            }
            // The right layout with random sections.
            1 => {
                let (a, b, c) = (
                    rng.below(64) as usize,
                    rng.below(4096) as usize,
                    rng.below(64) as usize,
                );
                let sections = [rng.bytes(a), rng.bytes(b), rng.bytes(c)];
                checkpoint_file(
                    [&sections[0], &sections[1], &sections[2]],
                    rng.below(4) != 0,
                )
            }
            // A real header with one number replaced by a random size, random weights.
            2 => {
                let text = String::from_utf8(header.clone()).unwrap();
                let numbers: Vec<(usize, usize)> = text
                    .match_indices(|c: char| c.is_ascii_digit())
                    .map(|(at, _)| (at, at + 1))
                    .collect();
                let (at, end) = numbers[rng.below(numbers.len() as u64) as usize];
                let edited = format!("{}{}{}", &text[..at], rng.size(), &text[end..]);
                let n = rng.below(8192) as usize;
                let weights = rng.bytes(n);
                checkpoint_file([edited.as_bytes(), &weights, &[]], true)
            }
            // A real file with a few bytes changed, checksum fixed or not.
            3 => {
                let mut b = real.clone();
                for _ in 0..1 + rng.below(8) {
                    let at = rng.below(b.len() as u64 - 8) as usize;
                    b[at] = rng.next() as u8;
                }
                if rng.below(2) == 0 {
                    let body = b.len() - 8;
                    let sum = checkpoint::checksum(&b[..body]);
                    b[body..].copy_from_slice(&sum.to_le_bytes());
                }
                b
            }
            // A real file cut short, or a section length lied about.
            _ => {
                let mut b = real.clone();
                if rng.below(2) == 0 {
                    b.truncate(rng.below(b.len() as u64) as usize);
                } else {
                    let field = [12usize, 20, 28][rng.below(3) as usize].min(b.len() - 8);
                    b[field..field + 8].copy_from_slice(&rng.size().to_le_bytes());
                }
                b
            }
        };
        load_checkpoint(&input, &format!("fuzz-{i}.wmck"));
    }
}

#[test]
fn the_dataset_reader_refuses_or_loads_any_bytes() {
    let mut rng = Rng(2);
    let header = DatasetHeader {
        width: 4,
        height: 4,
        action_dim: 3,
    };
    let real_path = common::temp_path("fuzz-real.wmds");
    let mut writer = DatasetWriter::create(&real_path, header).unwrap();
    for step in world_model::synthetic::record(4, 2, 6, 0) {
        writer.write(&step).unwrap();
    }
    writer.finish().unwrap();
    let real = std::fs::read(&real_path).unwrap();
    std::fs::remove_file(&real_path).ok();
    for i in 0..iterations() * 2 {
        let input = match i % 4 {
            0 => {
                let n = rng.below(512) as usize;
                let mut b = b"MDWMDATA".to_vec();
                b.extend(rng.bytes(n));
                b
            }
            // The right magic and version, a JSON header with random sizes, random records.
            1 => {
                let json = format!(
                    r#"{{"width":{},"height":{},"action_dim":{}}}"#,
                    rng.size(),
                    rng.size(),
                    rng.size()
                );
                let mut b = b"MDWMDATA".to_vec();
                b.extend_from_slice(&1u32.to_le_bytes());
                let claimed = if rng.below(4) == 0 {
                    rng.size()
                } else {
                    json.len() as u64
                };
                b.extend_from_slice(&claimed.to_le_bytes());
                b.extend_from_slice(json.as_bytes());
                let n = rng.below(2048) as usize;
                b.extend(rng.bytes(n));
                b
            }
            2 => {
                let mut b = real.clone();
                for _ in 0..1 + rng.below(8) {
                    let at = rng.below(b.len() as u64) as usize;
                    b[at] = rng.next() as u8;
                }
                b
            }
            _ => {
                let mut b = real.clone();
                b.truncate(rng.below(b.len() as u64) as usize);
                b
            }
        };
        let path = common::temp_path(&format!("fuzz-{i}.wmds"));
        std::fs::write(&path, &input).unwrap();
        if let Ok(ds) = Dataset::load(&path) {
            for step in &ds.steps {
                assert_eq!(
                    step.frame.rgb.len(),
                    step.frame.width * step.frame.height * 3,
                    "a loaded frame is whole"
                );
            }
        }
        std::fs::remove_file(&path).ok();
    }
}

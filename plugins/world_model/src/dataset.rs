//! Recorded experience on disk, for offline training and comparing checkpoints.
//!
//! # Format (`.wmds`, little-endian)
//! - 8 bytes magic `MDWMDATA`, `u32` version (2), `u64` length of a JSON header, the header
//!   `{"width": 64, "height": 64, "action_dim": 3}`;
//! - then records until the end of the file, each
//!   `u64 tick | u8 flags | f32 reward | action_dim x f32 | width x height x 3 u8 (RGB, rows
//!   top first)`, where flags bit 0 is "first" (the step starts an episode) and bit 1
//!   "terminal" (it ends one), and the reward is that of the transition into the frame.
//!
//! Version 1 files (written before rewards) still load: their records are
//! `u64 tick | u8 first (0 or 1) | actions | pixels`, read as reward 0 and never terminal.
//!
//! Records are appended as they come, so a recording cut short (a crash, a full disk) keeps
//! every whole record; the reader reports and ignores a partial last record.
//!
//! The header's sizes are bounded as a config's are ([`MAX_FRAME_SIDE`], [`MAX_ACTION_DIM`]:
//! a record is at most 3 MiB) and a file is read only up to [`MAX_DATASET_BYTES`].

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{MAX_ACTION_DIM, MAX_FRAME_SIDE};
use crate::frame::Frame;
use crate::replay::Step;

const MAGIC: &[u8; 8] = b"MDWMDATA";
const VERSION: u32 = 2;
/// The first format, without rewards or terminals (still read).
const VERSION_1: u32 = 1;

/// Largest dataset file read ([`Dataset::load`] keeps all of it in memory): 4 GiB, about
/// 350,000 frames at 64x64.
pub const MAX_DATASET_BYTES: u64 = 4 << 30;

/// Largest JSON header of a dataset (a header is about 50 bytes).
const MAX_HEADER_BYTES: u64 = 1 << 20;

/// The JSON header of a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetHeader {
    /// Frame width.
    pub width: usize,
    /// Frame height.
    pub height: usize,
    /// Action length.
    pub action_dim: usize,
}

impl DatasetHeader {
    /// Bytes of one record of format `version` (saturating; at most about 3 MiB for a header
    /// [`check`] accepts).
    ///
    /// [`check`]: Self::check
    fn record_bytes(&self, version: u32) -> usize {
        (8 + 1usize)
            .saturating_add(if version == VERSION_1 { 0 } else { 4 })
            .saturating_add(self.action_dim.saturating_mul(4))
            .saturating_add(self.width.saturating_mul(self.height).saturating_mul(3))
    }

    /// Checks the sizes: none zero, none above its bound ([`MAX_FRAME_SIDE`],
    /// [`MAX_ACTION_DIM`]); the error names the field.
    pub fn check(&self) -> Result<(), HeaderError> {
        if self.width == 0 || self.height == 0 || self.action_dim == 0 {
            return Err(HeaderError::Zero(*self));
        }
        for (field, value, limit) in [
            ("width", self.width, MAX_FRAME_SIDE),
            ("height", self.height, MAX_FRAME_SIDE),
            ("action_dim", self.action_dim, MAX_ACTION_DIM),
        ] {
            if value > limit {
                return Err(HeaderError::TooLarge {
                    field,
                    value,
                    limit,
                });
            }
        }
        Ok(())
    }
}

/// A dataset header whose sizes cannot be read safely.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// A frame side or the action length is zero.
    #[error("header has a zero size: {0:?}")]
    Zero(DatasetHeader),
    /// A size is above its bound.
    #[error("header {field}: {value} is above the limit {limit}")]
    TooLarge {
        /// The header field.
        field: &'static str,
        /// Its value.
        value: usize,
        /// The largest value read.
        limit: usize,
    },
}

/// Reads into `buf` until it is full or the input ends; returns the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Why a dataset could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// File system error.
    #[error("dataset {path}: {source}")]
    Io {
        /// File involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// Not a dataset, or a version or header this build cannot read.
    #[error("{path} is not a readable Mini Dreamer dataset: {reason}")]
    Format {
        /// File involved.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A step does not match the dataset's frame or action size, or its reward is not a
    /// finite number.
    #[error("step does not fit dataset: {0}")]
    Mismatch(String),
}

/// Appends steps to a dataset file.
pub struct DatasetWriter {
    out: BufWriter<File>,
    header: DatasetHeader,
    path: PathBuf,
    written: u64,
}

impl DatasetWriter {
    /// Creates (or truncates) `path` and writes the header (one [`DatasetHeader::check`]
    /// accepts: nothing is written that could not be read back).
    pub fn create(path: &Path, header: DatasetHeader) -> Result<Self, DatasetError> {
        Self::open(path, header, false)
    }

    /// As [`create`](Self::create), but `path` must not exist yet: an existing file (another
    /// recording's) is an [`DatasetError::Io`] of kind
    /// [`AlreadyExists`](std::io::ErrorKind::AlreadyExists) and is left as it is. The check
    /// and the creation are one step (`O_EXCL`), so two writers racing for one name never
    /// share the file.
    pub fn create_new(path: &Path, header: DatasetHeader) -> Result<Self, DatasetError> {
        Self::open(path, header, true)
    }

    fn open(path: &Path, header: DatasetHeader, new: bool) -> Result<Self, DatasetError> {
        let io = |source| DatasetError::Io {
            path: path.into(),
            source,
        };
        header.check().map_err(|reason| DatasetError::Format {
            path: path.into(),
            reason: reason.to_string(),
        })?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = if new {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
        } else {
            File::create(path)
        };
        let mut out = BufWriter::new(file.map_err(io)?);
        let json = serde_json::to_vec(&header).expect("header serialises");
        out.write_all(MAGIC).map_err(io)?;
        out.write_all(&VERSION.to_le_bytes()).map_err(io)?;
        out.write_all(&(json.len() as u64).to_le_bytes())
            .map_err(io)?;
        out.write_all(&json).map_err(io)?;
        Ok(Self {
            out,
            header,
            path: path.into(),
            written: 0,
        })
    }

    /// Appends one step.
    pub fn write(&mut self, step: &Step) -> Result<(), DatasetError> {
        let h = self.header;
        if (step.frame.width, step.frame.height, step.action.len())
            != (h.width, h.height, h.action_dim)
        {
            return Err(DatasetError::Mismatch(format!(
                "{}x{} frame with {} actions, dataset is {}x{} with {}",
                step.frame.width,
                step.frame.height,
                step.action.len(),
                h.width,
                h.height,
                h.action_dim
            )));
        }
        if !step.reward.is_finite() {
            return Err(DatasetError::Mismatch(format!(
                "reward {} is not a finite number",
                step.reward
            )));
        }
        let io = |source| DatasetError::Io {
            path: self.path.clone(),
            source,
        };
        let mut rec = Vec::with_capacity(h.record_bytes(VERSION));
        rec.extend_from_slice(&step.tick.to_le_bytes());
        rec.push(u8::from(step.first) | u8::from(step.terminal) << 1);
        rec.extend_from_slice(&step.reward.to_le_bytes());
        for a in &step.action {
            rec.extend_from_slice(&a.to_le_bytes());
        }
        rec.extend_from_slice(&step.frame.rgb);
        self.out.write_all(&rec).map_err(io)?;
        self.written += 1;
        Ok(())
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Steps written so far.
    pub fn len(&self) -> u64 {
        self.written
    }

    /// True before the first step.
    pub fn is_empty(&self) -> bool {
        self.written == 0
    }

    /// Flushes everything to disk.
    pub fn finish(mut self) -> Result<u64, DatasetError> {
        self.out.flush().map_err(|source| DatasetError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.written)
    }
}

/// A dataset read fully into memory.
#[derive(Debug)]
pub struct Dataset {
    /// Sizes.
    pub header: DatasetHeader,
    /// Steps in recording order.
    pub steps: Vec<Step>,
    /// Bytes of a partial last record that were ignored (0 for a complete file).
    pub ignored_tail_bytes: usize,
}

impl Dataset {
    /// Reads a dataset file of at most [`MAX_DATASET_BYTES`] (a larger one, or a stream such
    /// as `/dev/zero`, is refused before much of it is read), record by record.
    pub fn load(path: &Path) -> Result<Self, DatasetError> {
        let io = |source| DatasetError::Io {
            path: path.into(),
            source,
        };
        let format = |reason: String| DatasetError::Format {
            path: path.into(),
            reason,
        };
        let mut input =
            BufReader::new(crate::files::open_limited(path, MAX_DATASET_BYTES).map_err(io)?);
        let mut fixed = [0u8; 20];
        input
            .read_exact(&mut fixed)
            .map_err(|_| format("shorter than its header".into()))?;
        if &fixed[..8] != MAGIC {
            return Err(format("bad magic bytes".into()));
        }
        let version = u32::from_le_bytes(fixed[8..12].try_into().expect("4 bytes"));
        if version != VERSION && version != VERSION_1 {
            return Err(format(format!(
                "version {version}, expected {VERSION_1} or {VERSION}"
            )));
        }
        let json_len = u64::from_le_bytes(fixed[12..20].try_into().expect("8 bytes"));
        if json_len > MAX_HEADER_BYTES {
            return Err(format(format!("header length {json_len} is implausible")));
        }
        let mut json = vec![0u8; json_len as usize];
        input
            .read_exact(&mut json)
            .map_err(|_| format("header is truncated".into()))?;
        let header: DatasetHeader =
            serde_json::from_slice(&json).map_err(|e| format(format!("header: {e}")))?;
        header.check().map_err(|e| format(e.to_string()))?;
        let rb = header.record_bytes(version);
        let body = if version == VERSION_1 { 9 } else { 13 };
        let a = header.action_dim;
        let mut steps = Vec::new();
        let mut rec = vec![0u8; rb];
        let ignored_tail_bytes = loop {
            let got = read_full(&mut input, &mut rec).map_err(io)?;
            if got < rb {
                break got;
            }
            let tick = u64::from_le_bytes(rec[..8].try_into().expect("8 bytes"));
            let flags_known = if version == VERSION_1 { 1 } else { 3 };
            if rec[8] > flags_known {
                return Err(format(format!(
                    "record {} has flags {}, at most {flags_known}",
                    steps.len(),
                    rec[8]
                )));
            }
            let reward = if version == VERSION_1 {
                0.0
            } else {
                f32::from_le_bytes(rec[9..13].try_into().expect("4 bytes"))
            };
            if !reward.is_finite() {
                return Err(format(format!(
                    "record {} has reward {reward}",
                    steps.len()
                )));
            }
            let action = rec[body..body + 4 * a]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                .collect();
            steps.push(Step {
                tick,
                first: rec[8] & 1 == 1,
                terminal: rec[8] & 2 == 2,
                reward,
                action,
                frame: Frame {
                    width: header.width,
                    height: header.height,
                    rgb: rec[body + 4 * a..].to_vec(),
                },
            });
        };
        crate::files::check_limit(input.get_ref(), MAX_DATASET_BYTES).map_err(io)?;
        Ok(Self {
            header,
            steps,
            ignored_tail_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("wm-dataset-{}-{name}", std::process::id()))
    }

    fn step(tick: u64) -> Step {
        Step {
            reward: tick as f32 * 0.25 - 0.5,
            terminal: tick == 3,
            ..Step::new(
                tick,
                Frame::filled(4, 2, [tick as u8, 1, 2]),
                vec![0.5, -1.0],
                tick == 0,
            )
        }
    }

    /// A version 1 file (as written before rewards) loads with reward 0 and no terminal.
    #[test]
    fn version_1_files_still_load() {
        let path = tmp("v1.wmds");
        let json = br#"{"width":4,"height":2,"action_dim":2}"#;
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&VERSION_1.to_le_bytes());
        bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
        bytes.extend_from_slice(json);
        for t in 0..3u64 {
            let s = step(t);
            bytes.extend_from_slice(&t.to_le_bytes());
            bytes.push(u8::from(s.first));
            for a in &s.action {
                bytes.extend_from_slice(&a.to_le_bytes());
            }
            bytes.extend_from_slice(&s.frame.rgb);
        }
        std::fs::write(&path, &bytes).unwrap();
        let ds = Dataset::load(&path).unwrap();
        let want: Vec<Step> = (0..3)
            .map(|t| Step {
                reward: 0.0,
                terminal: false,
                ..step(t)
            })
            .collect();
        assert_eq!(ds.steps, want);
        assert_eq!(ds.ignored_tail_bytes, 0);
        // A v1 record's flag byte may only say "first".
        bytes[8 + 4 + 8 + json.len() + 8] = 2;
        std::fs::write(&path, &bytes).unwrap();
        let err = Dataset::load(&path).unwrap_err().to_string();
        assert!(err.contains("record 0 has flags 2, at most 1"), "{err}");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn round_trips_and_tolerates_a_cut_tail() {
        let path = tmp("roundtrip.wmds");
        let header = DatasetHeader {
            width: 4,
            height: 2,
            action_dim: 2,
        };
        let mut w = DatasetWriter::create(&path, header).unwrap();
        for t in 0..5 {
            w.write(&step(t)).unwrap();
        }
        assert!(
            w.write(&Step {
                action: vec![1.0],
                ..step(9)
            })
            .is_err()
        );
        assert_eq!(w.finish().unwrap(), 5);
        let ds = Dataset::load(&path).unwrap();
        assert_eq!(ds.steps, (0..5).map(step).collect::<Vec<_>>());
        assert_eq!(ds.ignored_tail_bytes, 0);

        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let cut = Dataset::load(&path).unwrap();
        assert_eq!(cut.steps.len(), 4);
        assert!(cut.ignored_tail_bytes > 0);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let path = tmp("garbage.wmds");
        std::fs::write(&path, b"hello world, not a dataset at all").unwrap();
        let err = Dataset::load(&path).unwrap_err().to_string();
        assert!(err.contains("not a readable Mini Dreamer dataset"), "{err}");
        std::fs::remove_file(&path).unwrap();
    }
}

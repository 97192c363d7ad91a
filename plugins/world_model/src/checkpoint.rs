//! Checkpoints: weights, optimizer state, config and step counters in one file, written
//! atomically (a temporary file, then a rename), checked on load.
//!
//! Layout (little-endian): the 8-byte magic `MDWMCKPT`, a `u32` format version (2), then five
//! length-prefixed (`u64`) sections: a JSON header ([`CheckpointMeta`], which holds the
//! config), the model weights (burnpack), the world model's optimizer state, and the agent's
//! actor and critic optimizer states (burnpacks, each may be empty); then a `u64` FNV-1a
//! checksum of everything before it. Version 1 files (three sections, from before the agent)
//! still load.
//!
//! A file is read only up to [`MAX_CHECKPOINT_BYTES`]; its header config must pass
//! [`WorldModelConfig::validate`] (which bounds every size) before any network is built from
//! it, and its weights must fit that network and be finite. Weights that are not finite are
//! never written either.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn::store::{ModuleRecord, RecordError};
use burn::tensor::{Bytes, FloatDType};
use serde::{Deserialize, Serialize};

use crate::behavior::ReturnScale;
use crate::config::{ConfigError, WorldModelConfig};
use crate::model::{HeadlessModel, WorldModel};

const MAGIC: &[u8; 8] = b"MDWMCKPT";
const VERSION: u32 = 2;
/// The format before the agent: header, weights and optimizer state only (still read).
const VERSION_1: u32 = 1;

/// Largest checkpoint file read: a full checkpoint (f32 weights and Adam's two moments) of
/// the largest network a config may ask for,
/// [`MAX_PARAMETERS`](crate::config::MAX_PARAMETERS), is 1.5 GiB; the shipped compact one is
/// 5 MB.
pub const MAX_CHECKPOINT_BYTES: u64 = 2 << 30;

/// Largest JSON header section (a header is about 1 KiB).
pub const MAX_HEADER_BYTES: usize = 1 << 20;

/// What a checkpoint says about itself, stored as JSON in its header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// The full config the model was trained with.
    pub config: WorldModelConfig,
    /// Optimizer steps taken.
    pub steps: u64,
    /// Frames the trainer received.
    pub frames_seen: u64,
    /// Version of the crate that wrote it.
    pub crate_version: String,
    /// Where the agent's training stood, when the model has an agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentProgress>,
}

/// What the agent's training needs, besides its weights and optimizer state, to go on where
/// it stopped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentProgress {
    /// Actor-critic updates taken.
    pub updates: u64,
    /// The return normalisation's moving percentiles.
    pub scale: ReturnScale,
}

/// A checkpoint read back from disk.
pub struct Checkpoint {
    /// Header.
    pub meta: CheckpointMeta,
    /// Weights, loaded onto the requested device.
    pub model: WorldModel,
    /// Optimizer state bytes, if the checkpoint has them (apply with [`restore_optimizer`]).
    pub optimizer: Option<Vec<u8>>,
    /// The agent's actor and critic optimizer state bytes, if it has them.
    pub agent_optimizers: Option<[Vec<u8>; 2]>,
    /// The file it was read from (named in the errors of
    /// [`Learner::from_checkpoint`](crate::Learner::from_checkpoint)).
    pub path: PathBuf,
}

/// Why a checkpoint could not be written, read or resumed from.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The file could not be read or written.
    #[error("checkpoint {path}: {source}")]
    Io {
        /// File involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The file does not start with the checkpoint magic.
    #[error("{0} is not a Mini Dreamer checkpoint (bad magic bytes)")]
    NotACheckpoint(PathBuf),
    /// The format version is not one this build reads.
    #[error(
        "{path} has checkpoint format version {found}, this build reads versions 1 and {VERSION}"
    )]
    Version {
        /// File involved.
        path: PathBuf,
        /// Version in the file.
        found: u32,
    },
    /// The file ends before its sections do.
    #[error("{path} is truncated: {what}")]
    Truncated {
        /// File involved.
        path: PathBuf,
        /// Which part is missing.
        what: String,
    },
    /// The checksum does not match the contents.
    #[error("{0} is corrupt: checksum mismatch")]
    Corrupt(PathBuf),
    /// The header is not valid JSON of the expected shape.
    #[error("{path} has an unreadable header: {reason}")]
    Header {
        /// File involved.
        path: PathBuf,
        /// Parser message.
        reason: String,
    },
    /// The checkpoint's network shape differs from the requested config.
    #[error("{path} was trained with another network shape: {}", .fields.join(", "))]
    ConfigMismatch {
        /// File involved.
        path: PathBuf,
        /// `field: checkpoint vs requested` for each differing field.
        fields: Vec<String>,
    },
    /// The weights do not fit the network.
    #[error("{path}: weights do not fit the network: {reason}")]
    Weights {
        /// File involved.
        path: PathBuf,
        /// Burn's message.
        reason: String,
    },
    /// A weight is NaN or infinite: the model could predict nothing.
    #[error("{path}: weights are not finite: NaN or infinity in {parameter}")]
    NonFinite {
        /// File involved.
        path: PathBuf,
        /// The first parameter found with such a value (`encoder.convs.0.weight`).
        parameter: String,
    },
    /// The checkpoint could not be serialised (writing only).
    #[error("{path}: cannot serialise the checkpoint: {source}")]
    Encode {
        /// File involved.
        path: PathBuf,
        /// What failed.
        source: CheckpointEncodeError,
    },
    /// The config to resume under is invalid
    /// ([`Learner::from_checkpoint`](crate::Learner::from_checkpoint)).
    #[error(transparent)]
    InvalidConfig(#[from] ConfigError),
    /// The saved optimizer state could not be restored
    /// ([`Learner::from_checkpoint`](crate::Learner::from_checkpoint)).
    #[error("{path}: optimizer state: {source}")]
    Optimizer {
        /// File involved.
        path: PathBuf,
        /// What failed.
        source: OptimizerRestoreError,
    },
}

/// Why a checkpoint could not be serialised ([`to_bytes`], [`to_bytes_compact`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointEncodeError {
    /// The header could not be written as JSON.
    #[error(transparent)]
    Header(#[from] serde_json::Error),
    /// Burn could not serialise the weights or the optimizer state.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// A weight is NaN or infinite (a diverged update, or a weight too large for the half
    /// precision of a compact checkpoint): such weights are never written.
    #[error("weights are not finite: NaN or infinity in {0}")]
    NonFinite(String),
}

/// Why saved optimizer state could not be applied ([`restore_optimizer`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OptimizerRestoreError {
    /// Burn panicked while restoring the state (it materialises it on `Device::default()`,
    /// which panics when no such device can start).
    #[error("restoring optimizer state panicked inside Burn")]
    Panicked,
    /// Burn could not read the saved state.
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// The checksum a checkpoint file ends with, over every byte before it (FNV-1a, 64 bit).
/// Public with [`assemble`] so that tools and tests can re-seal a file they edited.
pub fn checksum(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Casts every float parameter of a module to one dtype.
struct CastFloats(FloatDType);

impl ModuleMapper for CastFloats {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let dtype = self.0;
        param.map(|t| {
            if t.dtype() == dtype.into() {
                t
            } else {
                t.cast(dtype)
            }
        })
    }
}

/// Flattens every float parameter of a module, as f32, noting its path and length.
#[derive(Default)]
struct FlatParams {
    path: Vec<String>,
    names: Vec<(String, usize)>,
    parts: Vec<Tensor<1>>,
}

impl ModuleVisitor for FlatParams {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let len = t.shape().num_elements();
        let t: Tensor<1> = t.reshape([len]);
        let t = if t.dtype() == FloatDType::F32.into() {
            t
        } else {
            t.cast(FloatDType::F32)
        };
        self.names.push((self.path.join("."), len));
        self.parts.push(t);
    }
}

/// The path of the first float parameter of `model` holding a NaN or an infinity, `None`
/// when every weight is finite. The weights are read back to the host in one transfer and
/// checked there (a GPU's own arithmetic may assume there are no NaNs).
pub fn non_finite_parameter(model: &WorldModel) -> Option<String> {
    let mut flat = FlatParams::default();
    model.visit(&mut flat);
    if flat.parts.is_empty() {
        return None;
    }
    let values = match Tensor::cat(flat.parts, 0).try_into_vec_as::<f32>() {
        Ok(values) => values,
        Err(e) => return Some(format!("the weights (they cannot be read back: {e})")),
    };
    let mut start = 0;
    for (name, len) in flat.names {
        let end = start + len;
        if values
            .get(start..end)
            .is_none_or(|part| part.iter().any(|v| !v.is_finite()))
        {
            return Some(name);
        }
        start = end;
    }
    None
}

/// Serialises a checkpoint to bytes (see the module docs for the layout).
pub fn to_bytes(
    meta: &CheckpointMeta,
    model: &WorldModel,
    optimizer: Option<&ModuleOptimizer>,
    agent: Option<[&ModuleOptimizer; 2]>,
) -> Result<Vec<u8>, CheckpointEncodeError> {
    encode(meta, model.valid(), optimizer, agent)
}

/// A checkpoint to ship with a game: weights in half precision and no optimizer state, a
/// sixth of a full checkpoint's size. Loads like any other (weights come back as f32);
/// training resumed from it starts Adam afresh, with a new learning-rate warm-up.
pub fn to_bytes_compact(
    meta: &CheckpointMeta,
    model: &WorldModel,
) -> Result<Vec<u8>, CheckpointEncodeError> {
    let half = model.valid().map(&mut CastFloats(FloatDType::F16));
    encode(meta, half, None, None)
}

/// Serialises the header, the weights of `model` and the optimizer state, and lays them out.
fn encode(
    meta: &CheckpointMeta,
    model: WorldModel,
    optimizer: Option<&ModuleOptimizer>,
    agent: Option<[&ModuleOptimizer; 2]>,
) -> Result<Vec<u8>, CheckpointEncodeError> {
    if let Some(parameter) = non_finite_parameter(&model) {
        return Err(CheckpointEncodeError::NonFinite(parameter));
    }
    let header = serde_json::to_vec_pretty(meta)?;
    let weights = model.into_record().into_bytes()?;
    let bytes = |o: Option<&ModuleOptimizer>| -> Result<Vec<u8>, CheckpointEncodeError> {
        Ok(match o {
            Some(o) => o.into_bytes()?.to_vec(),
            None => Vec::new(),
        })
    };
    let optim = bytes(optimizer)?;
    let [actor, critic] = agent.map_or([None, None], |[a, c]| [Some(a), Some(c)]);
    let (actor, critic) = (bytes(actor)?, bytes(critic)?);
    Ok(assemble_all([&header, &weights, &optim, &actor, &critic]))
}

/// Lays out a checkpoint file from its three sections: the magic bytes, the format version,
/// the length-prefixed header (JSON), weights and optimizer state, then the checksum. Public
/// so that tools and tests can write files of the exact format (crafted ones included);
/// [`sections`] takes them apart again.
pub fn assemble(header: &[u8], weights: &[u8], optim: &[u8]) -> Vec<u8> {
    assemble_all([header, weights, optim, &[], &[]])
}

/// [`assemble`] with all five sections: header, weights, the world model's optimizer state,
/// the actor's and the critic's.
pub fn assemble_all(sections: [&[u8]; 5]) -> Vec<u8> {
    let size: usize = sections.iter().map(|s| s.len() + 8).sum();
    let mut out = Vec::with_capacity(size + 24);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    for section in sections {
        out.extend_from_slice(&(section.len() as u64).to_le_bytes());
        out.extend_from_slice(section);
    }
    let sum = checksum(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// The header, weights and optimizer sections of checkpoint `bytes`, checked as loading
/// checks the layout (magic, version, lengths, checksum); `path` only names the file in the
/// error.
pub fn sections<'a>(path: &Path, bytes: &'a [u8]) -> Result<[&'a [u8]; 3], CheckpointError> {
    let s = split(path, bytes)?;
    Ok([s.header, s.weights, s.optim])
}

/// Marks the temporary files of [`write_atomic`]: `NAME.wm-tmp-PID-N`, beside the target.
pub const TEMP_MARKER: &str = ".wm-tmp-";

/// Age after which a temporary file of [`write_atomic`] is taken for the leftover of a write
/// that never finished (a process killed during a save); the next atomic write to its
/// directory removes it. No save takes an hour.
pub const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Writes `bytes` to `path` atomically: a sibling temporary file (`NAME.wm-tmp-PID-N`,
/// created new, so two writers never share one), synced, then renamed over the target, and
/// the directory synced (Unix), so a crash never leaves a half-written checkpoint under the
/// real name and a finished write survives a power cut. On an error the temporary file is
/// removed; temporary files in the directory older than [`STALE_TEMP_AGE`] (from a process
/// killed mid-write) are removed first.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static TEMPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            dir
        }
        None => Path::new("."),
    };
    let Some(name) = path.file_name() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} names no file", path.display()),
        ));
    };
    remove_stale_temps(dir);
    // A name no file has: one left by a killed process of the same id is skipped.
    let (tmp, mut f) = {
        let mut attempts = 0;
        loop {
            let mut tmp_name = name.to_os_string();
            tmp_name.push(format!(
                "{TEMP_MARKER}{}-{}",
                std::process::id(),
                TEMPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            let tmp = path.with_file_name(tmp_name);
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
            {
                Ok(f) => break (tmp, f),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempts < 100 => {
                    attempts += 1;
                }
                Err(e) => return Err(e),
            }
        }
    };
    let result = (|| {
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    sync_dir(dir)
}

/// Makes a rename in `dir` durable: an fsync of the directory (Unix; elsewhere nothing). A
/// directory that cannot be opened for it, or a file system that cannot sync one, is left
/// at that: the file itself is complete and in place.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    if !cfg!(unix) {
        return Ok(());
    }
    let Ok(handle) = std::fs::File::open(dir) else {
        return Ok(());
    };
    match handle.sync_all() {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported
            ) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Removes the temporary files of [`write_atomic`] in `dir` (names holding [`TEMP_MARKER`])
/// last modified more than [`STALE_TEMP_AGE`] ago. Best effort: what cannot be read or
/// removed is left.
fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().contains(TEMP_MARKER) {
            continue;
        }
        let stale = entry.metadata().is_ok_and(|meta| {
            meta.is_file()
                && meta
                    .modified()
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > STALE_TEMP_AGE)
        });
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Saves a checkpoint atomically.
pub fn save(
    path: &Path,
    meta: &CheckpointMeta,
    model: &WorldModel,
    optimizer: Option<&ModuleOptimizer>,
    agent: Option<[&ModuleOptimizer; 2]>,
) -> Result<(), CheckpointError> {
    write_bytes(path, to_bytes(meta, model, optimizer, agent))
}

/// Saves a compact checkpoint ([`to_bytes_compact`]) atomically.
pub fn save_compact(
    path: &Path,
    meta: &CheckpointMeta,
    model: &WorldModel,
) -> Result<(), CheckpointError> {
    write_bytes(path, to_bytes_compact(meta, model))
}

fn write_bytes(
    path: &Path,
    bytes: Result<Vec<u8>, CheckpointEncodeError>,
) -> Result<(), CheckpointError> {
    let bytes = bytes.map_err(|source| CheckpointError::Encode {
        path: path.into(),
        source,
    })?;
    write_atomic(path, &bytes).map_err(|source| CheckpointError::Io {
        path: path.into(),
        source,
    })
}

struct Sections<'a> {
    header: &'a [u8],
    weights: &'a [u8],
    optim: &'a [u8],
    /// Empty in a version 1 file.
    actor: &'a [u8],
    critic: &'a [u8],
}

fn split<'a>(path: &Path, bytes: &'a [u8]) -> Result<Sections<'a>, CheckpointError> {
    let truncated = |what: &str| CheckpointError::Truncated {
        path: path.into(),
        what: what.into(),
    };
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(CheckpointError::NotACheckpoint(path.into()));
    }
    let mut pos = MAGIC.len();
    let version = bytes
        .get(pos..pos + 4)
        .ok_or_else(|| truncated("no version"))?;
    let version = u32::from_le_bytes(version.try_into().expect("4 bytes"));
    let names: &[&str] = match version {
        VERSION_1 => &["header", "weights", "optimizer state"],
        VERSION => &[
            "header",
            "weights",
            "optimizer state",
            "actor optimizer state",
            "critic optimizer state",
        ],
        found => {
            return Err(CheckpointError::Version {
                path: path.into(),
                found,
            });
        }
    };
    pos += 4;
    let mut sections = Vec::with_capacity(names.len());
    for name in names {
        let len = bytes
            .get(pos..pos + 8)
            .ok_or_else(|| truncated(&format!("{name} length missing")))?;
        let len = u64::from_le_bytes(len.try_into().expect("8 bytes")) as usize;
        pos += 8;
        let end = pos
            .checked_add(len)
            .filter(|end| *end <= bytes.len())
            .ok_or_else(|| {
                truncated(&format!(
                    "{name} needs {len} bytes, {} left",
                    bytes.len() - pos
                ))
            })?;
        sections.push(&bytes[pos..end]);
        pos = end;
    }
    let sum = bytes
        .get(pos..pos + 8)
        .ok_or_else(|| truncated("checksum missing"))?;
    if u64::from_le_bytes(sum.try_into().expect("8 bytes")) != checksum(&bytes[..pos]) {
        return Err(CheckpointError::Corrupt(path.into()));
    }
    let empty: &[u8] = &[];
    Ok(Sections {
        header: sections[0],
        weights: sections[1],
        optim: sections[2],
        actor: sections.get(3).copied().unwrap_or(empty),
        critic: sections.get(4).copied().unwrap_or(empty),
    })
}

/// Reads a whole checkpoint file, refusing what cannot be one before reading much of it: a
/// file over [`MAX_CHECKPOINT_BYTES`] ([`files::open_limited`](crate::files::open_limited)),
/// and one that does not start with the magic bytes (`/dev/zero` is refused after 8 bytes).
fn read_file(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    let io = |source| CheckpointError::Io {
        path: path.into(),
        source,
    };
    let mut input = crate::files::open_limited(path, MAX_CHECKPOINT_BYTES).map_err(io)?;
    let mut bytes = Vec::new();
    input
        .by_ref()
        .take(MAGIC.len() as u64)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes[..] != MAGIC[..] {
        return Err(CheckpointError::NotACheckpoint(path.into()));
    }
    input.read_to_end(&mut bytes).map_err(io)?;
    crate::files::check_limit(&input, MAX_CHECKPOINT_BYTES).map_err(io)?;
    Ok(bytes)
}

/// Reads only the header of a checkpoint (after checking the whole file's integrity and its
/// config, as [`load`] does).
pub fn read_meta(path: &Path) -> Result<CheckpointMeta, CheckpointError> {
    let bytes = read_file(path)?;
    parse_meta(path, split(path, &bytes)?.header)
}

/// The header, with its config checked ([`WorldModelConfig::validate`] bounds every size):
/// nothing is built from a header that fails.
fn parse_meta(path: &Path, header: &[u8]) -> Result<CheckpointMeta, CheckpointError> {
    let header_err = |reason: String| CheckpointError::Header {
        path: path.into(),
        reason,
    };
    if header.len() > MAX_HEADER_BYTES {
        return Err(header_err(format!(
            "{} bytes, above the limit of {MAX_HEADER_BYTES}",
            header.len()
        )));
    }
    let value: serde_json::Value =
        serde_json::from_slice(header).map_err(|e| header_err(e.to_string()))?;
    // A model saved before the sketch existed has none, whatever today's default is (a
    // learner resuming it under a config with one gives it a fresh one).
    let before_sketch = value["config"].get("sketch_side").is_none();
    let mut meta: CheckpointMeta =
        serde_json::from_value(value).map_err(|e| header_err(e.to_string()))?;
    if before_sketch {
        meta.config.sketch_side = 0;
    }
    meta.config
        .validate()
        .map_err(|e| header_err(e.to_string()))?;
    Ok(meta)
}

/// Loads a checkpoint onto `device`. With `expected`, the checkpoint's network shape must
/// match it (training fields such as the learning rate may differ).
pub fn load(
    path: &Path,
    expected: Option<&WorldModelConfig>,
    device: &Device,
) -> Result<Checkpoint, CheckpointError> {
    let bytes = read_file(path)?;
    let sections = split(path, &bytes)?;
    let meta = parse_meta(path, sections.header)?;
    if let Some(expected) = expected {
        let fields = meta.config.shape_mismatches(expected);
        if !fields.is_empty() {
            return Err(CheckpointError::ConfigMismatch {
                path: path.into(),
                fields,
            });
        }
    }
    let weights_err = |reason: String| CheckpointError::Weights {
        path: path.into(),
        reason,
    };
    let record = || {
        ModuleRecord::from_bytes(Bytes::from_bytes_vec(sections.weights.to_vec()))
            .map_err(|e| weights_err(e.to_string()))
    };
    // Weights keep the dtype they were stored in: compact checkpoints come back to f32 here.
    // Burn checks names and shapes; what it does not (a parameter stored as integers, say)
    // may panic inside it, which is this file's fault, so it is reported as one.
    let panicked = |_| weights_err("Burn panicked while loading them".into());
    let full = record()?;
    let model = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        WorldModel::new(&meta.config, device).try_load_record(full)
    }))
    .map_err(panicked)?;
    let model = match model {
        Ok(model) => model,
        // A checkpoint from before the reward and continue heads: its three networks must
        // all be there, exactly; the heads start fresh.
        Err(full_err) => {
            let old = record()?;
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                HeadlessModel::new(&meta.config, device).try_load_record(old)
            }))
            .map_err(panicked)?
            .map_err(|_| weights_err(full_err.to_string()))?
            .with_fresh_heads(&meta.config, device)
        }
    }
    .map(&mut CastFloats(FloatDType::F32));
    if let Some(parameter) = non_finite_parameter(&model) {
        return Err(CheckpointError::NonFinite {
            path: path.into(),
            parameter,
        });
    }
    Ok(Checkpoint {
        meta,
        model,
        optimizer: (!sections.optim.is_empty()).then(|| sections.optim.to_vec()),
        agent_optimizers: (!sections.actor.is_empty() && !sections.critic.is_empty())
            .then(|| [sections.actor.to_vec(), sections.critic.to_vec()]),
        path: path.into(),
    })
}

/// Applies saved optimizer state to a fresh optimizer.
///
/// Burn 0.22 materialises the state on `Device::default()` (the first GPU backend, which on a
/// machine without a GPU is a software Vulkan adapter) and moves it to each parameter's device
/// on the next step. That works, but if no such device can start Burn panics; the panic is
/// caught here and reported as [`OptimizerRestoreError::Panicked`] so the caller can continue
/// with fresh moments.
pub fn restore_optimizer(
    optim: ModuleOptimizer,
    bytes: Vec<u8>,
) -> Result<ModuleOptimizer, OptimizerRestoreError> {
    let restored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        optim.from_bytes(Bytes::from_bytes_vec(bytes))
    }))
    .map_err(|_| OptimizerRestoreError::Panicked)?;
    Ok(restored?)
}

//! The model side of the plugin: the inference [`Predictor`] the frame loop calls, and the
//! [`TrainerHandle`] whose thread learns. Starting, loading and saving live here.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bevy::prelude::*;
use thiserror::Error;
use world_model::{
    CheckpointError, ConfigError, Device, DeviceChoice, DeviceError, Learner, Predictor,
    TrainerHandle, WorldModelConfig, checkpoint, trainer::Control,
};

/// Why the world model could not start or a checkpoint could not be swapped in.
#[non_exhaustive]
#[derive(Debug, Error)]
pub enum EngineError {
    /// The model config is invalid (the engine does not start).
    #[error("world model config: {0}")]
    Config(#[from] ConfigError),
    /// The requested device cannot be used (the engine does not start).
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The checkpoint could not be read, or its network does not fit the config.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

/// What the engine is built from: the plugin's build-time choices (removed once it started).
#[derive(Resource, Clone, Debug)]
pub(crate) struct EngineSetup {
    pub config: WorldModelConfig,
    pub device: DeviceChoice,
    pub start_checkpoint: Option<PathBuf>,
    /// Threads of the trainer's pool; `None` takes all cores but one.
    pub trainer_threads: Option<usize>,
}

impl EngineSetup {
    /// The trainer pool size this machine gets: all cores but one (at least one), so the
    /// frame loop's inference and the renderer keep a core.
    pub fn trainer_pool_size(&self) -> usize {
        self.trainer_threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1))
                .max(1)
        })
    }
}

/// Inference model, trainer thread and the device they run on. A resource only once it
/// started: systems take `Option<ResMut<Engine>>`.
#[derive(Resource)]
pub(crate) struct Engine {
    pub predictor: Predictor,
    pub trainer: TrainerHandle,
    pub device: Device,
    pub cfg: WorldModelConfig,
    /// Size of the trainer's thread pool.
    pub threads: usize,
    /// Where inference runs: a pool as small as the cores the trainer leaves free, so a
    /// frame's tensor work is never split across a core the trainer holds.
    pub infer_pool: Option<rayon::ThreadPool>,
}

/// A started engine and what to tell the player about it.
pub(crate) struct Started {
    pub engine: Engine,
    pub device: String,
    pub source: String,
    pub steps: u64,
    /// Milliseconds reading and building the start checkpoint took (0 without one).
    pub load_ms: f64,
    /// A start checkpoint that could not be used (the engine runs on random weights).
    pub checkpoint_error: Option<EngineError>,
}

impl Engine {
    /// Resolves the device and starts from `setup.start_checkpoint` when it loads, else
    /// from random weights. Only an invalid config or an unusable device is fatal.
    pub fn start(setup: &EngineSetup) -> Result<Started, EngineError> {
        let cfg = setup.config.clone();
        cfg.validate()?;
        let resolved = setup.device.resolve()?;
        let threads = setup.trainer_pool_size();
        let mut checkpoint_error = None;
        if let Some(path) = &setup.start_checkpoint {
            let started = std::time::Instant::now();
            match learner_from(path, &cfg, &resolved.device) {
                Ok((learner, source)) => {
                    let steps = learner.steps();
                    let load_ms = started.elapsed().as_secs_f64() * 1e3;
                    return Ok(Started {
                        engine: Self::assemble(learner, resolved.device, cfg, threads),
                        device: resolved.description,
                        source,
                        steps,
                        load_ms,
                        checkpoint_error: None,
                    });
                }
                Err(e) => checkpoint_error = Some(e),
            }
        }
        let learner = Learner::new(cfg.clone(), &resolved.device)?;
        Ok(Started {
            engine: Self::assemble(learner, resolved.device, cfg, threads),
            device: resolved.description,
            source: "random init".into(),
            steps: 0,
            load_ms: 0.0,
            checkpoint_error,
        })
    }

    fn assemble(learner: Learner, device: Device, cfg: WorldModelConfig, threads: usize) -> Self {
        let predictor = Predictor::new(learner.inference_model(), cfg.clone(), device.clone());
        Self {
            predictor,
            trainer: TrainerHandle::spawn_with_threads(learner, Some(threads)),
            device,
            cfg,
            threads,
            infer_pool: infer_pool(threads),
        }
    }

    /// Runs `f` (inference work) on the inference pool.
    pub fn infer<R: Send>(&mut self, f: impl FnOnce(&mut Predictor) -> R + Send) -> R {
        match &self.infer_pool {
            Some(pool) => pool.install(|| f(&mut self.predictor)),
            None => f(&mut self.predictor),
        }
    }

    /// Swaps in a checkpoint's weights and trainer state. On error nothing changes.
    /// Returns a description of the new source and its step.
    pub fn load(&mut self, path: &Path, learning: bool) -> Result<(String, u64), EngineError> {
        let (learner, source) = learner_from(path, &self.cfg, &self.device)?;
        let steps = learner.steps();
        self.predictor.set_model(learner.inference_model());
        self.predictor.reset();
        let old = std::mem::replace(
            &mut self.trainer,
            TrainerHandle::spawn_with_threads(learner, Some(self.threads)),
        );
        self.trainer.control(Control::SetLearning(learning));
        // The old trainer finishes its current step on its own thread; the frame loop goes on.
        std::thread::spawn(move || old.shutdown());
        Ok((source, steps))
    }
}

/// A pool with the cores the trainer leaves (at least one).
fn infer_pool(trainer_threads: usize) -> Option<rayon::ThreadPool> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    rayon::ThreadPoolBuilder::new()
        .num_threads(cores.saturating_sub(trainer_threads).max(1))
        .thread_name(|i| format!("wm-infer-{i}"))
        .build()
        .ok()
}

/// Loads `path` for `cfg` (network shapes must match) into a learner.
fn learner_from(
    path: &Path,
    cfg: &WorldModelConfig,
    device: &Device,
) -> Result<(Learner, String), EngineError> {
    let ckpt = checkpoint::load(path, Some(cfg), device)?;
    let steps = ckpt.meta.steps;
    let learner = Learner::from_checkpoint(cfg.clone(), ckpt, device)?;
    // Relative to the working directory when inside it: the dashboard has little room.
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf());
    Ok((learner, format!("{} (step {steps})", shown.display())))
}

/// `dir/world-model-YYYYMMDD-HHMMSS.ckpt` for the current UTC time.
pub(crate) fn timestamped_path(dir: &Path) -> PathBuf {
    dir.join(format!("world-model-{}.ckpt", utc_timestamp()))
}

/// `YYYYMMDD-HHMMSS` now, in UTC: names files so that a new one never replaces an old one
/// and a listing sorts by time (checkpoints, recordings).
pub fn utc_timestamp() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    utc_stamp(secs)
}

/// `YYYYMMDD-HHMMSS` for seconds since the Unix epoch (proleptic Gregorian, UTC).
pub(crate) fn utc_stamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        // 2000-02-29 (a leap day) 12:34:56 UTC.
        assert_eq!(utc_stamp(951_827_696), "20000229-123456");
        // 2026-11-22 03:09:32 UTC.
        assert_eq!(utc_stamp(1_795_316_972), "20261122-030932");
    }
}

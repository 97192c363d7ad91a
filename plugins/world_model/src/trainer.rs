//! The live trainer: a [`Learner`] on a dedicated thread, fed and read over bounded crossbeam
//! channels so the game loop never waits on training.
//!
//! ```text
//! game --Step (try_send, dropped+counted when full)--> trainer thread --> replay --> Adam step
//! game <--Snapshot (bounded(1), newest wins)---------- every `snapshot_every` steps
//! game <--TrainStats (bounded, newest wins)----------- after every step
//! game --Control (learning on/off, save, stop)-------> trainer thread
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use burn::prelude::*;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError, TrySendError, bounded};
use serde::{Deserialize, Serialize};

use crate::behavior::BehaviorStats;
use crate::checkpoint::non_finite_parameter;
use crate::config::{ConfigError, WorldModelConfig};
use crate::learner::{Learner, PushError, StepOutcome};
use crate::model::{LossParts, WorldModel};
use crate::replay::Step;

/// Commands for the trainer thread.
#[derive(Clone, Debug, PartialEq)]
pub enum Control {
    /// Pause (`false`) or resume (`true`) optimizer steps; frames are still stored.
    SetLearning(bool),
    /// Write a checkpoint to this path (atomically).
    Save(PathBuf),
    /// Finish the current step and exit the thread.
    Shutdown,
}

/// New weights for the inference side.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Inference copy of the model (no autodiff).
    pub model: WorldModel,
    /// Optimizer steps behind these weights.
    pub step: u64,
}

/// Something the UI should tell the user once.
///
/// Events are cloned, compared and serialised, so a variant carries a typed error only where
/// that error can be: [`PushError`] can, while a [`CheckpointError`](crate::CheckpointError)
/// holds an `std::io::Error` (neither `Clone` nor serialisable) and a panic's payload is
/// whatever the panicking code gave; those two travel as their messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TrainerEvent {
    /// A checkpoint was written.
    Saved(PathBuf),
    /// Writing a checkpoint failed; training goes on. The
    /// [`CheckpointError`](crate::CheckpointError)'s message.
    SaveFailed(String),
    /// A step had a NaN or infinite loss or gradient, or its update left a weight NaN or
    /// infinite (found before the weights were published); the last good weights were
    /// restored.
    NonFinite {
        /// Step at which it happened.
        step: u64,
        /// The loss parts that were read.
        loss: LossParts,
    },
    /// A step sent by the game was rejected (wrong size, NaN action).
    BadStep(PushError),
    /// The trainer thread panicked; the game keeps its last weights. The panic's message
    /// (`"unknown panic"` when it was not a string).
    Crashed(String),
}

/// Everything the trainer reports after a step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainStats {
    /// Optimizer steps so far.
    pub step: u64,
    /// Loss parts of the last step.
    pub loss: LossParts,
    /// Global gradient norm of the last step, before clipping.
    pub grad_norm: f32,
    /// Learning rate of the last step.
    pub lr: f64,
    /// Steps stored in replay.
    pub buffer_len: usize,
    /// Replay capacity.
    pub buffer_capacity: usize,
    /// Frames received in total.
    pub frames_seen: u64,
    /// Frames the game could not hand over because the channel was full.
    pub frames_dropped: u64,
    /// Optimizer steps per second over the last few seconds.
    pub steps_per_sec: f64,
    /// Frames trained per second (`steps_per_sec * batch * seq_len`).
    pub frames_per_sec: f64,
    /// Steps skipped for NaN or infinity.
    pub non_finite_steps: u64,
    /// Whether optimizer steps are running (false while paused or waiting for frames).
    pub learning: bool,
    /// The last actor-critic update's losses and returns, when the model has an agent.
    pub behavior: Option<BehaviorStats>,
}

/// The game's side of a running trainer. Dropping it stops the thread.
pub struct TrainerHandle {
    steps: Sender<Step>,
    control: Sender<Control>,
    snapshots: Receiver<Snapshot>,
    stats: Receiver<TrainStats>,
    events: Receiver<TrainerEvent>,
    dropped: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

/// Capacity of the step channel: about two seconds of frames at 60 fps.
const STEP_CHANNEL: usize = 128;

impl TrainerHandle {
    /// Starts a trainer thread around `learner`, using the process-wide thread pool for its
    /// tensor work (right for offline training, where nothing else runs).
    ///
    /// The host's allocator is left as it is: a program that trains calls
    /// [`allocator::keep_freed_memory`](crate::allocator::keep_freed_memory) once at start.
    pub fn spawn(learner: Learner) -> Self {
        Self::spawn_with_threads(learner, None)
    }

    /// Starts a trainer thread whose tensor work runs on its own pool of `threads` threads
    /// (`None`: the process-wide pool). A game passes a pool smaller than the machine so
    /// inference on the frame loop, which uses the process-wide pool, never queues behind a
    /// training step: sharing one pool made the slowest inferences several times slower on a
    /// 2-core machine (see `docs/performance.md`). The pool's threads run at a lower priority.
    pub fn spawn_with_threads(learner: Learner, threads: Option<usize>) -> Self {
        let pool = threads.and_then(|n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .thread_name(|i| format!("wm-trainer-{i}"))
                .start_handler(|_| lower_priority())
                .build()
                .ok()
        });
        let (steps_tx, steps_rx) = bounded(STEP_CHANNEL);
        let (control_tx, control_rx) = bounded(16);
        let (snap_tx, snap_rx) = bounded(1);
        let (stats_tx, stats_rx) = bounded(1);
        let (events_tx, events_rx) = bounded(64);
        let dropped = Arc::new(AtomicU64::new(0));
        let worker = Worker {
            learner,
            steps: steps_rx,
            control: control_rx,
            snapshots: (snap_tx, snap_rx.clone()),
            stats: (stats_tx, stats_rx.clone()),
            events: events_tx.clone(),
            dropped: dropped.clone(),
            learning: true,
        };
        let thread = std::thread::Builder::new()
            .name("wm-trainer".into())
            .spawn(move || {
                let result =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match pool {
                        Some(pool) => pool.install(|| worker.run()),
                        None => worker.run(),
                    }));
                if let Err(panic) = result {
                    let msg = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "unknown panic".into());
                    let _ = events_tx.try_send(TrainerEvent::Crashed(msg));
                }
            })
            .expect("the OS refused to start the trainer thread");
        Self {
            steps: steps_tx,
            control: control_tx,
            snapshots: snap_rx,
            stats: stats_rx,
            events: events_rx,
            dropped,
            thread: Some(thread),
        }
    }

    /// Starts a fresh trainer for `cfg` on `device`.
    pub fn start(cfg: WorldModelConfig, device: &Device) -> Result<Self, ConfigError> {
        Ok(Self::spawn(Learner::new(cfg, device)?))
    }

    /// Hands a step to the trainer without blocking; when the channel is full the step is
    /// dropped and counted (returns false).
    pub fn send_step(&self, step: Step) -> bool {
        match self.steps.try_send(step) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Sends a command without blocking; false if the trainer is gone or its queue is full.
    pub fn control(&self, c: Control) -> bool {
        self.control.try_send(c).is_ok()
    }

    /// The newest weight snapshot since the last call, if any.
    pub fn latest_snapshot(&self) -> Option<Snapshot> {
        self.snapshots.try_iter().last()
    }

    /// The newest stats since the last call, if any.
    pub fn latest_stats(&self) -> Option<TrainStats> {
        self.stats.try_iter().last()
    }

    /// Events since the last call.
    pub fn events(&self) -> Vec<TrainerEvent> {
        self.events.try_iter().collect()
    }

    /// True while the thread runs.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the thread after its current step and waits for it.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self
            .control
            .send_timeout(Control::Shutdown, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TrainerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Worker {
    learner: Learner,
    steps: Receiver<Step>,
    control: Receiver<Control>,
    snapshots: (Sender<Snapshot>, Receiver<Snapshot>),
    stats: (Sender<TrainStats>, Receiver<TrainStats>),
    events: Sender<TrainerEvent>,
    dropped: Arc<AtomicU64>,
    learning: bool,
}

/// Gives the calling thread a lower scheduling priority (nice 10 on Linux; elsewhere
/// nothing), so when a game shares the machine with its trainer, the frame loop wins.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments; `who = 0` is the calling
    // thread on Linux, where nice values are per thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

/// Replaces whatever is in a bounded(1) channel with `value`, never blocking.
fn publish<T>(tx: &Sender<T>, rx: &Receiver<T>, value: T) {
    if let Err(TrySendError::Full(value)) = tx.try_send(value) {
        let _ = rx.try_recv();
        let _ = tx.try_send(value);
    }
}

impl Worker {
    fn run(mut self) {
        let mut rate = RateMeter::default();
        let mut last = None;
        loop {
            // Controls first, so Shutdown and Save are prompt.
            loop {
                match self.control.try_recv() {
                    Ok(Control::Shutdown) | Err(TryRecvError::Disconnected) => return,
                    Ok(Control::SetLearning(on)) => self.learning = on,
                    Ok(Control::Save(path)) => {
                        let event = match self.learner.save(&path) {
                            Ok(()) => TrainerEvent::Saved(path),
                            Err(e) => TrainerEvent::SaveFailed(e.to_string()),
                        };
                        let _ = self.events.try_send(event);
                    }
                    Err(TryRecvError::Empty) => break,
                }
            }
            for step in self.steps.try_iter() {
                if let Err(e) = self.learner.push(&step) {
                    let _ = self.events.try_send(TrainerEvent::BadStep(e));
                }
            }
            let outcome = if self.learning {
                self.learner.train_step()
            } else {
                StepOutcome::Waiting
            };
            match outcome {
                StepOutcome::Updated(report) => {
                    rate.tick();
                    last = Some(report);
                    if report.step % self.learner.config().snapshot_every as u64 == 0 {
                        let model = self.learner.inference_model();
                        // An exploding update can leave finite losses and NaN weights: those
                        // never reach inference; the update is undone instead.
                        if non_finite_parameter(&model).is_none() {
                            let snap = Snapshot {
                                model,
                                step: report.step,
                            };
                            publish(&self.snapshots.0, &self.snapshots.1, snap);
                        } else {
                            self.learner.undo_last_update();
                            let _ = self.events.try_send(TrainerEvent::NonFinite {
                                step: report.step,
                                loss: report.loss,
                            });
                        }
                    }
                }
                StepOutcome::Skipped(report) => {
                    let _ = self.events.try_send(TrainerEvent::NonFinite {
                        step: report.step,
                        loss: report.loss,
                    });
                }
                StepOutcome::Waiting => {
                    // Nothing to do: sleep until a frame arrives (or a control, checked soon).
                    match self.steps.recv_timeout(Duration::from_millis(20)) {
                        Ok(step) => {
                            if let Err(e) = self.learner.push(&step) {
                                let _ = self.events.try_send(TrainerEvent::BadStep(e));
                            }
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            }
            let cfg = self.learner.config();
            let steps_per_sec = rate.per_second();
            let stats = TrainStats {
                step: self.learner.steps(),
                loss: last.map(|r| r.loss).unwrap_or_default(),
                grad_norm: last.map(|r| r.grad_norm).unwrap_or_default(),
                lr: last.map(|r| r.lr).unwrap_or_default(),
                buffer_len: self.learner.replay().len(),
                buffer_capacity: self.learner.replay().capacity(),
                frames_seen: self.learner.frames_seen(),
                frames_dropped: self.dropped.load(Ordering::Relaxed),
                steps_per_sec,
                frames_per_sec: steps_per_sec * (cfg.batch * cfg.seq_len) as f64,
                non_finite_steps: self.learner.non_finite_steps(),
                learning: self.learning && matches!(outcome, StepOutcome::Updated(_)),
                behavior: last.and_then(|r| r.behavior),
            };
            publish(&self.stats.0, &self.stats.1, stats);
        }
    }
}

/// Steps per second over a sliding window of recent steps.
#[derive(Default)]
struct RateMeter {
    times: std::collections::VecDeque<Instant>,
}

impl RateMeter {
    fn tick(&mut self) {
        self.times.push_back(Instant::now());
        while self.times.len() > 2
            && self
                .times
                .front()
                .is_some_and(|t| t.elapsed() > Duration::from_secs(5))
        {
            self.times.pop_front();
        }
    }

    fn per_second(&self) -> f64 {
        match (self.times.front(), self.times.back()) {
            (Some(a), Some(b)) if self.times.len() > 1 => {
                (self.times.len() - 1) as f64 / b.duration_since(*a).as_secs_f64().max(1e-9)
            }
            _ => 0.0,
        }
    }
}

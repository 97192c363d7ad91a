//! [`WorldModelSystems::Infer`](crate::WorldModelSystems::Infer): the per-frame model work.
//! Real frames are fed in tick order (the prediction made for each is scored, the frame is
//! filtered into the state, the next frame is predicted, the transition goes to the
//! trainer); the dream strip grows by one imagined frame; the pure dream rolls forward.

use std::collections::BTreeMap;
use std::time::Instant;

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use world_model::{Frame, Latent, Outlook, PendingFrame, Step, compare, error_heatmap};

use crate::action::ActionLog;
use crate::capture::{FrameCaptured, ModelClock};
use crate::engine::Engine;
use crate::latent::CodeUsage;
use crate::messages::PredictionScored;
use crate::modes::{DreamMode, Learning};
use crate::present::PresentQueue;
use crate::queue::{FrameQueue, Pushed};
use crate::record::Recorder;
use crate::reward::{AgentPolicy, EpisodeEnd, Episodes, OutcomeLog, RewardScored};
use crate::scores::{ModelScores, ScoredFrames};
use crate::settings::WorldModelSettings;
use crate::status::{ModelCounters, ModelStatus, Notify};
use crate::strip::{PendingStrip, StripBuilder};

/// Most ticks the agent's decision is rolled forward from the newest frame on the prior
/// ([`Predictor::decide_after`](world_model::Predictor::decide_after)); readbacks lag 1-3.
const MAX_DECISION_LAG: usize = 8;

/// Predictions waiting for the real frame of the tick they predict, and where the state
/// stands: the last real frame (the baseline's guess for the next) and the dream's tick.
#[derive(Resource, Default)]
pub(crate) struct Predictions {
    /// Predictions by the tick they predict; `true` when dreamed.
    pending: BTreeMap<u64, (Frame, bool)>,
    /// The reward and continue heads' predictions, by the tick they predict.
    outlooks: BTreeMap<u64, Outlook>,
    /// The last real frame processed, with its tick.
    pub last_frame: Option<(u64, Frame)>,
    /// Tick the dream has advanced to; `None` while observing or before the dream starts.
    pub dream_tick: Option<u64>,
    /// Set by [`restart`](Self::restart): the next real frame starts the state afresh.
    pub reset_requested: bool,
    /// The last prediction, still on the device: read back one update later (or before the
    /// frame it predicts is scored, whichever comes first), so a GPU is never waited on in
    /// the frame that queued the work.
    deferred: Option<Deferred>,
}

/// A prediction and the state it was made from, not yet read back.
struct Deferred {
    /// The tick the prediction is for.
    tick: u64,
    frame: PendingFrame,
    state: Latent,
}

impl Predictions {
    /// Forgets every pending prediction and the dream; the next real frame starts the
    /// state afresh (after a reset, a load, or the end of a dream).
    pub fn restart(&mut self) {
        self.pending.clear();
        self.outlooks.clear();
        self.deferred = None;
        self.dream_tick = None;
        self.reset_requested = true;
    }

    /// Forgets predictions older than `tick` (they can no longer be scored).
    fn forget_before(&mut self, tick: u64) {
        while let Some((&t, _)) = self.pending.first_key_value() {
            if t >= tick {
                break;
            }
            self.pending.pop_first();
        }
        self.outlooks = self.outlooks.split_off(&tick);
    }
}

/// Reads back the deferred prediction, if any: it becomes the pending prediction of its
/// tick and the shown one, and its state's codes go to the latent view.
/// A dream's prediction for the same tick wins (the dream was shown). Returns the
/// milliseconds spent reading.
fn read_deferred(p: &mut Predictions, out: &mut InferOutput, groups: usize, classes: usize) -> f32 {
    let Some(Deferred { tick, frame, state }) = p.deferred.take() else {
        return 0.0;
    };
    let start = Instant::now();
    let (frame, outlook) = frame.read_with_outlook();
    p.outlooks.insert(tick, outlook);
    let (h, z) = state.values();
    out.notify.status.latent = Some(out.code_usage.push(&z, &h, groups, classes));
    out.present.prediction = Some(frame.clone());
    p.pending.entry(tick).or_insert((frame, false));
    start.elapsed().as_secs_f32() * 1000.0
}

/// What the inference stage writes each tick besides the predictions.
#[derive(SystemParam)]
pub(crate) struct InferOutput<'w> {
    scores: ResMut<'w, ModelScores>,
    counters: ResMut<'w, ModelCounters>,
    present: ResMut<'w, PresentQueue>,
    code_usage: ResMut<'w, CodeUsage>,
    strip: ResMut<'w, PendingStrip>,
    recorder: ResMut<'w, Recorder>,
    episodes: ResMut<'w, Episodes>,
    policy: ResMut<'w, AgentPolicy>,
    scored: MessageWriter<'w, PredictionScored>,
    rewards: MessageWriter<'w, RewardScored>,
    notify: Notify<'w>,
}

/// Feeds captured frames of the model's camera to the model, in tick order.
#[allow(clippy::too_many_arguments)]
pub(crate) fn process_frames(
    clock: Res<ModelClock>,
    settings: Res<WorldModelSettings>,
    learning: Res<State<Learning>>,
    mode: Res<State<DreamMode>>,
    actions: Res<ActionLog>,
    outcomes: Res<OutcomeLog>,
    mut engine: Option<ResMut<Engine>>,
    mut queue: ResMut<FrameQueue>,
    mut predictions: ResMut<Predictions>,
    mut frames: MessageReader<FrameCaptured>,
    mut out: InferOutput,
) {
    let (w, h, groups, classes) = {
        let c = out.notify.status.config();
        (c.width, c.height, c.stoch, c.classes)
    };
    for f in frames.read() {
        if Some(f.camera) != actions.camera {
            continue;
        }
        if (f.frame.width, f.frame.height) != (w, h) {
            if !queue.size_error_reported {
                queue.size_error_reported = true;
                out.notify.error(format!(
                    "camera frames are {}x{} but the world model expects {w}x{h}; set the same \
                     size on WorldModelCamera and WorldModelPlugin",
                    f.frame.width, f.frame.height
                ));
            }
            continue;
        }
        if queue.push(f.tick, f.frame.clone()) == Pushed::Late {
            out.counters.late_frames += 1;
        }
    }
    let dreaming = *mode.get() == DreamMode::Dreaming;
    let send = *learning.get() == Learning::On;
    let p = &mut *predictions;
    let mut read_ms = read_deferred(p, &mut out, groups, classes);
    while let Some(ready) = queue.pop_ready(clock.tick) {
        read_ms += read_deferred(p, &mut out, groups, classes);
        let tick = ready.tick;
        let frame = ready.frame;
        // After the frame that ended an episode the game respawned: a fresh start.
        let episode_start = outcomes.starts_episode(tick);
        let contiguous = ready.contiguous && !p.reset_requested && !episode_start;
        let outcome = outcomes.get(tick);
        let (Some(prev_action), Some(next_action)) =
            (actions.get(tick).cloned(), actions.get(tick + 1).cloned())
        else {
            // The camera changed or the log was cut: start afresh from the next frame.
            p.last_frame = Some((tick, frame));
            continue;
        };

        // The reward of this tick, against the prediction made for it (none across a
        // respawn: the state before it knew nothing of where the player reappears).
        let predicted = p.outlooks.remove(&tick).filter(|_| !episode_start);
        let reward_scored = predicted.map(|predicted| RewardScored {
            tick,
            reward: outcome.reward,
            end: outcome.end,
            predicted,
        });
        out.episodes
            .push(tick, outcome.reward, outcome.end, predicted);
        if let Some(scored) = reward_scored {
            out.rewards.write(scored);
        }

        // Score the prediction made for this tick against the real frame, exactly.
        if let (Some((pred, dreamed)), Some((last_tick, last))) =
            (p.pending.remove(&tick), p.last_frame.as_ref())
            && *last_tick + 1 == tick
            && !episode_start
            && let (Ok(model), Ok(baseline)) = (compare(&pred, &frame), compare(last, &frame))
        {
            out.scores.averages.push(model, baseline);
            let score = PredictionScored {
                tick,
                model,
                baseline,
                dreamed,
            };
            out.scores.last_score = Some(score.clone());
            out.scored.write(score);
            out.present.heatmap = error_heatmap(&pred, &frame, settings.heatmap_full_scale).ok();
            out.scores.last_frames = Some(ScoredFrames {
                tick,
                predicted: pred,
                real: frame.clone(),
            });
        }
        p.forget_before(tick + 1);

        // Filter the frame into the state and predict the next one, unless a dream runs.
        if !(dreaming && p.dream_tick.is_some())
            && let Some(engine) = engine.as_mut()
        {
            let start = Instant::now();
            p.reset_requested = false;
            // The actions taken since this frame (readbacks arrive ticks late): the agent
            // decides at the state they lead to, the present, as it learned to in the dream.
            let taken_since: Vec<Vec<f32>> = (tick + 1..=clock.tick)
                .take(MAX_DECISION_LAG)
                .map_while(|k| actions.get(k).cloned())
                .collect();
            let decided_for = tick + taken_since.len() as u64;
            let predicted = engine.infer(|pr| {
                if !contiguous {
                    pr.reset();
                }
                let state = pr.observe(&frame, &prev_action)?;
                let decision = pr.decide_after(&state, &taken_since)?;
                let pred = pr.predict_next_deferred(&next_action)?;
                Ok::<_, world_model::PredictError>((pred, state, decision))
            });
            // The readbacks done this update count: on a CPU they hold the real work.
            out.counters.infer_ms = start.elapsed().as_secs_f32() * 1000.0 + read_ms;
            read_ms = 0.0;
            match predicted {
                Ok((pred, state, decision)) => {
                    if let Some((probs, value)) = decision {
                        *out.policy = AgentPolicy {
                            tick: decided_for,
                            probs,
                            value,
                            dreamed: false,
                        };
                    }
                    if let Some(frame) = pred {
                        p.deferred = Some(Deferred {
                            tick: tick + 1,
                            frame,
                            state: state.clone(),
                        });
                    }
                    let scoring = out
                        .scores
                        .strip
                        .as_ref()
                        .is_some_and(|s| s.awaits_reals(tick));
                    if out.strip.0.is_none() && !dreaming && !scoring {
                        out.strip.0 = Some(StripBuilder::new(
                            tick,
                            frame.clone(),
                            state,
                            next_action.clone(),
                        ));
                    }
                }
                Err(e) => {
                    // Not a notice: it would repeat every frame; the status shows it.
                    out.notify.status.last_error = Some(format!("prediction: {e}"));
                }
            }
        }

        if let Some(builder) = out.strip.0.as_mut() {
            builder.see_real(tick, &frame);
        }
        let scores = &mut *out.scores;
        if let Some(strip) = scores.strip.as_mut()
            && strip.score(tick, &frame)
            && strip.is_scored()
        {
            scores.horizons.push(strip);
        }

        let step = Step {
            reward: outcome.reward,
            terminal: outcome.end == Some(EpisodeEnd::Terminal),
            ..Step::new(
                tick,
                frame.clone(),
                next_action,
                !ready.contiguous || episode_start,
            )
        };
        match out.recorder.record(&step) {
            Ok(written) => out.counters.recorded += u64::from(written),
            Err(e) => {
                out.notify.status.recording_error = Some(e.to_string());
                out.notify.error(e.to_string());
            }
        }
        if send && let Some(engine) = &engine {
            if engine.trainer.send_step(step) {
                out.counters.sent += 1;
            } else {
                out.counters.dropped += 1;
            }
        }
        p.last_frame = Some((tick, frame));
    }
}

/// Advances the dream strip by one imagined frame; when it has all of them, publishes it.
pub(crate) fn build_strip(
    engine: Option<ResMut<Engine>>,
    mut pending: ResMut<PendingStrip>,
    mut scores: ResMut<ModelScores>,
    mut present: ResMut<PresentQueue>,
    mut status: ResMut<ModelStatus>,
) {
    let (Some(mut engine), Some(builder)) = (engine, pending.0.as_mut()) else {
        return;
    };
    let step = engine.infer(|p| {
        let (next, frame) = p.rollout_step(&builder.state, &builder.action)?;
        let outlook = p.outlook(&next);
        Ok::<_, world_model::PredictError>((next, frame, outlook))
    });
    match step {
        Ok((next, frame, outlook)) => {
            builder.state = next;
            builder.frames.push(frame);
            builder.outlook.push(outlook);
        }
        Err(e) => {
            status.last_error = Some(format!("dream strip: {e}"));
            pending.0 = None;
            return;
        }
    }
    if builder.is_done()
        && let Some(builder) = pending.0.take()
    {
        let strip = builder.finish();
        present.strip = Frame::grid(std::slice::from_ref(&strip.frames), 0);
        if strip.is_scored() {
            scores.horizons.push(&strip);
        }
        scores.strip = Some(strip);
    }
}

/// The pure dream: from the last observed state, roll forward on the prior with the live
/// actions up to the current tick. Real frames still score the dream as they arrive.
#[allow(clippy::too_many_arguments)]
pub(crate) fn dream(
    clock: Res<ModelClock>,
    settings: Res<WorldModelSettings>,
    actions: Res<ActionLog>,
    engine: Option<ResMut<Engine>>,
    mut predictions: ResMut<Predictions>,
    mut counters: ResMut<ModelCounters>,
    mut present: ResMut<PresentQueue>,
    mut status: ResMut<ModelStatus>,
    mut policy: ResMut<AgentPolicy>,
) {
    let Some(mut engine) = engine else {
        return;
    };
    if engine.predictor.state().is_none() {
        return; // waits for a real frame (start, or after a reset)
    }
    let p = &mut *predictions;
    let from = match p.dream_tick {
        Some(t) => t,
        None => match &p.last_frame {
            Some((t, _)) => *t,
            None => return,
        },
    };
    let start = Instant::now();
    let mut tick = from;
    while tick < clock.tick {
        let Some(action) = actions.get(tick + 1).cloned() else {
            break;
        };
        let temperature = settings.temperature;
        let step = engine.infer(|pr| {
            let frame = pr.dream_step(&action, temperature)?;
            let decision = pr.state().and_then(|s| pr.decide(s));
            Ok::<_, world_model::PredictError>((frame, decision))
        });
        if let Ok((_, Some((probs, value)))) = &step {
            *policy = AgentPolicy {
                tick: tick + 1,
                probs: probs.clone(),
                value: *value,
                dreamed: true,
            };
        }
        match step.map(|(frame, _)| frame) {
            Ok(Some(frame)) => {
                present.prediction = Some(frame.clone());
                p.pending.insert(tick + 1, (frame, true));
                counters.dream_ticks += 1;
            }
            Ok(None) => break,
            Err(e) => {
                status.last_error = Some(format!("dream: {e}"));
                break;
            }
        }
        tick += 1;
    }
    if tick > from {
        counters.infer_ms = start.elapsed().as_secs_f32() * 1000.0 / (tick - from) as f32;
    }
    p.dream_tick = Some(tick);
}

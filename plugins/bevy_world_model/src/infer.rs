//! The per-frame model work: record the tick's action, feed real frames in tick order
//! (score the prediction made for them, filter them into the state, predict the next frame,
//! hand the transition to the trainer), and run the pure dream.

use std::time::Instant;

use bevy::prelude::*;
use world_model::{Frame, Step, compare, error_heatmap};

use crate::WorldModelAction;
use crate::action::{ego_motion, fit_action};
use crate::capture::{FrameCaptured, ModelClock, WorldModelCamera};
use crate::messages::{PredictionScored, WorldModelNotice};
use crate::modes::{DreamMode, Learning};
use crate::output::{ScoredFrames, WorldModelOutput};
use crate::queue::Pushed;
use crate::record::record_step;
use crate::runtime::WorldModelRuntime;
use crate::settings::WorldModelSettings;
use crate::strip::StripBuilder;

/// Records, once per tick, the action that led to this tick's frame: the game's
/// [`WorldModelAction`] when the camera has one, else its ego-motion since the last tick.
pub(crate) fn record_actions(
    clock: Res<ModelClock>,
    settings: Res<WorldModelSettings>,
    mut runtime: ResMut<WorldModelRuntime>,
    cameras: Query<(Entity, &GlobalTransform, Option<&WorldModelAction>), With<WorldModelCamera>>,
) {
    let rt = &mut *runtime;
    if rt.camera.is_none_or(|c| !cameras.contains(c)) {
        rt.camera = cameras.iter().next().map(|(e, ..)| e);
    }
    let Some(Ok((_, pose, game_action))) = rt.camera.map(|c| cameras.get(c)) else {
        return;
    };
    if rt.last_action_tick == Some(clock.tick) {
        return;
    }
    rt.last_action_tick = Some(clock.tick);
    let dim = settings.config.action_dim;
    let previous = rt.actions.swap_pose(*pose);
    let action = match (game_action, previous) {
        (Some(a), _) => fit_action(&a.0, dim),
        (None, Some(prev)) => ego_motion(&prev, pose, settings.ego_motion, dim),
        (None, None) => vec![0.0; dim],
    };
    rt.actions.record(clock.tick, action);
}

/// Feeds captured frames of the model's camera to the model, in tick order.
#[allow(clippy::too_many_arguments)]
pub(crate) fn process_frames(
    clock: Res<ModelClock>,
    settings: Res<WorldModelSettings>,
    learning: Res<State<Learning>>,
    mode: Res<State<DreamMode>>,
    mut runtime: ResMut<WorldModelRuntime>,
    mut output: ResMut<WorldModelOutput>,
    mut frames: MessageReader<FrameCaptured>,
    mut scored: MessageWriter<PredictionScored>,
    mut notices: MessageWriter<WorldModelNotice>,
) {
    let rt = &mut *runtime;
    let (w, h) = (settings.config.width, settings.config.height);
    for f in frames.read() {
        if Some(f.camera) != rt.camera {
            continue;
        }
        if (f.width as usize, f.height as usize) != (w, h) {
            if !rt.size_error_reported {
                rt.size_error_reported = true;
                let text = format!(
                    "camera frames are {}x{} but the world model expects {w}x{h}; set the same \
                     size on WorldModelCamera and WorldModelPlugin",
                    f.width, f.height
                );
                error!("{text}");
                output.last_error = Some(text.clone());
                notices.write(WorldModelNotice::error(text));
            }
            continue;
        }
        let Ok(frame) = Frame::from_rgba(w, h, &f.rgba, w * 4) else {
            continue;
        };
        if rt.queue.push(f.tick, frame) == Pushed::Late {
            output.late_frames += 1;
        }
    }
    let dreaming = *mode.get() == DreamMode::Dreaming;
    let send = *learning.get() == Learning::On;
    while let Some(ready) = rt.queue.pop_ready(clock.tick) {
        let tick = ready.tick;
        let frame = ready.frame;
        let contiguous = ready.contiguous && !rt.reset_requested;
        let (Some(prev_action), Some(next_action)) = (
            rt.actions.get(tick).cloned(),
            rt.actions.get(tick + 1).cloned(),
        ) else {
            // The camera changed or the log was cut: start afresh from the next frame.
            rt.last_frame = Some((tick, frame));
            continue;
        };

        // Score the prediction made for this tick against the real frame, exactly.
        if let (Some((pred, dreamed)), Some((last_tick, last))) =
            (rt.predictions.remove(&tick), rt.last_frame.as_ref())
            && *last_tick + 1 == tick
            && let (Ok(model), Ok(baseline)) = (compare(&pred, &frame), compare(last, &frame))
        {
            output.averages.push(model, baseline);
            let score = PredictionScored {
                tick,
                model,
                baseline,
                dreamed,
            };
            output.last_score = Some(score.clone());
            scored.write(score);
            rt.show_heatmap = error_heatmap(&pred, &frame, settings.heatmap_full_scale).ok();
            output.last_frames = Some(ScoredFrames {
                tick,
                predicted: pred,
                real: frame.clone(),
            });
        }
        rt.forget_before(tick + 1);

        // Filter the frame into the state and predict the next one, unless a dream runs.
        if !(dreaming && rt.dream_tick.is_some())
            && let Some(engine) = rt.engine.as_mut()
        {
            let start = Instant::now();
            rt.reset_requested = false;
            let predicted = engine.infer(|p| {
                if !contiguous {
                    p.reset();
                }
                let state = p.observe(&frame, &prev_action)?;
                let pred = p.predict_next(&next_action)?;
                let (h, z) = state.values();
                Ok::<_, world_model::PredictError>((pred, state, h, z))
            });
            output.infer_ms = start.elapsed().as_secs_f32() * 1000.0;
            match predicted {
                Ok((pred, state, h, z)) => {
                    if let Some(pred) = pred {
                        rt.show_prediction = Some(pred.clone());
                        rt.predictions.insert(tick + 1, (pred, false));
                    }
                    let cfg = &settings.config;
                    output.latent = Some(rt.code_usage.push(&z, &h, cfg.stoch, cfg.classes));
                    let scoring = output.strip.as_ref().is_some_and(|s| s.awaits_reals(tick));
                    if rt.strip.is_none() && !dreaming && !scoring {
                        rt.strip = Some(StripBuilder::new(tick, state, next_action.clone()));
                    }
                }
                Err(e) => {
                    output.last_error = Some(format!("prediction: {e}"));
                }
            }
        }

        if let Some(builder) = rt.strip.as_mut() {
            builder.see_real(tick, &frame);
        }
        let out = &mut *output;
        if let Some(strip) = out.strip.as_mut()
            && strip.score(tick, &frame)
            && strip.is_scored()
        {
            out.horizons.push(strip);
        }

        let step = Step {
            tick,
            frame: frame.clone(),
            action: next_action,
            first: !ready.contiguous,
        };
        record_step(rt, &settings, &mut output, &mut notices, &step);
        if send && let Some(engine) = &rt.engine {
            if engine.trainer.send_step(step) {
                output.sent += 1;
            } else {
                output.dropped += 1;
            }
        }
        rt.last_frame = Some((tick, frame));
    }
}

/// Advances the dream strip by one imagined frame; when it has all of them, publishes it.
pub(crate) fn build_strip(
    mut runtime: ResMut<WorldModelRuntime>,
    mut output: ResMut<WorldModelOutput>,
) {
    let rt = &mut *runtime;
    let (Some(engine), Some(builder)) = (rt.engine.as_mut(), rt.strip.as_mut()) else {
        return;
    };
    match engine.infer(|p| p.rollout_step(&builder.state, &builder.action)) {
        Ok((next, frame)) => {
            builder.state = next;
            builder.frames.push(frame);
        }
        Err(e) => {
            output.last_error = Some(format!("dream strip: {e}"));
            rt.strip = None;
            return;
        }
    }
    if builder.is_done()
        && let Some(builder) = rt.strip.take()
    {
        let strip = builder.finish();
        rt.show_strip = Frame::grid(std::slice::from_ref(&strip.frames), 0);
        if strip.is_scored() {
            output.horizons.push(&strip);
        }
        output.strip = Some(strip);
    }
}

/// The pure dream: from the last observed state, roll forward on the prior with the live
/// actions up to the current tick. Real frames still score the dream as they arrive.
pub(crate) fn dream(
    clock: Res<ModelClock>,
    settings: Res<WorldModelSettings>,
    mut runtime: ResMut<WorldModelRuntime>,
    mut output: ResMut<WorldModelOutput>,
) {
    let rt = &mut *runtime;
    let Some(engine) = rt.engine.as_mut() else {
        return;
    };
    if engine.predictor.state().is_none() {
        return; // waits for a real frame (start, or after a reset)
    }
    let from = match rt.dream_tick {
        Some(t) => t,
        None => match &rt.last_frame {
            Some((t, _)) => *t,
            None => return,
        },
    };
    let start = Instant::now();
    let mut tick = from;
    while tick < clock.tick {
        let Some(action) = rt.actions.get(tick + 1).cloned() else {
            break;
        };
        let temperature = settings.temperature;
        match engine.infer(|p| p.dream_step(&action, temperature)) {
            Ok(Some(frame)) => {
                rt.show_prediction = Some(frame.clone());
                rt.predictions.insert(tick + 1, (frame, true));
                output.dream_ticks += 1;
            }
            Ok(None) => break,
            Err(e) => {
                output.last_error = Some(format!("dream: {e}"));
                break;
            }
        }
        tick += 1;
    }
    if tick > from {
        output.infer_ms = start.elapsed().as_secs_f32() * 1000.0 / (tick - from) as f32;
    }
    rt.dream_tick = Some(tick);
}

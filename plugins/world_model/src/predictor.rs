//! Inference for the game loop: filter real frames into a latent state, predict the next frame,
//! and imagine open-loop rollouts in latent space.

use burn::prelude::*;

use crate::config::WorldModelConfig;
use crate::frame::{Frame, frames_to_tensor, tensor_to_frames};
use crate::heads::Outlook;
use crate::model::WorldModel;
use crate::rssm::{Draw, Latent};

/// A model without autodiff plus the latent state of one stream of frames.
///
/// Call [`observe`](Self::observe) with every real frame and the action that led to it,
/// [`predict_next`](Self::predict_next) with the action about to be taken; swap in new weights
/// from the trainer with [`set_model`](Self::set_model) at any time without losing the state.
#[derive(Debug)]
pub struct Predictor {
    model: WorldModel,
    cfg: WorldModelConfig,
    device: Device,
    state: Option<Latent>,
    draw: Draw,
    /// `h_{t+1}` computed by the last prediction, with the action it assumed, reused by the
    /// next `observe` when the same action was taken.
    cached_transition: Option<(Vec<f32>, Tensor<2>)>,
    /// The prior state of the last prediction (what the heads read for the next tick).
    predicted: Option<Latent>,
}

/// An open-loop rollout: one frame and one [`Outlook`] per imagined step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rollout {
    /// The imagined frames.
    pub frames: Vec<Frame>,
    /// The predicted reward and continue probability of each imagined step.
    pub outlook: Vec<Outlook>,
}

/// A predicted frame and the heads' outlook for its tick, still on the device (see
/// [`Predictor::predict_next_deferred`]).
#[derive(Debug, Clone)]
pub struct PendingFrame {
    frame: Tensor<4>,
    reward: Tensor<1>,
    cont: Tensor<1>,
}

impl PendingFrame {
    /// Reads the frame back (waits for the device when its work is not done yet).
    pub fn read(self) -> Frame {
        tensor_to_frames(self.frame)
            .pop()
            .expect("one state decodes to one frame")
    }

    /// Reads the frame and the predicted reward and continue probability of its tick.
    pub fn read_with_outlook(self) -> (Frame, Outlook) {
        let scalar = |t: Tensor<1>| {
            t.into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .ok()
                .and_then(|v| v.first().copied())
                .unwrap_or(f32::NAN)
        };
        let outlook = Outlook {
            reward: scalar(self.reward.clone()),
            cont: scalar(self.cont.clone()),
        };
        (self.read(), outlook)
    }
}

/// An error in the inputs of a [`Predictor`] call.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PredictError {
    /// The frame's size is not the model's.
    #[error("frame is {got_w}x{got_h}, the model expects {want_w}x{want_h}")]
    FrameSize {
        /// Frame width.
        got_w: usize,
        /// Frame height.
        got_h: usize,
        /// Model width.
        want_w: usize,
        /// Model height.
        want_h: usize,
    },
    /// The action vector's length is not the model's.
    #[error("action has {got} values, the model expects {want}")]
    ActionSize {
        /// Given length.
        got: usize,
        /// Expected length.
        want: usize,
    },
    /// The action contains NaN or infinity.
    #[error("action contains a non-finite value: {0:?}")]
    NonFinite(Vec<f32>),
}

impl Predictor {
    /// Wraps an inference model (for example `trainer_model.valid()`).
    pub fn new(model: WorldModel, cfg: WorldModelConfig, device: Device) -> Self {
        Self {
            model,
            cfg,
            device,
            state: None,
            draw: Draw::Mode,
            cached_transition: None,
            predicted: None,
        }
    }

    /// How latent states are drawn when predicting: the most likely class of each variable
    /// (`Draw::Mode`, deterministic, the default) or a random sample (`Draw::Sample`, what the
    /// decoder saw in training).
    pub fn set_draw(&mut self, draw: Draw) {
        self.draw = draw;
    }

    /// Replaces the weights, keeping the latent state (the next step uses the new weights).
    pub fn set_model(&mut self, model: WorldModel) {
        self.model = model;
        self.cached_transition = None;
    }

    /// The model's config.
    pub fn config(&self) -> &WorldModelConfig {
        &self.cfg
    }

    /// Forgets the latent state: the next frame starts a new episode.
    pub fn reset(&mut self) {
        self.state = None;
        self.cached_transition = None;
        self.predicted = None;
    }

    /// The predicted reward and continue probability of the tick the last
    /// [`predict_next`](Self::predict_next) predicted (one device sync). `None` before a
    /// prediction, or after a reset.
    pub fn next_outlook(&self) -> Option<Outlook> {
        self.predicted.as_ref().map(|s| self.outlook(s))
    }

    /// The agent's decision at `state`: a probability per action of the config's
    /// `agent.actions`, and the critic's value of the state, read in one device sync.
    /// `None` when the model has no agent.
    pub fn decide(&self, state: &Latent) -> Option<(Vec<f32>, f32)> {
        let behavior = self.model.behavior.as_ref()?;
        let features = state.features();
        let probs = behavior
            .policy(features.clone(), self.cfg.agent.unimix)
            .reshape([-1]);
        let both = Tensor::cat(vec![probs, behavior.value(features)], 0);
        let mut values = both.into_data().convert::<f32>().try_to_vec::<f32>().ok()?;
        let value = values.pop()?;
        Some((values, value))
    }

    /// [`decide`](Self::decide) at the state that `actions` lead to from `state` on the prior
    /// alone (latent only, nothing decoded). A game reads its frames back ticks after they
    /// were rendered; rolling the newest posterior through the actions taken since decides
    /// for now, the state the actor learned to act in, instead of for a view a few ticks old.
    /// Bad actions are refused before any work.
    pub fn decide_after(
        &self,
        state: &Latent,
        actions: &[Vec<f32>],
    ) -> Result<Option<(Vec<f32>, f32)>, PredictError> {
        for a in actions {
            self.check_action(a)?;
        }
        if self.model.behavior.is_none() {
            return Ok(None);
        }
        let mut now = Latent {
            frame: None,
            ..state.clone()
        };
        for a in actions {
            now = self
                .model
                .imagine_step(&now, self.action_tensor(a), self.draw);
        }
        Ok(self.decide(&now))
    }

    /// The agent's policy at `state` (see [`decide`](Self::decide)).
    pub fn policy(&self, state: &Latent) -> Option<Vec<f32>> {
        self.decide(state).map(|(probs, _)| probs)
    }

    /// The agent's critic's value of `state` (see [`decide`](Self::decide)).
    pub fn value(&self, state: &Latent) -> Option<f32> {
        self.decide(state).map(|(_, value)| value)
    }

    /// What the reward and continue heads say of `state` (one device sync).
    pub fn outlook(&self, state: &Latent) -> Outlook {
        self.model
            .heads
            .outlook(state.features())
            .pop()
            .unwrap_or_default()
    }

    /// The current posterior state, if any frame was observed since the last reset.
    pub fn state(&self) -> Option<&Latent> {
        self.state.as_ref()
    }

    /// Filters one real frame into the state: `h_t` from the previous state and
    /// `prev_action` (the action taken between the previous frame and this one; ignored after
    /// a reset), then `z_t` from the posterior. Returns the new state.
    pub fn observe(&mut self, obs: &Frame, prev_action: &[f32]) -> Result<Latent, PredictError> {
        self.check_frame(obs)?;
        self.check_action(prev_action)?;
        let x = frames_to_tensor(&[obs], &self.device);
        let embed = self.model.encoder.forward(x.clone());
        let h = match (&self.state, self.cached_transition.take()) {
            (None, _) => {
                let start = Latent::zeros(&self.cfg, 1, &self.device);
                let zero = Tensor::zeros([1, self.cfg.action_dim], &self.device);
                self.model.rssm.transition(&start, zero)
            }
            (Some(_), Some((a, h))) if a == prev_action => h,
            (Some(prev), _) => self
                .model
                .rssm
                .transition(prev, self.action_tensor(prev_action)),
        };
        let z = self
            .model
            .rssm
            .draw(self.model.rssm.post_logp(h.clone(), embed), self.draw);
        let frame = self.cfg.residual.then_some(x);
        let state = Latent { h, z, frame };
        self.state = Some(state.clone());
        Ok(state)
    }

    /// Predicts the frame that follows the current state when `action` is taken, with the
    /// prior only. `None` before the first observation.
    pub fn predict_next(&mut self, action: &[f32]) -> Result<Option<Frame>, PredictError> {
        Ok(self.predict_next_deferred(action)?.map(PendingFrame::read))
    }

    /// [`predict_next`](Self::predict_next) without the readback: the work is queued on the
    /// device and the frame is read when [`PendingFrame::read`] is called. On a GPU, reading
    /// it a frame later lets the device finish while the game goes on instead of stalling
    /// the frame on a synchronisation.
    pub fn predict_next_deferred(
        &mut self,
        action: &[f32],
    ) -> Result<Option<PendingFrame>, PredictError> {
        self.check_action(action)?;
        let Some(state) = self.state.clone() else {
            return Ok(None);
        };
        let h = self
            .model
            .rssm
            .transition(&state, self.action_tensor(action));
        self.cached_transition = Some((action.to_vec(), h.clone()));
        let z = self
            .model
            .rssm
            .draw(self.model.rssm.prior_logp(h.clone()), self.draw);
        let next = Latent { h, z, frame: None };
        let frame = self.model.next_frame(state.frame.as_ref(), &next);
        let (reward, cont) = self.model.heads.predict(next.features());
        self.predicted = Some(next);
        Ok(Some(PendingFrame {
            frame,
            reward,
            cont,
        }))
    }

    /// Open-loop rollout from `start` (or the current state): one predicted frame per action,
    /// in latent space with the prior only; predicted pixels are never re-encoded.
    pub fn imagine(
        &self,
        start: Option<&Latent>,
        actions: &[Vec<f32>],
    ) -> Result<Vec<Frame>, PredictError> {
        Ok(self.imagine_rollout(start, actions)?.frames)
    }

    /// [`imagine`](Self::imagine) with what the heads say of each imagined step: the reward
    /// of arriving there and the probability that the episode goes on after it.
    pub fn imagine_rollout(
        &self,
        start: Option<&Latent>,
        actions: &[Vec<f32>],
    ) -> Result<Rollout, PredictError> {
        for a in actions {
            self.check_action(a)?;
        }
        let Some(mut state) = start.or(self.state.as_ref()).cloned() else {
            return Ok(Rollout::default());
        };
        if actions.is_empty() {
            return Ok(Rollout::default());
        }
        let mut frames = Vec::with_capacity(actions.len());
        let mut features = Vec::with_capacity(actions.len());
        for a in actions {
            state = self
                .model
                .imagine_step(&state, self.action_tensor(a), self.draw);
            features.push(state.features());
            // A residual model decodes each step from the last (in imagine_step).
            if let Some(frame) = &state.frame {
                frames.push(frame.clone());
            }
        }
        let features = Tensor::cat(features, 0);
        let frames = if frames.is_empty() {
            // The others decode the whole rollout in one batch.
            self.model.decoder.forward(features.clone())
        } else {
            Tensor::cat(frames, 0)
        };
        Ok(Rollout {
            frames: tensor_to_frames(frames),
            outlook: self.model.heads.outlook(features),
        })
    }

    /// Advances the current state one step in latent space with the prior only (the pure
    /// dream: no pixels are read) and returns the decoded frame. `temperature` scales the
    /// prior's log-probabilities before sampling: 1 samples the prior as learned, below 1 is
    /// sharper and more deterministic (0 takes the most likely class), above 1 is wilder.
    /// `None` before the first observation.
    pub fn dream_step(
        &mut self,
        action: &[f32],
        temperature: f32,
    ) -> Result<Option<Frame>, PredictError> {
        self.check_action(action)?;
        let Some(state) = self.state.take() else {
            return Ok(None);
        };
        self.cached_transition = None;
        self.predicted = None;
        let h = self
            .model
            .rssm
            .transition(&state, self.action_tensor(action));
        let logp = self.model.rssm.prior_logp(h.clone());
        let z = if temperature.is_finite() && temperature > 1e-3 {
            self.model
                .rssm
                .draw(logp.div_scalar(temperature), Draw::Sample)
        } else {
            self.model.rssm.draw(logp, Draw::Mode)
        };
        let mut next = Latent { h, z, frame: None };
        let frame = self.model.next_frame(state.frame.as_ref(), &next);
        if state.frame.is_some() {
            next.frame = Some(frame.clone());
        }
        self.state = Some(next);
        Ok(tensor_to_frames(frame).pop())
    }

    /// One open-loop step from `state` (not the current state, which is left alone): the
    /// next latent on the prior and its decoded frame. For rollouts spread over several
    /// frames, such as a dream strip built one step per tick.
    pub fn rollout_step(
        &self,
        state: &Latent,
        action: &[f32],
    ) -> Result<(Latent, Frame), PredictError> {
        self.check_action(action)?;
        let next = self
            .model
            .imagine_step(state, self.action_tensor(action), self.draw);
        let frame = tensor_to_frames(self.model.decode(&next))
            .pop()
            .expect("one state decodes to one frame");
        Ok((next, frame))
    }

    /// Decodes the current posterior state (a reconstruction, for debugging views; a
    /// residual model's state carries its real frame, which this returns).
    pub fn reconstruct(&self) -> Option<Frame> {
        let state = self.state.as_ref()?;
        tensor_to_frames(self.model.decode(state)).pop()
    }

    fn action_tensor(&self, action: &[f32]) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(action.to_vec(), [1, action.len()]),
            &self.device,
        )
    }

    fn check_frame(&self, f: &Frame) -> Result<(), PredictError> {
        if f.width != self.cfg.width || f.height != self.cfg.height {
            return Err(PredictError::FrameSize {
                got_w: f.width,
                got_h: f.height,
                want_w: self.cfg.width,
                want_h: self.cfg.height,
            });
        }
        Ok(())
    }

    fn check_action(&self, a: &[f32]) -> Result<(), PredictError> {
        if a.len() != self.cfg.action_dim {
            return Err(PredictError::ActionSize {
                got: a.len(),
                want: self.cfg.action_dim,
            });
        }
        if a.iter().any(|v| !v.is_finite()) {
            return Err(PredictError::NonFinite(a.to_vec()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::ScrollWorld;

    fn predictor() -> Predictor {
        predictor_with(false)
    }

    fn predictor_with(residual: bool) -> Predictor {
        let cfg = WorldModelConfig {
            residual,
            width: 16,
            height: 16,
            cnn_depth: 4,
            deter: 16,
            stoch: 4,
            classes: 4,
            hidden: 16,
            ..WorldModelConfig::plain()
        };
        let device = Device::flex();
        device.seed(3);
        Predictor::new(WorldModel::new(&cfg, &device), cfg, device)
    }

    #[test]
    fn a_cold_dream_at_temperature_zero_is_the_open_loop_rollout() {
        let mut p = predictor();
        let mut world = ScrollWorld::new(16, 1);
        let a = [0.5, -0.2, 0.1];
        assert_eq!(p.dream_step(&a, 0.0).unwrap(), None, "no state yet");
        p.observe(&world.render(), &[0.0; 3]).unwrap();
        world.act(&a);
        p.observe(&world.render(), &a).unwrap();
        let open_loop = p.imagine(None, &[a.to_vec(), a.to_vec()]).unwrap();
        let start = p.state().unwrap().clone();
        let first = p.dream_step(&a, 0.0).unwrap().unwrap();
        let second = p.dream_step(&a, 0.0).unwrap().unwrap();
        assert_eq!(vec![first, second], open_loop.clone());
        let (next, step1) = p.rollout_step(&start, &a).unwrap();
        let (_, step2) = p.rollout_step(&next, &a).unwrap();
        assert_eq!(
            vec![step1, step2],
            open_loop,
            "rollout steps are the open loop"
        );
    }

    /// A fresh residual model starts at the copy-last-frame baseline: its prediction, its
    /// dream and its rollouts are the last real frame (to the byte once quantised).
    #[test]
    fn a_fresh_residual_model_predicts_the_last_frame() {
        let mut p = predictor_with(true);
        let mut world = ScrollWorld::new(16, 4);
        let a = [0.5, 0.0, 0.2];
        p.observe(&world.render(), &[0.0; 3]).unwrap();
        world.act(&a);
        let last = world.render();
        p.observe(&last, &a).unwrap();
        assert_eq!(p.predict_next(&a).unwrap().unwrap(), last);
        let rollout = p
            .imagine(None, &[a.to_vec(), a.to_vec(), a.to_vec()])
            .unwrap();
        assert_eq!(rollout, vec![last.clone(), last.clone(), last.clone()]);
        assert_eq!(p.dream_step(&a, 1.0).unwrap().unwrap(), last);
        // Without the residual path the same fresh network draws something else.
        let mut plain = predictor_with(false);
        plain.observe(&last, &[0.0; 3]).unwrap();
        assert_ne!(plain.predict_next(&a).unwrap().unwrap(), last);
    }

    /// A trained residual model's open loop decodes each step from the one before, the same
    /// in `imagine`, `dream_step` and `rollout_step`.
    #[test]
    fn residual_rollouts_agree_across_the_three_paths() {
        let mut p = predictor_with(true);
        // Perturb the zeroed output layer so the changes are not all zero.
        let device = Device::flex();
        let mut model = WorldModel::new(&p.cfg, &device);
        model.decoder = WorldModel::new(
            &WorldModelConfig {
                residual: false,
                ..p.cfg.clone()
            },
            &device,
        )
        .decoder;
        p.set_model(model);
        let mut world = ScrollWorld::new(16, 5);
        let a = [0.3, 0.1, -0.2];
        p.observe(&world.render(), &[0.0; 3]).unwrap();
        world.act(&a);
        p.observe(&world.render(), &a).unwrap();
        let open_loop = p.imagine(None, &[a.to_vec(), a.to_vec()]).unwrap();
        assert_ne!(open_loop[0], open_loop[1], "each step changes the frame");
        let start = p.state().unwrap().clone();
        let (next, step1) = p.rollout_step(&start, &a).unwrap();
        let (_, step2) = p.rollout_step(&next, &a).unwrap();
        assert_eq!(vec![step1, step2], open_loop);
        let first = p.dream_step(&a, 0.0).unwrap().unwrap();
        let second = p.dream_step(&a, 0.0).unwrap().unwrap();
        assert_eq!(vec![first, second], open_loop);
    }

    /// A prediction read a tick later is the one read at once, and the state it leaves
    /// (the cached transition the next `observe` reuses) is the same.
    #[test]
    fn a_deferred_prediction_is_the_prediction() {
        let mut now = predictor();
        let mut later = Predictor::new(now.model.clone(), now.cfg.clone(), now.device.clone());
        let mut world = ScrollWorld::new(16, 6);
        let mut prev = [0.0; 3];
        for i in 0..4 {
            let a = [0.4, -0.1 * i as f32, 0.2];
            let frame = world.render();
            now.observe(&frame, &prev).unwrap();
            later.observe(&frame, &prev).unwrap();
            let pending = later.predict_next_deferred(&a).unwrap().unwrap();
            let direct = now.predict_next(&a).unwrap().unwrap();
            world.act(&a);
            assert_eq!(pending.read(), direct, "step {i}");
            prev = a;
        }
    }

    #[test]
    fn dreaming_rejects_bad_actions_and_keeps_the_state() {
        let mut p = predictor();
        p.observe(&ScrollWorld::new(16, 2).render(), &[0.0; 3])
            .unwrap();
        assert!(matches!(
            p.dream_step(&[f32::NAN, 0.0, 0.0], 1.0),
            Err(PredictError::NonFinite(_))
        ));
        assert!(
            p.state().is_some(),
            "a rejected action must not drop the state"
        );
        assert!(p.dream_step(&[0.0; 3], 1.5).unwrap().is_some());
    }

    #[test]
    fn deciding_after_actions_decides_at_the_state_they_lead_to() {
        let mut cfg = predictor().cfg.clone();
        cfg.agent.actions = vec![vec![1.0, 0.0, 0.0], vec![0.0, 0.0, 1.0]];
        let device = Device::flex();
        device.seed(5);
        let mut p = Predictor::new(WorldModel::new(&cfg, &device), cfg, device);
        p.set_draw(Draw::Mode);
        let world = ScrollWorld::new(16, 3);
        let state = p.observe(&world.render(), &[0.0; 3]).expect("observes");
        let actions = vec![vec![1.0, 0.0, 0.0], vec![0.0, 0.0, 1.0]];
        // No actions: the state itself.
        assert_eq!(p.decide_after(&state, &[]).unwrap(), p.decide(&state));
        // Two: the same as stepping the prior by hand.
        let mut by_hand = state.clone();
        for a in &actions {
            by_hand = p
                .model
                .imagine_step(&by_hand, p.action_tensor(a), Draw::Mode);
        }
        let after = p
            .decide_after(&state, &actions)
            .unwrap()
            .expect("has an agent");
        assert_eq!(Some(after.clone()), p.decide(&by_hand));
        assert_ne!(Some(after), p.decide(&state), "the actions moved the state");
        // A bad action is refused.
        assert!(p.decide_after(&state, &[vec![f32::NAN; 3]]).is_err());
    }
}

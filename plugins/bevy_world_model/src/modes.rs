//! The plugin's modes as Bevy `States`, so games can run systems `in_state(..)` or react to
//! `OnEnter(..)`.

use bevy::prelude::*;

/// Whether the trainer learns from the frames the camera sees.
#[derive(States, Default, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Learning {
    /// Transitions go to the trainer, which takes optimizer steps.
    #[default]
    On,
    /// Nothing is sent to the trainer and it takes no steps; prediction goes on.
    Paused,
}

/// What drives the model's latent state.
#[derive(States, Default, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DreamMode {
    /// Every real frame is filtered into the state; the model predicts the next one.
    #[default]
    Observing,
    /// The model no longer sees real frames: it rolls forward on its own prior, driven by
    /// the live actions, and the prediction image shows the dream.
    Dreaming,
}

/// Who chooses the actions: the game (a player, a script, an autopilot) or the agent that
/// learned inside the dream ([`AgentPolicy`](crate::AgentPolicy)). The plugin only keeps the
/// state, so that the dashboard and every system can see it; the game turns the policy into
/// its own actions while it is [`Driver::Agent`].
#[derive(States, Default, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Driver {
    /// The game's own input.
    #[default]
    Player,
    /// The agent learned in the dream.
    Agent,
}

//! SIGINT and SIGTERM: the game ends cleanly on either, through `AppExit`, so a recording is
//! flushed and a research run saves its weights first (see `research`). Bevy's own Ctrl+C
//! handler (`TerminalCtrlCHandlerPlugin`, which makes SIGINT an immediate `AppExit` and
//! leaves SIGTERM fatal) is left out of the app where this one is installed (Linux; see
//! `app::build`).
//!
//! The handler only notes the signal ([`signals`]); a system reads the note once a frame.
//! The exit status is the shell's for the signal: 130 for SIGINT, 143 for SIGTERM.

use bevy::prelude::*;
use bevy_world_model::world_model::signals::{self, Signal};

/// The first SIGINT or SIGTERM the game received, and who ends the app on it.
#[derive(Resource, Debug, Default)]
pub struct Interrupt {
    /// The signal, once seen (from the first frame after it arrived).
    pub signal: Option<Signal>,
    /// Another plugin ends the app on a signal, after work of its own (a research run saves
    /// `model.ckpt` first); otherwise the app exits in the frame the signal is seen.
    pub deferred: bool,
}

/// Notes SIGINT and SIGTERM and ends the app on them.
pub struct InterruptPlugin;

impl Plugin for InterruptPlugin {
    fn build(&self, app: &mut App) {
        if let Err(e) = signals::install() {
            warn!("cannot handle SIGINT and SIGTERM, they end the game at once: {e}");
        }
        app.init_resource::<Interrupt>().add_systems(First, watch);
    }
}

/// Notes the first signal; exits with its status unless the exit is [`Interrupt::deferred`].
fn watch(mut interrupt: ResMut<Interrupt>, mut exit: MessageWriter<AppExit>) {
    if interrupt.signal.is_some() {
        return;
    }
    let Some(signal) = signals::received() else {
        return;
    };
    interrupt.signal = Some(signal);
    if !interrupt.deferred {
        eprintln!("mini-dreamer: {} received; exiting", signal.name());
        exit.write(AppExit::from_code(signal.exit_code()));
    }
}

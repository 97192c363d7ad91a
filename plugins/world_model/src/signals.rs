//! SIGINT and SIGTERM as a flag that a long loop polls, so a run that is asked to stop can
//! save what it learned and exit cleanly instead of dying with nothing written.
//!
//! [`install`] sets a handler (Linux; elsewhere nothing is installed and the signals keep
//! their default action) that only stores the signal's number in a static atomic, the one
//! thing a signal handler may safely do. The training loop of `world-model-train` and the
//! game's frame loop read it with [`received`]. The handler is reset to the default action
//! once it ran (`SA_RESETHAND`): a second Ctrl+C ends the process at once, as a way out of
//! a save that hangs.

use std::sync::atomic::{AtomicI32, Ordering};

/// The first signal received (its number), 0 before.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// SIGINT's number (2 on every Unix).
const SIGINT: i32 = 2;
/// SIGTERM's number (15 on every Unix).
const SIGTERM: i32 = 15;

/// A request to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl+C).
    Interrupt,
    /// SIGTERM (`kill`, a service manager, a batch system's time limit).
    Terminate,
}

impl Signal {
    /// `SIGINT` or `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Interrupt => "SIGINT",
            Self::Terminate => "SIGTERM",
        }
    }

    /// The signal's number.
    pub fn number(self) -> i32 {
        match self {
            Self::Interrupt => SIGINT,
            Self::Terminate => SIGTERM,
        }
    }

    /// The exit status of a program that stopped on this signal: 128 plus its number (130
    /// for SIGINT, 143 for SIGTERM), as shells report a process killed by it.
    pub fn exit_code(self) -> u8 {
        128 + self.number() as u8
    }
}

/// Handles SIGINT and SIGTERM from now on by noting them for [`received`] (Linux; elsewhere
/// a no-op). Calling it again is harmless; a signal already noted stays noted.
pub fn install() -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed `sigaction` is a valid value (no flags, an empty mask, no
        // restorer); the handler is an `extern "C" fn(c_int)` that only stores to an atomic,
        // which is async-signal-safe; `sigaction` reads `action` and writes no old action.
        let result = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART | libc::SA_RESETHAND;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if result != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The signal handler: notes the first signal, nothing else.
#[cfg(target_os = "linux")]
extern "C" fn on_signal(signal: libc::c_int) {
    let _ = RECEIVED.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
}

/// The first SIGINT or SIGTERM received since [`install`], if any.
pub fn received() -> Option<Signal> {
    match RECEIVED.load(Ordering::SeqCst) {
        SIGINT => Some(Signal::Interrupt),
        SIGTERM => Some(Signal::Terminate),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_the_shells() {
        assert_eq!(Signal::Interrupt.exit_code(), 130);
        assert_eq!(Signal::Terminate.exit_code(), 143);
        #[cfg(target_os = "linux")]
        assert_eq!((libc::SIGINT, libc::SIGTERM), (SIGINT, SIGTERM));
    }
}

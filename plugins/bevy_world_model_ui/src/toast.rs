//! The newest [`WorldModelNotice`] as a toast under the status bar: a save, a load or an
//! error should be seen, but a notice that stayed up would read as the current state.
//!
//! [`Toast::showing`] decides what shows at a given time; [`keep_toast`] only feeds it.

use bevy::prelude::*;
use bevy_world_model::WorldModelNotice;

/// Seconds a toast stays up: long enough to read one line, short enough not to outlive
/// what it reports.
pub(crate) const TOAST_SECONDS: f64 = 5.0;

/// The newest notice and when it arrived (seconds since startup).
#[derive(Resource, Default, Debug)]
pub(crate) struct Toast(Option<(WorldModelNotice, f64)>);

impl Toast {
    /// Replaces the toast with `notice`, arrived at `now`: only the newest is worth showing.
    pub(crate) fn keep(&mut self, notice: WorldModelNotice, now: f64) {
        self.0 = Some((notice, now));
    }

    /// The notice to show at `now`: the newest one, if it arrived less than
    /// [`TOAST_SECONDS`] ago.
    pub(crate) fn showing(&self, now: f64) -> Option<&WorldModelNotice> {
        self.0
            .as_ref()
            .filter(|(_, at)| now - at < TOAST_SECONDS)
            .map(|(notice, _)| notice)
    }
}

/// Keeps the last notice of the frame.
pub(crate) fn keep_toast(
    mut toast: ResMut<Toast>,
    mut notices: MessageReader<WorldModelNotice>,
    time: Res<Time>,
) {
    if let Some(n) = notices.read().last() {
        toast.keep(n.clone(), time.elapsed_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(toast: &Toast, now: f64) -> Option<&str> {
        toast.showing(now).map(|n| n.text.as_str())
    }

    #[test]
    fn a_notice_shows_for_a_while_and_the_newest_replaces_it() {
        let mut t = Toast::default();
        assert_eq!(text(&t, 0.0), None);
        t.keep(WorldModelNotice::info("saved"), 1.0);
        assert_eq!(text(&t, 1.0), Some("saved"));
        assert_eq!(text(&t, 1.0 + TOAST_SECONDS - 0.01), Some("saved"));
        assert_eq!(text(&t, 1.0 + TOAST_SECONDS), None, "gone after the time");
        t.keep(WorldModelNotice::error("failed"), 10.0);
        assert_eq!(text(&t, 12.0), Some("failed"));
    }
}

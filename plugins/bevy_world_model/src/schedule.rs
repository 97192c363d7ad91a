//! The plugin's system sets, in the order they run each frame. Kept apart from the plugins
//! so that [`CapturePlugin`](crate::CapturePlugin) and [`WorldModelPlugin`](crate::WorldModelPlugin)
//! share them without importing each other.

use bevy::prelude::*;

/// Ordering hooks of the world-model plugins, in the order they run each frame.
///
/// `Tick`, `Capture` and `Follow` come with [`CapturePlugin`](crate::CapturePlugin); the
/// other `PostUpdate` sets with [`WorldModelPlugin`](crate::WorldModelPlugin), chained after
/// transform propagation.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum WorldModelSystems {
    /// `First`: advances [`ModelClock`](crate::ModelClock). Everything that tags data with a
    /// tick runs after it.
    Tick,
    /// `PreUpdate`: turns completed readbacks into [`FrameCaptured`](crate::FrameCaptured)
    /// messages and sets up newly tagged cameras. Readers of those messages run after it.
    Capture,
    /// `PostUpdate`, right after transform propagation and before Bevy computes cameras,
    /// frusta and visibility: moves each [`CaptureView`](crate::CaptureView) to its tagged
    /// camera's pose, so a frame shows the pose of the tick it is tagged with.
    Follow,
    /// `PostUpdate`, after transform propagation: takes the trainer's new weights and stats,
    /// then applies the game's commands (send them before this set).
    TrainSync,
    /// `PostUpdate`: records the tick's action, feeds frames to the model in tick order,
    /// scores predictions, runs the dream. Write [`WorldModelAction`](crate::WorldModelAction)
    /// before this set.
    Infer,
    /// `PostUpdate`: draws the prediction, heatmap and dream strip into
    /// [`ModelImages`](crate::ModelImages) and publishes diagnostics. Read the plugin's
    /// resources after this set.
    Present,
}

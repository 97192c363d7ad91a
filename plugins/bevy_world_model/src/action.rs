//! Actions: what moved the camera between two model ticks. A game may write its own vector in
//! [`WorldModelAction`]; otherwise the camera's ego-motion over the tick is the action.

use std::collections::BTreeMap;

use bevy::prelude::*;

use crate::capture::{ModelClock, WorldModelCamera};
use crate::settings::{EgoMotionScale, WorldModelSettings};
use crate::status::ModelStatus;

/// An action vector the game writes each tick: the action that led from the previous tick's
/// frame to this tick's. Its length should be the config's `action_dim` (extra values are
/// dropped, missing ones are zero). Without it, the camera's ego-motion is used.
#[derive(Component, Clone, Debug, Default, PartialEq)]
pub struct WorldModelAction(pub Vec<f32>);

/// The camera's motion between two poses, in the previous pose's frame, scaled by `scale`:
/// `[forward, strafe right, yaw left, pitch up, up]`, truncated or zero-padded to `dim`.
///
/// Bevy cameras look down -Z, so forward is -Z of the old pose; yaw is positive when turning
/// left (counter-clockwise seen from above), as `Transform::rotate_y` with a positive angle.
pub fn ego_motion(
    prev: &GlobalTransform,
    curr: &GlobalTransform,
    scale: EgoMotionScale,
    dim: usize,
) -> Vec<f32> {
    let (_, prev_rot, prev_pos) = prev.to_scale_rotation_translation();
    let (_, curr_rot, curr_pos) = curr.to_scale_rotation_translation();
    let local = prev_rot.inverse() * (curr_pos - prev_pos);
    let (prev_yaw, prev_pitch, _) = prev_rot.to_euler(EulerRot::YXZ);
    let (curr_yaw, curr_pitch, _) = curr_rot.to_euler(EulerRot::YXZ);
    let t = scale.translation.max(1e-6);
    let r = scale.rotation.max(1e-6);
    let full = [
        -local.z / t,
        local.x / t,
        wrap_angle(curr_yaw - prev_yaw) / r,
        wrap_angle(curr_pitch - prev_pitch) / r,
        local.y / t,
    ];
    (0..dim)
        .map(|i| full.get(i).copied().unwrap_or(0.0))
        .collect()
}

/// An angle difference folded into `(-pi, pi]`.
fn wrap_angle(a: f32) -> f32 {
    use std::f32::consts::{PI, TAU};
    let a = a.rem_euclid(TAU);
    if a > PI { a - TAU } else { a }
}

/// Fits a game-written action to `dim` values, replacing non-finite ones with 0.
pub(crate) fn fit_action(v: &[f32], dim: usize) -> Vec<f32> {
    (0..dim)
        .map(|i| v.get(i).copied().filter(|x| x.is_finite()).unwrap_or(0.0))
        .collect()
}

/// The action of each recent tick: `actions[t]` led from the frame of `t - 1` to that of `t`.
/// Frames arrive a few ticks late, so the log keeps the last [`ActionLog::KEEP`] ticks.
#[derive(Resource, Debug, Default)]
pub(crate) struct ActionLog {
    actions: BTreeMap<u64, Vec<f32>>,
    last_pose: Option<GlobalTransform>,
    /// The tagged camera the model follows (the first one found; another when it goes).
    pub camera: Option<Entity>,
    /// The tick whose action was recorded last (one action per tick).
    last_tick: Option<u64>,
}

impl ActionLog {
    /// Ticks of history kept (a few seconds at 60 fps; readback lags 1-3 ticks).
    pub const KEEP: u64 = 256;

    /// Records the action of `tick`.
    pub fn record(&mut self, tick: u64, action: Vec<f32>) {
        self.actions.insert(tick, action);
        while self.actions.len() as u64 > Self::KEEP {
            self.actions.pop_first();
        }
    }

    /// The action of `tick`, if recorded.
    pub fn get(&self, tick: u64) -> Option<&Vec<f32>> {
        self.actions.get(&tick)
    }

    /// Swaps in the camera's pose at this tick and returns the previous one.
    pub fn swap_pose(&mut self, pose: GlobalTransform) -> Option<GlobalTransform> {
        self.last_pose.replace(pose)
    }
}

/// Records, once per tick, the action that led to this tick's frame: the game's
/// [`WorldModelAction`] when the camera has one, else its ego-motion since the last tick.
pub(crate) fn record_actions(
    clock: Res<ModelClock>,
    settings: Res<WorldModelSettings>,
    status: Res<ModelStatus>,
    mut log: ResMut<ActionLog>,
    cameras: Query<(Entity, &GlobalTransform, Option<&WorldModelAction>), With<WorldModelCamera>>,
) {
    if log.camera.is_none_or(|c| !cameras.contains(c)) {
        log.camera = cameras.iter().next().map(|(e, ..)| e);
    }
    let Some(Ok((_, pose, game_action))) = log.camera.map(|c| cameras.get(c)) else {
        return;
    };
    if log.last_tick == Some(clock.tick) {
        return;
    }
    log.last_tick = Some(clock.tick);
    let dim = status.config().action_dim;
    let previous = log.swap_pose(*pose);
    let action = match (game_action, previous) {
        (Some(a), _) => fit_action(&a.0, dim),
        (None, Some(prev)) => ego_motion(&prev, pose, settings.ego_motion, dim),
        (None, None) => vec![0.0; dim],
    };
    log.record(clock.tick, action);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCALE: EgoMotionScale = EgoMotionScale {
        translation: 0.5,
        rotation: 0.1,
    };

    fn pose(t: Transform) -> GlobalTransform {
        GlobalTransform::from(t)
    }

    #[test]
    fn walking_forward_and_strafing_read_in_the_camera_frame() {
        // Facing +X (yaw -90 degrees): world +X is forward, world +Z is right.
        let facing_x =
            Transform::from_rotation(Quat::from_rotation_y(-std::f32::consts::FRAC_PI_2));
        let a = pose(facing_x);
        let b = pose(facing_x.with_translation(Vec3::new(0.5, 0.0, 0.25)));
        let v = ego_motion(&a, &b, SCALE, 3);
        assert!((v[0] - 1.0).abs() < 1e-5, "forward {v:?}");
        assert!((v[1] - 0.5).abs() < 1e-5, "strafe {v:?}");
        assert!(v[2].abs() < 1e-5, "no turn {v:?}");
    }

    #[test]
    fn turning_left_is_positive_yaw_and_wraps_around() {
        let a = pose(Transform::from_rotation(Quat::from_rotation_y(3.1)));
        let b = pose(Transform::from_rotation(Quat::from_rotation_y(3.1 + 0.05)));
        let v = ego_motion(&a, &b, SCALE, 5);
        assert!((v[2] - 0.5).abs() < 1e-3, "yaw across +-pi {v:?}");
        assert_eq!(v.len(), 5);
        assert!(v[3].abs() < 1e-4 && v[4].abs() < 1e-5);
    }

    #[test]
    fn game_actions_are_fitted_to_the_model() {
        assert_eq!(fit_action(&[1.0, f32::NAN], 3), vec![1.0, 0.0, 0.0]);
        assert_eq!(fit_action(&[1.0, 2.0, 3.0, 4.0], 2), vec![1.0, 2.0]);
    }

    #[test]
    fn the_log_is_bounded() {
        let mut log = ActionLog::default();
        for t in 0..1000 {
            log.record(t, vec![t as f32]);
        }
        assert!(log.get(1000 - ActionLog::KEEP - 1).is_none());
        assert_eq!(log.get(999), Some(&vec![999.0]));
    }
}

//! How big the central panel's images are, from the room the panel has, so the dashboard
//! fits any window: the camera's view and the prediction side by side, the dream strip as
//! wide as the two under them, the error heatmap and the minimap in a column to their right.
//!
//! The view takes the largest scale at which its column fits the panel's height and leaves a
//! side column about [`SIDE_SHARE`] of a view wide; a fitted scale of 2 or more is rounded
//! down to a whole number, so every captured pixel shows as the same square. The side column
//! takes the width left over, up to what its height allows and never larger than the view.
//! [`central`] is pure, so the rule is tested without a window.

use bevy_egui::egui;
use bevy_world_model::strip::HORIZON;

/// The side column's width, as a share of one view, when the room has to be shared.
pub(crate) const SIDE_SHARE: f32 = 0.75;

/// The smallest scale the view is shown at: below it, the panel clips instead.
pub(crate) const MIN_SCALE: f32 = 0.25;

/// Room a legend's two labels take beside its colour bar (points).
const LEGEND_LABELS: f32 = 110.0;

/// What the central panel shows, as far as its layout goes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Content {
    /// The tagged camera's capture size in pixels; `None` when no capture is shown yet.
    pub capture: Option<egui::Vec2>,
    /// The model's prediction beside the view and the dream strip with its scores below.
    pub model: bool,
    /// The error heatmap in the side column.
    pub heatmap: bool,
    /// The minimap in the side column.
    pub minimap: bool,
    /// The largest display scale of the view ([`UiSettings::scale`](crate::UiSettings::scale)),
    /// `None`: as large as the room allows.
    pub max_scale: Option<f32>,
}

/// The text metrics the layout reserves room for, read from the egui style.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Metrics {
    /// One line of text or one grid row, with the spacing after it.
    pub line: f32,
    /// Spacing between widgets: `x` between columns, `y` after each widget.
    pub gap: egui::Vec2,
}

impl Metrics {
    /// The metrics of `ui`'s style.
    pub(crate) fn of(ui: &egui::Ui) -> Self {
        let spacing = ui.spacing();
        let text = ui.text_style_height(&egui::TextStyle::Body);
        Self {
            line: text.max(spacing.interact_size.y) + spacing.item_spacing.y,
            gap: spacing.item_spacing,
        }
    }
}

/// The sizes of everything in the central panel, in points; zero for what is not shown.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub(crate) struct Sizes {
    /// The view and the prediction, each.
    pub view: egui::Vec2,
    /// The width of the images column: the view (and the prediction) with its gap.
    pub column: f32,
    /// The whole dream strip, as wide as the column.
    pub strip: egui::Vec2,
    /// The error heatmap.
    pub heatmap: egui::Vec2,
    /// The width of the heatmap legend's colour bar.
    pub legend: f32,
    /// The minimap's side (it is square).
    pub minimap: f32,
}

/// A fitted scale as shown: whole numbers from 2 up, so each captured pixel is an equal
/// square; below 2 as it is (a whole number would waste too much room).
fn crisp(scale: f32) -> f32 {
    if scale >= 2.0 { scale.floor() } else { scale }
}

/// The sizes for `content` in a panel of `room` points.
pub(crate) fn central(room: egui::Vec2, content: Content, m: Metrics) -> Sizes {
    let side = content.heatmap || content.minimap;
    let mut sizes = Sizes::default();
    // The side column's room: the panel's, less the images column's width, or less one line
    // when there is no view (the images column is then a line of text above the side one).
    let mut side_room = room;
    // The side column's images are never shown larger than the view.
    let (mut side_scale, mut side_max) = (f32::INFINITY, f32::INFINITY);
    if let Some(capture) = content.capture {
        let (w, h) = (capture.x.max(1.0), capture.y.max(1.0));
        let views = if content.model { 2.0 } else { 1.0 };
        let between = (views - 1.0) * m.gap.x;
        let horizon = HORIZON as f32;
        // The column's height without its images (the view's label and the spacing after
        // it; with the model, the strip's label and its three rows of scores), and the
        // strip's height per unit of scale: as wide as the column, it grows with it.
        let (mut fixed, mut strip_per_scale) = (m.line + m.gap.y, 0.0);
        if content.model {
            fixed += 4.0 * m.line + m.gap.y + between * h / (horizon * w);
            strip_per_scale = views * h / horizon;
        }
        let by_height = (room.y - fixed) / (h + strip_per_scale);
        let (share, side_gap) = if side {
            (SIDE_SHARE, m.gap.x)
        } else {
            (0.0, 0.0)
        };
        let by_width = (room.x - between - side_gap) / (w * (views + share));
        let fit = by_height.min(by_width);
        let scale = match content.max_scale {
            Some(max) if max <= fit => max,
            _ => crisp(fit),
        }
        .max(MIN_SCALE);
        sizes.view = egui::vec2(w, h) * scale;
        (side_scale, side_max) = (scale, sizes.view.max_elem());
        sizes.column = views * sizes.view.x + between;
        if content.model {
            sizes.strip = egui::vec2(sizes.column, sizes.column * h / (horizon * w));
        }
        side_room.x = room.x - sizes.column - side_gap;
    } else {
        side_room.y = room.y - m.line;
    }
    let side_w = side_room.x.max(0.0);
    let capture = content.capture.unwrap_or(egui::vec2(1.0, 1.0));
    let (w, h) = (capture.x.max(1.0), capture.y.max(1.0));
    // Each shown item is a label line, its image and the spacing after it; the heatmap also
    // has its legend line.
    let heat_fixed = 2.0 * m.line + m.gap.y;
    let mini_fixed = m.line + m.gap.y;
    match (content.heatmap, content.minimap) {
        (true, true) => {
            let images = side_room.y - heat_fixed - mini_fixed;
            let r = crisp((side_w / w).min(images / 2.0 / h))
                .min(side_scale)
                .max(MIN_SCALE);
            sizes.heatmap = egui::vec2(w, h) * r;
            sizes.minimap = side_w.min(images - sizes.heatmap.y).min(side_max).max(0.0);
        }
        (true, false) => {
            let r = crisp((side_w / w).min((side_room.y - heat_fixed) / h))
                .min(side_scale)
                .max(MIN_SCALE);
            sizes.heatmap = egui::vec2(w, h) * r;
        }
        (false, true) => {
            sizes.minimap = side_w.min(side_room.y - mini_fixed).min(side_max).max(0.0);
        }
        (false, false) => {}
    }
    if content.heatmap {
        sizes.legend = (side_w - LEGEND_LABELS).clamp(40.0, 120.0);
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: Metrics = Metrics {
        line: 21.0,
        gap: egui::Vec2::new(8.0, 3.0),
    };

    fn everything(capture: egui::Vec2) -> Content {
        Content {
            capture: Some(capture),
            model: true,
            heatmap: true,
            minimap: true,
            max_scale: None,
        }
    }

    /// The images column's height and the side column's, as `central` reserves them.
    fn heights(s: &Sizes) -> (f32, f32) {
        let column = M.line + s.view.y + M.gap.y + 4.0 * M.line + s.strip.y + M.gap.y;
        let side = 3.0 * M.line + s.heatmap.y + s.minimap + 2.0 * M.gap.y;
        (column, side)
    }

    fn fits(room: egui::Vec2, s: &Sizes) {
        let (column, side) = heights(s);
        assert!(
            column <= room.y + 0.01,
            "images column {column} > {}",
            room.y
        );
        assert!(side <= room.y + 0.01, "side column {side} > {}", room.y);
        let width = s.column + M.gap.x + s.heatmap.x.max(s.minimap);
        assert!(width <= room.x + 0.01, "width {width} > {}", room.x);
    }

    #[test]
    fn a_64px_view_fits_a_1280x720_window_at_a_whole_scale() {
        // Roughly the central panel of a 1280x720 window.
        let room = egui::vec2(880.0, 490.0);
        let s = central(room, everything(egui::vec2(64.0, 64.0)), M);
        fits(room, &s);
        assert_eq!(s.view, egui::vec2(256.0, 256.0), "scale 4");
        assert_eq!(s.strip.x, s.column, "the strip spans the column");
        assert!(s.minimap >= 150.0, "{s:?}");
    }

    #[test]
    fn a_larger_window_shows_everything_larger() {
        let small = egui::vec2(880.0, 490.0);
        let large = egui::vec2(1340.0, 850.0);
        let a = central(small, everything(egui::vec2(64.0, 64.0)), M);
        let b = central(large, everything(egui::vec2(64.0, 64.0)), M);
        fits(large, &b);
        assert!(b.view.x > a.view.x && b.heatmap.x > a.heatmap.x && b.minimap > a.minimap);
    }

    #[test]
    fn wide_captures_keep_their_aspect_and_still_fit() {
        let room = egui::vec2(880.0, 490.0);
        let s = central(room, everything(egui::vec2(128.0, 64.0)), M);
        fits(room, &s);
        assert!((s.view.x / s.view.y - 128.0 / 64.0).abs() < 1e-4);
        assert!((s.heatmap.x / s.heatmap.y - 128.0 / 64.0).abs() < 1e-4);
    }

    #[test]
    fn a_set_scale_is_kept_when_it_fits_and_shrunk_when_it_does_not() {
        let room = egui::vec2(880.0, 490.0);
        let at = |scale| Content {
            max_scale: Some(scale),
            ..everything(egui::vec2(64.0, 64.0))
        };
        assert_eq!(central(room, at(2.5), M).view.x, 160.0);
        let big = central(room, at(10.0), M);
        fits(room, &big);
        assert_eq!(big.view.x, 256.0);
    }

    #[test]
    fn the_side_column_is_never_larger_than_the_view() {
        let room = egui::vec2(880.0, 490.0);
        let heatmap_only = Content {
            minimap: false,
            ..everything(egui::vec2(64.0, 64.0))
        };
        let s = central(room, heatmap_only, M);
        assert_eq!(s.heatmap, s.view, "{s:?}");
        let minimap_only = Content {
            heatmap: false,
            ..everything(egui::vec2(64.0, 64.0))
        };
        assert_eq!(central(room, minimap_only, M).minimap, 256.0);
    }

    #[test]
    fn without_a_capture_only_the_minimap_is_sized() {
        let room = egui::vec2(600.0, 400.0);
        let s = central(
            room,
            Content {
                capture: None,
                model: false,
                heatmap: false,
                minimap: true,
                max_scale: None,
            },
            M,
        );
        assert_eq!(
            (s.view, s.column, s.heatmap),
            (egui::Vec2::ZERO, 0.0, egui::Vec2::ZERO)
        );
        assert_eq!(s.minimap, 400.0 - 2.0 * M.line - M.gap.y);
    }
}

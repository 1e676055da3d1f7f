//! Forest rows: estimates as a point with its 95% interval on a shared probability
//! axis, one row each, with the value written beside the plot (the risk charts of
//! `sweep` and `compare`).

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::frame::{Panel, RowAxis, SWEEP_FRAME, SWEEP_PANEL};
use super::style::{LEGEND_SIZE, SMALL_SIZE, SUBTLE_TEXT, text, text_coloured};
use super::{Chart, DrawResult};
use crate::format::percent_short;
use crate::stats::Proportion;

/// The area of a forest plot: below the title, with `label_w` pixels on the left for
/// row labels and `value_w` on the right for values.
pub(crate) fn forest_area<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    label_w: u32,
    value_w: u32,
) -> DrawingArea<DB, Shift> {
    let (width, height) = root.dim_in_pixel();
    let frame = SWEEP_FRAME;
    root.clone().shrink(
        (label_w as i32, (frame.title_h + 14) as i32),
        (width - label_w - value_w, height - frame.title_h - 14 - frame.provenance_h),
    )
}

/// A forest plot on `area`: `rows` rows, top to bottom, on a probability axis.
/// Row `r` is centred at `y = rows - r - 0.5`.
pub(crate) fn forest_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    rows: usize,
) -> DrawResult<Chart<'_, DB, RangedCoordf64, RowAxis>, DB> {
    let panel =
        Panel { top: 0, right: 10, bottom: 0, left: 0, y_label_area: 0, x_label_area: SWEEP_PANEL.x_label_area };
    panel.build(area, "share of seeds, point and 95% Wilson interval", -0.015..1.015, RowAxis::new(rows))
}

/// One estimate in a forest plot, at `y`: its 95% interval with end ticks and its point
/// in `colour`, and `k/n = share  [low, high]` (of `n` seeds) at pixel `value_at`.
pub(crate) fn draw_estimate<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &mut Chart<'_, DB, RangedCoordf64, RowAxis>,
    y: f64,
    p: Proportion,
    colour: RGBColor,
    n: u64,
    value_at: (i32, i32),
) -> DrawResult<(), DB> {
    let stroke = colour.stroke_width(2);
    chart.draw_series(std::iter::once(PathElement::new(vec![(p.low, y), (p.high, y)], stroke)))?;
    for end in [p.low, p.high] {
        chart.draw_series(std::iter::once(PathElement::new(vec![(end, y - 0.22), (end, y + 0.22)], stroke)))?;
    }
    chart.draw_series(std::iter::once(Circle::new((p.p, y), 5, colour.filled())))?;
    root.draw_text(&estimate_text(p, n), &text(LEGEND_SIZE).pos(Pos::new(HPos::Left, VPos::Center)), value_at)?;
    Ok(())
}

/// The value `draw_estimate` writes beside a row: `k/n = share  [low, high]`.
pub(crate) fn estimate_text(p: Proportion, n: u64) -> String {
    let k = (p.p * n as f64).round() as u64;
    format!("{k}/{n} = {}  [{}, {}]", percent_short(p.p), percent_short(p.low), percent_short(p.high))
}

/// The heading of a forest plot's value column (what `draw_estimate` writes), just
/// above the plot's top edge `top_y` (pixels).
pub(crate) fn forest_value_heading<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    value_x: i32,
    top_y: i32,
) -> DrawResult<(), DB> {
    root.draw_text(
        "seeds = share  [95% interval]",
        &text_coloured(SMALL_SIZE, SUBTLE_TEXT).pos(Pos::new(HPos::Left, VPos::Bottom)),
        (value_x, top_y - 4),
    )
}

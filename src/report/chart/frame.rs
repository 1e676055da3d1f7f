//! The frame of a figure (title strip, legend column, provenance line) and of each
//! panel in it (margins, label areas, the house-style grid and axes), plus the small
//! texts every figure carries: titles, notes, footnotes and provenance.
//!
//! The run chart and the sweep family (sweep, vary and compare charts) were laid out
//! separately and their sizes differ by a few pixels; each keeps its own [`Frame`] and
//! [`Panel`] values here so both render exactly as before.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, DefaultFormatting, KeyPointHint, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{AXIS_DESC_SIZE, NOTE_SIZE, SMALL_SIZE, SUBTLE_TEXT, TICK_SIZE, TITLE_SIZE, text, text_coloured};
use super::{Chart, DrawResult};

/// A figure's layout: its usual width, the title strip on top, the legend column on the
/// right and the strip at the bottom kept for the provenance line.
pub(crate) struct Frame {
    pub width: u32,
    pub title_h: u32,
    pub legend_w: u32,
    pub provenance_h: u32,
}

/// The run chart's frame.
pub(crate) const RUN_FRAME: Frame = Frame { width: 1200, title_h: 40, legend_w: 215, provenance_h: 24 };
/// The frame of the sweep, vary and compare charts.
pub(crate) const SWEEP_FRAME: Frame = Frame { width: 1200, title_h: 44, legend_w: 230, provenance_h: 22 };

impl Frame {
    /// The legend column, from below the title to above the provenance line.
    pub(crate) fn legend_area<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawingArea<DB, Shift> {
        let (width, height) = root.dim_in_pixel();
        root.clone().shrink(
            ((width - self.legend_w) as i32, self.title_h as i32),
            (self.legend_w, height - self.title_h - self.provenance_h),
        )
    }

    /// A title on the left of the title strip and a subtitle (seeds, usually) in grey on
    /// its right, each shortened to fit.
    pub(crate) fn title<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        title: &str,
        subtitle: &str,
    ) -> DrawResult<(), DB> {
        let (w, _) = root.dim_in_pixel();
        let middle = self.title_h as i32 / 2;
        let style = text(TITLE_SIZE);
        let title = fit_text(root, title, &style, w.saturating_sub(self.legend_w + 20))?;
        root.draw_text(&title, &style.pos(Pos::new(HPos::Left, VPos::Center)), (16, middle))?;
        let sub_style = text_coloured(SMALL_SIZE, SUBTLE_TEXT);
        let subtitle = fit_text(root, subtitle, &sub_style, self.legend_w + 200)?;
        root.draw_text(&subtitle, &sub_style.pos(Pos::new(HPos::Right, VPos::Center)), (w as i32 - 12, middle))
    }
}

/// A panel's margins (pixels around it) and label areas (room for tick labels and the
/// axis description, left of and below the plot).
pub(crate) struct Panel {
    pub top: u32,
    pub right: u32,
    pub bottom: u32,
    pub left: u32,
    pub y_label_area: u32,
    pub x_label_area: u32,
}

/// A panel of the run chart that carries time tick labels (only the bottom one does;
/// the others take [`Panel::without_x_labels`]).
pub(crate) const RUN_PANEL: Panel =
    Panel { top: 8, right: 12, bottom: 0, left: 6, y_label_area: 100, x_label_area: 50 };
/// A panel of the sweep, vary and compare charts.
pub(crate) const SWEEP_PANEL: Panel =
    Panel { top: 6, right: 14, bottom: 0, left: 6, y_label_area: 78, x_label_area: 44 };

impl Panel {
    /// The same panel with no room for x tick labels.
    pub(crate) const fn without_x_labels(self) -> Panel {
        Panel { x_label_area: 0, ..self }
    }

    /// Builds the panel on `area` with `caption` above it.
    pub(crate) fn build<'a, DB, X, Y>(
        &self,
        area: &'a DrawingArea<DB, Shift>,
        caption: &str,
        x: X,
        y: Y,
    ) -> DrawResult<Chart<'a, DB, X::CoordDescType, Y::CoordDescType>, DB>
    where
        DB: DrawingBackend,
        X: AsRangedCoord,
        Y: AsRangedCoord,
    {
        ChartBuilder::on(area)
            .caption(caption, text(super::style::CAPTION_SIZE))
            .margin_top(self.top)
            .margin_right(self.right)
            .margin_bottom(self.bottom)
            .margin_left(self.left)
            .y_label_area_size(self.y_label_area)
            .x_label_area_size(self.x_label_area)
            .build_cartesian_2d(x, y)
    }
}

/// One axis of a mesh: its description (`None` draws none), how many tick labels to
/// aim for, and how a tick value is written.
pub(crate) struct Axis<'a, V> {
    pub desc: Option<&'a str>,
    pub labels: usize,
    pub format: &'a dyn Fn(&V) -> String,
}

impl<'a, V> Axis<'a, V> {
    /// An axis described by `desc`, or undescribed when `desc` is empty.
    pub(crate) fn new(desc: &'a str, labels: usize, format: &'a dyn Fn(&V) -> String) -> Self {
        Axis { desc: (!desc.is_empty()).then_some(desc), labels, format }
    }
}

/// Draws a panel's grid and axes in the house style.
pub(crate) fn mesh<DB, X, Y>(
    chart: &mut Chart<'_, DB, X, Y>,
    x: Axis<'_, X::ValueType>,
    y: Axis<'_, Y::ValueType>,
) -> DrawResult<(), DB>
where
    DB: DrawingBackend,
    X: Ranged + ValueFormatter<X::ValueType>,
    Y: Ranged + ValueFormatter<Y::ValueType>,
{
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(x.labels)
        .y_labels(y.labels)
        .x_label_formatter(x.format)
        .y_label_formatter(y.format)
        .label_style(text(TICK_SIZE))
        .axis_desc_style(text(AXIS_DESC_SIZE))
        .bold_line_style(RGBColor(0xd8, 0xd8, 0xd8))
        .light_line_style(RGBColor(0xf0, 0xf0, 0xf0))
        .axis_style(RGBColor(0x60, 0x60, 0x60));
    if let Some(desc) = x.desc {
        mesh.x_desc(desc);
    }
    if let Some(desc) = y.desc {
        mesh.y_desc(desc);
    }
    mesh.draw()
}

/// A grey note in the middle of an empty panel.
pub(crate) fn note<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    message: &str,
) -> DrawResult<(), DB> {
    let area = area.strip_coord_spec();
    let (w, h) = area.dim_in_pixel();
    area.draw_text(
        message,
        &text_coloured(SMALL_SIZE, SUBTLE_TEXT).pos(Pos::new(HPos::Center, VPos::Center)),
        (w as i32 / 2, h as i32 / 2),
    )
}

/// A note in small grey type at the bottom left (the provenance takes the bottom right).
pub(crate) fn footnote<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, note: &str) -> DrawResult<(), DB> {
    let (_, h) = root.dim_in_pixel();
    root.draw_text(
        note,
        &text_coloured(NOTE_SIZE, SUBTLE_TEXT).pos(Pos::new(HPos::Left, VPos::Bottom)),
        (16, h as i32 - 6),
    )
}

/// Which program and scenario file made the chart, small in the bottom-right corner,
/// shortened to the figure's width.
pub(crate) fn provenance<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    version: &str,
    scenario_hash: &str,
) -> DrawResult<(), DB> {
    let mut line = format!("stormcast {version}");
    if !scenario_hash.is_empty() {
        let hash: String = scenario_hash.chars().take(12).collect();
        line.push_str(&format!(" · scenario {hash}"));
    }
    let (w, h) = root.dim_in_pixel();
    let style = text_coloured(NOTE_SIZE, SUBTLE_TEXT);
    let line = fit_text(root, &line, &style, w.saturating_sub(12))?;
    root.draw_text(&line, &style.pos(Pos::new(HPos::Right, VPos::Bottom)), (w as i32 - 6, h as i32 - 6))
}

/// `label`, shortened with an ellipsis if needed so it is at most `room` pixels wide.
pub(crate) fn fit_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    label: &str,
    style: &TextStyle,
    room: u32,
) -> DrawResult<String, DB> {
    if area.estimate_text_size(label, style)?.0 <= room {
        return Ok(label.to_string());
    }
    let chars: Vec<char> = label.chars().collect();
    for keep in (0..chars.len()).rev() {
        let candidate: String = chars[..keep].iter().chain(['…'].iter()).collect();
        if area.estimate_text_size(&candidate, style)?.0 <= room {
            return Ok(candidate);
        }
    }
    Ok(String::new())
}

/// The smallest round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten)
/// that is at least `v`, so an axis ends on a tick without wasting much height.
pub(crate) fn nice_ceiling(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 0.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    for step in [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] {
        if step * magnitude >= v {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// A y axis of rows (the breaker timeline, forest plots): `rows` rows, row r spanning
/// [r, r + 1), with one tick (and grid line) at each row's centre to carry its name.
pub(crate) struct RowAxis {
    rows: usize,
    linear: RangedCoordf64,
}

impl RowAxis {
    pub(crate) fn new(rows: usize) -> Self {
        RowAxis { rows, linear: (0.0..rows as f64).into() }
    }
}

impl Ranged for RowAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() { Vec::new() } else { (0..self.rows).map(|r| r as f64 + 0.5).collect() }
    }

    fn range(&self) -> Range<f64> {
        0.0..self.rows as f64
    }
}

#[cfg(test)]
mod tests {
    use super::nice_ceiling;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_ceiling(730.0), 800.0);
        assert_eq!(nice_ceiling(1134.0), 1200.0);
        assert_eq!(nice_ceiling(1.7), 2.0);
        assert_eq!(nice_ceiling(0.0), 0.0);
    }
}

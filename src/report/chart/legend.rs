//! Legends: a heading, then one row per entry, each a swatch and a label.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::DrawResult;
use super::frame::fit_text;
use super::style::{
    CAPTION_SIZE, LEGEND_SIZE, SMALL_SIZE, SUBTLE_TEXT, SWATCH_SHADE_ALPHA, WARMUP_ALPHA, WARMUP_SHADE, shade_colour,
    text, text_coloured,
};
use crate::format::compact;
use crate::stats::DisturbanceWindow;

/// What stands before a legend entry's label.
pub(crate) enum Swatch {
    /// A line of this colour and width.
    Line(RGBColor, u32),
    /// A dashed line of this colour.
    Dashed(RGBColor),
    /// A filled block (a shade or a bar).
    Block(RGBAColor),
    /// A point marker of this shape and colour, as drawn on the panels.
    Marker(Shape, RGBColor),
    /// Nothing: a text line, or an empty row as a gap.
    None,
}

/// The shape of a point marker: distinct shapes, so markers read apart without colour.
#[derive(Clone, Copy)]
pub(crate) enum Shape {
    /// A filled circle.
    Dot,
    /// A bold ×.
    Cross,
    /// A hollow triangle.
    Triangle,
}

/// Size of a point marker, pixels.
const MARKER_SIZE: i32 = 6;

impl Shape {
    /// Draws the marker centred at `at` (a coordinate of `area`).
    pub(crate) fn draw<DB: DrawingBackend, CT: CoordTranslate>(
        self,
        area: &DrawingArea<DB, CT>,
        at: CT::From,
        colour: RGBColor,
    ) -> DrawResult<(), DB>
    where
        CT::From: Clone + 'static,
    {
        let at = EmptyElement::at(at);
        match self {
            Shape::Dot => area.draw(&(at + Circle::new((0, 0), MARKER_SIZE, colour.filled()))),
            Shape::Cross => area.draw(&(at + Cross::new((0, 0), MARKER_SIZE, colour.stroke_width(3)))),
            Shape::Triangle => area.draw(&(at + TriangleMarker::new((0, 0), MARKER_SIZE + 1, colour.stroke_width(2)))),
        }
    }
}

/// One legend row.
pub(crate) type Entry = (Swatch, String);

/// An empty row, to separate groups of entries.
pub(crate) fn gap() -> Entry {
    (Swatch::None, String::new())
}

/// Draws a legend: a heading and then one entry per row, each a swatch and a label.
/// Entries that do not fit in `area` are summarised as "+N more".
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    heading: &str,
    entries: &[Entry],
) -> DrawResult<(), DB> {
    let (w, h) = area.dim_in_pixel();
    let row_h = 23;
    let x0 = 14;
    let swatch_w = 26;
    let text_x = x0 + swatch_w + 8;
    let mut y = 18;
    area.draw_text(heading, &text(CAPTION_SIZE).pos(Pos::new(HPos::Left, VPos::Center)), (x0, y))?;
    y += row_h + 2;
    let capacity = ((h as i32 - y) / row_h).max(0) as usize;
    let shown = if entries.len() > capacity { capacity.saturating_sub(1) } else { entries.len() };
    let label_style = text(LEGEND_SIZE);
    for (swatch, label) in entries.iter().take(shown) {
        match swatch {
            Swatch::Line(colour, width) => {
                area.draw(&PathElement::new(vec![(x0, y), (x0 + swatch_w, y)], colour.stroke_width(*width)))?;
            }
            Swatch::Dashed(colour) => {
                for dash in 0..3 {
                    let x = x0 + dash * 10;
                    area.draw(&PathElement::new(vec![(x, y), (x + 6, y)], colour.stroke_width(1)))?;
                }
            }
            Swatch::Block(colour) => {
                area.draw(&Rectangle::new([(x0, y - 7), (x0 + swatch_w, y + 7)], colour.filled()))?;
            }
            Swatch::Marker(shape, colour) => shape.draw(area, (x0 + swatch_w / 2, y), *colour)?,
            Swatch::None => {}
        }
        let room = (w as i32 - text_x - 6).max(0) as u32;
        let label = fit_text(area, label, &label_style, room)?;
        area.draw_text(&label, &label_style.pos(Pos::new(HPos::Left, VPos::Center)), (text_x, y))?;
        y += row_h;
    }
    if shown < entries.len() {
        area.draw_text(
            &format!("+{} more", entries.len() - shown),
            &text_coloured(SMALL_SIZE, SUBTLE_TEXT).pos(Pos::new(HPos::Left, VPos::Center)),
            (text_x, y),
        )?;
    }
    Ok(())
}

/// The warmup swatch, labelled with its length.
pub(crate) fn warmup_entry(warmup_s: f64) -> Entry {
    (Swatch::Block(WARMUP_SHADE.mix(WARMUP_ALPHA)), format!("warmup ({} s)", compact(warmup_s)))
}

/// Each disturbance's shade and label with its start and end (what a fan chart shades),
/// then the warmup.
pub(crate) fn window_entries(disturbances: &[DisturbanceWindow], warmup_s: f64) -> Vec<Entry> {
    let mut entries = Vec::new();
    for w in disturbances {
        entries.push((Swatch::Block(shade_colour(w.kind).mix(SWATCH_SHADE_ALPHA)), w.label.clone()));
        entries.push((Swatch::None, format!("  {}–{} s", compact(w.start_s), compact(w.end_s))));
    }
    entries.push(warmup_entry(warmup_s));
    entries
}

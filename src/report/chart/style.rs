//! The house style: the palette (a load or service has the same colour in every chart),
//! the shades of warmup and disturbance windows, and the text sizes.

use plotters::prelude::*;

use crate::stats::DisturbanceKind;

/// The font family every chart draws text with (the bundled DejaVu Sans, `ensure_font`).
pub(crate) const FONT: &str = "sans-serif";

/// Tableau 10, the default palette of Tableau and of matplotlib ("tab10"): distinct,
/// colour-blind-aware, and stable by index.
const TABLEAU_10: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// Colours 11 and 12 (and on, cycling): dark enough to read as lines, unlike the
/// light halves of Tableau 20.
const EXTRA: [RGBColor; 2] = [RGBColor(0x00, 0x00, 0x00), RGBColor(0x3b, 0x50, 0x8c)];

/// The colour of the load or service at `index`, the same in every chart.
pub(crate) fn series_colour(index: usize) -> RGBColor {
    let i = index % (TABLEAU_10.len() + EXTRA.len());
    if i < TABLEAU_10.len() { TABLEAU_10[i] } else { EXTRA[i - TABLEAU_10.len()] }
}

pub(crate) const FAULT_SHADE: RGBColor = RGBColor(0xe0, 0x30, 0x30);
pub(crate) const FAULT_TEXT: RGBColor = RGBColor(0xa0, 0x10, 0x10);
pub(crate) const SPIKE_SHADE: RGBColor = RGBColor(0x30, 0x60, 0xe0);
pub(crate) const SPIKE_TEXT: RGBColor = RGBColor(0x20, 0x40, 0xa0);
pub(crate) const WARMUP_SHADE: RGBColor = RGBColor(0x80, 0x80, 0x80);
pub(crate) const SHADE_ALPHA: f64 = 0.13;
pub(crate) const WARMUP_ALPHA: f64 = 0.22;
/// A legend swatch of a disturbance shade is this much stronger than the shade on a
/// panel, so a small block reads as the same colour as a wide band.
pub(crate) const SWATCH_SHADE_ALPHA: f64 = SHADE_ALPHA * 1.6;
pub(crate) const SUBTLE_TEXT: RGBColor = RGBColor(0x55, 0x55, 0x55);
/// The grey of the "median of seeds" and "5–95% of seeds" legend swatches.
pub(crate) const NEUTRAL: RGBColor = RGBColor(0x40, 0x40, 0x40);

/// The shade of a disturbance window on a panel.
pub(crate) fn shade_colour(kind: DisturbanceKind) -> RGBColor {
    match kind {
        DisturbanceKind::Fault => FAULT_SHADE,
        DisturbanceKind::Spike => SPIKE_SHADE,
    }
}

/// The colour of a disturbance's label (darker than its shade, to read as text).
pub(crate) fn label_colour(kind: DisturbanceKind) -> RGBColor {
    match kind {
        DisturbanceKind::Fault => FAULT_TEXT,
        DisturbanceKind::Spike => SPIKE_TEXT,
    }
}

pub(crate) const TITLE_SIZE: u32 = 22;
pub(crate) const CAPTION_SIZE: u32 = 16;
pub(crate) const TICK_SIZE: u32 = 15;
pub(crate) const AXIS_DESC_SIZE: u32 = 15;
pub(crate) const LEGEND_SIZE: u32 = 15;
pub(crate) const SMALL_SIZE: u32 = 14;
/// Footnotes, provenance and value labels on bars.
pub(crate) const NOTE_SIZE: u32 = 12;

/// plotters sets the SVG `font-size` (and the em of the bitmap glyphs) to the
/// requested size divided by 1.24; sizes here are the pixel sizes a reader sees.
const PLOTTERS_FONT_SCALE: f64 = 1.24;

/// Black text of `px` pixels.
pub(crate) fn text(px: u32) -> TextStyle<'static> {
    text_coloured(px, BLACK)
}

/// Text of `px` pixels in `colour`.
pub(crate) fn text_coloured(px: u32, colour: RGBColor) -> TextStyle<'static> {
    (FONT, f64::from(px) * PLOTTERS_FONT_SCALE).into_font().color(&colour)
}

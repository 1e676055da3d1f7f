//! The sweep charts (PNG and SVG): a fan chart of goodput and p99 across seeds, the
//! risks with their Wilson intervals, the distribution of recovery times, and, for
//! `--vary`, risk against the varied parameter.
//!
//! They take a [`SweepResult`] or [`VaryResult`], never the simulator, and share the
//! run chart's palette (a load has the same colour everywhere), font, shading of
//! warmup and disturbance windows, and legend column on the right.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::chart::{
    AXIS_DESC_SIZE, CAPTION_SIZE, ChartError, DrawResult, FAULT_SHADE, FAULT_TEXT, LEGEND_SIZE, RowAxis, SHADE_ALPHA,
    SMALL_SIZE, SUBTLE_TEXT, Swatch, TICK_SIZE, TITLE_SIZE, WARMUP_ALPHA, WARMUP_SHADE, draw_legend, ensure_font,
    fit_text, format_number, nice_ceiling, note, render, series_colour, shade_colour, text, text_coloured,
};
use super::output::OutputFile;
use crate::stats::{DisturbanceKind, Proportion};
use crate::sweep::{Band, RiskKind, SweepResult, VaryResult, tipping_point};

pub(crate) const WIDTH: u32 = 1200;
pub(crate) const TITLE_H: u32 = 44;
pub(crate) const LEGEND_W: u32 = 230;
pub(crate) const Y_LABEL_AREA: u32 = 78;
pub(crate) const X_LABEL_AREA: u32 = 44;
pub(crate) const PROVENANCE_H: u32 = 22;

/// Colours of the risks, the same in the risk and vary charts (Tableau 10 picks that
/// no default load colour uses first).
pub(crate) fn risk_colour(kind: RiskKind) -> RGBColor {
    match kind {
        RiskKind::Slo => RGBColor(0xd6, 0x27, 0x28),
        RiskKind::Metastable => RGBColor(0x94, 0x67, 0xbd),
        RiskKind::Cascade => RGBColor(0xff, 0x7f, 0x0e),
    }
}

pub(crate) const PATH_CASCADE_COLOUR: RGBColor = RGBColor(0xbc, 0x8a, 0x5e);

/// Draws the `fan`, `risk` and `recovery` charts of `result`, each as PNG and SVG.
pub fn sweep_charts(result: &SweepResult) -> Result<Vec<OutputFile>, ChartError> {
    ensure_font()?;
    check(result)?;
    let mut files = Vec::new();
    render("fan", fan_size(result), &mut files, |r| draw_fan(r, result), |r| draw_fan(r, result))?;
    render("risk", risk_size(result), &mut files, |r| draw_risk(r, result), |r| draw_risk(r, result))?;
    render("recovery", recovery_size(result), &mut files, |r| draw_recovery(r, result), |r| draw_recovery(r, result))?;
    Ok(files)
}

/// Draws the `vary` chart of `result` as PNG and SVG: risk with its interval against
/// the parameter for one varied key, or a grid of risk per pair of values for two.
/// `threshold` draws the line a risk must stay under, and marks the tipping points.
pub fn vary_charts(result: &VaryResult, threshold: Option<f64>) -> Result<Vec<OutputFile>, ChartError> {
    ensure_font()?;
    let mut files = Vec::new();
    let size = vary_size(result);
    render("vary", size, &mut files, |r| draw_vary(r, result, threshold), |r| draw_vary(r, result, threshold))?;
    Ok(files)
}

fn check(result: &SweepResult) -> Result<(), ChartError> {
    super::chart::check_timing(result.bucket_s, result.simulated_s, result.warmup_s)
}

// ---------------------------------------------------------------------------------
// Shared pieces.

pub(crate) type Chart<'a, DB, X, Y> = ChartContext<'a, DB, Cartesian2d<X, Y>>;

pub(crate) fn title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
) -> DrawResult<(), DB> {
    let (w, _) = root.dim_in_pixel();
    let style = text(TITLE_SIZE);
    let title = fit_text(root, title, &style, w.saturating_sub(LEGEND_W + 20))?;
    root.draw_text(&title, &style.pos(Pos::new(HPos::Left, VPos::Center)), (16, TITLE_H as i32 / 2))?;
    let sub_style = text_coloured(SMALL_SIZE, SUBTLE_TEXT);
    let subtitle = fit_text(root, subtitle, &sub_style, LEGEND_W + 200)?;
    root.draw_text(&subtitle, &sub_style.pos(Pos::new(HPos::Right, VPos::Center)), (w as i32 - 12, TITLE_H as i32 / 2))
}

/// A note in small grey type at the bottom left (the provenance takes the bottom right).
pub(crate) fn footnote<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, note: &str) -> DrawResult<(), DB> {
    let (_, h) = root.dim_in_pixel();
    root.draw_text(note, &text_coloured(12, SUBTLE_TEXT).pos(Pos::new(HPos::Left, VPos::Bottom)), (16, h as i32 - 6))
}

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
    root.draw_text(
        &line,
        &text_coloured(12, SUBTLE_TEXT).pos(Pos::new(HPos::Right, VPos::Bottom)),
        (w as i32 - 6, h as i32 - 6),
    )
}

fn seeds_label(result: &SweepResult) -> String {
    if result.seeds == 0 {
        "no seeds".to_string()
    } else {
        format!("{} seeds ({}–{})", result.seeds, result.first_seed, result.first_seed.wrapping_add(result.seeds - 1))
    }
}

pub(crate) fn percent(v: f64) -> String {
    let pc = v * 100.0;
    let s = if pc == 0.0 || pc == 100.0 { format!("{pc:.0}") } else { format!("{pc:.1}") };
    format!("{}%", if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s })
}

/// A mesh with the house style; `x_desc` empty leaves the axis undescribed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn mesh<DB, X, Y>(
    chart: &mut Chart<'_, DB, X, Y>,
    x_desc: &str,
    y_desc: &str,
    x_labels: usize,
    y_labels: usize,
    x_format: &dyn Fn(&X::ValueType) -> String,
    y_format: &dyn Fn(&Y::ValueType) -> String,
) -> DrawResult<(), DB>
where
    DB: DrawingBackend,
    X: Ranged + ValueFormatter<X::ValueType>,
    Y: Ranged + ValueFormatter<Y::ValueType>,
{
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(x_labels)
        .y_labels(y_labels)
        .x_label_formatter(x_format)
        .y_label_formatter(y_format)
        .label_style(text(TICK_SIZE))
        .axis_desc_style(text(AXIS_DESC_SIZE))
        .bold_line_style(RGBColor(0xd8, 0xd8, 0xd8))
        .light_line_style(RGBColor(0xf0, 0xf0, 0xf0))
        .axis_style(RGBColor(0x60, 0x60, 0x60));
    if !x_desc.is_empty() {
        mesh.x_desc(x_desc);
    }
    if !y_desc.is_empty() {
        mesh.y_desc(y_desc);
    }
    mesh.draw()
}

// ---------------------------------------------------------------------------------
// Fan chart: per load, goodput and p99 per bucket, median and 5-95% band across seeds.

pub(crate) const FAN_ROW_H: u32 = 290;

fn fan_size(result: &SweepResult) -> (u32, u32) {
    let rows = result.bands.len().max(1) as u32;
    (WIDTH, TITLE_H + rows * FAN_ROW_H + PROVENANCE_H)
}

/// The time axis shared by every panel.
struct Timeline {
    x_end: f64,
    mid_s: Vec<f64>,
}

impl Timeline {
    fn new(result: &SweepResult) -> Self {
        let starts: &[f64] = result.bands.first().map_or(&[], |b| &b.time_s);
        let x_end = if result.simulated_s > 0.0 { result.simulated_s } else { 1.0 };
        let mid_s = starts
            .iter()
            .map(|&start| {
                let end = (start + result.bucket_s).min(x_end);
                if end > start { (start + end) / 2.0 } else { start + result.bucket_s / 2.0 }
            })
            .collect();
        Timeline { x_end, mid_s }
    }
}

fn draw_fan<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, result: &SweepResult) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let (width, height) = root.dim_in_pixel();
    let timeline = Timeline::new(result);
    let band_seeds = result.bands.first().map_or(0, |b| b.seeds);
    let subtitle = if band_seeds < result.seeds {
        format!("bands over the first {band_seeds} of {}", seeds_label(result))
    } else {
        seeds_label(result)
    };
    title(root, &format!("{}  —  goodput and p99 across seeds", result.scenario), &subtitle)?;
    let plot_w = width - LEGEND_W;
    let half = plot_w / 2;
    let rows = result.bands.len().max(1) as u32;
    let ys: Vec<u32> = (0..=rows).map(|r| TITLE_H + r * FAN_ROW_H).collect();
    let cells = root.split_by_breakpoints([half, plot_w], ys);
    // Row-major, 3 columns: title row first (left, middle, right), then one row per load.
    if result.bands.is_empty() {
        note(&cells[3], "no loads in this sweep")?;
    }
    for (l, bands) in result.bands.iter().enumerate() {
        let colour = series_colour(l);
        let row = 3 * (l + 1);
        fan_panel(
            &cells[row],
            &format!("{}: goodput (ok/s)", bands.name),
            result,
            &timeline,
            &bands.goodput,
            colour,
            false,
        )?;
        fan_panel(
            &cells[row + 1],
            &format!("{}: p99 of ok requests (ms)", bands.name),
            result,
            &timeline,
            &bands.p99_ms,
            colour,
            true,
        )?;
    }

    let mut entries: Vec<(Swatch, String)> =
        result.bands.iter().enumerate().map(|(i, b)| (Swatch::Line(series_colour(i), 2), b.name.clone())).collect();
    entries.push((Swatch::None, String::new()));
    entries.push((Swatch::Line(RGBColor(0x40, 0x40, 0x40), 2), "median of seeds".to_string()));
    entries.push((Swatch::Block(RGBColor(0x40, 0x40, 0x40).mix(0.22)), "5–95% of seeds".to_string()));
    entries.push((Swatch::None, String::new()));
    for w in &result.disturbances {
        entries.push((Swatch::Block(shade_colour(w.kind).mix(SHADE_ALPHA * 1.6)), w.label.clone()));
        entries.push((Swatch::None, format!("  {}–{} s", format_number(w.start_s), format_number(w.end_s))));
    }
    entries.push((
        Swatch::Block(WARMUP_SHADE.mix(WARMUP_ALPHA)),
        format!("warmup ({} s)", format_number(result.warmup_s)),
    ));
    let legend = root.clone().shrink((plot_w as i32, TITLE_H as i32), (LEGEND_W, height - TITLE_H - PROVENANCE_H));
    draw_legend(&legend, "loads", &entries)?;
    let (w, h) = root.dim_in_pixel();
    root.draw_text(
        "p99 per bucket: over the seeds with an ok request in it",
        &text_coloured(12, SUBTLE_TEXT).pos(Pos::new(HPos::Left, VPos::Bottom)),
        (16, h as i32 - 6),
    )?;
    let _ = w;
    provenance(root, &result.stormcast_version, &result.scenario_hash)
}

/// One fan panel. Goodput is on a linear axis from 0; latency switches to a log axis
/// when its values span more than two decades, as in the run chart.
#[allow(clippy::too_many_arguments)]
fn fan_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    result: &SweepResult,
    timeline: &Timeline,
    band: &Band,
    colour: RGBColor,
    latency: bool,
) -> DrawResult<(), DB> {
    let values = || band.p5.iter().chain(&band.median).chain(&band.p95).flatten().copied().filter(|v| v.is_finite());
    let max = values().fold(0.0_f64, f64::max);
    let min_positive = values().filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
    if latency && min_positive.is_finite() && max / min_positive > 100.0 {
        let floor = min_positive / 1.5;
        let range = floor..max * 1.5;
        let mut chart = fan_builder(area, &format!("{caption} (log scale)"), timeline, range.clone().log_scale())?;
        fan_body(&mut chart, result, timeline, band, colour, range, Some(floor))
    } else {
        let top = nice_ceiling(max * 1.08).max(1.0);
        let mut chart = fan_builder(area, caption, timeline, 0.0..top)?;
        fan_body(&mut chart, result, timeline, band, colour, 0.0..top, None)
    }
}

fn fan_builder<'a, DB, Y>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    timeline: &Timeline,
    y: Y,
) -> DrawResult<Chart<'a, DB, RangedCoordf64, Y::CoordDescType>, DB>
where
    DB: DrawingBackend,
    Y: AsRangedCoord,
{
    ChartBuilder::on(area)
        .caption(caption, text(CAPTION_SIZE))
        .margin_top(6)
        .margin_left(6)
        .margin_right(14)
        .y_label_area_size(Y_LABEL_AREA)
        .x_label_area_size(X_LABEL_AREA)
        .build_cartesian_2d(0.0..timeline.x_end, y)
}

fn fan_body<DB, Y>(
    chart: &mut Chart<'_, DB, RangedCoordf64, Y>,
    result: &SweepResult,
    timeline: &Timeline,
    band: &Band,
    colour: RGBColor,
    y_range: Range<f64>,
    floor: Option<f64>,
) -> DrawResult<(), DB>
where
    DB: DrawingBackend,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    shade(chart, result, timeline.x_end, y_range)?;
    mesh(chart, "time (s)", "", 8, 6, &|v| format_number(*v), &|v| format_number(*v))?;
    let clamp = |v: Option<f64>| v.filter(|v| v.is_finite()).map(|v| floor.map_or(v, |f| v.max(f)));
    let n = timeline.mid_s.len().min(band.median.len());
    // Runs of buckets where the band is known are drawn as one polygon and one line each.
    let mut start = 0;
    while start < n {
        if clamp(band.median[start]).is_none() {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < n && clamp(band.median[end]).is_some() {
            end += 1;
        }
        let at =
            |i: usize, b: &[Option<f64>]| (timeline.mid_s[i], clamp(b[i]).or(clamp(band.median[i])).unwrap_or(0.0));
        let mut polygon: Vec<(f64, f64)> = (start..end).map(|i| at(i, &band.p95)).collect();
        polygon.extend((start..end).rev().map(|i| at(i, &band.p5)));
        if end - start == 1 {
            let (x, lo) = at(start, &band.p5);
            let (_, hi) = at(start, &band.p95);
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x, lo), (x, hi)],
                colour.mix(0.4).stroke_width(3),
            )))?;
            chart.draw_series(std::iter::once(Circle::new(at(start, &band.median), 3, colour.filled())))?;
        } else {
            chart.draw_series(std::iter::once(Polygon::new(polygon, colour.mix(0.22).filled())))?;
            chart.draw_series(LineSeries::new((start..end).map(|i| at(i, &band.median)), colour.stroke_width(2)))?;
        }
        start = end;
    }
    if band.median.iter().all(Option::is_none) {
        note(chart.plotting_area(), "no data")?;
    }
    Ok(())
}

/// Shades the warmup and every disturbance window across a panel.
pub(crate) fn shade<DB, Y>(
    chart: &mut Chart<'_, DB, RangedCoordf64, Y>,
    result: &SweepResult,
    x_end: f64,
    y_range: Range<f64>,
) -> DrawResult<(), DB>
where
    DB: DrawingBackend,
    Y: Ranged<ValueType = f64>,
{
    let mut shades = Vec::new();
    if result.warmup_s > 0.0 {
        shades.push((0.0, result.warmup_s.min(x_end), WARMUP_SHADE.mix(WARMUP_ALPHA)));
    }
    for w in &result.disturbances {
        let (start, end) = (w.start_s.clamp(0.0, x_end), w.end_s.clamp(0.0, x_end));
        if end > start {
            shades.push((start, end, shade_colour(w.kind).mix(SHADE_ALPHA)));
        }
    }
    chart.draw_series(
        shades.into_iter().map(|(s, e, c)| Rectangle::new([(s, y_range.start), (e, y_range.end)], c.filled())),
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------
// Risk chart: a forest plot, one row per load and risk, point and 95% interval.

pub(crate) const RISK_ROW_H: u32 = 30;
const RISK_LABEL_W: u32 = 250;
const RISK_VALUE_W: u32 = 300;

/// The area of a forest plot (the risk charts of `sweep` and `compare`): below the
/// title, with `label_w` pixels on the left for row labels and `value_w` on the right
/// for values.
pub(crate) fn forest_area<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    label_w: u32,
    value_w: u32,
) -> DrawingArea<DB, Shift> {
    let (width, height) = root.dim_in_pixel();
    root.clone().shrink(
        (label_w as i32, (TITLE_H + 14) as i32),
        (width - label_w - value_w, height - TITLE_H - 14 - PROVENANCE_H),
    )
}

/// A forest plot on `area`: `rows` rows, top to bottom, on a probability axis.
/// Row `r` is centred at `y = rows - r - 0.5`.
pub(crate) fn forest_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    rows: usize,
) -> DrawResult<Chart<'_, DB, RangedCoordf64, RowAxis>, DB> {
    ChartBuilder::on(area)
        .caption("share of seeds, point and 95% Wilson interval", text(CAPTION_SIZE))
        .margin_right(10)
        .x_label_area_size(X_LABEL_AREA)
        .build_cartesian_2d(-0.015..1.015, RowAxis::new(rows))
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
    let k = (p.p * n as f64).round() as u64;
    let value = format!("{k}/{n} = {}  [{}, {}]", percent(p.p), percent(p.low), percent(p.high));
    root.draw_text(&value, &text(LEGEND_SIZE).pos(Pos::new(HPos::Left, VPos::Center)), value_at)?;
    Ok(())
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

/// The rows of the risk chart, top to bottom: a header per load, then its risks.
enum RiskRow {
    Header(usize),
    Risk(usize, Option<RiskKind>),
}

fn risk_rows(result: &SweepResult) -> Vec<RiskRow> {
    let mut rows = Vec::new();
    for l in 0..result.risks.len() {
        rows.push(RiskRow::Header(l));
        for kind in RiskKind::ALL {
            rows.push(RiskRow::Risk(l, Some(kind)));
        }
        rows.push(RiskRow::Risk(l, None));
    }
    rows
}

fn risk_size(result: &SweepResult) -> (u32, u32) {
    let rows = risk_rows(result).len().max(1) as u32;
    (WIDTH, TITLE_H + 30 + rows * RISK_ROW_H + X_LABEL_AREA + 20 + PROVENANCE_H)
}

fn draw_risk<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, result: &SweepResult) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let (width, _) = root.dim_in_pixel();
    title(root, &format!("{}  —  risks across seeds", result.scenario), &seeds_label(result))?;
    let rows = risk_rows(result);
    let row_count = rows.len().max(1);
    let area = forest_area(root, RISK_LABEL_W, RISK_VALUE_W);
    let mut chart = forest_chart(&area, row_count)?;
    // Light bands group each load's rows.
    let top = row_count as f64;
    let y_of = |r: usize| top - r as f64 - 0.5;
    let group: Vec<Rectangle<(f64, f64)>> = rows
        .iter()
        .enumerate()
        .filter_map(|(r, row)| match row {
            RiskRow::Header(l) if l % 2 == 1 => {
                let span = RiskKind::ALL.len() + 2;
                Some(Rectangle::new(
                    [(-0.015, top - r as f64), (1.015, top - (r + span) as f64)],
                    RGBColor(0xf4, 0xf4, 0xf4).filled(),
                ))
            }
            _ => None,
        })
        .collect();
    chart.draw_series(group)?;
    mesh(&mut chart, "probability", "", 11, 0, &|v| percent(*v), &|_| String::new())?;
    let label_x = RISK_LABEL_W as i32 - 12;
    let value_x = (width - RISK_VALUE_W) as i32 + 4;
    let n = result.seeds;
    for (r, row) in rows.iter().enumerate() {
        let y = y_of(r);
        let (_, py) = chart.backend_coord(&(0.0, y));
        match *row {
            RiskRow::Header(l) => {
                let style = text_coloured(CAPTION_SIZE, series_colour(l)).pos(Pos::new(HPos::Right, VPos::Center));
                let name = fit_text(root, &result.risks[l].name, &style, RISK_LABEL_W - 24)?;
                root.draw_text(&name, &style, (label_x, py))?;
            }
            RiskRow::Risk(l, kind) => {
                let risks = &result.risks[l];
                let (p, label, colour) = match kind {
                    Some(kind) => (risks.get(kind), kind.label(), risk_colour(kind)),
                    None => (risks.path_cascade_risk, "cascade on its call path", PATH_CASCADE_COLOUR),
                };
                let style = text(LEGEND_SIZE).pos(Pos::new(HPos::Right, VPos::Center));
                root.draw_text(label, &style, (label_x, py))?;
                draw_estimate(root, &mut chart, y, p, colour, n, (value_x, py))?;
            }
        }
    }
    if rows.is_empty() {
        note(&area, "no loads in this sweep")?;
    }
    let (_, header_y) = chart.backend_coord(&(0.0, top));
    forest_value_heading(root, value_x, header_y)?;
    footnote(
        root,
        "cascade: a service unhealthy because of another (anywhere; on its call path: reaching services this load reaches)",
    )?;
    provenance(root, &result.stormcast_version, &result.scenario_hash)
}

// ---------------------------------------------------------------------------------
// Recovery: histogram of recovery_s over seeds, with the never-recovered seeds apart.

const RECOVERY_ROW_H: u32 = 250;
const NEVER_W: u32 = 150;

fn recovery_size(result: &SweepResult) -> (u32, u32) {
    let rows = result.loads.len().max(1) as u32;
    (WIDTH, TITLE_H + rows * RECOVERY_ROW_H + PROVENANCE_H)
}

/// Bin width: a round multiple (1, 2, 5, 10, ...) of the bucket, since recovery is
/// judged on whole buckets; a width that is not a multiple would put different numbers
/// of possible values into neighbouring bins. About 20 bins.
fn recovery_bin_width(max_s: f64, bucket_s: f64) -> f64 {
    let k = ((max_s / 20.0) / bucket_s).ceil().max(1.0);
    let mut nice = 1.0;
    for step in [1.0, 2.0, 5.0].iter().cycle().scan(1.0, |scale, &s| {
        let v = s * *scale;
        if s == 5.0 {
            *scale *= 10.0;
        }
        Some(v)
    }) {
        if step >= k {
            nice = step;
            break;
        }
    }
    nice * bucket_s
}

fn draw_recovery<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, result: &SweepResult) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let (width, height) = root.dim_in_pixel();
    title(root, &format!("{}  —  time to recover after the last disturbance", result.scenario), &seeds_label(result))?;
    let plot_w = width - LEGEND_W;
    let rows = result.loads.len().max(1) as u32;
    let ys: Vec<u32> = (0..=rows).map(|r| TITLE_H + r * RECOVERY_ROW_H).collect();
    let cells = root.split_by_breakpoints([plot_w - NEVER_W, plot_w], ys);
    if result.loads.is_empty() {
        note(&cells[3], "no loads in this sweep")?;
    }
    for (l, load) in result.loads.iter().enumerate() {
        let values: Vec<f64> = result.runs.iter().filter_map(|r| r.loads.get(l).and_then(|s| s.recovery_s)).collect();
        let never = result.runs.len() - values.len();
        let max = values.iter().copied().fold(0.0_f64, f64::max);
        let width_s = recovery_bin_width(max, result.bucket_s);
        // One-bucket bins are centred on the values (multiples of the bucket), so a bar
        // stands over the recovery time it counts; wider bins start at their lower edge.
        let centred = width_s == result.bucket_s;
        let shift = if centred { 0.5 } else { 0.0 };
        let bins = (((max / width_s) + shift).floor() as usize + 1).max(1);
        let mut counts = vec![0u64; bins];
        for v in &values {
            counts[((v / width_s + shift).floor() as usize).min(bins - 1)] += 1;
        }
        let y_top = nice_ceiling(counts.iter().copied().max().unwrap_or(0).max(never as u64) as f64 * 1.18).max(1.0);
        let x_start = -shift * width_s;
        let x_end = x_start + bins as f64 * width_s;
        let colour = series_colour(l);
        let row = 3 * (l + 1);
        let caption = format!("{}: {} recovered, {} never", load.name, values.len(), never);
        let mut chart = ChartBuilder::on(&cells[row])
            .caption(caption, text(CAPTION_SIZE))
            .margin_top(6)
            .margin_left(6)
            .margin_right(4)
            .y_label_area_size(Y_LABEL_AREA)
            .x_label_area_size(X_LABEL_AREA)
            .build_cartesian_2d(x_start..x_end, 0.0..y_top)?;
        mesh(&mut chart, "recovery time (s)", "seeds", 10, 5, &|v| format_number(*v), &|v| format_number(*v))?;
        chart.draw_series(counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, &c)| {
            let x0 = x_start + i as f64 * width_s;
            Rectangle::new([(x0 + width_s * 0.06, 0.0), (x0 + width_s * 0.94, c as f64)], colour.mix(0.75).filled())
        }))?;
        chart.draw_series(counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, &c)| {
            Text::new(
                c.to_string(),
                (x_start + (i as f64 + 0.5) * width_s, c as f64),
                text_coloured(12, SUBTLE_TEXT).pos(Pos::new(HPos::Center, VPos::Bottom)),
            )
        }))?;
        if let Some(d) = &load.recovery_s {
            let m = d.median;
            chart.draw_series(DashedLineSeries::new([(m, 0.0), (m, y_top)], 5, 4, BLACK.stroke_width(1)))?;
            let (px, py) = chart.backend_coord(&(m, y_top));
            let label = format!("median {} s · p95 {} s", format_number(d.median), format_number(d.p95));
            let style = text(SMALL_SIZE).pos(Pos::new(HPos::Left, VPos::Top));
            root.draw_text(&label, &style, (px + 5, py + 3))?;
        } else {
            note(chart.plotting_area(), "no seed recovered")?;
        }

        // The never-recovered seeds: a separate bar on the same count axis.
        let mut never_chart = ChartBuilder::on(&cells[row + 1])
            .caption(" ", text(CAPTION_SIZE))
            .margin_top(6)
            .margin_right(14)
            .x_label_area_size(X_LABEL_AREA)
            .build_cartesian_2d(0.0..1.0, 0.0..y_top)?;
        mesh(&mut never_chart, "never", "", 0, 5, &|_| String::new(), &|_| String::new())?;
        if never > 0 {
            never_chart.draw_series(std::iter::once(Rectangle::new(
                [(0.2, 0.0), (0.8, never as f64)],
                FAULT_SHADE.mix(0.8).filled(),
            )))?;
        }
        never_chart.draw_series(std::iter::once(Text::new(
            format!("{never} ({})", percent(never as f64 / result.runs.len().max(1) as f64)),
            (0.5, never as f64),
            text_coloured(SMALL_SIZE, FAULT_TEXT).pos(Pos::new(HPos::Center, VPos::Bottom)),
        )))?;
    }
    let mut entries: Vec<(Swatch, String)> = result
        .loads
        .iter()
        .enumerate()
        .map(|(i, l)| (Swatch::Block(series_colour(i).mix(0.75)), l.name.clone()))
        .collect();
    entries.push((Swatch::Block(FAULT_SHADE.mix(0.8)), "never recovered".to_string()));
    entries.push((Swatch::Dashed(BLACK), "median of recovered".to_string()));
    entries.push((Swatch::None, String::new()));
    for w in &result.disturbances {
        let kind = match w.kind {
            DisturbanceKind::Fault => "fault",
            DisturbanceKind::Spike => "spike",
        };
        entries.push((Swatch::None, format!("{kind}: {}", w.label)));
        entries.push((Swatch::None, format!("  ends at {} s", format_number(w.end_s))));
    }
    let legend = root.clone().shrink((plot_w as i32, TITLE_H as i32), (LEGEND_W, height - TITLE_H - PROVENANCE_H));
    draw_legend(&legend, "loads", &entries)?;
    footnote(root, "recovery: mean goodput of 5 buckets back to 95% of its level before the first disturbance")?;
    provenance(root, &result.stormcast_version, &result.scenario_hash)
}

// ---------------------------------------------------------------------------------
// Vary: risk against the varied parameter(s).

const VARY_PANEL_H: u32 = 260;
const HEAT_CELL_W: u32 = 360;

fn vary_size(result: &VaryResult) -> (u32, u32) {
    if result.keys.len() >= 2 {
        let loads = result.points.first().map_or(1, |p| p.risks.len()).clamp(1, 4) as u32;
        (LEGEND_W + 30 + loads * HEAT_CELL_W, TITLE_H + 3 * VARY_PANEL_H + PROVENANCE_H)
    } else {
        (WIDTH, TITLE_H + 3 * VARY_PANEL_H + PROVENANCE_H)
    }
}

/// The distinct values of parameter `k`, in the order the points first give them.
fn distinct_values(result: &VaryResult, k: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in &result.points {
        if let Some(param) = p.params.get(k)
            && !out.contains(&param.value)
        {
            out.push(param.value.clone());
        }
    }
    out
}

fn draw_vary<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    result: &VaryResult,
    threshold: Option<f64>,
) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let subtitle = format!("{} seeds per point", result.seeds);
    let keys = result.keys.join(", ");
    let heading =
        if result.keys.len() >= 2 { "risk across two parameters".to_string() } else { format!("risk against {keys}") };
    title(root, &heading, &subtitle)?;
    if result.keys.len() >= 2 {
        draw_vary_grid(root, result, threshold)?;
    } else {
        draw_vary_lines(root, result, threshold)?;
    }
    let hash = result.points.first().map_or("", |p| p.scenario_hash.as_str());
    provenance(root, &result.stormcast_version, hash)
}

fn draw_vary_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    result: &VaryResult,
    threshold: Option<f64>,
) -> DrawResult<(), DB> {
    let (width, height) = root.dim_in_pixel();
    let plot_w = width - LEGEND_W;
    // Numeric values are placed by value; anything else is placed in order, evenly.
    let numbers: Option<Vec<f64>> = result.points.iter().map(|p| p.params.first().and_then(|v| v.number())).collect();
    let xs: Vec<f64> = numbers.clone().unwrap_or_else(|| (0..result.points.len()).map(|i| i as f64).collect());
    let labels: Vec<String> =
        result.points.iter().map(|p| p.params.first().map_or(p.label.clone(), |v| v.value.clone())).collect();
    let (lo, hi) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let pad = ((hi - lo) * 0.06).max(0.5);
    let x_range = lo - pad..hi + pad;
    let loads: Vec<String> =
        result.points.first().map_or(Vec::new(), |p| p.risks.iter().map(|r| r.name.clone()).collect());
    let offset = (hi - lo).max(1.0) * 0.008;
    let ys: Vec<u32> = (0..=3).map(|r| TITLE_H + r * VARY_PANEL_H).collect();
    let cells = root.split_by_breakpoints([plot_w], ys);
    let key = result.keys.first().cloned().unwrap_or_default();
    for (k, kind) in RiskKind::ALL.into_iter().enumerate() {
        let area = &cells[2 * (k + 1)];
        let mut chart = ChartBuilder::on(area)
            .caption(format!("{} risk (point and 95% interval)", kind.label()), text(CAPTION_SIZE))
            .margin_top(6)
            .margin_left(6)
            .margin_right(14)
            .y_label_area_size(Y_LABEL_AREA)
            .x_label_area_size(X_LABEL_AREA)
            .build_cartesian_2d(x_range.clone(), -0.03..1.03)?;
        let x_format = |v: &f64| {
            if numbers.is_some() {
                format_number(*v)
            } else {
                let i = v.round();
                if (v - i).abs() < 1e-9 && i >= 0.0 {
                    labels.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            }
        };
        let x_ticks = if numbers.is_some() { 10 } else { result.points.len().max(1) };
        mesh(&mut chart, &key, "probability", x_ticks, 5, &x_format, &|v| percent(*v))?;
        if let Some(t) = threshold {
            chart.draw_series(DashedLineSeries::new(
                [(x_range.start, t), (x_range.end, t)],
                8,
                5,
                FAULT_TEXT.stroke_width(1),
            ))?;
            let from: Vec<String> = loads
                .iter()
                .map(|l| {
                    let at = tipping_point(result, l, kind, t)
                        .and_then(|label| result.points.iter().find(|p| p.label == label))
                        .and_then(|p| p.params.first().map(|v| v.value.clone()))
                        .unwrap_or_else(|| "none".to_string());
                    format!("{l} {at}")
                })
                .collect();
            chart.draw_series(std::iter::once(Text::new(
                format!("threshold {} · whole interval below it from: {}", percent(t), from.join(", ")),
                (x_range.start, t),
                text_coloured(12, FAULT_TEXT).pos(Pos::new(HPos::Left, VPos::Bottom)),
            )))?;
        }
        for (l, _) in loads.iter().enumerate() {
            let colour = series_colour(l);
            let dx = offset * (l as f64 - (loads.len() as f64 - 1.0) / 2.0);
            let pts: Vec<(f64, f64, f64, f64)> = result
                .points
                .iter()
                .zip(&xs)
                .filter_map(|(p, &x)| p.risks.get(l).map(|r| r.get(kind)).map(|r| (x + dx, r.p, r.low, r.high)))
                .collect();
            chart.draw_series(LineSeries::new(
                pts.iter().map(|&(x, p, _, _)| (x, p)),
                colour.mix(0.6).stroke_width(1),
            ))?;
            for &(x, p, low, high) in &pts {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(x, low), (x, high)],
                    colour.stroke_width(2),
                )))?;
                chart.draw_series(std::iter::once(Circle::new((x, p), 4, colour.filled())))?;
            }
        }
    }
    let mut entries: Vec<(Swatch, String)> =
        loads.iter().enumerate().map(|(i, l)| (Swatch::Line(series_colour(i), 2), l.clone())).collect();
    if let Some(t) = threshold {
        entries.push((Swatch::Dashed(FAULT_TEXT), format!("threshold {}", percent(t))));
    }
    let legend = root.clone().shrink((plot_w as i32, TITLE_H as i32), (LEGEND_W, height - TITLE_H - PROVENANCE_H));
    draw_legend(&legend, "loads", &entries)
}

/// Two keys: for each load (columns) and risk (rows), a grid of cells coloured by the
/// risk's point estimate, labelled with it; a tick marks cells whose whole interval is
/// below the threshold.
fn draw_vary_grid<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    result: &VaryResult,
    threshold: Option<f64>,
) -> DrawResult<(), DB> {
    let (width, height) = root.dim_in_pixel();
    let plot_w = width - LEGEND_W;
    let xs = distinct_values(result, 0);
    let ys = distinct_values(result, 1);
    let loads: Vec<String> =
        result.points.first().map_or(Vec::new(), |p| p.risks.iter().take(4).map(|r| r.name.clone()).collect());
    let columns = loads.len().max(1) as u32;
    let col_w = plot_w / columns;
    let breaks_x: Vec<u32> = (1..=columns).map(|c| c * col_w).collect();
    let breaks_y: Vec<u32> = (0..=3).map(|r| TITLE_H + r * VARY_PANEL_H).collect();
    let cells = root.split_by_breakpoints(breaks_x, breaks_y);
    let stride = columns as usize + 1;
    for (k, kind) in RiskKind::ALL.into_iter().enumerate() {
        for (l, load) in loads.iter().enumerate() {
            let area = &cells[stride * (k + 1) + l];
            let mut chart = ChartBuilder::on(area)
                .caption(format!("{load}: {}", kind.label()), text(CAPTION_SIZE))
                .margin(6)
                .y_label_area_size(70)
                .x_label_area_size(X_LABEL_AREA)
                .build_cartesian_2d(0.0..xs.len().max(1) as f64, 0.0..ys.len().max(1) as f64)?;
            let cx = |v: &f64| {
                let i = (v - 0.5).round();
                if (v - 0.5 - i).abs() < 1e-9 && i >= 0.0 {
                    xs.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            };
            let cy = |v: &f64| {
                let i = (v - 0.5).round();
                if (v - 0.5 - i).abs() < 1e-9 && i >= 0.0 {
                    ys.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            };
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(xs.len() * 2 + 1)
                .y_labels(ys.len() * 2 + 1)
                .x_label_formatter(&cx)
                .y_label_formatter(&cy)
                .x_desc(short_key(result.keys.first()))
                .y_desc(short_key(result.keys.get(1)))
                .label_style(text(TICK_SIZE))
                .axis_desc_style(text(AXIS_DESC_SIZE))
                .draw()?;
            for p in &result.points {
                let (Some(x), Some(y)) = (
                    p.params.first().and_then(|v| xs.iter().position(|s| *s == v.value)),
                    p.params.get(1).and_then(|v| ys.iter().position(|s| *s == v.value)),
                ) else {
                    continue;
                };
                let Some(r) = p.risks.get(l).map(|r| r.get(kind)) else { continue };
                let fill = heat(r.p);
                let (x, y) = (x as f64, y as f64);
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x + 0.02, y + 0.02), (x + 0.98, y + 0.98)],
                    fill.filled(),
                )))?;
                let safe = threshold.is_some_and(|t| r.high < t);
                let label = if safe { format!("{} ✓", percent(r.p)) } else { percent(r.p) };
                let ink = if r.p > 0.55 { WHITE } else { BLACK };
                chart.draw_series(std::iter::once(Text::new(
                    label,
                    (x + 0.5, y + 0.5),
                    text_coloured(LEGEND_SIZE, ink).pos(Pos::new(HPos::Center, VPos::Center)),
                )))?;
            }
        }
    }
    let mut entries = vec![
        (Swatch::Block(heat(0.0).to_rgba()), "0%".to_string()),
        (Swatch::Block(heat(0.25).to_rgba()), "25%".to_string()),
        (Swatch::Block(heat(0.5).to_rgba()), "50%".to_string()),
        (Swatch::Block(heat(1.0).to_rgba()), "100%".to_string()),
    ];
    if let Some(t) = threshold {
        entries.push((Swatch::None, String::new()));
        entries.push((Swatch::None, format!("✓ interval below {}", percent(t))));
    }
    let legend = root.clone().shrink((plot_w as i32, TITLE_H as i32), (LEGEND_W, height - TITLE_H - PROVENANCE_H));
    draw_legend(&legend, "risk (share of seeds)", &entries)
}

fn short_key(key: Option<&String>) -> String {
    key.cloned().unwrap_or_default()
}

/// Cream (0; not white, so a cell with no risk still reads as a cell) through orange
/// to dark red (1).
fn heat(p: f64) -> RGBColor {
    let p = if p.is_finite() { p.clamp(0.0, 1.0) } else { 0.0 };
    let stops = [
        (0.0, (255.0, 247.0, 236.0)),
        (0.3, (253.0, 174.0, 97.0)),
        (0.65, (215.0, 48.0, 39.0)),
        (1.0, (120.0, 0.0, 20.0)),
    ];
    for w in stops.windows(2) {
        let ((a, ca), (b, cb)) = (w[0], w[1]);
        if p <= b {
            let t = (p - a) / (b - a);
            let mix = |x: f64, y: f64| (x + t * (y - x)).round() as u8;
            return RGBColor(mix(ca.0, cb.0), mix(ca.1, cb.1), mix(ca.2, cb.2));
        }
    }
    RGBColor(120, 0, 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_bins_are_round_multiples_of_the_bucket() {
        assert_eq!(recovery_bin_width(0.0, 1.0), 1.0);
        assert_eq!(recovery_bin_width(19.0, 1.0), 1.0);
        assert_eq!(recovery_bin_width(30.0, 1.0), 2.0);
        assert_eq!(recovery_bin_width(90.0, 1.0), 5.0);
        assert_eq!(recovery_bin_width(150.0, 1.0), 10.0);
        // 1.5 s is 3 half-second buckets, rounded up to 5 of them.
        assert_eq!(recovery_bin_width(30.0, 0.5), 2.5);
    }

    #[test]
    fn heat_runs_from_cream_to_dark_red() {
        assert_eq!(heat(0.0), RGBColor(255, 247, 236));
        assert_eq!(heat(1.0), RGBColor(120, 0, 20));
        assert_eq!(heat(f64::NAN), heat(0.0));
    }
}

//! The `compare` charts (PNG and SVG): the base and proposed fan charts overlaid per
//! load (median and 5–95% band across seeds of goodput and p99, one colour per
//! config, warmup and disturbances shaded as in the sweep fan chart), and the risks
//! side by side (each risk, base and proposed, point and 95% Wilson interval, with the
//! paired change).
//!
//! They take a [`CompareResult`], never the simulator, and reuse the sweep charts'
//! layout, font and shading.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::chart::{
    CAPTION_SIZE, ChartError, DrawResult, LEGEND_SIZE, SHADE_ALPHA, SMALL_SIZE, SUBTLE_TEXT, Swatch, WARMUP_ALPHA,
    WARMUP_SHADE, draw_legend, ensure_font, fit_text, format_number, nice_ceiling, note, render, shade_colour, text,
    text_coloured,
};
use super::output::OutputFile;
use super::sweep_chart::{
    Chart, FAN_ROW_H, LEGEND_W, PROVENANCE_H, TITLE_H, WIDTH, X_LABEL_AREA, Y_LABEL_AREA, draw_estimate, footnote,
    forest_area, forest_chart, forest_value_heading, mesh, percent, provenance, shade, title,
};
use crate::compare::{CompareResult, RiskDifference};
use crate::sweep::{Band, LoadBands, SweepResult};

/// The base config's colour (Tableau blue) and the proposed config's (Tableau orange).
pub const BASE_COLOUR: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
pub const PROPOSED_COLOUR: RGBColor = RGBColor(0xff, 0x7f, 0x0e);

/// Draws `compare-fan` and `compare-risk`, each as PNG and SVG. `base_label` and
/// `proposed_label` name the configs in the legends.
pub fn compare_charts(
    result: &CompareResult,
    base_label: &str,
    proposed_label: &str,
) -> Result<Vec<OutputFile>, ChartError> {
    ensure_font()?;
    for sweep in [&result.base, &result.proposed] {
        if !(sweep.bucket_s.is_finite() && sweep.bucket_s > 0.0) {
            return Err(ChartError::InvalidResult(format!("bucket width must be positive, got {} s", sweep.bucket_s)));
        }
    }
    let labels = Labels { base: base_label, proposed: proposed_label };
    let mut files = Vec::new();
    render(
        "compare-fan",
        fan_size(result),
        &mut files,
        |r| draw_fan(r, result, &labels),
        |r| draw_fan(r, result, &labels),
    )?;
    render(
        "compare-risk",
        risk_size(result),
        &mut files,
        |r| draw_risk(r, result, &labels),
        |r| draw_risk(r, result, &labels),
    )?;
    Ok(files)
}

struct Labels<'a> {
    base: &'a str,
    proposed: &'a str,
}

fn seeds_label(result: &CompareResult) -> String {
    if result.seeds == 0 {
        "no seeds".to_string()
    } else {
        format!(
            "{} paired seeds ({}–{})",
            result.seeds,
            result.first_seed,
            result.first_seed.wrapping_add(result.seeds - 1)
        )
    }
}

// ---------------------------------------------------------------------------------
// Fan chart, overlaid.

/// The loads in both configs, in the proposed config's order: (name, base, proposed).
fn paired_bands(result: &CompareResult) -> Vec<(&LoadBands, &LoadBands)> {
    result
        .paired
        .iter()
        .filter_map(|p| {
            let b = result.base.bands.iter().find(|b| b.name == p.name)?;
            let q = result.proposed.bands.iter().find(|b| b.name == p.name)?;
            Some((b, q))
        })
        .collect()
}

fn fan_size(result: &CompareResult) -> (u32, u32) {
    let rows = paired_bands(result).len().max(1) as u32;
    (WIDTH, TITLE_H + rows * FAN_ROW_H + PROVENANCE_H)
}

/// Bucket midpoints of a sweep, clipped to its duration.
fn midpoints(sweep: &SweepResult, bands: &LoadBands) -> Vec<f64> {
    let x_end = if sweep.simulated_s > 0.0 { sweep.simulated_s } else { 1.0 };
    bands
        .time_s
        .iter()
        .map(|&start| {
            let end = (start + sweep.bucket_s).min(x_end);
            if end > start { (start + end) / 2.0 } else { start + sweep.bucket_s / 2.0 }
        })
        .collect()
}

fn draw_fan<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    result: &CompareResult,
    labels: &Labels,
) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let (width, height) = root.dim_in_pixel();
    title(
        root,
        &format!("{} vs {}  —  goodput and p99 across seeds", labels.base, labels.proposed),
        &seeds_label(result),
    )?;
    let plot_w = width - LEGEND_W;
    let half = plot_w / 2;
    let pairs = paired_bands(result);
    let rows = pairs.len().max(1) as u32;
    let ys: Vec<u32> = (0..=rows).map(|r| TITLE_H + r * FAN_ROW_H).collect();
    let cells = root.split_by_breakpoints([half, plot_w], ys);
    if pairs.is_empty() {
        note(&cells[3], "no load is in both configs")?;
    }
    let x_end = result.base.simulated_s.max(result.proposed.simulated_s).max(1.0);
    for (l, (base, proposed)) in pairs.iter().enumerate() {
        let row = 3 * (l + 1);
        let base_mid = midpoints(&result.base, base);
        let proposed_mid = midpoints(&result.proposed, proposed);
        let sides = [(&base_mid, &base.goodput, BASE_COLOUR), (&proposed_mid, &proposed.goodput, PROPOSED_COLOUR)];
        overlay_panel(&cells[row], &format!("{}: goodput (ok/s)", base.name), result, x_end, &sides, false)?;
        let sides = [(&base_mid, &base.p99_ms, BASE_COLOUR), (&proposed_mid, &proposed.p99_ms, PROPOSED_COLOUR)];
        overlay_panel(
            &cells[row + 1],
            &format!("{}: p99 of ok requests (ms)", base.name),
            result,
            x_end,
            &sides,
            true,
        )?;
    }

    let mut entries: Vec<(Swatch, String)> = vec![
        (Swatch::Line(BASE_COLOUR, 3), "base".to_string()),
        (Swatch::None, labels.base.to_string()),
        (Swatch::Line(PROPOSED_COLOUR, 3), "proposed".to_string()),
        (Swatch::None, labels.proposed.to_string()),
        (Swatch::None, String::new()),
        (Swatch::Line(RGBColor(0x40, 0x40, 0x40), 2), "median of seeds".to_string()),
        (Swatch::Block(RGBColor(0x40, 0x40, 0x40).mix(0.2)), "5–95% of seeds".to_string()),
        (Swatch::None, String::new()),
    ];
    for w in &result.proposed.disturbances {
        entries.push((Swatch::Block(shade_colour(w.kind).mix(SHADE_ALPHA * 1.6)), w.label.clone()));
        entries.push((Swatch::None, format!("  {}–{} s", format_number(w.start_s), format_number(w.end_s))));
    }
    entries.push((
        Swatch::Block(WARMUP_SHADE.mix(WARMUP_ALPHA)),
        format!("warmup ({} s)", format_number(result.proposed.warmup_s)),
    ));
    let legend = root.clone().shrink((plot_w as i32, TITLE_H as i32), (LEGEND_W, height - TITLE_H - PROVENANCE_H));
    draw_legend(&legend, "configs", &entries)?;
    let (_, h) = root.dim_in_pixel();
    root.draw_text(
        "same seeds in both configs; shading: the proposed config's disturbances",
        &text_coloured(12, SUBTLE_TEXT).pos(Pos::new(HPos::Left, VPos::Bottom)),
        (16, h as i32 - 6),
    )?;
    provenance(root, &result.stormcast_version, &result.proposed.scenario_hash)
}

type Side<'a> = (&'a Vec<f64>, &'a Band, RGBColor);

/// One panel with both configs' bands. Goodput is linear from 0; latency switches to a
/// log axis when its values span more than two decades, as in the sweep fan chart.
fn overlay_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    result: &CompareResult,
    x_end: f64,
    sides: &[Side<'_>; 2],
    latency: bool,
) -> DrawResult<(), DB> {
    let values = || {
        sides
            .iter()
            .flat_map(|(_, b, _)| b.p5.iter().chain(&b.median).chain(&b.p95))
            .flatten()
            .copied()
            .filter(|v| v.is_finite())
    };
    let max = values().fold(0.0_f64, f64::max);
    let min_positive = values().filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
    let builder = |caption: String| {
        let mut b = ChartBuilder::on(area);
        b.caption(caption, text(CAPTION_SIZE))
            .margin_top(6)
            .margin_left(6)
            .margin_right(14)
            .y_label_area_size(Y_LABEL_AREA)
            .x_label_area_size(X_LABEL_AREA);
        b
    };
    if latency && min_positive.is_finite() && max / min_positive > 100.0 {
        let floor = min_positive / 1.5;
        let range = floor..max * 1.5;
        let mut chart =
            builder(format!("{caption} (log scale)")).build_cartesian_2d(0.0..x_end, range.clone().log_scale())?;
        overlay_body(&mut chart, &result.proposed, x_end, sides, range, Some(floor))
    } else {
        let top = nice_ceiling(max * 1.08).max(1.0);
        let mut chart = builder(caption.to_string()).build_cartesian_2d(0.0..x_end, 0.0..top)?;
        overlay_body(&mut chart, &result.proposed, x_end, sides, 0.0..top, None)
    }
}

fn overlay_body<DB, Y>(
    chart: &mut Chart<'_, DB, RangedCoordf64, Y>,
    shading: &SweepResult,
    x_end: f64,
    sides: &[Side<'_>; 2],
    y_range: std::ops::Range<f64>,
    floor: Option<f64>,
) -> DrawResult<(), DB>
where
    DB: DrawingBackend,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    shade(chart, shading, x_end, y_range)?;
    mesh(chart, "time (s)", "", 8, 6, &|v| format_number(*v), &|v| format_number(*v))?;
    // Bands first (both), then the medians on top, so neither median hides under the
    // other config's band.
    for &(mid, band, colour) in sides {
        draw_band(chart, mid, band, colour, floor, false)?;
    }
    for &(mid, band, colour) in sides {
        draw_band(chart, mid, band, colour, floor, true)?;
    }
    if sides.iter().all(|(_, b, _)| b.median.iter().all(Option::is_none)) {
        note(chart.plotting_area(), "no data")?;
    }
    Ok(())
}

/// Draws a band's 5–95% area (`median_only` false) or its median line (true), one
/// polygon or line per run of buckets where the median is known.
fn draw_band<DB, Y>(
    chart: &mut Chart<'_, DB, RangedCoordf64, Y>,
    mid_s: &[f64],
    band: &Band,
    colour: RGBColor,
    floor: Option<f64>,
    median_only: bool,
) -> DrawResult<(), DB>
where
    DB: DrawingBackend,
    Y: Ranged<ValueType = f64>,
{
    let clamp = |v: Option<f64>| v.filter(|v| v.is_finite()).map(|v| floor.map_or(v, |f| v.max(f)));
    let n = mid_s.len().min(band.median.len());
    let at = |i: usize, b: &[Option<f64>]| (mid_s[i], clamp(b[i]).or(clamp(band.median[i])).unwrap_or(0.0));
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
        if median_only {
            if end - start == 1 {
                chart.draw_series(std::iter::once(Circle::new(at(start, &band.median), 3, colour.filled())))?;
            } else {
                chart
                    .draw_series(LineSeries::new((start..end).map(|i| at(i, &band.median)), colour.stroke_width(2)))?;
            }
        } else if end - start == 1 {
            let (x, lo) = at(start, &band.p5);
            let (_, hi) = at(start, &band.p95);
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x, lo), (x, hi)],
                colour.mix(0.4).stroke_width(3),
            )))?;
        } else {
            let mut polygon: Vec<(f64, f64)> = (start..end).map(|i| at(i, &band.p95)).collect();
            polygon.extend((start..end).rev().map(|i| at(i, &band.p5)));
            chart.draw_series(std::iter::once(Polygon::new(polygon, colour.mix(0.2).filled())))?;
        }
        start = end;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Risks side by side: a forest plot, per load and risk a base row and a proposed row.

const ROW_H: u32 = 24;
const LABEL_W: u32 = 220;
const VALUE_W: u32 = 550;
/// Where the paired change starts, right of the proposed risk.
const CHANGE_X: i32 = 262;

enum RiskRow {
    Header(usize),
    /// Load, risk index into [`risk_list`], proposed (false: base).
    Risk(usize, usize, bool),
    Gap,
}

fn risk_list(r: &crate::compare::LoadRiskDifferences) -> [(&'static str, &RiskDifference, bool); 4] {
    [
        ("SLO violated", &r.slo_risk, r.slo_defined),
        ("never recovered", &r.metastable_risk, true),
        ("cascade", &r.cascade_risk, true),
        ("path cascade", &r.path_cascade_risk, true),
    ]
}

fn risk_rows(result: &CompareResult) -> Vec<RiskRow> {
    let mut rows = Vec::new();
    for (l, r) in result.risk_differences.iter().enumerate() {
        rows.push(RiskRow::Header(l));
        for (k, (_, _, defined)) in risk_list(r).iter().enumerate() {
            if *defined {
                rows.push(RiskRow::Risk(l, k, false));
                rows.push(RiskRow::Risk(l, k, true));
                rows.push(RiskRow::Gap);
            }
        }
    }
    rows
}

fn risk_size(result: &CompareResult) -> (u32, u32) {
    let rows = risk_rows(result).len().max(1) as u32;
    (WIDTH, TITLE_H + 30 + rows * ROW_H + X_LABEL_AREA + 20 + PROVENANCE_H)
}

fn draw_risk<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    result: &CompareResult,
    labels: &Labels,
) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let (width, _) = root.dim_in_pixel();
    title(root, &format!("{} vs {}  —  risks across seeds", labels.base, labels.proposed), &seeds_label(result))?;
    let rows = risk_rows(result);
    let row_count = rows.len().max(1);
    let area = forest_area(root, LABEL_W, VALUE_W);
    let mut chart = forest_chart(&area, row_count)?;
    let top = row_count as f64;
    let y_of = |r: usize| top - r as f64 - 0.5;
    mesh(&mut chart, "probability", "", 6, 0, &|v| percent(*v), &|_| String::new())?;
    let label_x = LABEL_W as i32 - 12;
    let value_x = (width - VALUE_W) as i32 + 4;
    let n = result.seeds;
    for (r, row) in rows.iter().enumerate() {
        let y = y_of(r);
        let (_, py) = chart.backend_coord(&(0.0, y));
        match *row {
            RiskRow::Header(l) => {
                let style = text(CAPTION_SIZE).pos(Pos::new(HPos::Right, VPos::Center));
                let name = fit_text(root, &result.risk_differences[l].name, &style, LABEL_W - 24)?;
                root.draw_text(&name, &style, (label_x, py))?;
            }
            RiskRow::Gap => {}
            RiskRow::Risk(l, k, is_proposed) => {
                let (label, diff, _) = risk_list(&result.risk_differences[l])[k];
                let (p, colour, who) = if is_proposed {
                    (diff.proposed, PROPOSED_COLOUR, "proposed")
                } else {
                    (diff.base, BASE_COLOUR, "base")
                };
                let row_label = if is_proposed { who.to_string() } else { format!("{label} · {who}") };
                let style = text_coloured(LEGEND_SIZE, if is_proposed { PROPOSED_TEXT } else { BASE_TEXT })
                    .pos(Pos::new(HPos::Right, VPos::Center));
                let row_label = fit_text(root, &row_label, &style, LABEL_W - 24)?;
                root.draw_text(&row_label, &style, (label_x, py))?;
                draw_estimate(root, &mut chart, y, p, colour, n, (value_x, py))?;
                if is_proposed {
                    let change = format!(
                        "Δ {} pp [{}, {}]",
                        signed(diff.diff * 100.0),
                        signed(diff.low * 100.0),
                        signed(diff.high * 100.0)
                    );
                    let style = text_coloured(LEGEND_SIZE, change_colour(diff)).pos(Pos::new(HPos::Left, VPos::Center));
                    root.draw_text(&change, &style, (value_x + CHANGE_X, py))?;
                }
            }
        }
    }
    if rows.is_empty() {
        note(&area, "no load is in both configs")?;
    }
    let (_, header_y) = chart.backend_coord(&(0.0, top));
    forest_value_heading(root, value_x, header_y)?;
    root.draw_text(
        "Δ proposed − base",
        &text_coloured(SMALL_SIZE, SUBTLE_TEXT).pos(Pos::new(HPos::Left, VPos::Bottom)),
        (value_x + CHANGE_X, header_y - 4),
    )?;
    footnote(
        root,
        "blue: base, orange: proposed, same seeds; Δ: Newcombe's paired interval; path cascade: on this load's call path",
    )?;
    provenance(root, &result.stormcast_version, &result.proposed.scenario_hash)
}

/// Darker versions of the config colours, readable as text.
const BASE_TEXT: RGBColor = RGBColor(0x15, 0x50, 0x7a);
const PROPOSED_TEXT: RGBColor = RGBColor(0xb0, 0x55, 0x00);

/// Red if the risk rose for sure, green if it fell for sure, grey otherwise.
fn change_colour(diff: &RiskDifference) -> RGBColor {
    if diff.low > 0.0 {
        RGBColor(0xc0, 0x10, 0x10)
    } else if diff.high < 0.0 {
        RGBColor(0x10, 0x80, 0x30)
    } else {
        SUBTLE_TEXT
    }
}

fn signed(v: f64) -> String {
    if v == 0.0 { "0".to_string() } else { format!("{v:+.1}") }
}

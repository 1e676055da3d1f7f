//! The sweep charts (PNG and SVG): a fan chart of goodput and p99 across seeds, the
//! risks with their Wilson intervals, the distribution of recovery times, and, for
//! `--vary`, risk against the varied parameter.
//!
//! They take a [`SweepResult`] or [`VaryResult`], never the simulator, and are drawn
//! with the chart toolkit (`report::chart`): the run chart's palette (a load has the
//! same colour everywhere), font, shading of warmup and disturbance windows, and legend
//! column on the right.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::chart::band::{FAN_ROW_H, FanSide, FanStyle, Layering, band_key, fan_panel};
use super::chart::forest::{draw_estimate, forest_area, forest_chart, forest_value_heading};
use super::chart::frame::{
    Axis, Frame, Panel, SWEEP_FRAME, SWEEP_PANEL, fit_text, footnote, mesh, nice_ceiling, note, provenance,
};
use super::chart::legend::{Entry, Swatch, draw_legend, gap, window_entries};
use super::chart::style::{
    AXIS_DESC_SIZE, CAPTION_SIZE, FAULT_SHADE, FAULT_TEXT, LEGEND_SIZE, NOTE_SIZE, SMALL_SIZE, SUBTLE_TEXT, TICK_SIZE,
    series_colour, text, text_coloured,
};
use super::chart::timeline::{Midpoint, Shading, Timeline};
use super::chart::{ChartError, DrawResult, check_timing, ensure_font, render};
use super::output::OutputFile;
use crate::format::{compact, percent_short};
use crate::stats::DisturbanceKind;
use crate::sweep::{RiskKind, SweepResult, VaryResult, tipping_point_at};

/// The frame of every sweep chart.
const FRAME: Frame = SWEEP_FRAME;

/// Colours of the risks, the same in the risk and vary charts (Tableau 10 picks that
/// no default load colour uses first).
fn risk_colour(kind: RiskKind) -> RGBColor {
    match kind {
        RiskKind::Slo => RGBColor(0xd6, 0x27, 0x28),
        RiskKind::Metastable => RGBColor(0x94, 0x67, 0xbd),
        RiskKind::Cascade => RGBColor(0xff, 0x7f, 0x0e),
    }
}

const PATH_CASCADE_COLOUR: RGBColor = RGBColor(0xbc, 0x8a, 0x5e);

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
    check_timing(result.bucket_s, result.simulated_s, result.warmup_s)
}

// ---------------------------------------------------------------------------------
// Shared by the sweep charts.

fn seeds_label(result: &SweepResult) -> String {
    if result.seeds == 0 {
        "no seeds".to_string()
    } else {
        format!("{} seeds ({}–{})", result.seeds, result.first_seed, result.first_seed.wrapping_add(result.seeds - 1))
    }
}

// ---------------------------------------------------------------------------------
// Fan chart: per load, goodput and p99 per bucket, median and 5-95% band across seeds.

fn fan_size(result: &SweepResult) -> (u32, u32) {
    let rows = result.bands.len().max(1) as u32;
    (FRAME.width, FRAME.title_h + rows * FAN_ROW_H + FRAME.provenance_h)
}

/// Sweep bands are drawn run by run, a load's median over its own band.
const FAN_STYLE: FanStyle = FanStyle { area_alpha: 0.22, layering: Layering::RunByRun };

fn draw_fan<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, result: &SweepResult) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let (width, _) = root.dim_in_pixel();
    let x_end = if result.simulated_s > 0.0 { result.simulated_s } else { 1.0 };
    let starts = result.bands.first().map_or(&[][..], |b| &b.time_s);
    let timeline = Timeline::new(starts.iter().copied(), result.bucket_s, x_end, Midpoint::MeanOfEnds);
    let shading = Shading { warmup_s: result.warmup_s, disturbances: &result.disturbances };
    let band_seeds = result.bands.first().map_or(0, |b| b.seeds);
    let subtitle = if band_seeds < result.seeds {
        format!("bands over the first {band_seeds} of {}", seeds_label(result))
    } else {
        seeds_label(result)
    };
    FRAME.title(root, &format!("{}  —  goodput and p99 across seeds", result.scenario), &subtitle)?;
    let plot_w = width - FRAME.legend_w;
    let half = plot_w / 2;
    let rows = result.bands.len().max(1) as u32;
    let ys: Vec<u32> = (0..=rows).map(|r| FRAME.title_h + r * FAN_ROW_H).collect();
    let cells = root.split_by_breakpoints([half, plot_w], ys);
    // Row-major, 3 columns: title row first (left, middle, right), then one row per load.
    if result.bands.is_empty() {
        note(&cells[3], "no loads in this sweep")?;
    }
    for (l, bands) in result.bands.iter().enumerate() {
        let colour = series_colour(l);
        let row = 3 * (l + 1);
        let side = [FanSide { mid_s: &timeline.mid_s, band: &bands.goodput, colour }];
        let caption = format!("{}: goodput (ok/s)", bands.name);
        fan_panel(&cells[row], &caption, &shading, x_end, &side, false, &FAN_STYLE)?;
        let side = [FanSide { mid_s: &timeline.mid_s, band: &bands.p99_ms, colour }];
        let caption = format!("{}: p99 of ok requests (ms)", bands.name);
        fan_panel(&cells[row + 1], &caption, &shading, x_end, &side, true, &FAN_STYLE)?;
    }

    let mut entries: Vec<Entry> =
        result.bands.iter().enumerate().map(|(i, b)| (Swatch::Line(series_colour(i), 2), b.name.clone())).collect();
    entries.push(gap());
    entries.extend(band_key(FAN_STYLE.area_alpha));
    entries.push(gap());
    entries.extend(window_entries(&result.disturbances, result.warmup_s));
    draw_legend(&FRAME.legend_area(root), "loads", &entries)?;
    footnote(root, "p99 per bucket: over the seeds with an ok request in it")?;
    provenance(root, &result.stormcast_version, &result.scenario_hash)
}

// ---------------------------------------------------------------------------------
// Risk chart: a forest plot, one row per load and risk, point and 95% interval.

const RISK_ROW_H: u32 = 30;
const RISK_LABEL_W: u32 = 250;
const RISK_VALUE_W: u32 = 300;

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
    (FRAME.width, FRAME.title_h + 30 + rows * RISK_ROW_H + SWEEP_PANEL.x_label_area + 20 + FRAME.provenance_h)
}

fn draw_risk<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, result: &SweepResult) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let (width, _) = root.dim_in_pixel();
    FRAME.title(root, &format!("{}  —  risks across seeds", result.scenario), &seeds_label(result))?;
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
    mesh(&mut chart, Axis::new("probability", 11, &|v| percent_short(*v)), Axis::new("", 0, &|_| String::new()))?;
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
    (FRAME.width, FRAME.title_h + rows * RECOVERY_ROW_H + FRAME.provenance_h)
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
    let (width, _) = root.dim_in_pixel();
    FRAME.title(
        root,
        &format!("{}  —  time to recover after the last disturbance", result.scenario),
        &seeds_label(result),
    )?;
    let plot_w = width - FRAME.legend_w;
    let rows = result.loads.len().max(1) as u32;
    let ys: Vec<u32> = (0..=rows).map(|r| FRAME.title_h + r * RECOVERY_ROW_H).collect();
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
        // No recovery to count: an axis from 0, not one centred on a bin at 0 (-0.5..0.5).
        let x_start = if values.is_empty() { 0.0 } else { -shift * width_s };
        let x_end = x_start + bins as f64 * width_s;
        let colour = series_colour(l);
        let row = 3 * (l + 1);
        let caption = format!("{}: {} recovered, {} never", load.name, values.len(), never);
        // Narrow on the right: the never-recovered bar stands close beside it.
        let histogram = Panel { right: 4, ..SWEEP_PANEL };
        let mut chart = histogram.build(&cells[row], &caption, x_start..x_end, 0.0..y_top)?;
        let ticks = |v: &f64| compact(*v);
        mesh(&mut chart, Axis::new("recovery time (s)", 10, &ticks), Axis::new("seeds", 5, &ticks))?;
        chart.draw_series(counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, &c)| {
            let x0 = x_start + i as f64 * width_s;
            Rectangle::new([(x0 + width_s * 0.06, 0.0), (x0 + width_s * 0.94, c as f64)], colour.mix(0.75).filled())
        }))?;
        chart.draw_series(counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, &c)| {
            Text::new(
                c.to_string(),
                (x_start + (i as f64 + 0.5) * width_s, c as f64),
                text_coloured(NOTE_SIZE, SUBTLE_TEXT).pos(Pos::new(HPos::Center, VPos::Bottom)),
            )
        }))?;
        if let Some(d) = &load.recovery_s {
            let m = d.median;
            chart.draw_series(DashedLineSeries::new([(m, 0.0), (m, y_top)], 5, 4, BLACK.stroke_width(1)))?;
            let (px, py) = chart.backend_coord(&(m, y_top));
            let label = format!("median {} s · p95 {} s", compact(d.median), compact(d.p95));
            let style = text(SMALL_SIZE).pos(Pos::new(HPos::Left, VPos::Top));
            root.draw_text(&label, &style, (px + 5, py + 3))?;
        } else {
            note(chart.plotting_area(), "no seed recovered")?;
        }

        // The never-recovered seeds: a separate bar on the same count axis.
        let never_panel = Panel { left: 0, y_label_area: 0, ..SWEEP_PANEL };
        let mut never_chart = never_panel.build(&cells[row + 1], " ", 0.0..1.0, 0.0..y_top)?;
        let blank = |_: &f64| String::new();
        mesh(&mut never_chart, Axis::new("never", 0, &blank), Axis::new("", 5, &blank))?;
        if never > 0 {
            never_chart.draw_series(std::iter::once(Rectangle::new(
                [(0.2, 0.0), (0.8, never as f64)],
                FAULT_SHADE.mix(0.8).filled(),
            )))?;
        }
        never_chart.draw_series(std::iter::once(Text::new(
            format!("{never} ({})", percent_short(never as f64 / result.runs.len().max(1) as f64)),
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
        entries.push((Swatch::None, format!("  ends at {} s", compact(w.end_s))));
    }
    let legend = FRAME.legend_area(root);
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
        (FRAME.legend_w + 30 + loads * HEAT_CELL_W, FRAME.title_h + 3 * VARY_PANEL_H + FRAME.provenance_h)
    } else {
        (FRAME.width, FRAME.title_h + 3 * VARY_PANEL_H + FRAME.provenance_h)
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
    FRAME.title(root, &heading, &subtitle)?;
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
    let (width, _) = root.dim_in_pixel();
    let plot_w = width - FRAME.legend_w;
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
    let ys: Vec<u32> = (0..=3).map(|r| FRAME.title_h + r * VARY_PANEL_H).collect();
    let cells = root.split_by_breakpoints([plot_w], ys);
    let key = result.keys.first().cloned().unwrap_or_default();
    for (k, kind) in RiskKind::ALL.into_iter().enumerate() {
        let area = &cells[2 * (k + 1)];
        let caption = format!("{} risk (point and 95% interval)", kind.label());
        let mut chart = SWEEP_PANEL.build(area, &caption, x_range.clone(), -0.03..1.03)?;
        let x_format = |v: &f64| {
            if numbers.is_some() {
                compact(*v)
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
        mesh(&mut chart, Axis::new(&key, x_ticks, &x_format), Axis::new("probability", 5, &|v| percent_short(*v)))?;
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
                    let at = tipping_point_at(result, l, kind, t)
                        .and_then(|p| p.params.first().map(|v| v.value.clone()))
                        .unwrap_or_else(|| "none".to_string());
                    format!("{l} {at}")
                })
                .collect();
            chart.draw_series(std::iter::once(Text::new(
                format!("threshold {} · whole interval below it from: {}", percent_short(t), from.join(", ")),
                (x_range.start, t),
                text_coloured(NOTE_SIZE, FAULT_TEXT).pos(Pos::new(HPos::Left, VPos::Bottom)),
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
        entries.push((Swatch::Dashed(FAULT_TEXT), format!("threshold {}", percent_short(t))));
    }
    let legend = FRAME.legend_area(root);
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
    let (width, _) = root.dim_in_pixel();
    let plot_w = width - FRAME.legend_w;
    let xs = distinct_values(result, 0);
    let ys = distinct_values(result, 1);
    let loads: Vec<String> =
        result.points.first().map_or(Vec::new(), |p| p.risks.iter().take(4).map(|r| r.name.clone()).collect());
    let columns = loads.len().max(1) as u32;
    let col_w = plot_w / columns;
    let breaks_x: Vec<u32> = (1..=columns).map(|c| c * col_w).collect();
    let breaks_y: Vec<u32> = (0..=3).map(|r| FRAME.title_h + r * VARY_PANEL_H).collect();
    let cells = root.split_by_breakpoints(breaks_x, breaks_y);
    let stride = columns as usize + 1;
    for (k, kind) in RiskKind::ALL.into_iter().enumerate() {
        for (l, load) in loads.iter().enumerate() {
            let area = &cells[stride * (k + 1) + l];
            let cell = Panel { top: 6, right: 6, bottom: 6, left: 6, y_label_area: 70, ..SWEEP_PANEL };
            let caption = format!("{load}: {}", kind.label());
            let mut chart = cell.build(area, &caption, 0.0..xs.len().max(1) as f64, 0.0..ys.len().max(1) as f64)?;
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
                let label = if safe { format!("{} ✓", percent_short(r.p)) } else { percent_short(r.p) };
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
        entries.push((Swatch::None, format!("✓ interval below {}", percent_short(t))));
    }
    let legend = FRAME.legend_area(root);
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

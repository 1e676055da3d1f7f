//! The run chart: goodput, latency and per-service health of one run over time (PNG, SVG).
//!
//! One figure of stacked panels that share the time axis (seconds since the start of
//! the run): goodput and offered load per load, p99 latency per load, utilization and
//! failed attempts per service, and a timeline of open circuit breakers. Every panel
//! shades the warmup period and each disturbance window, so a reader can see what a
//! fault did and how it spread.
//!
//! The chart takes a [`RunResult`], never the simulator, and is drawn with the chart
//! toolkit (`report::chart`) into memory.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::chart::frame::{Axis, RUN_FRAME, RUN_PANEL, RowAxis, fit_text, mesh, nice_ceiling, note, provenance};
use super::chart::legend::{Entry, Swatch, draw_legend, gap, warmup_entry};
use super::chart::style::{
    FAULT_SHADE, LEGEND_SIZE, SPIKE_SHADE, SWATCH_SHADE_ALPHA, TICK_SIZE, TITLE_SIZE, label_colour, series_colour,
    text, text_coloured,
};
use super::chart::timeline::{Midpoint, Shading, Timeline, clamp_window, shade_windows};
use super::chart::{Chart, ChartError, DrawResult, check_timing, ensure_font, render};
use super::output::OutputFile;
use crate::format::{compact, percent_whole};
use crate::model::counters::{SeriesDef, SeriesKind, series};
use crate::stats::health::HealthCause;
use crate::stats::{DisturbanceWindow, RunResult, ServiceBucket};

/// Height of the run chart with up to `BREAKER_ROWS_IN_BASE` rows of breakers; each
/// further row makes the figure taller rather than squeezing the other panels.
const BASE_HEIGHT: u32 = 900;
const BREAKER_ROWS_IN_BASE: u32 = 4;
/// At most this many services get a row in the breaker timeline.
const MAX_BREAKER_ROWS: usize = 24;
/// The strip above the first panel where disturbance labels go, in rows.
const LABEL_ROWS: usize = 2;
const LABEL_ROW_H: u32 = 22;
const BREAKER_ROW_H: u32 = 22;
/// Height a panel caption takes, with the gap above it.
const CAPTION_H: u32 = 36;

/// Height of each mechanism panel (a reported series with a panel of its own), added to
/// the figure's.
const MECHANISM_PANEL_H: u32 = 150;

fn figure_size(result: &RunResult) -> (u32, u32) {
    let rows = breaker_rows(result).len() as u32;
    let extra = rows.saturating_sub(BREAKER_ROWS_IN_BASE) * BREAKER_ROW_H
        + mechanism_panels(result).len() as u32 * MECHANISM_PANEL_H;
    (RUN_FRAME.width, BASE_HEIGHT + extra)
}

/// The panels of the reported series that have one (`SeriesDef::panel`: ejections,
/// local rejections, replicas...), in column order, below the failed-attempts panel.
fn mechanism_panels(result: &RunResult) -> Vec<ServicePanel> {
    result
        .series
        .iter()
        .filter_map(|(i, def)| {
            let caption = def.panel?;
            let (y_desc, value) = match def.kind {
                SeriesKind::Count(_) => ("per second", Value::Rate(i)),
                SeriesKind::Level | SeriesKind::Tripped { .. } => (def.column, Value::Level(i)),
            };
            Some(ServicePanel {
                caption,
                y_desc,
                y_labels: 4,
                scale: Scale::Rate,
                value,
                when_no_service: None,
                when_all_zero: Some("none in this run"),
            })
        })
        .collect()
}

/// The services whose client breakers were ever open, in file order: each gets a row
/// in the breaker timeline.
fn breaker_rows(result: &RunResult) -> Vec<(usize, usize)> {
    let tripped = tripped_series();
    (0..result.services.len())
        .flat_map(|s| tripped.iter().map(move |&(i, _)| (s, i)))
        .filter(|&(s, i)| result.services[s].buckets.iter().any(|b| b.series[i] > 0.0))
        .take(MAX_BREAKER_ROWS)
        .collect()
}

/// The registered per-bucket series that are shares of tripped stages (client circuit
/// breakers open...), with their index in a bucket's `series`: the strips of panel 5.
fn tripped_series() -> Vec<(usize, &'static SeriesDef)> {
    series().enumerate().filter(|(_, d)| matches!(d.kind, SeriesKind::Tripped { .. })).collect()
}

/// The caption and the "none" note of panel 5, from its series.
fn tripped_texts() -> (String, String) {
    let texts = tripped_series().into_iter().filter_map(|(_, d)| match d.kind {
        SeriesKind::Tripped { caption, none } => Some((caption, none)),
        SeriesKind::Count(_) | SeriesKind::Level => None,
    });
    let (captions, nones): (Vec<&str>, Vec<&str>) = texts.unzip();
    (captions.join("; "), nones.join("; "))
}

/// Draws the run chart of `result` as `run.png` and `run.svg`.
///
/// The SVG keeps text as `<text>` elements in the `sans-serif` family; positions were
/// laid out with DejaVu Sans metrics.
pub fn run_charts(result: &RunResult) -> Result<Vec<OutputFile>, ChartError> {
    ensure_font()?;
    check_timing(result.bucket_s, result.simulated_s, result.warmup_s)?;
    let mut files = Vec::new();
    render("run", figure_size(result), &mut files, |r| draw_run_chart(r, result), |r| draw_run_chart(r, result))?;
    Ok(files)
}

/// The run's time axis: every bucket, on an axis to the end of the run (or of the
/// buckets, for a result that does not say how long it ran).
fn timeline(result: &RunResult) -> Timeline {
    let n = result.bucket_count();
    let full = n as f64 * result.bucket_s;
    let x_end = if result.simulated_s > 0.0 {
        result.simulated_s
    } else if full > 0.0 {
        full
    } else {
        1.0
    };
    Timeline::new((0..n).map(|i| result.bucket_start_s(i)), result.bucket_s, x_end, Midpoint::HalfDuration)
}

fn shading(result: &RunResult) -> Shading<'_> {
    Shading { warmup_s: result.warmup_s, disturbances: &result.disturbances }
}

// ---------------------------------------------------------------------------------
// The series: what each per-service line panel plots, in one table.

/// How a line panel's y axis is scaled and labelled.
#[derive(Clone, Copy)]
enum Scale {
    /// A share: 0 to 105%, values clamped into it.
    Share,
    /// A rate: 0 to a round number above the largest value.
    Rate,
}

/// A panel with one line per service: its caption, axis and value per bucket.
struct ServicePanel {
    caption: &'static str,
    y_desc: &'static str,
    y_labels: usize,
    scale: Scale,
    /// The value of bucket `i` of a service.
    value: Value,
    /// Written on the panel when the run has no service.
    when_no_service: Option<&'static str>,
    /// Written on the panel when every value of every service is 0.
    when_all_zero: Option<&'static str>,
}

/// What a line panel plots for a service's bucket.
#[derive(Clone, Copy)]
enum Value {
    /// Computed from the bucket (its index given).
    Of(fn(&Timeline, usize, &ServiceBucket) -> f64),
    /// A counted series (its index in the bucket's values) per second.
    Rate(usize),
    /// A series' value as it is.
    Level(usize),
}

impl Value {
    fn at(self, timeline: &Timeline, i: usize, b: &ServiceBucket) -> f64 {
        match self {
            Value::Of(f) => f(timeline, i, b),
            Value::Rate(k) => b.series[k] / timeline.dur_s[i],
            Value::Level(k) => b.series[k],
        }
    }
}

/// The per-service line panels, top to bottom.
const SERVICE_PANELS: [ServicePanel; 2] = [
    ServicePanel {
        caption: "utilization per service (busy share of workers)",
        y_desc: "utilization",
        y_labels: 5,
        scale: Scale::Share,
        value: Value::Of(|_, _, b| if b.utilization.is_finite() { b.utilization.clamp(0.0, 1.05) } else { 0.0 }),
        when_no_service: Some("no services in this run"),
        when_all_zero: None,
    },
    ServicePanel {
        caption: "failed attempts per service (caller timeouts included)",
        y_desc: "failed/s",
        y_labels: 5,
        scale: Scale::Rate,
        // An attempt its caller gave up on failed too, whatever the service answered later.
        value: Value::Of(|t, i, b| t.rate(i, b.failed + b.timeouts)),
        when_no_service: None,
        when_all_zero: Some("no failed attempts"),
    },
];

// ---------------------------------------------------------------------------------
// The figure.

fn draw_run_chart<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, result: &RunResult) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let timeline = timeline(result);
    let (width, height) = root.dim_in_pixel();
    let frame = RUN_FRAME;

    // Services whose client breakers were ever open get a row in the breaker timeline.
    let breaker_rows = breaker_rows(result);

    let label_strip_h = LABEL_ROWS as u32 * LABEL_ROW_H + 4;
    let top = frame.title_h + label_strip_h;
    let breaker_h = CAPTION_H + RUN_PANEL.x_label_area + BREAKER_ROW_H * breaker_rows.len().max(2) as u32;
    // Breaker rows beyond the base count and mechanism panels were added to the figure's
    // height, so they never squeeze the other panels.
    let mechanisms = mechanism_panels(result);
    let mechanisms_h = mechanisms.len() as u32 * MECHANISM_PANEL_H;
    let rest = height.saturating_sub(top + breaker_h + mechanisms_h);
    // Goodput gets the most room; latency next; the two per-service line panels share the rest.
    let goodput_h = rest * 28 / 100;
    let latency_h = rest * 25 / 100;
    let utilization_h = rest * 23 / 100;
    let failed_h = rest - goodput_h - latency_h - utilization_h;

    let plot_w = width - frame.legend_w;
    let y1 = top + goodput_h;
    let y2 = y1 + latency_h;
    let y3 = y2 + utilization_h;
    let y4 = y3 + failed_h;
    let (title_area, _) = root.split_vertically(frame.title_h);
    let mut breaks = vec![frame.title_h, top, y1, y2, y3, y4];
    breaks.extend((1..=mechanisms.len() as u32).map(|k| y4 + k * MECHANISM_PANEL_H));
    let cells = root.split_by_breakpoints([plot_w], breaks);
    // Row-major: (left, right) for title, labels, goodput, latency, utilization, failed,
    // each mechanism, breakers.
    draw_title(&title_area, result)?;

    let x_pixels = goodput_panel(&cells[4], result, &timeline)?;
    latency_panel(&cells[6], result, &timeline)?;
    let line_panels = SERVICE_PANELS.iter().chain(&mechanisms);
    for (k, panel) in line_panels.enumerate() {
        service_panel(&cells[8 + 2 * k], panel, result, &timeline)?;
    }
    breaker_panel(&cells[12 + 2 * mechanisms.len()], result, &timeline, &breaker_rows)?;

    draw_disturbance_labels(root, result, &timeline, x_pixels, frame.title_h + 2)?;

    // Legends sit in the right-hand column, beside the panels they explain.
    let load_legend = root.clone().shrink((plot_w as i32, top as i32), (frame.legend_w, goodput_h + latency_h));
    draw_load_legend(&load_legend, result)?;
    let service_legend = root
        .clone()
        .shrink((plot_w as i32, y2 as i32), (frame.legend_w, height.saturating_sub(y2 + frame.provenance_h)));
    draw_service_legend(&service_legend, result)?;
    provenance(root, &result.stormcast_version, &result.scenario_hash)
}

/// The title (scenario and seed) centred over the plots.
fn draw_title<DB: DrawingBackend>(title_area: &DrawingArea<DB, Shift>, result: &RunResult) -> DrawResult<(), DB> {
    let title = format!("{}  —  seed {}", result.scenario, result.seed);
    let (w, h) = title_area.dim_in_pixel();
    let style = text(TITLE_SIZE);
    let title = fit_text(title_area, &title, &style, w.saturating_sub(20))?;
    let plots_centre = ((RUN_PANEL.left + RUN_PANEL.y_label_area) as i32 + w as i32
        - (RUN_FRAME.legend_w + RUN_PANEL.right) as i32)
        / 2;
    let width = title_area.estimate_text_size(&title, &style)?.0 as i32;
    // Centre over the plots, but never past either edge.
    let x = plots_centre.clamp(width / 2 + 4, (w as i32 - width / 2 - 4).max(width / 2 + 4));
    title_area.draw_text(&title, &style.pos(Pos::new(HPos::Center, VPos::Center)), (x, h as i32 / 2))
}

// ---------------------------------------------------------------------------------
// Panels.

type TimeChart<'a, DB, Y> = Chart<'a, DB, RangedCoordf64, Y>;

/// Builds one panel on `area` with the shared time axis. Only the bottom panel
/// carries time tick labels; the others keep the vertical grid so the eye can follow.
fn panel<'a, DB, Y>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    timeline: &Timeline,
    y_spec: Y,
    bottom: bool,
) -> DrawResult<TimeChart<'a, DB, Y::CoordDescType>, DB>
where
    DB: DrawingBackend,
    Y: AsRangedCoord,
{
    let layout = if bottom { RUN_PANEL } else { RUN_PANEL.without_x_labels() };
    layout.build(area, caption, 0.0..timeline.x_end, y_spec)
}

/// Draws the grid and axes of a panel: time ticks on every panel, labelled only on the
/// bottom one.
fn time_mesh<DB, Y>(
    chart: &mut TimeChart<'_, DB, Y>,
    y_desc: &str,
    y_labels: usize,
    y_format: &dyn Fn(&Y::ValueType) -> String,
    bottom: bool,
) -> DrawResult<(), DB>
where
    DB: DrawingBackend,
    Y: Ranged + ValueFormatter<<Y as Ranged>::ValueType>,
{
    let ticks = |v: &f64| compact(*v);
    let x = Axis { desc: bottom.then_some("time since start of run (s)"), labels: 13, format: &ticks };
    mesh(chart, x, Axis { desc: Some(y_desc), labels: y_labels, format: y_format })
}

/// Draws `values` as lines, broken wherever a value is missing; a lone sample
/// between gaps becomes a dot so it is not lost.
fn draw_gapped<DB, Y>(
    chart: &mut TimeChart<'_, DB, Y>,
    timeline: &Timeline,
    values: &[Option<f64>],
    style: ShapeStyle,
) -> DrawResult<(), DB>
where
    DB: DrawingBackend,
    Y: Ranged<ValueType = f64>,
{
    let mut run: Vec<(f64, f64)> = Vec::new();
    let flush = |run: &mut Vec<(f64, f64)>, chart: &mut TimeChart<'_, DB, Y>| -> DrawResult<(), DB> {
        match run.len() {
            0 => {}
            1 => {
                chart.draw_series(std::iter::once(Circle::new(run[0], style.stroke_width + 1, style.filled())))?;
            }
            _ => {
                chart.draw_series(LineSeries::new(run.iter().copied(), style))?;
            }
        }
        run.clear();
        Ok(())
    };
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => run.push((timeline.mid_s[i], *v)),
            None => flush(&mut run, chart)?,
        }
    }
    flush(&mut run, chart)
}

/// Panel 1: goodput (ok/s) per load as solid lines, offered load (arrivals/s) dashed.
/// Returns the pixel range of the plotting area along x, for the disturbance labels.
fn goodput_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    result: &RunResult,
    timeline: &Timeline,
) -> DrawResult<Range<i32>, DB> {
    let series: Vec<(Vec<f64>, Vec<f64>)> = result
        .loads
        .iter()
        .map(|load| {
            let n = load.buckets.len().min(timeline.mid_s.len());
            let goodput = (0..n).map(|i| timeline.rate(i, load.buckets[i].ok)).collect();
            let offered = (0..n).map(|i| timeline.rate(i, load.buckets[i].arrivals)).collect();
            (goodput, offered)
        })
        .collect();
    let y_max = series.iter().flat_map(|(g, o)| g.iter().chain(o.iter())).fold(0.0_f64, |m, v| m.max(*v));
    let y_top = nice_ceiling(y_max * 1.08).max(1.0);

    let mut chart = panel(area, "goodput (solid) and offered load (dashed) per load", timeline, 0.0..y_top, false)?;
    shade_windows(&mut chart, &shading(result), timeline.x_end, 0.0..y_top)?;
    time_mesh(&mut chart, "requests/s", 6, &|v| compact(*v), false)?;
    for (index, (goodput, offered)) in series.iter().enumerate() {
        let colour = series_colour(index);
        chart.draw_series(DashedLineSeries::new(
            timeline.mid_s.iter().copied().zip(offered.iter().copied()),
            6,
            4,
            colour.mix(0.9).stroke_width(1),
        ))?;
        chart.draw_series(LineSeries::new(
            timeline.mid_s.iter().copied().zip(goodput.iter().copied()),
            colour.stroke_width(2),
        ))?;
    }
    if result.loads.is_empty() {
        note(chart.plotting_area(), "no loads in this run")?;
    }
    Ok(chart.plotting_area().get_pixel_range().0)
}

/// Panel 2: p99 latency of successful requests per load, in ms, with gaps where a
/// bucket had none; log scale when the values span more than two decades.
fn latency_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    result: &RunResult,
    timeline: &Timeline,
) -> DrawResult<(), DB> {
    let series: Vec<Vec<Option<f64>>> = result
        .loads
        .iter()
        .map(|load| {
            load.buckets
                .iter()
                .take(timeline.mid_s.len())
                .map(|b| b.latency_ms_p99.filter(|v| v.is_finite() && *v >= 0.0))
                .collect()
        })
        .collect();
    let values = || series.iter().flatten().flatten().copied();
    let max = values().fold(0.0_f64, f64::max);
    let min_positive = values().filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);

    if min_positive.is_finite() && max / min_positive > 100.0 {
        // Log scale: values at or below the floor (including 0 ms) sit on the floor.
        let floor = min_positive / 1.5;
        let y_range = floor..max * 1.5;
        let series: Vec<Vec<Option<f64>>> =
            series.iter().map(|s| s.iter().map(|v| v.map(|v| v.max(floor))).collect()).collect();
        let mut chart = panel(
            area,
            "p99 latency of successful requests per load (log scale)",
            timeline,
            y_range.clone().log_scale(),
            false,
        )?;
        latency_lines(&mut chart, result, timeline, &series, y_range)
    } else {
        let y_top = nice_ceiling(max * 1.1).max(1.0);
        let mut chart = panel(area, "p99 latency of successful requests per load", timeline, 0.0..y_top, false)?;
        latency_lines(&mut chart, result, timeline, &series, 0.0..y_top)
    }
}

fn latency_lines<DB, Y>(
    chart: &mut TimeChart<'_, DB, Y>,
    result: &RunResult,
    timeline: &Timeline,
    series: &[Vec<Option<f64>>],
    y_range: Range<f64>,
) -> DrawResult<(), DB>
where
    DB: DrawingBackend,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    shade_windows(chart, &shading(result), timeline.x_end, y_range)?;
    time_mesh(chart, "p99 latency (ms)", 6, &|v| compact(*v), false)?;
    for (index, values) in series.iter().enumerate() {
        draw_gapped(chart, timeline, values, series_colour(index).stroke_width(2))?;
    }
    if result.loads.is_empty() {
        note(chart.plotting_area(), "no loads in this run")?;
    } else if series.iter().flatten().all(Option::is_none) {
        note(chart.plotting_area(), "no request ended ok: no latency to show")?;
    }
    Ok(())
}

/// Panels 3 and 4 (`SERVICE_PANELS`): one line per service.
fn service_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    spec: &ServicePanel,
    result: &RunResult,
    timeline: &Timeline,
) -> DrawResult<(), DB> {
    let series: Vec<Vec<f64>> = result
        .services
        .iter()
        .map(|s| {
            let n = s.buckets.len().min(timeline.mid_s.len());
            (0..n).map(|i| spec.value.at(timeline, i, &s.buckets[i])).collect()
        })
        .collect();
    let y_max = series.iter().flatten().fold(0.0_f64, |m, v| m.max(*v));
    let (y_top, y_format): (f64, &dyn Fn(&f64) -> String) = match spec.scale {
        Scale::Share => (1.05, &|v| percent_whole(*v)),
        Scale::Rate => (nice_ceiling(y_max * 1.1).max(1.0), &|v| compact(*v)),
    };
    let mut chart = panel(area, spec.caption, timeline, 0.0..y_top, false)?;
    shade_windows(&mut chart, &shading(result), timeline.x_end, 0.0..y_top)?;
    time_mesh(&mut chart, spec.y_desc, spec.y_labels, y_format, false)?;
    for (index, values) in series.iter().enumerate() {
        let points = timeline.mid_s.iter().copied().zip(values.iter().copied());
        let style = series_colour(index).stroke_width(2);
        // A line equal to an earlier one (not all zero) is dashed over it: both show.
        if values.iter().any(|v| *v != 0.0) && series[..index].contains(values) {
            chart.draw_series(DashedLineSeries::new(points, 7, 5, style))?;
        } else {
            chart.draw_series(LineSeries::new(points, style))?;
        }
    }
    let message = if result.services.is_empty() {
        spec.when_no_service
    } else if y_max == 0.0 {
        spec.when_all_zero
    } else {
        None
    };
    if let Some(message) = message {
        note(chart.plotting_area(), message)?;
    }
    Ok(())
}

/// Panel 5: one row per service whose client circuit breakers (or any registered
/// tripped series: `model::counters::SeriesKind::Tripped`) were ever open; a cell is drawn
/// where some were open at the end of a bucket, darker the larger the share.
fn breaker_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    result: &RunResult,
    timeline: &Timeline,
    rows: &[(usize, usize)],
) -> DrawResult<(), DB> {
    let row_count = rows.len().max(1);
    let (caption, none) = tripped_texts();
    let several = tripped_series().len() > 1;
    // Names must fit the label area beside the rows, leaving room for the tick marks.
    let room = RUN_PANEL.y_label_area - 14;
    let names = rows
        .iter()
        .map(|&(s, i)| {
            let name = &result.services[s].name;
            // With one tripped series the row is the service; with several, the pair.
            let row =
                if several { format!("{name} {}", series().nth(i).map_or("", |d| d.column)) } else { name.clone() };
            fit_text(area, &row, &text(TICK_SIZE), room)
        })
        .collect::<Result<Vec<String>, _>>()?;
    // Row r spans [r, r + 1) on a plain axis whose only ticks are the row centres, which
    // carry the service names. Row 0 is at the bottom, so the first service in file
    // order takes the top row.
    let top_row = row_count - 1;
    let mut chart = panel(area, &caption, timeline, RowAxis::new(row_count), true)?;
    shade_windows(&mut chart, &shading(result), timeline.x_end, 0.0..row_count as f64)?;
    let format_row = |v: &f64| {
        let r = v.floor().max(0.0) as usize;
        names.get(top_row.wrapping_sub(r)).cloned().unwrap_or_default()
    };
    time_mesh(&mut chart, "", row_count, &format_row, true)?;
    let mut cells = Vec::new();
    for (row, &(s, k)) in rows.iter().enumerate() {
        let y = (top_row - row) as f64;
        let colour = series_colour(s);
        for (i, b) in result.services[s].buckets.iter().enumerate().take(timeline.mid_s.len()) {
            if b.series[k] > 0.0 {
                let (start, end) = timeline.span_s[i];
                let alpha = 0.3 + 0.7 * b.series[k].clamp(0.0, 1.0);
                cells.push(Rectangle::new([(start, y + 0.06), (end, y + 0.94)], colour.mix(alpha).filled()));
            }
        }
    }
    chart.draw_series(cells)?;
    if rows.is_empty() {
        note(chart.plotting_area(), &none)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Disturbance labels and legends.

/// Writes each disturbance's label once, above the first panel, starting at the
/// window's left edge. Labels that would overlap go to the next row; when no row has
/// room, the label is shortened to the room there is.
fn draw_disturbance_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    result: &RunResult,
    timeline: &Timeline,
    x_pixels: Range<i32>,
    top: u32,
) -> DrawResult<(), DB> {
    let to_px = |s: f64| {
        let w = f64::from(x_pixels.end - x_pixels.start);
        x_pixels.start + (s / timeline.x_end * w).round() as i32
    };
    let mut windows: Vec<&DisturbanceWindow> = result.disturbances.iter().collect();
    // Stable sort: windows starting together keep their order in the result.
    windows.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    // The rightmost pixel used so far in each row.
    let mut row_end = [i32::MIN; LABEL_ROWS];
    let gap = 8;
    for w in windows {
        let (start, end) = clamp_window(w, timeline.x_end);
        if end < start || (start >= timeline.x_end && w.start_s > timeline.x_end) {
            continue;
        }
        let style = text_coloured(LEGEND_SIZE, label_colour(w.kind));
        let x = to_px(start);
        let label = format!("▸ {}", w.label);
        let width = root.estimate_text_size(&label, &style)?.0 as i32;
        let right_limit = x_pixels.end + RUN_FRAME.legend_w as i32 - 8;
        let row = (0..LABEL_ROWS)
            .find(|&r| row_end[r] + gap <= x && x + width <= right_limit)
            .or_else(|| (0..LABEL_ROWS).min_by_key(|&r| row_end[r]));
        let Some(row) = row else { continue };
        let x = x.max(row_end[row] + gap);
        // Shorten the label to the space left before the next label in this row would
        // collide, i.e. up to the right edge of the figure.
        let room = (right_limit - x).max(0) as u32;
        let label = fit_text(root, &label, &style, room)?;
        let y = top as i32 + row as i32 * LABEL_ROW_H as i32 + LABEL_ROW_H as i32 / 2;
        root.draw_text(&label, &style.pos(Pos::new(HPos::Left, VPos::Center)), (x, y))?;
        let used = root.estimate_text_size(&label, &style)?.0 as i32;
        row_end[row] = x + used;
    }
    Ok(())
}

fn draw_load_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, result: &RunResult) -> DrawResult<(), DB> {
    let mut entries: Vec<Entry> =
        result.loads.iter().enumerate().map(|(i, l)| (Swatch::Line(series_colour(i), 2), l.name.clone())).collect();
    entries.push(gap());
    entries.push((Swatch::Line(BLACK, 2), "goodput (ok/s)".to_string()));
    entries.push((Swatch::Dashed(BLACK), "offered (arrivals/s)".to_string()));
    entries.push(gap());
    entries.push((Swatch::Block(FAULT_SHADE.mix(SWATCH_SHADE_ALPHA)), "fault".to_string()));
    entries.push((Swatch::Block(SPIKE_SHADE.mix(SWATCH_SHADE_ALPHA)), "load spike".to_string()));
    entries.push(warmup_entry(result.warmup_s));
    draw_legend(area, "loads", &entries)
}

/// One row per service, with the cause when it was unhealthy (`stats::health`), then
/// the run's cascade in the same words as the table.
fn draw_service_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, result: &RunResult) -> DrawResult<(), DB> {
    let mut entries: Vec<Entry> = result
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| {
            // A dependency says whether it was impaired (part of the cascade, whose
            // origin the rows below name) or only relayed: the table's words, short
            // enough for the legend beside a long name.
            let label = match s.health.cause {
                Some(HealthCause::Dependency) if s.health.is_unhealthy() => {
                    format!("{}: {}", s.name, if s.health.impaired { "impaired" } else { "relayed" })
                }
                Some(cause) if s.health.is_unhealthy() => format!("{}: {}", s.name, cause.name()),
                _ => s.name.clone(),
            };
            (Swatch::Line(series_colour(i), 2), label)
        })
        .collect();
    entries.push(gap());
    let c = &result.cascade;
    if c.cascade {
        entries.push((Swatch::None, "cascade".to_string()));
        entries.push((Swatch::None, format!("from {}", c.origin.join(", "))));
        entries.push((Swatch::None, format!("to {}", c.blast_radius.join(", "))));
    } else {
        entries.push((Swatch::None, "no cascade".to_string()));
    }
    draw_legend(area, "services (health)", &entries)
}

#[cfg(test)]
#[path = "run_chart_tests.rs"]
mod tests;

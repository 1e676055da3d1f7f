//! The rollout chart: one seed of `stormcast rollout`, drawn so a reader sees at a
//! glance how the canary was exposed, what the analysis measured and why it decided
//! (PNG, SVG).
//!
//! Four stacked panels share the time axis (seconds since the start of the run): the
//! canary's weight (a step line, the decision as a vertical line labelled promoted or
//! rolled back, or a note when unfinished); canary against stable goodput; canary
//! against stable success rate; canary against stable p99. Each check is a marker at its
//! time on the panel of its metric (success and error rate on the success-rate panel,
//! an error rate as one minus it; latency percentiles on the p99 panel; throughput on
//! the goodput panel): a dot when it passed, a cross when it failed, a hollow triangle
//! when it was inconclusive (at the panel's floor when there was no canary traffic to
//! measure). Each bound a check sets is a dashed line on its panel, and the first SLO
//! breach, if any, a dotted line across all panels.
//!
//! The chart takes a [`RunResult`] (with its `rollout`) and the bounds of the strategy's
//! checks ([`Bound::of_strategy`]), never the simulator.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::chart::frame::{Axis, RUN_FRAME, RUN_PANEL, mesh, nice_ceiling, provenance};
use super::chart::legend::{Entry, Shape, Swatch, draw_legend, gap};
use super::chart::style::{SMALL_SIZE, TITLE_SIZE, text, text_coloured};
use super::chart::timeline::{Midpoint, Timeline};
use super::chart::{Chart, ChartError, DrawResult, check_timing, ensure_font, render};
use super::output::OutputFile;
use crate::format::{compact, percent_whole};
use crate::model::rollout::{Metric, Strategy, Style};
use crate::rollout::controller::{CheckRecord, Outcome, Verdict};
use crate::rollout::summary::RolloutSummary;
use crate::stats::{RunResult, ServiceBucket};

const SIZE: (u32, u32) = (1200, 1000);
/// The top of the weight axis: above 100% is a strip for the decision's label.
const WEIGHT_TOP: f64 = 150.0;
/// The stable version and the canary: blue and purple of the house palette, apart from
/// the green, red and amber of the check results.
const STABLE: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const CANARY: RGBColor = RGBColor(0x94, 0x67, 0xbd);
const PASS: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const FAIL: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const INCONCLUSIVE: RGBColor = RGBColor(0xc7, 0x7c, 0x00);
const BREACH: RGBColor = RGBColor(0x30, 0x30, 0x30);
const THRESHOLD: RGBColor = RGBColor(0x60, 0x60, 0x60);

/// A bound one of the strategy's checks sets on a metric: the value a check passes
/// at or above (`min`) or at or below (`max`), or fails beyond (Argo's `fail_below`,
/// `fail_above`).
#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    pub metric: Metric,
    pub value: f64,
    /// `min`, `max`, `fail below` or `fail above`, with the check's name.
    pub label: String,
}

impl Bound {
    /// Every bound of the strategy's checks (Flagger) or analysis metrics (Argo), without
    /// repeats.
    pub fn of_strategy(strategy: &Strategy) -> Vec<Bound> {
        let mut out: Vec<Bound> = Vec::new();
        let mut add = |metric: Metric, value: Option<f64>, kind: &str, name: &str| {
            if let Some(value) = value {
                let mut label = format!("{name} {kind} {}", show(metric.name(), value));
                if metric == Metric::ErrorRate {
                    label.push_str(&format!(" (ok {})", show("success_rate", 1.0 - value)));
                }
                let bound = Bound { metric, value, label };
                if !out.iter().any(|b| b.metric == metric && b.value == value) {
                    out.push(bound);
                }
            }
        };
        match &strategy.style {
            Style::Flagger(f) => {
                for c in &f.checks {
                    add(c.metric, c.min, "min", &c.name);
                    add(c.metric, c.max, "max", &c.name);
                }
            }
            Style::Argo(a) => {
                for m in a.analyses.iter().flat_map(|a| &a.metrics) {
                    add(m.metric, m.success.and_then(|c| c.min), "min", &m.name);
                    add(m.metric, m.success.and_then(|c| c.max), "max", &m.name);
                    add(m.metric, m.failure.and_then(|c| c.below), "fail below", &m.name);
                    add(m.metric, m.failure.and_then(|c| c.above), "fail above", &m.name);
                }
            }
        }
        out
    }
}

/// A metric's value as a reader writes it: shares in percent, latencies in ms.
fn show(metric: &str, v: f64) -> String {
    match Kind::of(metric) {
        Kind::Rate => format!("{}%", compact(v * 100.0)),
        Kind::Latency => format!("{} ms", compact(v)),
        Kind::Throughput => format!("{} rps", compact(v)),
    }
}

/// Which panel a metric's checks and bounds are drawn on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Success or error rate: the success-rate panel.
    Rate,
    /// A latency percentile: the p99 panel.
    Latency,
    /// Requests per second: the goodput panel.
    Throughput,
}

impl Kind {
    fn of(metric: &str) -> Kind {
        match metric {
            "success_rate" | "error_rate" => Kind::Rate,
            "throughput" => Kind::Throughput,
            _ => Kind::Latency,
        }
    }

    /// Where `value` of `metric` sits on this kind's panel: an error rate is drawn as
    /// the success rate it leaves.
    fn plotted(metric: &str, value: f64) -> f64 {
        if metric == "error_rate" { 1.0 - value } else { value }
    }
}

/// Draws the rollout chart of `result` as `rollout.png` and `rollout.svg`; `bounds` are
/// the strategy's check bounds ([`Bound::of_strategy`]).
pub fn rollout_charts(result: &RunResult, bounds: &[Bound]) -> Result<Vec<OutputFile>, ChartError> {
    ensure_font()?;
    check_timing(result.bucket_s, result.simulated_s, result.warmup_s)?;
    let Some(rollout) = &result.rollout else {
        return Err(ChartError::InvalidResult("the run has no rollout to chart".to_string()));
    };
    let data = Data::new(result, rollout, bounds)?;
    let mut files = Vec::new();
    render("rollout", SIZE, &mut files, |r| draw(r, &data), |r| draw(r, &data))?;
    Ok(files)
}

/// What the panels draw, taken from the result once.
struct Data<'a> {
    result: &'a RunResult,
    rollout: &'a RolloutSummary,
    bounds: &'a [Bound],
    timeline: Timeline,
    stable: &'a [ServiceBucket],
    canary: &'a [ServiceBucket],
}

impl<'a> Data<'a> {
    fn new(result: &'a RunResult, rollout: &'a RolloutSummary, bounds: &'a [Bound]) -> Result<Self, ChartError> {
        let buckets = |name: &str| {
            result.services.iter().find(|s| s.name == name).map(|s| s.buckets.as_slice()).ok_or_else(|| {
                ChartError::InvalidResult(format!("the rollout's service `{name}` is not among the run's services"))
            })
        };
        let n = result.bucket_count();
        let x_end = if result.simulated_s > 0.0 { result.simulated_s } else { (n as f64 * result.bucket_s).max(1.0) };
        Ok(Data {
            result,
            rollout,
            bounds,
            timeline: Timeline::new(
                (0..n).map(|i| result.bucket_start_s(i)),
                result.bucket_s,
                x_end,
                Midpoint::HalfDuration,
            ),
            stable: buckets(&rollout.service)?,
            canary: buckets(&rollout.canary)?,
        })
    }

    /// A per-bucket series of a version.
    fn series(&self, buckets: &[ServiceBucket], f: impl Fn(usize, &ServiceBucket) -> Option<f64>) -> Vec<Option<f64>> {
        buckets.iter().take(self.timeline.mid_s.len()).enumerate().map(|(i, b)| f(i, b)).collect()
    }

    /// The checks drawn on `kind`'s panel.
    fn checks(&self, kind: Kind) -> impl Iterator<Item = &CheckRecord> {
        self.rollout.checks.iter().filter(move |c| Kind::of(c.metric) == kind)
    }

    /// The bounds drawn on `kind`'s panel, as plotted values, each value once with the
    /// labels of every bound at it (a success rate's minimum and an error rate's
    /// maximum can meet).
    fn bounds(&self, kind: Kind) -> Vec<(f64, String)> {
        let mut out: Vec<(f64, String)> = Vec::new();
        for b in self.bounds.iter().filter(|b| Kind::of(b.metric.name()) == kind) {
            let value = Kind::plotted(b.metric.name(), b.value);
            match out.iter_mut().find(|(v, _)| (*v - value).abs() < 1e-9) {
                Some((_, label)) => {
                    label.push_str(", ");
                    label.push_str(&b.label);
                }
                None => out.push((value, b.label.clone())),
            }
        }
        out
    }

    /// Whether the strategy checks anything drawn on `kind`'s panel.
    fn has_checks(&self, kind: Kind) -> bool {
        self.checks(kind).next().is_some() || !self.bounds(kind).is_empty()
    }

    /// The first SLO breach of any load after the rollout began.
    fn first_breach(&self) -> Option<(f64, &str)> {
        self.rollout
            .loads
            .iter()
            .filter_map(|l| l.slo_breached_s.map(|s| (s, l.load.as_str())))
            .min_by(|a, b| a.0.total_cmp(&b.0))
    }
}

type TimeChart<'a, DB> = Chart<'a, DB, RangedCoordf64, RangedCoordf64>;

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, data: &Data) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let (width, height) = root.dim_in_pixel();
    let frame = RUN_FRAME;
    let top = frame.title_h + 8;
    let rest = height - top - frame.provenance_h;
    let weight_h = rest * 19 / 100;
    let goodput_h = rest * 23 / 100;
    let rate_h = rest * 26 / 100;
    let plot_w = width - frame.legend_w;
    let (y1, y2, y3) = (top + weight_h, top + weight_h + goodput_h, top + weight_h + goodput_h + rate_h);
    let cells = root.split_by_breakpoints([plot_w], [top, y1, y2, y3, height - frame.provenance_h]);
    draw_title(root, data)?;
    weight_panel(&cells[2], data)?;
    goodput_panel(&cells[4], data)?;
    rate_panel(&cells[6], data)?;
    latency_panel(&cells[8], data)?;
    let legend = root.clone().shrink((plot_w as i32, top as i32), (frame.legend_w, rest));
    draw_legend(&legend, "rollout", &legend_entries(data))?;
    provenance(root, &data.result.stormcast_version, &data.result.scenario_hash)
}

fn draw_title<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, data: &Data) -> DrawResult<(), DB> {
    let r = data.rollout;
    let title = format!("rollout of {} ({}, {})  —  seed {}", r.service, r.style, r.strategy, data.result.seed);
    let style = text(TITLE_SIZE);
    let title = super::chart::frame::fit_text(root, &title, &style, SIZE.0 - 40)?;
    root.draw_text(&title, &style.pos(Pos::new(HPos::Left, VPos::Center)), (16, RUN_FRAME.title_h as i32 / 2 + 4))
}

/// A panel on the shared time axis; only the bottom one labels its time ticks.
fn panel<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    data: &Data,
    y: Range<f64>,
    y_desc: &str,
    y_format: &dyn Fn(&f64) -> String,
    bottom: bool,
) -> DrawResult<TimeChart<'a, DB>, DB> {
    let layout = if bottom { RUN_PANEL } else { RUN_PANEL.without_x_labels() };
    let mut chart = layout.build(area, caption, 0.0..data.timeline.x_end, y)?;
    let ticks = |v: &f64| compact(*v);
    let x = Axis { desc: bottom.then_some("time since start of run (s)"), labels: 13, format: &ticks };
    mesh(&mut chart, x, Axis { desc: Some(y_desc), labels: 5, format: y_format })?;
    Ok(chart)
}

/// Panel 1: the canary's weight as a step line over a light fill, the rollout's start,
/// the decision and the first SLO breach as vertical lines, each labelled.
fn weight_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, data: &Data) -> DrawResult<(), DB> {
    let r = data.rollout;
    let mut chart = panel(
        area,
        "canary weight (share of traffic)",
        data,
        0.0..WEIGHT_TOP,
        "weight",
        &|v| {
            if *v <= 100.0 { format!("{v:.0}%") } else { String::new() }
        },
        false,
    )?;
    let mut points = vec![(0.0, 0.0)];
    for w in &r.weights {
        let last = points.last().map_or(0.0, |p| p.1);
        points.push((w.at_s, last));
        points.push((w.at_s, f64::from(w.weight)));
    }
    points.push((data.timeline.x_end, points.last().map_or(0.0, |p| p.1)));
    chart.draw_series(AreaSeries::new(points.iter().copied(), 0.0, CANARY.mix(0.15)))?;
    chart.draw_series(LineSeries::new(points, CANARY.stroke_width(2)))?;
    // Each step's weight, written above its start.
    let style = text_coloured(SMALL_SIZE, CANARY).pos(Pos::new(HPos::Left, VPos::Bottom));
    let steps = r.weights.iter().filter(|w| w.weight > 0 && w.weight < 100);
    chart.draw_series(steps.map(|w| {
        EmptyElement::at((w.at_s, f64::from(w.weight))) + Text::new(format!("{}%", w.weight), (4, -3), style.clone())
    }))?;
    let label = |chart: &mut TimeChart<'_, DB>, x: f64, row: i32, text: &str, colour: RGBColor| {
        // Left of a line in the right third of the axis, right of it elsewhere.
        let (h, dx) = if x > data.timeline.x_end * 0.66 { (HPos::Right, -6) } else { (HPos::Left, 6) };
        let style = text_coloured(SMALL_SIZE, colour).pos(Pos::new(h, VPos::Top));
        let at = EmptyElement::at((x, WEIGHT_TOP));
        chart.draw_series(std::iter::once(at + Text::new(text.to_string(), (dx, 4 + row * 18), style))).map(|_| ())
    };
    vertical(&mut chart, r.start_s, 0.0..WEIGHT_TOP, THRESHOLD.stroke_width(1), true)?;
    match (r.outcome, r.decided_s) {
        (Outcome::Unfinished, _) | (_, None) => {
            let style = text_coloured(SMALL_SIZE, INCONCLUSIVE).pos(Pos::new(HPos::Right, VPos::Top));
            let at = (data.timeline.x_end, WEIGHT_TOP);
            chart.draw_series(std::iter::once(
                EmptyElement::at(at)
                    + Text::new("unfinished: no decision by the end of the run".to_string(), (-8, 4), style),
            ))?;
        }
        (outcome, Some(at)) => {
            let colour = decision_colour(outcome);
            vertical(&mut chart, at, 0.0..WEIGHT_TOP, colour.stroke_width(2), false)?;
            let word = if outcome == Outcome::Promoted { "promoted" } else { "rolled back" };
            label(&mut chart, at, 0, &format!("{word} at {} s", compact(at)), colour)?;
        }
    }
    if let Some((at, load)) = data.first_breach() {
        label(&mut chart, at, 1, &format!("SLO of {load} breached at {} s", compact(at)), BREACH)?;
    }
    for_breach(&mut chart, data, 0.0..WEIGHT_TOP)
}

fn decision_colour(outcome: Outcome) -> RGBColor {
    if outcome == Outcome::Promoted { PASS } else { FAIL }
}

/// A vertical line at `x` across `y`, dashed or solid.
fn vertical<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    x: f64,
    y: Range<f64>,
    style: ShapeStyle,
    dashed: bool,
) -> DrawResult<(), DB> {
    let points = [(x, y.start), (x, y.end)];
    if dashed {
        chart.draw_series(DashedLineSeries::new(points, 4, 4, style))?;
    } else {
        chart.draw_series(LineSeries::new(points, style))?;
    }
    Ok(())
}

/// The decision (solid) and the first SLO breach (dotted) across a panel.
fn for_breach<DB: DrawingBackend>(chart: &mut TimeChart<'_, DB>, data: &Data, y: Range<f64>) -> DrawResult<(), DB> {
    if let Some((at, _)) = data.first_breach() {
        chart.draw_series(DashedLineSeries::new([(at, y.start), (at, y.end)], 2, 3, BREACH.stroke_width(2)))?;
    }
    Ok(())
}

/// The decision line on a lower panel.
fn decision<DB: DrawingBackend>(chart: &mut TimeChart<'_, DB>, data: &Data, y: Range<f64>) -> DrawResult<(), DB> {
    if let Some(at) = data.rollout.decided_s {
        vertical(chart, at, y.clone(), decision_colour(data.rollout.outcome).mix(0.7).stroke_width(2), false)?;
    }
    vertical(chart, data.rollout.start_s, y.clone(), THRESHOLD.stroke_width(1), true)?;
    for_breach(chart, data, y)
}

/// Draws the stable and canary lines, broken where a bucket has no value.
fn versions<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    data: &Data,
    stable: &[Option<f64>],
    canary: &[Option<f64>],
) -> DrawResult<(), DB> {
    for (values, colour) in [(stable, STABLE), (canary, CANARY)] {
        let mut run: Vec<(f64, f64)> = Vec::new();
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                run.push((data.timeline.mid_s[i], v));
            }
            let ends = v.is_none() || i + 1 == values.len();
            if ends && !run.is_empty() {
                if run.len() == 1 {
                    chart.draw_series(std::iter::once(Circle::new(run[0], 2, colour.filled())))?;
                } else {
                    chart.draw_series(LineSeries::new(run.iter().copied(), colour.stroke_width(2)))?;
                }
                run.clear();
            }
        }
    }
    Ok(())
}

/// The bounds of `kind` as dashed lines, each labelled at its right end, and the
/// checks of `kind` as markers; a check without a value sits on the panel's floor.
fn checks<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    data: &Data,
    kind: Kind,
    y: Range<f64>,
) -> DrawResult<(), DB> {
    for (value, label) in data.bounds(kind) {
        let line = [(0.0, value), (data.timeline.x_end, value)];
        chart.draw_series(DashedLineSeries::new(line, 6, 4, THRESHOLD.stroke_width(1)))?;
        bound_label(chart, (data.timeline.x_end, value), &label)?;
    }
    for c in data.checks(kind) {
        let y_at = c.value.map_or(y.start, |v| Kind::plotted(c.metric, v).clamp(y.start, y.end));
        let (shape, colour) = marker(c.result);
        shape.draw(chart.plotting_area(), (c.at_s, y_at), colour)?;
    }
    Ok(())
}

/// A bound's label above the right end of its line, on a white backing so a line
/// crossing it does not hide it.
fn bound_label<DB: DrawingBackend>(chart: &mut TimeChart<'_, DB>, at: (f64, f64), label: &str) -> DrawResult<(), DB> {
    let area = chart.plotting_area().strip_coord_spec();
    let style = text_coloured(SMALL_SIZE, THRESHOLD).pos(Pos::new(HPos::Right, VPos::Bottom));
    let (w, h) = area.estimate_text_size(label, &style)?;
    let (base_x, base_y) = area.get_base_pixel();
    let (x, y) = chart.backend_coord(&at);
    let (x, y) = (x - base_x - 6, y - base_y - 2);
    let (w, h) = (w as i32, h as i32);
    area.draw(&Rectangle::new([(x - w - 2, y - h), (x + 2, y + 1)], WHITE.mix(0.85).filled()))?;
    area.draw_text(label, &style, (x, y))
}

fn marker(v: Verdict) -> (Shape, RGBColor) {
    match v {
        Verdict::Pass => (Shape::Dot, PASS),
        Verdict::Fail => (Shape::Cross, FAIL),
        Verdict::Inconclusive => (Shape::Triangle, INCONCLUSIVE),
    }
}

/// The top of a panel that starts at 0 and holds `values`, on a round number.
fn top_of(values: impl Iterator<Item = f64>) -> f64 {
    nice_ceiling(values.filter(|v| v.is_finite()).fold(0.0_f64, f64::max) * 1.1).max(1.0)
}

/// Panel 2: ok answers per second of each version (throughput checks too).
fn goodput_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, data: &Data) -> DrawResult<(), DB> {
    let rate = |i: usize, b: &ServiceBucket| Some(data.timeline.rate(i, b.ok));
    let (stable, canary) = (data.series(data.stable, rate), data.series(data.canary, rate));
    let marks = data.checks(Kind::Throughput).filter_map(|c| c.value);
    let bounds = data.bounds(Kind::Throughput).into_iter().map(|b| b.0);
    let y_top = top_of(stable.iter().chain(&canary).flatten().copied().chain(marks).chain(bounds));
    let caption = "goodput: ok answers per second, stable and canary";
    let mut chart = panel(area, caption, data, 0.0..y_top, "ok/s", &|v| compact(*v), false)?;
    decision(&mut chart, data, 0.0..y_top)?;
    versions(&mut chart, data, &stable, &canary)?;
    checks(&mut chart, data, Kind::Throughput, 0.0..y_top)
}

/// Panel 3: the share of each version's answers that were ok, with the rate checks.
fn rate_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, data: &Data) -> DrawResult<(), DB> {
    let share = |_: usize, b: &ServiceBucket| (b.ok + b.failed > 0).then(|| b.ok as f64 / (b.ok + b.failed) as f64);
    let (stable, canary) = (data.series(data.stable, share), data.series(data.canary, share));
    let marks = data.checks(Kind::Rate).filter_map(|c| c.value.map(|v| Kind::plotted(c.metric, v)));
    let bounds = data.bounds(Kind::Rate).into_iter().map(|b| b.0);
    let low = stable.iter().chain(&canary).flatten().copied().chain(marks).chain(bounds).fold(1.0_f64, f64::min);
    // Down to a multiple of 5% below the lowest value, so the gap to 100% is visible.
    let floor = (((low - 0.01) * 20.0).floor() / 20.0).clamp(0.0, 0.95);
    let y = floor..1.0 + (1.0 - floor) * 0.06;
    // Without a check on it the caption says so, rather than a note over the lines.
    let caption = if data.has_checks(Kind::Rate) {
        "success rate: share of answers that were ok, with the rate checks"
    } else {
        "success rate: share of answers that were ok (no success- or error-rate check in this strategy)"
    };
    let format = |v: &f64| if *v <= 1.0 { percent_whole(*v) } else { String::new() };
    let mut chart = panel(area, caption, data, y.clone(), "ok share", &format, false)?;
    decision(&mut chart, data, y.clone())?;
    versions(&mut chart, data, &stable, &canary)?;
    checks(&mut chart, data, Kind::Rate, y)
}

/// Panel 4: each version's p99 time from arrival to answer, with the latency checks.
fn latency_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, data: &Data) -> DrawResult<(), DB> {
    let p99 = |_: usize, b: &ServiceBucket| b.latency_ms_p99;
    let (stable, canary) = (data.series(data.stable, p99), data.series(data.canary, p99));
    let marks = data.checks(Kind::Latency).filter_map(|c| c.value);
    let bounds = data.bounds(Kind::Latency).into_iter().map(|b| b.0);
    let y_top = top_of(stable.iter().chain(&canary).flatten().copied().chain(marks).chain(bounds));
    let caption = if data.has_checks(Kind::Latency) {
        "p99 latency at each version (arrival to answer), with the latency checks"
    } else {
        "p99 latency at each version (arrival to answer; no latency check in this strategy)"
    };
    let mut chart = panel(area, caption, data, 0.0..y_top, "p99 (ms)", &|v| compact(*v), true)?;
    decision(&mut chart, data, 0.0..y_top)?;
    versions(&mut chart, data, &stable, &canary)?;
    checks(&mut chart, data, Kind::Latency, 0.0..y_top)
}

fn legend_entries(data: &Data) -> Vec<Entry> {
    let r = data.rollout;
    let count = |v: Verdict| r.checks.iter().filter(|c| c.result == v).count();
    let mut entries: Vec<Entry> = vec![
        (Swatch::Line(STABLE, 2), r.service.clone()),
        (Swatch::Line(CANARY, 2), r.canary.clone()),
        (Swatch::Block(CANARY.mix(0.3)), "canary weight".to_string()),
        gap(),
        (Swatch::None, "checks".to_string()),
        (Swatch::Marker(Shape::Dot, PASS), format!("pass ({})", count(Verdict::Pass))),
        (Swatch::Marker(Shape::Cross, FAIL), format!("fail ({})", count(Verdict::Fail))),
        (Swatch::Marker(Shape::Triangle, INCONCLUSIVE), format!("inconclusive ({})", count(Verdict::Inconclusive))),
        (Swatch::Dashed(THRESHOLD), "check bound".to_string()),
        gap(),
        (Swatch::Dashed(THRESHOLD), format!("rollout starts ({} s)", compact(r.start_s))),
    ];
    match r.decided_s {
        Some(at) => {
            let word = if r.outcome == Outcome::Promoted { "promoted" } else { "rolled back" };
            entries.push((Swatch::Line(decision_colour(r.outcome), 2), format!("{word} ({} s)", compact(at))));
        }
        None => entries.push((Swatch::None, "unfinished".to_string())),
    }
    if let Some((at, _)) = data.first_breach() {
        entries.push((Swatch::Dashed(BREACH), format!("SLO breach ({} s)", compact(at))));
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rollout::Percentile;

    #[test]
    fn bounds_come_from_the_strategy_checks_once_each() {
        let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        let text = "[rollout]\nservice = \"payment\"\nstart = \"60s\"\ninterval = \"60s\"\nstep_weight = 10\n\
                    max_weight = 50\nthreshold = 1\n\
                    [[rollout.check]]\nmetric = \"success_rate\"\nmin = 0.99\n\
                    [[rollout.check]]\nmetric = \"p99\"\nmax = \"250ms\"\n\
                    [[rollout.check]]\nname = \"again\"\nmetric = \"p99\"\nmax = \"250ms\"\nwindow = \"30s\"\n\
                    [[rollout.check]]\nmetric = \"error_rate\"\nmax = 0.02\n";
        std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
        let strategy = crate::scenario::strategy::load_strategy_file(file.path()).unwrap();
        let bounds = Bound::of_strategy(&strategy);
        let got: Vec<(Metric, f64, &str)> = bounds.iter().map(|b| (b.metric, b.value, b.label.as_str())).collect();
        assert_eq!(
            got,
            [
                (Metric::SuccessRate, 0.99, "success_rate min 99%"),
                (Metric::Latency(Percentile::P99), 250.0, "p99 max 250 ms"),
                (Metric::ErrorRate, 0.02, "error_rate max 2% (ok 98%)"),
            ]
        );
    }

    #[test]
    fn error_rates_are_drawn_as_the_success_they_leave() {
        assert_eq!(Kind::of("error_rate"), Kind::Rate);
        assert_eq!(Kind::of("p999"), Kind::Latency);
        assert_eq!(Kind::of("throughput"), Kind::Throughput);
        assert!((Kind::plotted("error_rate", 0.2) - 0.8).abs() < 1e-12);
        assert_eq!(Kind::plotted("success_rate", 0.9), 0.9);
    }
}

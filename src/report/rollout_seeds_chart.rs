//! The chart of a rollout over many seeds (`rollout-seeds.png`, `.svg`): how often it
//! was rolled back, promoted or left unfinished, and when each seed was decided.
//!
//! Top: a forest of shares of seeds with their 95% Wilson intervals (each outcome, then
//! per load with an SLO the seeds whose SLO was breached and those caught before the
//! breach), each `[rollout.expect]` threshold drawn as a dashed tick on its row, in the
//! colour of its verdict. Bottom: one mark per seed at its decision time since the
//! rollout began (a red cross rolled back, a green dot promoted, an amber triangle at
//! the top when unfinished), with a black dash at the first SLO breach of any load, so
//! a seed caught late shows a dash below its cross.
//!
//! It takes a [`RolloutReport`], never the simulator.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::chart::forest::{draw_estimate, forest_chart, forest_value_heading};
use super::chart::frame::{Axis, SWEEP_FRAME, SWEEP_PANEL, fit_text, mesh, nice_ceiling, provenance};
use super::chart::legend::{Entry, Shape, Swatch, draw_legend, gap};
use super::chart::style::{LEGEND_SIZE, text};
use super::chart::{ChartError, DrawResult, ensure_font, render};
use super::output::OutputFile;
use crate::compare::GateVerdict;
use crate::format::compact;
use crate::rollout::controller::Outcome;
use crate::rollout::many::RolloutReport;
use crate::stats::Proportion;

const WIDTH: u32 = 1200;
const LABEL_W: u32 = 290;
const VALUE_W: u32 = 300;
const ROW_H: u32 = 34;
const SEEDS_H: u32 = 380;
const ROLLED_BACK: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const PROMOTED: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const UNFINISHED: RGBColor = RGBColor(0xc7, 0x7c, 0x00);
const SHARE: RGBColor = RGBColor(0x40, 0x40, 0x40);
const BREACH: RGBColor = RGBColor(0x20, 0x20, 0x20);

/// One forest row: its label, its share, its colour and the expectation on it.
struct Row {
    label: String,
    share: Proportion,
    colour: RGBColor,
    expect: Option<(f64, GateVerdict)>,
}

fn rows(r: &RolloutReport) -> Vec<Row> {
    let expect = |key: &str, load: Option<&str>| {
        r.expect.iter().find(|e| e.key == key && e.load.as_deref() == load).map(|e| (e.threshold, e.verdict))
    };
    let mut rows = vec![
        Row {
            label: "rolled back".into(),
            share: r.rolled_back,
            colour: ROLLED_BACK,
            expect: expect("rolled_back_at_least", None),
        },
        Row {
            label: "promoted".into(),
            share: r.promoted,
            colour: PROMOTED,
            expect: expect("promoted_at_least", None),
        },
        Row {
            label: "unfinished".into(),
            share: r.unfinished,
            colour: UNFINISHED,
            expect: expect("unfinished_at_most", None),
        },
    ];
    for (load, l) in &r.loads {
        rows.push(Row { label: format!("{load}: SLO breached"), share: l.slo_breached, colour: SHARE, expect: None });
        rows.push(Row {
            label: format!("{load}: caught before breach"),
            share: l.caught_before_breach,
            colour: SHARE,
            expect: expect("caught_before_breach_at_least", Some(load)),
        });
    }
    rows
}

fn verdict_colour(v: GateVerdict) -> RGBColor {
    match v {
        GateVerdict::Pass | GateVerdict::Unchanged => PROMOTED,
        GateVerdict::Fail => ROLLED_BACK,
        GateVerdict::Inconclusive | GateVerdict::Ungated => UNFINISHED,
    }
}

fn outcome_mark(o: Outcome) -> (Shape, RGBColor) {
    match o {
        Outcome::RolledBack => (Shape::Cross, ROLLED_BACK),
        Outcome::Promoted => (Shape::Dot, PROMOTED),
        Outcome::Unfinished => (Shape::Triangle, UNFINISHED),
    }
}

/// Draws the chart of `report` as `rollout-seeds.png` and `rollout-seeds.svg`.
pub fn rollout_seeds_charts(report: &RolloutReport) -> Result<Vec<OutputFile>, ChartError> {
    ensure_font()?;
    let rows = rows(report);
    let forest_h = ROW_H * rows.len() as u32 + SWEEP_PANEL.x_label_area + 30;
    let height = SWEEP_FRAME.title_h + 14 + forest_h + SEEDS_H + SWEEP_FRAME.provenance_h;
    let mut files = Vec::new();
    let size = (WIDTH, height);
    render(
        "rollout-seeds",
        size,
        &mut files,
        |a| draw(a, report, &rows, forest_h),
        |a| draw(a, report, &rows, forest_h),
    )?;
    Ok(files)
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    r: &RolloutReport,
    rows: &[Row],
    forest_h: u32,
) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let frame = SWEEP_FRAME;
    let last = r.first_seed + r.seeds.saturating_sub(1);
    let verdict = match r.verdict {
        GateVerdict::Pass => "expectations hold",
        GateVerdict::Fail => "expectations fail",
        GateVerdict::Inconclusive => "expectations undecided",
        GateVerdict::Ungated | GateVerdict::Unchanged => "nothing asserted",
    };
    let title = format!("rollout of {} ({}, {}): {verdict}", r.service, r.style, r.strategy);
    frame.title(root, &title, &format!("{} seeds ({}..{})", r.seeds, r.first_seed, last))?;
    let top = frame.title_h + 14;
    let forest = root.clone().shrink((LABEL_W as i32, top as i32), (WIDTH - LABEL_W - VALUE_W, forest_h));
    forest_panel(root, &forest, rows, r.seeds)?;
    let seeds_top = top + forest_h;
    let plot_w = WIDTH - frame.legend_w;
    let seeds = root.clone().shrink((0, seeds_top as i32), (plot_w, SEEDS_H));
    seeds_panel(&seeds, r)?;
    let legend = root.clone().shrink((plot_w as i32, seeds_top as i32), (frame.legend_w, SEEDS_H));
    draw_legend(&legend, "seeds", &legend_entries(r))?;
    provenance(root, &r.stormcast_version, &r.scenario_hash)
}

/// The forest of shares, row labels on the left and values on the right.
fn forest_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    rows: &[Row],
    n: u64,
) -> DrawResult<(), DB> {
    let mut chart = forest_chart(area, rows.len())?;
    let percent = |v: &f64| format!("{:.0}%", v * 100.0);
    mesh(&mut chart, Axis::new("share of seeds", 6, &percent), Axis::new("", rows.len(), &|_| String::new()))?;
    let value_x = (WIDTH - VALUE_W + 10) as i32;
    let (_, plot_y) = chart.plotting_area().get_pixel_range();
    forest_value_heading(root, value_x, plot_y.start)?;
    let label_style = text(LEGEND_SIZE).pos(Pos::new(HPos::Right, VPos::Center));
    for (i, row) in rows.iter().enumerate() {
        let y = (rows.len() - i) as f64 - 0.5;
        let pixel_y = chart.backend_coord(&(0.0, y)).1;
        let label = fit_text(root, &row.label, &text(LEGEND_SIZE), LABEL_W - 20)?;
        root.draw_text(&label, &label_style, (LABEL_W as i32 - 10, pixel_y))?;
        if let Some((threshold, verdict)) = row.expect {
            let style = verdict_colour(verdict).stroke_width(2);
            chart.draw_series(DashedLineSeries::new([(threshold, y - 0.4), (threshold, y + 0.4)], 3, 3, style))?;
        }
        draw_estimate(root, &mut chart, y, row.share, row.colour, n, (value_x, pixel_y))?;
    }
    Ok(())
}

/// Each seed's decision time since the rollout began, marked by outcome, and its first
/// SLO breach.
fn seeds_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, r: &RolloutReport) -> DrawResult<(), DB> {
    let since = |s: f64| s - r.start_s;
    let breach = |s: &crate::rollout::many::SeedRollout| {
        s.loads.iter().filter_map(|l| l.slo_breached_s).min_by(f64::total_cmp).map(since)
    };
    let times = r.per_seed.iter().flat_map(|s| s.decided_s.map(since).into_iter().chain(breach(s)));
    let y_top = nice_ceiling(times.fold(0.0_f64, f64::max) * 1.15).max(1.0);
    let (first, last) = (r.first_seed as f64, (r.first_seed + r.seeds.max(1) - 1) as f64);
    let x = (first - 0.5)..(last + 0.5);
    let caption = "each seed: when it was decided (seconds after the rollout began)";
    let mut chart = SWEEP_PANEL.build(area, caption, x, 0.0..y_top)?;
    let seed_tick = |v: &f64| if v.fract() == 0.0 { format!("{v:.0}") } else { String::new() };
    let secs = |v: &f64| compact(*v);
    mesh(&mut chart, Axis::new("seed", 12, &seed_tick), Axis::new("decided after (s)", 6, &secs))?;
    for s in &r.per_seed {
        let x = s.seed as f64;
        if let Some(b) = breach(s) {
            let dash = EmptyElement::at((x, b)) + PathElement::new(vec![(-8, 0), (8, 0)], BREACH.stroke_width(2));
            chart.draw_series(std::iter::once(dash))?;
        }
        let y = s.decided_s.map_or(y_top, since);
        let (shape, colour) = outcome_mark(s.outcome);
        shape.draw(chart.plotting_area(), (x, y), colour)?;
    }
    Ok(())
}

fn legend_entries(r: &RolloutReport) -> Vec<Entry> {
    let count = |o: Outcome| r.per_seed.iter().filter(|s| s.outcome == o).count();
    let mut entries = Vec::new();
    for (o, label) in [
        (Outcome::RolledBack, "rolled back"),
        (Outcome::Promoted, "promoted"),
        (Outcome::Unfinished, "unfinished (top)"),
    ] {
        let (shape, colour) = outcome_mark(o);
        entries.push((Swatch::Marker(shape, colour), format!("{label} ({})", count(o))));
    }
    entries.push((Swatch::Line(BREACH, 2), "first SLO breach".to_string()));
    if !r.expect.is_empty() {
        entries.push(gap());
        entries.push((Swatch::Dashed(PROMOTED), "expectation: pass".to_string()));
        entries.push((Swatch::Dashed(ROLLED_BACK), "expectation: fail".to_string()));
        entries.push((Swatch::Dashed(UNFINISHED), "expectation: undecided".to_string()));
    }
    entries
}

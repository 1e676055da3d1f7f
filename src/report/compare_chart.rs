//! The `compare` charts (PNG and SVG): the base and proposed fan charts overlaid per
//! load (median and 5–95% band across seeds of goodput and p99, one colour per
//! config, warmup and disturbances shaded as in the sweep fan chart), and the risks
//! side by side (each risk, base and proposed, point and 95% Wilson interval, with the
//! paired change).
//!
//! They take a [`CompareResult`], never the simulator, and are drawn with the chart
//! toolkit (`report::chart`) in the sweep charts' frame.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::chart::band::{FAN_ROW_H, FanSide, FanStyle, Layering, band_key, fan_panel};
use super::chart::forest::{draw_estimate, estimate_text, forest_area, forest_chart, forest_value_heading};
use super::chart::frame::{Axis, Frame, SWEEP_FRAME, SWEEP_PANEL, fit_text, footnote, mesh, note, provenance};
use super::chart::legend::{Entry, Swatch, draw_legend, gap, window_entries};
use super::chart::style::{CAPTION_SIZE, LEGEND_SIZE, SMALL_SIZE, SUBTLE_TEXT, text, text_coloured};
use super::chart::timeline::{Midpoint, Shading, Timeline};
use super::chart::{ChartError, DrawResult, check_bucket, ensure_font, render};
use super::output::OutputFile;
use crate::compare::{CompareResult, RiskDifference};
use crate::format::{percent_short, signed_one_decimal};
use crate::sweep::{LoadBands, SweepResult};

/// The frame of the compare charts: the sweep charts'.
const FRAME: Frame = SWEEP_FRAME;

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
        check_bucket(sweep.bucket_s)?;
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

impl Labels<'_> {
    /// What the proposed config adds to the base (`--change pr.toml --set k=v`), when it
    /// is the base with overlays; else the proposed scenario.
    fn change(&self) -> &str {
        self.proposed.strip_prefix(self.base).map(str::trim).filter(|r| r.starts_with("--")).unwrap_or(self.proposed)
    }

    /// A chart's title, the change first: a title too long for the chart is cut at its
    /// end, and what identifies the comparison must survive.
    fn title(&self, what: &str) -> String {
        let change = self.change();
        if change == self.proposed {
            format!("{} vs {}  —  {what}", self.base, self.proposed)
        } else {
            format!("{change} over {}  —  {what}", self.base)
        }
    }

    /// The proposed config in a legend, a line per word of its change (`--change`,
    /// then the file's name without `.toml`): a legend is narrow, and a cut line would
    /// hide the change.
    fn proposed_lines(&self) -> Vec<String> {
        let file = |w: &str| w.rsplit('/').next().unwrap_or(w).trim_end_matches(".toml").to_string();
        self.change().split(' ').map(file).collect()
    }
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
    (FRAME.width, FRAME.title_h + rows * FAN_ROW_H + FRAME.provenance_h)
}

/// Bucket midpoints of a sweep, clipped to its duration.
fn midpoints(sweep: &SweepResult, bands: &LoadBands) -> Vec<f64> {
    let x_end = if sweep.simulated_s > 0.0 { sweep.simulated_s } else { 1.0 };
    Timeline::new(bands.time_s.iter().copied(), sweep.bucket_s, x_end, Midpoint::MeanOfEnds).mid_s
}

/// Both configs' areas first, then both medians on top, so neither median hides under
/// the other config's band.
const FAN_STYLE: FanStyle = FanStyle { area_alpha: 0.2, layering: Layering::AreasFirst };

fn draw_fan<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    result: &CompareResult,
    labels: &Labels,
) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let (width, _) = root.dim_in_pixel();
    FRAME.title(root, &labels.title("goodput and p99 across seeds"), &seeds_label(result))?;
    let plot_w = width - FRAME.legend_w;
    let half = plot_w / 2;
    let pairs = paired_bands(result);
    let rows = pairs.len().max(1) as u32;
    let ys: Vec<u32> = (0..=rows).map(|r| FRAME.title_h + r * FAN_ROW_H).collect();
    let cells = root.split_by_breakpoints([half, plot_w], ys);
    if pairs.is_empty() {
        note(&cells[3], "no load is in both configs")?;
    }
    let x_end = result.base.simulated_s.max(result.proposed.simulated_s).max(1.0);
    let shading = Shading { warmup_s: result.proposed.warmup_s, disturbances: &result.proposed.disturbances };
    for (l, (base, proposed)) in pairs.iter().enumerate() {
        let row = 3 * (l + 1);
        let base_mid = midpoints(&result.base, base);
        let proposed_mid = midpoints(&result.proposed, proposed);
        let sides = [
            FanSide { mid_s: &base_mid, band: &base.goodput, colour: BASE_COLOUR },
            FanSide { mid_s: &proposed_mid, band: &proposed.goodput, colour: PROPOSED_COLOUR },
        ];
        let caption = format!("{}: goodput (ok/s)", base.name);
        fan_panel(&cells[row], &caption, &shading, x_end, &sides, false, &FAN_STYLE)?;
        let sides = [
            FanSide { mid_s: &base_mid, band: &base.p99_ms, colour: BASE_COLOUR },
            FanSide { mid_s: &proposed_mid, band: &proposed.p99_ms, colour: PROPOSED_COLOUR },
        ];
        let caption = format!("{}: p99 of ok requests (ms)", base.name);
        fan_panel(&cells[row + 1], &caption, &shading, x_end, &sides, true, &FAN_STYLE)?;
    }

    let mut entries: Vec<Entry> = vec![
        (Swatch::Line(BASE_COLOUR, 3), "base".to_string()),
        (Swatch::None, labels.base.to_string()),
        (Swatch::Line(PROPOSED_COLOUR, 3), "proposed".to_string()),
    ];
    entries.extend(labels.proposed_lines().into_iter().map(|line| (Swatch::None, line)));
    entries.push(gap());
    entries.extend(band_key(FAN_STYLE.area_alpha));
    entries.push(gap());
    entries.extend(window_entries(&result.proposed.disturbances, result.proposed.warmup_s));
    draw_legend(&FRAME.legend_area(root), "configs", &entries)?;
    footnote(root, "same seeds in both configs; shading: the proposed config's disturbances")?;
    provenance(root, &result.stormcast_version, &result.proposed.scenario_hash)
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
    (FRAME.width, FRAME.title_h + 30 + rows * ROW_H + SWEEP_PANEL.x_label_area + 20 + FRAME.provenance_h)
}

fn draw_risk<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    result: &CompareResult,
    labels: &Labels,
) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let (width, _) = root.dim_in_pixel();
    FRAME.title(root, &labels.title("risks across seeds"), &seeds_label(result))?;
    let rows = risk_rows(result);
    let row_count = rows.len().max(1);
    let area = forest_area(root, LABEL_W, VALUE_W);
    let mut chart = forest_chart(&area, row_count)?;
    let top = row_count as f64;
    let y_of = |r: usize| top - r as f64 - 0.5;
    mesh(&mut chart, Axis::new("probability", 6, &|v| percent_short(*v)), Axis::new("", 0, &|_| String::new()))?;
    let label_x = LABEL_W as i32 - 12;
    let value_x = (width - VALUE_W) as i32 + 4;
    let n = result.seeds;
    // The change column starts past the widest value written before it.
    let mut change_x = CHANGE_X;
    for diff in result.risk_differences.iter().flat_map(|d| risk_list(d).into_iter().map(|(_, diff, _)| diff)) {
        for p in [diff.base, diff.proposed] {
            let (w, _) = root.estimate_text_size(&estimate_text(p, n), &text(LEGEND_SIZE))?;
            change_x = change_x.max(w as i32 + 16);
        }
    }
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
                        signed_one_decimal(diff.diff * 100.0),
                        signed_one_decimal(diff.low * 100.0),
                        signed_one_decimal(diff.high * 100.0)
                    );
                    let style = text_coloured(LEGEND_SIZE, change_colour(diff)).pos(Pos::new(HPos::Left, VPos::Center));
                    root.draw_text(&change, &style, (value_x + change_x, py))?;
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
        (value_x + change_x, header_y - 4),
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

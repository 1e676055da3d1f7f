//! The run chart: goodput, latency and per-service health of one run over time (PNG, SVG).
//!
//! One figure of stacked panels that share the time axis (seconds since the start of
//! the run): goodput and offered load per load, p99 latency per load, utilization and
//! failed attempts per service, and a timeline of open circuit breakers. Every panel
//! shades the warmup period and each disturbance window, so a reader can see what a
//! fault did and how it spread.
//!
//! The chart takes a [`RunResult`], never the simulator. Text is drawn with the bundled
//! DejaVu Sans (see [`ensure_font`]), so rendering needs no system fonts, and the same
//! result always renders to the same bytes. Every chart is drawn into memory
//! ([`render`]); none of them touches the file system.

use std::ops::Range;
use std::sync::OnceLock;

use image::ImageEncoder;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, DefaultFormatting, KeyPointHint, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::output::OutputFile;
use crate::stats::health::HealthCause;
use crate::stats::{DisturbanceKind, DisturbanceWindow, RunResult};

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The bundled font did not parse; this is a build problem, not a user one.
    #[error("the bundled chart font (DejaVu Sans) could not be loaded")]
    Font,
    /// The result cannot be drawn, e.g. a bucket width that is not positive.
    #[error("cannot chart this result: {0}")]
    InvalidResult(String),
    /// The drawing backend or the PNG encoder failed.
    #[error("drawing chart {chart}: {message}")]
    Draw { chart: String, message: String },
}

/// The font family every chart draws text with.
pub(crate) const FONT: &str = "sans-serif";

/// Registers the bundled DejaVu Sans as plotters' `"sans-serif"` family, once per process.
///
/// Every chart calls this before drawing; without it plotters (built without fontconfig)
/// fails with `FontUnavailable`. Later charts (e.g. of sweeps) should call it too.
pub fn ensure_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, include_bytes!("../../assets/fonts/DejaVuSans.ttf"))
            .is_ok()
    });
    if ok { Ok(()) } else { Err(ChartError::Font) }
}

/// Width of the run chart in pixels.
const WIDTH: u32 = 1200;
/// Height of the run chart with up to `BREAKER_ROWS_IN_BASE` rows of breakers; each
/// further row makes the figure taller rather than squeezing the other panels.
const BASE_HEIGHT: u32 = 900;
const BREAKER_ROWS_IN_BASE: u32 = 4;
/// At most this many services get a row in the breaker timeline.
const MAX_BREAKER_ROWS: usize = 24;

fn figure_size(result: &RunResult) -> (u32, u32) {
    let rows = breaker_rows(result).len() as u32;
    let extra = rows.saturating_sub(BREAKER_ROWS_IN_BASE) * BREAKER_ROW_H;
    (WIDTH, BASE_HEIGHT + extra)
}

/// The services whose client breakers were ever open, in file order: each gets a row
/// in the breaker timeline.
fn breaker_rows(result: &RunResult) -> Vec<usize> {
    (0..result.services.len())
        .filter(|&s| result.services[s].buckets.iter().any(|b| b.breakers_open > 0.0))
        .take(MAX_BREAKER_ROWS)
        .collect()
}

/// Draws the run chart of `result` as `run.png` and `run.svg`.
///
/// The SVG keeps text as `<text>` elements in the `sans-serif` family; positions were
/// laid out with DejaVu Sans metrics.
pub fn run_charts(result: &RunResult) -> Result<Vec<OutputFile>, ChartError> {
    ensure_font()?;
    check(result)?;
    let mut files = Vec::new();
    render("run", figure_size(result), &mut files, |r| draw_run_chart(r, result), |r| draw_run_chart(r, result))?;
    Ok(files)
}

/// Draws one chart twice, as `STEM.png` and `STEM.svg`, into memory, and appends both
/// files to `files`.
///
/// plotters' file backends (`BitMapBackend::new(path, ..)`, `SVGBackend::new(path, ..)`)
/// open the destination themselves, following a symlink planted there, and write it in
/// place; drawing into buffers leaves every write to the binary, which writes a
/// command's files as one set (`cli::output`).
pub(crate) fn render<P, S>(
    stem: &str,
    size: (u32, u32),
    files: &mut Vec<OutputFile>,
    png: P,
    svg: S,
) -> Result<(), ChartError>
where
    P: for<'a, 'b> FnOnce(&'a DrawingArea<BitMapBackend<'b>, Shift>) -> DrawResult<(), BitMapBackend<'b>>,
    S: for<'a, 'b> FnOnce(&'a DrawingArea<SVGBackend<'b>, Shift>) -> DrawResult<(), SVGBackend<'b>>,
{
    let name = format!("{stem}.png");
    // Zeroed, as `BitMapBackend::new` starts its own buffer.
    let mut pixels = vec![0u8; 3 * size.0 as usize * size.1 as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        png(&root).and_then(|()| root.present()).map_err(|e| draw_error(&name, e))?;
    }
    let bytes =
        encode_png(&pixels, size).map_err(|e| ChartError::Draw { chart: name.clone(), message: e.to_string() })?;
    files.push(OutputFile::new(name, bytes));
    let name = format!("{stem}.svg");
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        svg(&root).and_then(|()| root.present()).map_err(|e| draw_error(&name, e))?;
    }
    files.push(OutputFile::new(name, text));
    Ok(())
}

/// Encodes 8-bit RGB pixels as PNG exactly as plotters saves a `BitMapBackend` to a
/// path (`image`'s `PngEncoder` at its defaults: default compression, adaptive
/// filtering), so the charts keep the bytes they had when plotters wrote the files.
fn encode_png(pixels: &[u8], (width, height): (u32, u32)) -> image::ImageResult<Vec<u8>> {
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes).write_image(pixels, width, height, image::ColorType::Rgb8)?;
    Ok(bytes)
}

fn check(result: &RunResult) -> Result<(), ChartError> {
    check_timing(result.bucket_s, result.simulated_s, result.warmup_s)
}

/// A time axis can be drawn: positive bucket width, finite durations.
pub(crate) fn check_timing(bucket_s: f64, simulated_s: f64, warmup_s: f64) -> Result<(), ChartError> {
    if !(bucket_s.is_finite() && bucket_s > 0.0) {
        return Err(ChartError::InvalidResult(format!("bucket width must be positive, got {bucket_s} s")));
    }
    if !simulated_s.is_finite() || !warmup_s.is_finite() {
        return Err(ChartError::InvalidResult("simulated and warmup durations must be finite".to_string()));
    }
    Ok(())
}

pub(crate) fn draw_error<E: std::error::Error + Send + Sync>(chart: &str, e: DrawingAreaErrorKind<E>) -> ChartError {
    ChartError::Draw { chart: chart.to_string(), message: e.to_string() }
}

pub(crate) type DrawResult<T, DB> = Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

// ---------------------------------------------------------------------------------
// Colours and text styles.

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
pub(crate) const SUBTLE_TEXT: RGBColor = RGBColor(0x55, 0x55, 0x55);

/// plotters sets the SVG `font-size` (and the em of the bitmap glyphs) to the
/// requested size divided by 1.24; sizes here are the pixel sizes a reader sees.
const PLOTTERS_FONT_SCALE: f64 = 1.24;

pub(crate) fn text(px: u32) -> TextStyle<'static> {
    text_coloured(px, BLACK)
}

pub(crate) fn text_coloured(px: u32, colour: RGBColor) -> TextStyle<'static> {
    (FONT, f64::from(px) * PLOTTERS_FONT_SCALE).into_font().color(&colour)
}

// ---------------------------------------------------------------------------------
// Layout.

const TITLE_H: u32 = 40;
/// The strip above the first panel where disturbance labels go, in rows.
const LABEL_ROWS: usize = 2;
const LABEL_ROW_H: u32 = 22;
const LEGEND_W: u32 = 215;
const Y_LABEL_AREA: u32 = 100;
const X_LABEL_AREA: u32 = 50;
pub(crate) const TITLE_SIZE: u32 = 22;
pub(crate) const CAPTION_SIZE: u32 = 16;
pub(crate) const TICK_SIZE: u32 = 15;
pub(crate) const AXIS_DESC_SIZE: u32 = 15;
pub(crate) const LEGEND_SIZE: u32 = 15;
pub(crate) const SMALL_SIZE: u32 = 14;
const PLOT_MARGIN_RIGHT: u32 = 12;
const PLOT_MARGIN_LEFT: u32 = 6;
const BREAKER_ROW_H: u32 = 22;
/// Height a panel caption takes, with the gap above it.
const CAPTION_H: u32 = 36;
/// Room kept free below the service legend for the provenance line.
const PROVENANCE_H: u32 = 24;

/// The time axis and the per-bucket sample positions every panel shares.
struct Timeline {
    x_end: f64,
    /// Midpoint of each bucket, in seconds.
    mid_s: Vec<f64>,
    /// Duration of each bucket, in seconds (the last one may be cut by the end of the run).
    dur_s: Vec<f64>,
    /// Start and end of each bucket, in seconds.
    span_s: Vec<(f64, f64)>,
}

impl Timeline {
    fn new(result: &RunResult) -> Self {
        let n = result.bucket_count();
        let full = n as f64 * result.bucket_s;
        let x_end = if result.simulated_s > 0.0 {
            result.simulated_s
        } else if full > 0.0 {
            full
        } else {
            1.0
        };
        let mut mid_s = Vec::with_capacity(n);
        let mut dur_s = Vec::with_capacity(n);
        let mut span_s = Vec::with_capacity(n);
        for i in 0..n {
            let start = result.bucket_start_s(i);
            let end = (start + result.bucket_s).min(x_end);
            // A bucket cut short by the end of the run holds fewer seconds, so its rate
            // is counted over the seconds it has, not the nominal width.
            let dur = if end > start { end - start } else { result.bucket_s };
            mid_s.push(start + dur / 2.0);
            dur_s.push(dur);
            span_s.push((start, start + dur));
        }
        Timeline { x_end, mid_s, dur_s, span_s }
    }

    fn rate(&self, i: usize, count: u64) -> f64 {
        count as f64 / self.dur_s[i]
    }
}

fn draw_run_chart<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, result: &RunResult) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let timeline = Timeline::new(result);
    let (width, height) = root.dim_in_pixel();

    // Services whose client breakers were ever open get a row in the breaker timeline.
    let breaker_rows = breaker_rows(result);

    let label_strip_h = LABEL_ROWS as u32 * LABEL_ROW_H + 4;
    let top = TITLE_H + label_strip_h;
    let breaker_h = CAPTION_H + X_LABEL_AREA + BREAKER_ROW_H * breaker_rows.len().max(2) as u32;
    // Breaker rows beyond the base count were added to the figure's height, so many
    // rows never squeeze the other panels.
    let rest = height.saturating_sub(top + breaker_h);
    // Goodput gets the most room; latency next; the two per-service line panels share the rest.
    let goodput_h = rest * 28 / 100;
    let latency_h = rest * 25 / 100;
    let utilization_h = rest * 23 / 100;
    let failed_h = rest - goodput_h - latency_h - utilization_h;

    let plot_w = width - LEGEND_W;
    let y1 = top + goodput_h;
    let y2 = y1 + latency_h;
    let y3 = y2 + utilization_h;
    let y4 = y3 + failed_h;
    let (title_area, _) = root.split_vertically(TITLE_H);
    let cells = root.split_by_breakpoints([plot_w], [TITLE_H, top, y1, y2, y3, y4]);
    // Row-major: (left, right) for title, labels, goodput, latency, utilization, failed, breakers.
    let goodput_area = &cells[4];
    let latency_area = &cells[6];
    let utilization_area = &cells[8];
    let failed_area = &cells[10];
    let breaker_area = &cells[12];

    draw_title(&title_area, result)?;

    let x_pixels = goodput_panel(goodput_area, result, &timeline)?;
    latency_panel(latency_area, result, &timeline)?;
    utilization_panel(utilization_area, result, &timeline)?;
    failed_panel(failed_area, result, &timeline)?;
    breaker_panel(breaker_area, result, &timeline, &breaker_rows)?;

    draw_disturbance_labels(root, result, &timeline, x_pixels, TITLE_H + 2)?;

    // Legends sit in the right-hand column, beside the panels they explain.
    let load_legend = root.clone().shrink((plot_w as i32, top as i32), (LEGEND_W, goodput_h + latency_h));
    draw_load_legend(&load_legend, result)?;
    let service_legend =
        root.clone().shrink((plot_w as i32, y2 as i32), (LEGEND_W, height.saturating_sub(y2 + PROVENANCE_H)));
    draw_service_legend(&service_legend, result)?;
    draw_provenance(root, result)?;
    Ok(())
}

/// The title (scenario and seed) centred over the plots.
fn draw_title<DB: DrawingBackend>(title_area: &DrawingArea<DB, Shift>, result: &RunResult) -> DrawResult<(), DB> {
    let title = format!("{}  —  seed {}", result.scenario, result.seed);
    let (w, h) = title_area.dim_in_pixel();
    let style = text(TITLE_SIZE);
    let title = fit_text(title_area, &title, &style, w.saturating_sub(20))?;
    let plots_centre =
        ((PLOT_MARGIN_LEFT + Y_LABEL_AREA) as i32 + w as i32 - (LEGEND_W + PLOT_MARGIN_RIGHT) as i32) / 2;
    let width = title_area.estimate_text_size(&title, &style)?.0 as i32;
    // Centre over the plots, but never past either edge.
    let x = plots_centre.clamp(width / 2 + 4, (w as i32 - width / 2 - 4).max(width / 2 + 4));
    title_area.draw_text(&title, &style.pos(Pos::new(HPos::Center, VPos::Center)), (x, h as i32 / 2))
}

/// Which program and scenario file made the chart, small in the bottom-right corner.
fn draw_provenance<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, result: &RunResult) -> DrawResult<(), DB> {
    let mut provenance = format!("stormcast {}", result.stormcast_version);
    if !result.scenario_hash.is_empty() {
        let hash: String = result.scenario_hash.chars().take(12).collect();
        provenance.push_str(&format!(" · scenario {hash}"));
    }
    let (w, h) = area.dim_in_pixel();
    let style = text_coloured(12, SUBTLE_TEXT);
    let provenance = fit_text(area, &provenance, &style, w.saturating_sub(12))?;
    area.draw_text(&provenance, &style.pos(Pos::new(HPos::Right, VPos::Bottom)), (w as i32 - 6, h as i32 - 6))
}

// ---------------------------------------------------------------------------------
// Panels.

type Chart<'a, DB, Y> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>;

/// Builds one panel on `area` with the shared time axis. Only the bottom panel
/// carries time tick labels; the others keep the vertical grid so the eye can follow.
fn panel<'a, DB, Y>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    timeline: &Timeline,
    y_spec: Y,
    bottom: bool,
) -> DrawResult<Chart<'a, DB, Y::CoordDescType>, DB>
where
    DB: DrawingBackend,
    Y: AsRangedCoord,
{
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(caption, text(CAPTION_SIZE))
        .margin_top(8)
        .margin_left(PLOT_MARGIN_LEFT)
        .margin_right(PLOT_MARGIN_RIGHT)
        .y_label_area_size(Y_LABEL_AREA)
        .x_label_area_size(if bottom { X_LABEL_AREA } else { 0 });
    builder.build_cartesian_2d(0.0..timeline.x_end, y_spec)
}

/// Draws the grid and axes of a panel.
fn mesh<DB, Y>(
    chart: &mut Chart<'_, DB, Y>,
    y_desc: &str,
    y_labels: usize,
    y_format: &dyn Fn(&Y::ValueType) -> String,
    bottom: bool,
) -> DrawResult<(), DB>
where
    DB: DrawingBackend,
    Y: Ranged + ValueFormatter<<Y as Ranged>::ValueType>,
{
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(13)
        .y_labels(y_labels)
        .x_label_formatter(&|v| format_number(*v))
        .y_label_formatter(y_format)
        .y_desc(y_desc)
        .label_style(text(TICK_SIZE))
        .axis_desc_style(text(AXIS_DESC_SIZE))
        .bold_line_style(RGBColor(0xd8, 0xd8, 0xd8))
        .light_line_style(RGBColor(0xf0, 0xf0, 0xf0))
        .axis_style(RGBColor(0x60, 0x60, 0x60));
    if bottom {
        mesh.x_desc("time since start of run (s)");
    }
    mesh.draw()
}

/// Shades the warmup period and every disturbance window across the panel's height.
fn shade_windows<DB, Y>(
    chart: &mut Chart<'_, DB, Y>,
    result: &RunResult,
    timeline: &Timeline,
    y_range: Range<Y::ValueType>,
) -> DrawResult<(), DB>
where
    DB: DrawingBackend,
    Y: Ranged,
    Y::ValueType: Clone + 'static,
{
    let mut shades = Vec::new();
    if result.warmup_s > 0.0 {
        shades.push((0.0, result.warmup_s.min(timeline.x_end), WARMUP_SHADE.mix(WARMUP_ALPHA)));
    }
    for w in &result.disturbances {
        let (start, end) = clamp_window(w, timeline);
        if end > start {
            shades.push((start, end, shade_colour(w.kind).mix(SHADE_ALPHA)));
        }
    }
    chart.draw_series(shades.into_iter().map(|(start, end, colour)| {
        Rectangle::new([(start, y_range.start.clone()), (end, y_range.end.clone())], colour.filled())
    }))?;
    Ok(())
}

fn clamp_window(w: &DisturbanceWindow, timeline: &Timeline) -> (f64, f64) {
    let start = w.start_s.clamp(0.0, timeline.x_end);
    let end = w.end_s.clamp(0.0, timeline.x_end);
    (start, end)
}

pub(crate) fn shade_colour(kind: DisturbanceKind) -> RGBColor {
    match kind {
        DisturbanceKind::Fault => FAULT_SHADE,
        DisturbanceKind::Spike => SPIKE_SHADE,
    }
}

pub(crate) fn label_colour(kind: DisturbanceKind) -> RGBColor {
    match kind {
        DisturbanceKind::Fault => FAULT_TEXT,
        DisturbanceKind::Spike => SPIKE_TEXT,
    }
}

/// Draws `values` as lines, broken wherever a value is missing; a lone sample
/// between gaps becomes a dot so it is not lost.
fn draw_gapped<DB, Y>(
    chart: &mut Chart<'_, DB, Y>,
    timeline: &Timeline,
    values: &[Option<f64>],
    style: ShapeStyle,
) -> DrawResult<(), DB>
where
    DB: DrawingBackend,
    Y: Ranged<ValueType = f64>,
{
    let mut run: Vec<(f64, f64)> = Vec::new();
    let flush = |run: &mut Vec<(f64, f64)>, chart: &mut Chart<'_, DB, Y>| -> DrawResult<(), DB> {
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
            let goodput = (0..load.buckets.len().min(timeline.mid_s.len()))
                .map(|i| timeline.rate(i, load.buckets[i].ok))
                .collect();
            let offered = (0..load.buckets.len().min(timeline.mid_s.len()))
                .map(|i| timeline.rate(i, load.buckets[i].arrivals))
                .collect();
            (goodput, offered)
        })
        .collect();
    let y_max = series.iter().flat_map(|(g, o)| g.iter().chain(o.iter())).fold(0.0_f64, |m, v| m.max(*v));
    let y_top = nice_ceiling(y_max * 1.08).max(1.0);

    let mut chart = panel(area, "goodput (solid) and offered load (dashed) per load", timeline, 0.0..y_top, false)?;
    shade_windows(&mut chart, result, timeline, 0.0..y_top)?;
    mesh(&mut chart, "requests/s", 6, &|v| format_number(*v), false)?;
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
    chart: &mut Chart<'_, DB, Y>,
    result: &RunResult,
    timeline: &Timeline,
    series: &[Vec<Option<f64>>],
    y_range: Range<f64>,
) -> DrawResult<(), DB>
where
    DB: DrawingBackend,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    shade_windows(chart, result, timeline, y_range)?;
    mesh(chart, "p99 latency (ms)", 6, &|v| format_number(*v), false)?;
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

/// Panel 3: utilization (busy worker time share) per service.
fn utilization_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    result: &RunResult,
    timeline: &Timeline,
) -> DrawResult<(), DB> {
    let mut chart = panel(area, "utilization per service (busy share of workers)", timeline, 0.0..1.05, false)?;
    shade_windows(&mut chart, result, timeline, 0.0..1.05)?;
    mesh(&mut chart, "utilization", 5, &|v| format!("{:.0}%", v * 100.0), false)?;
    for (index, service) in result.services.iter().enumerate() {
        chart.draw_series(LineSeries::new(
            timeline.mid_s.iter().zip(&service.buckets).map(|(x, b)| {
                let u = if b.utilization.is_finite() { b.utilization.clamp(0.0, 1.05) } else { 0.0 };
                (*x, u)
            }),
            series_colour(index).stroke_width(2),
        ))?;
    }
    if result.services.is_empty() {
        note(chart.plotting_area(), "no services in this run")?;
    }
    Ok(())
}

/// Panel 4: failed attempts per second per service.
fn failed_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    result: &RunResult,
    timeline: &Timeline,
) -> DrawResult<(), DB> {
    let series: Vec<Vec<f64>> = result
        .services
        .iter()
        .map(|s| {
            (0..s.buckets.len().min(timeline.mid_s.len())).map(|i| timeline.rate(i, s.buckets[i].failed)).collect()
        })
        .collect();
    let y_max = series.iter().flatten().fold(0.0_f64, |m, v| m.max(*v));
    let y_top = nice_ceiling(y_max * 1.1).max(1.0);
    let mut chart = panel(area, "failed attempts per service", timeline, 0.0..y_top, false)?;
    shade_windows(&mut chart, result, timeline, 0.0..y_top)?;
    mesh(&mut chart, "failed/s", 5, &|v| format_number(*v), false)?;
    for (index, values) in series.iter().enumerate() {
        chart.draw_series(LineSeries::new(
            timeline.mid_s.iter().copied().zip(values.iter().copied()),
            series_colour(index).stroke_width(2),
        ))?;
    }
    if y_max == 0.0 && !result.services.is_empty() {
        note(chart.plotting_area(), "no failed attempts")?;
    }
    Ok(())
}

/// Panel 5: one row per service whose client circuit breakers were ever open; a cell
/// is drawn where some were open at the end of a bucket, darker the larger the share.
fn breaker_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    result: &RunResult,
    timeline: &Timeline,
    rows: &[usize],
) -> DrawResult<(), DB> {
    let row_count = rows.len().max(1);
    // Names must fit the label area beside the rows, leaving room for the tick marks.
    let room = Y_LABEL_AREA - 14;
    let names = rows
        .iter()
        .map(|&s| fit_text(area, &result.services[s].name, &text(TICK_SIZE), room))
        .collect::<Result<Vec<String>, _>>()?;
    // Row r spans [r, r + 1) on a plain axis whose only ticks are the row centres, which
    // carry the service names. Row 0 is at the bottom, so the first service in file
    // order takes the top row.
    let top_row = row_count - 1;
    let mut chart =
        panel(area, "client circuit breakers open (shade = share open)", timeline, RowAxis::new(row_count), true)?;
    shade_windows(&mut chart, result, timeline, 0.0..row_count as f64)?;
    let format_row = |v: &f64| {
        let r = v.floor().max(0.0) as usize;
        names.get(top_row.wrapping_sub(r)).cloned().unwrap_or_default()
    };
    mesh(&mut chart, "", row_count, &format_row, true)?;
    let mut cells = Vec::new();
    for (row, &s) in rows.iter().enumerate() {
        let y = (top_row - row) as f64;
        let colour = series_colour(s);
        for (i, b) in result.services[s].buckets.iter().enumerate().take(timeline.mid_s.len()) {
            if b.breakers_open > 0.0 {
                let (start, end) = timeline.span_s[i];
                let alpha = 0.3 + 0.7 * b.breakers_open.clamp(0.0, 1.0);
                cells.push(Rectangle::new([(start, y + 0.06), (end, y + 0.94)], colour.mix(alpha).filled()));
            }
        }
    }
    chart.draw_series(cells)?;
    if rows.is_empty() {
        note(chart.plotting_area(), "no circuit breaker opened")?;
    }
    Ok(())
}

/// The y axis of the breaker timeline: `rows` rows, row r spanning [r, r + 1), with
/// one tick (and grid line) at each row's centre to carry its name.
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
        let (start, end) = clamp_window(w, timeline);
        if end < start || (start >= timeline.x_end && w.start_s > timeline.x_end) {
            continue;
        }
        let style = text_coloured(LEGEND_SIZE, label_colour(w.kind));
        let x = to_px(start);
        let label = format!("▸ {}", w.label);
        let width = root.estimate_text_size(&label, &style)?.0 as i32;
        let right_limit = x_pixels.end + LEGEND_W as i32 - 8;
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

pub(crate) enum Swatch {
    Line(RGBColor, u32),
    Dashed(RGBColor),
    Block(RGBAColor),
    None,
}

/// Draws a legend: a heading and then one entry per row, each a swatch and a label.
/// Entries that do not fit in `area` are summarised as "+N more".
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    heading: &str,
    entries: &[(Swatch, String)],
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

fn draw_load_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, result: &RunResult) -> DrawResult<(), DB> {
    let mut entries: Vec<(Swatch, String)> =
        result.loads.iter().enumerate().map(|(i, l)| (Swatch::Line(series_colour(i), 2), l.name.clone())).collect();
    entries.push((Swatch::None, String::new()));
    entries.push((Swatch::Line(BLACK, 2), "goodput (ok/s)".to_string()));
    entries.push((Swatch::Dashed(BLACK), "offered (arrivals/s)".to_string()));
    entries.push((Swatch::None, String::new()));
    entries.push((Swatch::Block(FAULT_SHADE.mix(SHADE_ALPHA * 1.6)), "fault".to_string()));
    entries.push((Swatch::Block(SPIKE_SHADE.mix(SHADE_ALPHA * 1.6)), "load spike".to_string()));
    entries.push((
        Swatch::Block(WARMUP_SHADE.mix(WARMUP_ALPHA)),
        format!("warmup ({} s)", format_number(result.warmup_s)),
    ));
    draw_legend(area, "loads", &entries)
}

/// One row per service, with the cause when it was unhealthy (`stats::health`), then
/// the run's cascade in the same words as the table.
fn draw_service_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, result: &RunResult) -> DrawResult<(), DB> {
    let mut entries: Vec<(Swatch, String)> = result
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
    entries.push((Swatch::None, String::new()));
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

// ---------------------------------------------------------------------------------
// Text and number helpers.

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

/// A tick label: no trailing zeros, at most three significant digits after the point,
/// thousands as `k` from 10 000 on.
pub(crate) fn format_number(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        return format!("{}M", format_number(v / 1e6));
    }
    if a >= 1e4 {
        return format!("{}k", format_number(v / 1e3));
    }
    let s = if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OutcomeCounts;
    use crate::stats::summary::SojournSummary;
    use crate::stats::{LatencySummary, LoadBucket, LoadResult, ServiceBucket, ServiceResult};
    use hdrhistogram::Histogram;

    const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

    /// The run chart of `result` as (PNG bytes, SVG text). With `STORMCAST_KEEP_CHARTS`
    /// set, also writes them into a folder named after the test under the system's
    /// temporary folder, so the images can be looked at.
    fn rendered(test: &str, result: &RunResult) -> (Vec<u8>, String) {
        let files = run_charts(result).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["run.png", "run.svg"]);
        if std::env::var_os("STORMCAST_KEEP_CHARTS").is_some() {
            let dir = std::env::temp_dir().join(format!("stormcast-chart-{test}"));
            std::fs::create_dir_all(&dir).unwrap();
            for f in &files {
                std::fs::write(dir.join(&f.name), &f.bytes).unwrap();
            }
        }
        let [png, svg] = <[OutputFile; 2]>::try_from(files).unwrap();
        (png.bytes, String::from_utf8(svg.bytes).unwrap())
    }

    fn load(name: &str, buckets: Vec<LoadBucket>) -> LoadResult {
        LoadResult {
            name: name.to_string(),
            requests: 0,
            ok: 0,
            success_rate: 0.0,
            in_flight: 0,
            outcomes: OutcomeCounts::default(),
            latency_ms: LatencySummary::default(),
            slo_violated: false,
            recovery_s: None,
            attempts: 0,
            amplification: 1.0,
            buckets,
            histogram: Histogram::new(3).unwrap(),
        }
    }

    fn service(name: &str, buckets: Vec<ServiceBucket>) -> ServiceResult {
        ServiceResult {
            name: name.to_string(),
            arrivals: 0,
            ok: 0,
            errors: 0,
            rejected: 0,
            throttled: 0,
            unavailable: 0,
            utilization: 0.0,
            queue_max: 0,
            sojourn_ms: SojournSummary::default(),
            retries_sent: 0,
            breaker_opens: 0,
            wasted_work_s: 0.0,
            skipped: 0,
            in_flight: 0,
            faulted: false,
            health: Default::default(),
            buckets,
            histogram: Histogram::new(3).unwrap(),
        }
    }

    /// A hand-made cascade: `payment` slows down from 40 s to 70 s, `checkout` saturates
    /// behind it and its breakers open, and a load spike hits `browse` from 85 s to 95 s.
    fn synthetic(loads: &[&str], services: &[&str]) -> RunResult {
        const N: usize = 120;
        let bucket_s = 1.0;
        let fault = |i: usize| (40..70).contains(&i);
        let spike = |i: usize| (85..95).contains(&i);
        let mut load_results = Vec::new();
        for (l, name) in loads.iter().enumerate() {
            let base = 200 + 150 * l as u64;
            let buckets = (0..N)
                .map(|i| {
                    let wobble = (i as u64 * 7 + l as u64 * 3) % 11;
                    let arrivals = if spike(i) && l == 1 { base * 3 } else { base } + wobble;
                    let (ok, p99) = if fault(i) {
                        let ok = arrivals / (4 + (i as u64 % 3));
                        // Some buckets have no successful request at all.
                        if (52..56).contains(&i) && l == 0 {
                            (0, None)
                        } else {
                            (ok, Some((800.0 + 300.0 * ((i % 5) as f64)) * (1.0 + 0.6 * l as f64)))
                        }
                    } else if spike(i) && l == 1 {
                        (arrivals * 2 / 3, Some(120.0 + i as f64))
                    } else {
                        (arrivals - wobble / 3, Some(4.0 + (wobble as f64) / 2.0))
                    };
                    LoadBucket {
                        arrivals,
                        ok,
                        failed: arrivals - ok,
                        latency_ms_p99: p99,
                        retries: if fault(i) { arrivals / 2 } else { 0 },
                    }
                })
                .collect();
            load_results.push(load(name, buckets));
        }
        let mut service_results = Vec::new();
        for (s, name) in services.iter().enumerate() {
            let buckets = (0..N)
                .map(|i| {
                    let wobble = ((i * 13 + s * 5) % 17) as f64 / 100.0;
                    let hot = fault(i) && s % 3 != 2;
                    let utilization = if hot {
                        0.97
                    } else if spike(i) {
                        0.7 + wobble
                    } else {
                        0.2 + 0.15 * (s % 4) as f64 + wobble
                    };
                    let failed = if hot { 150 + 40 * (s as u64 % 5) } else { 0 };
                    let breakers_open =
                        if fault(i) && i > 45 && s % 3 == 0 { 0.25 + 0.25 * ((i % 4) as f64) } else { 0.0 };
                    ServiceBucket {
                        arrivals: 400,
                        ok: 400 - failed.min(400),
                        failed,
                        latency_ms_p99: Some(5.0),
                        queue: 0.0,
                        queue_max: 0,
                        utilization,
                        retries: 0,
                        breakers_open,
                        ..ServiceBucket::default()
                    }
                })
                .collect();
            service_results.push(service(name, buckets));
        }
        RunResult {
            format_version: crate::stats::summary::FormatVersion,
            seed: 42,
            stormcast_version: "0.1.0".to_string(),
            scenario: "checkout-cascade".to_string(),
            scenario_hash: "3f2a9c0d1e7b44aa".to_string(),
            overlays: Vec::new(),
            simulated_s: N as f64 * bucket_s,
            warmup_s: 10.0,
            bucket_s,
            events: 0,
            loads: load_results,
            services: service_results,
            cascade: Default::default(),
            stopped: None,
            disturbances: vec![
                DisturbanceWindow {
                    kind: DisturbanceKind::Fault,
                    label: "latency x20 on payment".to_string(),
                    start_s: 40.0,
                    end_s: 70.0,
                },
                DisturbanceWindow {
                    kind: DisturbanceKind::Spike,
                    label: "browse x3".to_string(),
                    start_s: 85.0,
                    end_s: 95.0,
                },
            ],
        }
    }

    /// The contents of the SVG's `<text>` elements, trimmed.
    fn svg_texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let body = &t[t.find('>')? + 1..];
                Some(body[..body.find("</text>")?].trim().to_string())
            })
            .collect()
    }

    /// What a blank white chart of the same size compresses to: a rendered chart must
    /// be clearly larger, which proves something (lines, text) was drawn.
    fn blank_png_len() -> usize {
        let mut files = Vec::new();
        render("blank", (WIDTH, BASE_HEIGHT), &mut files, |r| r.fill(&WHITE), |r| r.fill(&WHITE)).unwrap();
        files[0].bytes.len()
    }

    #[test]
    fn renders_png_and_svg_with_text_and_byte_identical_twice() {
        let result = synthetic(&["shoppers", "browse"], &["checkout", "payment", "catalog"]);

        let (png, svg) = rendered("basic", &result);
        let (png_again, svg_again) = rendered("basic", &result);
        assert_eq!(png[..8], PNG_SIGNATURE);
        let blank = blank_png_len();
        assert!(png.len() > 4 * blank, "chart PNG is {} bytes, a blank one {blank}", png.len());
        assert!(png == png_again, "PNG renders differ");

        assert!(svg.starts_with("<svg"));
        let texts = svg_texts(&svg);
        for name in ["shoppers", "browse", "checkout", "payment", "catalog"] {
            assert!(texts.iter().any(|t| t == name), "SVG lacks the text {name}");
        }
        assert!(texts.iter().any(|t| t.contains("checkout-cascade")));
        assert!(texts.iter().any(|t| t.contains("latency x20 on payment")));
        assert!(svg == svg_again, "SVG renders differ");
    }

    /// Drawing into memory gives the bytes plotters' file backends wrote: the same PNG
    /// encoder settings, the same SVG text.
    #[test]
    fn in_memory_charts_match_plotters_files() {
        let result = synthetic(&["shoppers", "browse"], &["checkout", "payment", "catalog"]);
        let (png, svg) = rendered("files", &result);
        let dir = tempfile::tempdir().unwrap();
        let (png_path, svg_path) = (dir.path().join("run.png"), dir.path().join("run.svg"));
        {
            let root = BitMapBackend::new(&png_path, figure_size(&result)).into_drawing_area();
            draw_run_chart(&root, &result).and_then(|()| root.present()).unwrap();
            let root = SVGBackend::new(&svg_path, figure_size(&result)).into_drawing_area();
            draw_run_chart(&root, &result).and_then(|()| root.present()).unwrap();
        }
        assert!(png == std::fs::read(&png_path).unwrap(), "PNG bytes differ from plotters' own file");
        assert!(svg == std::fs::read_to_string(&svg_path).unwrap(), "SVG differs from plotters' own file");
    }

    #[test]
    fn renders_twelve_services_and_long_names() {
        let services = [
            "edge-gateway",
            "auth",
            "checkout-orchestrator-v2",
            "payment",
            "inventory",
            "pricing",
            "catalog",
            "search",
            "recommendations",
            "cart",
            "shipping-quotes",
            "notifications",
        ];
        let mut result = synthetic(&["shoppers", "browse", "mobile-app-background-sync"], &services);
        // Every service's breakers open at some point: twelve rows in the breaker timeline.
        for (s, service) in result.services.iter_mut().enumerate() {
            for b in &mut service.buckets[50 + s..60 + 2 * s] {
                b.breakers_open = 0.5;
            }
        }
        assert_eq!(figure_size(&result), (WIDTH, BASE_HEIGHT + 8 * BREAKER_ROW_H));
        let (png, svg) = rendered("many", &result);
        assert!(png.len() > blank_png_len());
        assert!(svg_texts(&svg).iter().any(|t| t == "notifications"));
    }

    #[test]
    fn edge_cases_render_without_error() {
        // No loads, no services, no disturbances.
        let mut empty = synthetic(&[], &[]);
        empty.disturbances.clear();
        rendered("empty", &empty);
        // All latencies missing, and a window reaching past the end of the run.
        let mut gaps = synthetic(&["only"], &["one"]);
        for b in &mut gaps.loads[0].buckets {
            b.latency_ms_p99 = None;
        }
        gaps.disturbances[1].end_s = 500.0;
        rendered("gaps", &gaps);
        // A bucket width of zero cannot be drawn.
        let mut bad = synthetic(&["only"], &["one"]);
        bad.bucket_s = 0.0;
        assert!(matches!(run_charts(&bad), Err(ChartError::InvalidResult(_))));
    }

    #[test]
    fn latency_switches_to_log_scale_beyond_two_decades() {
        let result = synthetic(&["shoppers", "browse"], &["checkout", "payment", "catalog"]);
        let (_, svg) = rendered("log", &result);
        // Synthetic p99s range from 4 ms to 2 s: more than two decades.
        assert!(svg.contains("(log scale)"));
    }

    #[test]
    fn numbers_format_for_ticks() {
        assert_eq!(format_number(0.0), "0");
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(format_number(120.0), "120");
        assert_eq!(format_number(12_500.0), "12.5k");
        assert_eq!(format_number(0.05), "0.05");
        assert_eq!(nice_ceiling(730.0), 800.0);
        assert_eq!(nice_ceiling(1134.0), 1200.0);
        assert_eq!(nice_ceiling(1.7), 2.0);
        assert_eq!(nice_ceiling(0.0), 0.0);
    }
}

//! Interactive time series: panels drawn here as inline SVG from the same series the
//! page embeds as JSON, so the page's script can zoom (drag across a panel), show the
//! values under the pointer and toggle series (click a legend entry) without drawing
//! anything itself but the time axis. Lines keep their width when zoomed
//! (`vector-effect: non-scaling-stroke`).

use super::page::escape;
use crate::format::compact;
use crate::report::chart::style::series_colour;
use crate::stats::summary::{DisturbanceKind, DisturbanceWindow};
use serde::Serialize;
use std::fmt::Write;

/// The panel's drawing, in SVG user units (the figure scales to the page width).
pub const WIDTH: f64 = 880.0;
pub const HEIGHT: f64 = 230.0;
pub const LEFT: f64 = 62.0;
pub const RIGHT: f64 = 14.0;
pub const TOP: f64 = 12.0;
pub const BOTTOM: f64 = 30.0;

/// One panel: series over the same buckets of time.
#[derive(Clone, Debug, Serialize)]
pub struct Panel {
    /// Unique in the page (`p0`, `p1`, ...).
    pub id: String,
    pub title: String,
    /// The values' unit, shown in the hover box (`ok/s`, `ms`, `%`).
    pub unit: String,
    /// Width of a bucket in seconds; value `i` covers `[i * bucket_s, (i + 1) * bucket_s)`.
    pub bucket_s: f64,
    /// The end of the time axis, in seconds.
    pub end_s: f64,
    /// The top of the value axis.
    pub y_max: f64,
    pub series: Vec<Series>,
    /// Shaded windows: fault, load spike, warmup, as `(start_s, end_s, kind)`.
    pub windows: Vec<(f64, f64, &'static str)>,
}

/// One line of a panel.
#[derive(Clone, Debug, Serialize)]
pub struct Series {
    pub name: String,
    /// `#rrggbb`, the chart toolkit's series colour of its index.
    pub colour: String,
    /// `null` where there is no value (a gap in the line).
    pub values: Vec<Option<f64>>,
    /// The name of an earlier series with exactly these values: drawn dashed, so
    /// neither hides the other.
    pub same_as: Option<String>,
}

/// A named line's values, one per bucket.
pub type Line = (String, Vec<Option<f64>>);

/// The time axis panels share: bucket width, end, warmup and disturbance windows.
#[derive(Clone, Copy)]
pub struct Axis<'a> {
    pub bucket_s: f64,
    pub end_s: f64,
    pub warmup_s: f64,
    pub windows: &'a [DisturbanceWindow],
}

impl Panel {
    /// A panel of `series`, coloured in order, on `axis` (its windows shaded).
    pub fn new(id: usize, title: &str, unit: &str, axis: &Axis<'_>, series: Vec<Line>) -> Panel {
        let Axis { bucket_s, end_s, warmup_s, windows } = *axis;
        let mut out: Vec<Series> = Vec::with_capacity(series.len());
        for (i, (name, values)) in series.into_iter().enumerate() {
            let same_as = out.iter().find(|s| s.values == values).map(|s| s.name.clone());
            let c = series_colour(i);
            out.push(Series { name, colour: format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2), values, same_as });
        }
        let top = out.iter().flat_map(|s| s.values.iter().flatten()).fold(0.0_f64, |m, &v| m.max(v));
        let mut shades = Vec::new();
        if warmup_s > 0.0 {
            shades.push((0.0, warmup_s, "warmup"));
        }
        for w in windows {
            let kind = match w.kind {
                DisturbanceKind::Fault => "fault",
                DisturbanceKind::Spike => "spike",
            };
            shades.push((w.start_s, w.end_s, kind));
        }
        Panel {
            id: format!("p{id}"),
            title: title.to_string(),
            unit: unit.to_string(),
            bucket_s,
            end_s: if end_s > 0.0 { end_s } else { bucket_s.max(1.0) },
            y_max: nice_top(top),
            series: out,
            windows: shades,
        }
    }
}

/// The smallest 1, 2 or 5 times a power of ten at or above `v` (1 for nothing).
fn nice_top(v: f64) -> f64 {
    if v.is_nan() || v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * p).find(|&t| t >= v * (1.0 - 1e-12)).unwrap_or(10.0 * p)
}

/// The panel as HTML: a title, the SVG (axes, shaded windows, one group per series,
/// the pointer's line and the surface that catches the pointer), the legend buttons,
/// and the hover box.
pub fn panel_html(p: &Panel) -> String {
    let (pw, ph) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let sx = |t: f64| LEFT + t / p.end_s * pw;
    let sy = |v: f64| TOP + ph - v / p.y_max * ph;
    let mut svg = format!(
        "<svg class=\"ts\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}\">\
         <defs><clipPath id=\"clip-{}\"><rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{pw}\" height=\"{ph}\"/></clipPath></defs>",
        escape(&p.title),
        p.id
    );
    // Value axis: five gridlines with their labels.
    for k in 0..=4 {
        let v = p.y_max * k as f64 / 4.0;
        let y = sy(v);
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"ytick\" x=\"{}\" y=\"{:.1}\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            escape(&compact(v))
        );
    }
    let _ = write!(svg, "<g class=\"xaxis\" transform=\"translate(0,{})\"></g>", TOP + ph);
    let _ = write!(svg, "<g clip-path=\"url(#clip-{})\"><g class=\"zoom\">", p.id);
    for &(a, b, kind) in &p.windows {
        let _ = write!(
            svg,
            "<rect class=\"window {kind}\" x=\"{:.2}\" y=\"{TOP}\" width=\"{:.2}\" height=\"{ph}\"/>",
            sx(a),
            (sx(b) - sx(a)).max(0.5)
        );
    }
    for (k, s) in p.series.iter().enumerate() {
        let dashed = if s.same_as.is_some() { " dashed" } else { "" };
        let _ = write!(svg, "<g class=\"series{dashed}\" data-series=\"{k}\" stroke=\"{}\">", s.colour);
        for run in runs(&s.values) {
            let points: Vec<String> =
                run.iter().map(|&(i, v)| format!("{:.2},{:.2}", sx((i as f64 + 0.5) * p.bucket_s), sy(v))).collect();
            let _ = write!(svg, "<polyline points=\"{}\"/>", points.join(" "));
        }
        svg.push_str("</g>");
    }
    svg.push_str("</g></g>");
    let _ = write!(
        svg,
        "<line class=\"cursor\" x1=\"0\" x2=\"0\" y1=\"{TOP}\" y2=\"{}\"/>\
         <rect class=\"brush\" x=\"0\" y=\"{TOP}\" width=\"0\" height=\"{ph}\"/>\
         <rect class=\"hit\" x=\"{LEFT}\" y=\"{TOP}\" width=\"{pw}\" height=\"{ph}\"/></svg>",
        TOP + ph
    );
    let mut legend = String::new();
    for (k, s) in p.series.iter().enumerate() {
        let note = s.same_as.as_ref().map_or(String::new(), |o| format!(" (same as {})", escape(o)));
        let _ = write!(
            legend,
            "<button type=\"button\" class=\"key\" data-series=\"{k}\" aria-pressed=\"true\">\
             <span class=\"swatch\" style=\"background:{}\"></span>{}{note}</button>",
            s.colour,
            escape(&s.name)
        );
    }
    format!(
        "<div class=\"panel\" data-panel=\"{}\"><h3>{}</h3>{svg}<div class=\"legend\">{legend}</div>\
         <div class=\"hover\" hidden></div></div>",
        p.id,
        escape(&p.title)
    )
}

/// The unbroken runs of values, each as `(index, value)`.
fn runs(values: &[Option<f64>]) -> Vec<Vec<(usize, f64)>> {
    let mut out: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) if v.is_finite() => current.push((i, *v)),
            _ => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The panels' HTML, with the one line that says how to use them.
pub fn panels_html(panels: &[Panel]) -> String {
    let mut out = String::from(
        "<p class=\"hint\">Drag across a panel to zoom in on a time range, double-click to zoom out; \
         point at a line to read its values; click a legend entry to hide or show its line.</p>",
    );
    for p in panels {
        out.push_str(&panel_html(p));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tops_are_round_and_gaps_split_lines() {
        assert_eq!(nice_top(0.0), 1.0);
        assert_eq!(nice_top(3.2), 5.0);
        assert_eq!(nice_top(120.0), 200.0);
        assert_eq!(nice_top(1000.0), 1000.0);
        let r = runs(&[Some(1.0), None, Some(2.0), Some(3.0)]);
        assert_eq!(r, vec![vec![(0, 1.0)], vec![(2, 2.0), (3, 3.0)]]);
    }

    #[test]
    fn identical_series_are_marked_so_both_show() {
        let s = vec![("api".to_string(), vec![Some(1.0)]), ("gateway".to_string(), vec![Some(1.0)])];
        let axis = Axis { bucket_s: 1.0, end_s: 1.0, warmup_s: 0.0, windows: &[] };
        let p = Panel::new(0, "failures", "/s", &axis, s);
        assert_eq!(p.series[1].same_as.as_deref(), Some("api"));
        let html = panel_html(&p);
        assert!(html.contains("class=\"series dashed\""));
        assert!(html.contains("(same as api)"));
    }
}

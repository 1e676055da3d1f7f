//! Fan bands: per bucket, the median across seeds as a line over the 5–95% band as a
//! shaded area, in one or more colours on one time panel (the sweep fan chart, and the
//! compare fan chart with the base and proposed configs overlaid).

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::frame::{Axis, SWEEP_PANEL, mesh, nice_ceiling, note};
use super::legend::{Entry, Swatch};
use super::style::NEUTRAL;
use super::timeline::{Shading, shade_windows};
use super::{Chart, DrawResult};
use crate::format::compact;
use crate::sweep::Band;

/// The height of a fan chart's row: one load, its goodput and its p99 side by side.
pub(crate) const FAN_ROW_H: u32 = 290;

/// One band on a panel: its bucket midpoints (seconds), values and colour.
pub(crate) struct FanSide<'a> {
    pub mid_s: &'a [f64],
    pub band: &'a Band,
    pub colour: RGBColor,
}

/// The order bands are drawn in, which decides what covers what.
#[derive(Clone, Copy)]
pub(crate) enum Layering {
    /// Each run of known buckets: its area, then its median (the sweep fan chart).
    RunByRun,
    /// Every side's areas, then every side's medians on top, so no median hides under
    /// another side's band (the compare fan chart).
    AreasFirst,
}

/// How a fan panel draws its bands.
pub(crate) struct FanStyle {
    /// Opacity of a band's area.
    pub area_alpha: f64,
    pub layering: Layering,
}

/// The legend rows that explain a band: its median line and its 5–95% area.
pub(crate) fn band_key(area_alpha: f64) -> [Entry; 2] {
    [
        (Swatch::Line(NEUTRAL, 2), "median of seeds".to_string()),
        (Swatch::Block(NEUTRAL.mix(area_alpha)), "5–95% of seeds".to_string()),
    ]
}

/// One fan panel on the sweep frame's time axis `0..x_end`, with `shading` behind the
/// bands. Goodput is on a linear axis from 0; latency (`latency`) switches to a log
/// axis when its values span more than two decades, as in the run chart.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fan_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    shading: &Shading,
    x_end: f64,
    sides: &[FanSide<'_>],
    latency: bool,
    style: &FanStyle,
) -> DrawResult<(), DB> {
    let values = || {
        sides
            .iter()
            .flat_map(|s| s.band.p5.iter().chain(&s.band.median).chain(&s.band.p95))
            .flatten()
            .copied()
            .filter(|v| v.is_finite())
    };
    let max = values().fold(0.0_f64, f64::max);
    let min_positive = values().filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
    if latency && min_positive.is_finite() && max / min_positive > 100.0 {
        let floor = min_positive / 1.5;
        let range = floor..max * 1.5;
        let caption = format!("{caption} (log scale)");
        let mut chart = SWEEP_PANEL.build(area, &caption, 0.0..x_end, range.clone().log_scale())?;
        fan_body(&mut chart, shading, x_end, sides, range, Some(floor), style)
    } else {
        let top = nice_ceiling(max * 1.08).max(1.0);
        let mut chart = SWEEP_PANEL.build(area, caption, 0.0..x_end, 0.0..top)?;
        fan_body(&mut chart, shading, x_end, sides, 0.0..top, None, style)
    }
}

fn fan_body<DB, Y>(
    chart: &mut Chart<'_, DB, RangedCoordf64, Y>,
    shading: &Shading,
    x_end: f64,
    sides: &[FanSide<'_>],
    y_range: Range<f64>,
    floor: Option<f64>,
    style: &FanStyle,
) -> DrawResult<(), DB>
where
    DB: DrawingBackend,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    shade_windows(chart, shading, x_end, y_range)?;
    let ticks = |v: &f64| compact(*v);
    mesh(chart, Axis::new("time (s)", 8, &ticks), Axis::new("", 6, &ticks))?;
    let bands: Vec<BandRuns> =
        sides.iter().enumerate().map(|(i, side)| BandRuns::new(side, floor, &sides[..i])).collect();
    match style.layering {
        Layering::RunByRun => {
            for band in &bands {
                for run in &band.runs {
                    band.draw_area(chart, run.clone(), style.area_alpha)?;
                    band.draw_median(chart, run.clone())?;
                }
            }
        }
        Layering::AreasFirst => {
            for band in &bands {
                for run in &band.runs {
                    band.draw_area(chart, run.clone(), style.area_alpha)?;
                }
            }
            for band in &bands {
                for run in &band.runs {
                    band.draw_median(chart, run.clone())?;
                }
            }
        }
    }
    if sides.iter().all(|s| s.band.median.iter().all(Option::is_none)) {
        note(chart.plotting_area(), "no data")?;
    }
    Ok(())
}

/// A band cut into runs of buckets where its median is known: each run is drawn as one
/// polygon and one line (or, alone between gaps, a bar and a dot).
struct BandRuns<'a> {
    side: &'a FanSide<'a>,
    /// Values at or below it sit on it (a log axis has no 0).
    floor: Option<f64>,
    runs: Vec<Range<usize>>,
    /// Its median is an earlier side's exactly (a change that changed nothing here).
    covers_another: bool,
}

impl<'a> BandRuns<'a> {
    fn new(side: &'a FanSide<'a>, floor: Option<f64>, earlier: &[FanSide<'_>]) -> Self {
        let covers_another = earlier.iter().any(|e| e.band.median == side.band.median);
        let mut band = BandRuns { side, floor, runs: Vec::new(), covers_another };
        let median = &side.band.median;
        let n = side.mid_s.len().min(median.len());
        let mut start = 0;
        while start < n {
            if band.clamp(median[start]).is_none() {
                start += 1;
                continue;
            }
            let mut end = start;
            while end < n && band.clamp(median[end]).is_some() {
                end += 1;
            }
            band.runs.push(start..end);
            start = end;
        }
        band
    }

    fn clamp(&self, v: Option<f64>) -> Option<f64> {
        v.filter(|v| v.is_finite()).map(|v| self.floor.map_or(v, |f| v.max(f)))
    }

    /// Bucket `i` of `values`, or of the median where `values` has none.
    fn at(&self, i: usize, values: &[Option<f64>]) -> (f64, f64) {
        (self.side.mid_s[i], self.clamp(values[i]).or(self.clamp(self.side.band.median[i])).unwrap_or(0.0))
    }

    fn draw_area<DB, Y>(
        &self,
        chart: &mut Chart<'_, DB, RangedCoordf64, Y>,
        run: Range<usize>,
        alpha: f64,
    ) -> DrawResult<(), DB>
    where
        DB: DrawingBackend,
        Y: Ranged<ValueType = f64>,
    {
        let (band, colour) = (self.side.band, self.side.colour);
        if run.len() == 1 {
            let (x, lo) = self.at(run.start, &band.p5);
            let (_, hi) = self.at(run.start, &band.p95);
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x, lo), (x, hi)],
                colour.mix(0.4).stroke_width(3),
            )))?;
        } else {
            let mut polygon: Vec<(f64, f64)> = run.clone().map(|i| self.at(i, &band.p95)).collect();
            polygon.extend(run.rev().map(|i| self.at(i, &band.p5)));
            chart.draw_series(std::iter::once(Polygon::new(polygon, colour.mix(alpha).filled())))?;
        }
        Ok(())
    }

    fn draw_median<DB, Y>(&self, chart: &mut Chart<'_, DB, RangedCoordf64, Y>, run: Range<usize>) -> DrawResult<(), DB>
    where
        DB: DrawingBackend,
        Y: Ranged<ValueType = f64>,
    {
        let (median, colour) = (&self.side.band.median, self.side.colour);
        if run.len() == 1 {
            chart.draw_series(std::iter::once(Circle::new(self.at(run.start, median), 3, colour.filled())))?;
        } else if self.covers_another {
            // Dashed over an identical earlier median, so both colours show.
            chart.draw_series(DashedLineSeries::new(run.map(|i| self.at(i, median)), 7, 5, colour.stroke_width(2)))?;
        } else {
            chart.draw_series(LineSeries::new(run.map(|i| self.at(i, median)), colour.stroke_width(2)))?;
        }
        Ok(())
    }
}

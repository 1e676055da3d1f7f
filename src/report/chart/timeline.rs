//! The time axis of a run, sweep or comparison: where each bucket sits, and the shading
//! of the warmup and of each disturbance window across a panel.

use std::ops::Range;

use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::style::{SHADE_ALPHA, WARMUP_ALPHA, WARMUP_SHADE, shade_colour};
use super::{Chart, DrawResult};
use crate::stats::DisturbanceWindow;

/// Where a bucket's sample is drawn. Both are its middle; the run chart and the sweep
/// charts compute it with different float operations, kept so each renders as before.
#[derive(Clone, Copy)]
pub(crate) enum Midpoint {
    /// `start + duration / 2` (the run chart).
    HalfDuration,
    /// `(start + end) / 2` (the sweep and compare charts).
    MeanOfEnds,
}

/// The time axis and the per-bucket sample positions every panel of a figure shares.
pub(crate) struct Timeline {
    pub x_end: f64,
    /// Midpoint of each bucket, in seconds.
    pub mid_s: Vec<f64>,
    /// Duration of each bucket, in seconds (the last one may be cut by the end of the run).
    pub dur_s: Vec<f64>,
    /// Start and end of each bucket, in seconds.
    pub span_s: Vec<(f64, f64)>,
}

impl Timeline {
    /// Buckets of `bucket_s` seconds starting at `starts`, on an axis ending at `x_end`.
    pub(crate) fn new(starts: impl IntoIterator<Item = f64>, bucket_s: f64, x_end: f64, midpoint: Midpoint) -> Self {
        let mut timeline = Timeline { x_end, mid_s: Vec::new(), dur_s: Vec::new(), span_s: Vec::new() };
        for start in starts {
            let end = (start + bucket_s).min(x_end);
            // A bucket cut short by the end of the run holds fewer seconds, so its rate
            // is counted over the seconds it has, not the nominal width.
            let dur = if end > start { end - start } else { bucket_s };
            let mid = match midpoint {
                Midpoint::HalfDuration => start + dur / 2.0,
                Midpoint::MeanOfEnds if end > start => (start + end) / 2.0,
                Midpoint::MeanOfEnds => start + bucket_s / 2.0,
            };
            timeline.mid_s.push(mid);
            timeline.dur_s.push(dur);
            timeline.span_s.push((start, start + dur));
        }
        timeline
    }

    /// `count` in bucket `i` as a rate per second.
    pub(crate) fn rate(&self, i: usize, count: u64) -> f64 {
        count as f64 / self.dur_s[i]
    }
}

/// What a panel shades: the warmup (from 0) and the disturbance windows.
pub(crate) struct Shading<'a> {
    pub warmup_s: f64,
    pub disturbances: &'a [DisturbanceWindow],
}

/// `w` clipped to the axis `[0, x_end]`.
pub(crate) fn clamp_window(w: &DisturbanceWindow, x_end: f64) -> (f64, f64) {
    (w.start_s.clamp(0.0, x_end), w.end_s.clamp(0.0, x_end))
}

/// Shades the warmup period and every disturbance window across the panel's height.
pub(crate) fn shade_windows<DB, Y>(
    chart: &mut Chart<'_, DB, RangedCoordf64, Y>,
    shading: &Shading,
    x_end: f64,
    y_range: Range<Y::ValueType>,
) -> DrawResult<(), DB>
where
    DB: DrawingBackend,
    Y: Ranged,
    Y::ValueType: Clone + 'static,
{
    let mut shades = Vec::new();
    if shading.warmup_s > 0.0 {
        shades.push((0.0, shading.warmup_s.min(x_end), WARMUP_SHADE.mix(WARMUP_ALPHA)));
    }
    for w in shading.disturbances {
        let (start, end) = clamp_window(w, x_end);
        if end > start {
            shades.push((start, end, shade_colour(w.kind).mix(SHADE_ALPHA)));
        }
    }
    chart.draw_series(shades.into_iter().map(|(start, end, colour)| {
        Rectangle::new([(start, y_range.start.clone()), (end, y_range.end.clone())], colour.filled())
    }))?;
    Ok(())
}

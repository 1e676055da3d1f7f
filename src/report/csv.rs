//! `timeseries.csv`: one row per bucket per load and per service (spec section 6).

use crate::stats::RunResult;
use std::fmt::Write;

/// The columns before the registered per-bucket series (`model::counters::series`); the
/// first nine are the spec's.
const LEADING: &str = "time_s,scope,name,arrivals,ok,failed,latency_ms_p99,queue,utilization,queue_max";
/// The columns after them.
const TRAILING: &str = "timeouts,late_ok,sojourn_ms_mean,unhealthy";

/// The header: the leading columns, one per series the run reports (`retries`,
/// `breakers_open`...: `RunResult::series`), then the trailing ones.
pub fn columns(r: &RunResult) -> String {
    let mut header = String::from(LEADING);
    for (_, def) in r.series.iter() {
        header.push(',');
        header.push_str(def.column);
    }
    header.push(',');
    header.push_str(TRAILING);
    header
}

/// Renders the time series. Loads come first in each bucket, then services, each in
/// file order. Empty cells mean "not applicable" (a load has no queue) or "no data"
/// (no request ended ok in the bucket, so there is no p99). A load's row fills only the
/// `retries` series (the retries its clients sent).
pub fn timeseries_csv(r: &RunResult) -> String {
    let mut out = String::with_capacity(64 * r.bucket_count() * (r.loads.len() + r.services.len()) + 128);
    out.push_str(&columns(r));
    out.push('\n');
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
    // A load row: the retries cell, then an empty cell for each other series and for
    // the trailing columns.
    let load_tail = ",".repeat(r.series.iter().count() - 1 + TRAILING.split(',').count());
    for i in 0..r.bucket_count() {
        let t = r.bucket_start_s(i);
        for l in &r.loads {
            let b = &l.buckets[i];
            let _ = writeln!(
                out,
                "{t},load,{},{},{},{},{},,,,{}{load_tail}",
                l.name,
                b.arrivals,
                b.ok,
                b.failed,
                opt(b.latency_ms_p99),
                b.retries
            );
        }
        for s in &r.services {
            let b = &s.buckets[i];
            let _ = write!(
                out,
                "{t},service,{},{},{},{},{},{},{},{}",
                s.name,
                b.arrivals,
                b.ok,
                b.failed,
                opt(b.latency_ms_p99),
                b.queue,
                b.utilization,
                b.queue_max,
            );
            for (i, _) in r.series.iter() {
                let _ = write!(out, ",{}", b.series[i]);
            }
            let _ = writeln!(
                out,
                ",{},{},{},{}",
                b.timeouts,
                b.late_ok,
                opt(b.sojourn_ms_mean),
                u8::from(s.health.buckets.get(i).copied().unwrap_or(false))
            );
        }
    }
    out
}

//! `timeseries.csv`: one row per bucket per load and per service (spec section 6).

use crate::stats::RunResult;
use std::fmt::Write;

/// The columns, in order. The first nine are the spec's; the rest are extensions.
pub const COLUMNS: &str = "time_s,scope,name,arrivals,ok,failed,latency_ms_p99,queue,utilization,queue_max,retries,breakers_open,\
timeouts,late_ok,sojourn_ms_mean,unhealthy";

/// Renders the time series. Loads come first in each bucket, then services, each in
/// file order. Empty cells mean "not applicable" (a load has no queue) or "no data"
/// (no request ended ok in the bucket, so there is no p99).
pub fn timeseries_csv(r: &RunResult) -> String {
    let mut out = String::with_capacity(64 * r.bucket_count() * (r.loads.len() + r.services.len()) + 128);
    out.push_str(COLUMNS);
    out.push('\n');
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
    for i in 0..r.bucket_count() {
        let t = r.bucket_start_s(i);
        for l in &r.loads {
            let b = &l.buckets[i];
            let _ = writeln!(
                out,
                "{t},load,{},{},{},{},{},,,,{},,,,,",
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
            let _ = writeln!(
                out,
                "{t},service,{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                s.name,
                b.arrivals,
                b.ok,
                b.failed,
                opt(b.latency_ms_p99),
                b.queue,
                b.utilization,
                b.queue_max,
                b.retries,
                b.breakers_open,
                b.timeouts,
                b.late_ok,
                opt(b.sojourn_ms_mean),
                u8::from(s.health.buckets.get(i).copied().unwrap_or(false))
            );
        }
    }
    out
}

//! Recovery after a disturbance, and the disturbance windows of a scenario.
//!
//! `recovery_s` (spec section 6): the time, after the last fault or load spike ends,
//! until the load's goodput is back to at least 95% of its level before the first one,
//! held for 5 buckets; `None` if it never recovers (a metastable failure), `0` if
//! nothing was disturbed.
//!
//! "Held for 5 buckets" is read as: the mean goodput over 5 consecutive buckets is at
//! least 95% of the level. Requiring each bucket alone to pass would make recovery
//! depend on Poisson noise: at 200 requests per bucket one bucket in four falls below
//! 95% by chance, so healthy runs would often be reported as never recovering.

use super::summary::{DisturbanceKind, DisturbanceWindow};
use crate::model::{FaultKind, FaultTarget, Scenario};

/// Goodput must be back to this share of its level before the disturbance.
pub const RECOVERED_SHARE: f64 = 0.95;
/// ... for this many consecutive buckets.
pub const HELD_BUCKETS: usize = 5;
/// A bucket with fewer outcomes than this is not judged healthy or unhealthy: with a
/// handful of requests one failure would swing the rate past 5%.
pub const MIN_BUCKET_OUTCOMES: u64 = 20;

/// Every fault window, and every interval in which an open-loop load's rate is above
/// its initial rate (a spike), in time order of their start.
pub fn disturbances(sc: &Scenario) -> Vec<DisturbanceWindow> {
    let mut out = Vec::new();
    for f in &sc.faults {
        let target = match f.target {
            FaultTarget::Service(s) => sc.services[s].name.clone(),
            FaultTarget::Endpoint(e) => sc.endpoint_name(e),
            FaultTarget::Edge { from, to } => format!("{}->{}", sc.services[from].name, sc.services[to].name),
        };
        let kind = match f.kind {
            FaultKind::Latency { .. } => "latency",
            FaultKind::Errors { .. } => "errors",
            FaultKind::Crash { .. } => "crash",
            FaultKind::Partition => "partition",
            FaultKind::Pause { .. } => "pause",
            FaultKind::RollingRestart { .. } => "rolling restart",
        };
        out.push(DisturbanceWindow {
            kind: DisturbanceKind::Fault,
            label: format!("{kind} on {target}"),
            start_s: f.at.as_secs_f64(),
            end_s: f.end().as_secs_f64(),
        });
    }
    let end_s = sc.simulation.duration.as_secs_f64();
    for load in &sc.loads {
        for (start, end, factor) in load.spikes(end_s) {
            out.push(spike(&load.name, start, end, factor));
        }
    }
    out.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    out
}

fn spike(load: &str, start_s: f64, end_s: f64, factor: f64) -> DisturbanceWindow {
    let label = if factor.is_finite() { format!("{load} x{factor:.3}") } else { format!("{load} spike") };
    let label = label.trim_end_matches('0').trim_end_matches('.').to_string();
    DisturbanceWindow { kind: DisturbanceKind::Spike, label, start_s, end_s }
}

/// Seconds from the end of the last disturbance until goodput (`ok` per bucket),
/// averaged over 5 consecutive buckets, is back to 95% of its mean over the measured
/// buckets before the first disturbance; the recovery time is the start of the first
/// such window. Without such buckets, an open loop's `base_rate` is the level.
/// Only whole buckets are judged; the first judged bucket starts at or after the end.
pub fn recovery_s(
    goodput: &[u64],
    bucket_s: f64,
    warmup_s: f64,
    base_rate: Option<f64>,
    windows: &[DisturbanceWindow],
) -> Option<f64> {
    let Some(first_start) = windows.iter().map(|w| w.start_s).min_by(f64::total_cmp) else {
        return Some(0.0);
    };
    let last_end = windows.iter().map(|w| w.end_s).max_by(f64::total_cmp).expect("non-empty");
    let first_measured = (warmup_s / bucket_s - 1e-9).ceil().max(0.0) as usize;
    // Buckets [first_measured, before) end at or before the first disturbance.
    let before = ((first_start / bucket_s) + 1e-9).floor() as usize;
    let level = if before > first_measured {
        let pre = &goodput[first_measured..before.min(goodput.len())];
        pre.iter().sum::<u64>() as f64 / pre.len().max(1) as f64
    } else {
        base_rate? * bucket_s
    };
    let threshold = RECOVERED_SHARE * level;
    let first_after = ((last_end / bucket_s) - 1e-9).ceil().max(0.0) as usize;
    let judged = goodput.get(first_after..).unwrap_or(&[]);
    judged
        .windows(HELD_BUCKETS)
        .position(|w| w.iter().sum::<u64>() as f64 >= threshold * HELD_BUCKETS as f64)
        .map(|i| ((first_after + i) as f64 * bucket_s - last_end).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(start_s: f64, end_s: f64) -> DisturbanceWindow {
        DisturbanceWindow { kind: DisturbanceKind::Fault, label: "f".into(), start_s, end_s }
    }

    #[test]
    fn undisturbed_is_zero() {
        assert_eq!(recovery_s(&[10; 20], 1.0, 0.0, Some(10.0), &[]), Some(0.0));
    }

    #[test]
    fn recovers_after_a_dip() {
        // Level 100 before t = 5; the fault ends at t = 8; goodput back from bucket 10.
        let mut g = vec![100u64; 30];
        for b in g.iter_mut().take(10).skip(5) {
            *b = 20;
        }
        assert_eq!(recovery_s(&g, 1.0, 0.0, None, &[fault(5.0, 8.0)]), Some(2.0));
    }

    #[test]
    fn noise_around_the_level_does_not_delay_recovery() {
        let g: Vec<u64> = (0..30).map(|i| if i % 2 == 0 { 90 } else { 104 }).collect();
        assert_eq!(recovery_s(&g, 1.0, 0.0, None, &[fault(5.0, 8.0)]), Some(0.0));
    }

    #[test]
    fn must_hold_for_five_buckets() {
        let mut g = vec![100u64; 30];
        for b in g.iter_mut().take(20).skip(5) {
            *b = 20;
        }
        g[12] = 100; // A blip is not a recovery.
        assert_eq!(recovery_s(&g, 1.0, 0.0, None, &[fault(5.0, 8.0)]), Some(12.0));
    }

    #[test]
    fn never_recovering_is_none() {
        let mut g = vec![100u64; 30];
        for b in g.iter_mut().skip(5) {
            *b = 50;
        }
        assert_eq!(recovery_s(&g, 1.0, 0.0, None, &[fault(5.0, 8.0)]), None);
        // Recovered for only 4 buckets at the very end: not confirmed.
        for b in g.iter_mut().skip(26) {
            *b = 100;
        }
        assert_eq!(recovery_s(&g, 1.0, 0.0, None, &[fault(5.0, 8.0)]), None);
    }

    #[test]
    fn baseline_excludes_warmup() {
        // Warmup buckets (0..3) are empty; the level is 100 from the measured ones.
        let mut g = vec![100u64; 30];
        g[..3].fill(0);
        g[10] = 50;
        assert_eq!(recovery_s(&g, 1.0, 3.0, None, &[fault(8.0, 10.0)]), Some(1.0));
    }
}

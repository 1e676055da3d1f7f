//! One seed's account of a rollout: `summary.json`'s `rollout`.

use super::controller::{CheckRecord, Course, Outcome, WeightChange};
use crate::model::Scenario;
use crate::model::rollout::RolloutPlan;
use crate::stats::summary::LoadResult;
use serde::Serialize;

/// What happened to the rollout in one run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RolloutSummary {
    /// The rolled-out service (its stable version keeps this name).
    pub service: String,
    /// The canary's name among the services (`NAME-canary`).
    pub canary: String,
    /// `"flagger"` or `"argo"`.
    pub style: &'static str,
    /// The strategy file.
    pub strategy: String,
    pub start_s: f64,
    pub outcome: Outcome,
    /// Simulated seconds since the start of the run when it was promoted or rolled
    /// back; `null` when unfinished.
    pub decided_s: Option<f64>,
    /// Why it ended so, or (unfinished) where it stood and what would decide it.
    pub reason: String,
    /// Requests the canary served (every attempt that reached it, refused ones too).
    pub exposed_requests: u64,
    /// The canary's weight (percent) from each time on.
    pub weights: Vec<WeightChange>,
    /// Every check (Flagger) or measurement (Argo), in order.
    pub checks: Vec<CheckRecord>,
    /// Per load with an SLO: when it was first breached after the rollout began.
    pub loads: Vec<LoadBreach>,
}

/// A load's SLO during the rollout.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoadBreach {
    pub load: String,
    /// The end of the first time bucket, at or after the rollout's start, in which the
    /// load's completed requests missed its SLO (success rate below its target, or p99
    /// above it); `null` if none did.
    pub slo_breached_s: Option<f64>,
    /// Rolled back, and no later than the first breach (or with no breach at all).
    pub caught_before_breach: bool,
}

impl RolloutSummary {
    /// The summary of a finished run: the controller's course, what the canary served,
    /// and the loads' SLO breaches as their time buckets show them.
    pub fn new(
        sc: &Scenario,
        plan: &RolloutPlan,
        course: Course,
        exposed: u64,
        loads: &[LoadResult],
        bucket_s: f64,
    ) -> Self {
        let start_s = plan.strategy.start.as_secs_f64();
        let decided_s = course.decided.map(|t| t.as_secs_f64());
        let rolled_back = course.outcome == Outcome::RolledBack;
        let breaches = sc
            .loads
            .iter()
            .zip(loads)
            .filter_map(|(load, result)| {
                let slo = load.slo.as_ref()?;
                let breached = result.buckets.iter().enumerate().find_map(|(i, b)| {
                    let end = (i + 1) as f64 * bucket_s;
                    let done = b.ok + b.failed;
                    if end <= start_s || done == 0 {
                        return None;
                    }
                    let rate_missed = slo.success_rate.is_some_and(|target| (b.ok as f64 / done as f64) < target);
                    let p99_missed =
                        slo.p99.is_some_and(|target| b.latency_ms_p99.is_some_and(|p| p > target.as_secs_f64() * 1e3));
                    (rate_missed || p99_missed).then_some(end)
                });
                let caught = rolled_back && breached.is_none_or(|b| decided_s.is_some_and(|d| d <= b));
                Some(LoadBreach { load: load.name.clone(), slo_breached_s: breached, caught_before_breach: caught })
            })
            .collect();
        RolloutSummary {
            service: sc.services[plan.stable].name.clone(),
            canary: sc.services[plan.canary].name.clone(),
            style: plan.strategy.style.name(),
            strategy: plan.strategy.source.clone(),
            start_s,
            outcome: course.outcome,
            decided_s,
            reason: course.reason,
            exposed_requests: exposed,
            weights: course.weights,
            checks: course.checks,
            loads: breaches,
        }
    }
}

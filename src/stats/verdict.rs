//! The verdicts on one run, judged after it from what it measured (the simulator's
//! metrics judge nothing): each load's SLO, then each service's health and the run's
//! cascade (`health`).

use super::RunResult;
use crate::model::Scenario;
use crate::model::graph::CallGraph;

/// Judges a finished run in place.
pub fn judge(sc: &Scenario, graph: &CallGraph, result: &mut RunResult) {
    for (load, r) in sc.loads.iter().zip(&mut result.loads) {
        // A p99 target with no request ended ok is violated: nothing met it.
        r.slo_violated = load.slo.as_ref().is_some_and(|slo| {
            slo.p99.is_some_and(|p99| r.ok == 0 || r.latency_ms.p99 > p99.as_millis_f64())
                || slo.success_rate.is_some_and(|min| r.success_rate < min)
        });
    }
    super::health::assess(sc, graph, result);
}

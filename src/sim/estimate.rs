//! A work estimate: roughly how many engine events one run of a scenario will take,
//! computed from the scenario alone, so a caller can refuse a run that would take
//! hours before starting it.
//!
//! The formula (every mean is a distribution's mean, queueing is ignored):
//!
//! ```text
//! events  = Σ_loads requests(load) × (1 + call(load.target, load.policy))
//!         + Σ_loads profile changes + 2 × faults
//!
//! requests(open)   = ∫ rate(t) dt over [0, duration], following the profile
//! requests(closed) = users × duration / min(duration, mean think time + path(target)),
//!                    where path counts only when no request of the load can fail at once
//!
//! call(e, p)  = A(p) × (timer(p) + 2 × net + job(e)) + (A(p) − 1)      [the last term: backoff timers]
//! job(e)      = 1 (own work done) + Σ_steps Σ_calls probability × call(callee, its policy)
//!               (memoised per endpoint: linear in the number of call sites)
//! timer(p)    = 1 if p sets a timeout or a deadline (each attempt arms one timer), else 0
//! net         = 1 if `network` is set (an attempt is delivered, and replied to, by an event)
//! A(p)        = 1 + (max_attempts − 1) × RETRY_SHARE if p retries, else 1
//! path(e)     = the unloaded mean response of `model::graph` (own work plus calls, each
//!               capped by its policy's wait bound)
//! ```
//!
//! A closed loop whose requests can fail at once (a bounded queue, a rate limit, a
//! crash or error fault, a breaker or bulkhead on its path) can cycle as fast as its
//! users think: its cycle is then the mean think time alone, so users who do not think
//! at all get an infinite estimate (a livelock the engine would otherwise spin in).
//!
//! One event per request is its arrival (open loop) or its user's send (closed loop).
//! The estimate is upper-ish: it ignores error rates (a failed endpoint makes no calls),
//! queueing (which slows closed loops down) and breakers or budgets (which cut retries).
//! Retries are the one thing it cannot know from the scenario: whether they happen at
//! all depends on the run. `RETRY_SHARE` counts half of the extra attempts a policy
//! allows, at every level of the call tree: in a calm run that overestimates, and in a
//! storm where every attempt at every level is retried the real count can exceed the
//! estimate by up to `(max_attempts / A)^depth` (1.5x per level for 3 attempts).
//!
//! Observed at seed 1 on `scenarios/` (`estimate_tracks_the_examples` in
//! `tests/integration/conservation.rs`): estimate / events between 1.00 (`mmc-queue`,
//! `tandem`) and 1.91 (`checkout`); 1.21 on `retry-storm` and 1.90 on
//! `retry-storm-budget`, so never below the real count there.
//!
//! A scenario whose run can never end (a closed loop whose users loop at one instant)
//! gets an infinite estimate, and one with an absurd rate a correspondingly absurd one.
//! A caller should refuse a run whose estimate is over its budget, and bound the run
//! itself too (`sim::simulate_bounded`): an estimate is an estimate.
//!
//! [`estimated_memory_bytes`] is the same kind of estimate for memory: time buckets,
//! instances, per-caller client state (breaker windows included), and the requests an
//! unbounded queue accumulates when its peak offered load exceeds what it can serve.

use crate::model::graph::{CallGraph, Rates, reachable};
use crate::model::resilience::{server_stage_bytes, stage_bytes};
use crate::model::{Dist, EndpointRef, FaultKind, LoadKind, Policy, Scenario, Step};
use crate::stats::{LoadBucket, ServiceBucket};

/// Share of the extra attempts a policy allows that the estimate counts.
pub const RETRY_SHARE: f64 = 0.5;

/// An upper-ish estimate of the engine events of one run of `s` (see the module docs).
/// At least the number of fault and profile events; infinite when a closed loop can
/// take no time per cycle.
pub fn estimated_events(s: &Scenario) -> f64 {
    let graph = CallGraph::new(s);
    let duration_s = s.simulation.duration.as_secs_f64();
    let network = s.simulation.network.is_some();
    let jobs = job_events(s, &graph, network);
    let call = |to: EndpointRef, p: Option<&Policy>| call_events(p, network, jobs[to.service][to.endpoint]);
    let mut events = 2.0 * s.faults.len() as f64;
    for load in &s.loads {
        let per_request = 1.0 + call(load.target, policy(s, load.policy));
        let requests = match &load.kind {
            LoadKind::Open { rate, profile, .. } => {
                events += profile.len() as f64;
                open_requests(*rate, profile, duration_s)
            }
            LoadKind::Closed { users, think_time } => {
                // A cycle longer than the run (or of infinite mean, as a Pareto with
                // `alpha <= 1`) still sends once per user.
                let path_s = if can_fail_at_once(s, load.target, load.policy) {
                    0.0
                } else {
                    graph.response_ns[load.target.service][load.target.endpoint] / 1e9
                };
                let cycle_s = (mean_s(think_time) + path_s).min(duration_s);
                if cycle_s > 0.0 {
                    f64::from(*users) * duration_s / cycle_s
                } else {
                    // Users who send again at the same instant: the run would not end.
                    f64::INFINITY
                }
            }
        };
        events += requests * per_request;
    }
    events
}

/// Whether a request to `target` (under the load's `policy`) can end at the instant it
/// starts: refused by a bounded queue, a rate limit or a concurrency limit, sent to a crashed instance,
/// failed by an error fault, or refused by a breaker or bulkhead on its way.
fn can_fail_at_once(s: &Scenario, target: EndpointRef, policy: Option<usize>) -> bool {
    let refuses = |p: Option<usize>| {
        p.is_some_and(|p| s.policies[p].circuit_breaker.is_some() || s.policies[p].bulkhead.is_some())
    };
    if refuses(policy) {
        return true;
    }
    let reached = reachable(s, [target]);
    s.services.iter().enumerate().any(|(i, svc)| {
        let endpoints: Vec<_> = svc.endpoints.iter().zip(&reached[i]).filter(|(_, r)| **r).map(|(e, _)| e).collect();
        let faulted = s
            .faults
            .iter()
            .any(|f| f.target.service() == i && matches!(f.kind, FaultKind::Crash { .. } | FaultKind::Errors { .. }));
        !endpoints.is_empty()
            && (svc.queue.is_some()
                || svc.rate_limit.is_some()
                || svc.adaptive_concurrency.is_some()
                || faulted
                || endpoints.iter().flat_map(|e| &e.steps).flat_map(Step::calls).any(|c| refuses(c.policy)))
    })
}

/// Arrivals of an open-loop load: the integral of its piecewise-constant rate.
fn open_requests(rate: f64, profile: &[(crate::engine::SimTime, f64)], duration_s: f64) -> f64 {
    let mut total = 0.0;
    let mut from_s = 0.0;
    let mut current = rate;
    for &(at, next) in profile {
        let at_s = at.as_secs_f64().min(duration_s);
        total += current * (at_s - from_s).max(0.0);
        from_s = at_s;
        current = next;
    }
    total + current * (duration_s - from_s).max(0.0)
}

fn policy(s: &Scenario, p: Option<usize>) -> Option<&Policy> {
    p.and_then(|i| s.policies.get(i))
}

fn mean_s(d: &Dist) -> f64 {
    d.mean_ns() / 1e9
}

/// Events of one logical call (all its attempts) under policy `p` to an endpoint whose
/// attempts take `job` events each.
fn call_events(p: Option<&Policy>, network: bool, job: f64) -> f64 {
    let attempts = p.map_or(1.0, |p| 1.0 + f64::from(p.attempts() - 1) * RETRY_SHARE);
    let timer = if p.is_some_and(|p| p.timeout.is_some() || p.deadline.is_some()) { 1.0 } else { 0.0 };
    let hops = if network { 2.0 } else { 0.0 };
    attempts * (timer + hops + job) + (attempts - 1.0)
}

/// Events of one attempt served by each endpoint (its work, then its calls), computed
/// callees first in the graph's topological order: one pass over the call sites.
fn job_events(s: &Scenario, graph: &CallGraph, network: bool) -> Vec<Vec<f64>> {
    let mut jobs: Vec<Vec<f64>> = s.services.iter().map(|sv| vec![1.0; sv.endpoints.len()]).collect();
    for &e in graph.order.iter().rev() {
        let calls: f64 = s.services[e.service].endpoints[e.endpoint]
            .steps
            .iter()
            .flat_map(Step::calls)
            .map(|c| c.probability * call_events(policy(s, c.policy), network, jobs[c.to.service][c.to.endpoint]))
            .sum();
        jobs[e.service][e.endpoint] = 1.0 + calls;
    }
    jobs
}

/// Bytes a queued or running request holds (its job, its call record, its queue slot).
const REQUEST_BYTES: f64 = (std::mem::size_of::<super::Job>() + std::mem::size_of::<super::Call>() + 16) as f64;
/// Bytes per time bucket and series, in the run (its bucket) and in `timeseries.csv` (a row).
const LOAD_BUCKET_BYTES: f64 = (std::mem::size_of::<LoadBucket>() + 80) as f64;
const SERVICE_BUCKET_BYTES: f64 = (std::mem::size_of::<ServiceBucket>() + 160) as f64;

/// An estimate of the peak memory of one run of `s`, in bytes (see the module docs):
/// time buckets (kept for the time series), instances, client state per caller
/// instance and callee (a count-window breaker keeps a byte per slot, a time window
/// a bucket per second), and the requests queues can hold: a bounded queue its bound,
/// an unbounded one what the peak offered load beyond its capacity piles up over the
/// run. Approximate by design (a few times off either way), to refuse the absurd.
pub fn estimated_memory_bytes(s: &Scenario) -> f64 {
    let graph = CallGraph::new(s);
    let buckets = (s.simulation.duration.as_nanos() as f64 / s.simulation.bucket.as_nanos().max(1) as f64).ceil();
    let series = s.loads.len() as f64 * LOAD_BUCKET_BYTES + s.services.len() as f64 * SERVICE_BUCKET_BYTES;
    let mut bytes = buckets * series;
    let (rates, _) = graph.rates(s, Rates::Peak);
    let duration_s = s.simulation.duration.as_secs_f64();
    // Each route keeps a copy of its callee's instance list (`Route::targets`).
    let mut routes_in = vec![0usize; s.services.len()];
    for load in &s.loads {
        routes_in[load.target.service] += 1;
    }
    for (i, svc) in s.services.iter().enumerate() {
        let instances = f64::from(svc.most_instances());
        let admission = server_stage_bytes(svc);
        let meter = if svc.autoscaling.is_some() { std::mem::size_of::<super::autoscaling::Meter>() } else { 0 };
        bytes += instances * (std::mem::size_of::<super::Instance>() + admission + meter) as f64;
        // One client per caller instance, callee and policy, with its stages.
        let mut pairs: Vec<(usize, Option<usize>)> = svc
            .endpoints
            .iter()
            .flat_map(|e| &e.steps)
            .flat_map(Step::calls)
            .map(|c| (c.to.service, c.policy))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        for (to, p) in pairs {
            routes_in[to] += 1;
            let client = std::mem::size_of::<super::Client<'_>>() + std::mem::size_of::<super::ClientId>();
            bytes += instances * (client + policy(s, p).map_or(0, stage_bytes)) as f64;
        }
        let held = match svc.queue {
            Some(q) => instances * (q as f64 + svc.workers.min(1 << 40) as f64),
            None => {
                let arrivals: f64 = rates[i].iter().sum();
                let service_s = graph.service_response_ns(i) / 1e9;
                // Its capacity before any autoscaler adds to it.
                let initial = f64::from(svc.instances);
                let capacity = if service_s > 0.0 { initial * svc.workers as f64 / service_s } else { f64::INFINITY };
                let excess = (arrivals - capacity).max(0.0) * duration_s;
                // Without excess, a few requests per worker in flight.
                excess + arrivals.min(capacity) * service_s
            }
        };
        bytes += held * REQUEST_BYTES;
    }
    for (svc, routes) in s.services.iter().zip(routes_in) {
        bytes += (routes * svc.most_instances() as usize * std::mem::size_of::<super::InstanceId>()) as f64;
    }
    if let Some(plan) = s.rollout.as_deref() {
        bytes += super::rollout::monitor_bytes(plan, rates[plan.stable].iter().sum());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_is_integrated_piecewise() {
        use crate::engine::{SimDuration, SimTime};
        let at = |s: f64| SimTime::ZERO + SimDuration::from_secs_f64(s);
        assert_eq!(open_requests(10.0, &[], 60.0), 600.0);
        // 10/s for 20 s, 30/s for 10 s, 10/s for 30 s.
        assert_eq!(open_requests(10.0, &[(at(20.0), 30.0), (at(30.0), 10.0)], 60.0), 200.0 + 300.0 + 300.0);
    }
}

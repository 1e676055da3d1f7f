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
//! requests(closed) = users × duration / min(duration, mean think time + path(target))
//!
//! call(e, p)  = A(p) × (timer(p) + 2 × net + job(e)) + (A(p) − 1)      [the last term: backoff timers]
//! job(e)      = 1 (own work done) + Σ_steps Σ_calls probability × call(callee, its policy)
//! timer(p)    = 1 if p sets a timeout or a deadline (each attempt arms one timer), else 0
//! net         = 1 if `network` is set (an attempt is delivered, and replied to, by an event)
//! A(p)        = 1 + (max_attempts − 1) × RETRY_SHARE if p retries, else 1
//! path(e)     = mean own work of e + Σ_steps probability × (2 × mean network + path(callee)),
//!               a parallel step counting its slowest member
//! ```
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
//! A scenario whose run can never end (a closed loop with zero think time and zero mean
//! work, whose users loop at one instant) gets an infinite estimate, and one with an
//! absurd rate a correspondingly absurd one: the engine itself does not guard against
//! either, so a caller should refuse a run whose estimate is over its budget.

use crate::model::{Dist, EndpointRef, LoadKind, Policy, Scenario, Step};

/// Share of the extra attempts a retry policy allows that the estimate counts.
pub const RETRY_SHARE: f64 = 0.5;

/// An upper-ish estimate of the engine events of one run of `s` (see the module docs).
/// At least the number of fault and profile events; infinite when a closed loop takes
/// no time per cycle.
pub fn estimated_events(s: &Scenario) -> f64 {
    let duration_s = s.simulation.duration.as_secs_f64();
    let network = s.simulation.network.is_some();
    let network_mean_s = s.simulation.network.as_ref().map_or(0.0, mean_s);
    let mut events = 2.0 * s.faults.len() as f64;
    for load in &s.loads {
        let per_request = 1.0 + call_events(s, load.target, policy(s, load.policy), network, 0);
        let requests = match &load.kind {
            LoadKind::Open { rate, profile, .. } => {
                events += profile.len() as f64;
                open_requests(*rate, profile, duration_s)
            }
            LoadKind::Closed { users, think_time } => {
                // A cycle longer than the run (or of infinite mean, as a Pareto with
                // `alpha <= 1`) still sends once per user.
                let cycle_s = (mean_s(think_time) + path_s(s, load.target, network_mean_s, 0)).min(duration_s);
                if cycle_s > 0.0 {
                    *users as f64 * duration_s / cycle_s
                } else {
                    // Zero think time and zero work: every user loops at one instant.
                    // Validation makes this unlikely; the run would not end either.
                    f64::INFINITY
                }
            }
        };
        events += requests * per_request;
    }
    events
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

/// Validation guarantees an acyclic call graph; this bound only keeps a malformed
/// scenario built in code from recursing without end.
const MAX_DEPTH: usize = 64;

/// Events of one logical call (all its attempts) to `to` under policy `p`.
fn call_events(s: &Scenario, to: EndpointRef, p: Option<&Policy>, network: bool, depth: usize) -> f64 {
    let attempts =
        p.and_then(|p| p.retry.as_ref()).map_or(1.0, |r| 1.0 + (r.max_attempts.max(1) - 1) as f64 * RETRY_SHARE);
    let timer = if p.is_some_and(|p| p.timeout.is_some() || p.deadline.is_some()) { 1.0 } else { 0.0 };
    let hops = if network { 2.0 } else { 0.0 };
    attempts * (timer + hops + job_events(s, to, network, depth)) + (attempts - 1.0)
}

/// Events of one attempt served by `e`: its work, then its calls.
fn job_events(s: &Scenario, e: EndpointRef, network: bool, depth: usize) -> f64 {
    let Some(endpoint) = s.services.get(e.service).and_then(|svc| svc.endpoints.get(e.endpoint)) else { return 1.0 };
    if depth >= MAX_DEPTH {
        return 1.0;
    }
    let calls: f64 = endpoint
        .steps
        .iter()
        .flat_map(Step::calls)
        .map(|c| c.probability * call_events(s, c.to, policy(s, c.policy), network, depth + 1))
        .sum();
    1.0 + calls
}

/// Mean time of one attempt at `e` without queueing: own work, then its calls in order.
fn path_s(s: &Scenario, e: EndpointRef, network_mean_s: f64, depth: usize) -> f64 {
    let Some(endpoint) = s.services.get(e.service).and_then(|svc| svc.endpoints.get(e.endpoint)) else { return 0.0 };
    if depth >= MAX_DEPTH {
        return mean_s(&endpoint.latency);
    }
    let one = |c: &crate::model::CallSite| {
        c.probability * (2.0 * network_mean_s + path_s(s, c.to, network_mean_s, depth + 1))
    };
    let steps: f64 = endpoint.steps.iter().map(|step| step.calls().iter().map(one).fold(0.0, f64::max)).sum();
    mean_s(&endpoint.latency) + steps
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

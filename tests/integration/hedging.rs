//! Hedging (gRFC A6) on hand-derived traces: constant latencies, instances paused or
//! crashed on purpose, so that each call's story (and so its latency and its tries) can
//! be worked out on paper; and the load a hedge adds against its closed form.

use crate::support::*;
use stormcast::engine::SimDuration;
use stormcast::model::counters::Counter;
use stormcast::model::policy::Hedging;
use stormcast::model::resilience::hedging::HEDGES_SENT;
use stormcast::model::*;
use stormcast::sim::simulate;

fn ms(v: u64) -> SimDuration {
    SimDuration::from_millis(v)
}

fn hedging(max_attempts: u32, delay: SimDuration, non_fatal: &[Outcome]) -> Hedging {
    Hedging { max_attempts, delay, non_fatal: OutcomeSet::of(non_fatal) }
}

/// A load of 10 requests a second, evenly spaced (a call is over before the next
/// starts), on `instances` instances of one
/// service answering in 10 ms, under a policy with `hedging`; `fault` on its first
/// instances for the whole run (from t = 0, after the first arrival).
fn one_service(instances: u32, balancer: Balancer, hedging: Hedging, fault: Option<FaultKind>) -> Scenario {
    let mut svc = service("s", instances, 1_000, None, Dist::constant(ms(10)));
    svc.balancer = balancer;
    let mut sc = scenario(simulation(10.0, 1.0), vec![svc], vec![open_load("l", 0, 10.0, Arrival::Constant)]);
    sc.policies.push(Policy { name: "hedged".to_string(), hedging: Some(hedging), ..Policy::default() });
    sc.loads[0].policy = Some(0);
    if let Some(kind) = fault {
        sc.faults.push(Fault { kind, target: FaultTarget::Service(0), at: at(0.0), duration: secs(100.0) });
    }
    sc
}

/// Every counted request succeeded, each in `latency_ms` (the mean exactly: latencies
/// are summed in nanoseconds; the max to the histogram's 3 significant digits, and no
/// call can be faster than its answer), and each finished request made exactly `tries`
/// tries (one still in flight at the end made at most that many).
#[track_caller]
fn assert_every_call(sc: &Scenario, latency_ms: f64, tries: u64) {
    let l = &simulate(sc, 1).loads[0];
    assert!(l.requests >= 90, "{} requests", l.requests);
    assert_eq!(l.ok, l.requests - l.in_flight, "every finished request succeeds: {:?}", l.outcomes);
    assert_eq!(l.latency_ms.mean, latency_ms);
    assert!((l.latency_ms.max - latency_ms).abs() <= latency_ms * 1e-3, "max {}", l.latency_ms.max);
    let finished = l.requests - l.in_flight;
    assert!(l.attempts >= tries * finished && l.attempts <= tries * l.requests, "{} attempts", l.attempts);
}

/// Instance 0 is paused: a call's original goes there (round robin; a copy, sent to the
/// other instance, sets the cursor back), waits, and the copy sent `delay` = 20 ms
/// later answers 10 ms after that: every call takes 20 + 10 = 30 ms, in 2 tries.
#[test]
fn the_copy_after_the_delay_answers_when_the_original_is_slow() {
    let sc = one_service(2, Balancer::RoundRobin, hedging(2, ms(20), &[]), Some(FaultKind::Pause { instances: 1 }));
    assert_every_call(&sc, 30.0, 2);
}

/// A non-fatal outcome sends the next copy at once, without waiting for the delay (1 s
/// here): a crashed instance answers `unavailable` at once, so the copy leaves at 0 and
/// takes 10 ms; a per-try timeout of 15 ms on a paused instance gives 15 + 10 = 25 ms.
/// When the outcome is fatal, the call ends with it: no copy, one try per call, and
/// the half of the calls that reach the crashed instance fail.
#[test]
fn a_non_fatal_outcome_sends_the_next_copy_at_once() {
    let crash = Some(FaultKind::Crash { instances: 1 });
    let sc = one_service(2, Balancer::RoundRobin, hedging(2, secs(1.0), &[Outcome::Unavailable]), crash.clone());
    assert_every_call(&sc, 10.0, 2);
    let mut sc = one_service(
        2,
        Balancer::RoundRobin,
        hedging(2, secs(1.0), &[Outcome::Timeout]),
        Some(FaultKind::Pause { instances: 1 }),
    );
    sc.policies[0].timeout = Some(ms(15));
    assert_every_call(&sc, 25.0, 2);

    let fatal = one_service(2, Balancer::RoundRobin, hedging(2, secs(1.0), &[Outcome::Timeout]), crash);
    let l = &simulate(&fatal, 1).loads[0];
    assert_eq!(l.attempts, l.requests, "a fatal outcome sends no copy");
    let failed = l.outcomes.get(Outcome::Unavailable);
    assert!(failed.abs_diff(l.requests / 2) <= 1, "{failed} of {} failed", l.requests);
}

/// With no delay every copy leaves at once: `max_attempts` = 3 tries per call exactly,
/// and to 3 distinct instances (gRFC A6), so with 2 of 3 instances paused every call
/// still has one copy on the healthy one and takes 10 ms. (Were the random balancer's
/// three picks independent, (2/3)^3 = 8 calls in 27 would miss it.)
#[test]
fn copies_at_once_go_to_distinct_instances_up_to_max_attempts() {
    let sc =
        one_service(3, Balancer::Random, hedging(3, SimDuration::ZERO, &[]), Some(FaultKind::Pause { instances: 2 }));
    assert_every_call(&sc, 10.0, 3);
    let l = &simulate(&sc, 1).loads[0];
    assert_eq!(l.attempts, 3 * l.requests, "all copies leave with the call");
}

/// A retry budget refuses hedges as it refuses retries: a token bucket that starts with
/// 5 tokens and earns none admits exactly 5 copies in the whole run, counted in
/// `hedges_sent` of the calling service; later copies are not sent (and the calls whose
/// original is on the paused instance wait for it).
#[test]
fn a_budget_refuses_copies_as_it_refuses_retries() {
    let mut front = service("front", 1, 1_000, None, Dist::constant(SimDuration::ZERO));
    front.endpoints[0].steps = vec![Step::Call(CallSite { policy: Some(0), ..call(1) })];
    let back = service("back", 2, 1_000, None, Dist::constant(ms(10)));
    let mut sc = scenario(simulation(10.0, 0.0), vec![front, back], vec![open_load("l", 0, 100.0, Arrival::Constant)]);
    sc.policies.push(Policy {
        name: "hedged".to_string(),
        hedging: Some(hedging(2, ms(20), &[])),
        retry_budget: Some(RetryBudget::TokenBucket { ratio: 0.0, capacity: 5.0 }),
        ..Policy::default()
    });
    sc.faults.push(Fault {
        kind: FaultKind::Pause { instances: 1 },
        target: FaultTarget::Service(1),
        at: at(0.0),
        duration: secs(100.0),
    });
    let r = simulate(&sc, 1);
    assert_eq!(r.services[0].counters.get(Counter(&HEDGES_SENT)), 5);
    assert_eq!(r.services[1].arrivals, r.loads[0].requests + 5);
}

/// Load multiplication against its closed form. Exponential latencies of mean m, no
/// queueing (1000 workers at 200 calls a second), copies `delay` = m apart, up to 3: the
/// second copy leaves if the original has not answered by m (probability e^-1), the
/// third if neither has by 2m (the original took over 2m, the second over m: e^-2 x
/// e^-1). Tries per call: 1 + e^-1 + e^-3.
#[test]
fn tries_per_call_match_the_closed_form() {
    let mut sc = one_service(1, Balancer::RoundRobin, hedging(3, ms(10), &[]), None);
    sc.services[0].endpoints[0].latency = Dist::exponential(ms(10)).expect("positive");
    sc.simulation = simulation(100.0, 1.0);
    if let LoadKind::Open { rate, arrival, .. } = &mut sc.loads[0].kind {
        (*rate, *arrival) = (200.0, Arrival::Poisson);
    }
    let per_seed: Vec<f64> = (1..11).map(|seed| simulate(&sc, seed).loads[0].amplification).collect();
    let expected = 1.0 + (-1.0f64).exp() + (-3.0f64).exp();
    assert_agrees("tries per call", &per_seed, expected, 4.0, 0.01);
}

/// Cancellation reaches the server: with one instance of one worker and no delay, a
/// call's three copies queue behind each other. When the first answers, the worker it
/// frees takes the second at once (the answer has not reached the client yet: a
/// cancellation trails it), so the second is served, its answer heard by nobody; the
/// call ends and the third, still queued, is dropped (`skipped`) instead of served. So
/// whether the first answer is a success or a fatal error. With `error` non-fatal, a
/// failed copy does not end the call: all three are served, and the last error is the
/// call's.
#[test]
fn the_first_answer_cancels_the_queued_copies_unless_it_is_non_fatal() {
    let run = |error_rate: f64, non_fatal: &[Outcome]| {
        let mut sc = one_service(1, Balancer::RoundRobin, hedging(3, SimDuration::ZERO, non_fatal), None);
        sc.services[0].workers = 1;
        sc.services[0].endpoints[0].error_rate = error_rate;
        simulate(&sc, 1)
    };
    for (error_rate, outcome) in [(0.0, Outcome::Ok), (1.0, Outcome::Error)] {
        let r = run(error_rate, &[]);
        let (l, s) = (&r.loads[0], &r.services[0]);
        let finished = l.requests - l.in_flight;
        assert_eq!(l.outcomes.get(outcome), finished, "{outcome:?}");
        assert_eq!((s.ok + s.errors, s.skipped), (2 * finished, finished), "{outcome:?}: two served, one dropped");
    }
    let r = run(1.0, &[Outcome::Error]);
    let (l, s) = (&r.loads[0], &r.services[0]);
    let finished = l.requests - l.in_flight;
    assert_eq!((l.outcomes.get(Outcome::Error), s.errors, s.skipped), (finished, 3 * finished, 0));
}

/// `scenarios/hedging.toml`'s claim about `check`: nothing limits the frontend's copies,
/// so the lint names the policy's keys; a retry budget silences it.
#[test]
fn the_lint_flags_the_teaching_scenarios_unlimited_copies() {
    use stormcast::model::lint::{LintKind, lint};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/hedging.toml");
    let sc = stormcast::scenario::load_with_changes(&path, &[], &[]).expect("the example loads");
    let found: Vec<_> = lint(&sc).into_iter().filter(|l| l.kind == LintKind::HedgingWithoutBudget).collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].path, ["frontend/page", "backend/item"]);
    assert!(found[0].keys.contains(&"policies.backend-client.retry_budget".to_string()));
    let budget = ["policies.backend-client.retry_budget={ kind = \"concurrency\" }".to_string()];
    let sc = stormcast::scenario::load_with_changes(&path, &[], &budget).expect("the variant loads");
    assert!(lint(&sc).iter().all(|l| l.kind != LintKind::HedgingWithoutBudget));
}

//! Conformance tests of outlier detection: traces derived by hand from Envoy's algorithm
//! (`reference/resilience-semantics.md` sections 4.6, 4.7 and worked example 7).

use super::*;
use crate::engine::stream;

fn at(seconds: f64) -> SimTime {
    SimTime::ZERO + SimDuration::from_secs_f64(seconds)
}

fn detector(cfg: &OutlierDetection) -> OutlierDetector {
    OutlierDetector::new(cfg, stream(1, "test/outlier"))
}

/// `times` results `seen` from the host in `slot` at `t`; whether the last one ejected it.
fn results(d: &mut OutlierDetector, cfg: &OutlierDetection, slot: u32, seen: Seen, times: u32, t: f64) -> bool {
    (0..times).map(|_| d.record(cfg, slot, seen, at(t))).last().unwrap_or(false)
}

/// Sweeps every 10 s from `from` (a multiple of 10) until the host in `slot` is back;
/// returns the sweep's time.
fn sweep_until_back(d: &mut OutlierDetector, cfg: &OutlierDetection, slot: u32, from: u64, hosts: u32) -> u64 {
    let mut t = from;
    loop {
        d.sweep(cfg, at(t as f64), hosts);
        if !d.is_ejected(slot) {
            return t;
        }
        t += 10;
    }
}

/// Worked example 7: five consecutive 5xx eject a host for 30 s; failing again right after
/// it returns, for 60 s, then 90 s, ... up to 300 s (the multiplier stops at 11, as
/// `11 x 30 < 300 + 30` no longer holds). An ejection ends at the first sweep (every 10 s)
/// at least its time after it began: ejected at s + 1, back at s + 10 + time.
#[test]
fn consecutive_5xx_ejects_for_growing_times() {
    let cfg = OutlierDetection::envoy_defaults();
    let mut d = detector(&cfg);
    d.sweep(&cfg, at(0.0), 10);
    assert!(!results(&mut d, &cfg, 3, Seen::ServerError, 4, 1.0), "four 5xx are not enough");
    let mut sweep = 0;
    for k in 1..=13u64 {
        assert!(results(&mut d, &cfg, 3, Seen::ServerError, if k == 1 { 1 } else { 5 }, sweep as f64 + 1.0));
        assert_eq!(d.multiplier(3), k.min(11) as u32, "ejection {k}");
        let ejection = (30 * k).min(300);
        let back = sweep_until_back(&mut d, &cfg, 3, sweep + 10, 10);
        assert_eq!(back, sweep + 10 + ejection, "ejection {k} lasts {ejection} s rounded up to a sweep");
        sweep = back;
    }
}

/// Worked example 7, second part: with 10 hosts and `max_ejection_percent = 10`, a second
/// host meeting the condition while one is ejected is not ejected (10% ejected is not
/// below 10%), and its count starts again; once the first is back, it can be. One host may
/// always be ejected: 1 of 4 at 10%; none at 0%.
#[test]
fn max_ejection_percent_holds_a_second_host_back() {
    let cfg = OutlierDetection::envoy_defaults();
    let mut d = detector(&cfg);
    d.sweep(&cfg, at(0.0), 10);
    assert!(results(&mut d, &cfg, 0, Seen::ServerError, 5, 1.0));
    assert!(!results(&mut d, &cfg, 1, Seen::ServerError, 5, 1.0));
    assert_eq!(d.ejected(), 1);
    assert_eq!(sweep_until_back(&mut d, &cfg, 0, 10, 10), 40);
    // Its count was reset when the ejection was refused: four more are not enough.
    assert!(!results(&mut d, &cfg, 1, Seen::ServerError, 4, 41.0));
    assert!(results(&mut d, &cfg, 1, Seen::ServerError, 1, 41.0));

    let mut four = detector(&cfg);
    four.sweep(&cfg, at(0.0), 4);
    assert!(results(&mut four, &cfg, 0, Seen::ServerError, 5, 1.0));
    assert!(!results(&mut four, &cfg, 1, Seen::ServerError, 5, 1.0));
    assert_eq!((cfg.most_ejected(4), cfg.most_ejected(10), cfg.most_ejected(11)), (1, 1, 2));

    let none = OutlierDetection { max_ejection_percent: 0, ..cfg };
    let mut d = detector(&none);
    assert!(!results(&mut d, &none, 0, Seen::ServerError, 5, 1.0));
    assert_eq!(none.most_ejected(4), 0);
}

/// The multiplier goes down by one at each sweep the host is in service, from the sweep
/// after it returned: ejected twice (multiplier 2), back at sweep S; at S + 10 it is 1, at
/// S + 20 it is 0. Failing between those sweeps ejects it for 60 s (1 + 1); after both, for
/// 30 s again.
#[test]
fn the_multiplier_decays_per_healthy_interval() {
    let cfg = OutlierDetection::envoy_defaults();
    let mut d = detector(&cfg);
    d.sweep(&cfg, at(0.0), 4);
    results(&mut d, &cfg, 2, Seen::ServerError, 5, 1.0);
    let s = sweep_until_back(&mut d, &cfg, 2, 10, 4); // 40
    results(&mut d, &cfg, 2, Seen::ServerError, 5, s as f64 + 1.0);
    let s = sweep_until_back(&mut d, &cfg, 2, s + 10, 4); // 110
    assert_eq!((s, d.multiplier(2)), (110, 2), "no decay at the sweep it returns");
    d.sweep(&cfg, at(120.0), 4);
    assert_eq!(d.multiplier(2), 1);
    // Failing now: multiplier 2, 60 s: back at the first sweep at or after 181, 190.
    results(&mut d, &cfg, 2, Seen::ServerError, 5, 121.0);
    assert_eq!(d.multiplier(2), 2);
    assert_eq!(sweep_until_back(&mut d, &cfg, 2, 130, 4), 190);
    for t in [200.0, 210.0] {
        d.sweep(&cfg, at(t), 4);
    }
    assert_eq!(d.multiplier(2), 0);
    d.sweep(&cfg, at(220.0), 4);
    assert_eq!(d.multiplier(2), 0, "it stays at 0");
    results(&mut d, &cfg, 2, Seen::ServerError, 5, 221.0);
    assert_eq!(sweep_until_back(&mut d, &cfg, 2, 230, 4), 260, "30 s again (251, rounded up)");
}

/// Records `(results, successes)` for each host (by slot) in the interval before `t`.
fn interval(d: &mut OutlierDetector, cfg: &OutlierDetection, hosts: &[(u32, u32)], t: f64) {
    for (slot, &(n, ok)) in hosts.iter().enumerate() {
        for i in 0..n {
            let seen = if i < ok { Seen::Success } else { Seen::ServerError };
            // Successes first, then failures: never 5 failures in a row with these sets
            // unless meant (consecutive 5xx is raised out of reach below).
            d.record(cfg, slot as u32, seen, at(t - 5.0));
        }
    }
}

/// Success-rate ejection on hand-made sets. Envoy's own example: rates {50, 100, 100,
/// 100, 100} have mean 90 and standard deviation 20, so the threshold at factor 1.9 is
/// 90 - 38 = 52, and the host at 50 is ejected. {80, 90, 95, 100, 100}: mean 93, variance
/// (169 + 9 + 4 + 49 + 49) / 5 = 56, threshold 93 - 1.9 x 7.483 = 78.78 (80 stays), at
/// factor 1.0 93 - 7.483 = 85.52 (80 is ejected). A host below `success_rate_request_volume`
/// is left out, and with fewer than `success_rate_minimum_hosts` left nothing is judged.
#[test]
fn success_rate_ejects_below_mean_minus_stdevs() {
    let cfg = OutlierDetection { consecutive_5xx: 1000, ..OutlierDetection::envoy_defaults() };
    assert!((success_rate_threshold(&[50.0, 100.0, 100.0, 100.0, 100.0], &cfg) - 52.0).abs() < 1e-12);
    let set = [80.0, 90.0, 95.0, 100.0, 100.0];
    assert!((success_rate_threshold(&set, &cfg) - (93.0 - 1.9 * 56f64.sqrt())).abs() < 1e-12);

    // A sweep judges the interval it closes.
    let mut d = detector(&cfg);
    interval(&mut d, &cfg, &[(100, 50), (100, 100), (100, 100), (100, 100), (100, 100)], 10.0);
    assert_eq!(d.sweep(&cfg, at(10.0), 5), 1);
    assert!(d.is_ejected(0));
    assert_eq!(d.sweep(&cfg, at(20.0), 5), 0, "the next interval had no results");

    let sets = |d: &mut OutlierDetector, cfg: &OutlierDetection, volume0: u32| {
        d.sweep(cfg, at(0.0), 5);
        interval(d, cfg, &[(volume0, volume0 * 4 / 5), (100, 90), (100, 95), (100, 100), (100, 100)], 10.0);
        d.sweep(cfg, at(10.0), 5)
    };
    assert_eq!(sets(&mut detector(&cfg), &cfg, 100), 0, "80 is above 78.78");
    let tight = OutlierDetection { success_rate_stdev_factor: 1000, ..cfg.clone() };
    let mut d = detector(&tight);
    assert_eq!(sets(&mut d, &tight, 100), 1, "80 is below 85.52");
    assert!(d.is_ejected(0));
    assert_eq!(sets(&mut detector(&tight), &tight, 99), 0, "four hosts with volume: below the minimum of 5");
}

/// Failure-percentage ejection (enforced here; Envoy's default enforcement is 0%): a host
/// with at least `failure_percentage_request_volume` results and a failure percentage of
/// at least `failure_percentage_threshold` (85) is ejected: 15 successes of 100 (85%) is,
/// 16 (84%) is not.
#[test]
fn failure_percentage_ejects_at_the_threshold() {
    let cfg = OutlierDetection {
        consecutive_5xx: 1000,
        enforcing_success_rate: 0,
        enforcing_failure_percentage: 100,
        ..OutlierDetection::envoy_defaults()
    };
    for (successes, ejected) in [(15, true), (16, false)] {
        let mut d = detector(&cfg);
        d.sweep(&cfg, at(0.0), 5);
        interval(&mut d, &cfg, &[(100, 100), (100, 100), (100, successes), (50, 50), (50, 50)], 10.0);
        d.sweep(&cfg, at(10.0), 5);
        assert_eq!(d.is_ejected(2), ejected, "{successes} successes of 100");
    }
    // Off by default: nothing is ejected for the failure percentage alone.
    let off = OutlierDetection { enforcing_failure_percentage: 0, ..cfg };
    let mut d = detector(&off);
    d.sweep(&off, at(0.0), 5);
    interval(&mut d, &off, &[(100, 100), (100, 100), (100, 0), (50, 50), (50, 50)], 10.0);
    assert_eq!(d.sweep(&off, at(10.0), 5), 0);
}

/// The panic threshold (50%): 4 hosts, up to all ejectable. One or two ejected (75%, 50%
/// in service), the balancer avoids them; three (25% < 50%), it uses all four. At 30%, a
/// quarter in service is still a panic, half is not.
#[test]
fn below_the_panic_threshold_the_balancer_uses_every_host() {
    let cfg = OutlierDetection { max_ejection_percent: 100, ..OutlierDetection::envoy_defaults() };
    let mut d = detector(&cfg);
    assert_eq!(d.in_service(&cfg, 4), None, "none ejected: all");
    results(&mut d, &cfg, 0, Seen::ServerError, 5, 1.0);
    assert_eq!(d.in_service(&cfg, 4), Some(&[1, 2, 3][..]));
    results(&mut d, &cfg, 1, Seen::ServerError, 5, 1.0);
    assert_eq!(d.in_service(&cfg, 4), Some(&[2, 3][..]));
    results(&mut d, &cfg, 2, Seen::ServerError, 5, 1.0);
    assert_eq!(d.in_service(&cfg, 4), None, "panic: every host");
    assert_eq!(d.in_service(&cfg, 5), None, "a fifth instance: 2 of 5 in service, 40%, still a panic");
}

/// The share in service counts every host of the route: 2 of 5 (40%) is a panic at 50%,
/// not at 30%; one host alone, ejected, is always a panic.
#[test]
fn the_panic_share_counts_every_host_of_the_route() {
    let cfg = OutlierDetection { max_ejection_percent: 100, ..OutlierDetection::envoy_defaults() };
    assert!(cfg.panics(3, 5) && cfg.panics(3, 4) && !cfg.panics(2, 4) && !cfg.panics(0, 1));
    let low = OutlierDetection { panic_threshold: 30.0, ..cfg };
    assert!(!low.panics(3, 5) && low.panics(3, 4) && low.panics(1, 1));
}

/// Which outcomes count, and the consecutive gateway detector (enforced here; Envoy's
/// default enforcement is 0%): timeouts, refusals and connections to a crashed instance
/// are gateway failures and 5xx; an error is a 5xx that resets the gateway count; a
/// success (or a 429) resets both. T, T, E, T, T: the gateway count never reaches 3, the
/// 5xx count reaches 5.
#[test]
fn gateway_failures_are_5xx_and_errors_reset_them() {
    assert_eq!(seen_as(Outcome::Ok), Some(Seen::Success));
    assert_eq!(seen_as(Outcome::Throttled), Some(Seen::Success));
    assert_eq!(seen_as(Outcome::Error), Some(Seen::ServerError));
    for o in [Outcome::Timeout, Outcome::Rejected, Outcome::Unavailable] {
        assert_eq!(seen_as(o), Some(Seen::GatewayFailure));
    }
    assert_eq!(seen_as(Outcome::ShortCircuited), None);

    let cfg = OutlierDetection {
        consecutive_gateway_failure: 3,
        enforcing_consecutive_gateway_failure: 100,
        max_ejection_percent: 100,
        ..OutlierDetection::envoy_defaults()
    };
    let mut d = detector(&cfg);
    let trace = [Seen::GatewayFailure, Seen::GatewayFailure, Seen::ServerError, Seen::GatewayFailure];
    assert!(trace.iter().all(|&s| !d.record(&cfg, 0, s, at(1.0))));
    assert!(d.record(&cfg, 0, Seen::GatewayFailure, at(1.0)), "the fifth 5xx");
    assert!(!results(&mut d, &cfg, 1, Seen::GatewayFailure, 2, 1.0));
    assert!(!results(&mut d, &cfg, 1, Seen::Success, 1, 1.0));
    assert!(!results(&mut d, &cfg, 1, Seen::GatewayFailure, 2, 1.0), "a success reset the count");
    assert!(results(&mut d, &cfg, 1, Seen::GatewayFailure, 1, 1.0), "three gateway failures in a row");
}

/// `enforcing_consecutive_5xx = 50`: each ejection the detector asks for happens when the
/// client's own stream draws below 50 in 0..100, one draw per ejection asked for.
#[test]
fn enforcement_draws_from_the_clients_stream() {
    let cfg = OutlierDetection {
        enforcing_consecutive_5xx: 50,
        max_ejection_percent: 100,
        ..OutlierDetection::envoy_defaults()
    };
    let mut d = detector(&cfg);
    let mut replay = stream(1, "test/outlier");
    let mut ejected = 0;
    for slot in 0..200 {
        let want = replay.random_range(0..100u32) < 50;
        assert_eq!(results(&mut d, &cfg, slot, Seen::ServerError, 5, 1.0), want, "host {slot}");
        ejected += u32::from(want);
    }
    assert_eq!(d.ejected(), ejected);
    assert!((70..130).contains(&ejected), "about half of 200: {ejected}");
}

/// A host that leaves the route (scaled in) is forgotten with its state, as Envoy drops a
/// removed host's monitor: later slots move down by one, and an ejected host that leaves
/// no longer counts against `max_ejection_percent`.
#[test]
fn a_removed_host_is_forgotten_and_later_slots_move_down() {
    let cfg = OutlierDetection::envoy_defaults();
    let mut d = detector(&cfg);
    d.record(&cfg, 2, Seen::Success, at(0.0));
    assert!(results(&mut d, &cfg, 1, Seen::ServerError, 5, 1.0), "five 5xx eject slot 1");
    assert_eq!((d.ejected(), d.in_service(&cfg, 3)), (1, Some(&[0, 2][..])));
    d.forget(0);
    // The ejected host is now slot 0 of two.
    assert!(d.is_ejected(0) && !d.is_ejected(1));
    assert_eq!(d.in_service(&cfg, 2), Some(&[1][..]));
    d.forget(0);
    assert_eq!((d.ejected(), d.in_service(&cfg, 1)), (0, None));
    // A try whose instance left while it was out is not recorded.
    let gone = TryEnd {
        outcome: Outcome::Error,
        took: SimDuration::ZERO,
        is_retry: false,
        now: at(2.0),
        target: TryEnd::GONE,
    };
    assert_eq!(d.ended(&cfg, &gone), None);
}

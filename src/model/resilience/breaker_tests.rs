//! Conformance tests of the circuit breaker against Resilience4j's documented behaviour.

use super::*;
use proptest::prelude::*;

const MS: u64 = 1_000_000;

fn config(window: BreakerWindow, min_calls: u32, half_open_calls: u32) -> CircuitBreakerConfig {
    CircuitBreakerConfig {
        window,
        min_calls,
        failure_rate: 0.5,
        slow_call_rate: 1.0,
        slow_call_duration: SimDuration::from_secs(60),
        open_for: SimDuration::from_secs(60),
        half_open_calls,
    }
}

fn at_ms(ms: u64) -> SimTime {
    SimTime(ms * MS)
}

const QUICK: SimDuration = SimDuration::from_millis(10);

/// Opens a fresh breaker with `n` failures at 1 ms, 2 ms, ... and returns it.
fn opened(cfg: &CircuitBreakerConfig, n: u64) -> CircuitBreaker {
    let mut cb = CircuitBreaker::new(cfg);
    for i in 1..=n {
        assert!(cb.try_acquire(cfg, at_ms(i)));
        cb.record(cfg, at_ms(i), true, QUICK);
    }
    assert_eq!(cb.state(), BreakerState::Open);
    cb
}

/// Reference section 5, example 1: count window 10, minimum 5, threshold 50 %,
/// outcomes F S F S F. Proves the effective minimum gates the decision (no transition
/// after call 4, 2/4 = 50 % notwithstanding), that 3/5 = 60 % >= 50 % opens on call 5,
/// and that calls refused while OPEN are not recorded.
#[test]
fn example_1_count_window_opens_once_minimum_is_met() {
    let cfg = config(BreakerWindow::Count(10), 5, 10);
    let mut cb = CircuitBreaker::new(&cfg);
    let outcomes = [true, false, true, false, true];
    for (i, &failure) in outcomes.iter().enumerate() {
        let now = at_ms(i as u64 + 1);
        assert!(cb.try_acquire(&cfg, now));
        let transition = cb.record(&cfg, now, failure, QUICK);
        if i < 4 {
            assert_eq!(transition, None, "below the minimum after call {}", i + 1);
            assert_eq!(cb.state(), BreakerState::Closed);
        } else {
            assert_eq!(transition, Some(Transition { from: BreakerState::Closed, to: BreakerState::Open }));
        }
    }
    assert_eq!(cb.opens(), 1);
    assert_eq!(cb.metrics(), BreakerMetrics { calls: 5, failed: 3, slow: 0 });

    // Refused until strictly after opened_at + open_for, and not recorded.
    let opened_at = at_ms(5);
    assert!(!cb.try_acquire(&cfg, at_ms(6)));
    assert!(!cb.try_acquire(&cfg, opened_at + cfg.open_for));
    assert_eq!(cb.state(), BreakerState::Open);
    assert_eq!(cb.not_permitted(), 2);
    assert_eq!(cb.metrics().calls, 5);

    // One nanosecond later the call is admitted, under HALF_OPEN rules.
    assert!(cb.try_acquire(&cfg, opened_at + cfg.open_for + SimDuration(1)));
    assert_eq!(cb.state(), BreakerState::HalfOpen);
    assert_eq!(cb.metrics(), BreakerMetrics::default());
}

/// Reference section 5, example 2, first half: `min_calls` 5 with 10 half-open calls.
/// Proves HALF_OPEN uses min(min_calls, P) = 5 and CLOSES on the 5th success without
/// waiting for 10 (Resilience4j issue #1533).
#[test]
fn example_2_half_open_decides_after_min_calls() {
    let cfg = config(BreakerWindow::Count(10), 5, 10);
    let mut cb = opened(&cfg, 5);
    let probe_start = at_ms(5) + cfg.open_for + SimDuration(1);
    for i in 0..5u64 {
        let now = probe_start + SimDuration::from_millis(i);
        assert!(cb.try_acquire(&cfg, now));
        assert_eq!(cb.state(), BreakerState::HalfOpen);
        let transition = cb.record(&cfg, now, false, QUICK);
        if i < 4 {
            assert_eq!(transition, None);
        } else {
            assert_eq!(transition, Some(Transition { from: BreakerState::HalfOpen, to: BreakerState::Closed }));
        }
    }
    // A fresh CLOSED window.
    assert_eq!(cb.metrics(), BreakerMetrics::default());
    assert!(cb.try_acquire(&cfg, probe_start + SimDuration::from_secs(1)));
}

/// Reference section 5, example 2, second half: the default `min_calls` 100 with 10
/// half-open calls. Proves the decision comes on the 10th result, and that HALF_OPEN
/// admits exactly 10 calls in total meanwhile.
#[test]
fn example_2_half_open_with_default_minimum_decides_on_the_tenth() {
    let cfg = config(BreakerWindow::Count(10), 100, 10);
    // CLOSED caps the minimum at the window size: 10 failures open it.
    let mut cb = opened(&cfg, 10);
    let probe_start = at_ms(10) + cfg.open_for + SimDuration(1);
    for i in 0..10u64 {
        assert!(cb.try_acquire(&cfg, probe_start + SimDuration(i)), "probe {}", i + 1);
    }
    assert!(!cb.try_acquire(&cfg, probe_start + SimDuration(10)), "an 11th probe is refused");
    for i in 0..10u64 {
        let transition = cb.record(&cfg, probe_start + SimDuration::from_millis(i), false, QUICK);
        if i < 9 {
            assert_eq!(transition, None, "result {} is below the minimum", i + 1);
            assert_eq!(cb.state(), BreakerState::HalfOpen);
        } else {
            assert_eq!(transition, Some(Transition { from: BreakerState::HalfOpen, to: BreakerState::Closed }));
        }
    }
}

/// Reference section 5, example 3: slow threshold 2 s, slow-call rate 50 %, window 4,
/// minimum 4; durations 2.0, 2.1, 0.1, 2.5 s, all successes. Proves slow means strictly
/// longer than the threshold (2.0 s is not slow) and that 2/4 = 50 % >= 50 % opens.
#[test]
fn example_3_slow_calls_open_at_the_threshold() {
    let cfg = CircuitBreakerConfig {
        slow_call_rate: 0.5,
        slow_call_duration: SimDuration::from_secs(2),
        ..config(BreakerWindow::Count(4), 4, 10)
    };
    let mut cb = CircuitBreaker::new(&cfg);
    let durations_ms = [2000, 2100, 100, 2500];
    for (i, &ms) in durations_ms.iter().enumerate() {
        let now = at_ms(10_000 * (i as u64 + 1));
        assert!(cb.try_acquire(&cfg, now));
        let transition = cb.record(&cfg, now, false, SimDuration::from_millis(ms));
        if i < 3 {
            assert_eq!(transition, None);
        } else {
            assert_eq!(transition, Some(Transition { from: BreakerState::Closed, to: BreakerState::Open }));
        }
    }
    assert_eq!(cb.metrics(), BreakerMetrics { calls: 4, failed: 0, slow: 2 });
}

/// Proves a failed probe in HALF_OPEN re-opens the breaker, counts a second open and
/// restarts the OPEN wait from the time of that result.
#[test]
fn half_open_failure_reopens() {
    let cfg = config(BreakerWindow::Count(10), 2, 2);
    let mut cb = opened(&cfg, 2);
    let probe = at_ms(2) + cfg.open_for + SimDuration(1);
    assert!(cb.try_acquire(&cfg, probe));
    assert!(cb.try_acquire(&cfg, probe));
    assert_eq!(cb.record(&cfg, probe, false, QUICK), None);
    let reopened_at = probe + SimDuration::from_millis(1);
    assert_eq!(
        cb.record(&cfg, reopened_at, true, QUICK),
        Some(Transition { from: BreakerState::HalfOpen, to: BreakerState::Open })
    );
    assert_eq!(cb.opens(), 2);
    assert!(!cb.try_acquire(&cfg, reopened_at + cfg.open_for));
    assert!(cb.try_acquire(&cfg, reopened_at + cfg.open_for + SimDuration(1)));
}

/// Proves results that arrive while OPEN are recorded without a transition
/// (`OpenState.onError`), and that HALF_OPEN then starts from a fresh window.
#[test]
fn results_arriving_while_open_are_recorded_without_transition() {
    let cfg = config(BreakerWindow::Count(10), 2, 3);
    let mut cb = CircuitBreaker::new(&cfg);
    for i in 1..=4 {
        assert!(cb.try_acquire(&cfg, at_ms(i)));
    }
    cb.record(&cfg, at_ms(5), true, QUICK);
    assert_eq!(cb.record(&cfg, at_ms(6), true, QUICK).map(|t| t.to), Some(BreakerState::Open));
    // Two late results of calls admitted while CLOSED.
    assert_eq!(cb.record(&cfg, at_ms(7), false, QUICK), None);
    assert_eq!(cb.record(&cfg, at_ms(8), false, QUICK), None);
    assert_eq!(cb.state(), BreakerState::Open);
    assert_eq!(cb.metrics(), BreakerMetrics { calls: 4, failed: 2, slow: 0 });
}

/// Proves a late result of a call admitted while CLOSED, arriving in HALF_OPEN, is
/// recorded in the half-open window and can decide it, as in Resilience4j.
#[test]
fn late_results_count_in_half_open() {
    let cfg = config(BreakerWindow::Count(10), 2, 5);
    let mut cb = CircuitBreaker::new(&cfg);
    for i in 1..=3 {
        assert!(cb.try_acquire(&cfg, at_ms(i)));
    }
    cb.record(&cfg, at_ms(4), true, QUICK);
    cb.record(&cfg, at_ms(5), true, QUICK);
    assert_eq!(cb.state(), BreakerState::Open);
    let probe = at_ms(5) + cfg.open_for + SimDuration(1);
    assert!(cb.try_acquire(&cfg, probe));
    // The third CLOSED-era call answers late, then the probe.
    assert_eq!(cb.record(&cfg, probe, false, QUICK), None);
    assert_eq!(cb.metrics().calls, 1);
    assert_eq!(cb.record(&cfg, probe, false, QUICK).map(|t| t.to), Some(BreakerState::Closed));
}

/// Proves the time window keeps the calls of the last `n` whole seconds: calls in
/// seconds 0 and 1 count together in a 2-second window.
#[test]
fn time_window_counts_the_last_n_seconds() {
    let cfg = config(BreakerWindow::Time(2), 3, 10);
    let mut cb = CircuitBreaker::new(&cfg);
    assert_eq!(cb.record(&cfg, at_ms(100), true, QUICK), None);
    assert_eq!(cb.record(&cfg, at_ms(200), true, QUICK), None);
    assert_eq!(cb.record(&cfg, at_ms(1_999), true, QUICK).map(|t| t.to), Some(BreakerState::Open));
}

/// Proves calls older than `n` seconds drop out: at second 2, second 0 has left a
/// 2-second window, so a third failure finds only itself.
#[test]
fn time_window_drops_old_seconds() {
    let cfg = config(BreakerWindow::Time(2), 3, 10);
    let mut cb = CircuitBreaker::new(&cfg);
    cb.record(&cfg, at_ms(100), true, QUICK);
    cb.record(&cfg, at_ms(200), true, QUICK);
    assert_eq!(cb.record(&cfg, at_ms(2_000), true, QUICK), None);
    assert_eq!(cb.metrics(), BreakerMetrics { calls: 1, failed: 1, slow: 0 });
    // A long silence empties the whole ring in at most one turn.
    assert_eq!(cb.record(&cfg, at_ms(3_600_000), false, QUICK), None);
    assert_eq!(cb.metrics().calls, 1);
}

/// Proves the minimum is capped by the size for count windows only: with `min_calls`
/// 5, a count window of 2 opens after 2 failures, a 1-second time window needs 5.
#[test]
fn minimum_is_capped_for_count_windows_only() {
    let count_cfg = config(BreakerWindow::Count(2), 5, 10);
    let mut cb = CircuitBreaker::new(&count_cfg);
    cb.record(&count_cfg, at_ms(1), true, QUICK);
    assert_eq!(cb.record(&count_cfg, at_ms(2), true, QUICK).map(|t| t.to), Some(BreakerState::Open));

    let time_cfg = config(BreakerWindow::Time(1), 5, 10);
    let mut cb = CircuitBreaker::new(&time_cfg);
    for i in 1..=4 {
        assert_eq!(cb.record(&time_cfg, at_ms(i), true, QUICK), None);
    }
    assert_eq!(cb.record(&time_cfg, at_ms(5), true, QUICK).map(|t| t.to), Some(BreakerState::Open));
}

/// Proves the count ring evicts the oldest outcome: with a window of 4 and threshold
/// 60 %, F F S S F stays closed because the first F has left the window (2/4 = 50 %),
/// where counting all five calls would give 3/5 = 60 % and open.
#[test]
fn count_window_evicts_the_oldest() {
    let cfg = CircuitBreakerConfig { failure_rate: 0.6, ..config(BreakerWindow::Count(4), 4, 10) };
    let mut cb = CircuitBreaker::new(&cfg);
    for (i, failure) in [true, true, false, false, true].into_iter().enumerate() {
        assert_eq!(cb.record(&cfg, at_ms(i as u64), failure, QUICK), None, "call {}", i + 1);
    }
    assert_eq!(cb.metrics(), BreakerMetrics { calls: 4, failed: 2, slow: 0 });
}

/// Proves a rate exactly at a decimal threshold opens (7/100 with 0.07), which the
/// naive `f64` test `failed >= rate * calls` gets wrong (0.07 * 100 = 7.000000000000001).
#[test]
fn decimal_threshold_is_exact() {
    let cfg = CircuitBreakerConfig { failure_rate: 0.07, ..config(BreakerWindow::Count(100), 100, 10) };
    let mut cb = CircuitBreaker::new(&cfg);
    for i in 0..99u64 {
        assert_eq!(cb.record(&cfg, at_ms(i), i < 7, QUICK), None);
    }
    assert_eq!(cb.record(&cfg, at_ms(99), false, QUICK).map(|t| t.to), Some(BreakerState::Open));
}

/// Proves degenerate configs (zero sizes, zero minimum, zero rates) are clamped, not
/// a panic: sizes and the minimum become 1, and the breaker still cycles.
#[test]
fn zero_sized_config_is_clamped() {
    for window in [BreakerWindow::Count(0), BreakerWindow::Time(0)] {
        let cfg = CircuitBreakerConfig {
            failure_rate: 0.0,
            slow_call_rate: 0.0,
            open_for: SimDuration::ZERO,
            ..config(window, 0, 0)
        };
        let mut cb = CircuitBreaker::new(&cfg);
        assert!(cb.try_acquire(&cfg, at_ms(1)));
        assert_eq!(cb.record(&cfg, at_ms(1), true, QUICK).map(|t| t.to), Some(BreakerState::Open));
        assert!(cb.try_acquire(&cfg, at_ms(2)));
        assert!(!cb.try_acquire(&cfg, at_ms(2)), "one half-open permit");
        assert_eq!(cb.record(&cfg, at_ms(2), true, QUICK).map(|t| t.to), Some(BreakerState::Open));
    }
}

#[derive(Clone, Debug)]
enum Op {
    Acquire,
    Record { failure: bool, duration_ms: u64 },
}

fn op() -> impl Strategy<Value = (u64, Op)> {
    (
        0u64..1_500,
        prop_oneof![
            Just(Op::Acquire),
            (any::<bool>(), 0u64..300).prop_map(|(failure, duration_ms)| Op::Record { failure, duration_ms }),
        ],
    )
}

fn any_config() -> impl Strategy<Value = CircuitBreakerConfig> {
    (any::<bool>(), 0u32..12, 0u32..15, 1u32..=10, 1u32..=10, 0u64..200, 0u64..3_000, 0u32..6).prop_map(
        |(count, size, min_calls, failure_tenths, slow_tenths, slow_ms, open_ms, half_open_calls)| {
            CircuitBreakerConfig {
                window: if count { BreakerWindow::Count(size) } else { BreakerWindow::Time(size) },
                min_calls,
                failure_rate: f64::from(failure_tenths) / 10.0,
                slow_call_rate: f64::from(slow_tenths) / 10.0,
                slow_call_duration: SimDuration::from_millis(slow_ms),
                open_for: SimDuration::from_millis(open_ms),
                half_open_calls,
            }
        },
    )
}

proptest! {
    /// Over arbitrary call sequences: CLOSED never refuses; HALF_OPEN admits at most
    /// max(1, P) calls per visit; OPEN refuses until strictly after its wait; nothing
    /// opens below the effective minimum; transitions are consistent with `state()`
    /// and `opens()` counts them.
    #[test]
    fn breaker_invariants(cfg in any_config(), ops in prop::collection::vec(op(), 1..400)) {
        let mut cb = CircuitBreaker::new(&cfg);
        let mut now = SimTime::ZERO;
        let mut half_open_admitted = 0u32;
        let mut opens_seen = 0u64;
        let mut opened_at = SimTime::ZERO;
        for (dt_ms, op) in ops {
            now += SimDuration::from_millis(dt_ms);
            let before = cb.state();
            match op {
                Op::Acquire => {
                    let permitted = cb.try_acquire(&cfg, now);
                    if before == BreakerState::Closed {
                        prop_assert!(permitted);
                    }
                    if before == BreakerState::Open {
                        prop_assert_eq!(permitted, now > opened_at + cfg.open_for);
                        if permitted {
                            half_open_admitted = 0;
                        }
                    }
                    if cb.state() == BreakerState::HalfOpen && permitted {
                        half_open_admitted += 1;
                        prop_assert!(half_open_admitted <= cfg.half_open_calls.max(1));
                    }
                }
                Op::Record { failure, duration_ms } => {
                    let transition = cb.record(&cfg, now, failure, SimDuration::from_millis(duration_ms));
                    match transition {
                        None => prop_assert_eq!(cb.state(), before),
                        Some(t) => {
                            prop_assert_eq!(t.from, before);
                            prop_assert_eq!(t.to, cb.state());
                            prop_assert!(before != BreakerState::Open, "no transition while OPEN");
                            if t.to == BreakerState::Open {
                                opens_seen += 1;
                                opened_at = now;
                                let min_calls = u64::from(cfg.min_calls.max(1));
                                let minimum = match (before, &cfg.window) {
                                    (BreakerState::HalfOpen, _) => min_calls.min(u64::from(cfg.half_open_calls.max(1))),
                                    (_, BreakerWindow::Count(n)) => min_calls.min(u64::from((*n).max(1))),
                                    (_, BreakerWindow::Time(_)) => min_calls,
                                };
                                prop_assert!(cb.metrics().calls >= minimum);
                            }
                        }
                    }
                }
            }
            prop_assert_eq!(cb.opens(), opens_seen);
        }
    }
}

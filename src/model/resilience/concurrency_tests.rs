//! Conformance tests of the gradient controller: scripted latencies and timer firings,
//! each limit worked out by hand in the comments from Envoy's `calculateNewLimit`,
//! `enterMinRTTSamplingWindow`, `updateMinRTT` and `updateConcurrencyLimit` (module docs).

use super::*;
use crate::engine::stream;

fn ms(n: u64) -> SimDuration {
    SimDuration::from_millis(n)
}

fn at_ms(n: u64) -> SimTime {
    SimTime::ZERO + ms(n)
}

/// Updates every second, p50, 25% buffer, limits [3, 30], a minRTT window of 4 samples
/// every 30 s, no jitter.
fn cfg() -> AdaptiveConcurrency {
    AdaptiveConcurrency {
        interval: SimDuration::from_secs(1),
        sample_percentile: 50.0,
        buffer: 0.25,
        min_concurrency: 3,
        max_concurrency: 30,
        min_rtt_interval: SimDuration::from_secs(30),
        request_count: 4,
        jitter: 0.0,
    }
}

fn controller(cfg: &AdaptiveConcurrency, seed: u64) -> GradientController {
    GradientController::new(cfg, stream(seed, "test/concurrency"), SimTime::ZERO)
}

/// Lets one request in per latency at `start` (all must be admitted), then ends each,
/// answered, after its latency. Returns whether the last end moved the timers.
fn serve(c: &mut GradientController, cfg: &AdaptiveConcurrency, start: SimTime, latencies_ms: &[u64]) -> bool {
    for _ in latencies_ms {
        assert!(c.try_admit(), "admitted under limit {}", c.limit());
    }
    let mut moved = false;
    for &l in latencies_ms {
        moved = c.request_ended(cfg, &ServedEnd { arrived: start, now: start + ms(l), answered: true });
    }
    moved
}

/// The first minRTT window, from creation at 0: the limit is pinned to 3, so a fourth
/// request at once is refused; samples 10, 10, 12 then 14 ms (the fourth let in once one
/// ended) make minRTT their p50, the 2nd smallest of 4 = 10 ms; the window ends at 26 ms
/// (12 + 14), the limit kept aside (3) comes back, and both timers start from then.
fn past_first_window(cfg: &AdaptiveConcurrency, seed: u64) -> GradientController {
    let mut c = controller(cfg, seed);
    assert_eq!((c.limit(), c.in_window(), c.wake_at()), (3, true, Some(at_ms(1000))));
    assert!(!serve(&mut c, cfg, SimTime::ZERO, &[]));
    for _ in 0..3 {
        assert!(c.try_admit());
    }
    assert!(!c.try_admit(), "the 4th request at once is over the limit of 3");
    for l in [10, 10, 12] {
        assert!(!c.request_ended(cfg, &ServedEnd { arrived: SimTime::ZERO, now: at_ms(l), answered: true }));
    }
    assert!(c.in_window());
    assert!(serve(&mut c, cfg, at_ms(12), &[14]));
    assert_eq!((c.min_rtt(), c.limit(), c.in_window()), (ms(10), 3, false));
    c
}

/// Proves the update rule `floor(L x g + sqrt(L x g))`, g = clamp(minRTT x 1.25 /
/// sampleRTT, 0.5, 2), clamped to [3, 30], over a scripted run with minRTT = 10 ms.
#[test]
fn limit_follows_the_gradient_with_sqrt_headroom() {
    let cfg = cfg();
    let mut c = past_first_window(&cfg, 1);
    // Updates fall every second from the window's end: 1.026 s, 2.026 s, ...
    let mut tick = at_ms(26);
    let mut interval = |c: &mut GradientController, latencies: &[u64]| {
        serve(c, &cfg, tick + ms(100), latencies);
        tick += SimDuration::from_secs(1);
        assert_eq!(c.wake_at(), Some(tick));
        c.fire(&cfg, tick);
        c.limit()
    };
    // 10 ms: g = 12.5 / 10 = 1.25; 3 x 1.25 = 3.75; + sqrt(3.75) = 1.936 -> 5.686 -> 5.
    assert_eq!(interval(&mut c, &[10, 10, 10]), 5);
    // 5 x 1.25 = 6.25; + 2.5 -> 8.75 -> 8.
    assert_eq!(interval(&mut c, &[10; 5]), 8);
    // 8 x 1.25 = 10; + 3.162 -> 13.16 -> 13.
    assert_eq!(interval(&mut c, &[10; 8]), 13);
    // 4 ms: 12.5 / 4 = 3.125, clamped to 2; 13 x 2 = 26; + 5.099 -> 31.1 -> 31, over the
    // maximum: 30.
    assert_eq!(interval(&mut c, &[4; 13]), 30);
    // 40 ms: 12.5 / 40 = 0.3125, clamped to 0.5; 30 x 0.5 = 15; + 3.873 -> 18.87 -> 18.
    assert_eq!(interval(&mut c, &[40; 30]), 18);
    // 25 ms: g = 0.5 exactly; 18 x 0.5 = 9; + 3 -> 12.
    assert_eq!(interval(&mut c, &[25; 18]), 12);
    // No sample in the interval: no update.
    assert_eq!(interval(&mut c, &[]), 12);
    // p50 of 10, 20, 30, 40, 50 is the ceil(2.5) = 3rd smallest, 30 ms: g = 12.5 / 30 =
    // 0.417, clamped to 0.5; 12 x 0.5 = 6; + 2.449 -> 8.45 -> 8.
    assert_eq!(interval(&mut c, &[50, 10, 40, 20, 30]), 8);
    // Many short intervals at 100 ms bring it down to the minimum and no lower:
    // 8 -> 4 + 2 = 6 -> 3 + 1.73 = 4 -> 2 + 1.41 = 3 -> 1.5 + 1.22 = 2, raised to 3.
    assert_eq!(interval(&mut c, &[100; 8]), 6);
    assert_eq!(interval(&mut c, &[100; 6]), 4);
    assert_eq!(interval(&mut c, &[100; 4]), 3);
    assert_eq!(interval(&mut c, &[100; 3]), 3);
}

/// Proves the formula's edges directly: the headroom is the square root of the scaled
/// limit; a zero sampleRTT is the largest gradient; the maximum and minimum clamp.
#[test]
fn new_limit_by_hand() {
    let cfg = AdaptiveConcurrency { max_concurrency: 1000, ..cfg() };
    let ms = |n: u64| n * 1_000_000;
    // g = 1.25: 100 x 1.25 = 125; + 11.18 -> 136.
    assert_eq!(new_limit(&cfg, 100, ms(10), ms(10)), 136);
    // g = 12.5 / 12.5 = 1: 100 + 10 -> 110 (the headroom alone grows the limit).
    assert_eq!(new_limit(&cfg, 100, ms(10), 12_500_000), 110);
    // sampleRTT 0: g = 2; 10 x 2 = 20; + 4.47 -> 24.
    assert_eq!(new_limit(&cfg, 10, ms(10), 0), 24);
    assert_eq!(new_limit(&cfg, 900, ms(10), 0), 1000);
    assert_eq!(new_limit(&AdaptiveConcurrency { min_concurrency: 50, ..cfg }, 10, ms(10), ms(100)), 50);
}

/// Proves the minRTT window: at its time the limit is pinned to `min_concurrency` (the
/// requests already in count against it), requests that arrived before it are not
/// sampled, the update due during it is skipped, and once `request_count` samples came
/// in, minRTT is their p50 and the limit from before comes back.
#[test]
fn min_rtt_window_pins_the_limit_then_restores_it() {
    let cfg = AdaptiveConcurrency { min_rtt_interval: SimDuration::from_secs(2), ..cfg() };
    let mut c = past_first_window(&cfg, 1);
    // Timers from 26 ms: update at 1.026 s, window at 2.026 s.
    assert_eq!(c.wake_at(), Some(at_ms(1026)));
    serve(&mut c, &cfg, at_ms(100), &[10, 10, 10]);
    c.fire(&cfg, at_ms(1026));
    assert_eq!(c.limit(), 5);
    // Four requests in at 1.5 s, still in at 2.026 s.
    for _ in 0..4 {
        assert!(c.try_admit());
    }
    // Both due at 2.026 s: the update (no samples: no change, next at 3.026 s), then the
    // window: limit 3, and the 4 in flight are already over it.
    assert_eq!(c.wake_at(), Some(at_ms(2026)));
    c.fire(&cfg, at_ms(2026));
    assert_eq!((c.limit(), c.in_window()), (3, true));
    assert!(!c.try_admit());
    // They end; arrived before the window, they are not samples.
    for _ in 0..4 {
        let end = ServedEnd { arrived: at_ms(1500), now: at_ms(2100), answered: true };
        assert!(!c.request_ended(&cfg, &end));
    }
    assert!(c.samples.is_empty());
    // The update at 3.026 s gives up (in a window): no timer left until the window ends.
    assert_eq!(c.wake_at(), Some(at_ms(3026)));
    c.fire(&cfg, at_ms(3026));
    assert_eq!((c.wake_at(), c.limit()), (None, 3));
    // 20, 20, 20 then 30 ms: p50 = 2nd of 4 = 20 ms; the window ends at 3.23 s with the
    // limit back at 5; update at 4.23 s, next window at 5.23 s.
    serve(&mut c, &cfg, at_ms(3100), &[20, 20, 20]);
    assert!(serve(&mut c, &cfg, at_ms(3200), &[30]));
    assert_eq!((c.min_rtt(), c.limit(), c.in_window()), (ms(20), 5, false));
    assert_eq!((c.update_due, c.window_due), (Some(at_ms(4230)), Some(at_ms(5230))));
    // The new minRTT counts: 20 ms samples give g = 25 / 20 = 1.25: 5 -> 8.
    serve(&mut c, &cfg, at_ms(3300), &[20; 5]);
    c.fire(&cfg, at_ms(4230));
    assert_eq!(c.limit(), 8);
}

/// Proves Envoy's rule for a limit stuck at the minimum: the 5th update in a row that
/// sets it to `min_concurrency` while it was there starts a minRTT window at once.
#[test]
fn five_updates_at_the_minimum_start_a_window() {
    let cfg = cfg();
    let mut c = past_first_window(&cfg, 1);
    let mut tick = at_ms(26);
    for n in 1..=5 {
        // 100 ms: g = 0.5; 3 x 0.5 = 1.5; + 1.22 -> 2, raised to 3.
        serve(&mut c, &cfg, tick + ms(100), &[100, 100, 100]);
        tick += SimDuration::from_secs(1);
        c.fire(&cfg, tick);
        assert_eq!((c.limit(), c.in_window()), (3, n == 5), "update {n}");
    }
    // The window started at the 5th update: samples from before it are not counted.
    assert_eq!(c.epoch, tick);
    assert!(c.try_admit());
    assert!(!c.request_ended(
        &cfg,
        &ServedEnd { arrived: SimTime(tick.0 - ms(1).as_nanos()), now: tick + ms(5), answered: true }
    ));
    assert!(c.samples.is_empty());
}

/// Proves an answer nobody waits for frees its place without being a sample.
#[test]
fn an_unanswered_request_frees_its_place_unsampled() {
    let cfg = cfg();
    let mut c = controller(&cfg, 1);
    for _ in 0..3 {
        assert!(c.try_admit());
    }
    assert!(!c.try_admit());
    c.request_ended(&cfg, &ServedEnd { arrived: SimTime::ZERO, now: at_ms(5), answered: false });
    assert!(c.samples.is_empty());
    assert!(c.try_admit());
}

/// Proves the jitter: the next window begins `min_rtt_interval` plus a uniform draw in
/// [0, ceil(15% x 10 s)) = [0, 1.5 s) after the last ended; over 200 instances' streams
/// every draw is in range and both ends of it are reached (all 200 missing the lowest or
/// the highest 0.2 s has probability 0.867^200 < 1e-12); without jitter, exactly 10 s.
#[test]
fn the_next_window_is_jittered_within_bounds() {
    let jittered = AdaptiveConcurrency { min_rtt_interval: SimDuration::from_secs(10), jitter: 0.15, ..cfg() };
    let end = at_ms(26);
    let delays: Vec<u64> = (0..200)
        .map(|seed| past_first_window(&jittered, seed).window_due.expect("armed").since(end).as_nanos())
        .collect();
    let (lo, hi) = (10_000_000_000, 11_500_000_000);
    assert!(delays.iter().all(|&d| (lo..hi).contains(&d)), "{delays:?}");
    assert!(delays.iter().any(|&d| d < lo + 200_000_000));
    assert!(delays.iter().any(|&d| d >= hi - 200_000_000));
    let plain = AdaptiveConcurrency { min_rtt_interval: SimDuration::from_secs(10), ..cfg() };
    assert_eq!(past_first_window(&plain, 7).window_due, Some(end + SimDuration::from_secs(10)));
}

/// Proves the stage's refusal: `rejected`, counted in `concurrency_limited`.
#[test]
fn over_the_limit_is_rejected_and_counted() {
    let cfg = cfg();
    let mut c = controller(&cfg, 1);
    for _ in 0..3 {
        assert_eq!(ServerStage::admit(&mut c, &cfg, SimTime::ZERO), Ok(()));
    }
    let refused = ServerStage::admit(&mut c, &cfg, SimTime::ZERO).unwrap_err();
    assert_eq!(refused.outcome, Outcome::Rejected);
    assert_eq!(refused.counter, Some(Counter(&CONCURRENCY_LIMITED)));
}

/// Proves the stage's lints: a `max_concurrency` below the workers leaves workers unused;
/// a `min_concurrency` at or above workers plus a bounded queue never refuses anything the
/// queue would not; a config within both says nothing.
#[test]
fn lints_a_limit_that_caps_workers_or_cannot_limit() {
    let lints = |service: &str, ac: &str| {
        let text = format!(
            "[simulation]\nduration = \"1s\"\n[services.api]\n{service}\nadaptive_concurrency = {{ interval = \"1s\", min_rtt_interval = \"30s\", {ac} }}\n[services.api.endpoints.get]\nlatency = \"5ms\"\n[[load]]\nname = \"l\"\ntarget = \"api/get\"\nrate = 10\n"
        );
        let sc = crate::scenario::load_str("t.toml", &text).expect("valid");
        crate::model::lint::lint(&sc)
    };
    assert!(lints("workers = 8\nqueue = 8", "max_concurrency = 100").is_empty());
    let capped = lints("workers = 8", "max_concurrency = 6");
    assert_eq!(capped.iter().map(|l| l.kind).collect::<Vec<_>>(), [CAPS_WORKERS]);
    assert_eq!(capped[0].keys, ["services.api.adaptive_concurrency.max_concurrency", "services.api.workers"]);
    assert!(capped[0].message.contains("fewer than its 8 workers: 2 workers"), "{}", capped[0].message);
    // 8 workers and a queue of 8 hold 16 requests: a floor of 16 never refuses first.
    let idle = lints("workers = 8\nqueue = 8", "min_concurrency = 16");
    assert_eq!(idle.iter().map(|l| l.kind).collect::<Vec<_>>(), [CANNOT_LIMIT]);
    assert!(idle[0].message.contains("holds at most 16 requests"), "{}", idle[0].message);
    assert!(lints("workers = 8\nqueue = 8", "min_concurrency = 15").is_empty());
    // An unbounded queue: any floor may limit.
    assert!(lints("workers = 8", "min_concurrency = 500").is_empty());
}

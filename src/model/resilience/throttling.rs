//! Client-side adaptive throttling, as the Google SRE book describes it ("Handling
//! Overload"; `reference/resilience-semantics.md` section 4.9), configured in a policy as
//! `adaptive_throttling = { k = 2.0, window = "120s" }`.
//!
//! Each client keeps, over the last `window`:
//!
//! * `requests`: tries attempted, counted when attempted, **including** those this
//!   throttle then rejects locally;
//! * `accepts`: tries the backend accepted: those that ended `ok` or `error` (an answer
//!   from a backend that did the work). A timeout, a refusal by the server (`rejected`,
//!   `throttled`), a connection to a crashed instance (`unavailable`) or a refusal by the
//!   client itself is not an accept.
//!
//! and rejects each new try locally (it fails at once as `throttled`, without leaving the
//! client) with probability `max(0, (requests - k x accepts) / (requests + 1))`, computed
//! from the counts before the try is counted. One uniform number is drawn per try from the
//! client's own stream, whatever the probability, so two configurations stay aligned.
//!
//! The window is kept in whole seconds of simulated time: the counts of the last
//! `ceil(window / 1s)` seconds, the current one included, as a ring of per-second slots
//! (a time window of the kind Resilience4j's breaker uses). A try counts in the second it
//! is attempted, an accept in the second its answer arrives.

use super::stage::{ClientStage, Refusal, Streams, TryEnd};
use crate::engine::time::NANOS_PER_SEC;
use crate::engine::{SimDuration, SimTime, StreamRng};
use crate::format::two_decimals;
use crate::model::Outcome;
use crate::model::counters::{Counter, CounterDef, SeriesDef, SeriesKind};
use crate::model::lint::{Lint, LintKind, Site};
use rand::RngExt;

/// The validated `adaptive_throttling` table.
#[derive(Clone, Debug, PartialEq)]
pub struct AdaptiveThrottling {
    /// Accepts needed per request before nothing is rejected (the book's K; 2 by default).
    pub k: f64,
    /// How far back requests and accepts are counted (120 s by default: "the last two
    /// minutes"); whole seconds.
    pub window: SimDuration,
}

impl AdaptiveThrottling {
    /// The window in whole seconds (at least 1).
    pub fn seconds(&self) -> u64 {
        SecondWindow::seconds_in(self.window)
    }
}

/// Tries rejected locally by a service's clients' adaptive throttling or admission
/// control (`admission_control.rs` counts its rejections here too).
pub static LOCAL_REJECTIONS: CounterDef = CounterDef { key: "local_rejections", heading: "local rej" };

/// Tries rejected locally in each bucket, in runs where some policy throttles or has
/// admission control.
pub static LOCAL_REJECTION_SERIES: SeriesDef = SeriesDef {
    column: "local_rejections",
    kind: SeriesKind::Count(&LOCAL_REJECTIONS),
    used: Some(|sc| sc.policies.iter().any(|p| p.adaptive_throttling.is_some() || p.admission_control.is_some())),
    panel: Some("tries rejected locally per service (adaptive throttling, admission control)"),
};

/// A `k` below 1 rejects healthy traffic (every try accepted still leaves a rejection
/// probability of about `1 - k`).
pub const K_BELOW_ONE: LintKind = LintKind::Stage("throttling-rejects-healthy-traffic");

/// The rejection probability for `requests` and `accepts`: `max(0, (requests - k x
/// accepts) / (requests + 1))`.
pub fn rejection_probability(k: f64, requests: u64, accepts: u64) -> f64 {
    ((requests as f64 - k * accepts as f64) / (requests as f64 + 1.0)).max(0.0)
}

/// Two counts over a sliding window of whole seconds of simulated time: the current
/// second and the ones before it, `seconds` in all, as a ring of per-second slots. Shared
/// by the client stages that judge a backend by its recent answers.
#[derive(Debug)]
pub struct SecondWindow {
    /// The counts of each second of the window, by second modulo its length.
    slots: Vec<(u64, u64)>,
    /// The second the newest slot holds.
    second: u64,
    sums: (u64, u64),
}

impl SecondWindow {
    /// The whole seconds a window of `d` keeps: `d` rounded up, at least 1.
    pub fn seconds_in(d: SimDuration) -> u64 {
        d.as_nanos().div_ceil(NANOS_PER_SEC).max(1)
    }

    pub fn new(seconds: u64) -> SecondWindow {
        SecondWindow { slots: vec![(0, 0); seconds.max(1) as usize], second: 0, sums: (0, 0) }
    }

    /// The window's length in seconds.
    pub fn seconds(&self) -> u64 {
        self.slots.len() as u64
    }

    /// The sums over the window as of `now`.
    pub fn sums(&mut self, now: SimTime) -> (u64, u64) {
        self.advance(now);
        self.sums
    }

    /// Adds `(a, b)` to the second of `now`.
    pub fn add(&mut self, now: SimTime, (a, b): (u64, u64)) {
        self.advance(now);
        let n = self.seconds();
        let slot = &mut self.slots[(self.second % n) as usize];
        *slot = (slot.0 + a, slot.1 + b);
        self.sums = (self.sums.0 + a, self.sums.1 + b);
    }

    /// Moves the window to the second of `now`, dropping the seconds that left it.
    fn advance(&mut self, now: SimTime) {
        let second = now.0 / NANOS_PER_SEC;
        if second <= self.second {
            return;
        }
        let n = self.seconds();
        for s in (self.second + 1)..=second.min(self.second + n) {
            let slot = &mut self.slots[(s % n) as usize];
            self.sums = (self.sums.0 - slot.0, self.sums.1 - slot.1);
            *slot = (0, 0);
        }
        self.second = second;
    }
}

/// One client's throttle: `(requests, accepts)` over the window, and its stream.
#[derive(Debug)]
pub struct Throttle {
    window: SecondWindow,
    /// Boxed: a stream is a few hundred bytes, and every client's stages sit in one enum.
    rng: Box<StreamRng>,
}

impl Throttle {
    pub fn new(cfg: &AdaptiveThrottling, rng: StreamRng) -> Throttle {
        Throttle { window: SecondWindow::new(cfg.seconds()), rng: Box::new(rng) }
    }

    /// `(requests, accepts)` over the window as of `now`.
    pub fn counts(&mut self, now: SimTime) -> (u64, u64) {
        self.window.sums(now)
    }
}

impl ClientStage for Throttle {
    type Config = AdaptiveThrottling;
    const COUNTERS: &'static [&'static CounterDef] = &[&LOCAL_REJECTIONS];
    const SERIES: &'static [&'static SeriesDef] = &[&LOCAL_REJECTION_SERIES];
    // It rejects tries locally once the backend stops accepting them.
    const LIMITS_RETRIES: bool = true;

    /// Its per-second slots and its boxed stream.
    fn heap_bytes(cfg: &AdaptiveThrottling) -> usize {
        16 * cfg.seconds() as usize + std::mem::size_of::<StreamRng>()
    }

    fn new(cfg: &AdaptiveThrottling, streams: &Streams<'_>) -> Throttle {
        Throttle::new(cfg, streams.stream("throttle"))
    }

    fn admit(&mut self, cfg: &AdaptiveThrottling, now: SimTime) -> Result<(), Refusal> {
        let (requests, accepts) = self.window.sums(now);
        let p = rejection_probability(cfg.k, requests, accepts);
        let u: f64 = self.rng.random();
        self.window.add(now, (1, 0));
        if u < p {
            Err(Refusal { outcome: Outcome::Throttled, counter: Some(Counter(&LOCAL_REJECTIONS)) })
        } else {
            Ok(())
        }
    }

    fn ended(&mut self, _cfg: &AdaptiveThrottling, end: &TryEnd) -> Option<Counter> {
        if matches!(end.outcome, Outcome::Ok | Outcome::Error) {
            self.window.add(end.now, (0, 1));
        }
        None
    }

    /// A `k` below 1: rejects a share of healthy traffic.
    fn lint(cfg: &AdaptiveThrottling, site: &Site<'_>) -> Vec<Lint> {
        if cfg.k >= 1.0 || !site.first_use {
            return Vec::new();
        }
        vec![Lint {
            kind: K_BELOW_ONE,
            path: site.path(),
            keys: vec![site.key("adaptive_throttling.k")],
            message: format!(
                "the adaptive throttling of {} has k = {}: below 1 it rejects about {}% of tries even when \
                 the backend accepts every one (the SRE book uses k = 2; 1.1 wastes about 1 in 10)",
                site.label,
                two_decimals(cfg.k),
                two_decimals(100.0 * (1.0 - cfg.k)),
            ),
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;

    fn cfg(k: f64, window_s: u64) -> AdaptiveThrottling {
        AdaptiveThrottling { k, window: SimDuration::from_secs(window_s) }
    }

    fn at(seconds: f64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs_f64(seconds)
    }

    /// The reference's worked example 8: requests 100, accepts 40, K = 2 gives
    /// (100 - 80) / 101; accepts 50 gives 0.
    #[test]
    fn probability_matches_the_worked_example() {
        assert!((rejection_probability(2.0, 100, 40) - 20.0 / 101.0).abs() < 1e-15);
        assert_eq!(rejection_probability(2.0, 100, 50), 0.0);
        assert_eq!(rejection_probability(2.0, 0, 0), 0.0);
        // K = 1.1 with every try accepted: nothing rejected.
        assert_eq!(rejection_probability(1.1, 100, 100), 0.0);
    }

    /// A trace by hand: every try fails (no accept), so after n tries the next is rejected
    /// with probability n / (n + 1); the draws are the client's stream's, in order, one per
    /// try, and rejected tries count as requests too.
    #[test]
    fn rejects_with_the_documented_probability_on_a_failing_backend() {
        let c = cfg(2.0, 120);
        let mut t = Throttle::new(&c, stream(7, "test"));
        let mut draws = stream(7, "test");
        for n in 0..50u64 {
            let u: f64 = draws.random();
            let p = n as f64 / (n as f64 + 1.0);
            let verdict = t.admit(&c, at(0.5));
            assert_eq!(verdict.is_err(), u < p, "try {n}: u {u}, p {p}");
            if verdict.is_ok() {
                t.ended(
                    &c,
                    &TryEnd {
                        outcome: Outcome::Timeout,
                        took: SimDuration::ZERO,
                        is_retry: false,
                        now: at(0.6),
                        target: 0,
                    },
                );
            }
        }
        assert_eq!(t.counts(at(0.9)), (50, 0));
    }

    /// Counts leave the window whole seconds at a time: a 3 s window at t = 3.2 s holds
    /// seconds 1, 2 and 3.
    #[test]
    fn the_window_slides_by_whole_seconds() {
        let c = cfg(2.0, 3);
        let mut t = Throttle::new(&c, stream(1, "test"));
        let ok =
            |s: f64| TryEnd { outcome: Outcome::Ok, took: SimDuration::ZERO, is_retry: false, now: at(s), target: 0 };
        for s in [0.1, 1.1, 1.2, 2.5, 3.2] {
            t.admit(&c, at(s)).expect("nothing is rejected while every try is accepted");
            t.ended(&c, &ok(s));
        }
        assert_eq!(t.counts(at(3.2)), (4, 4));
        assert_eq!(t.counts(at(4.0)), (2, 2));
        assert_eq!(t.counts(at(100.0)), (0, 0));
        // Errors are accepts (the backend did the work); refusals and timeouts are not.
        let end = |outcome| TryEnd { outcome, took: SimDuration::ZERO, is_retry: false, now: at(100.5), target: 0 };
        for outcome in [Outcome::Error, Outcome::Rejected, Outcome::Throttled, Outcome::Unavailable, Outcome::Timeout] {
            t.ended(&c, &end(outcome));
        }
        assert_eq!(t.counts(at(100.5)), (0, 1));
    }
}

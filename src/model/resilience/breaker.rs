//! Resilience4j's `CircuitBreaker` as a pure state machine driven by simulated time.
//!
//! Every rule below is Resilience4j's (`CircuitBreakerStateMachine`,
//! `CircuitBreakerMetrics`, `FixedSizeSlidingWindowMetrics`, `SlidingTimeWindowMetrics`),
//! as written in `reference/resilience-semantics.md` section 4.1 and promised by
//! `spec/scenario-format.md` section 4 ("Circuit breaker"):
//!
//! * CLOSED permits every call and records every result in the sliding window; after a
//!   recorded result it opens if, with at least the effective minimum number of calls in
//!   the window, the failure rate or the slow-call rate is **>=** its threshold.
//! * OPEN refuses calls (`short_circuited`) without recording them. The first call
//!   **strictly after** `opened_at + open_for` moves the breaker to HALF_OPEN and is
//!   admitted under HALF_OPEN rules (the lazy transition, `automaticTransition...` off).
//!   Results of calls admitted earlier that arrive while OPEN are recorded into the
//!   metrics without any transition (`OpenState.onError`/`onSuccess`).
//! * HALF_OPEN uses a fresh count window of size `half_open_calls` (P) whose effective
//!   minimum is min(`min_calls`, P) (`CircuitBreakerMetrics.forHalfOpen`); it admits at most
//!   P calls in total until the state changes. After each recorded result: thresholds
//!   reached -> OPEN; below thresholds with the minimum met -> CLOSED with a fresh window;
//!   still below the minimum -> stay. Late results of calls admitted in an earlier state
//!   are recorded there too, as Resilience4j does.
//!
//! Not modelled: the manual states (DISABLED, METRICS_ONLY, FORCED_OPEN), exponential or
//! randomized OPEN waits, `maxWaitDurationInHalfOpenState` and ignored exceptions; the
//! configuration has no field for them.
//!
//! The configuration is passed by reference on each call because the simulator keeps one
//! breaker per (caller instance, callee service) and one shared config per policy. The
//! window sizes are read when a window is (re)built: at `new` and on entering CLOSED or
//! HALF_OPEN. No call allocates except those state changes, and then only if the size
//! changed.

use super::fixed::{fraction_to_ppm, rate_reached};
use super::stage::{ClientStage, Refusal, Streams, TryEnd};
use crate::engine::time::NANOS_PER_SEC;
use crate::engine::{SimDuration, SimTime};
use crate::format::two_decimals;
use crate::model::Outcome;
use crate::model::counters::{Counter, CounterDef, SeriesDef, SeriesKind};
use crate::model::lint::{Lint, LintKind, Site};

/// The automatic states of a Resilience4j circuit breaker.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

/// A state change, reported so the simulator can count and trace it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Transition {
    pub from: BreakerState,
    pub to: BreakerState,
}

/// Aggregates of the window the breaker currently records into.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct BreakerMetrics {
    /// Recorded calls in the window.
    pub calls: u64,
    /// Of those, failures (`ERROR` and `SLOW_ERROR`).
    pub failed: u64,
    /// Of those, slow calls (`SLOW_SUCCESS` and `SLOW_ERROR`).
    pub slow: u64,
}

/// One recorded outcome as two bits, so a count window costs one byte per slot.
const FAILED: u8 = 1;
const SLOW: u8 = 2;

impl BreakerMetrics {
    fn add(&mut self, outcome: u8) {
        self.calls += 1;
        self.failed += u64::from(outcome & FAILED);
        self.slow += u64::from((outcome & SLOW) >> 1);
    }

    fn remove(&mut self, outcome: u8) {
        // Only what was added is ever removed; saturation is belt and braces.
        self.calls = self.calls.saturating_sub(1);
        self.failed = self.failed.saturating_sub(u64::from(outcome & FAILED));
        self.slow = self.slow.saturating_sub(u64::from((outcome & SLOW) >> 1));
    }

    fn subtract(&mut self, bucket: &BreakerMetrics) {
        self.calls = self.calls.saturating_sub(bucket.calls);
        self.failed = self.failed.saturating_sub(bucket.failed);
        self.slow = self.slow.saturating_sub(bucket.slow);
    }
}

/// A window size from the config, clamped to at least 1: Resilience4j refuses 0 at
/// configuration time, and a zero-length ring could not hold the call being recorded.
fn clamp_size(size: u32) -> usize {
    size.max(1) as usize
}

/// COUNT_BASED window: a ring of the last `size` outcomes (`FixedSizeSlidingWindowMetrics`).
#[derive(Clone, Debug)]
struct CountWindow {
    slots: Box<[u8]>,
    /// The slot the next outcome goes to; once the ring is full, the oldest outcome.
    next: usize,
    totals: BreakerMetrics,
}

impl CountWindow {
    fn new(size: u32) -> CountWindow {
        CountWindow { slots: vec![0; clamp_size(size)].into_boxed_slice(), next: 0, totals: BreakerMetrics::default() }
    }

    /// Empties the window, reallocating only if the configured size changed.
    fn reset(&mut self, size: u32) {
        if self.slots.len() != clamp_size(size) {
            *self = CountWindow::new(size);
        } else {
            // Stale slots need no clearing: a slot is only evicted once the ring is full,
            // and by then every slot has been rewritten since the reset.
            self.next = 0;
            self.totals = BreakerMetrics::default();
        }
    }

    fn capacity(&self) -> u64 {
        self.slots.len() as u64
    }

    fn record(&mut self, outcome: u8) {
        if self.totals.calls >= self.capacity() {
            self.totals.remove(self.slots[self.next]);
        }
        self.slots[self.next] = outcome;
        self.totals.add(outcome);
        self.next = (self.next + 1) % self.slots.len();
    }
}

/// TIME_BASED window: `size` per-second buckets aligned to whole simulated seconds (the
/// epoch seconds of `SlidingTimeWindowMetrics`). A call recorded in second `s` counts
/// while the current second is below `s + size`.
#[derive(Clone, Debug)]
struct TimeWindow {
    buckets: Box<[BreakerMetrics]>,
    /// The bucket of `head_second`, the latest second seen.
    head: usize,
    head_second: u64,
    totals: BreakerMetrics,
}

impl TimeWindow {
    fn new(size: u32, now: SimTime) -> TimeWindow {
        TimeWindow {
            buckets: vec![BreakerMetrics::default(); clamp_size(size)].into_boxed_slice(),
            head: 0,
            head_second: now.0 / NANOS_PER_SEC,
            totals: BreakerMetrics::default(),
        }
    }

    fn reset(&mut self, size: u32, now: SimTime) {
        if self.buckets.len() != clamp_size(size) {
            *self = TimeWindow::new(size, now);
        } else {
            self.buckets.fill(BreakerMetrics::default());
            self.head = 0;
            self.head_second = now.0 / NANOS_PER_SEC;
            self.totals = BreakerMetrics::default();
        }
    }

    /// Moves the head to the current second, dropping the buckets that fall out, as
    /// `moveWindowToCurrentEpochSecond` does: at most `size` steps, so a long quiet spell
    /// costs no more than one full turn of the ring.
    fn advance(&mut self, now: SimTime) {
        let second = now.0 / NANOS_PER_SEC;
        // Simulated time never runs backwards; an earlier second (a caller bug) is
        // recorded into the head bucket rather than corrupting the ring.
        if second <= self.head_second {
            return;
        }
        let steps = (second - self.head_second).min(self.buckets.len() as u64);
        for _ in 0..steps {
            self.head = (self.head + 1) % self.buckets.len();
            let dropped = std::mem::take(&mut self.buckets[self.head]);
            self.totals.subtract(&dropped);
        }
        self.head_second = second;
    }

    fn record(&mut self, now: SimTime, outcome: u8) {
        self.advance(now);
        self.buckets[self.head].add(outcome);
        self.totals.add(outcome);
    }
}

/// The CLOSED-state window, of the configured kind.
#[derive(Clone, Debug)]
enum ClosedWindow {
    Count(CountWindow),
    Time(TimeWindow),
}

impl ClosedWindow {
    fn new(cfg: &CircuitBreakerConfig, now: SimTime) -> ClosedWindow {
        match cfg.window {
            BreakerWindow::Count(n) => ClosedWindow::Count(CountWindow::new(n)),
            BreakerWindow::Time(n) => ClosedWindow::Time(TimeWindow::new(n, now)),
        }
    }

    fn reset(&mut self, cfg: &CircuitBreakerConfig, now: SimTime) {
        match (&mut *self, &cfg.window) {
            (ClosedWindow::Count(w), BreakerWindow::Count(n)) => w.reset(*n),
            (ClosedWindow::Time(w), BreakerWindow::Time(n)) => w.reset(*n, now),
            // The window kind changed: rebuild (allocates, but only on a config change).
            _ => *self = ClosedWindow::new(cfg, now),
        }
    }

    fn record(&mut self, now: SimTime, outcome: u8) {
        match self {
            ClosedWindow::Count(w) => w.record(outcome),
            ClosedWindow::Time(w) => w.record(now, outcome),
        }
    }

    fn totals(&self) -> BreakerMetrics {
        match self {
            ClosedWindow::Count(w) => w.totals,
            ClosedWindow::Time(w) => w.totals,
        }
    }

    /// Resilience4j's effective `minimumNumberOfCalls`: capped at the window size for
    /// COUNT_BASED, not capped for TIME_BASED (section 4.1, parameters table). At least 1,
    /// because an empty window has no rate (`bufferedCalls == 0` yields -1).
    fn minimum_calls(&self, cfg: &CircuitBreakerConfig) -> u64 {
        let min_calls = u64::from(cfg.min_calls).max(1);
        match self {
            ClosedWindow::Count(w) => min_calls.min(w.capacity()),
            ClosedWindow::Time(_) => min_calls,
        }
    }
}

/// `CircuitBreakerMetrics.checkIfThresholdsExceeded`'s three results.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Verdict {
    BelowMinimumCalls,
    BelowThresholds,
    ThresholdsReached,
}

/// Judges a window: no rate below the minimum number of calls; otherwise either rate
/// being **>=** its threshold is enough. Rates are compared in exact integer arithmetic
/// (`failed * 1e6 >= ppm * calls`), so a rate exactly at the threshold always counts.
fn judge(totals: BreakerMetrics, minimum_calls: u64, cfg: &CircuitBreakerConfig) -> Verdict {
    if totals.calls == 0 || totals.calls < minimum_calls {
        Verdict::BelowMinimumCalls
    } else if rate_reached(totals.failed, totals.calls, fraction_to_ppm(cfg.failure_rate))
        || rate_reached(totals.slow, totals.calls, fraction_to_ppm(cfg.slow_call_rate))
    {
        Verdict::ThresholdsReached
    } else {
        Verdict::BelowThresholds
    }
}

/// SUCCESS / SLOW_SUCCESS / ERROR / SLOW_ERROR as two bits: slow means strictly longer
/// than `slow_call_duration` (`slowCallDurationThreshold`, section 4.1).
fn classify(cfg: &CircuitBreakerConfig, failure: bool, duration: SimDuration) -> u8 {
    let slow = if duration > cfg.slow_call_duration { SLOW } else { 0 };
    let failed = if failure { FAILED } else { 0 };
    slow | failed
}

#[derive(Clone, Debug, PartialEq)]
pub enum BreakerWindow {
    /// The last `n` calls.
    Count(u32),
    /// The calls of the last `n` whole seconds.
    Time(u32),
}

/// Resilience4j's circuit breaker (see `resilience-semantics.md` section 4.1).
#[derive(Clone, Debug, PartialEq)]
pub struct CircuitBreakerConfig {
    pub window: BreakerWindow,
    pub min_calls: u32,
    /// In (0, 1]: opens when the failure rate is >= this.
    pub failure_rate: f64,
    /// In (0, 1]: opens when the slow-call rate is >= this.
    pub slow_call_rate: f64,
    /// A call is slow when its duration is strictly longer than this.
    pub slow_call_duration: SimDuration,
    pub open_for: SimDuration,
    pub half_open_calls: u32,
}

/// A Resilience4j circuit breaker for one (caller instance, callee service) pair.
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    state: BreakerState,
    closed: ClosedWindow,
    half_open: CountWindow,
    /// The state OPEN was entered from. Resilience4j's `OpenState` keeps that state's
    /// metrics object, so late results recorded while OPEN go into that window.
    open_from: BreakerState,
    opened_at: SimTime,
    /// HALF_OPEN permits left until the state changes.
    half_open_permits: u32,
    opens: u64,
    not_permitted: u64,
}

impl CircuitBreaker {
    /// A CLOSED breaker with empty windows, sized from `cfg`.
    pub fn new(cfg: &CircuitBreakerConfig) -> CircuitBreaker {
        CircuitBreaker {
            state: BreakerState::Closed,
            closed: ClosedWindow::new(cfg, SimTime::ZERO),
            half_open: CountWindow::new(cfg.half_open_calls),
            open_from: BreakerState::Closed,
            opened_at: SimTime::ZERO,
            half_open_permits: 0,
            opens: 0,
            not_permitted: 0,
        }
    }

    /// Asks permission for one call at `now`. `false` means refused (`short_circuited`):
    /// the caller must not call [`record`](Self::record) for it.
    ///
    /// CLOSED always permits. OPEN refuses until `now` is strictly after
    /// `opened_at + open_for`; that first later call moves the breaker to HALF_OPEN and is
    /// admitted under HALF_OPEN rules (`OpenState.tryAcquirePermission`, issue #2089).
    /// HALF_OPEN permits `max(1, half_open_calls)` calls in total until the state changes
    /// (0 is clamped to 1, as Resilience4j refuses 0, so a breaker can always recover).
    pub fn try_acquire(&mut self, cfg: &CircuitBreakerConfig, now: SimTime) -> bool {
        match self.state {
            BreakerState::Closed => true,
            BreakerState::Open => {
                if now > self.opened_at + cfg.open_for {
                    self.enter_half_open(cfg);
                    self.take_half_open_permit()
                } else {
                    self.not_permitted += 1;
                    false
                }
            }
            BreakerState::HalfOpen => self.take_half_open_permit(),
        }
    }

    /// Records the result of a permitted call that ended at `now` after `duration`, and
    /// returns the state change it caused, if any.
    ///
    /// `failure` is true for the outcomes the breaker counts as failures (timeout, error,
    /// rejected, unavailable: `scenario-format.md` section 4).
    pub fn record(
        &mut self,
        cfg: &CircuitBreakerConfig,
        now: SimTime,
        failure: bool,
        duration: SimDuration,
    ) -> Option<Transition> {
        let outcome = classify(cfg, failure, duration);
        match self.state {
            BreakerState::Open => {
                match self.open_from {
                    BreakerState::HalfOpen => self.half_open.record(outcome),
                    _ => self.closed.record(now, outcome),
                }
                None
            }
            BreakerState::Closed => {
                self.closed.record(now, outcome);
                match judge(self.closed.totals(), self.closed.minimum_calls(cfg), cfg) {
                    Verdict::ThresholdsReached => Some(self.open(now)),
                    Verdict::BelowThresholds | Verdict::BelowMinimumCalls => None,
                }
            }
            BreakerState::HalfOpen => {
                self.half_open.record(outcome);
                let minimum_calls = u64::from(cfg.min_calls).max(1).min(self.half_open.capacity());
                match judge(self.half_open.totals, minimum_calls, cfg) {
                    Verdict::ThresholdsReached => Some(self.open(now)),
                    Verdict::BelowThresholds => Some(self.close(cfg, now)),
                    Verdict::BelowMinimumCalls => None,
                }
            }
        }
    }

    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Transitions into OPEN so far (from CLOSED or from HALF_OPEN).
    pub fn opens(&self) -> u64 {
        self.opens
    }

    /// Calls refused so far (Resilience4j's `numberOfNotPermittedCalls`).
    pub fn not_permitted(&self) -> u64 {
        self.not_permitted
    }

    /// The aggregates of the window the current state records into (for OPEN, the window
    /// of the state it opened from). A time window is shown as of its last recorded call.
    pub fn metrics(&self) -> BreakerMetrics {
        match (self.state, self.open_from) {
            (BreakerState::HalfOpen, _) | (BreakerState::Open, BreakerState::HalfOpen) => self.half_open.totals,
            _ => self.closed.totals(),
        }
    }

    /// When the breaker last opened (meaningful while OPEN).
    pub fn opened_at(&self) -> SimTime {
        self.opened_at
    }

    fn take_half_open_permit(&mut self) -> bool {
        if self.half_open_permits > 0 {
            self.half_open_permits -= 1;
            true
        } else {
            self.not_permitted += 1;
            false
        }
    }

    fn enter_half_open(&mut self, cfg: &CircuitBreakerConfig) {
        self.state = BreakerState::HalfOpen;
        self.half_open.reset(cfg.half_open_calls);
        self.half_open_permits = cfg.half_open_calls.max(1);
    }

    fn open(&mut self, now: SimTime) -> Transition {
        let from = self.state;
        self.state = BreakerState::Open;
        self.open_from = from;
        self.opened_at = now;
        self.opens += 1;
        Transition { from, to: BreakerState::Open }
    }

    fn close(&mut self, cfg: &CircuitBreakerConfig, now: SimTime) -> Transition {
        let from = self.state;
        self.state = BreakerState::Closed;
        self.closed.reset(cfg, now);
        Transition { from, to: BreakerState::Closed }
    }
}

/// Times any of a service's client breakers opened (over the whole run).
pub static OPENS: CounterDef = CounterDef { key: "breaker_opens", heading: "breakers" };

/// The share of a service's client breakers (one per caller instance and callee) open or
/// half-open at the end of each bucket.
pub static OPEN_SHARE: SeriesDef = SeriesDef {
    column: "breakers_open",
    kind: SeriesKind::Tripped {
        caption: "client circuit breakers open (shade = share open)",
        none: "no circuit breaker opened",
    },
    used: None,
    panel: None,
};

/// The breaker as a client stage: refuses tries while open (`short_circuited`), records
/// every admitted try's end, and counts its openings.
impl ClientStage for CircuitBreaker {
    type Config = CircuitBreakerConfig;
    const COUNTERS: &'static [&'static CounterDef] = &[&OPENS];
    const SERIES: &'static [&'static SeriesDef] = &[&OPEN_SHARE];
    const LIMITS_RETRIES: bool = true;

    /// Its window: a slot per call (count), or 16 bytes per second (time).
    fn heap_bytes(cfg: &CircuitBreakerConfig) -> usize {
        match cfg.window {
            BreakerWindow::Count(n) => n as usize,
            BreakerWindow::Time(secs) => 16 * secs as usize,
        }
    }

    fn new(cfg: &CircuitBreakerConfig, _streams: &Streams<'_>) -> CircuitBreaker {
        CircuitBreaker::new(cfg) // The inherent constructor.
    }

    #[inline]
    fn admit(&mut self, cfg: &CircuitBreakerConfig, now: SimTime) -> Result<(), Refusal> {
        if self.try_acquire(cfg, now) { Ok(()) } else { Err(Outcome::ShortCircuited.into()) }
    }

    #[inline]
    fn ended(&mut self, cfg: &CircuitBreakerConfig, end: &TryEnd) -> Option<Counter> {
        let transition = self.record(cfg, end.now, end.outcome.is_breaker_failure(), end.took);
        transition.is_some_and(|t| t.to == BreakerState::Open).then_some(Counter(&OPENS))
    }

    /// A cancelled try records nothing; a HALF_OPEN permit it held is given back, as
    /// Resilience4j's `releasePermission` does (else cancelled copies could use up the
    /// permits and leave the breaker half-open for good).
    fn cancelled(&mut self, _cfg: &CircuitBreakerConfig, _is_retry: bool) {
        if self.state == BreakerState::HalfOpen {
            self.half_open_permits += 1;
        }
    }

    fn tripped(&self) -> Option<bool> {
        Some(self.state != BreakerState::Closed)
    }

    /// Breakers that cannot open (a time window the traffic cannot fill with
    /// `min_calls`) and count windows whose `min_calls` Resilience4j caps at their size.
    fn lint(cfg: &CircuitBreakerConfig, site: &Site<'_>) -> Vec<Lint> {
        let keys = vec![site.key("circuit_breaker.min_calls"), site.key("circuit_breaker.size")];
        let (path, label) = (site.path(), &site.label);
        let shown = path.join(" -> ");
        match cfg.window {
            BreakerWindow::Count(size) if cfg.min_calls > size && site.first_use => vec![Lint {
                kind: MIN_CALLS_CAPPED,
                path,
                keys,
                message: format!(
                    "the circuit breaker of {label} (on {shown}) has min_calls = {} but a count window of \
                     {size} calls: Resilience4j caps min_calls at the window size, so it may open after only \
                     {size} calls, not {}",
                    cfg.min_calls, cfg.min_calls
                ),
            }],
            BreakerWindow::Count(_) => Vec::new(),
            BreakerWindow::Time(seconds) => {
                let caller = &site.scenario.services[site.from.service];
                let instances = f64::from(caller.instances.max(1));
                let per_instance = site.rate / instances;
                let per_window = per_instance * f64::from(seconds);
                // No traffic at all (an unused endpoint) is not this lint's business.
                if site.rate <= 0.0 || !per_window.is_finite() || per_window >= f64::from(cfg.min_calls) {
                    return Vec::new();
                }
                let bound = if site.at_most { "at most " } else { "" };
                let attempts = site.attempts();
                let retries = if attempts > 1 {
                    let with = per_window * f64::from(attempts);
                    if with >= f64::from(cfg.min_calls) {
                        format!("; only retries of failing calls ({attempts} attempts) could fill it")
                    } else {
                        format!("; even with every call retried ({attempts} attempts) it is {}", two_decimals(with))
                    }
                } else {
                    String::new()
                };
                let message = format!(
                    "the circuit breaker of {label} on {shown} counts calls per {} instance: at the starting \
                     load that is {bound}{}/s ({}/s over {} instances), {bound}{} calls in its {seconds}s \
                     window, fewer than min_calls = {}{retries}; it cannot open, so it will not protect {} \
                     when {} fails",
                    caller.name,
                    two_decimals(per_instance),
                    two_decimals(site.rate),
                    two_decimals(instances),
                    two_decimals(per_window),
                    cfg.min_calls,
                    path[0],
                    path[1],
                );
                vec![Lint { kind: CANNOT_OPEN, path, keys, message }]
            }
        }
    }
}

/// A time-window breaker whose `min_calls` the traffic cannot fill.
pub const CANNOT_OPEN: LintKind = LintKind::Stage("breaker-cannot-open");
/// A count-window breaker with `min_calls` above its window size (capped by Resilience4j).
pub const MIN_CALLS_CAPPED: LintKind = LintKind::Stage("breaker-min-calls-capped");

#[cfg(test)]
#[path = "breaker_tests.rs"]
mod tests;

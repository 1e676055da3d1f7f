//! Envoy's adaptive concurrency filter (`envoy.filters.http.adaptive_concurrency`) with
//! its gradient controller, on a service as `[services.NAME.adaptive_concurrency]`: a
//! server stage, one controller per instance, as each sidecar has its own.
//!
//! Reproduced from Envoy's `GradientController`
//! (`source/extensions/filters/http/adaptive_concurrency/controller/gradient_controller.cc`)
//! and the filter (`adaptive_concurrency_filter.cc`):
//!
//! * **Admission** (`forwardingDecision`): a request is let in while the requests it let in
//!   and that have not ended are fewer than the limit; otherwise it is refused at once with
//!   503, here `rejected` (the outcome of a refusal by the server itself, as a full queue's),
//!   counted in `concurrency_limited`.
//! * **Samples** (`recordLatencySample`): each request let in is timed from its arrival at
//!   the instance to its answer; an answer nobody waits for any more (the caller gave up,
//!   so Envoy sees the stream reset and calls `cancelLatencySample`) frees its place without
//!   a sample. Samples of requests that arrived before the current minRTT window began are
//!   dropped. Envoy keeps them in microseconds in a log-linear histogram (circllhist) and
//!   takes its approximate quantile; here they are kept exactly, in nanoseconds, and the
//!   `sample_percentile` is the nearest rank (the `ceil(p/100 x n)`-th smallest).
//! * **Every `interval`** (`resetSampleWindow`, outside a minRTT window, when samples
//!   came in): sampleRTT is the percentile of the interval's samples, then
//!   `gradient = clamp(minRTT x (1 + buffer) / sampleRTT, 0.5, 2.0)`,
//!   `limit' = limit x gradient`, and the new limit is `floor(limit' + sqrt(limit'))`
//!   clamped to [`min_concurrency`, `max_concurrency`] (`calculateNewLimit`: the headroom
//!   is the square root of the scaled limit, not of the old one). A zero sampleRTT (work
//!   that takes no time) gives the largest gradient, 2.
//! * **minRTT windows** (`enterMinRTTSamplingWindow`, `updateMinRTT`): at the start (the
//!   instance's creation) and every `min_rtt_interval` plus a jitter after the last window
//!   ended, the limit is pinned to `min_concurrency` (the limit before is kept aside) and
//!   the samples are thrown away; once `request_count` samples have come in, their
//!   percentile is the new minRTT, the limit kept aside is restored, and both timers start
//!   again from then: the next window after `min_rtt_interval + U[0, ceil(min_rtt_interval x
//!   jitter))` (Envoy's `applyJitter`, in milliseconds there, in nanoseconds here, drawn
//!   from the instance's own stream), the next update after `interval`. An update due
//!   during a window is skipped (Envoy's sample timer gives up and is re-armed when the
//!   window ends).
//! * **Stuck at the minimum** (`updateConcurrencyLimit`): when an update outside a window
//!   sets the limit to `min_concurrency` while it already was, for the 5th time in a row,
//!   a minRTT window starts at once (the minRTT may be wrong).
//!
//! Not modelled: the newer `min_concurrency_limit` (a separate floor) and a `fixed_value`
//! minRTT, the runtime `enabled` flag, health checks (which Envoy does not sample).

use super::admission::{ServedEnd, ServerSite, ServerStage};
use super::stage::{Refusal, Streams};
use crate::engine::{SimDuration, SimTime, StreamRng};
use crate::model::Outcome;
use crate::model::counters::{Counter, CounterDef, SeriesDef, SeriesKind};
use crate::model::lint::{Lint, LintKind};
use rand::RngExt;

/// The validated `adaptive_concurrency` table of a service.
#[derive(Clone, Debug, PartialEq)]
pub struct AdaptiveConcurrency {
    /// How often the limit is recalculated (Envoy's `concurrency_update_interval`).
    pub interval: SimDuration,
    /// The percentile of the samples taken as an interval's sampleRTT and as minRTT, in
    /// (0, 100] (Envoy's `sample_aggregate_percentile`).
    pub sample_percentile: f64,
    /// Added to minRTT, as a fraction of it, before it is compared with sampleRTT.
    pub buffer: f64,
    /// The lowest limit, and the limit during a minRTT window.
    pub min_concurrency: u32,
    /// The highest limit (Envoy's `max_concurrency_limit`).
    pub max_concurrency: u32,
    /// The time from the end of one minRTT window to the start of the next, before jitter
    /// (Envoy's `min_rtt_calc_params.interval`).
    pub min_rtt_interval: SimDuration,
    /// The samples a minRTT window gathers.
    pub request_count: u32,
    /// The most added at random to `min_rtt_interval`, as a fraction of it.
    pub jitter: f64,
}

impl AdaptiveConcurrency {
    /// Envoy's defaults (proto comments) for everything but the two intervals, which Envoy
    /// requires.
    pub const SAMPLE_PERCENTILE: f64 = 50.0;
    pub const BUFFER: f64 = 0.25;
    pub const MIN_CONCURRENCY: u32 = 3;
    pub const MAX_CONCURRENCY: u32 = 1000;
    pub const REQUEST_COUNT: u32 = 50;
    pub const JITTER: f64 = 0.15;
}

/// Requests a service's instances refused because their concurrency limit was reached.
pub static CONCURRENCY_LIMITED: CounterDef = CounterDef { key: "concurrency_limited", heading: "conc lim" };

/// The concurrency limit at the end of each bucket, the mean over the service's instances
/// taking traffic, in runs where some service has adaptive concurrency.
pub static LIMIT: SeriesDef = SeriesDef {
    column: "concurrency_limit",
    kind: SeriesKind::Level,
    used: Some(|sc| sc.services.iter().any(|s| s.adaptive_concurrency.is_some())),
    panel: Some("concurrency limit per instance (mean over instances; adaptive concurrency)"),
};

/// `max_concurrency` below the instance's workers: some workers can never be used.
pub const CAPS_WORKERS: LintKind = LintKind::Stage("adaptive-concurrency-caps-workers");
/// `min_concurrency` at or above what an instance can hold (workers plus a bounded queue):
/// the limit never refuses anything the queue would not.
pub const CANNOT_LIMIT: LintKind = LintKind::Stage("adaptive-concurrency-cannot-limit");

/// Updates in a row that set the limit to `min_concurrency` while it was there already,
/// after which a minRTT window starts at once (Envoy's constant 5).
const STUCK_AT_MIN_UPDATES: u32 = 5;

/// One instance's gradient controller.
#[derive(Debug)]
pub struct GradientController {
    limit: u32,
    /// Requests let in that have not ended.
    outstanding: u32,
    /// During a minRTT window, the limit to restore after it (Envoy's
    /// `deferred_limit_value_`); `None` outside one.
    deferred: Option<u32>,
    min_rtt: SimDuration,
    /// When the last minRTT window began: requests that arrived earlier are not sampled.
    epoch: SimTime,
    /// Latencies in nanoseconds of the requests sampled since the last update or window
    /// start (a buffer reused from one interval to the next).
    samples: Vec<u64>,
    /// When the limit is next recalculated (Envoy's `sample_reset_timer_`).
    update_due: Option<SimTime>,
    /// When the next minRTT window begins (Envoy's `min_rtt_calc_timer_`).
    window_due: Option<SimTime>,
    /// Updates in a row that left the limit at `min_concurrency`.
    at_min: u32,
    /// Boxed: the registry's enum is as large as its largest stage.
    rng: Box<StreamRng>,
}

impl GradientController {
    /// A controller created at `now`: it begins in a minRTT window, and its first update
    /// is due an `interval` later (skipped if the window has not ended by then).
    pub fn new(cfg: &AdaptiveConcurrency, rng: StreamRng, now: SimTime) -> GradientController {
        let mut c = GradientController {
            limit: cfg.min_concurrency,
            outstanding: 0,
            deferred: None,
            min_rtt: SimDuration::ZERO,
            epoch: now,
            samples: Vec::new(),
            update_due: Some(now + cfg.interval),
            window_due: None,
            at_min: 0,
            rng: Box::new(rng),
        };
        c.enter_window(cfg, now);
        c
    }

    /// The concurrency limit now.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The last minRTT measured (zero before the first window ends).
    pub fn min_rtt(&self) -> SimDuration {
        self.min_rtt
    }

    /// Whether a minRTT window is in progress.
    pub fn in_window(&self) -> bool {
        self.deferred.is_some()
    }

    /// Lets a request in if fewer than the limit are in; `false` refuses it.
    pub fn try_admit(&mut self) -> bool {
        if self.outstanding < self.limit {
            self.outstanding += 1;
            true
        } else {
            false
        }
    }

    /// A request let in ended; returns whether the timers moved (a minRTT window ended).
    pub fn request_ended(&mut self, cfg: &AdaptiveConcurrency, end: &ServedEnd) -> bool {
        debug_assert!(self.outstanding > 0, "a request ended that was never let in");
        self.outstanding = self.outstanding.saturating_sub(1);
        if !end.answered || end.arrived < self.epoch {
            return false;
        }
        self.samples.push(end.now.since(end.arrived).as_nanos());
        self.window_complete(cfg, end.now)
    }

    /// The next time a timer fires.
    pub fn wake_at(&self) -> Option<SimTime> {
        match (self.update_due, self.window_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fires the timers due at `now`: the update first, then a minRTT window (which the
    /// update may have made due at once).
    pub fn fire(&mut self, cfg: &AdaptiveConcurrency, now: SimTime) {
        if self.update_due.is_some_and(|t| t <= now) {
            // During a window the timer gives up; the window's end re-arms it.
            self.update_due = if self.in_window() { None } else { Some(now + cfg.interval) };
            if !self.in_window() {
                self.update(cfg, now);
            }
        }
        if self.window_due.is_some_and(|t| t <= now) {
            self.window_due = None;
            self.enter_window(cfg, now);
        }
    }

    /// Envoy's `resetSampleWindow`: a new limit from the interval's sampleRTT.
    fn update(&mut self, cfg: &AdaptiveConcurrency, now: SimTime) {
        if self.samples.is_empty() {
            return;
        }
        let sample_rtt = self.take_percentile(cfg);
        let limit = new_limit(cfg, self.limit, self.min_rtt.as_nanos(), sample_rtt);
        self.set_limit(cfg, limit, now);
    }

    /// Envoy's `enterMinRTTSamplingWindow`.
    fn enter_window(&mut self, cfg: &AdaptiveConcurrency, now: SimTime) {
        if self.in_window() {
            return;
        }
        self.deferred = Some(self.limit);
        self.set_limit(cfg, cfg.min_concurrency, now);
        self.samples.clear();
        self.epoch = now;
    }

    /// Envoy's `updateMinRTT`: ends the window once it has `request_count` samples.
    fn window_complete(&mut self, cfg: &AdaptiveConcurrency, now: SimTime) -> bool {
        let Some(deferred) = self.deferred else { return false };
        if self.samples.len() < cfg.request_count as usize {
            return false;
        }
        self.min_rtt = SimDuration::from_nanos(self.take_percentile(cfg));
        self.set_limit(cfg, deferred, now);
        self.deferred = None;
        self.window_due = Some(now + self.jittered(cfg));
        self.update_due = Some(now + cfg.interval);
        true
    }

    /// Envoy's `updateConcurrencyLimit`, with its rule for a limit stuck at the minimum.
    fn set_limit(&mut self, cfg: &AdaptiveConcurrency, limit: u32, now: SimTime) {
        let old = std::mem::replace(&mut self.limit, limit);
        let stuck = !self.in_window() && old == cfg.min_concurrency && limit == cfg.min_concurrency;
        self.at_min = if stuck { self.at_min + 1 } else { 0 };
        if self.at_min >= STUCK_AT_MIN_UPDATES {
            self.window_due = Some(now);
        }
    }

    /// `min_rtt_interval` plus a uniform draw in [0, ceil(min_rtt_interval x jitter)).
    fn jittered(&mut self, cfg: &AdaptiveConcurrency) -> SimDuration {
        let interval = cfg.min_rtt_interval.as_nanos();
        let range = (interval as f64 * cfg.jitter).ceil() as u64;
        if range == 0 {
            return cfg.min_rtt_interval;
        }
        SimDuration::from_nanos(interval.saturating_add(self.rng.random_range(0..range)))
    }

    /// The `sample_percentile` of the samples (nearest rank), which are then cleared.
    fn take_percentile(&mut self, cfg: &AdaptiveConcurrency) -> u64 {
        let n = self.samples.len();
        let rank = ((cfg.sample_percentile / 100.0 * n as f64).ceil() as usize).clamp(1, n);
        let value = *self.samples.select_nth_unstable(rank - 1).1;
        self.samples.clear();
        value
    }
}

/// Envoy's `calculateNewLimit`: `floor(limit x g + sqrt(limit x g))` with
/// `g = clamp(minRTT x (1 + buffer) / sampleRTT, 0.5, 2.0)`, clamped to
/// [`min_concurrency`, `max_concurrency`]. Latencies in nanoseconds.
pub fn new_limit(cfg: &AdaptiveConcurrency, limit: u32, min_rtt: u64, sample_rtt: u64) -> u32 {
    let buffered = min_rtt as f64 + min_rtt as f64 * cfg.buffer;
    let gradient = if sample_rtt == 0 { 2.0 } else { (buffered / sample_rtt as f64).clamp(0.5, 2.0) };
    let scaled = f64::from(limit) * gradient;
    // A float to integer cast saturates, as Envoy's conversion to `uint32_t` would wrap
    // only beyond any `max_concurrency` validation allows.
    let headroomed = (scaled + scaled.sqrt()) as u32;
    headroomed.min(cfg.max_concurrency).max(cfg.min_concurrency)
}

/// The controller as a server stage: over the limit, the request is `rejected` at once.
impl ServerStage for GradientController {
    type Config = AdaptiveConcurrency;
    const COUNTERS: &'static [&'static CounterDef] = &[&CONCURRENCY_LIMITED];
    const SERIES: &'static [&'static SeriesDef] = &[&LIMIT];
    const ALWAYS_REPORTED: bool = false;
    const OBSERVES_ENDS: bool = true;

    /// Its stream, and its samples: at least a minRTT window's `request_count` (an
    /// interval's can be more, as many as the instance answers in one `interval`).
    fn heap_bytes(cfg: &AdaptiveConcurrency) -> usize {
        std::mem::size_of::<StreamRng>() + cfg.request_count as usize * std::mem::size_of::<u64>()
    }

    fn new(cfg: &AdaptiveConcurrency, streams: &Streams<'_>, now: SimTime) -> GradientController {
        GradientController::new(cfg, streams.stream("concurrency"), now)
    }

    #[inline]
    fn admit(&mut self, _cfg: &AdaptiveConcurrency, _now: SimTime) -> Result<(), Refusal> {
        if self.try_admit() {
            Ok(())
        } else {
            Err(Refusal { outcome: Outcome::Rejected, counter: Some(Counter(&CONCURRENCY_LIMITED)) })
        }
    }

    fn ended(&mut self, cfg: &AdaptiveConcurrency, end: &ServedEnd) -> bool {
        self.request_ended(cfg, end)
    }

    fn wake_at(&self) -> Option<SimTime> {
        GradientController::wake_at(self)
    }

    fn tick(&mut self, cfg: &AdaptiveConcurrency, now: SimTime) {
        self.fire(cfg, now);
    }

    fn level(&self) -> Option<f64> {
        Some(f64::from(self.limit))
    }

    fn lint(cfg: &AdaptiveConcurrency, site: &ServerSite<'_>) -> Vec<Lint> {
        let svc = site.service();
        let mut found = Vec::new();
        if u64::from(cfg.max_concurrency) < svc.workers {
            found.push(Lint {
                kind: CAPS_WORKERS,
                path: vec![svc.name.clone()],
                keys: vec![site.key("adaptive_concurrency.max_concurrency"), site.key("workers")],
                message: format!(
                    "service `{}` lets at most {} requests into an instance at once (`max_concurrency`), fewer than its {} workers: {} workers of each instance can never be used",
                    svc.name,
                    cfg.max_concurrency,
                    svc.workers,
                    svc.workers - u64::from(cfg.max_concurrency)
                ),
            });
        }
        if let Some(queue) = svc.queue
            && u64::from(cfg.min_concurrency) >= svc.workers.saturating_add(queue)
        {
            found.push(Lint {
                kind: CANNOT_LIMIT,
                path: vec![svc.name.clone()],
                keys: vec![
                    site.key("adaptive_concurrency.min_concurrency"),
                    site.key("workers"),
                    site.key("queue"),
                ],
                message: format!(
                    "service `{}`'s concurrency limit never falls below {} (`min_concurrency`), and an instance holds at most {} requests ({} workers and a queue of {}): the limit never refuses a request the full queue would not, so adaptive concurrency cannot act",
                    svc.name,
                    cfg.min_concurrency,
                    svc.workers.saturating_add(queue),
                    svc.workers,
                    queue
                ),
            });
        }
        found
    }
}

#[cfg(test)]
#[path = "concurrency_tests.rs"]
mod tests;

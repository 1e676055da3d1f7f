//! Envoy's outlier detection (`Cluster.outlier_detection`, `reference/resilience-semantics.md`
//! section 4.6; Istio's `outlierDetection`, 4.7), configured in a policy as
//! `outlier_detection = { consecutive_5xx = 5, ... }`, and the balancer's panic threshold
//! (Envoy's `common_lb_config.healthy_panic_threshold`, Istio's `minHealthPercent`).
//!
//! Each client (one caller instance's Envoy) keeps its own detector over the route's target
//! instances ("hosts"), as Envoy keeps one per cluster in each proxy. The algorithm is
//! Envoy's `DetectorImpl` (`source/common/upstream/outlier_detection_impl.cc`), without
//! the split of local-origin errors, jitter, active health checks or extension monitors:
//!
//! * **What a result is.** Every answer or timeout of a try is a result for the instance it
//!   went to, seen as an HTTP status as Envoy does without `split_external_local_origin_errors`:
//!   [`seen_as`] maps `ok` and `throttled` (a 429) to a success, `error` to a 500 (a 5xx that
//!   is not a gateway failure), and `rejected` (the instance's queue is full: a 503),
//!   `unavailable` (a connection to a crashed instance: Envoy's connect failure, a 503) and
//!   `timeout` (Envoy's local-origin timeout, a 504) to gateway failures, which are 5xx as
//!   well. A try refused at the client never reached an instance and is no result.
//! * **Consecutive detectors, inline.** A gateway failure adds one to the host's consecutive
//!   gateway failures (any other 5xx resets them); every 5xx adds one to its consecutive
//!   5xx; a success resets both. Reaching exactly `consecutive_gateway_failure`, then
//!   exactly `consecutive_5xx`, asks for an ejection; unless the host is already ejected,
//!   the count that asked is reset whether or not the ejection happens.
//! * **The sweep, every `interval`** from the client's creation: first each ejected host
//!   whose ejection time `min(base_ejection_time x multiplier, max_ejection_time)` has
//!   passed returns (its consecutive counts reset), and each host's interval counts move to
//!   "last interval"; then success-rate ejection (hosts in service with at least
//!   `success_rate_request_volume` results last interval, if there are at least
//!   `success_rate_minimum_hosts` of them: a host whose success rate, in percent, is below
//!   `mean - success_rate_stdev_factor / 1000 x stdev` of theirs, the population standard
//!   deviation) and failure-percentage ejection (hosts with at least
//!   `failure_percentage_request_volume` results, at least `failure_percentage_minimum_hosts`
//!   of them: failure percentage `>= failure_percentage_threshold`); last, the multiplier
//!   of each host in service that returned at least one `interval` ago goes down by one.
//!   An ejection only ends at a sweep, so it lasts its time rounded up to the next sweep.
//! * **An ejection** happens only if the share of hosts already ejected is below
//!   `max_ejection_percent` (so one host may always be ejected), then only with
//!   probability `enforcing_*` percent for its detector (drawn from the client's own
//!   stream, and only when strictly between 0 and 100). It raises the host's multiplier
//!   by one while `multiplier x base_ejection_time < max_ejection_time + base_ejection_time`.
//!   That share rule is Envoy's up to 1.30 (`100 x ejected / hosts < max_ejection_percent`,
//!   the proto's "will eject at least one host regardless of the value"); Envoy 1.31 changed
//!   it to `100 x (ejected + 1) / hosts <= max_ejection_percent`, with
//!   `always_eject_one_host` (off by default) to keep one.
//! * **The balancer** chooses among the hosts in service, unless fewer than
//!   `panic_threshold` percent of the hosts are in service: then (Envoy's panic mode) it
//!   chooses among all of them, ejected or not.

use super::stage::{ClientStage, Streams, TryEnd};
use crate::engine::{SimDuration, SimTime, StreamRng};
use crate::format::two_decimals;
use crate::model::Outcome;
use crate::model::counters::{Counter, CounterDef, SeriesDef, SeriesKind};
use crate::model::lint::{Lint, LintKind, Site};
use rand::RngExt;

/// The validated `outlier_detection` table. Percentages are whole percents, as Envoy's
/// `UInt32Value`s; `panic_threshold` is Envoy's `Percent`.
#[derive(Clone, Debug, PartialEq)]
pub struct OutlierDetection {
    pub consecutive_5xx: u32,
    pub consecutive_gateway_failure: u32,
    pub enforcing_consecutive_5xx: u32,
    pub enforcing_consecutive_gateway_failure: u32,
    pub interval: SimDuration,
    pub base_ejection_time: SimDuration,
    pub max_ejection_time: SimDuration,
    pub max_ejection_percent: u32,
    pub success_rate_minimum_hosts: u32,
    pub success_rate_request_volume: u32,
    pub success_rate_stdev_factor: u32,
    pub enforcing_success_rate: u32,
    pub failure_percentage_threshold: u32,
    pub failure_percentage_minimum_hosts: u32,
    pub failure_percentage_request_volume: u32,
    pub enforcing_failure_percentage: u32,
    /// Below this share of hosts in service (percent, in (0, 100]), the balancer uses all.
    pub panic_threshold: f64,
}

impl OutlierDetection {
    /// Envoy's defaults (the proto comments), and its balancer's 50% panic threshold.
    pub fn envoy_defaults() -> OutlierDetection {
        OutlierDetection {
            consecutive_5xx: 5,
            consecutive_gateway_failure: 5,
            enforcing_consecutive_5xx: 100,
            enforcing_consecutive_gateway_failure: 0,
            interval: SimDuration::from_secs(10),
            base_ejection_time: SimDuration::from_secs(30),
            max_ejection_time: SimDuration::from_secs(300),
            max_ejection_percent: 10,
            success_rate_minimum_hosts: 5,
            success_rate_request_volume: 100,
            success_rate_stdev_factor: 1900,
            enforcing_success_rate: 100,
            failure_percentage_threshold: 85,
            failure_percentage_minimum_hosts: 5,
            failure_percentage_request_volume: 50,
            enforcing_failure_percentage: 0,
            panic_threshold: 50.0,
        }
    }

    /// Whether some ejection is enforced with a probability strictly between 0 and 1
    /// (the detector then draws).
    fn draws(&self) -> bool {
        [
            self.enforcing_consecutive_5xx,
            self.enforcing_consecutive_gateway_failure,
            self.enforcing_success_rate,
            self.enforcing_failure_percentage,
        ]
        .iter()
        .any(|&p| p > 0 && p < 100)
    }

    /// How many of `hosts` hosts can be ejected at once: the share rule lets ejections in
    /// while the share already ejected is below `max_ejection_percent`.
    pub fn most_ejected(&self, hosts: u32) -> u32 {
        (0..hosts).find(|&k| !share_allows(k, hosts, self.max_ejection_percent)).unwrap_or(hosts)
    }

    /// Whether the balancer panics (uses every host) with `ejected` of `hosts` ejected.
    pub fn panics(&self, ejected: u32, hosts: u32) -> bool {
        ejected > 0 && 100.0 * f64::from(hosts - ejected) / f64::from(hosts) < self.panic_threshold
    }
}

/// Envoy (up to 1.30): another host may be ejected while `100 x ejected / hosts` is below
/// `max_percent`.
fn share_allows(ejected: u32, hosts: u32, max_percent: u32) -> bool {
    100.0 * f64::from(ejected) / f64::from(hosts.max(1)) < f64::from(max_percent)
}

/// Hosts ejected by a service's clients' outlier detection (each client counts its own).
pub static EJECTIONS: CounterDef = CounterDef { key: "ejections", heading: "ejections" };

/// Hosts ejected in each bucket, in runs where some policy has outlier detection.
pub static EJECTION_SERIES: SeriesDef = SeriesDef {
    column: "ejections",
    kind: SeriesKind::Count(&EJECTIONS),
    used: Some(|sc| sc.policies.iter().any(|p| p.outlier_detection.is_some())),
    panel: Some("hosts ejected per service (outlier detection)"),
};

/// Ejection can take half the hosts or more out of the pool without panic routing.
pub const OVERLOADS_SURVIVORS: LintKind = LintKind::Stage("outlier-ejection-overloads-survivors");
/// Ejection can never take a host out of the pool.
pub const CANNOT_EJECT: LintKind = LintKind::Stage("outlier-ejection-cannot-act");

/// How Envoy's detector sees a result: a success, a 5xx, or a gateway failure (a 502, 503
/// or 504, which is a 5xx too).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    Success,
    ServerError,
    GatewayFailure,
}

/// How the detector sees a try's outcome (module docs); `None` for a try that never
/// reached an instance.
pub fn seen_as(outcome: Outcome) -> Option<Seen> {
    match outcome {
        Outcome::Ok | Outcome::Throttled => Some(Seen::Success),
        Outcome::Error => Some(Seen::ServerError),
        Outcome::Rejected | Outcome::Unavailable | Outcome::Timeout => Some(Seen::GatewayFailure),
        Outcome::ShortCircuited => None,
    }
}

/// Which detector asks for an ejection (each has its `enforcing_*` percentage).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Detector {
    Consecutive5xx,
    ConsecutiveGatewayFailure,
    SuccessRate,
    FailurePercentage,
}

impl Detector {
    fn enforcing(self, cfg: &OutlierDetection) -> u32 {
        match self {
            Detector::Consecutive5xx => cfg.enforcing_consecutive_5xx,
            Detector::ConsecutiveGatewayFailure => cfg.enforcing_consecutive_gateway_failure,
            Detector::SuccessRate => cfg.enforcing_success_rate,
            Detector::FailurePercentage => cfg.enforcing_failure_percentage,
        }
    }
}

/// One host as one client's detector sees it (Envoy's `DetectorHostMonitorImpl`).
#[derive(Clone, Debug, Default)]
struct Host {
    consecutive_5xx: u32,
    consecutive_gateway: u32,
    /// When its ejection began, while it is ejected.
    ejected_at: Option<SimTime>,
    /// Envoy's `ejectTimeBackoff`: the ejection time is `base x multiplier`.
    multiplier: u32,
    last_returned: Option<SimTime>,
    /// `(results, successes)` in the interval in progress, and in the last whole one.
    current: (u64, u64),
    last: (u64, u64),
}

/// One client's outlier detector over its route's target instances, by slot.
#[derive(Debug)]
pub struct OutlierDetector {
    hosts: Vec<Host>,
    ejected: u32,
    /// The slots of the hosts in service, when some host is ejected (kept in step).
    serving: Vec<u32>,
    /// Boxed, and only when some enforcement is a probability.
    rng: Option<Box<StreamRng>>,
}

impl OutlierDetector {
    pub fn new(cfg: &OutlierDetection, rng: StreamRng) -> OutlierDetector {
        OutlierDetector { hosts: Vec::new(), ejected: 0, serving: Vec::new(), rng: cfg.draws().then(|| Box::new(rng)) }
    }

    /// Whether the host in `slot` is ejected now.
    pub fn is_ejected(&self, slot: u32) -> bool {
        self.hosts.get(slot as usize).is_some_and(|h| h.ejected_at.is_some())
    }

    /// Hosts ejected now.
    pub fn ejected(&self) -> u32 {
        self.ejected
    }

    /// The host's ejection multiplier (Envoy's `ejectTimeBackoff`).
    pub fn multiplier(&self, slot: u32) -> u32 {
        self.hosts.get(slot as usize).map_or(0, |h| h.multiplier)
    }

    /// Makes sure the detector knows `hosts` hosts (routes only grow; a new host is in
    /// service).
    fn know(&mut self, hosts: usize) {
        if self.hosts.len() < hosts {
            self.hosts.resize_with(hosts, Host::default);
            self.refresh();
        }
    }

    /// The host in `slot` has left the route: later slots move down by one.
    pub fn forget(&mut self, slot: u32) {
        if (slot as usize) < self.hosts.len() {
            let host = self.hosts.remove(slot as usize);
            self.ejected -= u32::from(host.ejected_at.is_some());
            self.refresh();
        }
    }

    fn refresh(&mut self) {
        self.serving.clear();
        let slots = self.hosts.iter().enumerate().filter(|(_, h)| h.ejected_at.is_none());
        self.serving.extend(slots.map(|(i, _)| i as u32));
    }

    /// A result of the host in `slot` at `now`; returns whether it ejected the host.
    pub fn record(&mut self, cfg: &OutlierDetection, slot: u32, seen: Seen, now: SimTime) -> bool {
        self.know(slot as usize + 1);
        let h = &mut self.hosts[slot as usize];
        h.current.0 += 1;
        let (mut gateway_hit, mut five_hit) = (false, false);
        match seen {
            Seen::Success => {
                h.current.1 += 1;
                (h.consecutive_5xx, h.consecutive_gateway) = (0, 0);
            }
            Seen::ServerError | Seen::GatewayFailure => {
                if seen == Seen::GatewayFailure {
                    h.consecutive_gateway += 1;
                    gateway_hit = h.consecutive_gateway == cfg.consecutive_gateway_failure;
                } else {
                    h.consecutive_gateway = 0;
                }
                h.consecutive_5xx += 1;
                five_hit = h.consecutive_5xx == cfg.consecutive_5xx;
            }
        }
        // Envoy posts both events to its main thread, the gateway one first; an event for
        // a host already ejected is dropped without resetting its count.
        let mut ejected = false;
        if gateway_hit && !self.is_ejected(slot) {
            ejected |= self.eject(cfg, slot, Detector::ConsecutiveGatewayFailure, now);
            self.hosts[slot as usize].consecutive_gateway = 0;
        }
        if five_hit && !self.is_ejected(slot) {
            ejected |= self.eject(cfg, slot, Detector::Consecutive5xx, now);
            self.hosts[slot as usize].consecutive_5xx = 0;
        }
        ejected
    }

    /// Envoy's `ejectHost`: the share rule, then enforcement; returns whether it ejected.
    fn eject(&mut self, cfg: &OutlierDetection, slot: u32, by: Detector, now: SimTime) -> bool {
        if !share_allows(self.ejected, self.hosts.len() as u32, cfg.max_ejection_percent) {
            return false;
        }
        let enforcing = by.enforcing(cfg);
        let enforced = match (enforcing, &mut self.rng) {
            (0, _) => false,
            (100.., _) | (_, None) => true,
            (p, Some(rng)) => rng.random_range(0..100u32) < p,
        };
        if !enforced {
            return false;
        }
        let (base, max) = (cfg.base_ejection_time.as_nanos(), cfg.max_ejection_time.as_nanos());
        let h = &mut self.hosts[slot as usize];
        h.ejected_at = Some(now);
        if u64::from(h.multiplier).saturating_mul(base) < max.saturating_add(base) {
            h.multiplier += 1;
        }
        self.ejected += 1;
        self.refresh();
        true
    }

    /// The sweep at `now` over `hosts` hosts (Envoy's `onIntervalTimer`); returns how many
    /// hosts it ejected.
    pub fn sweep(&mut self, cfg: &OutlierDetection, now: SimTime, hosts: u32) -> u32 {
        self.know(hosts as usize);
        let (base, max) = (cfg.base_ejection_time.as_nanos(), cfg.max_ejection_time.as_nanos());
        let mut returned = false;
        for h in &mut self.hosts {
            if let Some(at) = h.ejected_at
                && (u64::from(h.multiplier).saturating_mul(base)).min(max) <= (now - at).as_nanos()
            {
                h.ejected_at = None;
                (h.consecutive_5xx, h.consecutive_gateway) = (0, 0);
                h.last_returned = Some(now);
                self.ejected -= 1;
                returned = true;
            }
            h.last = std::mem::take(&mut h.current);
        }
        if returned {
            self.refresh();
        }
        let ejected = self.rate_ejections(cfg, now);
        for h in self.hosts.iter_mut().filter(|h| h.ejected_at.is_none()) {
            if h.last_returned.is_some_and(|at| now - at >= cfg.interval) {
                h.multiplier = h.multiplier.saturating_sub(1);
            }
        }
        ejected
    }

    /// Success-rate, then failure-percentage ejections over the last interval's results
    /// (Envoy's `processSuccessRateEjections`).
    fn rate_ejections(&mut self, cfg: &OutlierDetection, now: SimTime) -> u32 {
        let n = self.hosts.len() as u32;
        if n < cfg.success_rate_minimum_hosts && n < cfg.failure_percentage_minimum_hosts {
            return 0;
        }
        // (slot, success rate in percent) of the hosts in service with results.
        let rates: Vec<(u32, f64, u64)> = self
            .hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| h.ejected_at.is_none() && h.last.0 > 0)
            .map(|(i, h)| (i as u32, h.last.1 as f64 * 100.0 / h.last.0 as f64, h.last.0))
            .collect();
        let mut ejected = 0;
        let sr: Vec<(u32, f64)> =
            rates.iter().filter(|r| r.2 >= u64::from(cfg.success_rate_request_volume)).map(|r| (r.0, r.1)).collect();
        if !sr.is_empty() && sr.len() >= cfg.success_rate_minimum_hosts as usize {
            let threshold = success_rate_threshold(&sr.iter().map(|r| r.1).collect::<Vec<_>>(), cfg);
            for &(slot, rate) in &sr {
                if rate < threshold {
                    ejected += u32::from(self.eject(cfg, slot, Detector::SuccessRate, now));
                }
            }
        }
        let fp: Vec<(u32, f64)> = rates
            .iter()
            .filter(|r| r.2 >= u64::from(cfg.failure_percentage_request_volume))
            .map(|r| (r.0, r.1))
            .collect();
        if !fp.is_empty() && fp.len() >= cfg.failure_percentage_minimum_hosts as usize {
            for &(slot, rate) in &fp {
                // A host the success-rate pass just ejected is not ejected twice.
                if 100.0 - rate >= f64::from(cfg.failure_percentage_threshold) && !self.is_ejected(slot) {
                    ejected += u32::from(self.eject(cfg, slot, Detector::FailurePercentage, now));
                }
            }
        }
        ejected
    }

    /// The slots the balancer may choose among, of `hosts`: `None` for all of them (no
    /// host ejected, or the balancer in panic).
    pub fn in_service(&mut self, cfg: &OutlierDetection, hosts: u32) -> Option<&[u32]> {
        self.know(hosts as usize);
        let hosts = self.hosts.len() as u32;
        if self.ejected == 0 || cfg.panics(self.ejected, hosts) { None } else { Some(&self.serving) }
    }
}

/// Envoy's `successRateEjectionThreshold`: `mean - stdev_factor / 1000 x stdev` of the
/// success rates (population standard deviation), summed in host order as Envoy does.
pub fn success_rate_threshold(rates: &[f64], cfg: &OutlierDetection) -> f64 {
    let n = rates.len() as f64;
    let mean = rates.iter().sum::<f64>() / n;
    let variance = rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
    mean - f64::from(cfg.success_rate_stdev_factor) / 1000.0 * variance.sqrt()
}

impl ClientStage for OutlierDetector {
    type Config = OutlierDetection;
    const COUNTERS: &'static [&'static CounterDef] = &[&EJECTIONS];
    const SERIES: &'static [&'static SeriesDef] = &[&EJECTION_SERIES];
    const JUDGES_INSTANCES: bool = true;
    const ALWAYS_REPORTED: bool = false;

    /// Its boxed stream; the hosts' states grow with the route (about 72 bytes each).
    fn heap_bytes(cfg: &OutlierDetection) -> usize {
        if cfg.draws() { std::mem::size_of::<StreamRng>() } else { 0 }
    }

    fn new(cfg: &OutlierDetection, streams: &Streams<'_>) -> OutlierDetector {
        OutlierDetector::new(cfg, streams.stream("outlier"))
    }

    fn ended(&mut self, cfg: &OutlierDetection, end: &TryEnd) -> Option<Counter> {
        if end.target == TryEnd::GONE {
            return None;
        }
        let seen = seen_as(end.outcome)?;
        self.record(cfg, end.target, seen, end.now).then_some(Counter(&EJECTIONS))
    }

    /// Envoy drops a removed host's detector state with it.
    fn target_removed(&mut self, _cfg: &OutlierDetection, slot: u32) {
        self.forget(slot);
    }

    fn eligible(&mut self, cfg: &OutlierDetection, targets: u32) -> Option<&[u32]> {
        self.in_service(cfg, targets)
    }

    fn period(cfg: &OutlierDetection) -> Option<SimDuration> {
        Some(cfg.interval)
    }

    fn tick(&mut self, cfg: &OutlierDetection, now: SimTime, targets: u32) -> Option<(Counter, u32)> {
        let ejected = self.sweep(cfg, now, targets);
        (ejected > 0).then_some((Counter(&EJECTIONS), ejected))
    }

    /// With the callee's instance count: ejection that can take half the hosts or more
    /// out of the pool before the balancer panics (the rest take twice their load or
    /// more), or that can never take one out.
    fn lint(cfg: &OutlierDetection, site: &Site<'_>) -> Vec<Lint> {
        let callee = &site.scenario.services[site.call.to.service];
        let n = callee.instances;
        let most = cfg.most_ejected(n);
        // The most ejected at once with the balancer still avoiding them.
        let effective = (0..=most).rev().find(|&k| !cfg.panics(k, n)).unwrap_or(0);
        let keys =
            vec![site.key("outlier_detection.max_ejection_percent"), site.key("outlier_detection.panic_threshold")];
        let message = if effective == 0 {
            let why = if most == 0 {
                format!("max_ejection_percent = {} lets none be ejected", cfg.max_ejection_percent)
            } else {
                format!(
                    "one ejected leaves {}% of them in service, below panic_threshold = {}%, and the balancer \
                     then routes to every instance, ejected or not (Envoy's panic mode)",
                    two_decimals(100.0 * f64::from(n - 1) / f64::from(n)),
                    two_decimals(cfg.panic_threshold),
                )
            };
            Some((
                CANNOT_EJECT,
                format!(
                    "the outlier detection of {} can never take an instance of {} out of rotation: of its {n} \
                     instances, {why}",
                    site.label, callee.name
                ),
            ))
        } else if n >= 2 && 2 * effective >= n {
            Some((
                OVERLOADS_SURVIVORS,
                format!(
                    "the outlier detection of {} can eject {effective} of the {n} instances of {} at once before the \
                     balancer panics: the other {} then take {}x their share of its traffic, so a failure common to \
                     all of them (overload) is concentrated on the survivors instead of contained (max_ejection_percent \
                     = {}; Envoy's default is 10)",
                    site.label,
                    callee.name,
                    n - effective,
                    two_decimals(f64::from(n) / f64::from(n - effective)),
                    cfg.max_ejection_percent,
                ),
            ))
        } else {
            None
        };
        message.map(|(kind, message)| Lint { kind, path: site.path(), keys, message }).into_iter().collect()
    }
}

#[cfg(test)]
#[path = "outlier_tests.rs"]
mod tests;

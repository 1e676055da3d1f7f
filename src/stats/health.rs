//! Health and cascade verdicts: judged from what a run measured, after it ended.
//! The simulator and `sim::metrics` only measure; the rules live here.
//!
//! The rules (documented for users in the README, "Health and cascades"):
//!
//! * A service is **unhealthy in a bucket** (after warmup) when, with at least
//!   [`MIN_BUCKET_OUTCOMES`] outcomes to judge by, either
//!   - *failing*: fewer than 95% of the attempts its callers heard back about ended
//!     ok. Heard-about attempts are its answers that a caller was still waiting for,
//!     its failures (errors, rejections, throttling, crashed instances), and the
//!     attempts a caller gave up on (per-try timeout or deadline) while it still had
//!     them: a service whose every answer comes too late is failing, whatever its own
//!     counters say; or
//!   - *slow*: the mean sojourn of what left it in the bucket is more than
//!     [`SLOW_FACTOR`] times its unloaded mean response (the slowest of its
//!     endpoints' own work plus calls, with no queueing: `model::graph`), and at least
//!     [`SLOW_MIN_EXTRA_MS`] above it.
//!
//!   A service is **unhealthy in a run** if it is unhealthy in any bucket.
//! * The **cause** of an unhealthy service, in this order:
//!   - `fault`: a fault targets it (the service, one of its endpoints, or an edge
//!     into it), starting before its last unhealthy bucket ended;
//!   - `dependency`: a service it calls was unhealthy in one of the same buckets (its
//!     failures or latency came from the calls it makes, or its workers were held
//!     waiting on them); `via` names those services;
//!   - `overload`: neither: its own offered load, retries included, exceeded what it
//!     could serve (it queued, rejected or answered too late on its own).
//! * A dependency-caused service is **impaired** when its own capacity ran out in one
//!   of its unhealthy buckets: its workers were at least [`IMPAIRED_UTILIZATION`]
//!   busy, or its queue held on average at least one request per instance. One that
//!   is not impaired only *passed on* its dependency's failures or latency, to the
//!   requests that needed that dependency: the load's success rate and SLO show that.
//! * A **cascade** is unhealthiness that spread past its origin and took over
//!   resources there: some service was unhealthy because of another *and* impaired
//!   (its pool or queue filled, so even its requests that never touch the failing
//!   service suffer, and its callers in turn). Its **blast radius** is those impaired
//!   services; its **origin** is the services with cause `fault` or `overload` that
//!   their `via` links lead to. A lone service overloaded by a spike is an overload,
//!   not a cascade; so is a root cause whose callers only relayed its failures.

use serde::Serialize;

use crate::model::Scenario;
use crate::model::counters::REPLICAS;
use crate::model::graph::CallGraph;
use crate::stats::summary::{RunResult, ServiceBucket};

pub use crate::stats::recovery::MIN_BUCKET_OUTCOMES;

/// Below this share of ok answers among those heard about, a bucket is failing (the
/// threshold the first releases used for `unhealthy`).
pub const MIN_OK_SHARE: f64 = 0.95;
/// A mean sojourn this many times the unloaded mean response is slow: an M/M/1 queue
/// reaches it at 90% utilization, where an SRE would call a service saturated.
pub const SLOW_FACTOR: f64 = 10.0;
/// ... and at least this much above it, so that services whose unloaded response is a
/// few microseconds are not called slow for a little queueing.
pub const SLOW_MIN_EXTRA_MS: f64 = 1.0;
/// Worker utilization in a bucket from which a service's own capacity counts as used up.
pub const IMPAIRED_UTILIZATION: f64 = 0.9;

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    #[default]
    Healthy,
    Unhealthy,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthCause {
    /// A fault targets it.
    Fault,
    /// Its own offered load exceeded what it could serve.
    Overload,
    /// A service it calls was unhealthy at the same time.
    Dependency,
}

impl HealthCause {
    pub fn name(self) -> &'static str {
        match self {
            HealthCause::Fault => "fault",
            HealthCause::Overload => "overload",
            HealthCause::Dependency => "dependency",
        }
    }

    /// A root cause starts unhealthiness; a dependency only passes it on.
    pub fn is_root(self) -> bool {
        self != HealthCause::Dependency
    }
}

/// One service's health in one run (`summary.json` `services.NAME.health`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Health {
    pub state: HealthState,
    /// `null` when healthy.
    pub cause: Option<HealthCause>,
    /// For `dependency`: the services it calls that were unhealthy in the same buckets.
    pub via: Vec<String>,
    /// Its own capacity ran out while it was unhealthy (workers or queue full): for a
    /// `dependency`, what makes it part of a cascade rather than a relay.
    pub impaired: bool,
    /// What made it unhealthy: `"failing"` and/or `"slow"` (see the module docs).
    pub signals: Vec<&'static str>,
    /// Start of the first unhealthy bucket, in simulated seconds; `null` when healthy.
    pub first_unhealthy_s: Option<f64>,
    /// Seconds of unhealthy buckets.
    pub unhealthy_s: f64,
    /// Per bucket: unhealthy or not (for the time series and charts).
    #[serde(skip)]
    pub buckets: Vec<bool>,
}

impl Health {
    pub fn is_unhealthy(&self) -> bool {
        self.state == HealthState::Unhealthy
    }

    /// e.g. `ok`, `UNHEALTHY (overload)`, `UNHEALTHY (dependency: db)`.
    pub fn label(&self) -> String {
        match (self.state, self.cause) {
            (HealthState::Healthy, _) => "ok".to_string(),
            (HealthState::Unhealthy, Some(HealthCause::Dependency)) if self.impaired => {
                format!("UNHEALTHY (dependency: {}, impaired)", self.via.join(", "))
            }
            (HealthState::Unhealthy, Some(HealthCause::Dependency)) => {
                format!("UNHEALTHY (dependency: {}, relayed)", self.via.join(", "))
            }
            (HealthState::Unhealthy, Some(cause)) => format!("UNHEALTHY ({})", cause.name()),
            (HealthState::Unhealthy, None) => "UNHEALTHY".to_string(),
        }
    }
}

/// Whether unhealthiness spread in one run (`summary.json` `cascade`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Cascade {
    /// Some service was unhealthy because of another and impaired by it.
    pub cascade: bool,
    /// Root causes (fault or overload) the spread started from, in file order.
    pub origin: Vec<String>,
    /// Services unhealthy because of a dependency and impaired, in file order.
    pub blast_radius: Vec<String>,
    /// Services unhealthy because of a dependency that only passed its failures on
    /// (not impaired): not part of the cascade, listed so nothing is hidden.
    pub relayed: Vec<String>,
}

/// Judges every service's health and the run's cascade, in place.
pub fn assess(sc: &Scenario, graph: &CallGraph, result: &mut RunResult) {
    let first_measured = (result.warmup_s / result.bucket_s).ceil() as usize;
    let bucket_s = result.bucket_s;
    let per_bucket: Vec<Vec<(bool, bool)>> = result
        .services
        .iter()
        .enumerate()
        .map(|(s, svc)| {
            let unloaded_ms = graph.service_response_ns(s) / 1e6;
            svc.buckets
                .iter()
                .enumerate()
                .map(|(i, b)| if i < first_measured { (false, false) } else { signals(b, unloaded_ms) })
                .collect()
        })
        .collect();
    let unhealthy: Vec<Vec<bool>> =
        per_bucket.iter().map(|v| v.iter().map(|&(failing, slow)| failing || slow).collect()).collect();
    let overlaps = |a: usize, b: usize| unhealthy[a].iter().zip(&unhealthy[b]).any(|(x, y)| *x && *y);
    let mut causes: Vec<Option<HealthCause>> = vec![None; sc.services.len()];
    let mut via: Vec<Vec<usize>> = vec![Vec::new(); sc.services.len()];
    let mut impaired = vec![false; sc.services.len()];
    for s in 0..sc.services.len() {
        let Some(last) = unhealthy[s].iter().rposition(|&u| u) else { continue };
        // A service whose instances come and go has those taking traffic in the bucket.
        let vary = sc.instances_vary(s);
        let instances = |b: &ServiceBucket| if vary { b.value(&REPLICAS) } else { f64::from(sc.services[s].instances) };
        impaired[s] = result.services[s]
            .buckets
            .iter()
            .zip(&unhealthy[s])
            .any(|(b, &u)| u && (b.utilization >= IMPAIRED_UTILIZATION || b.queue >= instances(b)));
        let last_end_s = (last + 1) as f64 * bucket_s;
        let faulted = sc.faults.iter().any(|f| f.target.service() == s && f.at.as_secs_f64() < last_end_s);
        via[s] = graph.callees[s].iter().copied().filter(|&c| c != s && overlaps(s, c)).collect();
        causes[s] = Some(if faulted {
            HealthCause::Fault
        } else if !via[s].is_empty() {
            HealthCause::Dependency
        } else {
            HealthCause::Overload
        });
    }
    // Origins: follow `via` from every spreading dependency down to root causes.
    let spread = |s: usize| causes[s] == Some(HealthCause::Dependency) && impaired[s];
    let mut origin = vec![false; sc.services.len()];
    for s in (0..sc.services.len()).filter(|&s| spread(s)) {
        let mut stack = vec![s];
        let mut seen = vec![false; sc.services.len()];
        while let Some(x) = stack.pop() {
            if std::mem::replace(&mut seen[x], true) {
                continue;
            }
            match causes[x] {
                Some(c) if c.is_root() => origin[x] = true,
                Some(_) => stack.extend(&via[x]),
                None => {}
            }
        }
    }
    let names: Vec<String> = result.services.iter().map(|s| s.name.clone()).collect();
    for (s, svc) in result.services.iter_mut().enumerate() {
        let buckets = &unhealthy[s];
        let first = buckets.iter().position(|&u| u);
        let mut kinds = Vec::new();
        if per_bucket[s].iter().any(|b| b.0) {
            kinds.push("failing");
        }
        if per_bucket[s].iter().any(|b| b.1) {
            kinds.push("slow");
        }
        svc.health = Health {
            state: if first.is_some() { HealthState::Unhealthy } else { HealthState::Healthy },
            cause: causes[s],
            via: via[s].iter().map(|&c| names[c].clone()).collect(),
            impaired: impaired[s],
            signals: kinds,
            first_unhealthy_s: first.map(|i| i as f64 * bucket_s),
            unhealthy_s: buckets.iter().filter(|&&u| u).count() as f64 * bucket_s,
            buckets: buckets.clone(),
        };
    }
    let named = |keep: &dyn Fn(usize) -> bool| -> Vec<String> {
        (0..sc.services.len()).filter(|&s| keep(s)).map(|s| names[s].clone()).collect()
    };
    let blast_radius = named(&spread);
    result.cascade = Cascade {
        cascade: !blast_radius.is_empty(),
        origin: named(&|s| origin[s]),
        blast_radius,
        relayed: named(&|s| causes[s] == Some(HealthCause::Dependency) && !impaired[s]),
    };
}

/// (failing, slow) for one bucket of one service (see the module docs).
fn signals(b: &ServiceBucket, unloaded_ms: f64) -> (bool, bool) {
    let heard_ok = b.ok - b.late_ok.min(b.ok);
    let heard = heard_ok + b.failed + b.timeouts;
    let failing = heard >= MIN_BUCKET_OUTCOMES && (heard_ok as f64) < MIN_OK_SHARE * heard as f64;
    let completions = b.ok + b.failed;
    let slow = completions >= MIN_BUCKET_OUTCOMES
        && b.sojourn_ms_mean.is_some_and(|m| m > SLOW_FACTOR * unloaded_ms && m > unloaded_ms + SLOW_MIN_EXTRA_MS);
    (failing, slow)
}

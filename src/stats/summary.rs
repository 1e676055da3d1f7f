//! The result of one run: figures per load and per service, and their time series.
//!
//! These structs are what reports and charts take; they never see the simulator.
//! Serialization order is fixed (struct field order, loads and services in file
//! order), so the JSON written from them is byte-identical for the same run.

use crate::model::counters::{Counts, ReportedSeries, SERIES, SeriesDef, series_index};
use crate::model::{OutcomeCounts, OverlaySource};
use crate::stats::health::{Cascade, Health};
use hdrhistogram::Histogram;
use serde::{Serialize, Serializer, ser::SerializeMap};

/// The version of the JSON outputs' format: the first field, `format_version`, of
/// `summary.json`, `sweep.json`, `vary.json` and `compare.json`, and the `const` of that
/// field in `schemas/`. Raised whenever a field is added, removed, renamed, retyped or
/// changes meaning: the schemas forbid fields they do not describe, so a reader can check
/// this number and know which schemas the file follows (docs/outputs.md).
pub const FORMAT_VERSION: u32 = 1;

/// Serializes as [`FORMAT_VERSION`]. The first field of every JSON output is of this
/// type, so no constructor can write another number.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct FormatVersion;

impl Serialize for FormatVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(FORMAT_VERSION)
    }
}

/// Everything one run of one scenario at one seed measured.
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    /// Always [`FORMAT_VERSION`].
    pub format_version: FormatVersion,
    pub seed: u64,
    pub stormcast_version: String,
    pub scenario: String,
    pub scenario_hash: String,
    /// `--change` files and `--set` options over the base, in order (empty without).
    pub overlays: Vec<OverlaySource>,
    pub simulated_s: f64,
    pub warmup_s: f64,
    pub bucket_s: f64,
    /// Events the engine processed.
    pub events: u64,
    #[serde(serialize_with = "by_name")]
    pub loads: Vec<LoadResult>,
    #[serde(serialize_with = "by_name")]
    pub services: Vec<ServiceResult>,
    /// Fault and load-spike windows, for recovery and for shading charts.
    pub disturbances: Vec<DisturbanceWindow>,
    /// Whether unhealthiness spread from one service to another (`stats::health`).
    pub cascade: Cascade,
    /// `null` for a run that reached its end; else where and why it was stopped
    /// (`sim::simulate_bounded`): its figures cover only the time before that.
    pub stopped: Option<Stopped>,
    /// `stormcast rollout` only (absent otherwise): how the rollout went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<crate::rollout::summary::RolloutSummary>,
    /// The per-bucket series this run reports (`model::counters::ReportedSeries`).
    #[serde(skip)]
    pub series: ReportedSeries,
}

/// A run stopped before its end.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stopped {
    /// Events handled when it stopped.
    pub events: u64,
    /// Simulated seconds reached.
    pub at_s: f64,
    pub reason: &'static str,
}

/// A named entry of a JSON object whose keys are names.
pub trait Named {
    fn name(&self) -> &str;
}

/// Serializes a list of named items as a JSON object keyed by name, in list order
/// (loads and services in file order), for `#[serde(serialize_with = "by_name")]`.
pub fn by_name<T: Named + Serialize, S: Serializer>(items: &[T], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(items.len()))?;
    for item in items {
        map.serialize_entry(item.name(), item)?;
    }
    map.end()
}

#[derive(Clone, Debug, Serialize)]
pub struct LoadResult {
    #[serde(skip)]
    pub name: String,
    /// Requests started after warmup (first tries).
    pub requests: u64,
    pub ok: u64,
    /// ok / requests; requests still in flight when the run ends count as not ok.
    pub success_rate: f64,
    /// Requests started after warmup that had not ended when the run ended.
    pub in_flight: u64,
    pub outcomes: OutcomeCounts,
    /// Over requests that ended `ok`, from the first try to the final outcome.
    pub latency_ms: LatencySummary,
    pub slo_violated: bool,
    /// Seconds after the last disturbance until goodput is back; `None` (null) if never.
    pub recovery_s: Option<f64>,
    /// Attempts the load's clients sent (first tries and retries), after warmup.
    pub attempts: u64,
    /// Attempts per request: 1.0 without retries.
    pub amplification: f64,
    #[serde(skip)]
    pub buckets: Vec<LoadBucket>,
    /// Latency of `ok` requests after warmup, in microseconds (mergeable across seeds).
    #[serde(skip)]
    pub histogram: Histogram<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// One time bucket of a load. Requests are counted in the bucket where they started
/// (`arrivals`) or ended (`ok`, `failed`, latency).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LoadBucket {
    pub arrivals: u64,
    pub ok: u64,
    pub failed: u64,
    /// p99 latency of the requests that ended ok in this bucket; `None` if there were none.
    pub latency_ms_p99: Option<f64>,
    /// Retries the load's clients sent in this bucket.
    pub retries: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ServiceResult {
    #[serde(skip)]
    pub name: String,
    /// Attempts that reached the service (retries included), after warmup.
    pub arrivals: u64,
    pub ok: u64,
    /// Ended `error`: injected, or a failed non-optional call.
    pub errors: u64,
    /// Refused because the queue was full.
    pub rejected: u64,
    /// Refused by the per-instance rate limit.
    pub throttled: u64,
    /// Arrived at a crashed instance, or lost in one.
    pub unavailable: u64,
    /// Busy worker-time over total worker-time.
    pub utilization: f64,
    /// Largest number of requests waiting in one instance's queue.
    pub queue_max: u64,
    /// Arrival at an instance to the response leaving it.
    pub sojourn_ms: SojournSummary,
    /// The registered counters (`model::counters`: `retries_sent`, `breaker_opens`...),
    /// as fields of their own.
    #[serde(flatten)]
    pub counters: Counts,
    /// Worker-seconds spent on requests whose caller had already given up.
    pub wasted_work_s: f64,
    /// Queued requests skipped because their caller had given up (deadline propagation).
    pub skipped: u64,
    /// Requests that arrived after warmup and were still queued or being served at the
    /// end: `arrivals` = completions + `skipped` + `in_flight`.
    pub in_flight: u64,
    /// A fault targets this service (or an endpoint of it, or an edge into it).
    pub faulted: bool,
    /// Healthy or not, and why (judged by `stats::health` from the buckets).
    pub health: Health,
    /// What its autoscaler did (an autoscaled service only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingSummary>,
    #[serde(skip)]
    pub buckets: Vec<ServiceBucket>,
    /// Sojourn of requests served after warmup, in microseconds.
    #[serde(skip)]
    pub histogram: Histogram<u64>,
}

/// What a service's autoscaler did over the whole run (warmup included).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AutoscalingSummary {
    /// Syncs that asked for more replicas.
    pub scale_ups: u64,
    /// Syncs that asked for fewer.
    pub scale_downs: u64,
    /// When the first replica an autoscaler added took traffic, s; `null` if none did.
    pub first_ready_s: Option<f64>,
    /// Most replicas taking traffic at once.
    pub replicas_max: u32,
    /// Replicas taking traffic at the end.
    pub replicas_end: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SojournSummary {
    pub mean: f64,
    pub p99: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ServiceBucket {
    pub arrivals: u64,
    pub ok: u64,
    pub failed: u64,
    /// p99 sojourn of requests that left in this bucket.
    pub latency_ms_p99: Option<f64>,
    /// Time-averaged number of queued requests (all instances).
    pub queue: f64,
    pub queue_max: u64,
    pub utilization: f64,
    /// One value per registered series (`model::counters::series`: `retries`,
    /// `breakers_open`...), in its order.
    pub series: [f64; SERIES],
    /// Attempts to this service that their caller gave up on (a per-try timeout or the
    /// deadline) in this bucket: failures as the callers saw them.
    pub timeouts: u64,
    /// Answers counted in `ok` whose caller had already given up (nobody heard them).
    pub late_ok: u64,
    /// Mean sojourn of the requests that left in this bucket; `None` if none left.
    pub sojourn_ms_mean: Option<f64>,
}

impl ServiceBucket {
    /// This bucket's value of a registered series (`model::counters::series`).
    pub fn value(&self, def: &SeriesDef) -> f64 {
        self.series[series_index(def)]
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DisturbanceKind {
    Fault,
    Spike,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DisturbanceWindow {
    pub kind: DisturbanceKind,
    /// e.g. `"latency on payment"` or `"shoppers x3"`.
    pub label: String,
    pub start_s: f64,
    pub end_s: f64,
}

impl Named for LoadResult {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for ServiceResult {
    fn name(&self) -> &str {
        &self.name
    }
}

impl RunResult {
    /// The start of bucket `i`, in seconds.
    pub fn bucket_start_s(&self, i: usize) -> f64 {
        i as f64 * self.bucket_s
    }

    pub fn bucket_count(&self) -> usize {
        self.loads
            .first()
            .map(|l| l.buckets.len())
            .or_else(|| self.services.first().map(|s| s.buckets.len()))
            .unwrap_or(0)
    }
}

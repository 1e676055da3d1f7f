//! Many seeds of one scenario in parallel, reduced in seed order to risks with 95%
//! Wilson intervals, across-seed distributions and per-bucket bands (`sweep.json`);
//! and the same over a list of scenario variants (`--vary`, capacity planning).
//!
//! Determinism: seeds run in parallel (rayon), but every per-seed record is collected
//! in seed order and folded into the accumulators sequentially, so the result is
//! byte-identical for any number of threads. Nothing here sums floats in parallel.
//!
//! Memory is bounded by the seeds in flight, not by the sweep: seeds run in chunks of
//! [`CHUNK_PER_THREAD`] x threads; each worker reduces its seed's [`RunResult`] to a
//! compact record at once (the full result, with its per-service histograms and
//! per-bucket rows, is dropped in the worker), and a chunk's records are folded and
//! dropped before the next chunk starts. What grows with the number of seeds is small:
//! one row of key figures per seed (`runs`), a few floats per seed and service, and the
//! per-bucket values behind the fan chart's bands, which are capped at
//! [`BAND_SEEDS_MAX`] seeds (see [`LoadBands`]).

use hdrhistogram::Histogram;
use rayon::prelude::*;
use serde::Serialize;

use crate::model::graph::{reachable, services_of};
use crate::model::{EndpointRef, OverlaySource, Scenario};
use crate::sim::simulate_bounded;
use crate::stats::health::{Health, HealthCause};
use crate::stats::risk::{Distribution, Proportion, quantile_sorted, wilson};
use crate::stats::summary::Stopped;
use crate::stats::summary::{FormatVersion, Named, by_name};
use crate::stats::{DisturbanceWindow, RunResult};

/// Seeds per thread in one chunk: enough to keep every thread busy while a slow seed
/// finishes, few enough that the records in flight stay small.
pub const CHUNK_PER_THREAD: usize = 4;

/// The fan chart's per-bucket bands use at most this many seeds (the first ones, in
/// seed order). With 1000 seeds the 5% and 95% quantiles rest on 50 seeds each side,
/// and the storage is at most 1000 x buckets x loads x 8 bytes (24 MB for 600 buckets
/// and 5 loads); beyond that more seeds would cost memory without changing the picture.
pub const BAND_SEEDS_MAX: u64 = 1000;

/// How to run a sweep.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// How many seeds to run.
    pub seeds: u64,
    /// Seeds are `first_seed, first_seed + 1, ..., first_seed + seeds - 1`.
    pub first_seed: u64,
    /// Threads; `None` uses rayon's global pool.
    pub jobs: Option<usize>,
    /// The command that replays a seed, without `--seed N`; `None` gives
    /// `stormcast run SCENARIO` with the scenario's source path. The CLI passes its own
    /// when the sweep had `--change` or `--set` options, so the replay includes them.
    pub replay_prefix: Option<String>,
    /// Stop a seed's run after this many events (`sim::simulate_bounded`); stopped
    /// seeds are listed in `SweepResult::stopped`. `None`: no limit.
    pub max_events: Option<u64>,
}

impl SweepOptions {
    pub fn new(seeds: u64, first_seed: u64) -> Self {
        SweepOptions { seeds, first_seed, jobs: None, replay_prefix: None, max_events: None }
    }
}

/// What a sweep found: `sweep.json` (spec section 6) and the input of the sweep charts.
///
/// Loads and services appear in file order; serialization order is the field order.
#[derive(Clone, Debug, Serialize)]
pub struct SweepResult {
    /// Always [`FORMAT_VERSION`](crate::stats::summary::FORMAT_VERSION).
    pub format_version: FormatVersion,
    pub seeds: u64,
    pub first_seed: u64,
    pub scenario: String,
    pub scenario_hash: String,
    /// `--change` files and `--set` options over the base, in order (empty without).
    pub overlays: Vec<OverlaySource>,
    pub stormcast_version: String,
    pub simulated_s: f64,
    pub warmup_s: f64,
    pub bucket_s: f64,
    /// Per load: the risks across seeds, each with its 95% Wilson interval.
    #[serde(serialize_with = "by_name")]
    pub risks: Vec<LoadRisks>,
    /// Per load: distributions of per-seed figures, and latency merged over all seeds.
    #[serde(serialize_with = "by_name")]
    pub loads: Vec<LoadSweep>,
    #[serde(serialize_with = "by_name")]
    pub services: Vec<ServiceSweep>,
    /// Per seed, the number of services unhealthy because of another service and
    /// impaired (the run's cascade blast radius, see `stats::health`); 0 without cascade.
    pub blast_radius: Option<Distribution>,
    /// Seeds worth a closer look, each with the command that replays it.
    pub replay: Vec<Replay>,
    /// Seeds whose run was stopped before its end (`SweepOptions::max_events`, or time
    /// standing still), with why: their figures are partial. Empty in a usable sweep.
    pub stopped: Vec<StoppedSeed>,
    /// Every seed's key figures, in seed order.
    pub runs: Vec<SeedRun>,
    /// Fault and load-spike windows (the same in every seed: they come from the scenario).
    pub disturbances: Vec<DisturbanceWindow>,
    /// Per load and bucket: the spread across seeds of goodput and p99 (the fan chart).
    #[serde(serialize_with = "by_name")]
    pub bands: Vec<LoadBands>,
}

/// The three risks of one load.
#[derive(Clone, Debug, Serialize)]
pub struct LoadRisks {
    #[serde(skip)]
    pub name: String,
    /// Share of seeds in which the load's SLO was violated.
    pub slo_risk: Proportion,
    /// Share of seeds in which the load never recovered (`recovery_s` null).
    pub metastable_risk: Proportion,
    /// Share of seeds with a cascade: some service unhealthy because of another (see
    /// `stats::health`), anywhere: a property of the run, so the same for every load.
    pub cascade_risk: Proportion,
    /// As `cascade_risk`, counting only cascades whose blast radius includes a service
    /// on this load's call path (its target's service and every service reachable
    /// through calls from it). A cascade elsewhere in the system does not touch it.
    pub path_cascade_risk: Proportion,
}

/// A risk, by kind (for [`tipping_point`] and the charts).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskKind {
    Slo,
    Metastable,
    Cascade,
}

impl RiskKind {
    pub const ALL: [RiskKind; 3] = [RiskKind::Slo, RiskKind::Metastable, RiskKind::Cascade];

    /// The key in `sweep.json`, e.g. `"slo_risk"`.
    pub fn key(self) -> &'static str {
        match self {
            RiskKind::Slo => "slo_risk",
            RiskKind::Metastable => "metastable_risk",
            RiskKind::Cascade => "cascade_risk",
        }
    }

    /// A short label for charts.
    pub fn label(self) -> &'static str {
        match self {
            RiskKind::Slo => "SLO violated",
            RiskKind::Metastable => "never recovered",
            RiskKind::Cascade => "cascade",
        }
    }
}

impl LoadRisks {
    pub fn get(&self, kind: RiskKind) -> Proportion {
        match kind {
            RiskKind::Slo => self.slo_risk,
            RiskKind::Metastable => self.metastable_risk,
            RiskKind::Cascade => self.cascade_risk,
        }
    }
}

/// Across-seed figures of one load.
#[derive(Clone, Debug, Serialize)]
pub struct LoadSweep {
    #[serde(skip)]
    pub name: String,
    /// Whether the load has an SLO at all; without one `slo_risk` is 0 by definition.
    pub slo_defined: bool,
    /// Seeds whose load recovered (`recovery_s` not null).
    pub recovered_seeds: u64,
    /// Each seed's p99 of `ok` requests, over the seeds that had any: the spread of p99.
    pub p99_ms: Option<Distribution>,
    pub success_rate: Option<Distribution>,
    /// Over the seeds that recovered only; `never` seeds are counted by `metastable_risk`.
    pub recovery_s: Option<Distribution>,
    /// Attempts per request (1 without retries).
    pub amplification: Option<Distribution>,
    /// Latency of every `ok` request of every seed, from the merged histograms.
    pub latency_ms: Option<MergedLatency>,
}

/// Quantiles of the latency histograms of all seeds added together, in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MergedLatency {
    pub requests: u64,
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// Across-seed figures of one service.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceSweep {
    #[serde(skip)]
    pub name: String,
    /// A fault targets it (a property of the scenario).
    pub faulted: bool,
    /// Attempts that reached the service per request of the loads whose call path
    /// includes it (first tries after warmup): 1 without retries or fan-out, 3 if every
    /// request reaches it with three attempts. Over seeds in which such a load sent any.
    pub amplification: Option<Distribution>,
    /// Share of seeds in which it became unhealthy, with its 95% Wilson interval.
    pub unhealthy: Proportion,
    /// Seeds in which it was unhealthy, by cause (`fault`, `overload`, `dependency`).
    pub causes: CauseCounts,
    /// Share of seeds in which it was the origin of a cascade.
    pub origin: Proportion,
    /// Share of seeds in which it was in a cascade's blast radius (unhealthy because of
    /// another service, and impaired).
    pub in_blast_radius: Proportion,
    pub utilization: Option<Distribution>,
}

/// A seed and load worth replaying, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Replay {
    pub seed: u64,
    pub load: String,
    /// Any of `"slo_violated"`, `"never_recovered"`, `"cascade"` (the run's cascade).
    pub why: Vec<&'static str>,
    pub command: String,
}

/// One seed's key figures.
#[derive(Clone, Debug, Serialize)]
pub struct SeedRun {
    pub seed: u64,
    #[serde(serialize_with = "by_name")]
    pub loads: Vec<SeedLoad>,
    /// Some service was unhealthy because of another and impaired (`stats::health`).
    pub cascade: bool,
    /// Services that became unhealthy, in file order (whatever the cause).
    pub unhealthy: Vec<String>,
    /// The cascade's origin and blast radius (empty without a cascade).
    pub origin: Vec<String>,
    pub blast_radius: Vec<String>,
}

/// A seed whose run was stopped early.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoppedSeed {
    pub seed: u64,
    #[serde(flatten)]
    pub stopped: Stopped,
}

/// Seeds in which a service was unhealthy, by cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CauseCounts {
    pub fault: u64,
    pub overload: u64,
    pub dependency: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SeedLoad {
    #[serde(skip)]
    pub name: String,
    pub requests: u64,
    pub success_rate: f64,
    /// `null` if no request ended ok.
    pub p99_ms: Option<f64>,
    pub recovery_s: Option<f64>,
    pub slo_violated: bool,
    pub amplification: f64,
    /// The run's cascade reached a service on this load's call path.
    pub path_cascade: bool,
}

/// Per-bucket spread across seeds of one load, for the fan chart.
///
/// Each vector has one entry per bucket; quantiles are Hyndman-Fan type 7 over the
/// first `seeds` seeds (at most [`BAND_SEEDS_MAX`]). Storing one goodput count (u32)
/// and one p99 (f32) per seed, bucket and load is exact and simple; a bounded sketch
/// per bucket would save memory only beyond the cap, where the bands stop changing.
#[derive(Clone, Debug, Serialize)]
pub struct LoadBands {
    #[serde(skip)]
    pub name: String,
    /// How many seeds the bands summarise.
    pub seeds: u64,
    /// Start of each bucket, in seconds.
    pub time_s: Vec<f64>,
    /// Goodput (ok/s) per bucket.
    pub goodput: Band,
    /// p99 of the requests that ended ok in the bucket, in ms, over the seeds that had
    /// any; `null` where no seed had one.
    pub p99_ms: Band,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Band {
    pub p5: Vec<Option<f64>>,
    pub median: Vec<Option<f64>>,
    pub p95: Vec<Option<f64>>,
}

impl Named for LoadRisks {
    fn name(&self) -> &str {
        &self.name
    }
}
impl Named for LoadSweep {
    fn name(&self) -> &str {
        &self.name
    }
}
impl Named for ServiceSweep {
    fn name(&self) -> &str {
        &self.name
    }
}
impl Named for SeedLoad {
    fn name(&self) -> &str {
        &self.name
    }
}
impl Named for LoadBands {
    fn name(&self) -> &str {
        &self.name
    }
}

impl SweepResult {
    /// The risks of the load called `name`.
    pub fn risks_of(&self, name: &str) -> Option<&LoadRisks> {
        self.risks.iter().find(|r| r.name == name)
    }
}

// ---------------------------------------------------------------------------------
// Running.

/// Runs seeds `first_seed .. first_seed + seeds` of `scenario` in parallel and reduces
/// them, in seed order, to a [`SweepResult`]. `progress` is called once per finished
/// seed, from the worker thread that ran it.
///
/// With `jobs`, the seeds run on a pool of that many threads made for this sweep;
/// otherwise on rayon's global pool. The result does not depend on the thread count.
pub fn run_sweep(scenario: &Scenario, opts: &SweepOptions, progress: &(dyn Fn() + Sync)) -> SweepResult {
    sweep_observed(scenario, opts, progress, &|_| {})
}

/// [`run_sweep`], telling `observe_chunk` how many per-seed records are held at once
/// before each fold (so a test can check the memory bound).
pub(crate) fn sweep_observed(
    scenario: &Scenario,
    opts: &SweepOptions,
    progress: &(dyn Fn() + Sync),
    observe_chunk: &(dyn Fn(usize) + Sync),
) -> SweepResult {
    let body = || sweep_in_current_pool(scenario, opts, progress, observe_chunk);
    match opts.jobs {
        Some(jobs) => match rayon::ThreadPoolBuilder::new().num_threads(jobs.max(1)).build() {
            Ok(pool) => pool.install(body),
            // Threads could not be made: run on the global pool; the result is the same.
            Err(_) => body(),
        },
        None => body(),
    }
}

fn sweep_in_current_pool(
    scenario: &Scenario,
    opts: &SweepOptions,
    progress: &(dyn Fn() + Sync),
    observe_chunk: &(dyn Fn(usize) + Sync),
) -> SweepResult {
    let context = Context::new(scenario);
    let chunk = (rayon::current_num_threads().max(1) * CHUNK_PER_THREAD) as u64;
    let mut acc = Accumulator::new(scenario);
    let mut done = 0u64;
    while done < opts.seeds {
        let len = chunk.min(opts.seeds - done);
        let records: Vec<SeedRecord> = (0..len as usize)
            .into_par_iter()
            .map(|i| {
                let index = done + i as u64;
                let seed = opts.first_seed.wrapping_add(index);
                let run = simulate_bounded(scenario, seed, opts.max_events.unwrap_or(u64::MAX));
                let record = SeedRecord::new(run, &context, index < BAND_SEEDS_MAX);
                progress();
                record
            })
            .collect();
        observe_chunk(records.len());
        for record in records {
            acc.fold(record);
        }
        done += len;
    }
    acc.finish(scenario, opts)
}

/// What every seed's reduction needs to know about the scenario.
struct Context {
    /// Per load: which services are on its call path.
    paths: Vec<Vec<bool>>,
}

impl Context {
    fn new(scenario: &Scenario) -> Self {
        Context { paths: scenario.loads.iter().map(|l| services_on_path(scenario, l.target)).collect() }
    }
}

/// The services a request to `target` can reach: its own and every callee's, transitively.
fn services_on_path(scenario: &Scenario, target: EndpointRef) -> Vec<bool> {
    services_of(&reachable(scenario, [target]))
}

/// One seed, reduced: its row of `runs`, plus what the aggregates need from it.
struct SeedRecord {
    run: SeedRun,
    stopped: Option<Stopped>,
    /// Per load: latency of ok requests (to merge across seeds).
    histograms: Vec<Histogram<u64>>,
    /// Per load, per bucket: ok count and p99 (NaN if none); empty past the band cap.
    band_ok: Vec<Vec<u32>>,
    band_p99: Vec<Vec<f32>>,
    /// Per service.
    service_amplification: Vec<f64>,
    service_health: Vec<Health>,
    /// Per service: an origin of this run's cascade.
    service_origin: Vec<bool>,
    service_utilization: Vec<f64>,
    bucket_count: usize,
}

impl SeedRecord {
    /// Takes the full result by value so that it is dropped here, in the worker.
    fn new(mut result: RunResult, context: &Context, keep_bands: bool) -> Self {
        let bucket_count = result.bucket_count();
        let cascade_on = |on: &dyn Fn(usize) -> bool| {
            result.services.iter().enumerate().any(|(s, svc)| on(s) && result.cascade.blast_radius.contains(&svc.name))
        };
        let loads: Vec<SeedLoad> = result
            .loads
            .iter()
            .enumerate()
            .map(|(l, load)| SeedLoad {
                name: load.name.clone(),
                requests: load.requests,
                success_rate: load.success_rate,
                p99_ms: (load.ok > 0).then_some(load.latency_ms.p99),
                recovery_s: load.recovery_s,
                slo_violated: load.slo_violated,
                amplification: load.amplification,
                path_cascade: cascade_on(&|s| context.paths.get(l).is_some_and(|p| p[s])),
            })
            .collect();
        // A service's amplification counts only the requests of loads that can reach it.
        let requests_reaching = |s: usize| -> u64 {
            result
                .loads
                .iter()
                .enumerate()
                .filter(|(l, _)| context.paths.get(*l).is_some_and(|p| p[s]))
                .map(|(_, l)| l.requests)
                .sum()
        };
        let (band_ok, band_p99) = if keep_bands {
            result
                .loads
                .iter()
                .map(|l| {
                    let ok = l.buckets.iter().map(|b| u32::try_from(b.ok).unwrap_or(u32::MAX)).collect();
                    let p99 = l.buckets.iter().map(|b| b.latency_ms_p99.map_or(f32::NAN, |v| v as f32)).collect();
                    (ok, p99)
                })
                .unzip()
        } else {
            (Vec::new(), Vec::new())
        };
        let stopped = result.stopped.take();
        let run = SeedRun {
            seed: result.seed,
            loads,
            cascade: result.cascade.cascade,
            unhealthy: result.services.iter().filter(|s| s.health.is_unhealthy()).map(|s| s.name.clone()).collect(),
            origin: result.cascade.origin.clone(),
            blast_radius: result.cascade.blast_radius.clone(),
        };
        let service_amplification = result
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| match requests_reaching(i) {
                0 => f64::NAN,
                requests => s.arrivals as f64 / requests as f64,
            })
            .collect();
        let service_origin = result.services.iter().map(|s| result.cascade.origin.contains(&s.name)).collect();
        let service_health = result
            .services
            .iter_mut()
            .map(|s| Health { buckets: Vec::new(), ..std::mem::take(&mut s.health) })
            .collect();
        let service_utilization = result.services.iter().map(|s| s.utilization).collect();
        let histograms = result.loads.into_iter().map(|l| l.histogram).collect();
        SeedRecord {
            run,
            stopped,
            histograms,
            band_ok,
            band_p99,
            service_amplification,
            service_health,
            service_origin,
            service_utilization,
            bucket_count,
        }
    }
}

/// Folds seed records, in seed order.
struct Accumulator {
    runs: Vec<SeedRun>,
    histograms: Vec<Histogram<u64>>,
    /// [load][bucket] -> one value per seed (up to the band cap).
    band_ok: Vec<Vec<Vec<u32>>>,
    band_p99: Vec<Vec<Vec<f32>>>,
    band_seeds: u64,
    bucket_count: usize,
    /// [service] -> one value per seed.
    service_amplification: Vec<Vec<f64>>,
    stopped: Vec<StoppedSeed>,
    service_unhealthy: Vec<u64>,
    service_causes: Vec<CauseCounts>,
    service_origin: Vec<u64>,
    service_in_blast_radius: Vec<u64>,
    service_utilization: Vec<Vec<f64>>,
}

impl Accumulator {
    fn new(scenario: &Scenario) -> Self {
        let loads = scenario.loads.len();
        let services = scenario.services.len();
        Accumulator {
            runs: Vec::new(),
            histograms: (0..loads).map(|_| Histogram::new(3).expect("3 significant digits is valid")).collect(),
            band_ok: vec![Vec::new(); loads],
            band_p99: vec![Vec::new(); loads],
            band_seeds: 0,
            bucket_count: 0,
            service_amplification: vec![Vec::new(); services],
            stopped: Vec::new(),
            service_unhealthy: vec![0; services],
            service_causes: vec![CauseCounts::default(); services],
            service_origin: vec![0; services],
            service_in_blast_radius: vec![0; services],
            service_utilization: vec![Vec::new(); services],
        }
    }

    fn fold(&mut self, record: SeedRecord) {
        for (merged, h) in self.histograms.iter_mut().zip(&record.histograms) {
            merged.add(h).expect("an auto-resizing histogram takes any other");
        }
        if self.runs.is_empty() {
            self.bucket_count = record.bucket_count;
            for l in 0..self.band_ok.len() {
                self.band_ok[l] = vec![Vec::new(); record.bucket_count];
                self.band_p99[l] = vec![Vec::new(); record.bucket_count];
            }
        }
        if !record.band_ok.is_empty() {
            self.band_seeds += 1;
            for (l, (ok, p99)) in record.band_ok.iter().zip(&record.band_p99).enumerate() {
                for (b, (&ok, &p99)) in ok.iter().zip(p99).enumerate().take(self.bucket_count) {
                    self.band_ok[l][b].push(ok);
                    self.band_p99[l][b].push(p99);
                }
            }
        }
        for s in 0..self.service_unhealthy.len() {
            self.service_amplification[s].push(record.service_amplification[s]);
            self.service_utilization[s].push(record.service_utilization[s]);
            let health = &record.service_health[s];
            self.service_unhealthy[s] += u64::from(health.is_unhealthy());
            let causes = &mut self.service_causes[s];
            match health.cause {
                Some(HealthCause::Fault) => causes.fault += 1,
                Some(HealthCause::Overload) => causes.overload += 1,
                Some(HealthCause::Dependency) => causes.dependency += 1,
                None => {}
            }
            self.service_origin[s] += u64::from(record.service_origin[s]);
            self.service_in_blast_radius[s] +=
                u64::from(health.cause == Some(HealthCause::Dependency) && health.impaired);
        }
        if let Some(stopped) = record.stopped {
            self.stopped.push(StoppedSeed { seed: record.run.seed, stopped });
        }
        self.runs.push(record.run);
    }

    fn finish(self, scenario: &Scenario, opts: &SweepOptions) -> SweepResult {
        let n = self.runs.len() as u64;
        let count = |f: &dyn Fn(&SeedRun) -> bool| self.runs.iter().filter(|r| f(r)).count() as u64;
        let cascades = count(&|r| r.cascade);
        let mut risks = Vec::new();
        let mut loads = Vec::new();
        for (l, load) in scenario.loads.iter().enumerate() {
            let figures = |f: &dyn Fn(&SeedLoad) -> Option<f64>| -> Vec<f64> {
                self.runs.iter().filter_map(|r| f(&r.loads[l])).collect()
            };
            risks.push(LoadRisks {
                name: load.name.clone(),
                slo_risk: wilson(count(&|r| r.loads[l].slo_violated), n),
                metastable_risk: wilson(count(&|r| r.loads[l].recovery_s.is_none()), n),
                cascade_risk: wilson(cascades, n),
                path_cascade_risk: wilson(count(&|r| r.loads[l].path_cascade), n),
            });
            let recovered = figures(&|s| s.recovery_s);
            let h = &self.histograms[l];
            loads.push(LoadSweep {
                name: load.name.clone(),
                slo_defined: load.slo.as_ref().is_some_and(|s| s.p99.is_some() || s.success_rate.is_some()),
                recovered_seeds: recovered.len() as u64,
                p99_ms: Distribution::of(&figures(&|s| s.p99_ms)),
                success_rate: Distribution::of(&figures(&|s| Some(s.success_rate))),
                recovery_s: Distribution::of(&recovered),
                amplification: Distribution::of(&figures(&|s| Some(s.amplification))),
                latency_ms: (!h.is_empty()).then(|| MergedLatency {
                    requests: h.len(),
                    p50: h.value_at_quantile(0.5) as f64 / 1e3,
                    p99: h.value_at_quantile(0.99) as f64 / 1e3,
                    p999: h.value_at_quantile(0.999) as f64 / 1e3,
                    max: h.max() as f64 / 1e3,
                }),
            });
        }
        let services = scenario
            .services
            .iter()
            .enumerate()
            .map(|(s, svc)| ServiceSweep {
                name: svc.name.clone(),
                faulted: scenario.faults.iter().any(|f| f.target.service() == s),
                amplification: Distribution::of(&self.service_amplification[s]),
                unhealthy: wilson(self.service_unhealthy[s], n),
                causes: self.service_causes[s],
                origin: wilson(self.service_origin[s], n),
                in_blast_radius: wilson(self.service_in_blast_radius[s], n),
                utilization: Distribution::of(&self.service_utilization[s]),
            })
            .collect();
        let blast: Vec<f64> = self.runs.iter().map(|r| r.blast_radius.len() as f64).collect();
        let prefix =
            opts.replay_prefix.clone().unwrap_or_else(|| format!("stormcast run {}", shell_quote(&scenario.source)));
        let mut replay = Vec::new();
        for run in &self.runs {
            for load in &run.loads {
                let mut why = Vec::new();
                if load.slo_violated {
                    why.push("slo_violated");
                }
                if load.recovery_s.is_none() {
                    why.push("never_recovered");
                }
                if run.cascade {
                    why.push("cascade");
                }
                if !why.is_empty() {
                    replay.push(Replay {
                        seed: run.seed,
                        load: load.name.clone(),
                        why,
                        command: format!("{prefix} --seed {}", run.seed),
                    });
                }
            }
        }
        let simulated_s = scenario.simulation.duration.as_secs_f64();
        let bucket_s = scenario.simulation.bucket.as_secs_f64();
        let bands = scenario
            .loads
            .iter()
            .enumerate()
            .map(|(l, load)| {
                let mut bands = LoadBands {
                    name: load.name.clone(),
                    seeds: self.band_seeds,
                    time_s: (0..self.bucket_count).map(|b| b as f64 * bucket_s).collect(),
                    goodput: Band::default(),
                    p99_ms: Band::default(),
                };
                for b in 0..self.bucket_count {
                    let start = b as f64 * bucket_s;
                    let end = (start + bucket_s).min(simulated_s);
                    let width = if end > start { end - start } else { bucket_s };
                    let ok: Vec<f64> = self.band_ok[l][b].iter().map(|&ok| f64::from(ok) / width).collect();
                    push_quantiles(&mut bands.goodput, ok);
                    let p99: Vec<f64> =
                        self.band_p99[l][b].iter().filter(|v| !v.is_nan()).map(|&v| f64::from(v)).collect();
                    push_quantiles(&mut bands.p99_ms, p99);
                }
                bands
            })
            .collect();
        SweepResult {
            format_version: FormatVersion,
            seeds: n,
            first_seed: opts.first_seed,
            scenario: scenario.source.clone(),
            scenario_hash: scenario.hash.clone(),
            overlays: scenario.overlays.clone(),
            stormcast_version: env!("CARGO_PKG_VERSION").to_string(),
            simulated_s,
            warmup_s: scenario.simulation.warmup.as_secs_f64(),
            bucket_s,
            risks,
            loads,
            services,
            blast_radius: Distribution::of(&blast),
            replay,
            stopped: self.stopped,
            runs: self.runs,
            disturbances: crate::stats::recovery::disturbances(scenario),
            bands,
        }
    }
}

fn push_quantiles(band: &mut Band, mut values: Vec<f64>) {
    values.sort_by(f64::total_cmp);
    let q = |q: f64| (!values.is_empty()).then(|| quantile_sorted(&values, q));
    band.p5.push(q(0.05));
    band.median.push(q(0.5));
    band.p95.push(q(0.95));
}

/// `s` as one shell word: unchanged if it is plainly safe, else in single quotes.
fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=+,@".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

// ---------------------------------------------------------------------------------
// Capacity planning: the same sweep over a list of scenario variants.

/// The risks of each scenario variant of a `--vary` sweep, in the order given.
#[derive(Clone, Debug, Serialize)]
pub struct VaryResult {
    /// Always [`FORMAT_VERSION`](crate::stats::summary::FORMAT_VERSION).
    pub format_version: FormatVersion,
    pub seeds: u64,
    pub first_seed: u64,
    pub stormcast_version: String,
    /// The varied keys, in the order they appear in the labels (one or two).
    pub keys: Vec<String>,
    pub points: Vec<VaryPoint>,
}

/// One variant: its label (e.g. `"services.api.instances=3"`, or two `key=value`
/// separated by a comma), the parsed parameters, and its risks per load.
#[derive(Clone, Debug, Serialize)]
pub struct VaryPoint {
    pub label: String,
    pub params: Vec<VaryParam>,
    pub scenario_hash: String,
    /// Every overlay of this point: the command's `--change`/`--set`, then its values.
    pub overlays: Vec<OverlaySource>,
    /// Seeds of this point whose run was stopped early (see `SweepResult::stopped`).
    pub stopped: Vec<StoppedSeed>,
    #[serde(serialize_with = "by_name")]
    pub risks: Vec<LoadRisks>,
    /// Median across seeds of each load's p99, for context; null if no request ended ok.
    pub p99_ms_median: Vec<Option<f64>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VaryParam {
    pub key: String,
    pub value: String,
}

impl VaryParam {
    /// The value as a number, if it is one.
    pub fn number(&self) -> Option<f64> {
        self.value.trim().parse::<f64>().ok().filter(|v| v.is_finite())
    }
}

/// Splits a label like `"services.api.instances=3, services.db.workers=8"` into its
/// parameters; a part without `=` is a value of the unnamed key `""`.
pub fn parse_vary_label(label: &str) -> Vec<VaryParam> {
    label
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, v)) => VaryParam { key: k.trim().to_string(), value: v.trim().to_string() },
            None => VaryParam { key: String::new(), value: part.to_string() },
        })
        .collect()
}

/// Sweeps each `(label, scenario)` point with the same seeds (common random numbers,
/// so the differences between points are not seed noise) and keeps its risks.
/// `progress` is called once per finished seed of every point.
pub fn run_vary(points: &[(String, Scenario)], opts: &SweepOptions, progress: &(dyn Fn() + Sync)) -> VaryResult {
    let mut keys: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (label, scenario) in points {
        let params = parse_vary_label(label);
        for p in &params {
            if !keys.contains(&p.key) {
                keys.push(p.key.clone());
            }
        }
        let sweep = run_sweep(scenario, opts, progress);
        out.push(VaryPoint {
            label: label.clone(),
            params,
            scenario_hash: sweep.scenario_hash,
            overlays: sweep.overlays,
            stopped: sweep.stopped,
            p99_ms_median: sweep.loads.iter().map(|l| l.p99_ms.as_ref().map(|d| d.median)).collect(),
            risks: sweep.risks,
        });
    }
    VaryResult {
        format_version: FormatVersion,
        seeds: opts.seeds,
        first_seed: opts.first_seed,
        stormcast_version: env!("CARGO_PKG_VERSION").to_string(),
        keys,
        points: out,
    }
}

/// The label of the first point, in the order given, at which `load`'s `kind` risk is
/// below `threshold` with 95% confidence: the upper end of its Wilson interval is
/// below the threshold. `None` if no point gets there (or the load does not exist).
///
/// Asking for the upper end, not the point estimate, keeps a handful of lucky seeds
/// from declaring a capacity safe: with 20 seeds and no failure, the upper end is still
/// 16%, so a 5% threshold needs at least 73 clean seeds.
pub fn tipping_point(result: &VaryResult, load: &str, kind: RiskKind, threshold: f64) -> Option<String> {
    result.points.iter().find_map(|point| {
        let risks = point.risks.iter().find(|r| r.name == load)?;
        (risks.get(kind).high < threshold).then(|| point.label.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimDuration;
    use crate::model::*;

    fn small_scenario() -> Scenario {
        let latency = Dist::constant(SimDuration::from_millis(5));
        Scenario {
            source: "scenarios/small one.toml".to_string(),
            hash: "0123456789abcdef".to_string(),
            overlays: Vec::new(),
            simulation: Simulation {
                duration: SimDuration::from_secs(6),
                warmup: SimDuration::from_secs(1),
                bucket: SimDuration::from_secs(1),
                seed: 1,
                network: None,
            },
            services: vec![Service {
                name: "api".to_string(),
                instances: 1,
                workers: 4,
                queue: Some(16),
                balancer: Balancer::RoundRobin,
                client: None,
                rate_limit: None,
                endpoints: vec![Endpoint { name: "work".to_string(), latency, error_rate: 0.0, steps: Vec::new() }],
            }],
            policies: Vec::new(),
            loads: vec![Load {
                name: "users".to_string(),
                target: EndpointRef { service: 0, endpoint: 0 },
                kind: LoadKind::Open { rate: 20.0, arrival: Arrival::Poisson, profile: Vec::new() },
                policy: None,
                slo: None,
            }],
            faults: Vec::new(),
            gates: Gates::default(),
            expect: Vec::new(),
        }
    }

    /// Memory is bounded by the chunk, not by the sweep: 200 seeds on 2 threads are
    /// folded in chunks of at most 8 records, and only compact records are collected
    /// (the type of `records` in `sweep_in_current_pool` is `Vec<SeedRecord>`, which
    /// holds no `RunResult`; the full result is moved into `SeedRecord::new` and
    /// dropped in the worker).
    #[test]
    fn sweep_folds_in_bounded_chunks() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let largest = AtomicUsize::new(0);
        let chunks = AtomicUsize::new(0);
        let finished = AtomicUsize::new(0);
        let opts = SweepOptions { jobs: Some(2), ..SweepOptions::new(200, 1) };
        let result = sweep_observed(
            &small_scenario(),
            &opts,
            &|| {
                finished.fetch_add(1, Ordering::Relaxed);
            },
            &|len| {
                largest.fetch_max(len, Ordering::Relaxed);
                chunks.fetch_add(1, Ordering::Relaxed);
            },
        );
        assert_eq!(finished.load(Ordering::Relaxed), 200);
        assert_eq!(largest.load(Ordering::Relaxed), 2 * CHUNK_PER_THREAD);
        assert_eq!(chunks.load(Ordering::Relaxed), 200 / (2 * CHUNK_PER_THREAD));
        assert_eq!(result.runs.len(), 200);
        let seeds: Vec<u64> = result.runs.iter().map(|r| r.seed).collect();
        assert_eq!(seeds, (1..=200).collect::<Vec<_>>(), "runs are in seed order");
    }

    #[test]
    fn replay_commands_quote_the_path() {
        assert_eq!(shell_quote("scenarios/x.toml"), "scenarios/x.toml");
        assert_eq!(shell_quote("my scenarios/x.toml"), "'my scenarios/x.toml'");
        assert_eq!(shell_quote("it's.toml"), r"'it'\''s.toml'");
    }

    #[test]
    fn vary_labels_parse() {
        assert_eq!(
            parse_vary_label("services.api.instances=3, services.db.workers=8"),
            vec![
                VaryParam { key: "services.api.instances".into(), value: "3".into() },
                VaryParam { key: "services.db.workers".into(), value: "8".into() },
            ]
        );
        assert_eq!(parse_vary_label("7"), vec![VaryParam { key: String::new(), value: "7".into() }]);
    }

    #[test]
    fn call_path_follows_calls() {
        let mut sc = small_scenario();
        let mut other = sc.services[0].clone();
        other.name = "db".into();
        let mut third = sc.services[0].clone();
        third.name = "unrelated".into();
        sc.services.push(other);
        sc.services.push(third);
        sc.services[0].endpoints[0].steps.push(Step::Call(CallSite {
            to: EndpointRef { service: 1, endpoint: 0 },
            policy: None,
            probability: 1.0,
            optional: false,
        }));
        assert_eq!(services_on_path(&sc, EndpointRef { service: 0, endpoint: 0 }), vec![true, true, false]);
    }
}

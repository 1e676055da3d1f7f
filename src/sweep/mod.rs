//! Many seeds of one scenario in parallel, reduced in seed order to risks with 95%
//! Wilson intervals, across-seed distributions and per-bucket bands (`sweep.json`);
//! and the same over a list of scenario variants (`--vary`, capacity planning).
//!
//! Determinism: seeds run in parallel (rayon), but every per-seed record is collected
//! in seed order and folded into the accumulators sequentially, so the result is
//! byte-identical for any number of threads. Nothing here sums floats in parallel.
//!
//! Memory is bounded by the seeds in flight, not by the sweep: seeds run in chunks of
//! [`CHUNK_PER_THREAD`] x threads; each worker reduces its seed's
//! [`RunResult`](crate::stats::RunResult) to a compact record at once (the full result,
//! with its per-service histograms and per-bucket rows, is dropped in the worker), and
//! a chunk's records are folded and dropped before the next chunk starts. What grows
//! with the number of seeds is small: one row of key figures per seed (`runs`), a few
//! floats per seed and service, and the per-bucket values behind the fan chart's
//! bands, which are capped at [`BAND_SEEDS_MAX`] seeds (see [`LoadBands`]).
//!
//! The parts: this file holds the result types (`sweep.json`) and the parallel run;
//! `fold.rs` reduces each seed to a record in its worker and folds the records in seed
//! order; `vary.rs` sweeps a list of scenario variants (`--vary`) and finds tipping
//! points.

mod fold;
pub mod replay;
mod store;
mod vary;

pub use store::SeedStore;

pub use vary::{
    VaryName, VaryParam, VaryPoint, VaryResult, parse_vary_label, run_vary, tipping_point, tipping_point_at,
    vary_of_sweeps,
};

pub use fold::SeedRow;

use fold::{Accumulator, Context, SeedRecord};
use hdrhistogram::Histogram;
use rayon::prelude::*;
use serde::Serialize;
use std::ops::Range;

use crate::model::OverlaySource;
use crate::model::Scenario;
use crate::sim::simulate_bounded;
use crate::stats::DisturbanceWindow;
use crate::stats::risk::{Distribution, Proportion};
use crate::stats::summary::Stopped;
use crate::stats::summary::{FormatVersion, Named, by_name};

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

/// [`run_sweep`], folding the seeds `store` kept (see `store.rs` for the key) instead
/// of simulating them, and keeping the others' records there: the same result, byte
/// for byte. A stopped run is not kept.
pub fn run_sweep_stored(
    scenario: &Scenario,
    opts: &SweepOptions,
    progress: &(dyn Fn() + Sync),
    store: Option<&dyn SeedStore>,
) -> SweepResult {
    in_pool(opts.jobs, || {
        let mut acc = Accumulator::new(scenario);
        let mut sink = |record, stopped| acc.fold(record, stopped);
        run_records(scenario, opts, 0..opts.seeds, progress, &|_| {}, store, &mut sink);
        acc.finish(scenario, opts)
    })
}

/// [`run_sweep`], telling `observe_chunk` how many per-seed records are held at once
/// before each fold (so a test can check the memory bound).
pub(crate) fn sweep_observed(
    scenario: &Scenario,
    opts: &SweepOptions,
    progress: &(dyn Fn() + Sync),
    observe_chunk: &(dyn Fn(usize) + Sync),
) -> SweepResult {
    in_pool(opts.jobs, || {
        let mut acc = Accumulator::new(scenario);
        run_records(scenario, opts, 0..opts.seeds, progress, observe_chunk, None, &mut |record, stopped| {
            acc.fold(record, stopped)
        });
        acc.finish(scenario, opts)
    })
}

/// One shard of a sweep: the seeds at positions `indices` (seed `first_seed + index`),
/// reduced to what a partial result keeps (`shard`): their latency histograms merged,
/// one row per seed in seed order, and the seeds whose run was stopped.
pub struct ShardSweep {
    pub histograms: Vec<Histogram<u64>>,
    pub rows: Vec<SeedRow>,
    pub stopped: Vec<StoppedSeed>,
}

/// Runs the seeds at positions `indices` of the sweep `opts` describes (in parallel,
/// as [`run_sweep`]) and keeps them unfolded: [`fold_shards`] over every shard gives
/// what [`run_sweep`] gives.
pub fn run_shard(
    scenario: &Scenario,
    opts: &SweepOptions,
    indices: Range<u64>,
    progress: &(dyn Fn() + Sync),
) -> ShardSweep {
    run_shard_stored(scenario, opts, indices, progress, None)
}

/// [`run_shard`], with the seeds `store` kept folded instead of simulated, as
/// [`run_sweep_stored`].
pub fn run_shard_stored(
    scenario: &Scenario,
    opts: &SweepOptions,
    indices: Range<u64>,
    progress: &(dyn Fn() + Sync),
    store: Option<&dyn SeedStore>,
) -> ShardSweep {
    in_pool(opts.jobs, || {
        let mut acc = Accumulator::new(scenario);
        let mut rows = Vec::new();
        let mut stopped = Vec::new();
        run_records(scenario, opts, indices, progress, &|_| {}, store, &mut |record, stop| {
            acc.add_histograms(&record.histograms);
            if let Some(stop) = stop {
                stopped.push(StoppedSeed { seed: record.row.seed, stopped: stop });
            }
            rows.push(record.row);
        });
        ShardSweep { histograms: acc.into_histograms(), rows, stopped }
    })
}

/// Folds shards, given in seed order, each as its merged histograms and its rows, into
/// the sweep's result: the same as [`run_sweep`] over all their seeds, since rows are
/// folded in seed order and histogram counts add up in any order.
pub fn fold_shards<'a>(
    scenario: &Scenario,
    opts: &SweepOptions,
    shards: impl IntoIterator<Item = (&'a [Histogram<u64>], &'a [SeedRow])>,
) -> SweepResult {
    let mut acc = Accumulator::new(scenario);
    for (histograms, rows) in shards {
        acc.add_histograms(histograms);
        for row in rows {
            acc.fold_row(row);
        }
    }
    acc.finish(scenario, opts)
}

/// Runs `body` on a pool of `jobs` threads made for it, or on rayon's global pool.
pub(crate) fn in_pool<T: Send>(jobs: Option<usize>, body: impl FnOnce() -> T + Send) -> T {
    match jobs {
        Some(jobs) => match rayon::ThreadPoolBuilder::new().num_threads(jobs.max(1)).build() {
            Ok(pool) => pool.install(body),
            // Threads could not be made: run on the global pool; the result is the same.
            Err(_) => body(),
        },
        None => body(),
    }
}

/// Runs the seeds at positions `indices` in parallel chunks and hands each one's record
/// (and why it was stopped, if it was) to `sink`, in seed order; with a `store`, a seed
/// it kept is read instead of run, and a seed run to its end is kept.
fn run_records(
    scenario: &Scenario,
    opts: &SweepOptions,
    indices: Range<u64>,
    progress: &(dyn Fn() + Sync),
    observe_chunk: &(dyn Fn(usize) + Sync),
    store: Option<&dyn SeedStore>,
    sink: &mut dyn FnMut(SeedRecord, Option<Stopped>),
) {
    let context = Context::new(scenario);
    let keys = store.map(|_| store::Keys::new(scenario, opts.max_events));
    let chunk = (rayon::current_num_threads().max(1) * CHUNK_PER_THREAD) as u64;
    let mut done = indices.start;
    while done < indices.end {
        let len = chunk.min(indices.end - done);
        let records: Vec<(SeedRecord, Option<Stopped>)> = (0..len as usize)
            .into_par_iter()
            .map(|i| {
                let index = done + i as u64;
                let seed = opts.first_seed.wrapping_add(index);
                let keep_bands = index < BAND_SEEDS_MAX;
                let kept = store.zip(keys.as_ref()).map(|(store, keys)| (store, keys, keys.key(seed, keep_bands)));
                if let Some(record) = kept.as_ref().and_then(|(store, keys, key)| keys.read(key, &store.get(key)?)) {
                    progress();
                    return (record, None);
                }
                let run = simulate_bounded(scenario, seed, opts.max_events.unwrap_or(u64::MAX));
                let record = SeedRecord::new(run, &context, keep_bands);
                if let (Some((store, _, key)), (record, None)) = (&kept, &record) {
                    store.put(key, &store::write(key, record));
                }
                progress();
                record
            })
            .collect();
        observe_chunk(records.len());
        for (record, stopped) in records {
            sink(record, stopped);
        }
        done += len;
    }
}

#[cfg(test)]
mod tests;

//! One seed reduced to a compact record in its worker, and the records folded in seed
//! order into a [`SweepResult`].

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::{
    Band, CauseCounts, LoadBands, LoadRisks, LoadSweep, MergedLatency, Replay, SeedLoad, SeedRun, ServiceSweep,
    StoppedSeed, SweepOptions, SweepResult,
};
use crate::format::shell_word;
use crate::model::graph::{reachable, services_of};
use crate::model::{EndpointRef, Scenario};
use crate::shard::Exact;
use crate::stats::RunResult;
use crate::stats::health::HealthCause;
use crate::stats::risk::{Distribution, quantile_sorted, wilson};
use crate::stats::summary::{FormatVersion, Stopped};

/// What every seed's reduction needs to know about the scenario.
pub(super) struct Context {
    /// Per load: which services are on its call path.
    paths: Vec<Vec<bool>>,
}

impl Context {
    pub(super) fn new(scenario: &Scenario) -> Self {
        Context { paths: scenario.loads.iter().map(|l| services_on_path(scenario, l.target)).collect() }
    }
}

/// The services a request to `target` can reach: its own and every callee's, transitively.
pub(super) fn services_on_path(scenario: &Scenario, target: EndpointRef) -> Vec<bool> {
    services_of(&reachable(scenario, [target]))
}

/// One seed, reduced: its row, plus its latency histograms (merged across seeds).
pub(super) struct SeedRecord {
    pub(super) row: SeedRow,
    /// Per load: latency of ok requests.
    pub(super) histograms: Vec<Histogram<u64>>,
}

/// What the fold needs of one seed, besides its histograms: the row a shard's partial
/// stores per seed (`shard`), so its fields are plain data and its floats [`Exact`].
/// Loads and services are in file order, by position.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SeedRow {
    pub seed: u64,
    loads: Vec<RowLoad>,
    cascade: bool,
    unhealthy: Vec<String>,
    origin: Vec<String>,
    blast_radius: Vec<String>,
    /// Per load, per bucket: ok count and p99 (NaN if none); empty past the band cap.
    band_ok: Vec<Vec<u32>>,
    band_p99: Vec<Vec<Exact>>,
    /// Per service.
    service_amplification: Vec<Exact>,
    service_verdict: Vec<Verdict>,
    /// Per service: an origin of this run's cascade.
    service_origin: Vec<bool>,
    service_utilization: Vec<Exact>,
    bucket_count: usize,
}

/// A load's figures in one seed ([`SeedLoad`] without its name).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct RowLoad {
    requests: u64,
    success_rate: Exact,
    p99_ms: Option<Exact>,
    recovery_s: Option<Exact>,
    slo_violated: bool,
    amplification: Exact,
    path_cascade: bool,
}

/// What the fold counts of a service's health in one seed.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Verdict {
    unhealthy: bool,
    cause: Option<HealthCause>,
    /// Its own workers or queue were used up (`Health::impaired`).
    impaired: bool,
}

impl SeedRecord {
    /// Takes the full result by value so that it is dropped here, in the worker. A
    /// stopped run's reason is returned beside the record.
    pub(super) fn new(result: RunResult, context: &Context, keep_bands: bool) -> (Self, Option<Stopped>) {
        let bucket_count = result.bucket_count();
        let cascade_on = |on: &dyn Fn(usize) -> bool| {
            result.services.iter().enumerate().any(|(s, svc)| on(s) && result.cascade.blast_radius.contains(&svc.name))
        };
        let loads: Vec<RowLoad> = result
            .loads
            .iter()
            .enumerate()
            .map(|(l, load)| RowLoad {
                requests: load.requests,
                success_rate: Exact(load.success_rate),
                p99_ms: (load.ok > 0).then_some(Exact(load.latency_ms.p99)),
                recovery_s: load.recovery_s.map(Exact),
                slo_violated: load.slo_violated,
                amplification: Exact(load.amplification),
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
                    let p99 = l
                        .buckets
                        .iter()
                        .map(|b| Exact(f64::from(b.latency_ms_p99.map_or(f32::NAN, |v| v as f32))))
                        .collect();
                    (ok, p99)
                })
                .unzip()
        } else {
            (Vec::new(), Vec::new())
        };
        let service_amplification = result
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| match requests_reaching(i) {
                0 => Exact(f64::NAN),
                requests => Exact(s.arrivals as f64 / requests as f64),
            })
            .collect();
        let row = SeedRow {
            seed: result.seed,
            loads,
            cascade: result.cascade.cascade,
            unhealthy: result.services.iter().filter(|s| s.health.is_unhealthy()).map(|s| s.name.clone()).collect(),
            origin: result.cascade.origin.clone(),
            blast_radius: result.cascade.blast_radius.clone(),
            band_ok,
            band_p99,
            service_amplification,
            service_verdict: result
                .services
                .iter()
                .map(|s| Verdict {
                    unhealthy: s.health.is_unhealthy(),
                    cause: s.health.cause,
                    impaired: s.health.impaired,
                })
                .collect(),
            service_origin: result.services.iter().map(|s| result.cascade.origin.contains(&s.name)).collect(),
            service_utilization: result.services.iter().map(|s| Exact(s.utilization)).collect(),
            bucket_count,
        };
        let histograms = result.loads.into_iter().map(|l| l.histogram).collect();
        (SeedRecord { row, histograms }, result.stopped)
    }
}

impl SeedRow {
    /// The row of `runs`, the loads named by `names` (file order).
    fn run(&self, names: &[String]) -> SeedRun {
        SeedRun {
            seed: self.seed,
            loads: self
                .loads
                .iter()
                .zip(names)
                .map(|(l, name)| SeedLoad {
                    name: name.clone(),
                    requests: l.requests,
                    success_rate: l.success_rate.0,
                    p99_ms: l.p99_ms.map(|v| v.0),
                    recovery_s: l.recovery_s.map(|v| v.0),
                    slo_violated: l.slo_violated,
                    amplification: l.amplification.0,
                    path_cascade: l.path_cascade,
                })
                .collect(),
            cascade: self.cascade,
            unhealthy: self.unhealthy.clone(),
            origin: self.origin.clone(),
            blast_radius: self.blast_radius.clone(),
        }
    }

    /// Loads and services as many as `scenario` has, and per-bucket values no more than
    /// its buckets: a row from a partial of another scenario would index out of range.
    pub fn fits(&self, loads: usize, services: usize) -> bool {
        let per_service = [
            self.service_amplification.len(),
            self.service_verdict.len(),
            self.service_origin.len(),
            self.service_utilization.len(),
        ];
        self.loads.len() == loads
            && per_service.iter().all(|&n| n == services)
            && (self.band_ok.is_empty() || (self.band_ok.len() == loads && self.band_p99.len() == loads))
    }
}

/// Folds seed records, in seed order.
pub(super) struct Accumulator {
    load_names: Vec<String>,
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
    pub(super) fn new(scenario: &Scenario) -> Self {
        let loads = scenario.loads.len();
        let services = scenario.services.len();
        Accumulator {
            load_names: scenario.loads.iter().map(|l| l.name.clone()).collect(),
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

    /// Folds one seed, the next in seed order; `stopped` if its run was stopped.
    pub(super) fn fold(&mut self, record: SeedRecord, stopped: Option<Stopped>) {
        self.add_histograms(&record.histograms);
        if let Some(stopped) = stopped {
            self.stopped.push(StoppedSeed { seed: record.row.seed, stopped });
        }
        self.fold_row(&record.row);
    }

    /// Adds latency histograms (one per load) into the merged ones: counts add up, so
    /// the order in which seeds, or shards of seeds, are added changes nothing.
    pub(super) fn add_histograms(&mut self, histograms: &[Histogram<u64>]) {
        for (merged, h) in self.histograms.iter_mut().zip(histograms) {
            merged.add(h).expect("an auto-resizing histogram takes any other");
        }
    }

    /// The merged latency histograms, one per load.
    pub(super) fn into_histograms(self) -> Vec<Histogram<u64>> {
        self.histograms
    }

    /// Folds one seed's row, the next in seed order.
    pub(super) fn fold_row(&mut self, row: &SeedRow) {
        if self.runs.is_empty() {
            self.bucket_count = row.bucket_count;
            for l in 0..self.band_ok.len() {
                self.band_ok[l] = vec![Vec::new(); row.bucket_count];
                self.band_p99[l] = vec![Vec::new(); row.bucket_count];
            }
        }
        if !row.band_ok.is_empty() {
            self.band_seeds += 1;
            for (l, (ok, p99)) in row.band_ok.iter().zip(&row.band_p99).enumerate() {
                for (b, (&ok, &p99)) in ok.iter().zip(p99).enumerate().take(self.bucket_count) {
                    self.band_ok[l][b].push(ok);
                    self.band_p99[l][b].push(p99.0 as f32);
                }
            }
        }
        for s in 0..self.service_unhealthy.len() {
            self.service_amplification[s].push(row.service_amplification[s].0);
            self.service_utilization[s].push(row.service_utilization[s].0);
            let verdict = row.service_verdict[s];
            self.service_unhealthy[s] += u64::from(verdict.unhealthy);
            let causes = &mut self.service_causes[s];
            match verdict.cause {
                Some(HealthCause::Fault) => causes.fault += 1,
                Some(HealthCause::Overload) => causes.overload += 1,
                Some(HealthCause::Dependency) => causes.dependency += 1,
                None => {}
            }
            self.service_origin[s] += u64::from(row.service_origin[s]);
            self.service_in_blast_radius[s] +=
                u64::from(verdict.cause == Some(HealthCause::Dependency) && verdict.impaired);
        }
        self.runs.push(row.run(&self.load_names));
    }

    pub(super) fn finish(self, scenario: &Scenario, opts: &SweepOptions) -> SweepResult {
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
            opts.replay_prefix.clone().unwrap_or_else(|| format!("stormcast run {}", shell_word(&scenario.source)));
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

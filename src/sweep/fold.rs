//! One seed reduced to a compact record in its worker, and the records folded in seed
//! order into a [`SweepResult`].

use hdrhistogram::Histogram;

use super::{
    Band, CauseCounts, LoadBands, LoadRisks, LoadSweep, MergedLatency, Replay, SeedLoad, SeedRun, ServiceSweep,
    StoppedSeed, SweepOptions, SweepResult,
};
use crate::format::shell_word;
use crate::model::graph::{reachable, services_of};
use crate::model::{EndpointRef, Scenario};
use crate::stats::RunResult;
use crate::stats::health::{Health, HealthCause};
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

/// One seed, reduced: its row of `runs`, plus what the aggregates need from it.
pub(super) struct SeedRecord {
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
    pub(super) fn new(mut result: RunResult, context: &Context, keep_bands: bool) -> Self {
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
pub(super) struct Accumulator {
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

    pub(super) fn fold(&mut self, record: SeedRecord) {
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

//! What a run measures, collected as it goes: counters, time integrals and latency
//! histograms per load and per service, run-level (after warmup) and per time bucket.
//!
//! A bucket is closed as soon as simulated time passes its end, so memory does not grow
//! with the number of requests: only one open histogram per load and per service.
//!
//! It measures and judges nothing: the simulator reports what happens through these
//! methods, and `stats::verdict` judges SLOs, health and cascades from the result.

mod histogram;

use super::ids::{LoadId, ServiceId};
use crate::engine::{SimDuration, SimTime};
use crate::model::counters::{Counter, CounterDef, Counts, RETRIES_SENT, ReportedSeries, SERIES, SeriesKind, series};
use crate::model::resilience::hedging::HEDGES_SENT;
use crate::model::{LoadKind, Outcome, OutcomeCounts, Scenario};
use crate::stats::health::{Cascade, Health};
use crate::stats::recovery::{disturbances, recovery_s};
use crate::stats::summary::{FormatVersion, SojournSummary};
use crate::stats::{LatencySummary, LoadBucket, LoadResult, RunResult, ServiceBucket, ServiceResult};
use hdrhistogram::Histogram;
use histogram::{BucketP99, RunHistogram, micros};

struct LoadAcc {
    requests: u64,
    outcomes: OutcomeCounts,
    latency_sum_ns: u128,
    attempts: u64,
    histogram: RunHistogram,
    bucket: LoadBucket,
    bucket_histogram: BucketP99,
    buckets: Vec<LoadBucket>,
}

struct ServiceAcc {
    arrivals: u64,
    outcomes: OutcomeCounts,
    skipped: u64,
    sojourn_sum_ns: u128,
    histogram: RunHistogram,
    /// The registered counters (`model::counters`).
    counts: Counts,
    wasted_ns: u128,
    queue_max: u64,
    /// Workers in all instances, as they were when the run began.
    capacity: f64,
    /// Workers busy.
    busy: Integral,
    /// Workers in instances taking traffic (or draining), for a service whose instances
    /// come and go (autoscaled): its utilization is then busy area over this area.
    workers: Option<Integral>,
    queued: u64,
    /// The queue's area over the whole open bucket, projected as `Integral::bucket`.
    queue_area_bucket: u128,
    bucket: ServiceBucket,
    /// Sum of the sojourns of what left in the open bucket (for its mean).
    bucket_sojourn_ns: u128,
    bucket_histogram: BucketP99,
    buckets: Vec<ServiceBucket>,
}

/// What a service looks like at a bucket's end, as the simulator sees it.
pub(super) struct Gauges {
    /// The longest queue of one of its instances now.
    pub(super) queue_max: u64,
    /// Per registered series read at a bucket's end (`SeriesKind::Tripped` and `Level`),
    /// its value now: the share of the service's client stages counted in a tripped
    /// series that are tripped (breakers open...), or a level; `None` where it has none.
    pub(super) levels: [Option<f64>; SERIES],
}

pub(super) struct Metrics {
    pub(super) warmup: SimTime,
    bucket: SimDuration,
    /// End of the open bucket.
    bucket_end: SimTime,
    loads: Vec<LoadAcc>,
    services: Vec<ServiceAcc>,
    /// The registered series that count a counter per bucket, with their index.
    count_series: Vec<(&'static CounterDef, usize)>,
}

impl Metrics {
    pub(super) fn new(sc: &Scenario) -> Metrics {
        let warmup = SimTime::ZERO + sc.simulation.warmup;
        let bucket = sc.simulation.bucket;
        let n_buckets = sc.simulation.duration.as_nanos().div_ceil(bucket.as_nanos().max(1)) as usize;
        Metrics {
            warmup,
            bucket,
            bucket_end: SimTime::ZERO + bucket,
            count_series: series()
                .enumerate()
                .filter_map(|(i, d)| match d.kind {
                    SeriesKind::Count(def) => Some((def, i)),
                    SeriesKind::Tripped { .. } | SeriesKind::Level => None,
                })
                .collect(),
            loads: sc
                .loads
                .iter()
                .map(|_| LoadAcc {
                    requests: 0,
                    outcomes: OutcomeCounts::default(),
                    latency_sum_ns: 0,
                    attempts: 0,
                    histogram: RunHistogram::new(),
                    bucket: LoadBucket::default(),
                    bucket_histogram: BucketP99::default(),
                    buckets: Vec::with_capacity(n_buckets),
                })
                .collect(),
            services: sc
                .services
                .iter()
                .enumerate()
                .map(|(s, svc)| ServiceAcc {
                    capacity: svc.instances as f64 * svc.workers as f64,
                    workers: sc.instances_vary(s).then(Integral::default),
                    arrivals: 0,
                    outcomes: OutcomeCounts::default(),
                    skipped: 0,
                    sojourn_sum_ns: 0,
                    histogram: RunHistogram::new(),
                    counts: Counts::for_scenario(&sc.policies, &sc.services),
                    wasted_ns: 0,
                    queue_max: 0,
                    busy: Integral::default(),
                    queued: 0,
                    bucket: ServiceBucket::default(),
                    bucket_sojourn_ns: 0,
                    bucket_histogram: BucketP99::default(),
                    queue_area_bucket: 0,
                    buckets: Vec::with_capacity(n_buckets),
                })
                .collect(),
        }
    }

    /// The end of the open bucket: the simulator closes buckets once time reaches it.
    #[inline(always)]
    pub(super) fn bucket_end(&self) -> SimTime {
        self.bucket_end
    }

    /// Closes every bucket that ends at or before `t`, each service ending them as
    /// `gauges` says (in service order).
    pub(super) fn close_buckets(&mut self, t: SimTime, gauges: &[Gauges]) {
        while t >= self.bucket_end {
            self.close_bucket(gauges);
        }
    }

    fn close_bucket(&mut self, gauges: &[Gauges]) {
        let end = self.bucket_end;
        let width = self.bucket.as_nanos() as f64;
        for l in &mut self.loads {
            l.bucket.latency_ms_p99 = l.bucket_histogram.p99_ms();
            l.bucket_histogram.reset();
            l.buckets.push(std::mem::take(&mut l.bucket));
        }
        let next_end = end + self.bucket;
        for (acc, g) in self.services.iter_mut().zip(gauges) {
            let capacity = acc.capacity;
            let b = &mut acc.bucket;
            b.latency_ms_p99 = acc.bucket_histogram.p99_ms();
            let left = b.ok + b.failed;
            b.sojourn_ms_mean = (left > 0).then(|| acc.bucket_sojourn_ns as f64 / left as f64 / 1e6);
            acc.bucket_sojourn_ns = 0;
            b.queue = acc.queue_area_bucket as f64 / width;
            b.utilization = match &acc.workers {
                Some(workers) => share(acc.busy.bucket, workers.bucket),
                None if capacity > 0.0 => acc.busy.bucket as f64 / width / capacity,
                None => 0.0,
            };
            for (value, level) in b.series.iter_mut().zip(g.levels) {
                if let Some(level) = level {
                    *value = level;
                }
            }
            acc.bucket_histogram.reset();
            let next_before_warmup = next_end.min(self.warmup).since(end);
            acc.busy.close(self.bucket, next_before_warmup);
            if let Some(workers) = &mut acc.workers {
                workers.close(self.bucket, next_before_warmup);
            }
            // The next bucket's queue area, projected from its start.
            acc.queue_area_bucket = u128::from(acc.queued) * u128::from(self.bucket.as_nanos());
            acc.buckets.push(std::mem::take(&mut acc.bucket));
            // The next bucket's longest queue is at least the longest queue now.
            acc.bucket.queue_max = g.queue_max;
        }
        self.bucket_end = next_end;
    }

    pub(super) fn load_arrival(&mut self, l: usize, now: SimTime) {
        let acc = &mut self.loads[l];
        acc.bucket.arrivals += 1;
        if now >= self.warmup {
            acc.requests += 1;
        }
    }

    pub(super) fn attempt_sent(
        &mut self,
        load: Option<LoadId>,
        from_service: Option<ServiceId>,
        is_retry: bool,
        counted: bool,
        now: SimTime,
    ) {
        if let Some(l) = load {
            let acc = &mut self.loads[l.ix()];
            if counted {
                acc.attempts += 1;
            }
            if is_retry {
                acc.bucket.retries += 1;
            }
        }
        if let (Some(s), true) = (from_service, is_retry) {
            self.count_in(s, Counter(&RETRIES_SENT), now >= self.warmup);
        }
    }

    /// A hedged call sent a copy (a load's clients count nothing per service): counted
    /// after warmup, as retries are.
    pub(super) fn hedge_sent(&mut self, from_service: Option<ServiceId>, now: SimTime) {
        if let Some(s) = from_service {
            self.count_in(s, Counter(&HEDGES_SENT), now >= self.warmup);
        }
    }

    /// A stage of a client of `from_service` counted `counter` (a load's clients count
    /// nothing per service). Counted over the whole run, warmup included.
    pub(super) fn count(&mut self, from_service: Option<ServiceId>, counter: Counter) {
        if let Some(s) = from_service {
            self.count_in(s, counter, true);
        }
    }

    /// A server stage of service `s` counted `counter` for a request (counted in the run
    /// if the request is: after warmup, as its outcome).
    pub(super) fn count_served(&mut self, s: usize, counter: Counter, counted: bool) {
        self.count_in(ServiceId::from(s), counter, counted);
    }

    /// Counts `counter` for service `s`: in the run's counts if `in_run`, and in the
    /// open bucket's series that count it (`SeriesKind::Count`), always.
    fn count_in(&mut self, s: ServiceId, counter: Counter, in_run: bool) {
        let acc = &mut self.services[s.ix()];
        if in_run {
            acc.counts.add(counter);
        }
        for &(def, i) in &self.count_series {
            if counter == Counter(def) {
                acc.bucket.series[i] += 1.0;
            }
        }
    }

    pub(super) fn load_request_done(&mut self, l: usize, outcome: Outcome, latency: SimDuration, counted: bool) {
        let acc = &mut self.loads[l];
        if outcome.is_ok() {
            acc.bucket.ok += 1;
            acc.bucket_histogram.record_micros(micros(latency));
        } else {
            acc.bucket.failed += 1;
        }
        if counted {
            acc.outcomes.add(outcome);
            if outcome.is_ok() {
                acc.latency_sum_ns += latency.as_nanos() as u128;
                acc.histogram.record_micros(micros(latency));
            }
        }
    }

    pub(super) fn service_arrival(&mut self, s: usize, now: SimTime) {
        let acc = &mut self.services[s];
        acc.bucket.arrivals += 1;
        if now >= self.warmup {
            acc.arrivals += 1;
        }
    }

    /// `instance_queue` is the new length of the queue that changed.
    pub(super) fn queue_changed(&mut self, s: usize, delta: i64, instance_queue: u64, now: SimTime) {
        let acc = &mut self.services[s];
        project(&mut acc.queue_area_bucket, delta, self.bucket_end.since(now));
        acc.queued = (acc.queued as i64 + delta) as u64;
        acc.bucket.queue_max = acc.bucket.queue_max.max(instance_queue);
        if now >= self.warmup {
            acc.queue_max = acc.queue_max.max(instance_queue);
        }
    }

    pub(super) fn busy_changed(&mut self, s: usize, delta: i64, now: SimTime) {
        let (bucket_end, warmup) = (self.bucket_end, self.warmup);
        self.services[s].busy.change(delta, now, bucket_end, warmup);
    }

    /// Instances of service `s` with `delta` workers in all joined or left (autoscaling);
    /// counted only for a service whose instances come and go.
    pub(super) fn capacity_changed(&mut self, s: usize, delta: i64, now: SimTime) {
        let (bucket_end, warmup) = (self.bucket_end, self.warmup);
        if let Some(workers) = &mut self.services[s].workers {
            workers.change(delta, now, bucket_end, warmup);
        }
    }

    /// A caller gave up on an attempt to service `s` (per-try timeout or deadline).
    pub(super) fn attempt_timed_out(&mut self, s: usize) {
        self.services[s].bucket.timeouts += 1;
    }

    /// `late`: the caller had already given up, so nobody hears the answer.
    #[inline(always)]
    pub(super) fn service_done(
        &mut self,
        s: usize,
        outcome: Outcome,
        sojourn: SimDuration,
        wasted: SimDuration,
        late: bool,
        counted: bool,
    ) {
        let acc = &mut self.services[s];
        acc.bucket_sojourn_ns += u128::from(sojourn.as_nanos());
        if outcome.is_ok() {
            acc.bucket.ok += 1;
            acc.bucket.late_ok += u64::from(late);
        } else {
            acc.bucket.failed += 1;
        }
        let us = micros(sojourn);
        acc.bucket_histogram.record_micros(us);
        if counted {
            acc.outcomes.add(outcome);
            acc.sojourn_sum_ns += sojourn.as_nanos() as u128;
            acc.histogram.record_micros(us);
            acc.wasted_ns += wasted.as_nanos() as u128;
        }
    }

    pub(super) fn service_skipped(&mut self, s: usize, counted: bool) {
        if counted {
            self.services[s].skipped += 1;
        }
    }

    /// `in_flight_loads` and `in_flight_services`: what each load and service had in
    /// flight at the end, counted as its outcomes are (started or arrived after warmup).
    pub(super) fn into_result(
        self,
        sc: &Scenario,
        seed: u64,
        events: u64,
        in_flight_loads: &[u64],
        in_flight_services: &[u64],
    ) -> RunResult {
        let warmup_s = sc.simulation.warmup.as_secs_f64();
        let bucket_s = sc.simulation.bucket.as_secs_f64();
        let measured_s = (sc.simulation.duration.as_secs_f64() - warmup_s).max(f64::MIN_POSITIVE);
        let windows = disturbances(sc);
        // The open bucket's areas are projected to its end: take back the part after the run.
        let (horizon, bucket_end, warmup) = (SimTime::ZERO + sc.simulation.duration, self.bucket_end, self.warmup);
        let measured = |integral: &Integral| integral.after_warmup(horizon, bucket_end, warmup);
        let loads = self
            .loads
            .into_iter()
            .zip(&sc.loads)
            .zip(in_flight_loads)
            .map(|((acc, load), &in_flight)| {
                let ok = acc.outcomes.get(Outcome::Ok);
                let histogram = acc.histogram.into_histogram();
                let success_rate = if acc.requests == 0 { 1.0 } else { ok as f64 / acc.requests as f64 };
                let latency_ms = latency_summary(&histogram, acc.latency_sum_ns, ok);
                let goodput: Vec<u64> = acc.buckets.iter().map(|b| b.ok).collect();
                let base_rate = match &load.kind {
                    LoadKind::Open { rate, .. } => Some(*rate),
                    LoadKind::Closed { .. } => None,
                };
                let recovery = recovery_s(&goodput, bucket_s, warmup_s, base_rate, &windows);
                LoadResult {
                    name: load.name.clone(),
                    requests: acc.requests,
                    ok,
                    success_rate,
                    in_flight,
                    outcomes: acc.outcomes,
                    latency_ms,
                    slo_violated: false,
                    recovery_s: recovery,
                    attempts: acc.attempts,
                    amplification: if acc.requests == 0 { 0.0 } else { acc.attempts as f64 / acc.requests as f64 },
                    buckets: acc.buckets,
                    histogram,
                }
            })
            .collect();
        let services = self
            .services
            .into_iter()
            .zip(&sc.services)
            .enumerate()
            .map(|(s, (acc, svc))| {
                let served = acc.outcomes.total();
                let busy_area = measured(&acc.busy);
                let utilization = match &acc.workers {
                    Some(workers) => share(busy_area, measured(workers)),
                    None => busy_area as f64 / 1e9 / measured_s / acc.capacity,
                };
                let histogram = acc.histogram.into_histogram();
                ServiceResult {
                    name: svc.name.clone(),
                    arrivals: acc.arrivals,
                    ok: acc.outcomes.get(Outcome::Ok),
                    errors: acc.outcomes.get(Outcome::Error),
                    rejected: acc.outcomes.get(Outcome::Rejected),
                    throttled: acc.outcomes.get(Outcome::Throttled),
                    unavailable: acc.outcomes.get(Outcome::Unavailable),
                    utilization,
                    queue_max: acc.queue_max,
                    sojourn_ms: SojournSummary {
                        mean: if served == 0 { 0.0 } else { acc.sojourn_sum_ns as f64 / served as f64 / 1e6 },
                        p99: if histogram.is_empty() { 0.0 } else { histogram.value_at_quantile(0.99) as f64 / 1e3 },
                    },
                    counters: acc.counts,
                    wasted_work_s: acc.wasted_ns as f64 / 1e9,
                    skipped: acc.skipped,
                    in_flight: in_flight_services[s],
                    faulted: sc.faults.iter().any(|f| f.target.service() == s),
                    health: Health::default(),
                    autoscaling: None,
                    buckets: acc.buckets,
                    histogram,
                }
            })
            .collect();
        RunResult {
            format_version: FormatVersion,
            seed,
            stormcast_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: sc.source.clone(),
            scenario_hash: sc.hash.clone(),
            overlays: sc.overlays.clone(),
            simulated_s: sc.simulation.duration.as_secs_f64(),
            warmup_s,
            bucket_s,
            events,
            loads,
            services,
            disturbances: windows,
            cascade: Cascade::default(),
            stopped: None,
            rollout: None,
            series: ReportedSeries::for_scenario(sc),
        }
    }
}

/// The area under a count over time (busy workers, workers in service), per bucket and
/// after warmup, kept as projections so that a change costs one multiplication.
#[derive(Default)]
struct Integral {
    /// The count now.
    level: u64,
    /// Area (count x ns) over the whole open bucket as if the count stayed as it is now
    /// until its end: a change adds `delta x (bucket end - now)`, and at the bucket's end
    /// this is its exact area (the same integer as summing `count x interval` piece by
    /// piece).
    bucket: u128,
    /// The same for the part of the open bucket before the warmup's end.
    bucket_before_warmup: u128,
    /// The area after warmup in closed buckets.
    run: u128,
}

impl Integral {
    #[inline]
    fn change(&mut self, delta: i64, now: SimTime, bucket_end: SimTime, warmup: SimTime) {
        project(&mut self.bucket, delta, bucket_end.since(now));
        if now < warmup {
            project(&mut self.bucket_before_warmup, delta, bucket_end.min(warmup).since(now));
        }
        self.level = (self.level as i64 + delta) as u64;
    }

    /// The open bucket (of width `bucket`) closes; the next one's areas are projected from
    /// its start, `before_warmup` of it before the warmup's end.
    fn close(&mut self, bucket: SimDuration, before_warmup: SimDuration) {
        self.run += self.bucket - self.bucket_before_warmup;
        let level = u128::from(self.level);
        self.bucket = level * u128::from(bucket.as_nanos());
        self.bucket_before_warmup = level * u128::from(before_warmup.as_nanos());
    }

    /// The area after warmup up to `horizon`, the open bucket (ending at `bucket_end`)
    /// projected past it taken back.
    fn after_warmup(&self, horizon: SimTime, bucket_end: SimTime, warmup: SimTime) -> u128 {
        let level = u128::from(self.level);
        let area = self.bucket - level * u128::from(bucket_end.since(horizon).as_nanos());
        let before = self.bucket_before_warmup
            - level * u128::from(bucket_end.min(warmup).since(horizon.min(warmup)).as_nanos());
        self.run + area - before
    }
}

/// `part` over `whole` (areas), 0 when `whole` is.
fn share(part: u128, whole: u128) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

/// A count changed by `delta` with `left` of the projection to go: the projected area
/// changes by `delta x left` (never below zero: the area of a count that stays >= 0).
#[inline]
fn project(area: &mut u128, delta: i64, left: SimDuration) {
    let change = u128::from(delta.unsigned_abs()) * u128::from(left.as_nanos());
    if delta >= 0 {
        *area += change;
    } else {
        *area -= change;
    }
}

fn latency_summary(h: &Histogram<u64>, sum_ns: u128, n: u64) -> LatencySummary {
    if n == 0 {
        return LatencySummary::default();
    }
    let q = |p: f64| h.value_at_quantile(p) as f64 / 1e3;
    LatencySummary {
        mean: sum_ns as f64 / n as f64 / 1e6,
        p50: q(0.5),
        p90: q(0.9),
        p99: q(0.99),
        p999: q(0.999),
        max: h.max() as f64 / 1e3,
    }
}

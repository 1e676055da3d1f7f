//! What a run measures, collected as it goes: counters, time integrals and latency
//! histograms per load and per service, run-level (after warmup) and per time bucket.
//!
//! A bucket is closed as soon as simulated time passes its end, so memory does not grow
//! with the number of requests: only one open histogram per load and per service.

use super::{Client, Instance};
use crate::engine::{SimDuration, SimTime};
use crate::model::resilience::BreakerState;
use crate::model::{LoadKind, Outcome, OutcomeCounts, Scenario};
use crate::stats::health::{Cascade, Health};
use crate::stats::recovery::{disturbances, recovery_s};
use crate::stats::summary::{FormatVersion, SojournSummary};
use crate::stats::{LatencySummary, LoadBucket, LoadResult, RunResult, ServiceBucket, ServiceResult};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;

/// Run-level histograms: 3 significant digits, microseconds.
fn run_histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant digits is valid")
}

/// Per-bucket latencies only feed a p99 per bucket: 2 significant digits suffice.
///
/// The same bins and the same `value_at_quantile(0.99)` as an auto-resizing
/// `Histogram::<u64>::new(2)` (microseconds), so the per-bucket p99s are exactly what such
/// a histogram reports. But the bins are grouped in blocks of 16 with a count per block,
/// so that closing a bucket scans block counts and clears only the blocks in use, instead of
/// scanning and zeroing every bin the run ever needed (about 2,700 for latencies in
/// minutes) while a bucket typically holds a few hundred samples.
#[derive(Default)]
struct BucketP99 {
    counts: Bins,
    /// Sum of each block of `BLOCK` bins.
    blocks: Vec<u64>,
    total: u64,
}

/// Bin counts, exact to `u64`, stored as `u32`: recording is bound by cache misses on
/// the bins (several histograms of tens of kilobytes each, touched at random), and half
/// the footprint misses about a third less. A bin that wraps past `u32::MAX` carries
/// into `carries` (units of 2^32), which stays empty below four billion samples per bin.
#[derive(Default)]
struct Bins {
    low: Vec<u32>,
    carries: BTreeMap<usize, u64>,
}

impl Bins {
    #[inline]
    fn len(&self) -> usize {
        self.low.len()
    }

    #[inline]
    fn increment(&mut self, i: usize) {
        let c = &mut self.low[i];
        *c = c.wrapping_add(1);
        if *c == 0 {
            self.carry(i);
        }
    }

    #[cold]
    fn carry(&mut self, i: usize) {
        *self.carries.entry(i).or_insert(0) += 1;
    }

    #[inline]
    fn get(&self, i: usize) -> u64 {
        let low = u64::from(self.low[i]);
        if self.carries.is_empty() { low } else { low + (self.carries.get(&i).copied().unwrap_or(0) << 32) }
    }

    fn resize(&mut self, len: usize) {
        self.low.resize(len, 0);
    }

    /// Zeroes the bins in `range`.
    fn clear(&mut self, range: std::ops::Range<usize>) {
        self.low[range.clone()].fill(0);
        if !self.carries.is_empty() {
            self.carries.retain(|i, _| !range.contains(i));
        }
    }
}

/// HdrHistogram's bin layout with unit 1 and `2^(H+1)` sub-buckets (`2^H` per half):
/// 3 significant digits is `H = 10`, 2 is `H = 7`. Shared by the two histograms below
/// so both bin exactly as the `hdrhistogram` crate does.
struct HdrBins<const H: u32>;

impl<const H: u32> HdrBins<H> {
    const HALF: u64 = 1 << H;
    const MASK: u64 = 2 * Self::HALF - 1;

    /// Bucket (power of two above the first `2^(H+1)` values) of `value`.
    #[inline]
    fn bucket_of(value: u64) -> u32 {
        (64 - H - 1) - (value | Self::MASK).leading_zeros()
    }

    #[inline]
    fn index_of(value: u64) -> usize {
        let bucket = Self::bucket_of(value);
        (((bucket as u64 + 1) << H) + (value >> bucket) - Self::HALF) as usize
    }

    /// The lowest value counted in bin `index`.
    fn lowest_in(index: usize) -> u64 {
        match (index as u64 >> H).checked_sub(1) {
            Some(bucket) => ((index as u64 & (Self::HALF - 1)) + Self::HALF) << bucket,
            None => index as u64,
        }
    }

    /// The highest value counted in bin `index`.
    fn highest_in(index: usize) -> u64 {
        let lowest = Self::lowest_in(index);
        if lowest == u64::MAX { u64::MAX } else { lowest.saturating_add(1 << Self::bucket_of(lowest)) - 1 }
    }
}

/// `Histogram::new(2)`: 256 sub-buckets (128 per half).
type P99Bins = HdrBins<7>;
/// `Histogram::new(3)`: 2,048 sub-buckets (1,024 per half).
type RunBins = HdrBins<10>;

impl BucketP99 {
    const BLOCK_MAGNITUDE: u32 = 4;
    const BLOCK: usize = 1 << Self::BLOCK_MAGNITUDE;

    #[cfg(test)]
    fn record(&mut self, d: SimDuration) {
        self.record_micros(micros(d));
    }

    #[inline]
    fn record_micros(&mut self, us: u64) {
        let i = P99Bins::index_of(us);
        let block = i >> Self::BLOCK_MAGNITUDE;
        if block >= self.blocks.len() {
            self.grow(block);
        }
        self.counts.increment(i);
        self.blocks[block] += 1;
        self.total += 1;
    }

    #[cold]
    fn grow(&mut self, block: usize) {
        self.blocks.resize(block + 1, 0);
        self.counts.resize((block + 1) * Self::BLOCK);
    }

    /// The p99 in milliseconds, as `value_at_quantile(0.99)` of the histogram.
    fn p99_ms(&self) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let target = ((0.99 * self.total as f64).ceil() as u64).max(1);
        let mut below = 0u64;
        for (block, &sum) in self.blocks.iter().enumerate() {
            if below + sum < target {
                below += sum;
                continue;
            }
            let first = block * Self::BLOCK;
            for i in first..first + Self::BLOCK {
                below += self.counts.get(i);
                if below >= target {
                    return Some(P99Bins::highest_in(i) as f64 / 1e3);
                }
            }
        }
        unreachable!("the blocks in use hold every count")
    }

    fn reset(&mut self) {
        if self.total == 0 {
            return;
        }
        for (block, sum) in self.blocks.iter_mut().enumerate() {
            if *sum != 0 {
                *sum = 0;
                self.counts.clear(block * Self::BLOCK..(block + 1) * Self::BLOCK);
            }
        }
        self.total = 0;
    }
}

fn micros(d: SimDuration) -> u64 {
    d.as_nanos() / 1_000
}

/// Run-level latencies, in the bins of an auto-resizing `Histogram::<u64>::new(3)`
/// (microseconds), counted in place and turned into that histogram at the end of the run.
///
/// Recording is an index computation and an increment, without the generic histogram's
/// call, resize check and saturating arithmetic. `into_histogram` rebuilds exactly the
/// histogram that recording each value would have built: the same counts per bin, total,
/// length (an auto-resizing histogram ends sized for its largest value) and extremes (the
/// raw largest and smallest non-zero values are recorded as themselves).
struct RunHistogram {
    counts: Bins,
    /// Largest value recorded (0 if none).
    max: u64,
    /// Smallest non-zero value recorded (`u64::MAX` if none).
    min_nz: u64,
}

impl RunHistogram {
    fn new() -> RunHistogram {
        RunHistogram { counts: Bins::default(), max: 0, min_nz: u64::MAX }
    }

    #[cfg(test)]
    fn record(&mut self, d: SimDuration) {
        self.record_micros(micros(d));
    }

    #[inline]
    fn record_micros(&mut self, v: u64) {
        let i = RunBins::index_of(v);
        if i >= self.counts.len() {
            self.grow(i);
        }
        self.counts.increment(i);
        self.max = self.max.max(v);
        if v != 0 {
            self.min_nz = self.min_nz.min(v);
        }
    }

    #[cold]
    fn grow(&mut self, index: usize) {
        // Up to the end of the index's bucket.
        self.counts.resize((index | (RunBins::HALF as usize - 1)) + 1);
    }

    fn into_histogram(self) -> Histogram<u64> {
        let mut h = run_histogram();
        let (max_i, min_i) = (RunBins::index_of(self.max), RunBins::index_of(self.min_nz));
        for i in 0..self.counts.len() {
            let n = self.counts.get(i);
            if n == 0 {
                continue;
            }
            let mut rest = n;
            if i == max_i {
                h.record(self.max).expect("auto-resizing histograms take any u64");
                rest -= 1;
            }
            if i == min_i && self.min_nz != u64::MAX && rest > 0 {
                h.record(self.min_nz).expect("auto-resizing histograms take any u64");
                rest -= 1;
            }
            if rest > 0 {
                // Inside the extremes' bins, at an extreme; elsewhere any value of the bin.
                let v = if i == max_i {
                    self.max
                } else if i == min_i {
                    self.min_nz
                } else {
                    RunBins::lowest_in(i)
                };
                h.record_n(v, rest).expect("auto-resizing histograms take any u64");
            }
        }
        h
    }
}

/// Records a duration in a reference histogram (tests). The histograms auto-resize, so
/// recording cannot fail for any `u64` (`saturating_record` would clamp instead).
#[cfg(test)]
fn record(h: &mut Histogram<u64>, d: SimDuration) {
    h.record(micros(d)).expect("auto-resizing histograms take any u64");
}

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
    retries_sent: u64,
    breaker_opens: u64,
    wasted_ns: u128,
    queue_max: u64,
    /// Workers in all instances.
    capacity: f64,
    /// This service's instances in the simulator's flat list.
    instances: std::ops::Range<usize>,
    busy: u64,
    queued: u64,
    /// Busy area after warmup in closed buckets.
    busy_area_run: u128,
    /// Areas (count x ns) over the whole open bucket as if `busy` and `queued` stayed as
    /// they are now until its end: a change adds `delta x (bucket end - now)`, so it
    /// costs one multiplication, and at the bucket's end these are its exact areas (the
    /// same integers as summing `count x interval` piece by piece).
    busy_area_bucket: u128,
    queue_area_bucket: u128,
    /// The same for the part of the open bucket before the warmup's end.
    busy_area_bucket_before_warmup: u128,
    bucket: ServiceBucket,
    /// Sum of the sojourns of what left in the open bucket (for its mean).
    bucket_sojourn_ns: u128,
    bucket_histogram: BucketP99,
    buckets: Vec<ServiceBucket>,
}

pub(super) struct Metrics {
    pub(super) warmup: SimTime,
    bucket: SimDuration,
    /// End of the open bucket.
    bucket_end: SimTime,
    loads: Vec<LoadAcc>,
    services: Vec<ServiceAcc>,
}

impl Metrics {
    pub(super) fn new(sc: &Scenario, _service_clients: &[Vec<u32>]) -> Metrics {
        let warmup = SimTime::ZERO + sc.simulation.warmup;
        let bucket = sc.simulation.bucket;
        let n_buckets = sc.simulation.duration.as_nanos().div_ceil(bucket.as_nanos().max(1)) as usize;
        Metrics {
            warmup,
            bucket,
            bucket_end: SimTime::ZERO + bucket,
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
                .scan(0usize, |first, svc| {
                    let range = *first..*first + svc.instances as usize;
                    *first = range.end;
                    Some((svc, range))
                })
                .map(|(svc, instances)| ServiceAcc {
                    capacity: svc.instances as f64 * svc.workers as f64,
                    instances,
                    arrivals: 0,
                    outcomes: OutcomeCounts::default(),
                    skipped: 0,
                    sojourn_sum_ns: 0,
                    histogram: RunHistogram::new(),
                    retries_sent: 0,
                    breaker_opens: 0,
                    wasted_ns: 0,
                    queue_max: 0,
                    busy: 0,
                    queued: 0,
                    busy_area_run: 0,
                    busy_area_bucket_before_warmup: 0,
                    bucket: ServiceBucket::default(),
                    bucket_sojourn_ns: 0,
                    bucket_histogram: BucketP99::default(),
                    busy_area_bucket: 0,
                    queue_area_bucket: 0,
                    buckets: Vec::with_capacity(n_buckets),
                })
                .collect(),
        }
    }

    /// Closes every bucket that ends at or before `t` (most events cross no boundary).
    #[inline(always)]
    pub(super) fn advance_to(
        &mut self,
        t: SimTime,
        instances: &[Instance],
        clients: &[Client],
        service_clients: &[Vec<u32>],
    ) {
        if t >= self.bucket_end {
            self.close_buckets(t, instances, clients, service_clients);
        }
    }

    #[cold]
    #[inline(never)]
    fn close_buckets(&mut self, t: SimTime, instances: &[Instance], clients: &[Client], service_clients: &[Vec<u32>]) {
        while t >= self.bucket_end {
            self.close_bucket(instances, clients, service_clients);
        }
    }

    fn close_bucket(&mut self, instances: &[Instance], clients: &[Client], service_clients: &[Vec<u32>]) {
        let end = self.bucket_end;
        let width = self.bucket.as_nanos() as f64;
        for l in &mut self.loads {
            l.bucket.latency_ms_p99 = l.bucket_histogram.p99_ms();
            l.bucket_histogram.reset();
            l.buckets.push(std::mem::take(&mut l.bucket));
        }
        let next_end = end + self.bucket;
        for (s, acc) in self.services.iter_mut().enumerate() {
            let capacity = acc.capacity;
            let b = &mut acc.bucket;
            b.latency_ms_p99 = acc.bucket_histogram.p99_ms();
            let left = b.ok + b.failed;
            b.sojourn_ms_mean = (left > 0).then(|| acc.bucket_sojourn_ns as f64 / left as f64 / 1e6);
            acc.bucket_sojourn_ns = 0;
            b.queue = acc.queue_area_bucket as f64 / width;
            b.utilization = if capacity > 0.0 { acc.busy_area_bucket as f64 / width / capacity } else { 0.0 };
            let breakers: Vec<&Client> =
                service_clients[s].iter().map(|&c| &clients[c as usize]).filter(|c| c.breaker.is_some()).collect();
            if !breakers.is_empty() {
                let open = breakers
                    .iter()
                    .filter(|c| c.breaker.as_ref().is_some_and(|b| b.state() != BreakerState::Closed))
                    .count();
                b.breakers_open = open as f64 / breakers.len() as f64;
            }
            acc.bucket_histogram.reset();
            acc.busy_area_run += acc.busy_area_bucket - acc.busy_area_bucket_before_warmup;
            // The next bucket's areas, projected from its start.
            let width = self.bucket.as_nanos();
            acc.busy_area_bucket = u128::from(acc.busy) * u128::from(width);
            acc.queue_area_bucket = u128::from(acc.queued) * u128::from(width);
            acc.busy_area_bucket_before_warmup =
                u128::from(acc.busy) * u128::from(next_end.min(self.warmup).since(end).as_nanos());
            acc.buckets.push(std::mem::take(&mut acc.bucket));
            // The next bucket's longest queue is at least the longest queue now.
            acc.bucket.queue_max =
                instances[acc.instances.clone()].iter().map(|i| i.queue.len() as u64).max().unwrap_or(0);
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
        load: Option<usize>,
        from_service: Option<u32>,
        is_retry: bool,
        counted: bool,
        now: SimTime,
    ) {
        if let Some(l) = load {
            let acc = &mut self.loads[l];
            if counted {
                acc.attempts += 1;
            }
            if is_retry {
                acc.bucket.retries += 1;
            }
        }
        if let (Some(s), true) = (from_service, is_retry) {
            let acc = &mut self.services[s as usize];
            acc.bucket.retries += 1;
            if now >= self.warmup {
                acc.retries_sent += 1;
            }
        }
    }

    pub(super) fn breaker_opened(&mut self, from_service: Option<u32>) {
        if let Some(s) = from_service {
            self.services[s as usize].breaker_opens += 1;
        }
    }

    pub(super) fn load_request_done(
        &mut self,
        l: usize,
        outcome: Outcome,
        latency: SimDuration,
        _now: SimTime,
        counted: bool,
    ) {
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
        let acc = &mut self.services[s];
        project(&mut acc.busy_area_bucket, delta, self.bucket_end.since(now));
        if now < self.warmup {
            project(&mut acc.busy_area_bucket_before_warmup, delta, self.bucket_end.min(self.warmup).since(now));
        }
        acc.busy = (acc.busy as i64 + delta) as u64;
    }

    /// A caller gave up on an attempt to service `s` (per-try timeout or deadline).
    pub(super) fn attempt_timed_out(&mut self, s: usize) {
        self.services[s].bucket.timeouts += 1;
    }

    /// `late`: the caller had already given up, so nobody hears the answer.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(super) fn service_done(
        &mut self,
        s: usize,
        outcome: Outcome,
        sojourn: SimDuration,
        wasted: SimDuration,
        late: bool,
        _now: SimTime,
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

    pub(super) fn service_skipped(&mut self, s: usize, _sojourn: SimDuration, _now: SimTime, counted: bool) {
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
        let open_bucket_busy_after_warmup = |acc: &ServiceAcc| {
            let busy = u128::from(acc.busy);
            let area = acc.busy_area_bucket - busy * u128::from(bucket_end.since(horizon).as_nanos());
            let before = acc.busy_area_bucket_before_warmup
                - busy * u128::from(bucket_end.min(warmup).since(horizon.min(warmup)).as_nanos());
            area - before
        };
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
                let slo_violated = load.slo.as_ref().is_some_and(|slo| {
                    slo.p99.is_some_and(|p99| ok == 0 || latency_ms.p99 > p99.as_millis_f64())
                        || slo.success_rate.is_some_and(|min| success_rate < min)
                });
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
                    slo_violated,
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
                let busy_area = acc.busy_area_run + open_bucket_busy_after_warmup(&acc);
                let histogram = acc.histogram.into_histogram();
                ServiceResult {
                    name: svc.name.clone(),
                    arrivals: acc.arrivals,
                    ok: acc.outcomes.get(Outcome::Ok),
                    errors: acc.outcomes.get(Outcome::Error),
                    rejected: acc.outcomes.get(Outcome::Rejected),
                    throttled: acc.outcomes.get(Outcome::Throttled),
                    unavailable: acc.outcomes.get(Outcome::Unavailable),
                    utilization: busy_area as f64 / 1e9 / measured_s / acc.capacity,
                    queue_max: acc.queue_max,
                    sojourn_ms: SojournSummary {
                        mean: if served == 0 { 0.0 } else { acc.sojourn_sum_ns as f64 / served as f64 / 1e6 },
                        p99: if histogram.is_empty() { 0.0 } else { histogram.value_at_quantile(0.99) as f64 / 1e3 },
                    },
                    retries_sent: acc.retries_sent,
                    breaker_opens: acc.breaker_opens,
                    wasted_work_s: acc.wasted_ns as f64 / 1e9,
                    skipped: acc.skipped,
                    in_flight: in_flight_services[s],
                    faulted: sc.faults.iter().any(|f| f.target.service() == s),
                    health: Health::default(),
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
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A bin past `u32::MAX` carries: its count stays exact, others are untouched, and
    /// clearing a range drops the carries inside it only.
    #[test]
    fn bins_count_past_u32_exactly() {
        let mut b = Bins::default();
        b.resize(8);
        b.low[3] = u32::MAX - 1;
        b.low[5] = u32::MAX;
        for _ in 0..3 {
            b.increment(3);
        }
        b.increment(5);
        b.increment(6);
        assert_eq!(b.get(3), u64::from(u32::MAX) + 2);
        assert_eq!(b.get(5), u64::from(u32::MAX) + 1);
        assert_eq!((b.get(4), b.get(6)), (0, 1));
        b.clear(0..4);
        assert_eq!((b.get(3), b.get(5), b.get(6)), (0, u64::from(u32::MAX) + 1, 1));
        b.clear(4..8);
        assert!((0..8).all(|i| b.get(i) == 0) && b.carries.is_empty());
    }

    /// The per-bucket p99 is exactly that of an auto-resizing 2-digit HdrHistogram, bucket
    /// after bucket (resets included), for latencies from nanoseconds to days.
    #[test]
    fn bucket_p99_matches_hdrhistogram() {
        let mut ours = BucketP99::default();
        let mut reference = Histogram::<u64>::new(2).expect("valid");
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for bucket in 0..300u64 {
            assert_eq!(ours.p99_ms(), (!reference.is_empty()).then(|| reference.value_at_quantile(0.99) as f64 / 1e3));
            ours.reset();
            reference.reset();
            // Bucket sizes 0 to 299 samples; magnitudes spread over 0 ns .. about 10^14 ns.
            for _ in 0..bucket {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let ns = (x >> 20) >> ((x % 44) + (bucket % 7));
                let d = SimDuration::from_nanos(ns);
                ours.record(d);
                record(&mut reference, d);
            }
        }
        for index in 0..5_000 {
            let v = RunBins::lowest_in(index);
            assert_eq!(RunBins::index_of(v), index);
            assert_eq!(v, run_histogram().lowest_equivalent(v));
        }
        for index in 0..5_000 {
            let v = P99Bins::highest_in(index);
            assert_eq!(P99Bins::index_of(v), index);
            assert_eq!(P99Bins::index_of(v + 1), index + 1);
            assert_eq!(v, reference.highest_equivalent(v));
        }
    }

    /// The run-level histogram rebuilt from the bins is the one recording each value
    /// builds: counts, total, extremes and length.
    #[test]
    fn run_histogram_matches_hdrhistogram() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for case in 0..200u64 {
            let mut ours = RunHistogram::new();
            let mut reference = run_histogram();
            for _ in 0..case * 7 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let ns = match case % 4 {
                    0 => (x >> 20) >> (x % 44),
                    1 => x % 3_000,
                    2 => 1_000 * (x % 5),
                    _ => (x >> 8) >> (x % 56),
                };
                let d = SimDuration::from_nanos(ns);
                ours.record(d);
                record(&mut reference, d);
            }
            let ours = ours.into_histogram();
            assert!(ours == reference, "case {case}");
            assert_eq!(ours.len(), reference.len());
            assert_eq!((ours.max(), ours.min(), ours.min_nz()), (reference.max(), reference.min(), reference.min_nz()));
            assert_eq!(ours.high(), reference.high());
            assert_eq!(ours.distinct_values(), reference.distinct_values());
        }
    }
}

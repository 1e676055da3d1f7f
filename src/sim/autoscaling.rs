//! Autoscaling at run time: each autoscaled service's HPA (`model::autoscaling::Hpa`)
//! syncs every `sync_period` from the start of the run, reading each instance's meter;
//! a scale-up starts replicas that join the balancers `startup` later; a scale-in takes
//! replicas out of the balancers at once and lets them drain (`sim::lifecycle`).
//! Replicas starting for any reason (a restart's replacement too) count as not ready.
//!
//! Which replicas go on a scale-in follows the ReplicaSet controller's ranking: one not
//! yet ready before a ready one, and among those the most recently created first.

use super::ids::{InstanceId, ServiceId};
use super::server::Phase;
use super::{Event, Simulator};
use crate::engine::SimTime;
use crate::model::autoscaling::{Autoscaling, Hpa, Pod, ScaleTarget};
use crate::stats::summary::AutoscalingSummary;

/// What an instance's autoscaler reads: the areas under its busy workers and its requests
/// (queued or in service), and its arrivals, since the last sync (or since it joined).
#[derive(Clone, Debug, Default)]
pub(super) struct Meter {
    since: SimTime,
    last: SimTime,
    busy_ns: u128,
    in_system_ns: u128,
    pub(super) arrivals: u64,
}

impl Meter {
    /// Adds the areas from the last change to `now`, `busy` and `in_system` having held.
    #[inline]
    pub(super) fn advance(&mut self, now: SimTime, busy: u64, in_system: u64) {
        let dt = u128::from(now.since(self.last).as_nanos());
        self.busy_ns += u128::from(busy) * dt;
        self.in_system_ns += u128::from(in_system) * dt;
        self.last = now;
    }

    /// Starts a new window at `now`.
    pub(super) fn restart(&mut self, now: SimTime) {
        *self = Meter { since: now, last: now, ..Meter::default() };
    }

    /// The metric `target` asks for over the window to `now`, for an instance with
    /// `workers`; `None` for a window of no time (it joined just now: a missing sample).
    fn sample(&self, target: ScaleTarget, now: SimTime, workers: u64) -> Option<f64> {
        let span = now.since(self.since).as_nanos();
        if span == 0 {
            return None;
        }
        let span = span as f64;
        Some(match target {
            ScaleTarget::Utilization(_) => self.busy_ns as f64 / span / workers as f64,
            ScaleTarget::Rate(_) => self.arrivals as f64 / (span / 1e9),
            ScaleTarget::Concurrency(_) => self.in_system_ns as f64 / span,
        })
    }
}

/// One autoscaled service's controller at run time.
pub(super) struct Scaler<'a> {
    cfg: &'a Autoscaling,
    service: ServiceId,
    hpa: Hpa,
    /// The replicas it started (for its summary: restarts start replicas too).
    added: Vec<InstanceId>,
    /// What it did so far (`replicas_end` is filled in at the end).
    summary: AutoscalingSummary,
}

impl<'a> Scaler<'a> {
    pub(super) fn new(cfg: &'a Autoscaling, service: ServiceId, replicas: u32) -> Scaler<'a> {
        let summary = AutoscalingSummary { replicas_max: replicas, ..AutoscalingSummary::default() };
        Scaler { cfg, service, hpa: Hpa::default(), added: Vec::new(), summary }
    }
}

impl Simulator<'_> {
    /// Schedules each autoscaler's first sync, one period into the run.
    pub(super) fn schedule_autoscaling(&mut self) {
        for (k, scaler) in self.scalers.iter().enumerate() {
            self.queue.schedule_at(SimTime::ZERO + scaler.cfg.sync_period, Event::AutoscaleSync(k as u32));
        }
    }

    /// Autoscaler `k` syncs: reads its service's instances, decides, scales.
    pub(super) fn autoscale_sync(&mut self, k: u32) {
        let now = self.now();
        let (cfg, service) = (self.scalers[k as usize].cfg, self.scalers[k as usize].service);
        let mut pods = Vec::new();
        for &id in &self.services[service].instances {
            let inst = &mut self.instances[id];
            let workers = inst.workers;
            inst.metered(now);
            let meter = inst.meter.as_deref_mut().expect("an autoscaled service's instances are metered");
            // A crashed replica fails its readiness probe: not ready.
            let pod = match (inst.down, meter.sample(cfg.target, now, workers)) {
                (true, _) => Pod::Unready,
                (false, Some(v)) => Pod::Ready(v),
                (false, None) => Pod::Missing,
            };
            meter.restart(now);
            pods.push(pod);
        }
        // Replicas starting (added by it, or replacing restarted ones) are not ready.
        pods.extend(self.services[service].starting.iter().map(|_| Pod::Unready));
        let scaler = &mut self.scalers[k as usize];
        let current = pods.len() as u32;
        let desired = scaler.hpa.sync(cfg, now, current, &pods);
        scaler.summary.scale_ups += u64::from(desired > current);
        scaler.summary.scale_downs += u64::from(desired < current);
        for _ in current..desired {
            let id = self.start_replica(service, cfg.startup);
            self.scalers[k as usize].added.push(id);
        }
        for _ in desired..current {
            self.scale_in_one(service);
        }
        self.queue.schedule_at(now + cfg.sync_period, Event::AutoscaleSync(k));
    }

    /// Takes one replica of `service` away: the newest starting one, else the newest
    /// ready one (it drains).
    fn scale_in_one(&mut self, service: ServiceId) {
        if let Some(id) = self.services[service].starting.pop() {
            self.instances[id].phase = Phase::Retired;
            self.replica_gone(id);
            return;
        }
        if let Some(&id) = self.services[service].instances.iter().max_by_key(|&&id| id) {
            self.leave(id);
        }
    }

    /// A replica `id` of `service` has joined: its autoscaler's summary counts it if it
    /// added it.
    pub(super) fn scaled_replica_ready(&mut self, service: ServiceId, id: InstanceId) {
        let (now, ready) = (self.now(), self.services[service].instances.len() as u32);
        if let Some(scaler) = self.scalers.iter_mut().find(|s| s.service == service && s.added.contains(&id)) {
            scaler.added.retain(|&i| i != id);
            let summary = &mut scaler.summary;
            summary.first_ready_s.get_or_insert(now.as_secs_f64());
            summary.replicas_max = summary.replicas_max.max(ready);
        }
    }

    /// Each autoscaled service's index and summary, for its result.
    pub(super) fn autoscaling_summaries(&self) -> Vec<(usize, AutoscalingSummary)> {
        let summary = |scaler: &Scaler<'_>| {
            let replicas_end = self.services[scaler.service].instances.len() as u32;
            (scaler.service.ix(), AutoscalingSummary { replicas_end, ..scaler.summary.clone() })
        };
        self.scalers.iter().map(summary).collect()
    }
}

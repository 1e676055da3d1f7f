//! Instances replaced during a run: after a crash, when the service has `restart_after`
//! (a liveness probe notices and Kubernetes restarts it), and by a `rolling_restart`
//! fault, whose evictions respect the service's `min_available` (a PodDisruptionBudget).
//!
//! A replacement is a new instance (`sim::lifecycle::start_replica`): it takes traffic
//! after the service's `startup`. A crashed instance stays in the balancers, refusing
//! connections, until it is replaced; if its crash fault is still on when the replacement
//! is ready, the replacement crashes at once (a crash loop) and is replaced again
//! `restart_after` later.
//!
//! A rolling restart evicts up to `max_unavailable` instances at a time; the next goes
//! when a replacement is ready. An eviction is allowed only while the instances taking
//! traffic and not crashed (Kubernetes' `currentHealthy`) exceed `min_available`
//! (`disruptionsAllowed > 0`): a crash uses up the budget without being blocked by it. A
//! refused eviction is tried again 5 s later, as `kubectl drain` does. An evicted instance
//! leaves the balancers and drains.

use super::ids::{FaultId, InstanceId};
use super::{Event, Simulator};
use crate::engine::SimDuration;
use crate::model::FaultKind;

/// How long a refused eviction waits before it is tried again (`kubectl drain`'s 5 s).
pub const EVICTION_RETRY: SimDuration = SimDuration::from_secs(5);

/// A rolling restart in progress.
#[derive(Clone, Debug, Default)]
pub(super) struct Rolling {
    /// Instances still to evict, in order.
    to_evict: Vec<InstanceId>,
    /// Replacements started and not yet taking traffic.
    replacing: Vec<InstanceId>,
    /// A retry of a refused eviction is scheduled.
    retry_pending: bool,
}

impl Simulator<'_> {
    /// A crash fault took `instance`: with `restart_after`, its replacement is due.
    pub(super) fn crashed_by_fault(&mut self, f: FaultId, instance: InstanceId) {
        let service = self.instances[instance].service;
        if let Some(after) = self.sc.services[service.ix()].restart_after {
            let at = self.now() + after;
            self.queue.schedule_at(at, Event::Replace { fault: f, instance });
        }
    }

    /// The crashed `instance` is replaced: it leaves the balancers, and a new instance
    /// starts in its place (in its crash fault's list, so the fault can crash it again).
    pub(super) fn replace_crashed(&mut self, f: FaultId, instance: InstanceId) {
        if !self.instances[instance].down {
            return;
        }
        let service = self.instances[instance].service;
        self.leave(instance);
        let startup = self.sc.services[service.ix()].startup;
        let replacement = self.start_replica(service, startup);
        for i in self.fault_instances[f].iter_mut().filter(|i| **i == instance) {
            *i = replacement;
        }
    }

    /// A replacement (or any started replica) `id` takes traffic: a crash fault still on
    /// crashes it again; a rolling restart goes on.
    pub(super) fn replacement_ready(&mut self, id: InstanceId) {
        let now = self.now();
        let crash_on = self.fault_instances.iter_enumerated().find_map(|(f, ids)| {
            let fault = &self.sc.faults[f.ix()];
            (matches!(fault.kind, FaultKind::Crash { .. }) && now < fault.end() && ids.contains(&id)).then_some(f)
        });
        if let Some(f) = crash_on {
            self.crash(id);
            self.crashed_by_fault(f, id);
        }
        self.replica_gone(id);
    }

    /// `id` no longer counts as a replacement in progress (it is ready, or was scaled in
    /// before it was): the rolling restarts waiting on it go on.
    pub(super) fn replica_gone(&mut self, id: InstanceId) {
        let waiting: Vec<FaultId> = self
            .rolling
            .iter_mut()
            .filter_map(|(f, r)| {
                let before = r.replacing.len();
                r.replacing.retain(|&i| i != id);
                (r.replacing.len() < before).then_some(*f)
            })
            .collect();
        for f in waiting {
            self.rolling_step(f);
        }
    }

    /// A rolling restart starts: every instance of its service taking traffic now is to
    /// be replaced, in order.
    pub(super) fn start_rolling(&mut self, f: FaultId) {
        let service = self.sc.faults[f.ix()].target.service();
        let to_evict = self.services[super::ids::ServiceId::from(service)].instances.clone();
        self.rolling.push((f, Rolling { to_evict, ..Rolling::default() }));
        self.rolling_step(f);
    }

    /// Evicts what the restart's `max_unavailable` and the disruption budget allow now.
    pub(super) fn rolling_step(&mut self, f: FaultId) {
        let fault = &self.sc.faults[f.ix()];
        let FaultKind::RollingRestart { max_unavailable } = fault.kind else { return };
        let service = super::ids::ServiceId::from(fault.target.service());
        let svc = &self.sc.services[service.ix()];
        let Some(k) = self.rolling.iter().position(|(g, _)| *g == f) else { return };
        loop {
            let r = &self.rolling[k].1;
            if r.to_evict.is_empty() || r.replacing.len() as u32 >= max_unavailable {
                return;
            }
            let healthy = self.services[service].instances.iter().filter(|&&i| !self.instances[i].down).count() as u32;
            if healthy <= svc.min_available.unwrap_or(0) {
                // Refused (HTTP 429): tried again later.
                if !self.rolling[k].1.retry_pending {
                    self.rolling[k].1.retry_pending = true;
                    let at = self.now() + EVICTION_RETRY;
                    self.queue.schedule_at(at, Event::RollingRetry(f));
                }
                return;
            }
            let old = self.rolling[k].1.to_evict.remove(0);
            // Scaled in or replaced since the restart began: nothing to evict.
            if !self.services[service].instances.contains(&old) {
                continue;
            }
            self.leave(old);
            let replacement = self.start_replica(service, svc.startup);
            self.rolling[k].1.replacing.push(replacement);
        }
    }

    /// A refused eviction is tried again.
    pub(super) fn rolling_retry(&mut self, f: FaultId) {
        if let Some((_, r)) = self.rolling.iter_mut().find(|(g, _)| *g == f) {
            r.retry_pending = false;
        }
        self.rolling_step(f);
    }
}

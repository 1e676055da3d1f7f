//! Faults: crashes and pauses act on instances when they start and end (the instances a
//! crash took are kept, so the same ones come back); rolling restarts replace instances
//! (`sim::disruption`); latency, error and partition faults are recomputed onto
//! endpoints and routes at each boundary.

use super::ids::{EndpointId, FaultId, InstanceId, RouteId, ServiceId};
use super::{Event, Simulator};
use crate::engine::SimDuration;
use crate::model::{FaultKind, FaultTarget};

impl Simulator<'_> {
    pub(super) fn schedule_faults(&mut self) {
        for (i, fault) in self.sc.faults.iter().enumerate() {
            self.queue.schedule_at(fault.at, Event::FaultStart(FaultId::from(i)));
            self.queue.schedule_at(fault.end(), Event::FaultEnd(FaultId::from(i)));
        }
    }

    /// The first `n` instances of the fault's service (a crash or a pause takes those).
    fn first_instances(&self, service: usize, n: u32) -> Vec<InstanceId> {
        self.services[ServiceId::from(service)].instances.iter().take(n as usize).copied().collect()
    }

    pub(super) fn fault_start(&mut self, f: FaultId) {
        let fault = &self.sc.faults[f.ix()];
        match fault.kind {
            FaultKind::Crash { instances } => {
                self.fault_instances[f] = self.first_instances(fault.target.service(), instances);
                for k in 0..self.fault_instances[f].len() {
                    let i = self.fault_instances[f][k];
                    self.crash(i);
                    self.crashed_by_fault(f, i);
                }
            }
            FaultKind::Pause { instances } => {
                let end = fault.end();
                for i in self.first_instances(fault.target.service(), instances) {
                    self.pause(i, end);
                }
            }
            FaultKind::RollingRestart { .. } => self.start_rolling(f),
            _ => self.apply_faults(),
        }
    }

    pub(super) fn fault_end(&mut self, f: FaultId) {
        let fault = &self.sc.faults[f.ix()];
        match fault.kind {
            // Without `restart_after`, the instances it took are back now; with it, they
            // are replaced on their own schedule (`sim::disruption`).
            FaultKind::Crash { .. } if self.sc.services[fault.target.service()].restart_after.is_none() => {
                for k in 0..self.fault_instances[f].len() {
                    let i = self.fault_instances[f][k];
                    self.restart(i);
                }
            }
            FaultKind::Crash { .. } | FaultKind::Pause { .. } => {} // `paused_until` has passed.
            FaultKind::RollingRestart { .. } => {}                  // Its window is nominal: it ends when done.
            _ => self.apply_faults(),
        }
    }

    /// Recomputes the latency, error and partition faults in force now.
    fn apply_faults(&mut self) {
        let now = self.now();
        for ep in self.endpoints.iter_mut() {
            ep.fault_factor = 1.0;
            ep.fault_add = SimDuration::ZERO;
            ep.fault_errors = 0.0;
        }
        for r in self.routes.iter_mut() {
            r.partitioned = false;
            r.fault_factor = 1.0;
            r.fault_add = SimDuration::ZERO;
            r.fault_errors = 0.0;
        }
        for fault in self.sc.faults.iter().filter(|f| f.at <= now && now < f.end()) {
            let endpoints: Vec<EndpointId> = match fault.target {
                FaultTarget::Service(s) => {
                    (0..self.sc.services[s].endpoints.len()).map(|e| self.endpoint_of(s, e)).collect()
                }
                FaultTarget::Endpoint(e) => vec![self.endpoint_of(e.service, e.endpoint)],
                FaultTarget::Edge { .. } => Vec::new(),
            };
            let routes: Vec<RouteId> = match fault.target {
                FaultTarget::Edge { from, to } => self
                    .routes
                    .iter_enumerated()
                    .filter(|(_, r)| {
                        r.from_service == Some(ServiceId::from(from)) && r.to_service == ServiceId::from(to)
                    })
                    .map(|(id, _)| id)
                    .collect(),
                _ => Vec::new(),
            };
            match fault.kind {
                FaultKind::Latency { factor, add } => {
                    for e in endpoints {
                        self.endpoints[e].fault_factor *= factor;
                        self.endpoints[e].fault_add = self.endpoints[e].fault_add + add;
                    }
                    for r in routes {
                        self.routes[r].fault_factor *= factor;
                        self.routes[r].fault_add = self.routes[r].fault_add + add;
                    }
                }
                FaultKind::Errors { rate } => {
                    for e in endpoints {
                        let p = &mut self.endpoints[e].fault_errors;
                        *p = 1.0 - (1.0 - *p) * (1.0 - rate);
                    }
                    for r in routes {
                        let p = &mut self.routes[r].fault_errors;
                        *p = 1.0 - (1.0 - *p) * (1.0 - rate);
                    }
                }
                FaultKind::Partition => {
                    for r in routes {
                        self.routes[r].partitioned = true;
                    }
                }
                FaultKind::Crash { .. } | FaultKind::Pause { .. } | FaultKind::RollingRestart { .. } => {}
            }
        }
    }
}

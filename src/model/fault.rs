//! Faults: degradations injected over a window of simulated time.

use super::service::{EndpointRef, ServiceId};
use crate::engine::{SimDuration, SimTime};

#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub kind: FaultKind,
    pub target: FaultTarget,
    pub at: SimTime,
    pub duration: SimDuration,
}

impl Fault {
    pub fn end(&self) -> SimTime {
        self.at + self.duration
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// Own work is multiplied by `factor`, then `add` is added. On an edge, the same
    /// applies to the network latency of the edge.
    Latency { factor: f64, add: SimDuration },
    /// Extra failure probability: after own work on a service or endpoint; on an edge,
    /// the call fails as `error` without reaching the callee.
    Errors { rate: f64 },
    /// `instances` of the target service are down: calls to them fail at once as
    /// `unavailable`; work in flight on them is lost (its callers see `unavailable`).
    Crash { instances: u32 },
    /// On an edge `a->b`: calls neither arrive nor answer, so callers see timeouts.
    Partition,
    /// `instances` of the target stop making progress, then resume.
    Pause { instances: u32 },
    /// Every instance of the target service is replaced, `max_unavailable` at a time, by
    /// evictions that respect its `min_available` (a disruption budget): each leaves the
    /// balancers and drains, and its replacement takes traffic after the service's
    /// `startup`. The fault's `duration` is the nominal time this takes.
    RollingRestart { max_unavailable: u32 },
}

impl FaultKind {
    pub const NAMES: [&'static str; 6] = ["latency", "errors", "crash", "partition", "pause", "rolling_restart"];
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FaultTarget {
    Service(ServiceId),
    Endpoint(EndpointRef),
    /// Calls from the first service to the second.
    Edge {
        from: ServiceId,
        to: ServiceId,
    },
}

impl FaultTarget {
    /// The service whose behaviour this fault changes directly (the callee for an edge).
    pub fn service(self) -> ServiceId {
        match self {
            FaultTarget::Service(s) => s,
            FaultTarget::Endpoint(e) => e.service,
            FaultTarget::Edge { to, .. } => to,
        }
    }
}

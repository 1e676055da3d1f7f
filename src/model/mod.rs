//! The domain model: a validated scenario (services, endpoints, calls, policies, loads,
//! faults) and the simulator that runs it on the engine.
//!
//! Only validated types live here; `scenario` builds them from TOML. Everything is
//! addressed by index (`ServiceId`, `PolicyId`, ...), never by name, inside a run.

pub mod autoscaling;
pub mod counters;
pub mod dist;
pub mod expect;
pub mod fault;
pub mod graph;
pub mod lint;
pub mod load;
pub mod outcome;
pub mod policy;
pub mod resilience;
pub mod rollout;
pub mod service;

pub use dist::{Dist, DistError};
pub use fault::{Fault, FaultKind, FaultTarget};
pub use load::{Arrival, Load, LoadKind, Slo};
pub use outcome::{Outcome, OutcomeCounts, OutcomeSet};
pub use policy::{
    Backoff, BreakerWindow, Bulkhead, CircuitBreakerConfig, Jitter, Policy, PolicyId, PolicyOrigin, Retry, RetryBudget,
};
pub use service::{Balancer, CallSite, Endpoint, EndpointRef, RateLimit, Service, ServiceId, Step};

use crate::engine::SimDuration;

/// A validated scenario, ready to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Where it came from (for messages and outputs), e.g. `scenarios/checkout.toml`.
    pub source: String,
    /// FNV-1a hash of the scenario text(s) it was built from, as 16 hex digits.
    pub hash: String,
    /// What was laid over the base file, in order (`--change` files, then `--set`
    /// options), so an output can say exactly which config it ran.
    pub overlays: Vec<OverlaySource>,
    pub simulation: Simulation,
    pub services: Vec<Service>,
    pub policies: Vec<Policy>,
    pub loads: Vec<Load>,
    pub faults: Vec<Fault>,
    pub gates: Gates,
    /// `[[expect]]`: machine-checked claims about this scenario's outputs.
    pub expect: Vec<expect::Expectation>,
    /// A rollout replayed in this run (`stormcast rollout`): the canary is one of
    /// `services`. `None` for every scenario read from a file.
    pub rollout: Option<Box<rollout::RolloutPlan>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Simulation {
    pub duration: SimDuration,
    /// Excluded from every statistic.
    pub warmup: SimDuration,
    /// Time-series resolution.
    pub bucket: SimDuration,
    /// Default seed for `run`.
    pub seed: u64,
    /// One-way latency added to every call, each way.
    pub network: Option<Dist>,
}

/// One `--change` file or `--set` option applied over the base scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct OverlaySource {
    /// `"change"` or `"set"`.
    pub kind: &'static str,
    /// The change file's path as given, or the `--set` option as written (`KEY=VALUE`).
    pub source: String,
    /// FNV-1a of the change file's text (of the option for a `--set`), 16 hex digits.
    pub hash: String,
}

/// `[gates]`, used by `compare`. Every field is optional.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gates {
    /// P(SLO violated) across seeds, proposed config.
    pub max_slo_risk: Option<f64>,
    /// Proposed minus base.
    pub max_slo_risk_increase: Option<f64>,
    /// Relative p99 increase, paired over seeds.
    pub max_p99_increase: Option<f64>,
    /// P(never recovers) across seeds, proposed config (extension).
    pub max_metastable_risk: Option<f64>,
    /// Proposed minus base (extension).
    pub max_metastable_risk_increase: Option<f64>,
}

impl Scenario {
    /// Whether two scenarios simulate the same thing: the same simulation settings,
    /// services, policies, loads and faults. Where they came from, their hash and their
    /// `[gates]` (which judge a comparison, not the runs) are left out.
    pub fn simulates_like(&self, other: &Scenario) -> bool {
        self.simulation == other.simulation
            && self.services == other.services
            && self.policies == other.policies
            && self.loads == other.loads
            && self.faults == other.faults
            && self.rollout == other.rollout
    }

    /// Whether service `s`'s instances can come and go during a run: it is autoscaled,
    /// replaces crashed instances (`restart_after`), or a rolling restart targets it.
    pub fn instances_vary(&self, s: ServiceId) -> bool {
        let svc = &self.services[s];
        svc.autoscaling.is_some()
            || svc.restart_after.is_some()
            || self.faults.iter().any(|f| matches!(f.kind, FaultKind::RollingRestart { .. }) && f.target.service() == s)
    }

    pub fn service_by_name(&self, name: &str) -> Option<ServiceId> {
        self.services.iter().position(|s| s.name == name)
    }

    pub fn endpoint_name(&self, e: EndpointRef) -> String {
        let s = &self.services[e.service];
        format!("{}/{}", s.name, s.endpoints[e.endpoint].name)
    }
}

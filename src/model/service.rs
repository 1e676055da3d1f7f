//! Services, their endpoints and the calls an endpoint makes.

use super::dist::Dist;
use super::policy::PolicyId;
use super::resilience::concurrency::AdaptiveConcurrency;
use crate::engine::SimDuration;

/// Index of a service in `Scenario::services`.
pub type ServiceId = usize;

/// An endpoint, addressed as `"service/endpoint"` in files.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EndpointRef {
    pub service: ServiceId,
    /// Index in that service's `endpoints`.
    pub endpoint: usize,
}

/// How callers pick an instance of a service.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Balancer {
    RoundRobin,
    Random,
    /// Power of two choices as Envoy's least-request balancer does it: two instances
    /// drawn independently (with replacement, so both may be the same one), the one
    /// with fewer requests in it (queued plus being served) wins, the first on a tie
    /// (`sim::balancer::least_requests`).
    LeastRequests,
}

impl Balancer {
    pub const NAMES: [&'static str; 3] = ["round_robin", "random", "least_requests"];
}

/// Per-instance token bucket (`rate_limit = { rate, burst }`): over it, `throttled`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct RateLimit {
    /// Tokens per second.
    pub rate: f64,
    /// Bucket size; the bucket starts full.
    pub burst: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    pub name: String,
    pub instances: u32,
    /// Concurrent requests per instance.
    pub workers: u64,
    /// Waiting room per instance; `None` is unbounded.
    pub queue: Option<u64>,
    pub balancer: Balancer,
    /// Default policy for every outgoing call of this service (`client = "..."`).
    pub client: Option<PolicyId>,
    pub rate_limit: Option<RateLimit>,
    /// A Horizontal Pod Autoscaler on it (`[services.NAME.autoscaling]`); `instances` is
    /// then the count it starts with.
    pub autoscaling: Option<super::autoscaling::Autoscaling>,
    /// Envoy's adaptive concurrency filter on each instance.
    pub adaptive_concurrency: Option<AdaptiveConcurrency>,
    /// A crashed instance is replaced this long after it crashed (liveness probe and
    /// restart); `None`: it stays down until its crash fault ends.
    pub restart_after: Option<SimDuration>,
    /// From an instance's (re)start to its taking traffic.
    pub startup: SimDuration,
    /// A disruption budget: voluntary disruptions (a rolling restart's evictions) never
    /// leave fewer instances taking traffic than this.
    pub min_available: Option<u32>,
    pub endpoints: Vec<Endpoint>,
}

impl Service {
    /// The most instances it can have at once: `instances`, or up to its autoscaler's
    /// `max_replicas`.
    pub fn most_instances(&self) -> u32 {
        self.autoscaling.as_ref().map_or(self.instances, |a| a.max_replicas.max(self.instances))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub name: String,
    /// Own work, done first, holding a worker.
    pub latency: Dist,
    /// Probability that the request fails after its own work, without making its calls.
    pub error_rate: f64,
    /// Calls made in order after the own work.
    pub steps: Vec<Step>,
}

/// One entry of an endpoint's `calls` list.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Call(CallSite),
    /// Members start together; the step ends when all have ended.
    Parallel(Vec<CallSite>),
}

/// A call an endpoint makes to another endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct CallSite {
    pub to: EndpointRef,
    /// The effective policy: the call's own (inline or named), else the calling
    /// service's `client`, else none (no timeout, no retries).
    pub policy: Option<PolicyId>,
    /// Probability that the call is made at all.
    pub probability: f64,
    /// An optional call's failure does not fail the endpoint.
    pub optional: bool,
}

impl Step {
    pub fn calls(&self) -> &[CallSite] {
        match self {
            Step::Call(c) => std::slice::from_ref(c),
            Step::Parallel(cs) => cs,
        }
    }

    pub fn calls_mut(&mut self) -> &mut [CallSite] {
        match self {
            Step::Call(c) => std::slice::from_mut(c),
            Step::Parallel(cs) => cs,
        }
    }
}

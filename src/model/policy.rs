//! Client resilience policy configuration (timeouts, retries, budgets, breakers,
//! bulkheads), as resolved from `[policies]`, inline `policy = {..}` tables, a
//! service's `client` and a load's `policy`.

use super::outcome::OutcomeSet;
pub use super::resilience::admission_control::AdmissionControl;
pub use super::resilience::breaker::{BreakerWindow, CircuitBreakerConfig};
pub use super::resilience::budget::RetryBudget;
pub use super::resilience::bulkhead::Bulkhead;
pub use super::resilience::hedging::Hedging;
use super::resilience::nominal_delay;
pub use super::resilience::outlier::OutlierDetection;
pub use super::resilience::throttling::AdaptiveThrottling;
use crate::engine::SimDuration;

/// Index of a policy in `Scenario::policies`.
pub type PolicyId = usize;

/// Where a policy was written, recorded by validation, so that a message can name its
/// TOML key without decoding the policy's name.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum PolicyOrigin {
    /// `[policies.NAME]`.
    #[default]
    Named,
    /// An inline table, or a policy derived for a load, at this TOML key, e.g.
    /// `services.api.client`, `services.api.endpoints.get.calls[0].policy`,
    /// `load[1].policy`.
    At(String),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Policy {
    /// `[policies.NAME]`, or a generated name such as `"frontend/checkout#2"` for an
    /// inline policy (calls are numbered from 1 in file order).
    pub name: String,
    pub origin: PolicyOrigin,
    /// Per try, client side.
    pub timeout: Option<SimDuration>,
    /// Overall, across all tries and backoff.
    pub deadline: Option<SimDuration>,
    /// A server skips queued work whose caller already gave up.
    pub deadline_propagation: bool,
    pub retry: Option<Retry>,
    /// gRFC A6 hedging; never with `retry` (validation).
    pub hedging: Option<Hedging>,
    pub retry_budget: Option<RetryBudget>,
    pub circuit_breaker: Option<CircuitBreakerConfig>,
    pub bulkhead: Option<Bulkhead>,
    /// The SRE book's client-side adaptive throttling.
    pub adaptive_throttling: Option<AdaptiveThrottling>,
    /// Envoy's admission control filter.
    pub admission_control: Option<AdmissionControl>,
    /// Envoy's outlier detection, with its balancer's panic threshold.
    pub outlier_detection: Option<OutlierDetection>,
}

impl Policy {
    /// Where the policy is written, as a TOML key path (`policies.NAME` for a named one).
    pub fn key(&self) -> String {
        match &self.origin {
            PolicyOrigin::Named => format!("policies.{}", self.name),
            PolicyOrigin::At(key) => key.clone(),
        }
    }

    /// Tries per call at most: `retry.max_attempts` or `hedging.max_attempts`, or 1.
    pub fn attempts(&self) -> u32 {
        match (&self.retry, &self.hedging) {
            (Some(r), _) => r.max_attempts.max(1),
            (None, Some(h)) => h.max_attempts,
            (None, None) => 1,
        }
    }

    /// The total nominal backoff of all retries, without jitter (saturating).
    pub fn backoff_total(&self) -> SimDuration {
        let Some(retry) = self.retry.as_ref() else { return SimDuration::ZERO };
        (1..retry.max_attempts).fold(SimDuration::ZERO, |sum, k| sum + nominal_delay(&retry.backoff, k))
    }

    /// All tries at the full per-try timeout plus the backoff between them (the
    /// configured upper bound on the wait before the deadline); `None` without a timeout.
    /// Hedged copies overlap: the last starts `delay` x (max_attempts - 1) after the
    /// first, and may take a whole timeout from there.
    pub fn tries_total(&self) -> Option<SimDuration> {
        let timeout = self.timeout?;
        if let Some(h) = &self.hedging {
            let spread = h.delay.as_nanos().saturating_mul(u64::from(h.max_attempts - 1));
            return Some(timeout + SimDuration::from_nanos(spread));
        }
        let tries = SimDuration::from_nanos(timeout.as_nanos().saturating_mul(u64::from(self.attempts())));
        Some(tries + self.backoff_total())
    }

    /// The longest a caller waits for one call, tries and backoff included; `None`
    /// when nothing bounds it.
    pub fn wait_bound(&self) -> Option<SimDuration> {
        match (self.tries_total(), self.deadline) {
            (Some(t), Some(d)) => Some(t.min(d)),
            (t, d) => t.or(d),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Retry {
    /// Counts the first try; >= 1.
    pub max_attempts: u32,
    pub backoff: Backoff,
    pub jitter: Jitter,
    /// Outcomes that are retried.
    pub on: OutcomeSet,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Backoff {
    /// Retry at once.
    None,
    /// `base` before every retry.
    Constant { base: SimDuration },
    /// Before retry k (k = 1 for the first retry): `min(max, base * multiplier^(k-1))`.
    Exponential { base: SimDuration, multiplier: f64, max: SimDuration },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Jitter {
    None,
    /// Uniform in [0, d].
    Full,
    /// d/2 + uniform in [0, d/2].
    Equal,
    /// min(max, uniform in [base, 3 * previous]); the first "previous" is `base`.
    Decorrelated,
}

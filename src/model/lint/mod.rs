//! Static risk lints: resilience configurations known to cause cascading failures,
//! found from a validated scenario alone, without simulating it (`stormcast check`).
//!
//! Each lint is a rule an SRE would agree with, backed by
//! `reference/resilience-semantics.md` (sections 4.1, 4.6, 4.9):
//!
//! * retry amplification: the product of attempts along a call path is the factor by
//!   which an outage at its end multiplies the load it receives;
//! * retries at more than one layer ("decide which layer retries", SRE book);
//! * timeouts that do not shrink down the stack, and callers that give up before
//!   their callee can answer (wasted work), and per-try timeouts below the callee's
//!   mean response;
//! * retries with no stage that limits them (budget, breaker, adaptive throttling),
//!   retry budgets that cannot hold retries to a share of the load, retries without
//!   backoff, and exponential backoff without a `max`;
//! * a per-try timeout that the overall deadline makes unreachable;
//! * hedging with no stage that limits its copies, and a hedging delay below the
//!   callee's mean response (copies on a large share of calls);
//! * circuit breakers whose `min_calls` the traffic cannot fill within the window, and
//!   count-window breakers whose `min_calls` Resilience4j silently caps.
//!
//! A load's own policy models the users (or an SDK outside the system): its retries
//! count in the amplification of every path, but the lints that ask the operator to
//! change a policy (budgets, backoff, layering) look only at calls between services.
//!
//! Estimates use means (`Dist::mean_ns`) and the nominal backoff without jitter. The
//! order of the result is deterministic: by anchor (the load, in file order, then the
//! calling endpoint in file order), then by kind, then by discovery order.
//!
//! One file per family of rules, each adding methods to the shared `Context`:
//! `amplification.rs` (1 and 2: retries along call paths), `timeouts.rs` (3: timeouts
//! down the stack), `policies.rs` (what a policy allows and where it is written, and
//! 4 and 6: policies that retry unsafely: budgets, backoff, deadlines), `stages.rs`
//! (5: each client stage's own lint, written in the mechanism's module, such as the
//! circuit breaker's), `autoscaling.rs` (spikes shorter than an autoscaler's reaction),
//! `hedging.rs` (7: hedging that multiplies load), `lifecycle.rs` (rolling restarts that
//! take everything down or can never proceed), `unused.rs` (definitions nothing
//! uses). This file holds the
//! lint types, the entry point, the names and rates the rules share, and the number
//! formatting of the messages.

mod amplification;
mod autoscaling;
mod hedging;
mod lifecycle;
mod policies;
mod stages;
mod timeouts;
mod unused;

pub use stages::Site;

use std::fmt;

use super::Scenario;
use super::graph::{CallGraph, Rates};
use super::service::{CallSite, EndpointRef};

/// Retry amplification from this factor up is reported. Ten is where retries stop
/// being a nuisance and become an outage multiplier: a service provisioned with the
/// usual 2-3x headroom is overwhelmed many times over when everything below it fails
/// at once, and the SRE book's per-request cap of 3 attempts allows at most two layers
/// (3 x 3 = 9) before crossing it.
pub const RETRY_AMPLIFICATION_THRESHOLD: u64 = 10;

/// Call paths enumerated per load. The call graph is acyclic but the number of paths
/// can grow exponentially with its depth; beyond this the path lints stop for that
/// load rather than take unbounded time.
pub const MAX_PATHS_PER_LOAD: usize = 10_000;

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LintKind {
    /// The product of attempts along a path is at least `RETRY_AMPLIFICATION_THRESHOLD`.
    RetryAmplification,
    /// Two or more service-to-service calls on one path retry.
    RetryLayers,
    /// A callee's per-try timeout on its own call is at least its caller's.
    CalleeTimeoutLonger,
    /// One slow dependency, waited for with all its tries and backoff, makes a callee
    /// answer after its caller has given up.
    TimeoutInversion,
    /// A caller's per-try timeout is below the callee's estimated mean response.
    TimeoutBelowResponse,
    /// A deadline no longer than the per-try timeout: timed-out tries are never retried.
    DeadlineWithinTimeout,
    /// Retries with no stage that limits them (`ClientStage::LIMITS_RETRIES`: a retry budget, a circuit breaker, adaptive throttling).
    RetryWithoutBudget,
    /// A retry budget that cannot hold retries to a share of the load: one whose ratio
    /// lets every retry `max_attempts` allows through (a concurrency budget at ratio 1,
    /// a token bucket that deposits a whole call's retries per first try), or one too
    /// large for the run to exhaust (`min_concurrency`, `capacity` or `max_tokens`
    /// beyond the retries or failures the run can make at its peak load).
    RetryBudgetCannotBind,
    /// Retries with no backoff (immediate).
    RetryWithoutBackoff,
    /// Exponential backoff without `max` whose last retry waits more than 10 x `base`
    /// (Envoy's default cap): it grows without bound with `max_attempts`.
    BackoffWithoutMax,
    /// Hedging with no stage that limits its copies (`ClientStage::LIMITS_RETRIES`).
    HedgingWithoutBudget,
    /// A hedging `delay` below the callee's estimated mean response: copies on a large
    /// share of calls.
    HedgeDelayBelowResponse,
    /// A client stage's own finding, named by the stage (`ClientStage::lint`), e.g.
    /// `breaker-cannot-open`.
    Stage(&'static str),
    /// A load spike shorter than an autoscaler's `sync_period` plus its `startup`: no
    /// replica it adds can take traffic before the spike is over.
    AutoscalingTooSlow,
    /// A rolling restart whose `max_unavailable` covers every instance, with no
    /// `min_available`: the service is down while they start.
    RollingRestartTakesAll,
    /// A `min_available` no lower than the instance count under a rolling restart: no
    /// eviction is ever allowed.
    BudgetBlocksRestart,
    /// Something the scenario defines that nothing uses: a service no load or call
    /// reaches, an endpoint nobody calls, a named policy nobody uses, a fault that
    /// cannot change anything. (In a `--change` or `--set` this is an error instead.)
    Unused,
}

impl LintKind {
    /// A stable name for machine-readable output.
    pub fn name(self) -> &'static str {
        match self {
            LintKind::RetryAmplification => "retry-amplification",
            LintKind::RetryLayers => "retry-layers",
            LintKind::CalleeTimeoutLonger => "callee-timeout-longer",
            LintKind::TimeoutInversion => "timeout-inversion",
            LintKind::TimeoutBelowResponse => "timeout-below-response",
            LintKind::DeadlineWithinTimeout => "deadline-within-timeout",
            LintKind::RetryWithoutBudget => "retry-without-budget",
            LintKind::RetryBudgetCannotBind => "retry-budget-cannot-bind",
            LintKind::RetryWithoutBackoff => "retry-without-backoff",
            LintKind::BackoffWithoutMax => "backoff-without-max",
            LintKind::HedgingWithoutBudget => "hedging-without-budget",
            LintKind::HedgeDelayBelowResponse => "hedge-delay-below-response",
            LintKind::Stage(name) => name,
            LintKind::AutoscalingTooSlow => "autoscaling-too-slow-for-spike",
            LintKind::RollingRestartTakesAll => "rolling-restart-takes-all",
            LintKind::BudgetBlocksRestart => "disruption-budget-blocks-restart",
            LintKind::Unused => "unused",
        }
    }
}

/// One warning.
#[derive(Clone, Debug, PartialEq)]
pub struct Lint {
    pub kind: LintKind,
    /// The call path concerned, e.g. `["load:shoppers", "frontend/checkout", "payment/charge"]`.
    pub path: Vec<String>,
    /// The configuration keys involved, as written in TOML, e.g.
    /// `policies.payment-client.retry.max_attempts`.
    pub keys: Vec<String>,
    /// A self-contained sentence: what, the numbers, and why it is a risk.
    pub message: String,
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "warning: {}", self.message)?;
        if !self.keys.is_empty() {
            write!(f, " (keys: {})", self.keys.join(", "))?;
        }
        Ok(())
    }
}

/// All lints of a scenario, in a deterministic order (see the module docs).
pub fn lint(s: &Scenario) -> Vec<Lint> {
    let cx = Context::new(s);
    let mut found: Vec<(Anchor, Lint)> = Vec::new();
    for load in 0..s.loads.len() {
        cx.path_lints(load, &mut found);
    }
    cx.timeout_lints(&mut found);
    cx.policy_lints(&mut found);
    cx.hedging_lints(&mut found);
    cx.stage_lints(&mut found);
    cx.autoscaling_lints(&mut found);
    cx.server_stage_lints(&mut found);
    cx.lifecycle_lints(&mut found);
    cx.unused_lints(&mut found);
    // Stable: within an anchor and a kind, discovery order (file order) is kept.
    found.sort_by_key(|(anchor, l)| (*anchor, l.kind));
    let mut out: Vec<Lint> = Vec::new();
    for (_, l) in found {
        // Two call sites from one endpoint to the same callee give the same warning.
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

/// What a lint is attached to, for ordering.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Anchor {
    Load(usize),
    Endpoint(EndpointRef),
    /// The scenario as a whole (definitions nothing uses), after everything else.
    Scenario,
}

/// Who makes a call: a load (its users) or an endpoint.
#[derive(Copy, Clone)]
enum Caller {
    Load(usize),
    Endpoint(EndpointRef),
}

/// What every rule reads: the scenario, and one walk of its call graph.
struct Context<'a> {
    s: &'a Scenario,
    /// Unloaded responses and reachability, from one walk of the call graph.
    graph: CallGraph,
}

impl<'a> Context<'a> {
    fn new(s: &'a Scenario) -> Context<'a> {
        Context { s, graph: CallGraph::new(s) }
    }

    /// Mean response of an endpoint with no queueing (`model::graph`).
    fn response_of(&self, e: EndpointRef) -> f64 {
        self.graph.response_ns[e.service][e.endpoint]
    }

    fn endpoint(&self, e: EndpointRef) -> String {
        self.s.endpoint_name(e)
    }

    fn caller_name(&self, c: Caller) -> String {
        match c {
            Caller::Load(i) => format!("load:{}", self.s.loads[i].name),
            Caller::Endpoint(e) => self.endpoint(e),
        }
    }

    /// Every call made by a service endpoint, in file order, with its caller.
    fn call_sites(&self) -> Vec<(EndpointRef, &'a CallSite)> {
        let mut out = Vec::new();
        for (si, sv) in self.s.services.iter().enumerate() {
            for (ei, ep) in sv.endpoints.iter().enumerate() {
                for step in &ep.steps {
                    for c in step.calls() {
                        out.push((EndpointRef { service: si, endpoint: ei }, c));
                    }
                }
            }
        }
        out
    }

    fn rates(&self, which: Rates) -> (Vec<Vec<f64>>, Vec<Vec<bool>>) {
        self.graph.rates(self.s, which)
    }
}

#[cfg(test)]
mod tests;

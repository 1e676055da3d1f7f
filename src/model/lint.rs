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
//! * retries with neither a budget nor a breaker, retry budgets that cannot hold
//!   retries to a share of the load, retries without backoff, and exponential backoff
//!   without a `max`;
//! * a per-try timeout that the overall deadline makes unreachable;
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

use std::fmt;

use super::Scenario;
use super::fault::FaultTarget;
use super::graph::{CallGraph, Rates};
use super::outcome::Outcome;
use super::policy::{Backoff, BreakerWindow, Policy, PolicyId, RetryBudget};
use super::resilience::nominal_delay;
use super::service::{CallSite, EndpointRef};
use crate::engine::SimDuration;

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
    /// Retries with neither a retry budget nor a circuit breaker.
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
    /// A time-window breaker whose `min_calls` the traffic cannot fill.
    BreakerCannotOpen,
    /// A count-window breaker with `min_calls` > window size (capped by Resilience4j).
    BreakerMinCallsCapped,
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
            LintKind::BreakerCannotOpen => "breaker-cannot-open",
            LintKind::BreakerMinCallsCapped => "breaker-min-calls-capped",
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
    cx.breaker_lints(&mut found);
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

/// One hop of a call path: the call into `to`, under `policy`.
#[derive(Copy, Clone)]
struct Hop {
    to: EndpointRef,
    policy: Option<PolicyId>,
    /// False for the first hop, from the load.
    between_services: bool,
}

struct Context<'a> {
    s: &'a Scenario,
    /// Unloaded responses and reachability, from one walk of the call graph.
    graph: CallGraph,
}

impl<'a> Context<'a> {
    fn new(s: &'a Scenario) -> Context<'a> {
        Context { s, graph: CallGraph::new(s) }
    }

    // ---- estimates -------------------------------------------------------------

    /// Mean response of an endpoint with no queueing (`model::graph`).
    fn response_of(&self, e: EndpointRef) -> f64 {
        self.graph.response_ns[e.service][e.endpoint]
    }

    /// Definitions nothing uses (the same reachability validation uses for overlays).
    fn unused_lints(&self, out: &mut Vec<(Anchor, Lint)>) {
        let (s, g) = (self.s, &self.graph);
        let mut add = |message: String, key: String| {
            out.push((Anchor::Scenario, Lint { kind: LintKind::Unused, path: Vec::new(), keys: vec![key], message }));
        };
        for (i, sv) in s.services.iter().enumerate() {
            if !g.service_reached[i] {
                add(
                    format!("service `{}` is used by nothing: no load targets it and no call reaches it", sv.name),
                    format!("services.{}", sv.name),
                );
                continue;
            }
            for (_, ep) in sv.endpoints.iter().enumerate().filter(|(e, _)| !g.endpoint_called[i][*e]) {
                add(
                    format!(
                        "endpoint `{}/{}` is used by nothing: no load targets it and no call names it",
                        sv.name, ep.name
                    ),
                    format!("services.{}.endpoints.{}", sv.name, ep.name),
                );
            }
        }
        // Inline policies carry generated names with `/` or `#` and belong to their call.
        for p in g.unused_policies().filter(|&p| !s.policies[p].name.contains(['/', '#'])) {
            let name = &s.policies[p].name;
            add(
                format!("policy `{name}` is used by nothing: no load, call or calling service's `client` names it"),
                format!("policies.{name}"),
            );
        }
        for (i, f) in s.faults.iter().enumerate().filter(|(_, f)| !g.fault_target_reachable(f.target)) {
            let target = match f.target {
                FaultTarget::Service(t) => s.services[t].name.clone(),
                FaultTarget::Endpoint(e) => s.endpoint_name(e),
                FaultTarget::Edge { from, to } => format!("{}->{}", s.services[from].name, s.services[to].name),
            };
            add(
                format!("fault #{} on `{target}` can change nothing: no load's requests go there", i + 1),
                format!("fault.{i}.target"),
            );
        }
    }

    fn policy(&self, id: Option<PolicyId>) -> Option<&'a Policy> {
        id.map(|i| &self.s.policies[i])
    }

    fn attempts(&self, id: Option<PolicyId>) -> u32 {
        self.policy(id).map_or(1, Policy::attempts)
    }

    /// How long one try may last: the smaller of `timeout` and `deadline`.
    fn per_try_limit(&self, id: Option<PolicyId>) -> Option<SimDuration> {
        let p = self.policy(id)?;
        match (p.timeout, p.deadline) {
            (Some(t), Some(d)) => Some(t.min(d)),
            (t, d) => t.or(d),
        }
    }

    /// The total nominal backoff of all retries, without jitter.
    fn backoff_total(&self, id: Option<PolicyId>) -> SimDuration {
        self.policy(id).map_or(SimDuration::ZERO, Policy::backoff_total)
    }

    /// All tries at the full per-try timeout plus the backoff between them.
    fn tries_total(&self, id: Option<PolicyId>) -> Option<SimDuration> {
        self.policy(id)?.tries_total()
    }

    /// The longest a caller waits for one call, tries and backoff included; `None`
    /// when nothing bounds it.
    fn bound(&self, id: Option<PolicyId>) -> Option<SimDuration> {
        self.policy(id)?.wait_bound()
    }

    fn bound_ns(&self, id: Option<PolicyId>) -> Option<f64> {
        self.bound(id).map(|d| d.as_nanos() as f64)
    }

    /// How `bound` comes about, e.g. "2 tries x 3s + 100ms backoff".
    fn describe_bound(&self, id: Option<PolicyId>) -> String {
        let Some(p) = self.policy(id) else { return "unbounded".to_string() };
        let attempts = self.attempts(id);
        let backoff = self.backoff_total(id);
        let tries = match p.timeout {
            Some(t) if attempts > 1 && backoff > SimDuration::ZERO => {
                let ns = backoff.as_nanos() as f64;
                let of = if ns >= SATURATED_NS { " of" } else { "" };
                Some(format!("{attempts} tries x {t} + {}{of} backoff", human(ns)))
            }
            Some(t) if attempts > 1 => Some(format!("{attempts} tries x {t}")),
            Some(t) => Some(format!("one try of {t}")),
            None => None,
        };
        match (tries, p.deadline, self.tries_total(id)) {
            (Some(t), Some(d), Some(total)) if d < total => format!("{t}, cut to the {d} deadline"),
            (Some(t), _, _) => t,
            (None, Some(d), _) => format!("the {d} deadline"),
            (None, None, _) => "unbounded".to_string(),
        }
    }

    // ---- names and keys --------------------------------------------------------

    fn endpoint(&self, e: EndpointRef) -> String {
        self.s.endpoint_name(e)
    }

    fn caller_name(&self, c: Caller) -> String {
        match c {
            Caller::Load(i) => format!("load:{}", self.s.loads[i].name),
            Caller::Endpoint(e) => self.endpoint(e),
        }
    }

    /// Where a policy is written, as a TOML key path. Named policies are
    /// `policies.NAME`; inline ones carry generated names (see `scenario::validate`):
    /// `svc/ep#N` for call N of an endpoint (numbered from 1, parallel members
    /// included), `svc#client` for a service's client and `load/NAME` for a load's.
    /// Policy names may not contain `/` or `#`, so the patterns cannot collide.
    fn policy_key(&self, id: PolicyId) -> String {
        let name = &self.s.policies[id].name;
        if let Some(load) = name.strip_prefix("load/")
            && let Some(i) = self.s.loads.iter().position(|l| l.name == load)
        {
            return format!("load[{i}].policy");
        }
        if let Some(service) = name.strip_suffix("#client") {
            return format!("services.{service}.client");
        }
        if let Some((endpoint, number)) = name.rsplit_once('#')
            && let Ok(number) = number.parse::<usize>()
            && let Some((service, ep)) = endpoint.split_once('/')
            && let Some(sv) = self.s.services.iter().find(|sv| sv.name == service)
            && let Some(e) = sv.endpoints.iter().find(|e| e.name == ep)
        {
            let mut n = 0;
            for (i, step) in e.steps.iter().enumerate() {
                match step {
                    super::service::Step::Call(_) => {
                        n += 1;
                        if n == number {
                            return format!("services.{service}.endpoints.{ep}.calls[{i}].policy");
                        }
                    }
                    super::service::Step::Parallel(members) => {
                        for j in 0..members.len() {
                            n += 1;
                            if n == number {
                                return format!("services.{service}.endpoints.{ep}.calls[{i}].parallel[{j}].policy");
                            }
                        }
                    }
                }
            }
        }
        format!("policies.{name}")
    }

    fn key(&self, id: PolicyId, field: &str) -> String {
        format!("{}.{field}", self.policy_key(id))
    }

    /// A policy for messages: "policy `db-client`" or "the inline policy at KEY".
    fn policy_label(&self, id: PolicyId) -> String {
        let key = self.policy_key(id);
        match key.strip_prefix("policies.") {
            Some(name) => format!("policy `{name}`"),
            None => format!("the policy at `{key}`"),
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

    // ---- 1 and 2: retries along call paths --------------------------------------

    fn path_lints(&self, load: usize, out: &mut Vec<(Anchor, Lint)>) {
        let l = &self.s.loads[load];
        let mut stack = vec![Hop { to: l.target, policy: l.policy, between_services: false }];
        let mut budget = MAX_PATHS_PER_LOAD;
        self.walk(load, &mut stack, &mut budget, out);
    }

    /// Depth-first over the paths below the top of `stack`. Returns whether any hop
    /// below the top retries; a path is reported only at its deepest retrying hop, so
    /// three retrying layers give one warning, not one per prefix.
    fn walk(&self, load: usize, stack: &mut Vec<Hop>, budget: &mut usize, out: &mut Vec<(Anchor, Lint)>) -> bool {
        if *budget == 0 {
            return true;
        }
        *budget -= 1;
        let top = *stack.last().expect("a path has a first hop");
        let mut retries_below = false;
        for step in &self.s.services[top.to.service].endpoints[top.to.endpoint].steps {
            for c in step.calls() {
                stack.push(Hop { to: c.to, policy: c.policy, between_services: true });
                let below = self.walk(load, stack, budget, out);
                stack.pop();
                retries_below |= below || self.attempts(c.policy) > 1;
            }
        }
        if !retries_below && self.attempts(top.policy) > 1 {
            self.report_path(load, stack, out);
        }
        retries_below
    }

    fn report_path(&self, load: usize, stack: &[Hop], out: &mut Vec<(Anchor, Lint)>) {
        let mut path = vec![format!("load:{}", self.s.loads[load].name)];
        path.extend(stack.iter().map(|h| self.endpoint(h.to)));
        let shown = path.join(" -> ");
        let retrying: Vec<&Hop> = stack.iter().filter(|h| self.attempts(h.policy) > 1).collect();
        let keys = |hops: &[&Hop]| {
            let mut keys: Vec<String> = Vec::new();
            for h in hops {
                let key = self.key(h.policy.expect("a retrying hop has a policy"), "retry.max_attempts");
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            keys
        };
        let factors: Vec<String> = retrying.iter().map(|h| self.attempts(h.policy).to_string()).collect();
        // Exact while it fits in a u64 (max_attempts goes up to 2^32 - 1, so three layers
        // can overflow); beyond, a float in scientific notation rather than u64::MAX.
        let exact = retrying.iter().try_fold(1u64, |p, h| p.checked_mul(u64::from(self.attempts(h.policy))));
        let amplifies = exact.is_none_or(|p| p >= RETRY_AMPLIFICATION_THRESHOLD);
        let product = match exact {
            Some(p) => p.to_string(),
            None => format!("{:.2e}", retrying.iter().map(|h| f64::from(self.attempts(h.policy))).product::<f64>()),
        };
        let leaf = self.endpoint(stack.last().expect("non-empty").to);
        let anchor = Anchor::Load(load);
        if amplifies {
            out.push((
                anchor,
                Lint {
                    kind: LintKind::RetryAmplification,
                    path: path.clone(),
                    keys: keys(&retrying),
                    message: format!(
                        "retry amplification {product}x along {shown} ({} attempts): when {leaf} fails, \
                         each request of the load reaches it up to {product} times, so an outage there \
                         multiplies its load {product}-fold (threshold {RETRY_AMPLIFICATION_THRESHOLD}x)",
                        factors.join(" x ")
                    ),
                },
            ));
        }
        let layers: Vec<&Hop> = retrying.iter().copied().filter(|h| h.between_services).collect();
        if layers.len() >= 2 {
            let who: Vec<String> = layers
                .iter()
                .map(|h| {
                    let caller = stack
                        .iter()
                        .position(|x| std::ptr::eq(x, *h))
                        .and_then(|i| i.checked_sub(1))
                        .map_or_else(|| self.caller_name(Caller::Load(load)), |i| self.endpoint(stack[i].to));
                    format!("{caller} -> {} ({}x)", self.endpoint(h.to), self.attempts(h.policy))
                })
                .collect();
            out.push((
                anchor,
                Lint {
                    kind: LintKind::RetryLayers,
                    path,
                    keys: keys(&layers),
                    message: format!(
                        "retries at {} layers along {shown}: {}; retries at every layer multiply, and the \
                         SRE book's advice is to decide which layer retries (usually the one right above \
                         the failure) and make the others fail fast",
                        layers.len(),
                        who.join(", ")
                    ),
                },
            ));
        }
    }

    // ---- 3: timeouts down the stack ---------------------------------------------

    fn timeout_lints(&self, out: &mut Vec<(Anchor, Lint)>) {
        for (i, l) in self.s.loads.iter().enumerate() {
            self.timeouts_of(Caller::Load(i), l.target, l.policy, Anchor::Load(i), out);
        }
        for (from, c) in self.call_sites() {
            self.timeouts_of(Caller::Endpoint(from), c.to, c.policy, Anchor::Endpoint(from), out);
        }
    }

    /// Checks one call (`caller` -> `callee` under `policy`) against the calls the
    /// callee makes in turn.
    fn timeouts_of(
        &self,
        caller: Caller,
        callee: EndpointRef,
        policy: Option<PolicyId>,
        anchor: Anchor,
        out: &mut Vec<(Anchor, Lint)>,
    ) {
        let (Some(limit), Some(pid)) = (self.per_try_limit(policy), policy) else { return };
        let limit_ns = limit.as_nanos() as f64;
        let limit_key = self.limit_key(pid);
        let caller_name = self.caller_name(caller);
        let callee_name = self.endpoint(callee);
        let typical = self.response_of(callee) + 2.0 * self.graph.network_ns;
        // An infinite mean (a Pareto tail with alpha <= 1) says nothing about typical
        // calls: stay quiet rather than guess.
        if !typical.is_finite() {
            return;
        }
        if typical > limit_ns {
            out.push((
                anchor,
                Lint {
                    kind: LintKind::TimeoutBelowResponse,
                    path: vec![caller_name.clone(), callee_name.clone()],
                    keys: vec![limit_key.clone()],
                    message: format!(
                        "{caller_name} gives up on {callee_name} after {limit} per try, but {callee_name} \
                         takes about {} on average: many tries time out even when nothing is wrong, and \
                         their work is wasted",
                        human(typical)
                    ),
                },
            ));
            return;
        }
        let ep = &self.s.services[callee.service].endpoints[callee.endpoint];
        for (si, step) in ep.steps.iter().enumerate() {
            for c in step.calls() {
                let path = vec![caller_name.clone(), callee_name.clone(), self.endpoint(c.to)];
                let shown = path.join(" -> ");
                let Some(cpid) = c.policy else { continue };
                if let Some(inner) = self.per_try_limit(c.policy)
                    && inner >= limit
                {
                    out.push((
                        anchor,
                        Lint {
                            kind: LintKind::CalleeTimeoutLonger,
                            path,
                            keys: vec![limit_key.clone(), self.limit_key(cpid)],
                            message: format!(
                                "timeouts grow down the stack along {shown}: {callee_name} waits up to {inner} \
                                 per try for {} ({} in all: {}), but {caller_name} gives up on it after {limit}; \
                                 when {} slows down, {callee_name} holds workers for answers nobody waits for \
                                 any more. Timeouts should shrink at each layer down",
                                self.endpoint(c.to),
                                self.bound_ns(c.policy).map_or_else(|| "unbounded".to_string(), human),
                                self.describe_bound(c.policy),
                                self.endpoint(c.to),
                            ),
                        },
                    ));
                    continue;
                }
                // The callee's response if this one call takes its whole configured bound
                // and everything else is typical.
                let Some(bound) = self.bound_ns(c.policy) else { continue };
                let mut need = ep.latency.mean_ns() + 2.0 * self.graph.network_ns;
                for (sj, other) in ep.steps.iter().enumerate() {
                    let mut slowest: f64 = 0.0;
                    for m in other.calls() {
                        let t = if si == sj && std::ptr::eq(m, c) {
                            bound
                        } else {
                            let callee = self.response_of(m.to) + 2.0 * self.graph.network_ns;
                            m.probability * self.bound_ns(m.policy).map_or(callee, |b| callee.min(b))
                        };
                        slowest = slowest.max(t);
                    }
                    need += slowest;
                }
                if need > limit_ns {
                    let mut keys = vec![limit_key.clone(), self.limit_key(cpid)];
                    if self.attempts(c.policy) > 1 {
                        keys.push(self.key(cpid, "retry.max_attempts"));
                    }
                    out.push((
                        anchor,
                        Lint {
                            kind: LintKind::TimeoutInversion,
                            path,
                            keys,
                            message: format!(
                                "timeout inversion along {shown}: {caller_name} gives up on {callee_name} after \
                                 {limit}, but {callee_name} may wait {} for {} ({}), {} in all \
                                 with its other work; when {} is slow, {caller_name} times out first and all \
                                 the work below is wasted",
                                up_to(bound),
                                self.endpoint(c.to),
                                self.describe_bound(c.policy),
                                about(need),
                                self.endpoint(c.to),
                            ),
                        },
                    ));
                }
            }
        }
    }

    /// The key that sets a policy's per-try limit: its `timeout`, or its `deadline`
    /// when that is shorter or the only one.
    fn limit_key(&self, id: PolicyId) -> String {
        let p = &self.s.policies[id];
        match (p.timeout, p.deadline) {
            (Some(t), Some(d)) if d < t => self.key(id, "deadline"),
            (Some(_), _) => self.key(id, "timeout"),
            (None, _) => self.key(id, "deadline"),
        }
    }

    // ---- 4 and 6: policies that retry unsafely ----------------------------------

    fn policy_lints(&self, out: &mut Vec<(Anchor, Lint)>) {
        // (policy, first use, its path, number of uses), in order of first use.
        let mut uses: Vec<(PolicyId, Anchor, Vec<String>, usize, bool)> = Vec::new();
        let mut note = |pid: Option<PolicyId>, anchor: Anchor, path: Vec<String>, between_services: bool| {
            let Some(pid) = pid else { return };
            match uses.iter_mut().find(|u| u.0 == pid) {
                Some(u) => {
                    u.3 += 1;
                    u.4 |= between_services;
                }
                None => uses.push((pid, anchor, path, 1, between_services)),
            }
        };
        for (i, l) in self.s.loads.iter().enumerate() {
            note(l.policy, Anchor::Load(i), vec![format!("load:{}", l.name), self.endpoint(l.target)], false);
        }
        for (from, c) in self.call_sites() {
            note(c.policy, Anchor::Endpoint(from), vec![self.endpoint(from), self.endpoint(c.to)], true);
        }
        let calls = self.calls_in_run();
        for (pid, anchor, path, count, between_services) in uses {
            let p = &self.s.policies[pid];
            let Some(retry) = &p.retry else { continue };
            if retry.max_attempts <= 1 {
                continue;
            }
            let label = self.policy_label(pid);
            let shown = path.join(" -> ");
            let used = match count {
                1 => shown,
                2 => format!("{shown} and 1 other call"),
                _ => format!("{shown} and {} other calls", count - 1),
            };
            if let (Some(t), Some(d)) = (p.timeout, p.deadline)
                && d <= t
                && retry.on.contains(Outcome::Timeout)
            {
                out.push((
                    anchor,
                    Lint {
                        kind: LintKind::DeadlineWithinTimeout,
                        path: path.clone(),
                        keys: vec![self.key(pid, "deadline"), self.key(pid, "timeout")],
                        message: format!(
                            "{label} (on {used}) has a deadline of {d}, not longer than its per-try timeout of \
                             {t}: a try that times out has used the whole deadline, so retries on `timeout` \
                             never happen; make the per-try timeout a fraction of the deadline"
                        ),
                    },
                ));
            }
            if !between_services {
                continue;
            }
            if p.retry_budget.is_none() && p.circuit_breaker.is_none() {
                out.push((
                    anchor,
                    Lint {
                        kind: LintKind::RetryWithoutBudget,
                        path: path.clone(),
                        keys: vec![self.key(pid, "retry.max_attempts"), self.key(pid, "retry_budget")],
                        message: format!(
                            "{label} (on {used}) retries up to {} attempts with neither a retry budget nor a \
                             circuit breaker: when the callee slows down every request turns into {} \
                             attempts, and a short spike can become a retry storm that outlives it; add a \
                             `retry_budget` (the SRE book keeps retries under 10% of requests)",
                            retry.max_attempts, retry.max_attempts
                        ),
                    },
                ));
            }
            if let Some(budget) = &p.retry_budget
                && let Some((field, why)) = self.budget_cannot_bind(budget, retry.max_attempts, calls[pid])
            {
                out.push((
                    anchor,
                    Lint {
                        kind: LintKind::RetryBudgetCannotBind,
                        path: path.clone(),
                        keys: vec![
                            self.key(pid, &format!("retry_budget.{field}")),
                            self.key(pid, "retry.max_attempts"),
                        ],
                        message: format!("the retry budget of {label} (on {used}) {why}"),
                    },
                ));
            }
            if let Backoff::Exponential { base, multiplier, max } = retry.backoff
                && max == SimDuration::MAX
                && base > SimDuration::ZERO
                && multiplier > 1.0
            {
                let retries = retry.max_attempts - 1;
                let last = nominal_delay(&retry.backoff, retries);
                let envoy_cap = SimDuration::from_nanos(base.as_nanos().saturating_mul(10));
                if last > envoy_cap {
                    out.push((
                        anchor,
                        Lint {
                            kind: LintKind::BackoffWithoutMax,
                            path: path.clone(),
                            keys: vec![self.key(pid, "retry.max"), self.key(pid, "retry.max_attempts")],
                            message: format!(
                                "{label} (on {used}) backs off exponentially from {base} (x{multiplier} per retry) \
                                 with no `max`: the last of its {retries} retries waits {} before jitter, more \
                                 than 10 x base (Envoy's default cap), and every extra attempt multiplies it \
                                 again, without bound; set `max` (gRPC requires maxBackoff)",
                                human(last.as_nanos() as f64)
                            ),
                        },
                    ));
                }
            }
            let immediate = match retry.backoff {
                Backoff::None => true,
                Backoff::Constant { base } | Backoff::Exponential { base, .. } => base == SimDuration::ZERO,
            };
            if immediate {
                out.push((
                    anchor,
                    Lint {
                        kind: LintKind::RetryWithoutBackoff,
                        path,
                        keys: vec![self.key(pid, "retry.backoff")],
                        message: format!(
                            "{label} (on {used}) retries at once, without backoff: retries arrive while the \
                             callee is still overloaded and in step with each other; use randomized \
                             exponential backoff (SRE book)"
                        ),
                    },
                ));
            }
        }
    }

    /// Per policy (`PolicyId`), an upper bound on the calls one of its budget states
    /// sees in the whole run: a budget is kept per (caller instance, callee service,
    /// policy), so this is the largest over (caller service, callee service) of the
    /// calls made under the policy, at the peak rates ([`Rates::Peak`]) for the whole
    /// duration, all caller instances together. Generous on purpose: a budget that
    /// cannot be exhausted even by that cannot be exhausted by the run.
    fn calls_in_run(&self) -> Vec<f64> {
        let (rate, _) = self.rates(Rates::Peak);
        let seconds = self.s.simulation.duration.as_nanos() as f64 / 1e9;
        // (policy, caller service, callee service) -> calls, in order of first use.
        let mut groups: Vec<(PolicyId, usize, usize, f64)> = Vec::new();
        for (from, c) in self.call_sites() {
            let Some(pid) = c.policy else { continue };
            let calls = rate[from.service][from.endpoint] * c.probability * seconds;
            match groups.iter_mut().find(|g| (g.0, g.1, g.2) == (pid, from.service, c.to.service)) {
                Some(g) => g.3 += calls,
                None => groups.push((pid, from.service, c.to.service, calls)),
            }
        }
        let mut out = vec![0.0; self.s.policies.len()];
        for (pid, _, _, calls) in groups {
            out[pid] = f64::max(out[pid], calls);
        }
        out
    }

    /// Why a retry budget cannot hold retries to a share of the load, with the key
    /// under `retry_budget` to change; `None` if it can. `calls` bounds the calls of one
    /// budget state over the run ([`Context::calls_in_run`]); a budget no call reaches
    /// is left alone. The conditions follow the budgets' own rules
    /// (`resilience::budget`):
    ///
    /// * concurrency: a retry is refused when retries in flight >= max(min_concurrency,
    ///   floor(ratio x attempts in flight)). Retries in flight never exceed the run's
    ///   retries, so a `min_concurrency` at least that large never refuses. At ratio 1
    ///   the limit is every attempt in flight: it refuses only when retries (those in
    ///   backoff included) are at least all the attempts in flight, which bounds no
    ///   share of the load.
    /// * token bucket: a retry needs a whole token; the bucket starts full and deposits
    ///   only add, so a `capacity` at least the run's retries never runs dry. A ratio of
    ///   at least max_attempts - 1 tokens per first try pays for every retry of every
    ///   call; only a burst larger than the capacity can be refused. (A ratio of 1 with
    ///   3 attempts still binds: one retry per call on average, not two.)
    /// * gRPC throttling: each retryable failure takes one token and retries stop at or
    ///   below max_tokens / 2, so a run that cannot fail max_tokens / 2 attempts (at
    ///   most max_attempts per call) never throttles. The token ratio cannot make it
    ///   toothless: a burst of failures throttles whatever successes add.
    fn budget_cannot_bind(&self, budget: &RetryBudget, attempts: u32, calls: f64) -> Option<(&'static str, String)> {
        if !(calls > 0.0 && calls.is_finite()) {
            return None;
        }
        let retries_each = f64::from(attempts - 1);
        let retries = retries_each * calls;
        let duration = self.s.simulation.duration;
        // "the whole 60s run can make at most about 12000 retries (...)".
        let run = |what: String, each: String| {
            format!(
                "the whole {duration} run can make at most about {what} ({} calls at the peak rate, counting every \
                 retry upstream, {each} each)",
                count(calls)
            )
        };
        let retries_text = || {
            let each = format!("{} {}", count(retries_each), if attempts == 2 { "retry" } else { "retries" });
            run(format!("{} retries", count(retries)), each)
        };
        match *budget {
            RetryBudget::Concurrency { ratio, min_concurrency } => {
                if f64::from(min_concurrency) >= retries {
                    return Some((
                        "min_concurrency",
                        format!(
                            "has min_concurrency = {min_concurrency}, and {}: it can never refuse a retry",
                            retries_text()
                        ),
                    ));
                }
                (ratio >= 1.0).then(|| {
                    (
                        "ratio",
                        format!(
                            "has ratio = {ratio}: it allows as many retries in flight as there are attempts in \
                             flight, so it refuses a retry only when the retries in flight (those waiting out \
                             their backoff included) are already at least all the attempts in flight; it holds \
                             retries to no share of the load, and a slow callee still sees every request up to \
                             {attempts} times; Envoy's default is 20% (ratio = 0.2)"
                        ),
                    )
                })
            }
            RetryBudget::TokenBucket { ratio, capacity } => {
                if capacity >= retries {
                    return Some((
                        "capacity",
                        format!(
                            "starts full with {} tokens, and {}: it can never run dry",
                            num(capacity),
                            retries_text()
                        ),
                    ));
                }
                (ratio >= retries_each).then(|| {
                    (
                        "ratio",
                        format!(
                            "deposits {} token per first try, enough for every retry its call can make \
                             (max_attempts = {attempts}): over a run it pays for all the retries max_attempts \
                             allows, and only a burst of more than its {} tokens at once can be refused; \
                             Finagle's default deposits 0.2",
                            num(ratio),
                            num(capacity)
                        ),
                    )
                })
            }
            RetryBudget::GrpcThrottling { max_tokens, .. } => {
                let failures = f64::from(attempts) * calls;
                (failures < max_tokens / 2.0).then(|| {
                    (
                        "max_tokens",
                        format!(
                            "throttles retries only once it has lost half of max_tokens = {}, a token per \
                             failed attempt, and {}: it can never throttle",
                            num(max_tokens),
                            run(format!("{} failed attempts", count(failures)), format!("{attempts} attempts"))
                        ),
                    )
                })
            }
        }
    }

    // ---- 5: circuit breakers ----------------------------------------------------

    fn rates(&self, which: Rates) -> (Vec<Vec<f64>>, Vec<Vec<bool>>) {
        self.graph.rates(self.s, which)
    }

    fn breaker_lints(&self, out: &mut Vec<(Anchor, Lint)>) {
        let (rate, closed) = self.rates(Rates::Start);
        let mut capped_seen: Vec<PolicyId> = Vec::new();
        for (from, c) in self.call_sites() {
            let Some(pid) = c.policy else { continue };
            let Some(cb) = &self.s.policies[pid].circuit_breaker else { continue };
            let path = vec![self.endpoint(from), self.endpoint(c.to)];
            let shown = path.join(" -> ");
            let label = self.policy_label(pid);
            let anchor = Anchor::Endpoint(from);
            match cb.window {
                BreakerWindow::Count(size) => {
                    if cb.min_calls > size && !capped_seen.contains(&pid) {
                        capped_seen.push(pid);
                        out.push((
                            anchor,
                            Lint {
                                kind: LintKind::BreakerMinCallsCapped,
                                path,
                                keys: vec![
                                    self.key(pid, "circuit_breaker.min_calls"),
                                    self.key(pid, "circuit_breaker.size"),
                                ],
                                message: format!(
                                    "the circuit breaker of {label} (on {shown}) has min_calls = {} but a \
                                     count window of {size} calls: Resilience4j caps min_calls at the window \
                                     size, so it may open after only {size} calls, not {}",
                                    cb.min_calls, cb.min_calls
                                ),
                            },
                        ));
                    }
                }
                BreakerWindow::Time(seconds) => {
                    let instances = f64::from(self.s.services[from.service].instances.max(1));
                    let total = rate[from.service][from.endpoint] * c.probability;
                    let per_instance = total / instances;
                    let per_window = per_instance * f64::from(seconds);
                    // No traffic at all (an unused endpoint) is not this lint's business.
                    if total <= 0.0 || !per_window.is_finite() || per_window >= f64::from(cb.min_calls) {
                        continue;
                    }
                    let bound = if closed[from.service][from.endpoint] { "at most " } else { "" };
                    let attempts = self.attempts(c.policy);
                    let retries = if attempts > 1 {
                        let with = per_window * f64::from(attempts);
                        if with >= f64::from(cb.min_calls) {
                            format!("; only retries of failing calls ({attempts} attempts) could fill it")
                        } else {
                            format!("; even with every call retried ({attempts} attempts) it is {}", num(with))
                        }
                    } else {
                        String::new()
                    };
                    out.push((
                        anchor,
                        Lint {
                            kind: LintKind::BreakerCannotOpen,
                            path,
                            keys: vec![
                                self.key(pid, "circuit_breaker.min_calls"),
                                self.key(pid, "circuit_breaker.size"),
                            ],
                            message: format!(
                                "the circuit breaker of {label} on {shown} counts calls per {} instance: at the \
                                 starting load that is {bound}{}/s ({}/s over {} instances), {bound}{} calls in \
                                 its {seconds}s window, fewer than min_calls = {}{retries}; it cannot open, so \
                                 it will not protect {} when {} fails",
                                self.s.services[from.service].name,
                                num(per_instance),
                                num(total),
                                num(instances),
                                num(per_window),
                                cb.min_calls,
                                self.endpoint(from),
                                self.endpoint(c.to),
                            ),
                        },
                    ));
                }
            }
        }
    }
}

/// `SimDuration::MAX` in nanoseconds, about 584.5 years: a sum of durations that
/// reaches it has saturated, and the true figure (if any) is larger. No run lasts that
/// long, so such a wait is, for the simulator, without bound.
const SATURATED_NS: f64 = u64::MAX as f64;

/// A Julian year in nanoseconds.
const YEAR_NS: f64 = 365.25 * 86_400.0 * 1e9;

/// A duration in nanoseconds with three significant figures at most, e.g. `6.1s`; in
/// years from a year on, and "over 584 years" once it has saturated (never the
/// saturated count of nanoseconds itself).
fn human(ns: f64) -> String {
    if !ns.is_finite() {
        return "unbounded".to_string();
    }
    if ns >= SATURATED_NS {
        return format!("over {} years", (SATURATED_NS / YEAR_NS).floor());
    }
    if ns >= YEAR_NS {
        return format!("{} years", num(ns / YEAR_NS));
    }
    let (value, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "us")
    } else {
        (ns, "ns")
    };
    format!("{}{unit}", num(value))
}

/// "up to 6.1s", or "without bound (over 584 years)" for a saturated wait.
fn up_to(ns: f64) -> String {
    if ns >= SATURATED_NS { format!("without bound ({})", human(ns)) } else { format!("up to {}", human(ns)) }
}

/// "about 6.1s", or "over 584 years" for a saturated wait.
fn about(ns: f64) -> String {
    if ns >= SATURATED_NS { human(ns) } else { format!("about {}", human(ns)) }
}

/// A count for messages: whole, with no decimals (estimates are rounded).
fn count(value: f64) -> String {
    format!("{:.0}", value.round())
}

/// A number with at most two decimals and no trailing zeros.
fn num(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

#[cfg(test)]
mod tests;

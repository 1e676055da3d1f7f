//! Policies as the lints see them: what one allows (attempts, per-try limit, the
//! longest wait) and where it is written (its TOML key, its name in messages); and
//! lints 4 and 6, policies that retry unsafely: a deadline within the per-try timeout,
//! retries with neither a budget nor a breaker, budgets that cannot bind, exponential
//! backoff without a `max`, retries without backoff.

use super::{Anchor, Context, Lint, LintKind};
use crate::engine::SimDuration;
use crate::format::{SATURATED_NS, duration_ns, two_decimals, whole};
use crate::model::graph::Rates;
use crate::model::outcome::Outcome;
use crate::model::policy::{Backoff, Policy, PolicyId, RetryBudget};
use crate::model::resilience::{limits_retries, nominal_delay};

impl<'a> Context<'a> {
    pub(super) fn policy(&self, id: Option<PolicyId>) -> Option<&'a Policy> {
        id.map(|i| &self.s.policies[i])
    }

    pub(super) fn attempts(&self, id: Option<PolicyId>) -> u32 {
        self.policy(id).map_or(1, Policy::attempts)
    }

    /// How long one try may last: the smaller of `timeout` and `deadline`.
    pub(super) fn per_try_limit(&self, id: Option<PolicyId>) -> Option<SimDuration> {
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

    pub(super) fn bound_ns(&self, id: Option<PolicyId>) -> Option<f64> {
        self.bound(id).map(|d| d.as_nanos() as f64)
    }

    /// How `bound` comes about, e.g. "2 tries x 3s + 100ms backoff".
    pub(super) fn describe_bound(&self, id: Option<PolicyId>) -> String {
        let Some(p) = self.policy(id) else { return "unbounded".to_string() };
        let attempts = self.attempts(id);
        let backoff = self.backoff_total(id);
        let tries = match (p.timeout, &p.hedging) {
            (Some(t), Some(h)) => Some(format!("{attempts} copies {} apart, the last waited up to {t}", h.delay)),
            (Some(t), None) if attempts > 1 && backoff > SimDuration::ZERO => {
                let ns = backoff.as_nanos() as f64;
                let of = if ns >= SATURATED_NS { " of" } else { "" };
                Some(format!("{attempts} tries x {t} + {}{of} backoff", duration_ns(ns)))
            }
            (Some(t), None) if attempts > 1 => Some(format!("{attempts} tries x {t}")),
            (Some(t), None) => Some(format!("one try of {t}")),
            (None, _) => None,
        };
        match (tries, p.deadline, self.tries_total(id)) {
            (Some(t), Some(d), Some(total)) if d < total => format!("{t}, cut to the {d} deadline"),
            (Some(t), _, _) => t,
            (None, Some(d), _) => format!("the {d} deadline"),
            (None, None, _) => "unbounded".to_string(),
        }
    }

    /// Where a policy is written, as a TOML key path (recorded by validation).
    fn policy_key(&self, id: PolicyId) -> String {
        self.s.policies[id].key()
    }

    pub(super) fn key(&self, id: PolicyId, field: &str) -> String {
        format!("{}.{field}", self.policy_key(id))
    }

    /// A policy for messages: "policy `db-client`" or "the inline policy at KEY".
    pub(super) fn policy_label(&self, id: PolicyId) -> String {
        let key = self.policy_key(id);
        match key.strip_prefix("policies.") {
            Some(name) => format!("policy `{name}`"),
            None => format!("the policy at `{key}`"),
        }
    }

    /// The key that sets a policy's per-try limit: its `timeout`, or its `deadline`
    /// when that is shorter or the only one.
    pub(super) fn limit_key(&self, id: PolicyId) -> String {
        let p = &self.s.policies[id];
        match (p.timeout, p.deadline) {
            (Some(t), Some(d)) if d < t => self.key(id, "deadline"),
            (Some(_), _) => self.key(id, "timeout"),
            (None, _) => self.key(id, "deadline"),
        }
    }

    // ---- 4 and 6: policies that retry unsafely ----------------------------------

    pub(super) fn policy_lints(&self, out: &mut Vec<(Anchor, Lint)>) {
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
            if !limits_retries(p) {
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
                                duration_ns(last.as_nanos() as f64)
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
                whole(calls)
            )
        };
        let retries_text = || {
            let each = format!("{} {}", whole(retries_each), if attempts == 2 { "retry" } else { "retries" });
            run(format!("{} retries", whole(retries)), each)
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
                            two_decimals(capacity),
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
                            two_decimals(ratio),
                            two_decimals(capacity)
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
                            two_decimals(max_tokens),
                            run(format!("{} failed attempts", whole(failures)), format!("{attempts} attempts"))
                        ),
                    )
                })
            }
        }
    }
}

//! Lint 3: timeouts down the stack. A per-try timeout below the callee's mean
//! response, a callee that waits longer per try than its caller, and a callee that,
//! waiting out one slow dependency, answers after its caller has given up.

use super::{Anchor, Caller, Context, Lint, LintKind};
use crate::format::{about_duration_ns, duration_ns, up_to_duration_ns};
use crate::model::policy::PolicyId;
use crate::model::service::EndpointRef;

impl Context<'_> {
    pub(super) fn timeout_lints(&self, out: &mut Vec<(Anchor, Lint)>) {
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
                        duration_ns(typical)
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
                                self.bound_ns(c.policy).map_or_else(|| "unbounded".to_string(), duration_ns),
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
                                up_to_duration_ns(bound),
                                self.endpoint(c.to),
                                self.describe_bound(c.policy),
                                about_duration_ns(need),
                                self.endpoint(c.to),
                            ),
                        },
                    ));
                }
            }
        }
    }
}

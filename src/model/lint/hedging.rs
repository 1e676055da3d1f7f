//! Lint 7: hedging that multiplies load. Each copy is a whole extra request at the
//! callee: hedging with no stage that limits it (grpc-java's hedging example: "Setting
//! a throttle in the service config is recommended to protect the server from too many
//! inappropriate retry or hedging requests") sends every
//! copy exactly when the callee slows down as a whole; and a `delay` below the callee's
//! mean response sends copies on a large share of calls (all of them when its responses
//! vary little) even when nothing is wrong. Calls between services only: a load's
//! policy models its users, whom the operator does not configure.

use super::{Anchor, Caller, Context, Lint, LintKind};
use crate::format::duration_ns;
use crate::model::policy::PolicyId;
use crate::model::resilience::limits_retries;
use crate::model::service::EndpointRef;

impl Context<'_> {
    pub(super) fn hedging_lints(&self, out: &mut Vec<(Anchor, Lint)>) {
        for (from, c) in self.call_sites() {
            self.hedging_of(from, c.to, c.policy, Anchor::Endpoint(from), out);
        }
    }

    /// Checks one call (`caller` -> `callee` under `policy`) that hedges.
    fn hedging_of(
        &self,
        caller: EndpointRef,
        callee: EndpointRef,
        policy: Option<PolicyId>,
        anchor: Anchor,
        out: &mut Vec<(Anchor, Lint)>,
    ) {
        let Some(pid) = policy else { return };
        let p = &self.s.policies[pid];
        let Some(h) = &p.hedging else { return };
        let (caller_name, callee_name) = (self.caller_name(Caller::Endpoint(caller)), self.endpoint(callee));
        let path = vec![caller_name.clone(), callee_name.clone()];
        let label = self.policy_label(pid);
        let n = h.max_attempts;
        if !limits_retries(p) {
            out.push((
                anchor,
                Lint {
                    kind: LintKind::HedgingWithoutBudget,
                    path: path.clone(),
                    keys: vec![self.key(pid, "hedging.max_attempts"), self.key(pid, "retry_budget")],
                    message: format!(
                        "{label} hedges {caller_name} -> {callee_name} with up to {n} copies and nothing that \
                         limits them (no retry budget, breaker or throttling): when {callee_name} slows down \
                         as a whole, every call sends all {n}, multiplying its load by {n} exactly when it can \
                         least take it; add a `retry_budget` (gRFC A6 throttles hedges with retryThrottling)"
                    ),
                },
            ));
        }
        let typical = self.response_of(callee) + 2.0 * self.graph.network_ns;
        let delay = h.delay.as_nanos() as f64;
        if typical.is_finite() && delay < typical {
            out.push((
                anchor,
                Lint {
                    kind: LintKind::HedgeDelayBelowResponse,
                    path,
                    keys: vec![self.key(pid, "hedging.delay")],
                    message: format!(
                        "{label} sends a copy of each call from {caller_name} to {callee_name} after {}, but \
                         {callee_name} takes about {} on average: a large share of calls (all of them when its \
                         responses vary little) get copies even when nothing is wrong, multiplying its load; \
                         hedge at about its p95 instead",
                        h.delay,
                        duration_ns(typical)
                    ),
                },
            ));
        }
    }
}

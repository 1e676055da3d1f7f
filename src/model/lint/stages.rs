//! The lints of the client stages (circuit breaker, bulkhead, retry budget...): each
//! call site whose policy has stages is shown to every stage's own lint
//! (`ClientStage::lint`, in the mechanism's module), as a [`Site`]; and of the server
//! stages (adaptive concurrency): each service to its stages' (`ServerStage::lint`).

use super::{Anchor, Context, Lint};
use crate::model::Scenario;
use crate::model::graph::Rates;
use crate::model::policy::{Policy, PolicyId};
use crate::model::resilience::{ServerSite, server_stage_lints, stage_lints};
use crate::model::service::{CallSite, EndpointRef};

/// A call site with a policy, as a stage's lint sees it.
pub struct Site<'a> {
    pub scenario: &'a Scenario,
    /// The calling endpoint.
    pub from: EndpointRef,
    pub call: &'a CallSite,
    pub policy: &'a Policy,
    /// Calls per second on this site at the starting load, over all of the caller's
    /// instances.
    pub rate: f64,
    /// `rate` is an upper bound (a closed-loop load reaches the caller).
    pub at_most: bool,
    /// The first site, in file order, that uses this policy: findings about the config
    /// alone are reported there only.
    pub first_use: bool,
    /// The policy in messages: "policy `db-client`" or "the policy at `KEY`".
    pub label: String,
}

impl Site<'_> {
    /// The TOML key of one of the policy's fields, e.g. `policies.p.circuit_breaker.size`.
    pub fn key(&self, field: &str) -> String {
        format!("{}.{field}", self.policy.key())
    }

    /// The call as a path: `["caller/endpoint", "callee/endpoint"]`.
    pub fn path(&self) -> Vec<String> {
        vec![self.scenario.endpoint_name(self.from), self.scenario.endpoint_name(self.call.to)]
    }

    /// Tries per call.
    pub fn attempts(&self) -> u32 {
        self.policy.attempts()
    }
}

impl Context<'_> {
    pub(super) fn stage_lints(&self, out: &mut Vec<(Anchor, Lint)>) {
        let (rate, closed) = self.rates(Rates::Start);
        let mut seen: Vec<PolicyId> = Vec::new();
        for (from, c) in self.call_sites() {
            let Some(pid) = c.policy else { continue };
            let first_use = !seen.contains(&pid);
            if first_use {
                seen.push(pid);
            }
            let site = Site {
                scenario: self.s,
                from,
                call: c,
                policy: &self.s.policies[pid],
                rate: rate[from.service][from.endpoint] * c.probability,
                at_most: closed[from.service][from.endpoint],
                first_use,
                label: self.policy_label(pid),
            };
            out.extend(stage_lints(site.policy, &site).into_iter().map(|l| (Anchor::Endpoint(from), l)));
        }
    }

    /// Each service's server stages' own lints (`ServerStage::lint`), anchored at its
    /// first endpoint.
    pub(super) fn server_stage_lints(&self, out: &mut Vec<(Anchor, Lint)>) {
        for service in 0..self.s.services.len() {
            let anchor = Anchor::Endpoint(EndpointRef { service, endpoint: 0 });
            let site = ServerSite { scenario: self.s, service };
            out.extend(server_stage_lints(&site).into_iter().map(|l| (anchor, l)));
        }
    }
}

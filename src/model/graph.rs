//! The call graph of a validated scenario, walked once: what each endpoint costs when
//! nothing queues (its unloaded mean response), which services call which, and what
//! the loads can reach (services, endpoints, policies, edges).
//!
//! Validation guarantees the graph of endpoint calls is acyclic, so every walk here is
//! a memoised depth-first pass, linear in the number of call sites.

use super::Scenario;
use super::fault::FaultTarget;
use super::policy::PolicyId;
use super::service::{EndpointRef, ServiceId};

/// The call graph's derived facts. Vectors are indexed like `Scenario::services`
/// (and, inside, like a service's `endpoints`).
#[derive(Clone, Debug)]
pub struct CallGraph {
    /// Mean one-way network delay (`[simulation] network`), added twice per call.
    pub network_ns: f64,
    /// Estimated mean response of each endpoint with no queueing: its own work plus,
    /// per step, the slowest member's expected call time (probability x (callee's
    /// response + two network delays)), each call capped by its policy's wait bound.
    pub response_ns: Vec<Vec<f64>>,
    /// Per service: the services its endpoints call (each once, in index order).
    pub callees: Vec<Vec<ServiceId>>,
    /// Per service: reached by some load, directly or through calls.
    pub service_reached: Vec<bool>,
    /// Per service and endpoint: the target of a load or of a call.
    pub endpoint_called: Vec<Vec<bool>>,
    /// Per policy: the policy of some load or some call site (directly, or as the
    /// calling service's `client`).
    pub policy_used: Vec<bool>,
}

impl CallGraph {
    pub fn new(s: &Scenario) -> CallGraph {
        let network_ns = s.simulation.network.as_ref().map_or(0.0, |d| d.mean_ns());
        let mut memo: Vec<Vec<Option<f64>>> = s.services.iter().map(|sv| vec![None; sv.endpoints.len()]).collect();
        for (service, sv) in s.services.iter().enumerate() {
            for endpoint in 0..sv.endpoints.len() {
                response(s, EndpointRef { service, endpoint }, network_ns, &mut memo);
            }
        }
        let response_ns = memo.into_iter().map(|v| v.into_iter().map(|r| r.unwrap_or(0.0)).collect()).collect();
        let callees = s
            .services
            .iter()
            .map(|sv| {
                let mut to: Vec<ServiceId> = sv
                    .endpoints
                    .iter()
                    .flat_map(|e| &e.steps)
                    .flat_map(|st| st.calls())
                    .map(|c| c.to.service)
                    .collect();
                to.sort_unstable();
                to.dedup();
                to
            })
            .collect();
        let mut endpoint_called: Vec<Vec<bool>> = s.services.iter().map(|sv| vec![false; sv.endpoints.len()]).collect();
        let mut policy_used = vec![false; s.policies.len()];
        for load in &s.loads {
            endpoint_called[load.target.service][load.target.endpoint] = true;
            if let Some(p) = load.policy {
                policy_used[p] = true;
            }
        }
        for sv in &s.services {
            for call in sv.endpoints.iter().flat_map(|e| &e.steps).flat_map(|st| st.calls()) {
                endpoint_called[call.to.service][call.to.endpoint] = true;
                if let Some(p) = call.policy {
                    policy_used[p] = true;
                }
            }
        }
        // Reached: a walk from every load target along calls.
        let mut service_reached = vec![false; s.services.len()];
        let mut seen: Vec<Vec<bool>> = s.services.iter().map(|sv| vec![false; sv.endpoints.len()]).collect();
        let mut stack: Vec<EndpointRef> = s.loads.iter().map(|l| l.target).collect();
        while let Some(e) = stack.pop() {
            if std::mem::replace(&mut seen[e.service][e.endpoint], true) {
                continue;
            }
            service_reached[e.service] = true;
            for step in &s.services[e.service].endpoints[e.endpoint].steps {
                stack.extend(step.calls().iter().map(|c| c.to));
            }
        }
        CallGraph { network_ns, response_ns, callees, service_reached, endpoint_called, policy_used }
    }

    /// The unloaded mean response of a service: its slowest endpoint's (a service
    /// whose endpoints differ is judged against the slowest, so none is called slow
    /// for doing its normal work).
    pub fn service_response_ns(&self, service: ServiceId) -> f64 {
        self.response_ns[service].iter().copied().fold(0.0, f64::max)
    }

    /// Some call goes from `from` to `to` (an edge a fault can act on).
    pub fn has_edge(&self, from: ServiceId, to: ServiceId) -> bool {
        self.callees[from].binary_search(&to).is_ok()
    }

    /// Whether a fault on `target` can change anything a load sees: its service is
    /// reached, and an edge target is a call that exists.
    pub fn fault_target_reachable(&self, target: FaultTarget) -> bool {
        match target {
            FaultTarget::Service(s) => self.service_reached[s],
            FaultTarget::Endpoint(e) => self.service_reached[e.service] && self.endpoint_called[e.service][e.endpoint],
            FaultTarget::Edge { from, to } => self.service_reached[from] && self.has_edge(from, to),
        }
    }

    /// Policies referenced by nothing, in index order.
    pub fn unused_policies(&self) -> impl Iterator<Item = PolicyId> + '_ {
        self.policy_used.iter().enumerate().filter(|(_, used)| !**used).map(|(p, _)| p)
    }
}

fn response(s: &Scenario, e: EndpointRef, network_ns: f64, memo: &mut Vec<Vec<Option<f64>>>) -> f64 {
    if let Some(r) = memo[e.service][e.endpoint] {
        return r;
    }
    let ep = &s.services[e.service].endpoints[e.endpoint];
    let mut total = ep.latency.mean_ns();
    for step in &ep.steps {
        let mut slowest: f64 = 0.0;
        for c in step.calls() {
            let callee = response(s, c.to, network_ns, memo) + 2.0 * network_ns;
            let bound = c.policy.and_then(|p| s.policies[p].wait_bound()).map(|b| b.as_nanos() as f64);
            let capped = bound.map_or(callee, |b| callee.min(b));
            slowest = slowest.max(c.probability * capped);
        }
        total += slowest;
    }
    memo[e.service][e.endpoint] = Some(total);
    total
}

//! The call graph of a validated scenario, walked once: what each endpoint costs when
//! nothing queues (its unloaded mean response), which services call which, and what
//! the loads can reach (services, endpoints, policies, edges).
//!
//! Validation guarantees the graph of endpoint calls is acyclic, so every walk here is
//! a memoised depth-first pass, linear in the number of call sites.

use super::Scenario;
use super::fault::FaultTarget;
use super::load::LoadKind;
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
    /// Every endpoint, callers before callees (Kahn's algorithm): walking it backwards
    /// visits each callee before any caller, so per-endpoint sums take one pass.
    pub order: Vec<EndpointRef>,
}

impl CallGraph {
    pub fn new(s: &Scenario) -> CallGraph {
        let network_ns = s.simulation.network.as_ref().map_or(0.0, |d| d.mean_ns());
        let order = topological_order(s);
        let mut response_ns: Vec<Vec<f64>> = s.services.iter().map(|sv| vec![0.0; sv.endpoints.len()]).collect();
        for &e in order.iter().rev() {
            response_ns[e.service][e.endpoint] = response(s, e, network_ns, &response_ns);
        }
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
        let service_reached = services_of(&reachable(s, s.loads.iter().map(|l| l.target)));
        CallGraph { order, network_ns, response_ns, callees, service_reached, endpoint_called, policy_used }
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

    /// Estimated arrival rates per endpoint (`[service][endpoint]`, per second, all
    /// instances), closed loops at their upper bound `users / mean think time` (a
    /// response time only lowers it), and whether a closed loop contributes. Propagated
    /// in topological order.
    ///
    /// [`Rates::Start`]: first tries at the open loops' starting rates, the typical
    /// traffic. [`Rates::Peak`]: an upper bound for the whole run, at the open loops'
    /// highest rate with every call (the load's too) making all its attempts, as in an
    /// outage below it.
    pub fn rates(&self, s: &Scenario, which: Rates) -> (Vec<Vec<f64>>, Vec<Vec<bool>>) {
        let peak = which == Rates::Peak;
        let mut rate: Vec<Vec<f64>> = s.services.iter().map(|sv| vec![0.0; sv.endpoints.len()]).collect();
        let mut closed: Vec<Vec<bool>> = s.services.iter().map(|sv| vec![false; sv.endpoints.len()]).collect();
        for l in &s.loads {
            let (r, is_closed) = match &l.kind {
                LoadKind::Open { rate, profile, .. } if peak => {
                    (profile.iter().map(|&(_, r)| r).fold(*rate, f64::max), false)
                }
                LoadKind::Open { rate, .. } => (*rate, false),
                LoadKind::Closed { users, think_time } => {
                    let think = think_time.mean_ns() / 1e9;
                    (if think > 0.0 { f64::from(*users) / think } else { f64::INFINITY }, true)
                }
            };
            let r = if peak { r * f64::from(attempts(s, l.policy)) } else { r };
            rate[l.target.service][l.target.endpoint] += r;
            closed[l.target.service][l.target.endpoint] |= is_closed;
        }
        // Callers before callees: an endpoint's rate is complete when it is reached.
        for &e in &self.order {
            for step in &s.services[e.service].endpoints[e.endpoint].steps {
                for c in step.calls() {
                    let (t, f) = (c.to, rate[e.service][e.endpoint] * c.probability);
                    let f = if peak { f * f64::from(attempts(s, c.policy)) } else { f };
                    rate[t.service][t.endpoint] += f;
                    closed[t.service][t.endpoint] |= closed[e.service][e.endpoint];
                }
            }
        }
        (rate, closed)
    }

    /// Policies referenced by nothing, in index order.
    pub fn unused_policies(&self) -> impl Iterator<Item = PolicyId> + '_ {
        self.policy_used.iter().enumerate().filter(|(_, used)| !**used).map(|(p, _)| p)
    }
}

/// The endpoints a request to any of `roots` can reach, `[service][endpoint]`: the roots
/// and every callee, transitively.
pub fn reachable(s: &Scenario, roots: impl IntoIterator<Item = EndpointRef>) -> Vec<Vec<bool>> {
    let mut seen: Vec<Vec<bool>> = s.services.iter().map(|sv| vec![false; sv.endpoints.len()]).collect();
    let mut stack: Vec<EndpointRef> = roots.into_iter().collect();
    while let Some(e) = stack.pop() {
        if std::mem::replace(&mut seen[e.service][e.endpoint], true) {
            continue;
        }
        for step in &s.services[e.service].endpoints[e.endpoint].steps {
            stack.extend(step.calls().iter().map(|c| c.to));
        }
    }
    seen
}

/// Per service: some endpoint of it is marked in `endpoints` (as [`reachable`] gives).
pub fn services_of(endpoints: &[Vec<bool>]) -> Vec<bool> {
    endpoints.iter().map(|e| e.iter().any(|&x| x)).collect()
}

/// Which arrival rates [`CallGraph::rates`] estimates.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Rates {
    /// First tries at the open loops' starting rates: the typical traffic.
    Start,
    /// An upper bound for the whole run: the open loops' highest rate, every call (the
    /// load's too) making all its attempts, as in an outage below it.
    Peak,
}

fn attempts(s: &Scenario, policy: Option<PolicyId>) -> u32 {
    policy.map_or(1, |p| s.policies[p].attempts())
}

/// Endpoints callers first (Kahn's algorithm; ties in index order, so deterministic).
/// Validation guarantees the graph is acyclic; an endpoint on a cycle (only possible in
/// a scenario built in code) is left out rather than looped over.
fn topological_order(s: &Scenario) -> Vec<EndpointRef> {
    let mut indegree: Vec<Vec<usize>> = s.services.iter().map(|sv| vec![0; sv.endpoints.len()]).collect();
    for c in s.services.iter().flat_map(|sv| &sv.endpoints).flat_map(|e| &e.steps).flat_map(|st| st.calls()) {
        indegree[c.to.service][c.to.endpoint] += 1;
    }
    let mut ready: Vec<EndpointRef> = Vec::new();
    for (service, degrees) in indegree.iter().enumerate().rev() {
        for endpoint in (0..degrees.len()).rev().filter(|&e| degrees[e] == 0) {
            ready.push(EndpointRef { service, endpoint });
        }
    }
    let mut order = Vec::new();
    while let Some(e) = ready.pop() {
        order.push(e);
        for c in s.services[e.service].endpoints[e.endpoint].steps.iter().flat_map(|st| st.calls()) {
            let d = &mut indegree[c.to.service][c.to.endpoint];
            *d -= 1;
            if *d == 0 {
                ready.push(c.to);
            }
        }
    }
    order
}

/// One endpoint's unloaded mean response, its callees' already known.
fn response(s: &Scenario, e: EndpointRef, network_ns: f64, known: &[Vec<f64>]) -> f64 {
    let ep = &s.services[e.service].endpoints[e.endpoint];
    let mut total = ep.latency.mean_ns();
    for step in &ep.steps {
        let mut slowest: f64 = 0.0;
        for c in step.calls() {
            let callee = known[c.to.service][c.to.endpoint] + 2.0 * network_ns;
            let bound = c.policy.and_then(|p| s.policies[p].wait_bound()).map(|b| b.as_nanos() as f64);
            let capped = bound.map_or(callee, |b| callee.min(b));
            slowest = slowest.max(c.probability * capped);
        }
        total += slowest;
    }
    total
}

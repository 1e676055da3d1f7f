//! Building the runtime tables from a scenario: services and their instances, flattened
//! endpoints with their random streams, routes with their clients, loads.

use super::autoscaling::Scaler;
use super::client::Client;
use super::ids::{EndpointId, LoadId, PolicyId, RouteId, ServiceId, Table};
use super::loads::LoadRt;
use super::metrics::Metrics;
use super::network::Route;
use super::rollout::RolloutRt;
use super::server::{EndpointRt, ServiceRt, SiteRt};
use super::{Event, Simulator};
use crate::engine::{EventQueue, SimDuration, SimTime, stream};
use crate::model::resilience::{Stage, Streams};
use crate::model::{FaultKind, FaultTarget, Scenario, Step};
use slotmap::{SecondaryMap, SlotMap};

/// Who calls on a route: a service (each of its instances has a client) or a load.
#[derive(Copy, Clone, PartialEq, Eq)]
enum From {
    Service(ServiceId),
    Load(LoadId),
}

/// What identifies a route: (caller, callee service, policy).
type RouteKey = (From, ServiceId, Option<PolicyId>);

impl<'a> Simulator<'a> {
    pub(super) fn new(sc: &'a Scenario, seed: u64) -> Self {
        let mut sim = Simulator {
            sc,
            seed,
            // Lanes (see `EventQueue`): one per policy for its per-try timeouts, then one
            // for network deliveries and replies; each usually a constant delay ahead.
            queue: EventQueue::with_lanes(sc.policies.len() + 1),
            horizon: SimTime::ZERO + sc.simulation.duration,
            calls: SlotMap::with_capacity_and_key(1024),
            hedges: SecondaryMap::new(),
            pick_scratch: Vec::new(),
            jobs: SlotMap::with_capacity_and_key(1024),
            services: sc
                .services
                .iter()
                .scan(0usize, |first, svc| {
                    let rt = ServiceRt { first_endpoint: EndpointId::from(*first), ..ServiceRt::default() };
                    *first += svc.endpoints.len();
                    Some(rt)
                })
                .collect(),
            instances: Table::new(),
            endpoints: Table::new(),
            routes: Table::new(),
            route_labels: Table::new(),
            clients: Table::new(),
            loads: Table::new(),
            inline_events: 0,
            m: Metrics::new(sc),
            rollout: sc.rollout.as_deref().map(|plan| Box::new(RolloutRt::new(plan, seed))),
            scalers: sc
                .services
                .iter()
                .enumerate()
                .filter_map(|(s, svc)| {
                    svc.autoscaling.as_ref().map(|cfg| Scaler::new(cfg, ServiceId::from(s), svc.instances))
                })
                .collect(),
            fault_instances: sc.faults.iter().map(|_| Vec::new()).collect(),
            rolling: Vec::new(),
        };
        let mut keys = Vec::new();
        sim.build_endpoints(&mut keys);
        sim.build_loads(&mut keys);
        sim.build_rollout(&mut keys);
        for s in 0..sc.services.len() {
            for _ in 0..sc.services[s].instances {
                sim.add_instance(ServiceId::from(s));
            }
        }
        sim
    }

    /// The endpoints of every service, flattened in file order, with the routes their
    /// call sites take.
    fn build_endpoints(&mut self, keys: &mut Vec<RouteKey>) {
        let (sc, seed) = (self.sc, self.seed);
        for (s, svc) in sc.services.iter().enumerate() {
            for (e, ep) in svc.endpoints.iter().enumerate() {
                let label = format!("service/{}/endpoint/{}", svc.name, ep.name);
                // Skipping draws from a stream nobody looks at changes no result: each
                // stream feeds one decision only, so the others stay aligned.
                let error_fault = sc.faults.iter().any(|f| {
                    matches!(f.kind, FaultKind::Errors { .. })
                        && match f.target {
                            FaultTarget::Service(t) => t == s,
                            FaultTarget::Endpoint(t) => t.service == s && t.endpoint == e,
                            FaultTarget::Edge { .. } => false,
                        }
                });
                let calls_draws = ep.steps.iter().any(|step| step.calls().iter().any(|c| c.probability < 1.0));
                let steps = ep
                    .steps
                    .iter()
                    .map(|step: &Step| {
                        step.calls()
                            .iter()
                            .map(|c| SiteRt {
                                to_endpoint: self.endpoint_of(c.to.service, c.to.endpoint),
                                route: self.route_for(
                                    keys,
                                    From::Service(ServiceId::from(s)),
                                    ServiceId::from(c.to.service),
                                    c.policy.map(PolicyId::from),
                                ),
                                policy: c.policy.map(PolicyId::from),
                                probability: c.probability,
                                optional: c.optional,
                            })
                            .collect()
                    })
                    .collect();
                self.endpoints.push(EndpointRt {
                    service: ServiceId::from(s),
                    latency: ep.latency.clone(),
                    error_rate: ep.error_rate,
                    steps,
                    latency_rng: stream(seed, &format!("{label}/latency")),
                    error_rng: stream(seed, &format!("{label}/errors")),
                    calls_rng: stream(seed, &format!("{label}/calls")),
                    error_draws: ep.error_rate > 0.0 || error_fault,
                    calls_draws,
                    fault_factor: 1.0,
                    fault_add: SimDuration::ZERO,
                    fault_errors: 0.0,
                });
            }
        }
    }

    /// Endpoint `endpoint` of service `service`, flattened.
    pub(super) fn endpoint_of(&self, service: usize, endpoint: usize) -> EndpointId {
        EndpointId(self.services[ServiceId::from(service)].first_endpoint.0 + endpoint as u32)
    }

    fn build_loads(&mut self, keys: &mut Vec<RouteKey>) {
        let (sc, seed) = (self.sc, self.seed);
        for (l, load) in sc.loads.iter().enumerate() {
            let route = self.route_for(
                keys,
                From::Load(LoadId::from(l)),
                ServiceId::from(load.target.service),
                load.policy.map(PolicyId::from),
            );
            // A load is one caller: its one client.
            self.add_client(route);
            self.loads.push(LoadRt {
                endpoint: self.endpoint_of(load.target.service, load.target.endpoint),
                route,
                policy: load.policy.map(PolicyId::from),
                arrivals_rng: stream(seed, &format!("load/{}/arrivals", load.name)),
                think_rng: stream(seed, &format!("load/{}/think", load.name)),
                next_change: 0,
            });
        }
    }

    /// With a rollout: a canary twin of every route into the rolled-out service, with
    /// the same caller and policy (a load's twin gets its one client here; a service's
    /// get theirs as its instances start).
    fn build_rollout(&mut self, keys: &mut Vec<RouteKey>) {
        let Some((stable, canary)) = self.rollout.as_ref().map(|r| r.services()) else { return };
        let into_stable = self.services[stable].routes_in.clone();
        let mut twins = vec![None; self.routes.len()];
        for route in into_stable {
            let (from, _, policy) = keys[route.ix()];
            let twin = self.route_for(keys, from, canary, policy);
            if let From::Load(_) = from {
                self.add_client(twin);
            }
            twins[route.ix()] = Some(twin);
        }
        let (stable_first, canary_first) = (self.services[stable].first_endpoint, self.services[canary].first_endpoint);
        if let Some(rt) = self.rollout.as_mut() {
            rt.set_twins(twins, stable_first, canary_first);
        }
    }

    /// The route of `key`, made on first use. Routes are keyed by (caller, callee
    /// service, policy); the labels of their random streams by (caller, callee) only, so
    /// that changing a policy does not reshuffle network delays. A second policy on the
    /// same pair gets its own label suffix.
    fn route_for(
        &mut self,
        keys: &mut Vec<RouteKey>,
        from: From,
        to_service: ServiceId,
        policy: Option<PolicyId>,
    ) -> RouteId {
        let key = (from, to_service, policy);
        if let Some(i) = keys.iter().position(|k| *k == key) {
            return RouteId::from(i);
        }
        let sc = self.sc;
        let from_label = match from {
            From::Service(s) => sc.services[s.ix()].name.clone(),
            From::Load(l) => format!("load:{}", sc.loads[l.ix()].name),
        };
        let same_pair = keys.iter().filter(|k| k.0 == key.0 && k.1 == key.1).count();
        let mut label = format!("edge/{}->{}", from_label, sc.services[to_service.ix()].name);
        if same_pair > 0 {
            label.push_str(&format!("#{same_pair}"));
        }
        let from_service = match from {
            From::Service(s) => {
                self.services[s].routes_out.push(RouteId::from(self.routes.len()));
                Some(s)
            }
            From::Load(_) => None,
        };
        keys.push(key);
        self.services[to_service].routes_in.push(RouteId::from(self.routes.len()));
        self.route_labels.push(label.clone());
        self.routes.push_and_get_key(Route {
            from_service,
            to_service,
            policy,
            clients: Vec::new(),
            targets: Vec::new(),
            network_rng: stream(self.seed, &format!("{label}/network")),
            balancer_rng: stream(self.seed, &format!("{label}/balancer")),
            jitter_rng: stream(self.seed, &format!("{label}/jitter")),
            partitioned: false,
            fault_factor: 1.0,
            fault_add: SimDuration::ZERO,
            fault_errors: 0.0,
        })
    }

    /// A new client on `route` (for a new caller instance, or a load's one client), with
    /// fresh policy stages; it starts its round robin at its caller's slot.
    pub(super) fn add_client(&mut self, route: RouteId) {
        let r = &self.routes[route];
        let slot = r.clients.len() as u32;
        let label = format!("{}/client{slot}", self.route_labels[route]);
        let streams = Streams { seed: self.seed, client: &label };
        let stages = r.policy.map_or_else(Vec::new, |p| Stage::of(&self.sc.policies[p.ix()], &streams));
        let target_instances = self.sc.services[r.to_service.ix()].instances;
        // A hedging policy picks per call too: its copies avoid the instances already used.
        let hedges = r.policy.is_some_and(|p| self.sc.policies[p.ix()].hedging.is_some());
        let judges = hedges || stages.iter().any(Stage::judges_instances);
        let periods: Vec<_> = stages.iter().map(Stage::period).collect();
        let client = self.clients.push_and_get_key(Client {
            rr_cursor: slot % target_instances,
            judges,
            stages: stages.into_boxed_slice(),
        });
        self.routes[route].clients.push(client);
        // A stage's timer runs from its client's creation, as Envoy's detector's does.
        for (stage, period) in periods.into_iter().enumerate() {
            if let Some(period) = period {
                let now = self.now();
                self.queue.schedule_at(now + period, Event::StageTick { route, client, stage: stage as u32 });
            }
        }
    }
}

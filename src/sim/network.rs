//! Between client and server: routes (with their random streams and the edge faults in
//! force on them), the balancer's choice of an instance, network delays, and answers on
//! their way back.

use super::client::{Call, CallKey, Caller};
use super::ids::{ClientId, EndpointId, InstanceId, PolicyId, RouteId, ServiceId};
use super::server::{Job, JobKey, JobState};
use super::{Event, Simulator, balancer};
use crate::engine::{SimDuration, SimTime, StreamRng};
use crate::model::{Balancer, Outcome};
use rand::RngExt;

/// Everything calls from one caller (a service or a load) to one callee service with
/// one policy share: random streams, and the clients (one per caller instance).
pub(super) struct Route {
    /// The calling service, or `None` for a load.
    pub(super) from_service: Option<ServiceId>,
    pub(super) to_service: ServiceId,
    pub(super) policy: Option<PolicyId>,
    /// The client of each caller instance, by the instance's slot (a load has one).
    pub(super) clients: Vec<ClientId>,
    /// The callee's instances that take traffic, as `ServiceRt::instances` (kept in step
    /// by `lifecycle`): a copy beside the route's other hot fields, read on every attempt.
    pub(super) targets: Vec<InstanceId>,
    pub(super) network_rng: StreamRng,
    pub(super) balancer_rng: StreamRng,
    pub(super) jitter_rng: StreamRng,
    pub(super) partitioned: bool,
    pub(super) fault_factor: f64,
    pub(super) fault_add: SimDuration,
    pub(super) fault_errors: f64,
}

/// The event queue's lane for network deliveries and replies (after the policies').
fn network_lane(sim: &Simulator<'_>) -> usize {
    sim.sc.policies.len()
}

impl Simulator<'_> {
    /// An admitted attempt leaves its client: picks the instance, then delivers it (or
    /// schedules its delivery) as a new job, which it returns (none when the attempt is
    /// lost or fails on the edge). `expires` is the propagated deadline.
    #[inline(always)]
    pub(super) fn dispatch(
        &mut self,
        caller: Caller,
        route: RouteId,
        client: ClientId,
        to_endpoint: EndpointId,
        expires: SimTime,
    ) -> Option<JobKey> {
        let now = self.now();
        let targets = &self.routes[route].targets;
        let instance = if targets.len() == 1 { targets[0] } else { self.pick_instance(route, client, caller) };
        if self.routes[route].partitioned {
            // Neither arrives nor answers: only a timeout can end this attempt. A direct
            // call has none: it stays in the arena, in flight for good.
            self.arena_call(caller, route, client, to_endpoint);
            return None;
        }
        let out_delay = self.network_delay(route);
        if self.routes[route].fault_errors > 0.0 && self.edge_error(caller, route, client, to_endpoint, out_delay) {
            return None;
        }
        let job = self.jobs.insert(Job {
            caller,
            route,
            client,
            endpoint: to_endpoint,
            instance,
            state: JobState::InTransit,
            arrived: now,
            work_start: now,
            expires,
            step: 0,
            pending: 0,
            failed: false,
            dispatching: false,
            counted: false,
            observed: false,
        });
        if out_delay == SimDuration::ZERO {
            self.deliver(job);
        } else {
            let lane = network_lane(self);
            self.queue.schedule_in_lane(lane, now + out_delay, Event::Deliver(job));
        }
        Some(job)
    }

    /// Under an error fault on the edge: draws whether this attempt fails on the way;
    /// if so, its error reaches the caller after the delays there and back.
    #[inline(never)]
    fn edge_error(
        &mut self,
        caller: Caller,
        route: RouteId,
        client: ClientId,
        to_endpoint: EndpointId,
        out_delay: SimDuration,
    ) -> bool {
        let r = &mut self.routes[route];
        if r.jitter_rng.random::<f64>() >= r.fault_errors {
            return false;
        }
        let back = self.network_delay(route);
        let (call, token) = self.arena_call(caller, route, client, to_endpoint);
        let lane = network_lane(self);
        let at = self.now() + out_delay + back;
        self.queue.schedule_in_lane(lane, at, Event::Reply { call, token, outcome: Outcome::Error });
        true
    }

    /// The arena call (and attempt token) an answer goes back to: a direct call is moved
    /// into the arena, as a call without a policy that has sent its one attempt. Out of
    /// line: rare on the paths that use it.
    #[inline(never)]
    pub(super) fn arena_call(
        &mut self,
        caller: Caller,
        route: RouteId,
        client: ClientId,
        to_endpoint: EndpointId,
    ) -> (CallKey, u32) {
        match caller {
            Caller::Call { key, token } => (key, token),
            Caller::Direct(info) => {
                let key = self.calls.insert(Call {
                    info,
                    route,
                    client,
                    to_endpoint,
                    policy: None,
                    deadline: SimTime::NEVER,
                    attempts: 1,
                    in_flight: true,
                    attempt_sent: info.started,
                    retry_reserved: false,
                    prev_backoff: SimDuration::ZERO,
                    target: 0,
                    hedged: false,
                    outstanding: 0,
                });
                (key, 1)
            }
        }
    }

    /// One-way network delay on a route: the scenario's `network`, then edge faults.
    pub(super) fn network_delay(&mut self, route: RouteId) -> SimDuration {
        let r = &mut self.routes[route];
        let base = match &self.sc.simulation.network {
            Some(d) => d.sample(&mut r.network_rng),
            None => SimDuration::ZERO,
        };
        if r.fault_factor == 1.0 { base + r.fault_add } else { base.saturating_mul_f64(r.fault_factor) + r.fault_add }
    }

    /// The balancer's choice among the callee's instances (more than one).
    #[inline(never)]
    fn pick_instance(&mut self, route: RouteId, client: ClientId, caller: Caller) -> InstanceId {
        if self.clients[client].judges {
            return self.pick_judged(route, client, caller);
        }
        let r = &mut self.routes[route];
        let balancer = self.sc.services[r.to_service.ix()].balancer;
        let cursor = &mut self.clients[client].rr_cursor;
        let instances = &self.instances;
        let targets = &r.targets;
        let local = choose(balancer, &mut r.balancer_rng, cursor, targets.len() as u32, |i| {
            instances[targets[i as usize]].in_system()
        });
        targets[local as usize]
    }

    /// The balancer's choice for a client with a stage that judges instances, or a policy
    /// that hedges: among the instances the stages let it choose; a hedged copy, among
    /// those of them its call has not used yet, if there are any (gRFC A6: "Hedged
    /// requests should be sent to distinct backends, if possible"). The attempt's target
    /// is recorded for its end.
    fn pick_judged(&mut self, route: RouteId, client: ClientId, caller: Caller) -> InstanceId {
        let r = &mut self.routes[route];
        let balancer = self.sc.services[r.to_service.ix()].balancer;
        let targets = &r.targets;
        let n = targets.len() as u32;
        let c = &mut self.clients[client];
        let eligible = c.stages.iter_mut().find_map(|s| s.eligible(n));
        let hedge = match caller {
            Caller::Call { key, token } => self.hedges.get(key).map(|h| (key, token, h)),
            Caller::Direct(_) => None,
        };
        let unused = &mut self.pick_scratch;
        unused.clear();
        if let Some((_, _, h)) = hedge
            && h.used_any()
        {
            match eligible {
                Some(e) => unused.extend(e.iter().copied().filter(|&s| !h.used(s))),
                None => unused.extend((0..n).filter(|&s| !h.used(s))),
            }
        }
        let pool = if unused.is_empty() { eligible } else { Some(unused.as_slice()) };
        let slot_of = |i: u32| pool.map_or(i, |e| e[i as usize]);
        let instances = &self.instances;
        let m = pool.map_or(n, |e| e.len() as u32);
        let local = choose(balancer, &mut r.balancer_rng, &mut c.rr_cursor, m, |i| {
            instances[targets[slot_of(i) as usize]].in_system()
        });
        let slot = slot_of(local);
        let instance = targets[slot as usize];
        match (hedge, caller) {
            (Some((key, token, _)), _) => self.hedges[key].picked(token, slot),
            (None, Caller::Call { key, .. }) => self.calls[key].target = slot,
            (None, Caller::Direct(_)) => {}
        }
        instance
    }

    /// Sends `j`'s answer back through the network: it reaches the caller at `at`.
    /// Out of line: the hot path of a scenario without network delays answers in place.
    #[inline(never)]
    pub(super) fn reply_later(&mut self, j: &Job, outcome: Outcome, at: SimTime) {
        let (call, token) = self.arena_call(j.caller, j.route, j.client, j.endpoint);
        let lane = network_lane(self);
        self.queue.schedule_in_lane(lane, at, Event::Reply { call, token, outcome });
    }
}

/// The balancer's choice of one of `n` instances (at least one), by index; `in_system`
/// gives an instance's requests (queued plus in service).
#[inline(always)]
fn choose(balancer: Balancer, rng: &mut StreamRng, rr_cursor: &mut u32, n: u32, in_system: impl Fn(u32) -> u64) -> u32 {
    match balancer {
        Balancer::RoundRobin => {
            let i = *rr_cursor;
            *rr_cursor = if i + 1 >= n { 0 } else { i + 1 };
            i.min(n - 1)
        }
        Balancer::Random => rng.random_range(0..n),
        Balancer::LeastRequests => balancer::least_requests(rng, n, in_system),
    }
}

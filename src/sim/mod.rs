//! The simulator: runs a validated `Scenario` on the engine for one seed.
//!
//! Entities, all stored in arenas and addressed by generation-checked keys, so a stale
//! event (a timeout for an attempt that already answered, a reply to a caller that gave
//! up) is recognised and dropped instead of acting on a reused slot:
//!
//! - a **call** is a client-side logical call (a load's request, or one call site of an
//!   endpoint): its policy, attempts, timers and retry state. A call without a policy
//!   has one attempt that nothing can refuse, time out or retry, so it lives in that
//!   attempt's job (`Caller::Direct`) and enters the call arena only if its answer must
//!   wait for an event (a network delay back, or a partition that loses it);
//! - a **job** is one attempt being served by one instance: queued, working (own work)
//!   or calling (waiting for its own calls), holding a worker from start to reply.
//!
//! Memory is proportional to what is in flight (calls, jobs, pending events), never to
//! what has been simulated: finished work is folded into counters and histograms.
//!
//! Zero-delay hops (no network latency) are handled synchronously instead of through
//! the event queue; recursion depth is then bounded by the depth of the call graph,
//! which validation guarantees acyclic. Work of zero duration started on delivery ends
//! in place too (the same bound); started from an instance's queue it still goes through
//! the event queue, so a long queue of instant jobs never recurses.

mod balancer;
pub mod estimate;
mod metrics;

use crate::engine::{EventQueue, SimDuration, SimTime, StreamRng, stream};
use crate::model::graph::CallGraph;
use crate::model::resilience::{BreakerState, CircuitBreaker, RetryBudgetState, TokenBucket, retry_delay};
use crate::model::{Arrival, Balancer, Dist, FaultKind, FaultTarget, LoadKind, Outcome, Policy, Scenario, Step};
use crate::stats::RunResult;
use crate::stats::summary::Stopped;
use metrics::Metrics;
use rand::RngExt;
use slotmap::{SlotMap, new_key_type};
use std::collections::VecDeque;

new_key_type! {
    struct CallKey;
    struct JobKey;
}

/// Runs `scenario` with `seed` and returns what it measured.
pub fn simulate(scenario: &Scenario, seed: u64) -> RunResult {
    simulate_bounded(scenario, seed, u64::MAX)
}

/// [`simulate`], stopped early when the engine has handled more than `max_events`
/// events, or when simulated time has stood still for [`STILL_EVENTS`] events (a loop
/// at one instant, such as closed-loop users who send again at once while their
/// requests fail at once). A stopped run still returns what it measured, with
/// `RunResult::stopped` saying where and why; callers must not report it as a run.
pub fn simulate_bounded(scenario: &Scenario, seed: u64, max_events: u64) -> RunResult {
    let mut sim = Simulator::new(scenario, seed);
    let stopped = sim.run(max_events);
    let mut result = sim.finish();
    result.stopped = stopped;
    result
}

/// Events checked between two looks at the clock and the event budget (a power of two:
/// the check costs one mask and one branch per event).
const CHECK_EVERY: u64 = 1 << 20;
/// Events handled at one simulated instant after which time is taken to stand still:
/// no scenario needs millions of events at one instant; a livelock produces them in a
/// fraction of a second.
pub const STILL_EVENTS: u64 = 8 * CHECK_EVERY;

/// What happens next. Small and `Copy`: the queue holds many of these.
#[derive(Copy, Clone, Debug)]
enum Event {
    /// The next open-loop arrival of a load.
    Arrival(u32),
    /// A load's rate changes (profile boundary).
    RateChange(u32),
    /// A closed-loop user has finished thinking.
    UserSend {
        load: u32,
    },
    /// An attempt reaches its instance.
    Deliver(JobKey),
    /// A job's own work is done.
    WorkDone(JobKey),
    /// A job whose calls ended during a pause continues once the pause is over.
    Resume(JobKey),
    /// An attempt's answer reaches its caller.
    Reply {
        call: CallKey,
        token: u32,
        outcome: Outcome,
    },
    /// Per-try timeout or deadline of the attempt numbered `token`.
    Timeout {
        call: CallKey,
        token: u32,
    },
    /// A backoff is over: send the next attempt.
    Retry(CallKey),
    FaultStart(u32),
    FaultEnd(u32),
}

/// What an attempt needs of its call, copied once.
#[derive(Copy, Clone)]
struct Attempt {
    token: u32,
    route: u32,
    client: u32,
    /// Only calls with a policy send attempts through `send` (the others are direct).
    policy: u32,
    to_endpoint: u32,
    deadline: SimTime,
    info: CallInfo,
    /// The retry budget had admitted this retry in advance.
    reserved: bool,
}

/// Who made a call.
#[derive(Copy, Clone, Debug)]
enum Parent {
    Load { load: u32, closed: bool },
    Job(JobKey),
}

/// What ending a call needs, whether it lives in the arena or in its job.
#[derive(Copy, Clone)]
struct CallInfo {
    parent: Parent,
    started: SimTime,
    /// Started after warmup: counts in run-level statistics.
    counted: bool,
    optional: bool,
}

/// Who waits for a job's answer.
#[derive(Copy, Clone)]
enum Caller {
    /// A call in the arena: the answer counts only while it still waits for attempt `token`.
    Call { key: CallKey, token: u32 },
    /// A call without a policy, held by its only attempt: only this answer can end it.
    Direct(CallInfo),
}

impl Caller {
    /// The attempt's number within its call.
    fn token(&self) -> u32 {
        match self {
            Caller::Call { token, .. } => *token,
            Caller::Direct(_) => 1,
        }
    }
}

struct Call {
    info: CallInfo,
    route: u32,
    client: u32,
    to_endpoint: u32,
    policy: Option<u32>,
    /// `SimTime::NEVER` without a deadline.
    deadline: SimTime,
    attempts: u32,
    /// The attempt in flight (its number), or 0 when none is.
    token: u32,
    attempt_sent: SimTime,
    /// The retry budget admitted a retry that has not started its attempt yet.
    retry_reserved: bool,
    prev_backoff: SimDuration,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum JobState {
    InTransit,
    Queued,
    Working,
    Calling,
}

struct Job {
    caller: Caller,
    route: u32,
    /// The caller's client state (for a direct call moved to the arena).
    client: u32,
    endpoint: u32,
    instance: u32,
    state: JobState,
    arrived: SimTime,
    work_start: SimTime,
    /// With deadline propagation: when the caller gives up on this attempt.
    expires: SimTime,
    step: u16,
    pending: u16,
    failed: bool,
    /// Starting this step's calls: completions must not advance the job yet.
    dispatching: bool,
    counted: bool,
}

struct Instance {
    service: u32,
    /// The service's workers and queue capacity (copied: read on every delivery).
    workers: u64,
    queue_cap: Option<u64>,
    busy: u64,
    queue: VecDeque<JobKey>,
    down: bool,
    pause_start: SimTime,
    paused_until: SimTime,
    rate_limit: Option<TokenBucket>,
}

impl Instance {
    fn in_system(&self) -> u64 {
        self.busy + self.queue.len() as u64
    }
    fn paused(&self, now: SimTime) -> bool {
        now < self.paused_until
    }
}

/// A flattened endpoint with its random streams and the faults in force on it.
struct EndpointRt {
    service: u32,
    latency: Dist,
    error_rate: f64,
    steps: Vec<Vec<SiteRt>>,
    latency_rng: StreamRng,
    error_rng: StreamRng,
    calls_rng: StreamRng,
    /// An error is possible here (an error rate, or an error fault aimed at it): else the
    /// error stream is never looked at and no number is drawn from it.
    error_draws: bool,
    /// Some call site has a probability below 1: else every call always happens, the
    /// calls stream is never looked at and no number is drawn from it.
    calls_draws: bool,
    fault_factor: f64,
    fault_add: SimDuration,
    fault_errors: f64,
}

/// A call site, resolved to a route and flattened endpoint.
#[derive(Clone, Debug)]
struct SiteRt {
    to_endpoint: u32,
    route: u32,
    policy: Option<u32>,
    probability: f64,
    optional: bool,
}

/// Everything calls from one caller (a service or a load) to one callee service with
/// one policy share: random streams, and the first of its per-caller-instance client
/// states.
struct Route {
    /// The calling service, or `None` for a load.
    from_service: Option<u32>,
    to_service: u32,
    /// The callee's first instance (global index) and its number of instances.
    to_instance_base: u32,
    to_instances: u32,
    clients_base: u32,
    network_rng: StreamRng,
    balancer_rng: StreamRng,
    jitter_rng: StreamRng,
    partitioned: bool,
    fault_factor: f64,
    fault_add: SimDuration,
    fault_errors: f64,
}

/// What identifies a route: (calling service, calling load, callee service, policy).
type RouteKey = (Option<u32>, Option<u32>, u32, Option<u32>);

/// Client-side state per caller instance and route.
struct Client {
    rr_cursor: u32,
    breaker: Option<CircuitBreaker>,
    budget: Option<RetryBudgetState>,
    bulkhead_in_use: u32,
}

struct LoadRt {
    endpoint: u32,
    route: u32,
    arrivals_rng: StreamRng,
    think_rng: StreamRng,
    /// Index of the next profile change.
    next_change: usize,
}

struct Simulator<'a> {
    sc: &'a Scenario,
    seed: u64,
    queue: EventQueue<Event>,
    horizon: SimTime,
    calls: SlotMap<CallKey, Call>,
    jobs: SlotMap<JobKey, Job>,
    instances: Vec<Instance>,
    instance_base: Vec<u32>,
    endpoints: Vec<EndpointRt>,
    endpoint_base: Vec<u32>,
    routes: Vec<Route>,
    clients: Vec<Client>,
    /// Client states of each service's routes, for the breaker share per bucket.
    service_clients: Vec<Vec<u32>>,
    loads: Vec<LoadRt>,
    network: Option<Dist>,
    /// Zero-duration work completions handled in place: counted as events, as if they
    /// had gone through the queue.
    inline_events: u64,
    m: Metrics,
}

impl<'a> Simulator<'a> {
    fn new(sc: &'a Scenario, seed: u64) -> Self {
        let mut instances = Vec::new();
        let mut instance_base = Vec::with_capacity(sc.services.len());
        for (s, svc) in sc.services.iter().enumerate() {
            instance_base.push(instances.len() as u32);
            for _ in 0..svc.instances {
                instances.push(Instance {
                    service: s as u32,
                    workers: svc.workers,
                    queue_cap: svc.queue,
                    busy: 0,
                    queue: VecDeque::new(),
                    down: false,
                    pause_start: SimTime::ZERO,
                    paused_until: SimTime::ZERO,
                    rate_limit: svc.rate_limit.map(|r| TokenBucket::new(r.rate, r.burst)),
                });
            }
        }
        let mut endpoint_base = Vec::with_capacity(sc.services.len());
        let mut n = 0u32;
        for svc in &sc.services {
            endpoint_base.push(n);
            n += svc.endpoints.len() as u32;
        }

        let mut routes: Vec<Route> = Vec::new();
        let mut clients: Vec<Client> = Vec::new();
        let mut service_clients: Vec<Vec<u32>> = vec![Vec::new(); sc.services.len()];
        // Routes are keyed by (caller, callee service, policy); the labels of their random
        // streams by (caller, callee) only, so that changing a policy does not reshuffle
        // network delays. A second policy on the same pair gets its own label suffix.
        let mut route_keys: Vec<RouteKey> = Vec::new();
        let mut route_for = |caller_service: Option<u32>,
                             caller_load: Option<u32>,
                             to_service: u32,
                             policy: Option<u32>,
                             routes: &mut Vec<Route>,
                             clients: &mut Vec<Client>,
                             service_clients: &mut Vec<Vec<u32>>|
         -> u32 {
            let key = (caller_service, caller_load, to_service, policy);
            if let Some(i) = route_keys.iter().position(|k| *k == key) {
                return i as u32;
            }
            let from_label = match (caller_service, caller_load) {
                (Some(s), _) => sc.services[s as usize].name.clone(),
                (None, Some(l)) => format!("load:{}", sc.loads[l as usize].name),
                (None, None) => unreachable!("a route has a caller"),
            };
            let same_pair = route_keys.iter().filter(|k| k.0 == key.0 && k.1 == key.1 && k.2 == key.2).count();
            let mut label = format!("edge/{}->{}", from_label, sc.services[to_service as usize].name);
            if same_pair > 0 {
                label.push_str(&format!("#{same_pair}"));
            }
            let callers = caller_service.map_or(1, |s| sc.services[s as usize].instances);
            let policy_ref = policy.map(|p| &sc.policies[p as usize]);
            let clients_base = clients.len() as u32;
            for local in 0..callers {
                let target_instances = sc.services[to_service as usize].instances;
                if let Some(s) = caller_service {
                    service_clients[s as usize].push(clients.len() as u32);
                }
                clients.push(Client {
                    rr_cursor: local % target_instances,
                    breaker: policy_ref.and_then(|p| p.circuit_breaker.as_ref()).map(CircuitBreaker::new),
                    budget: policy_ref.and_then(|p| p.retry_budget.as_ref()).map(RetryBudgetState::new),
                    bulkhead_in_use: 0,
                });
            }
            routes.push(Route {
                from_service: caller_service,
                to_service,
                to_instance_base: instance_base[to_service as usize],
                to_instances: sc.services[to_service as usize].instances,
                clients_base,
                network_rng: stream(seed, &format!("{label}/network")),
                balancer_rng: stream(seed, &format!("{label}/balancer")),
                jitter_rng: stream(seed, &format!("{label}/jitter")),
                partitioned: false,
                fault_factor: 1.0,
                fault_add: SimDuration::ZERO,
                fault_errors: 0.0,
            });
            route_keys.push(key);
            (routes.len() - 1) as u32
        };

        let mut endpoints = Vec::with_capacity(n as usize);
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
                            .map(|c| {
                                let to_service = c.to.service as u32;
                                let policy = c.policy.map(|p| p as u32);
                                SiteRt {
                                    to_endpoint: endpoint_base[c.to.service] + c.to.endpoint as u32,
                                    route: route_for(
                                        Some(s as u32),
                                        None,
                                        to_service,
                                        policy,
                                        &mut routes,
                                        &mut clients,
                                        &mut service_clients,
                                    ),
                                    policy,
                                    probability: c.probability,
                                    optional: c.optional,
                                }
                            })
                            .collect()
                    })
                    .collect();
                endpoints.push(EndpointRt {
                    service: s as u32,
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
        let loads = sc
            .loads
            .iter()
            .enumerate()
            .map(|(l, load)| LoadRt {
                endpoint: endpoint_base[load.target.service] + load.target.endpoint as u32,
                route: route_for(
                    None,
                    Some(l as u32),
                    load.target.service as u32,
                    load.policy.map(|p| p as u32),
                    &mut routes,
                    &mut clients,
                    &mut service_clients,
                ),
                arrivals_rng: stream(seed, &format!("load/{}/arrivals", load.name)),
                think_rng: stream(seed, &format!("load/{}/think", load.name)),
                next_change: 0,
            })
            .collect();

        let m = Metrics::new(sc, &service_clients);
        Simulator {
            sc,
            seed,
            // Lanes (see `EventQueue`): one per policy for its per-try timeouts, then one
            // for network deliveries and replies; each usually a constant delay ahead.
            queue: EventQueue::with_lanes(sc.policies.len() + 1),
            horizon: SimTime::ZERO + sc.simulation.duration,
            calls: SlotMap::with_capacity_and_key(1024),
            jobs: SlotMap::with_capacity_and_key(1024),
            instances,
            instance_base,
            endpoints,
            endpoint_base,
            routes,
            clients,
            service_clients,
            loads,
            network: sc.simulation.network.clone(),
            inline_events: 0,
            m,
        }
    }

    fn now(&self) -> SimTime {
        self.queue.now()
    }

    /// The event queue's lane for network deliveries and replies (after the policies').
    fn network_lane(&self) -> usize {
        self.sc.policies.len()
    }

    fn run(&mut self, max_events: u64) -> Option<Stopped> {
        for (l, load) in self.sc.loads.iter().enumerate() {
            match &load.kind {
                LoadKind::Open { arrival, profile, .. } => {
                    match arrival {
                        Arrival::Constant => self.queue.schedule_at(SimTime::ZERO, Event::Arrival(l as u32)),
                        Arrival::Poisson => self.schedule_next_arrival(l),
                    }
                    if let Some(&(at, _)) = profile.first() {
                        self.queue.schedule_at(at, Event::RateChange(l as u32));
                    }
                }
                LoadKind::Closed { users, think_time } => {
                    // Users start after one think time each, not all at t = 0.
                    for _ in 0..*users {
                        let think = think_time.sample(&mut self.loads[l].think_rng);
                        self.queue.schedule_at(SimTime::ZERO + think, Event::UserSend { load: l as u32 });
                    }
                }
            }
        }
        for (i, fault) in self.sc.faults.iter().enumerate() {
            self.queue.schedule_at(fault.at, Event::FaultStart(i as u32));
            self.queue.schedule_at(fault.end(), Event::FaultEnd(i as u32));
        }
        let (mut still_since, mut still_at) = (0u64, SimTime::ZERO);
        while let Some((t, event)) = self.queue.pop_before(self.horizon) {
            let popped = self.queue.popped();
            if popped & (CHECK_EVERY - 1) == 0 {
                if t != still_at {
                    (still_since, still_at) = (popped, t);
                }
                let reason = if popped - still_since >= STILL_EVENTS {
                    Some("simulated time stood still: millions of events at one instant (a loop that takes no time)")
                } else if popped + self.inline_events > max_events {
                    Some("the event budget (--max-events) was spent before the end of the run")
                } else {
                    None
                };
                if let Some(reason) = reason {
                    self.m.advance_to(t, &self.instances, &self.clients, &self.service_clients);
                    return Some(Stopped { events: popped + self.inline_events, at_s: t.as_secs_f64(), reason });
                }
            }
            self.m.advance_to(t, &self.instances, &self.clients, &self.service_clients);
            self.handle(event);
        }
        self.m.advance_to(self.horizon, &self.instances, &self.clients, &self.service_clients);
        None
    }

    fn finish(self) -> RunResult {
        // A call in flight is in the arena, or held by its job (a direct call).
        let direct = self.jobs.values().filter_map(|j| match j.caller {
            Caller::Direct(info) => Some(info),
            Caller::Call { .. } => None,
        });
        let mut in_flight_loads = vec![0u64; self.sc.loads.len()];
        for info in self.calls.values().map(|c| c.info).chain(direct) {
            if let (Parent::Load { load, .. }, true) = (info.parent, info.counted) {
                in_flight_loads[load as usize] += 1;
            }
        }
        // Delivered, not yet ended (a job in transit has not arrived anywhere yet).
        let mut in_flight_services = vec![0u64; self.sc.services.len()];
        for j in self.jobs.values().filter(|j| j.counted && j.state != JobState::InTransit) {
            in_flight_services[self.instances[j.instance as usize].service as usize] += 1;
        }
        let mut result = self.m.into_result(
            self.sc,
            self.seed,
            self.queue.popped() + self.inline_events,
            &in_flight_loads,
            &in_flight_services,
        );
        crate::stats::health::assess(self.sc, &CallGraph::new(self.sc), &mut result);
        result
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Arrival(l) => {
                self.start_load_request(l as usize, false);
                self.schedule_next_arrival(l as usize);
            }
            Event::RateChange(l) => self.rate_change(l as usize),
            Event::UserSend { load } => self.start_load_request(load as usize, true),
            Event::Deliver(job) => self.deliver(job),
            Event::WorkDone(job) => self.work_done(job),
            Event::Resume(job) => self.advance_job(job),
            Event::Reply { call, token, outcome } => self.reply(call, token, outcome),
            Event::Timeout { call, token } => self.timeout(call, token),
            Event::Retry(call) => self.retry_due(call),
            Event::FaultStart(f) => self.fault_start(f as usize),
            Event::FaultEnd(f) => self.fault_end(f as usize),
        }
    }

    // ---- loads ----

    fn schedule_next_arrival(&mut self, l: usize) {
        let LoadKind::Open { arrival, profile, .. } = &self.sc.loads[l].kind else { return };
        let now = self.now();
        let rate = self.sc.loads[l].kind.rate_at(now).unwrap_or(0.0);
        let boundary = profile.get(self.loads[l].next_change).map_or(SimTime::NEVER, |&(at, _)| at);
        if rate <= 0.0 {
            return; // Resumes at the next rate change.
        }
        let gap_s = match arrival {
            Arrival::Poisson => -(1.0 - self.loads[l].arrivals_rng.random::<f64>()).ln() / rate,
            Arrival::Constant => 1.0 / rate,
        };
        let at = now + SimDuration::from_secs_f64(gap_s);
        // Past a rate change the gap is drawn again from there (exact for Poisson by
        // memorylessness; constant arrivals restart at the change).
        if at < boundary && at < self.horizon {
            self.queue.schedule_at(at, Event::Arrival(l as u32));
        }
    }

    fn rate_change(&mut self, l: usize) {
        let LoadKind::Open { arrival, profile, .. } = &self.sc.loads[l].kind else { return };
        self.loads[l].next_change += 1;
        if let Some(&(at, _)) = profile.get(self.loads[l].next_change) {
            self.queue.schedule_at(at, Event::RateChange(l as u32));
        }
        match arrival {
            Arrival::Constant => {
                if self.sc.loads[l].kind.rate_at(self.now()).unwrap_or(0.0) > 0.0 {
                    self.start_load_request(l, false);
                }
                self.schedule_next_arrival(l);
            }
            Arrival::Poisson => self.schedule_next_arrival(l),
        }
    }

    fn start_load_request(&mut self, l: usize, closed: bool) {
        let (endpoint, route) = (self.loads[l].endpoint, self.loads[l].route);
        let policy = self.sc.loads[l].policy.map(|p| p as u32);
        self.m.load_arrival(l, self.now());
        self.start_call(Parent::Load { load: l as u32, closed }, route, endpoint, policy, false, 0);
    }

    // ---- client side: calls and attempts ----

    fn start_call(
        &mut self,
        parent: Parent,
        route: u32,
        to_endpoint: u32,
        policy: Option<u32>,
        optional: bool,
        caller_local: u32,
    ) {
        let now = self.now();
        let info = CallInfo { parent, started: now, counted: now >= self.m.warmup, optional };
        let client = self.routes[route as usize].clients_base + caller_local;
        let Some(p) = policy else {
            // Nothing refuses, times out or retries the one attempt: no arena entry, and
            // no deadline to propagate.
            self.m.attempt_sent(
                parent_load(parent),
                self.routes[route as usize].from_service,
                false,
                info.counted,
                now,
            );
            return self.dispatch(Caller::Direct(info), route, client, to_endpoint, SimTime::NEVER);
        };
        self.start_policy_call(info, route, client, to_endpoint, p);
    }

    /// Starts a call with policy `p`: into the arena, then its first attempt. Out of line,
    /// so that the direct path above stays small.
    #[inline(never)]
    fn start_policy_call(&mut self, info: CallInfo, route: u32, client: u32, to_endpoint: u32, p: u32) {
        let now = self.now();
        let policy = Some(p);
        let deadline = self.sc.policies[p as usize].deadline.map_or(SimTime::NEVER, |d| now + d);
        // Inserted as its first attempt already sent (`send` below, with the same fields).
        let call = self.calls.insert(Call {
            info,
            route,
            client,
            to_endpoint,
            policy,
            deadline,
            attempts: 1,
            token: 1,
            attempt_sent: now,
            retry_reserved: false,
            prev_backoff: SimDuration::ZERO,
        });
        if let Some(budget) = self.clients[client as usize].budget.as_mut() {
            let cfg = self.sc.policies[p as usize].retry_budget.as_ref().expect("budget config");
            budget.on_first_try(cfg);
        }
        self.send(call, Attempt { token: 1, route, client, policy: p, to_endpoint, deadline, info, reserved: false });
    }

    /// Sends the call's next attempt (a retry).
    fn send_attempt(&mut self, key: CallKey) {
        let now = self.now();
        let c = &mut self.calls[key];
        c.attempts += 1;
        c.token = c.attempts;
        c.attempt_sent = now;
        let reserved = std::mem::take(&mut c.retry_reserved);
        let a = Attempt {
            token: c.token,
            route: c.route,
            client: c.client,
            policy: c.policy.expect("only a call with a retry policy retries"),
            to_endpoint: c.to_endpoint,
            deadline: c.deadline,
            info: c.info,
            reserved,
        };
        self.send(key, a);
    }

    /// Sends attempt `a.token` of call `key` (a call with a policy), whose fields (already
    /// updated) `a` copies.
    #[inline(always)]
    fn send(&mut self, key: CallKey, a: Attempt) {
        let now = self.now();
        let Attempt { token, route, client, policy: policy_index, to_endpoint, deadline, info, reserved } = a;
        let is_retry = token > 1;
        self.m.attempt_sent(
            parent_load(info.parent),
            self.routes[route as usize].from_service,
            is_retry,
            info.counted,
            now,
        );

        // Each attempt passes the circuit breaker, then the bulkhead, then the timeout.
        let policy = &self.sc.policies[policy_index as usize];
        let cl = &mut self.clients[client as usize];
        let refused = if let (Some(cfg), Some(breaker)) = (policy.circuit_breaker.as_ref(), cl.breaker.as_mut())
            && !breaker.try_acquire(cfg, now)
        {
            Some(Outcome::ShortCircuited)
        } else if let Some(b) = policy.bulkhead.as_ref()
            && cl.bulkhead_in_use >= b.max_concurrent
        {
            Some(Outcome::Throttled)
        } else {
            None
        };
        let budget_cfg = policy.retry_budget.as_ref();
        if let Some(outcome) = refused {
            if let (Some(cfg), Some(b), true) = (budget_cfg, cl.budget.as_mut(), reserved) {
                b.on_retry_abandoned(cfg);
            }
            return self.attempt_failed(key, outcome);
        }
        if policy.bulkhead.is_some() {
            cl.bulkhead_in_use += 1;
        }
        if let (Some(cfg), Some(b)) = (budget_cfg, cl.budget.as_mut()) {
            b.on_attempt_start(cfg, is_retry);
        }
        let timeout_at = policy.timeout.map_or(SimTime::NEVER, |t| now + t).min(deadline);
        let expires = if policy.deadline_propagation { timeout_at } else { SimTime::NEVER };
        if timeout_at != SimTime::NEVER {
            self.queue.schedule_in_lane(policy_index as usize, timeout_at, Event::Timeout { call: key, token });
        }
        self.dispatch(Caller::Call { key, token }, route, client, to_endpoint, expires);
    }

    /// An admitted attempt leaves its client: picks the instance, then delivers it (or
    /// schedules its delivery) as a new job. `expires` is the propagated deadline.
    #[inline(always)]
    fn dispatch(&mut self, caller: Caller, route: u32, client: u32, to_endpoint: u32, expires: SimTime) {
        let now = self.now();
        let r = &self.routes[route as usize];
        let instance = if r.to_instances == 1 { r.to_instance_base } else { self.pick_instance(route, client) };
        let r = &self.routes[route as usize];
        if r.partitioned {
            // Neither arrives nor answers: only a timeout can end this attempt. A direct
            // call has none: it stays in the arena, in flight for good.
            self.arena_call(caller, route, client, to_endpoint);
            return;
        }
        let out_delay = self.network_delay(route);
        if self.routes[route as usize].fault_errors > 0.0
            && self.edge_error(caller, route, client, to_endpoint, out_delay)
        {
            return;
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
        });
        if out_delay == SimDuration::ZERO {
            self.deliver(job);
        } else {
            let lane = self.network_lane();
            self.queue.schedule_in_lane(lane, now + out_delay, Event::Deliver(job));
        }
    }

    /// Under an error fault on the edge: draws whether this attempt fails on the way;
    /// if so, its error reaches the caller after the delays there and back.
    #[inline(never)]
    fn edge_error(
        &mut self,
        caller: Caller,
        route: u32,
        client: u32,
        to_endpoint: u32,
        out_delay: SimDuration,
    ) -> bool {
        let r = &mut self.routes[route as usize];
        if r.jitter_rng.random::<f64>() >= r.fault_errors {
            return false;
        }
        let back = self.network_delay(route);
        let (call, token) = self.arena_call(caller, route, client, to_endpoint);
        let lane = self.network_lane();
        let at = self.now() + out_delay + back;
        self.queue.schedule_in_lane(lane, at, Event::Reply { call, token, outcome: Outcome::Error });
        true
    }

    /// The arena call (and attempt token) an answer goes back to: a direct call is moved
    /// into the arena, as a call without a policy that has sent its one attempt. Out of
    /// line: rare on the paths that use it.
    #[inline(never)]
    fn arena_call(&mut self, caller: Caller, route: u32, client: u32, to_endpoint: u32) -> (CallKey, u32) {
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
                    token: 1,
                    attempt_sent: info.started,
                    retry_reserved: false,
                    prev_backoff: SimDuration::ZERO,
                });
                (key, 1)
            }
        }
    }

    /// One-way network delay on a route: the scenario's `network`, then edge faults.
    fn network_delay(&mut self, route: u32) -> SimDuration {
        let r = &mut self.routes[route as usize];
        let base = match &self.network {
            Some(d) => d.sample(&mut r.network_rng),
            None => SimDuration::ZERO,
        };
        if r.fault_factor == 1.0 { base + r.fault_add } else { base.saturating_mul_f64(r.fault_factor) + r.fault_add }
    }

    /// The balancer's choice among the callee's instances (more than one).
    #[inline(never)]
    fn pick_instance(&mut self, route: u32, client: u32) -> u32 {
        let r = &self.routes[route as usize];
        let (n, base) = (r.to_instances, r.to_instance_base);
        let local = match self.sc.services[r.to_service as usize].balancer {
            Balancer::RoundRobin => {
                let c = &mut self.clients[client as usize];
                let i = c.rr_cursor;
                c.rr_cursor = if i + 1 == n { 0 } else { i + 1 };
                i
            }
            Balancer::Random => self.routes[route as usize].balancer_rng.random_range(0..n),
            Balancer::LeastRequests => {
                let instances = &self.instances;
                balancer::least_requests(&mut self.routes[route as usize].balancer_rng, n, |i| {
                    instances[(base + i) as usize].in_system()
                })
            }
        };
        base + local
    }

    /// The answer to an attempt reaches its caller.
    fn reply(&mut self, key: CallKey, token: u32, outcome: Outcome) {
        let Some(c) = self.calls.get(key) else { return };
        if c.token != token {
            return; // The caller gave up on this attempt already.
        }
        self.attempt_failed_or_ok(key, outcome);
    }

    fn timeout(&mut self, key: CallKey, token: u32) {
        let Some(c) = self.calls.get(key) else { return };
        if c.token != token {
            return;
        }
        self.m.attempt_timed_out(self.routes[c.route as usize].to_service as usize);
        self.attempt_failed_or_ok(key, Outcome::Timeout);
    }

    /// An admitted attempt ended (answer or timeout): release its client-side resources,
    /// record it in the breaker and budget, then finish or retry.
    fn attempt_failed_or_ok(&mut self, key: CallKey, outcome: Outcome) {
        let now = self.now();
        let c = &mut self.calls[key];
        c.token = 0;
        let (client, policy, sent, is_retry, route) = (c.client, c.policy, c.attempt_sent, c.attempts > 1, c.route);
        if let Some(policy) = policy_of(self.sc, policy) {
            let cl = &mut self.clients[client as usize];
            if policy.bulkhead.is_some() {
                cl.bulkhead_in_use -= 1;
            }
            if let (Some(cfg), Some(b)) = (policy.retry_budget.as_ref(), cl.budget.as_mut()) {
                b.on_attempt_end(cfg, is_retry);
                b.on_attempt_outcome(cfg, outcome.is_ok());
            }
            if let (Some(cfg), Some(br)) = (policy.circuit_breaker.as_ref(), cl.breaker.as_mut()) {
                let transition = br.record(cfg, now, outcome.is_breaker_failure(), now - sent);
                if transition.is_some_and(|t| t.to == BreakerState::Open) {
                    let from = self.routes[route as usize].from_service;
                    self.m.breaker_opened(from);
                }
            }
        }
        if outcome.is_ok() { self.finish_call(key, Outcome::Ok) } else { self.attempt_failed(key, outcome) }
    }

    /// An attempt failed: retry if the policy, the deadline and the budget allow.
    fn attempt_failed(&mut self, key: CallKey, outcome: Outcome) {
        let now = self.now();
        let c = &mut self.calls[key];
        c.token = 0;
        let policy = policy_of(self.sc, c.policy);
        let Some(retry) = policy.and_then(|p| p.retry.as_ref()) else { return self.finish_call(key, outcome) };
        if !retry.on.contains(outcome) || c.attempts >= retry.max_attempts || now >= c.deadline {
            return self.finish_call(key, outcome);
        }
        let (client, route, k, prev) = (c.client, c.route, c.attempts, c.prev_backoff);
        if let (Some(cfg), Some(b)) =
            (policy.and_then(|p| p.retry_budget.as_ref()), self.clients[client as usize].budget.as_mut())
        {
            if !b.try_admit_retry(cfg) {
                return self.finish_call(key, outcome);
            }
            self.calls[key].retry_reserved = true;
        }
        let delay = retry_delay(retry, k, prev, &mut self.routes[route as usize].jitter_rng);
        let c = &mut self.calls[key];
        c.prev_backoff = delay;
        if delay == SimDuration::ZERO {
            self.send_attempt(key);
        } else {
            // No retry starts past the deadline: the call then ends as a timeout there.
            let at = (now + delay).min(c.deadline);
            self.queue.schedule_at(at, Event::Retry(key));
        }
    }

    fn retry_due(&mut self, key: CallKey) {
        let Some(c) = self.calls.get(key) else { return };
        if self.now() >= c.deadline {
            return self.finish_call(key, Outcome::Timeout);
        }
        self.send_attempt(key);
    }

    fn finish_call(&mut self, key: CallKey, outcome: Outcome) {
        let c = self.calls.remove(key).expect("finishing a live call");
        if c.retry_reserved
            && let (Some(cfg), Some(b)) = (
                policy_of(self.sc, c.policy).and_then(|p| p.retry_budget.as_ref()),
                self.clients[c.client as usize].budget.as_mut(),
            )
        {
            // Admitted by the budget, but the deadline passed during the backoff.
            b.on_retry_abandoned(cfg);
        }
        self.call_done(c.info, outcome);
    }

    /// A call has ended with `outcome`: its parent learns it.
    fn call_done(&mut self, c: CallInfo, outcome: Outcome) {
        let now = self.now();
        match c.parent {
            Parent::Load { load, closed } => {
                self.m.load_request_done(load as usize, outcome, now - c.started, now, c.counted);
                if closed {
                    let LoadKind::Closed { think_time, .. } = &self.sc.loads[load as usize].kind else {
                        unreachable!("closed-loop request from an open load")
                    };
                    let think = think_time.sample(&mut self.loads[load as usize].think_rng);
                    self.queue.schedule_in(think, Event::UserSend { load });
                }
            }
            Parent::Job(job) => {
                let Some(j) = self.jobs.get_mut(job) else { return };
                debug_assert_eq!(j.state, JobState::Calling);
                if !outcome.is_ok() && !c.optional {
                    j.failed = true;
                }
                j.pending -= 1;
                if j.pending == 0 && !j.dispatching {
                    let inst = &self.instances[j.instance as usize];
                    if inst.paused(now) {
                        self.queue.schedule_at(inst.paused_until, Event::Resume(job));
                    } else {
                        self.advance_job(job);
                    }
                }
            }
        }
    }

    // ---- server side: jobs on instances ----

    fn deliver(&mut self, key: JobKey) {
        let now = self.now();
        let j = &mut self.jobs[key];
        let (instance, endpoint) = (j.instance as usize, j.endpoint as usize);
        let ep = &mut self.endpoints[endpoint];
        let service = ep.service as usize;
        j.arrived = now;
        j.counted = now >= self.m.warmup;
        self.m.service_arrival(service, now);
        let inst = &mut self.instances[instance];
        if inst.down {
            return self.end_job(key, Outcome::Unavailable);
        }
        if let Some(tb) = inst.rate_limit.as_mut()
            && !tb.try_take(now)
        {
            return self.end_job(key, Outcome::Throttled);
        }
        if inst.busy < inst.workers {
            // As `start_work`, with the look-ups made here.
            inst.busy += 1;
            self.m.busy_changed(service, 1, now);
            let mut work = ep.latency.sample(&mut ep.latency_rng);
            if ep.fault_factor != 1.0 {
                work = work.saturating_mul_f64(ep.fault_factor);
            }
            work = work + ep.fault_add;
            // A paused instance makes no progress: the work starts when the pause ends.
            let start = if inst.paused(now) { inst.paused_until } else { now };
            j.work_start = start;
            if work == SimDuration::ZERO && start == now {
                // Zero-duration work on delivery: done now (the instance is not paused).
                // Depth stays bounded by the call graph, as for zero-delay hops.
                j.state = JobState::Calling;
                j.step = 0;
                self.inline_events += 1;
                self.work_finished(key, endpoint);
            } else {
                j.state = JobState::Working;
                self.queue.schedule_at(start + work, Event::WorkDone(key));
            }
        } else if inst.queue_cap.is_some_and(|cap| inst.queue.len() as u64 >= cap) {
            self.end_job(key, Outcome::Rejected);
        } else {
            inst.queue.push_back(key);
            j.state = JobState::Queued;
            self.m.queue_changed(service, 1, inst.queue.len() as u64, now);
        }
    }

    /// Starts a queued job's own work: through the event queue even if instant, so that
    /// a queue of instant jobs never recurses.
    #[inline(always)]
    fn start_work(&mut self, key: JobKey) {
        let now = self.now();
        let j = &mut self.jobs[key];
        let inst = &mut self.instances[j.instance as usize];
        inst.busy += 1;
        self.m.busy_changed(inst.service as usize, 1, now);
        let ep = &mut self.endpoints[j.endpoint as usize];
        let mut work = ep.latency.sample(&mut ep.latency_rng);
        if ep.fault_factor != 1.0 {
            work = work.saturating_mul_f64(ep.fault_factor);
        }
        work = work + ep.fault_add;
        // A paused instance makes no progress: the work starts when the pause ends.
        let start = if inst.paused(now) { inst.paused_until } else { now };
        j.state = JobState::Working;
        j.work_start = start;
        self.queue.schedule_at(start + work, Event::WorkDone(key));
    }

    #[inline(always)]
    fn work_done(&mut self, key: JobKey) {
        let now = self.now();
        let Some(j) = self.jobs.get_mut(key) else { return }; // Lost in a crash.
        let inst = &self.instances[j.instance as usize];
        if inst.paused(now) {
            // Paused mid-work: the rest of the work happens after the pause.
            let done = now - j.work_start.max(inst.pause_start);
            j.work_start = inst.paused_until;
            self.queue.schedule_at(inst.paused_until + done, Event::WorkDone(key));
            return;
        }
        j.step = 0;
        j.state = JobState::Calling;
        let endpoint = j.endpoint as usize;
        self.work_finished(key, endpoint);
    }

    /// A job's own work is over (its state already `Calling` at step 0): it fails with the
    /// endpoint's error rate, else goes on to its calls.
    #[inline(always)]
    fn work_finished(&mut self, key: JobKey, endpoint: usize) {
        let ep = &mut self.endpoints[endpoint];
        // One draw per completion whatever the rates, so streams stay aligned between
        // configurations that differ only in error rates (common random numbers).
        if ep.error_draws {
            let u: f64 = ep.error_rng.random();
            let p_error = 1.0 - (1.0 - ep.error_rate) * (1.0 - ep.fault_errors);
            if u < p_error {
                return self.end_job(key, Outcome::Error);
            }
        }
        if ep.steps.is_empty() {
            // A leaf: no calls, so nothing could have failed it.
            return self.end_job(key, Outcome::Ok);
        }
        self.advance_job(key);
    }

    /// Runs a job's call steps from its current one, until it waits for calls or ends.
    fn advance_job(&mut self, key: JobKey) {
        loop {
            let Some(j) = self.jobs.get_mut(key) else { return };
            if j.failed {
                return self.end_job(key, Outcome::Error);
            }
            let endpoint = j.endpoint as usize;
            let step_index = j.step as usize;
            let ep = &mut self.endpoints[endpoint];
            let Some(step) = ep.steps.get(step_index) else {
                return self.end_job(key, Outcome::Ok);
            };
            j.step += 1;
            let caller_local = j.instance - self.instance_base[ep.service as usize];
            let n_sites = step.len();
            if !ep.calls_draws {
                // Every call of this step happens: no choice to make, nothing to draw.
                if n_sites == 0 {
                    continue;
                }
                j.pending = n_sites as u16;
                j.dispatching = true;
                for i in 0..n_sites {
                    let site = &self.endpoints[endpoint].steps[step_index][i];
                    let (route, to_endpoint, policy, optional) =
                        (site.route, site.to_endpoint, site.policy, site.optional);
                    self.start_call(Parent::Job(key), route, to_endpoint, policy, optional, caller_local);
                }
            } else if !self.start_chosen_calls(key, endpoint, step_index, caller_local) {
                continue;
            }
            let Some(j) = self.jobs.get_mut(key) else { return };
            j.dispatching = false;
            if j.pending > 0 {
                return;
            }
            // Every call ended synchronously: go on with the next step.
        }
    }

    /// Decides which calls of a step happen before starting any (one draw per call site,
    /// always, for common random numbers), then starts them. Returns whether any was
    /// started. Out of line: most endpoints have no call site with a probability below 1.
    #[inline(never)]
    fn start_chosen_calls(&mut self, key: JobKey, endpoint: usize, step_index: usize, caller_local: u32) -> bool {
        let ep = &mut self.endpoints[endpoint];
        let step = &ep.steps[step_index];
        let mut chosen: [u32; 16] = [0; 16];
        let mut n_chosen = 0usize;
        let mut overflow: Vec<u32> = Vec::new();
        for (i, site) in step.iter().enumerate() {
            let u: f64 = ep.calls_rng.random();
            if u < site.probability {
                if n_chosen < chosen.len() {
                    chosen[n_chosen] = i as u32;
                } else {
                    overflow.push(i as u32);
                }
                n_chosen += 1;
            }
        }
        if n_chosen == 0 {
            return false;
        }
        let j = &mut self.jobs[key];
        j.pending = n_chosen as u16;
        j.dispatching = true;
        for &i in chosen.iter().take(n_chosen.min(16)).chain(overflow.iter()) {
            let site = &self.endpoints[endpoint].steps[step_index][i as usize];
            let (route, to_endpoint, policy, optional) = (site.route, site.to_endpoint, site.policy, site.optional);
            self.start_call(Parent::Job(key), route, to_endpoint, policy, optional, caller_local);
        }
        true
    }

    /// A job ends: free its worker (taking the next queued job), record it, and send
    /// the answer back unless the caller can no longer hear it.
    fn end_job(&mut self, key: JobKey, outcome: Outcome) {
        let now = self.now();
        let j = self.jobs.remove(key).expect("ending a live job");
        let inst = &mut self.instances[j.instance as usize];
        let service = inst.service as usize;
        let held_worker = matches!(j.state, JobState::Working | JobState::Calling);
        if held_worker {
            inst.busy -= 1;
            self.m.busy_changed(service, -1, now);
            self.take_next(j.instance as usize);
        }
        let caller_waiting = match j.caller {
            Caller::Call { key, token } => self.calls.get(key).is_some_and(|c| c.token == token),
            Caller::Direct(_) => true,
        };
        let wasted = if held_worker && !caller_waiting { now.since(j.work_start) } else { SimDuration::ZERO };
        self.m.service_done(service, outcome, now - j.arrived, wasted, !caller_waiting, now, j.counted);
        if !caller_waiting {
            return;
        }
        let r = &self.routes[j.route as usize];
        if r.partitioned {
            // The answer is lost: a direct call stays in the arena, in flight for good.
            self.arena_call(j.caller, j.route, j.client, j.endpoint);
            return;
        }
        let back = self.network_delay(j.route);
        match j.caller {
            Caller::Direct(info) if back == SimDuration::ZERO => self.call_done(info, outcome),
            // The caller waits for this very attempt (checked above): no need to check again.
            Caller::Call { key, .. } if back == SimDuration::ZERO => self.attempt_failed_or_ok(key, outcome),
            _ => self.reply_later(&j, outcome, now + back),
        }
    }

    /// Sends `j`'s answer back through the network: it reaches the caller at `at`.
    /// Out of line: the hot path of a scenario without network delays is the one above.
    #[inline(never)]
    fn reply_later(&mut self, j: &Job, outcome: Outcome, at: SimTime) {
        let (call, token) = self.arena_call(j.caller, j.route, j.client, j.endpoint);
        let lane = self.network_lane();
        self.queue.schedule_in_lane(lane, at, Event::Reply { call, token, outcome });
    }

    /// A worker is free on `instance`: start the next queued job whose caller still waits.
    fn take_next(&mut self, instance: usize) {
        let now = self.now();
        let inst = &mut self.instances[instance];
        let service = inst.service as usize;
        while let Some(next) = inst.queue.pop_front() {
            self.m.queue_changed(service, -1, inst.queue.len() as u64, now);
            let j = &self.jobs[next];
            if j.expires <= now {
                // Deadline propagation: the caller gave up, so the server skips it.
                let j = self.jobs.remove(next).expect("queued job");
                self.m.service_skipped(service, now - j.arrived, now, j.counted);
                continue;
            }
            self.start_work(next);
            return;
        }
    }

    // ---- faults ----

    fn fault_start(&mut self, f: usize) {
        let fault = &self.sc.faults[f];
        match fault.kind {
            FaultKind::Crash { instances } => {
                let s = fault.target.service();
                let base = self.instance_base[s] as usize;
                for i in base..base + instances as usize {
                    self.instances[i].down = true;
                    self.crash_instance(i);
                }
            }
            FaultKind::Pause { instances } => {
                let s = fault.target.service();
                let base = self.instance_base[s] as usize;
                let (now, end) = (self.now(), fault.end());
                for inst in &mut self.instances[base..base + instances as usize] {
                    if !inst.paused(now) {
                        inst.pause_start = now;
                    }
                    inst.paused_until = inst.paused_until.max(end);
                }
            }
            _ => self.apply_faults(),
        }
    }

    fn fault_end(&mut self, f: usize) {
        let fault = &self.sc.faults[f];
        match fault.kind {
            FaultKind::Crash { instances } => {
                let base = self.instance_base[fault.target.service()] as usize;
                for inst in &mut self.instances[base..base + instances as usize] {
                    inst.down = false;
                }
            }
            FaultKind::Pause { .. } => {} // `paused_until` has passed.
            _ => self.apply_faults(),
        }
    }

    /// Work queued or in progress on a crashing instance is lost; its callers see the
    /// connection reset at once (`unavailable`).
    fn crash_instance(&mut self, instance: usize) {
        let mut lost: Vec<JobKey> = self
            .jobs
            .iter()
            .filter(|(_, j)| j.instance as usize == instance && j.state != JobState::InTransit)
            .map(|(k, _)| k)
            .collect();
        // Slot-map iteration order is deterministic, but sort by arrival for clarity.
        lost.sort_by_key(|&k| (self.jobs[k].arrived, self.jobs[k].caller.token()));
        let now = self.now();
        let service = self.instances[instance].service as usize;
        let queued = self.instances[instance].queue.len() as i64;
        self.instances[instance].queue.clear();
        self.m.queue_changed(service, -queued, 0, now);
        for key in lost {
            if self.jobs[key].state == JobState::Queued {
                self.jobs[key].state = JobState::InTransit; // Holds no worker.
            }
            self.end_job(key, Outcome::Unavailable);
        }
    }

    /// Recomputes the latency, error and partition faults in force now.
    fn apply_faults(&mut self) {
        let now = self.now();
        for ep in &mut self.endpoints {
            ep.fault_factor = 1.0;
            ep.fault_add = SimDuration::ZERO;
            ep.fault_errors = 0.0;
        }
        for r in &mut self.routes {
            r.partitioned = false;
            r.fault_factor = 1.0;
            r.fault_add = SimDuration::ZERO;
            r.fault_errors = 0.0;
        }
        for fault in self.sc.faults.iter().filter(|f| f.at <= now && now < f.end()) {
            let endpoints: Vec<usize> = match fault.target {
                FaultTarget::Service(s) => {
                    let base = self.endpoint_base[s] as usize;
                    (base..base + self.sc.services[s].endpoints.len()).collect()
                }
                FaultTarget::Endpoint(e) => vec![self.endpoint_base[e.service] as usize + e.endpoint],
                FaultTarget::Edge { .. } => Vec::new(),
            };
            let routes: Vec<usize> = match fault.target {
                FaultTarget::Edge { from, to } => (0..self.routes.len())
                    .filter(|&r| {
                        self.routes[r].from_service == Some(from as u32) && self.routes[r].to_service == to as u32
                    })
                    .collect(),
                _ => Vec::new(),
            };
            match fault.kind {
                FaultKind::Latency { factor, add } => {
                    for e in endpoints {
                        self.endpoints[e].fault_factor *= factor;
                        self.endpoints[e].fault_add = self.endpoints[e].fault_add + add;
                    }
                    for r in routes {
                        self.routes[r].fault_factor *= factor;
                        self.routes[r].fault_add = self.routes[r].fault_add + add;
                    }
                }
                FaultKind::Errors { rate } => {
                    for e in endpoints {
                        let p = &mut self.endpoints[e].fault_errors;
                        *p = 1.0 - (1.0 - *p) * (1.0 - rate);
                    }
                    for r in routes {
                        let p = &mut self.routes[r].fault_errors;
                        *p = 1.0 - (1.0 - *p) * (1.0 - rate);
                    }
                }
                FaultKind::Partition => {
                    for r in routes {
                        self.routes[r].partitioned = true;
                    }
                }
                FaultKind::Crash { .. } | FaultKind::Pause { .. } => {}
            }
        }
    }
}

fn policy_of(sc: &Scenario, p: Option<u32>) -> Option<&Policy> {
    p.map(|p| &sc.policies[p as usize])
}

fn parent_load(p: Parent) -> Option<usize> {
    match p {
        Parent::Load { load, .. } => Some(load as usize),
        Parent::Job(_) => None,
    }
}

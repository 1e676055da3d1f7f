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
//!
//! One file per concern, each an `impl Simulator` block: `build` (the runtime tables),
//! `loads` (arrivals), `client` (calls, attempts and the policy stages they pass),
//! `hedge` (hedged calls: several tries out at once),
//! `network` (routes, balancers, delays, answers on their way back), `server` (endpoints,
//! jobs, and the server stages an arrival passes), `discipline` (instance queues),
//! `lifecycle` (instances start, crash, restart, pause), `faults`; `metrics` measures
//! what they report.

mod autoscaling;
mod balancer;
mod build;
mod client;
mod discipline;
mod disruption;
pub mod estimate;
mod faults;
mod hedge;
mod ids;
mod lifecycle;
mod loads;
mod metrics;
mod network;
mod rollout;
mod server;

use crate::engine::{EventQueue, SimTime};
use crate::model::Scenario;
use crate::model::counters::{REPLICAS, series_index};
use crate::model::graph::CallGraph;
use crate::stats::RunResult;
use crate::stats::summary::Stopped;
use client::{Call, CallKey, Client, Parent};
use ids::{ClientId, EndpointId, FaultId, InstanceId, LoadId, RouteId, ServiceId, Table};
use loads::LoadRt;
use metrics::Metrics;
use network::Route;
use server::{EndpointRt, Instance, Job, JobKey, ServiceRt};
use slotmap::{SecondaryMap, SlotMap};

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
    Arrival(LoadId),
    /// A load's rate changes (profile boundary).
    RateChange(LoadId),
    /// A closed-loop user has finished thinking.
    UserSend(LoadId),
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
        outcome: crate::model::Outcome,
    },
    /// Per-try timeout or deadline of the attempt numbered `token`.
    Timeout {
        call: CallKey,
        token: u32,
    },
    /// A backoff is over: send the next attempt.
    Retry(CallKey),
    /// A hedged call's copy numbered `token` is due (`hedge.rs`).
    Hedge {
        call: CallKey,
        token: u32,
    },
    FaultStart(FaultId),
    FaultEnd(FaultId),
    /// The rollout controller's next step or check.
    Rollout,
    /// Autoscaler `k` syncs (`sim::autoscaling`).
    AutoscaleSync(u32),
    /// A replica has started up and joins the balancers.
    ReplicaReady(InstanceId),
    /// A crashed instance is replaced (`restart_after` after its crash fault took it).
    Replace {
        fault: FaultId,
        instance: InstanceId,
    },
    /// A rolling restart tries a refused eviction again.
    RollingRetry(FaultId),
    /// The timer of a client's stage (`ClientStage::tick`: outlier detection's sweep).
    StageTick {
        route: RouteId,
        client: ClientId,
        stage: u32,
    },
    /// The timer of an instance's server stage (`ServerStage::tick`: adaptive
    /// concurrency's updates and minRTT windows).
    ServerTick {
        instance: InstanceId,
        stage: u32,
    },
}

struct Simulator<'a> {
    sc: &'a Scenario,
    seed: u64,
    queue: EventQueue<Event>,
    horizon: SimTime,
    calls: SlotMap<CallKey, Call>,
    /// Per-try state of the hedged calls among `calls` (`hedge.rs`).
    hedges: SecondaryMap<CallKey, hedge::Hedge>,
    /// The instances a hedged copy may go to (reused, so a pick allocates nothing).
    pick_scratch: Vec<u32>,
    jobs: SlotMap<JobKey, Job>,
    services: Table<ServiceId, ServiceRt>,
    instances: Table<InstanceId, Instance<'a>>,
    endpoints: Table<EndpointId, EndpointRt>,
    routes: Table<RouteId, Route>,
    /// The label of each route's random streams (`edge/CALLER->CALLEE`); its clients'
    /// stages label theirs from it. Apart from the routes: read only when a client is made.
    route_labels: Table<RouteId, String>,
    clients: Table<ClientId, Client<'a>>,
    loads: Table<LoadId, LoadRt>,
    /// Zero-duration work completions handled in place: counted as events, as if they
    /// had gone through the queue.
    inline_events: u64,
    m: Metrics,
    /// A rollout in progress (`stormcast rollout`), boxed: most runs have none.
    rollout: Option<Box<rollout::RolloutRt<'a>>>,
    /// The autoscaled services' controllers, in service order.
    scalers: Vec<autoscaling::Scaler<'a>>,
    /// The instances each crash fault took (replacements take their place).
    fault_instances: Table<FaultId, Vec<InstanceId>>,
    /// Rolling restarts in progress, by fault.
    rolling: Vec<(FaultId, disruption::Rolling)>,
}

impl Simulator<'_> {
    fn now(&self) -> SimTime {
        self.queue.now()
    }

    fn run(&mut self, max_events: u64) -> Option<Stopped> {
        self.start_loads();
        self.schedule_faults();
        self.schedule_rollout();
        self.schedule_autoscaling();
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
                    self.advance_to(t);
                    return Some(Stopped { events: popped + self.inline_events, at_s: t.as_secs_f64(), reason });
                }
            }
            self.advance_to(t);
            self.handle(event);
        }
        self.advance_to(self.horizon);
        None
    }

    /// Closes every time bucket that ends at or before `t` (most events cross none).
    #[inline(always)]
    fn advance_to(&mut self, t: SimTime) {
        if t >= self.m.bucket_end() {
            self.close_buckets(t);
        }
    }

    /// Closes the buckets before `t`, with the state they end in: nothing happens between
    /// their ends, so one look at the instances and clients serves them all.
    #[cold]
    #[inline(never)]
    fn close_buckets(&mut self, t: SimTime) {
        let gauges: Vec<metrics::Gauges> = self
            .services
            .iter()
            .map(|s| {
                let mut levels = self.tripped_shares(s);
                levels[series_index(&REPLICAS)] = Some(s.instances.len() as f64);
                self.server_levels(s, &mut levels);
                metrics::Gauges {
                    queue_max: s.instances.iter().map(|&i| self.instances[i].queue.len() as u64).max().unwrap_or(0),
                    levels,
                }
            })
            .collect();
        self.m.close_buckets(t, &gauges);
    }

    fn finish(self) -> RunResult {
        // A call in flight is in the arena, or held by its job (a direct call).
        let direct = self.jobs.values().filter_map(|j| j.caller.direct());
        let mut in_flight_loads = vec![0u64; self.sc.loads.len()];
        for info in self.calls.values().map(|c| c.info).chain(direct) {
            if let (Parent::Load { load, .. }, true) = (info.parent, info.counted) {
                in_flight_loads[load.ix()] += 1;
            }
        }
        // Delivered, not yet ended (a job in transit has not arrived anywhere yet).
        let mut in_flight_services = vec![0u64; self.sc.services.len()];
        for j in self.jobs.values().filter(|j| j.counted && j.state != server::JobState::InTransit) {
            in_flight_services[self.instances[j.instance].service.ix()] += 1;
        }
        let autoscaling = self.autoscaling_summaries();
        let mut result = self.m.into_result(
            self.sc,
            self.seed,
            self.queue.popped() + self.inline_events,
            &in_flight_loads,
            &in_flight_services,
        );
        for (s, summary) in autoscaling {
            result.services[s].autoscaling = Some(summary);
        }
        crate::stats::verdict::judge(self.sc, &CallGraph::new(self.sc), &mut result);
        Simulator::finish_rollout(self.rollout, self.sc, self.horizon, &mut result);
        result
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Arrival(l) => {
                self.start_load_request(l, false);
                self.schedule_next_arrival(l);
            }
            Event::RateChange(l) => self.rate_change(l),
            Event::UserSend(l) => self.start_load_request(l, true),
            Event::Deliver(job) => self.deliver(job),
            Event::WorkDone(job) => self.work_done(job),
            Event::Resume(job) => self.advance_job(job),
            Event::Reply { call, token, outcome } => self.reply(call, token, outcome),
            Event::Timeout { call, token } => self.timeout(call, token),
            Event::Retry(call) => self.retry_due(call),
            Event::Hedge { call, token } => self.hedge_due(call, token),
            Event::FaultStart(f) => self.fault_start(f),
            Event::FaultEnd(f) => self.fault_end(f),
            Event::Rollout => self.rollout_wake(),
            Event::AutoscaleSync(k) => self.autoscale_sync(k),
            Event::ReplicaReady(id) => self.replica_ready(id),
            Event::Replace { fault, instance } => self.replace_crashed(fault, instance),
            Event::RollingRetry(f) => self.rolling_retry(f),
            Event::StageTick { route, client, stage } => self.stage_tick(route, client, stage),
            Event::ServerTick { instance, stage } => self.server_tick(instance, stage),
        }
    }
}

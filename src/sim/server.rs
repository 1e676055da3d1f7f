//! The server side: services and their instances (workers, a queue, a rate limit, the
//! faults that pause or crash them), endpoints with their work, and jobs: one attempt
//! served by one instance, from delivery through its own work and its calls to the
//! answer.

use super::autoscaling::Meter;
use super::client::{Caller, Parent};
use super::discipline::WaitQueue;
use super::ids::{ClientId, EndpointId, InstanceId, PolicyId, RouteId, ServiceId};
use super::{Event, Simulator};
use crate::engine::{SimDuration, SimTime, StreamRng};
use crate::model::counters::{SERIES, series_index};
use crate::model::resilience::{Admission, Refusal, ServedEnd};
use crate::model::{Dist, Outcome};
use rand::RngExt;
use slotmap::new_key_type;

new_key_type! {
    pub(super) struct JobKey;
}

/// A service at run time: its instances now (they may come and go) and the routes its
/// calls take.
#[derive(Default)]
pub(super) struct ServiceRt {
    /// The instances that take traffic, in the order the balancers see them.
    pub(super) instances: Vec<InstanceId>,
    /// Routes whose caller is this service: each instance has a client on each.
    pub(super) routes_out: Vec<RouteId>,
    /// Routes into this service: each keeps a copy of `instances` (`Route::targets`).
    pub(super) routes_in: Vec<RouteId>,
    /// Its first endpoint in the flattened list.
    pub(super) first_endpoint: EndpointId,
    /// Instances ever created (the next one's `slot`).
    pub(super) created: u32,
    /// Replicas starting up (not yet taking traffic), oldest first.
    pub(super) starting: Vec<InstanceId>,
}

/// Where an instance is in its life (`sim::lifecycle`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Created, not yet taking traffic (a replica starting up).
    Starting,
    /// Taking traffic (it may be crashed: `down`).
    Ready,
    /// Out of the balancers, finishing what it has.
    Draining,
    /// Gone.
    Retired,
}

pub(super) struct Instance<'a> {
    pub(super) service: ServiceId,
    /// The order it was created in among its service's instances: its client on each
    /// route out of the service is `route.clients[slot]`.
    pub(super) slot: u32,
    /// The service's workers and queue capacity (copied: read on every delivery).
    pub(super) workers: u64,
    pub(super) queue_cap: Option<u64>,
    pub(super) busy: u64,
    pub(super) queue: WaitQueue,
    pub(super) down: bool,
    pub(super) phase: Phase,
    pub(super) pause_start: SimTime,
    pub(super) paused_until: SimTime,
    /// The service's server stages (rate limit...), this instance's state.
    pub(super) admission: Box<[Admission<'a>]>,
    /// What its service's autoscaler reads (an autoscaled service's instances only).
    pub(super) meter: Option<Box<Meter>>,
    /// Some server stage hears when each request it let in ends (`Job::observed`).
    pub(super) observes_ends: bool,
}

impl Instance<'_> {
    pub(super) fn in_system(&self) -> u64 {
        self.busy + self.queue.len() as u64
    }
    pub(super) fn paused(&self, now: SimTime) -> bool {
        now < self.paused_until
    }
    /// Brings its meter (if metered) up to `now`, before its load changes. Only the
    /// test is inline: most instances have no meter.
    #[inline(always)]
    pub(super) fn metered(&mut self, now: SimTime) {
        if self.meter.is_some() {
            self.advance_meter(now, false);
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn advance_meter(&mut self, now: SimTime, arrival: bool) {
        let in_system = self.in_system();
        if let Some(meter) = self.meter.as_deref_mut() {
            meter.advance(now, self.busy, in_system);
            meter.arrivals += u64::from(arrival);
        }
    }
}

/// A flattened endpoint with its random streams and the faults in force on it.
pub(super) struct EndpointRt {
    pub(super) service: ServiceId,
    pub(super) latency: Dist,
    pub(super) error_rate: f64,
    pub(super) steps: Vec<Vec<SiteRt>>,
    pub(super) latency_rng: StreamRng,
    pub(super) error_rng: StreamRng,
    pub(super) calls_rng: StreamRng,
    /// An error is possible here (an error rate, or an error fault aimed at it): else the
    /// error stream is never looked at and no number is drawn from it.
    pub(super) error_draws: bool,
    /// Some call site has a probability below 1: else every call always happens, the
    /// calls stream is never looked at and no number is drawn from it.
    pub(super) calls_draws: bool,
    pub(super) fault_factor: f64,
    pub(super) fault_add: SimDuration,
    pub(super) fault_errors: f64,
}

impl EndpointRt {
    /// A job's own work here, under the faults in force.
    #[inline(always)]
    fn draw_work(&mut self) -> SimDuration {
        let mut work = self.latency.sample(&mut self.latency_rng);
        if self.fault_factor != 1.0 {
            work = work.saturating_mul_f64(self.fault_factor);
        }
        work + self.fault_add
    }
}

/// A call site, resolved to a route and flattened endpoint.
#[derive(Clone, Debug)]
pub(super) struct SiteRt {
    pub(super) to_endpoint: EndpointId,
    pub(super) route: RouteId,
    pub(super) policy: Option<PolicyId>,
    pub(super) probability: f64,
    pub(super) optional: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum JobState {
    InTransit,
    Queued,
    Working,
    Calling,
}

pub(super) struct Job {
    pub(super) caller: Caller,
    pub(super) route: RouteId,
    /// The caller's client state (for a direct call moved to the arena).
    pub(super) client: ClientId,
    pub(super) endpoint: EndpointId,
    pub(super) instance: InstanceId,
    pub(super) state: JobState,
    pub(super) arrived: SimTime,
    pub(super) work_start: SimTime,
    /// With deadline propagation: when the caller gives up on this attempt.
    pub(super) expires: SimTime,
    pub(super) step: u16,
    pub(super) pending: u16,
    pub(super) failed: bool,
    /// Starting this step's calls: completions must not advance the job yet.
    pub(super) dispatching: bool,
    pub(super) counted: bool,
    /// The instance's server stages let it in and hear when it ends (`served_end`).
    pub(super) observed: bool,
}

impl Simulator<'_> {
    pub(super) fn deliver(&mut self, key: JobKey) {
        let now = self.now();
        let j = &mut self.jobs[key];
        let (instance, endpoint) = (j.instance, j.endpoint);
        let ep = &mut self.endpoints[endpoint];
        let service = ep.service.ix();
        j.arrived = now;
        j.counted = now >= self.m.warmup;
        self.m.service_arrival(service, now);
        let inst = &mut self.instances[instance];
        if inst.meter.is_some() {
            inst.advance_meter(now, true);
        }
        if inst.down {
            return self.end_job(key, Outcome::Unavailable);
        }
        if !inst.admission.is_empty() {
            if let Err(refused) = admit(&mut inst.admission, now) {
                if let Some(counter) = refused.counter {
                    self.m.count_served(service, counter, j.counted);
                }
                return self.end_job(key, refused.outcome);
            }
            j.observed = inst.observes_ends;
        }
        if inst.busy < inst.workers {
            // As `start_work`, with the look-ups made here.
            inst.busy += 1;
            self.m.busy_changed(service, 1, now);
            let work = ep.draw_work();
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
            inst.queue.push(key);
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
        let inst = &mut self.instances[j.instance];
        inst.metered(now);
        inst.busy += 1;
        self.m.busy_changed(inst.service.ix(), 1, now);
        let work = self.endpoints[j.endpoint].draw_work();
        // A paused instance makes no progress: the work starts when the pause ends.
        let start = if inst.paused(now) { inst.paused_until } else { now };
        j.state = JobState::Working;
        j.work_start = start;
        self.queue.schedule_at(start + work, Event::WorkDone(key));
    }

    #[inline(always)]
    pub(super) fn work_done(&mut self, key: JobKey) {
        let now = self.now();
        let Some(j) = self.jobs.get_mut(key) else { return }; // Lost in a crash.
        let inst = &self.instances[j.instance];
        if inst.paused(now) {
            // Paused mid-work: the rest of the work happens after the pause.
            let done = now - j.work_start.max(inst.pause_start);
            j.work_start = inst.paused_until;
            self.queue.schedule_at(inst.paused_until + done, Event::WorkDone(key));
            return;
        }
        j.step = 0;
        j.state = JobState::Calling;
        let endpoint = j.endpoint;
        self.work_finished(key, endpoint);
    }

    /// A job's own work is over (its state already `Calling` at step 0): it fails with the
    /// endpoint's error rate, else goes on to its calls.
    #[inline(always)]
    fn work_finished(&mut self, key: JobKey, endpoint: EndpointId) {
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
    pub(super) fn advance_job(&mut self, key: JobKey) {
        loop {
            let Some(j) = self.jobs.get_mut(key) else { return };
            if j.failed {
                return self.end_job(key, Outcome::Error);
            }
            let endpoint = j.endpoint;
            let step_index = j.step as usize;
            let ep = &mut self.endpoints[endpoint];
            let Some(step) = ep.steps.get(step_index) else {
                return self.end_job(key, Outcome::Ok);
            };
            j.step += 1;
            let caller_slot = self.instances[j.instance].slot;
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
                    self.start_call(Parent::Job(key), route, to_endpoint, policy, optional, caller_slot);
                }
            } else if !self.start_chosen_calls(key, endpoint, step_index, caller_slot) {
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
    fn start_chosen_calls(&mut self, key: JobKey, endpoint: EndpointId, step_index: usize, caller_slot: u32) -> bool {
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
            self.start_call(Parent::Job(key), route, to_endpoint, policy, optional, caller_slot);
        }
        true
    }

    /// A job ends: free its worker (taking the next queued job), record it, and send
    /// the answer back unless the caller can no longer hear it.
    pub(super) fn end_job(&mut self, key: JobKey, outcome: Outcome) {
        let now = self.now();
        let j = self.jobs.remove(key).expect("ending a live job");
        let inst = &mut self.instances[j.instance];
        let service = inst.service.ix();
        let held_worker = matches!(j.state, JobState::Working | JobState::Calling);
        if held_worker {
            inst.metered(now);
            inst.busy -= 1;
            self.m.busy_changed(service, -1, now);
            self.take_next(j.instance);
        }
        let caller_waiting = match j.caller {
            Caller::Call { key, token } => self.calls.get(key).is_some_and(|c| c.awaits(token)),
            Caller::Direct(_) => true,
        };
        if j.observed {
            self.served_end(j.instance, j.arrived, caller_waiting);
        }
        let wasted = if held_worker && !caller_waiting { now.since(j.work_start) } else { SimDuration::ZERO };
        self.m.service_done(service, outcome, now - j.arrived, wasted, !caller_waiting, j.counted);
        if let Some(rollout) = &mut self.rollout {
            rollout.served(ServiceId::from(service), outcome, now - j.arrived, now);
        }
        if !caller_waiting {
            return;
        }
        if self.routes[j.route].partitioned {
            // The answer is lost: a direct call stays in the arena, in flight for good.
            self.arena_call(j.caller, j.route, j.client, j.endpoint);
            return;
        }
        let back = self.network_delay(j.route);
        match j.caller {
            Caller::Direct(info) if back == SimDuration::ZERO => self.call_done(info, outcome),
            // The caller waits for this very attempt (checked above): no need to check again.
            Caller::Call { key, token } if back == SimDuration::ZERO => self.attempt_ended(key, token, outcome),
            _ => self.reply_later(&j, outcome, now + back),
        }
    }

    /// A worker is free on `instance`: start the next queued job whose caller still waits.
    fn take_next(&mut self, instance: InstanceId) {
        let now = self.now();
        let service = self.instances[instance].service.ix();
        self.instances[instance].metered(now);
        loop {
            let inst = &mut self.instances[instance];
            let Some(next) = inst.queue.pop() else { break };
            self.m.queue_changed(service, -1, inst.queue.len() as u64, now);
            let j = &self.jobs[next];
            if j.expires <= now {
                // Deadline propagation: the caller gave up, so the server skips it.
                let j = self.jobs.remove(next).expect("queued job");
                self.m.service_skipped(service, j.counted);
                if j.observed {
                    self.served_end(instance, j.arrived, false);
                }
                continue;
            }
            self.start_work(next);
            return;
        }
        // Only a metered (autoscaled) instance can be draining.
        if self.instances[instance].meter.is_some() {
            self.retire_if_drained(instance);
        }
    }
}

impl Simulator<'_> {
    /// A request the server stages of `instance` let in (at `arrived`) ends: the stages
    /// that observe ends hear it, and a stage whose timer moved gets a tick scheduled.
    /// Out of line: only instances with such a stage get here.
    #[inline(never)]
    fn served_end(&mut self, instance: InstanceId, arrived: SimTime, answered: bool) {
        let end = ServedEnd { arrived, now: self.now(), answered };
        for (i, stage) in self.instances[instance].admission.iter_mut().enumerate() {
            if stage.observes_ends()
                && stage.ended(&end)
                && let Some(at) = stage.wake_at()
            {
                self.queue.schedule_at(at, Event::ServerTick { instance, stage: i as u32 });
            }
        }
    }

    /// The timer of server stage `stage` of `instance` fires. A tick that is no longer
    /// the stage's next (its timer moved since it was scheduled) is dropped.
    pub(super) fn server_tick(&mut self, instance: InstanceId, stage: u32) {
        let now = self.now();
        let st = &mut self.instances[instance].admission[stage as usize];
        if st.wake_at() != Some(now) {
            return;
        }
        st.tick(now);
        if let Some(at) = st.wake_at() {
            self.queue.schedule_at(at, Event::ServerTick { instance, stage });
        }
    }

    /// For each registered series of a server stage (`ServerStage::SERIES`: the
    /// concurrency limit), the mean level of that stage over the service's instances
    /// taking traffic; left `None` where no instance has one.
    pub(super) fn server_levels(&self, s: &ServiceRt, levels: &mut [Option<f64>; SERIES]) {
        let mut sums = [(0.0, 0u32); SERIES];
        for &i in &s.instances {
            for (level, defs) in self.instances[i].admission.iter().filter_map(Admission::level) {
                for def in defs.iter() {
                    let sum = &mut sums[series_index(def)];
                    *sum = (sum.0 + level, sum.1 + 1);
                }
            }
        }
        for (level, (sum, n)) in levels.iter_mut().zip(sums) {
            if n > 0 {
                *level = Some(sum / f64::from(n));
            }
        }
    }

    /// Schedules the first tick of each server stage of `instance` that keeps a timer.
    pub(super) fn start_server_timers(&mut self, instance: InstanceId) {
        for (i, stage) in self.instances[instance].admission.iter().enumerate() {
            if let Some(at) = stage.wake_at() {
                self.queue.schedule_at(at, Event::ServerTick { instance, stage: i as u32 });
            }
        }
    }
}

/// Passes an arrival through an instance's server stages, in order: the first refusal
/// wins, and the stages before it that observe ends hear the refused request end at once,
/// answered (as a proxy's earlier filters see a later filter's local reply). Out of line:
/// most services have none, and the delivery path stays small.
#[inline(never)]
fn admit(stages: &mut [Admission<'_>], now: SimTime) -> Result<(), Refusal> {
    for i in 0..stages.len() {
        if let Err(refused) = stages[i].admit(now) {
            let end = ServedEnd { arrived: now, now, answered: true };
            for earlier in stages[..i].iter_mut().filter(|s| s.observes_ends()) {
                earlier.ended(&end);
            }
            return Err(refused);
        }
    }
    Ok(())
}

//! The client side: calls and their attempts. An attempt of a call with a policy passes
//! the policy's stages (`model::resilience::stage`: breaker, bulkhead, retry budget...),
//! then its timers start; its end goes back through the stages, then the call finishes
//! or retries. A hedged call (several tries out at once) takes its own turns in
//! `hedge.rs` where an attempt ends or fails.

use super::ids::{ClientId, EndpointId, LoadId, PolicyId, RouteId};
use super::server::{JobKey, JobState};
use super::{Event, Simulator};
use crate::engine::{SimDuration, SimTime};
use crate::model::counters::{SERIES, SeriesKind, series_index};
use crate::model::resilience::{Refusal, Stage, TryEnd, retry_delay};
use crate::model::{LoadKind, Outcome, Policy};
use slotmap::new_key_type;

new_key_type! {
    pub(super) struct CallKey;
}

/// Client-side state per caller instance and route: the balancer's cursor and the
/// policy's stages.
pub(super) struct Client<'a> {
    pub(super) rr_cursor: u32,
    /// A stage judges the callee's instances (`ClientStage::JUDGES_INSTANCES`): the
    /// balancer asks it which it may choose, and each attempt's target is recorded. Also
    /// set when the policy hedges: a copy avoids the instances its call already used.
    pub(super) judges: bool,
    pub(super) stages: Box<[Stage<'a>]>,
}

/// Who made a call.
#[derive(Copy, Clone, Debug)]
pub(super) enum Parent {
    Load { load: LoadId, closed: bool },
    Job(JobKey),
}

impl Parent {
    fn load(self) -> Option<LoadId> {
        match self {
            Parent::Load { load, .. } => Some(load),
            Parent::Job(_) => None,
        }
    }
}

/// What ending a call needs, whether it lives in the arena or in its job.
#[derive(Copy, Clone)]
pub(super) struct CallInfo {
    pub(super) parent: Parent,
    pub(super) started: SimTime,
    /// Started after warmup: counts in run-level statistics.
    pub(super) counted: bool,
    pub(super) optional: bool,
}

/// Who waits for a job's answer.
#[derive(Copy, Clone)]
pub(super) enum Caller {
    /// A call in the arena: the answer counts only while it still waits for attempt `token`.
    Call { key: CallKey, token: u32 },
    /// A call without a policy, held by its only attempt: only this answer can end it.
    Direct(CallInfo),
}

impl Caller {
    /// The attempt's number within its call.
    pub(super) fn token(&self) -> u32 {
        match self {
            Caller::Call { token, .. } => *token,
            Caller::Direct(_) => 1,
        }
    }

    /// The call a direct caller holds.
    pub(super) fn direct(&self) -> Option<CallInfo> {
        match self {
            Caller::Direct(info) => Some(*info),
            Caller::Call { .. } => None,
        }
    }
}

pub(super) struct Call {
    pub(super) info: CallInfo,
    pub(super) route: RouteId,
    pub(super) client: ClientId,
    pub(super) to_endpoint: EndpointId,
    pub(super) policy: Option<PolicyId>,
    /// `SimTime::NEVER` without a deadline.
    pub(super) deadline: SimTime,
    pub(super) attempts: u32,
    /// The last attempt (number `attempts`) is in flight: its answer is awaited.
    pub(super) in_flight: bool,
    pub(super) attempt_sent: SimTime,
    /// The stages admitted a retry that has not started its attempt yet.
    pub(super) retry_reserved: bool,
    pub(super) prev_backoff: SimDuration,
    /// The slot of the instance the attempt in flight went to, recorded for a client that
    /// judges instances (`Client::judges`); 0 otherwise, right for a route with one.
    /// (`in_flight` is a flag beside `retry_reserved` so that this fits where an attempt
    /// token was: a call is no bigger than before.)
    pub(super) target: u32,
    /// The policy hedges (`hedge.rs`): `attempts` counts the copies sent, `in_flight`
    /// stays false, and `outstanding` says which are out; per-try times and instances are
    /// in `Simulator::hedges`. (Both bytes fit in what was padding: no bigger a call.)
    pub(super) hedged: bool,
    /// Bit k set: the hedged call's try k is out, its answer awaited.
    pub(super) outstanding: u8,
}

impl Call {
    /// Whether attempt `token` is one in flight, whose answer the call awaits: the last
    /// one, or for a hedged call any copy still out (tokens go up to 5).
    #[inline]
    pub(super) fn awaits(&self, token: u32) -> bool {
        (self.in_flight && self.attempts == token) || (u32::from(self.outstanding) >> (token & 31)) & 1 != 0
    }
}

/// What an attempt needs of its call, copied once.
#[derive(Copy, Clone)]
pub(super) struct Attempt {
    pub(super) token: u32,
    pub(super) route: RouteId,
    pub(super) client: ClientId,
    /// Only calls with a policy send attempts through `send` (the others are direct).
    pub(super) policy: PolicyId,
    pub(super) to_endpoint: EndpointId,
    pub(super) deadline: SimTime,
    pub(super) info: CallInfo,
    /// The stages had admitted this retry (or hedge) in advance.
    pub(super) reserved: bool,
    /// A hedged copy (not the original): counted in `hedges_sent`, not as a retry.
    pub(super) hedge: bool,
}

impl Simulator<'_> {
    pub(super) fn policy(&self, p: PolicyId) -> &Policy {
        &self.sc.policies[p.ix()]
    }

    /// Starts a call on `route` by the caller instance in `caller_slot` (0 for a load).
    pub(super) fn start_call(
        &mut self,
        parent: Parent,
        route: RouteId,
        to_endpoint: EndpointId,
        policy: Option<PolicyId>,
        optional: bool,
        caller_slot: u32,
    ) {
        let now = self.now();
        let info = CallInfo { parent, started: now, counted: now >= self.m.warmup, optional };
        let (route, to_endpoint) = match &mut self.rollout {
            Some(rollout) => rollout.split(route, to_endpoint),
            None => (route, to_endpoint),
        };
        let client = self.routes[route].clients[caller_slot as usize];
        let Some(p) = policy else {
            // Nothing refuses, times out or retries the one attempt: no arena entry, and
            // no deadline to propagate.
            self.m.attempt_sent(parent.load(), self.routes[route].from_service, false, info.counted, now);
            self.dispatch(Caller::Direct(info), route, client, to_endpoint, SimTime::NEVER);
            return;
        };
        self.start_policy_call(info, route, client, to_endpoint, p);
    }

    /// Starts a call with policy `p`: into the arena, then its first attempt. Out of line,
    /// so that the direct path above stays small.
    #[inline(never)]
    fn start_policy_call(
        &mut self,
        info: CallInfo,
        route: RouteId,
        client: ClientId,
        to_endpoint: EndpointId,
        p: PolicyId,
    ) {
        let now = self.now();
        let policy = self.policy(p);
        let deadline = policy.deadline.map_or(SimTime::NEVER, |d| now + d);
        let hedged = policy.hedging.is_some();
        // Inserted as its first attempt already sent (`send` below, with the same fields).
        let call = self.calls.insert(Call {
            info,
            route,
            client,
            to_endpoint,
            policy: Some(p),
            deadline,
            attempts: 1,
            in_flight: !hedged,
            attempt_sent: now,
            retry_reserved: false,
            prev_backoff: SimDuration::ZERO,
            target: 0,
            hedged,
            outstanding: 0,
        });
        for stage in self.clients[client].stages.iter_mut() {
            stage.call_started();
        }
        let first =
            Attempt { token: 1, route, client, policy: p, to_endpoint, deadline, info, reserved: false, hedge: false };
        if hedged {
            return self.start_hedged(call, first);
        }
        self.send(call, first);
    }

    /// Sends the call's next attempt (a retry).
    fn send_attempt(&mut self, key: CallKey) {
        let now = self.now();
        let c = &mut self.calls[key];
        c.attempts += 1;
        c.in_flight = true;
        c.attempt_sent = now;
        let reserved = std::mem::take(&mut c.retry_reserved);
        let a = Attempt {
            token: c.attempts,
            route: c.route,
            client: c.client,
            policy: c.policy.expect("only a call with a retry policy retries"),
            to_endpoint: c.to_endpoint,
            deadline: c.deadline,
            info: c.info,
            reserved,
            hedge: false,
        };
        self.send(key, a);
    }

    /// Sends attempt `a.token` of call `key` (a call with a policy), whose fields (already
    /// updated) `a` copies: it passes the policy's stages in order, then leaves with its
    /// per-try timeout set. Returns its job, if it made one (a hedged call records it, to
    /// cancel it).
    #[inline(always)]
    pub(super) fn send(&mut self, key: CallKey, a: Attempt) -> Option<JobKey> {
        let now = self.now();
        let Attempt { token, route, client, policy: p, to_endpoint, deadline, info, reserved, hedge } = a;
        // The stages see a hedge as a retry (budgets and throttling count it so); the
        // metrics count it apart.
        let is_retry = token > 1;
        let from = self.routes[route].from_service;
        self.m.attempt_sent(info.parent.load(), from, is_retry && !hedge, info.counted, now);
        if hedge {
            self.m.hedge_sent(from, now);
        }
        let stages = &mut self.clients[client].stages;
        if !stages.is_empty()
            && let Err(refused) = pass_stages(stages, now, is_retry, reserved)
        {
            if let Some(counter) = refused.counter {
                self.m.count(from, counter);
            }
            self.attempt_failed(key, token, refused.outcome);
            return None;
        }
        let policy = &self.sc.policies[p.ix()];
        let timeout_at = policy.timeout.map_or(SimTime::NEVER, |t| now + t).min(deadline);
        let expires = if policy.deadline_propagation { timeout_at } else { SimTime::NEVER };
        if timeout_at != SimTime::NEVER {
            self.queue.schedule_in_lane(p.ix(), timeout_at, Event::Timeout { call: key, token });
        }
        self.dispatch(Caller::Call { key, token }, route, client, to_endpoint, expires)
    }

    /// The answer to an attempt reaches its caller.
    pub(super) fn reply(&mut self, key: CallKey, token: u32, outcome: Outcome) {
        let Some(c) = self.calls.get(key) else { return };
        if !c.awaits(token) {
            return; // The caller gave up on this attempt already.
        }
        self.attempt_ended(key, token, outcome);
    }

    pub(super) fn timeout(&mut self, key: CallKey, token: u32) {
        let Some(c) = self.calls.get(key) else { return };
        if !c.awaits(token) {
            return;
        }
        self.m.attempt_timed_out(self.routes[c.route].to_service.ix());
        self.attempt_ended(key, token, Outcome::Timeout);
    }

    /// An admitted attempt (number `token`) ended (answer or timeout): its stages learn
    /// how, then the call finishes or retries.
    pub(super) fn attempt_ended(&mut self, key: CallKey, token: u32, outcome: Outcome) {
        let now = self.now();
        let c = &mut self.calls[key];
        if c.hedged {
            return self.hedge_ended(key, token, outcome);
        }
        c.in_flight = false;
        let end = TryEnd { outcome, took: now - c.attempt_sent, is_retry: c.attempts > 1, now, target: c.target };
        let (client, route) = (c.client, c.route);
        self.stages_ended(client, route, &end);
        if outcome.is_ok() { self.finish_call(key, Outcome::Ok) } else { self.attempt_failed(key, token, outcome) }
    }

    /// The client's stages learn how a try ended (a call without a policy has a client
    /// without stages).
    #[inline(always)]
    pub(super) fn stages_ended(&mut self, client: ClientId, route: RouteId, end: &TryEnd) {
        for stage in self.clients[client].stages.iter_mut() {
            if let Some(counter) = stage.ended(end) {
                self.m.count(self.routes[route].from_service, counter);
            }
        }
    }

    /// Attempt `token` failed (its outcome back, or refused at the client): retry if the
    /// policy, the deadline and the stages allow.
    fn attempt_failed(&mut self, key: CallKey, token: u32, outcome: Outcome) {
        let now = self.now();
        let c = &mut self.calls[key];
        if c.hedged {
            return self.hedge_failed(key, token, outcome);
        }
        c.in_flight = false;
        let Some(retry) = c.policy.and_then(|p| self.sc.policies[p.ix()].retry.as_ref()) else {
            return self.finish_call(key, outcome);
        };
        if !retry.on.contains(outcome) || c.attempts >= retry.max_attempts || now >= c.deadline {
            return self.finish_call(key, outcome);
        }
        let (client, route, k, prev) = (c.client, c.route, c.attempts, c.prev_backoff);
        if !self.admit_retry(client) {
            return self.finish_call(key, outcome);
        }
        self.calls[key].retry_reserved = true;
        let delay = retry_delay(retry, k, prev, &mut self.routes[route].jitter_rng);
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

    /// Asks every stage to admit a retry; if one refuses, the stages before it that
    /// admitted it hear that it is abandoned.
    pub(super) fn admit_retry(&mut self, client: ClientId) -> bool {
        let stages = &mut self.clients[client].stages;
        match stages.iter_mut().position(|s| !s.admit_retry()) {
            None => true,
            Some(refused) => {
                stages[..refused].iter_mut().for_each(Stage::retry_abandoned);
                false
            }
        }
    }

    pub(super) fn retry_due(&mut self, key: CallKey) {
        let Some(c) = self.calls.get(key) else { return };
        if self.now() >= c.deadline {
            return self.finish_call(key, Outcome::Timeout);
        }
        self.send_attempt(key);
    }

    pub(super) fn finish_call(&mut self, key: CallKey, outcome: Outcome) {
        let c = self.calls.remove(key).expect("finishing a live call");
        if c.retry_reserved {
            // Admitted by the stages, but the deadline passed during the backoff.
            self.clients[c.client].stages.iter_mut().for_each(Stage::retry_abandoned);
        }
        self.call_done(c.info, outcome);
    }

    /// A call has ended with `outcome`: its parent learns it.
    pub(super) fn call_done(&mut self, c: CallInfo, outcome: Outcome) {
        let now = self.now();
        match c.parent {
            Parent::Load { load, closed } => {
                self.m.load_request_done(load.ix(), outcome, now - c.started, c.counted);
                if closed {
                    let LoadKind::Closed { think_time, .. } = &self.sc.loads[load.ix()].kind else {
                        unreachable!("closed-loop request from an open load")
                    };
                    let think = think_time.sample(&mut self.loads[load].think_rng);
                    self.queue.schedule_in(think, Event::UserSend(load));
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
                    let inst = &self.instances[j.instance];
                    if inst.paused(now) {
                        self.queue.schedule_at(inst.paused_until, Event::Resume(job));
                    } else {
                        self.advance_job(job);
                    }
                }
            }
        }
    }

    /// The timer of stage `stage` of `client` (on `route`) fires: it counts what it
    /// reports, and the next tick is scheduled one period on.
    pub(super) fn stage_tick(&mut self, route: RouteId, client: ClientId, stage: u32) {
        let now = self.now();
        let (targets, from) = (self.routes[route].targets.len() as u32, self.routes[route].from_service);
        let st = &mut self.clients[client].stages[stage as usize];
        let counted = st.tick(now, targets);
        if let Some(period) = st.period() {
            self.queue.schedule_at(now + period, Event::StageTick { route, client, stage });
        }
        if let Some((counter, times)) = counted {
            for _ in 0..times {
                self.m.count(from, counter);
            }
        }
    }

    /// For each registered tripped series (`SeriesKind::Tripped`: breakers open...), the
    /// share of a service's client stages counted in it that are tripped now; `None` for
    /// a series none of its stages counts in.
    pub(super) fn tripped_shares(&self, s: &super::server::ServiceRt) -> [Option<f64>; SERIES] {
        let mut counts = [(0u32, 0u32); SERIES];
        for &route in &s.routes_out {
            for &client in &self.routes[route].clients {
                for (tripped, defs) in self.clients[client].stages.iter().filter_map(Stage::tripped) {
                    for def in defs.iter().filter(|d| matches!(d.kind, SeriesKind::Tripped { .. })) {
                        let c = &mut counts[series_index(def)];
                        c.0 += u32::from(tripped);
                        c.1 += 1;
                    }
                }
            }
        }
        counts.map(|(tripped, total)| (total > 0).then(|| f64::from(tripped) / f64::from(total)))
    }
}

/// A try passes its client's stages in order: the first refusal wins (and a retry the
/// stages had admitted is abandoned); admitted by all, it starts in each. Out of line: a
/// policy without stages (timeouts and retries only) keeps `send` small.
#[inline(never)]
fn pass_stages(stages: &mut [Stage<'_>], now: SimTime, is_retry: bool, reserved: bool) -> Result<(), Refusal> {
    if let Some(refused) = stages.iter_mut().find_map(|s| s.admit(now).err()) {
        if reserved {
            stages.iter_mut().for_each(Stage::retry_abandoned);
        }
        return Err(refused);
    }
    for stage in stages.iter_mut() {
        stage.started(is_retry);
    }
    Ok(())
}

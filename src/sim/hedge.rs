//! Hedged calls (gRFC A6 hedging, `model::resilience::hedging`): several tries of one
//! call out at once. The original leaves at once; each further copy after another
//! `delay` (an `Event::Hedge` timer), or at once when a try fails with a non-fatal
//! outcome; the first success ends the call, and a fatal outcome or the deadline ends it
//! failed. Either way the copies still out are cancelled.
//!
//! Tries are numbered (tokens) 1 to `max_attempts` as retries are; the call's
//! `outstanding` bits say which are out, so a late answer or a stale timer is dropped as
//! for any call. What a call needs per try (when it left, which instance it went to, its
//! job) is kept beside the call arena in `Simulator::hedges`, only for hedged calls: a
//! call without hedging costs what it did. (Every entry point here is out of line, so
//! that the client's and the server's hot paths do not grow.)
//!
//! **Cancellation.** gRPC propagates a cancellation to the server (an HTTP/2
//! `RST_STREAM`). A copy still waiting in an instance's queue (or on its way there) is
//! dropped when a worker would take it, and never served: it counts as `skipped`, as
//! work dropped by deadline propagation does. (The cancellation trails the answer that
//! ends the call: a worker freed by that very answer has already taken its next job,
//! which may be a sibling copy. One that arrives to find a worker free is served.) A copy already being worked on is not
//! interrupted (a gRPC handler learns of the cancellation only if it checks its context,
//! and work in progress rarely does): it finishes, holding its worker, and its answer is
//! heard by nobody (`late_ok`, wasted work). Its own calls downstream go on too. At the
//! client, every stage of a cancelled try hears `ClientStage::cancelled`: a bulkhead or a
//! budget frees what it held, and no outcome is recorded.

use super::client::{Attempt, CallKey};
use super::ids::RouteId;
use super::server::{JobKey, JobState};
use super::{Event, Simulator};
use crate::engine::SimTime;
use crate::model::resilience::hedging::{Hedging, MAX_ATTEMPTS_CAP, Next};
use crate::model::resilience::{Stage, TryEnd};
use crate::model::{Outcome, Scenario};
use slotmap::Key;

const TRIES: usize = MAX_ATTEMPTS_CAP as usize;

/// What a hedged call keeps per try, by token - 1.
pub(super) struct Hedge {
    /// The call's first try, copied: what every copy sends.
    first: Attempt,
    /// A stage refused a copy (a budget, throttling): no more are sent.
    frozen: bool,
    /// Bit k set: try k went to an instance picked by the balancer (`targets`).
    picked: u8,
    sent_at: [SimTime; TRIES],
    /// The slot of the instance each try went to (0 on a route with one).
    targets: [u32; TRIES],
    /// Each try's job, to cancel it (`JobKey::null()` when it made none).
    jobs: [JobKey; TRIES],
}

impl Hedge {
    /// Whether an earlier try of the call went to the instance in `slot`.
    pub(super) fn used(&self, slot: u32) -> bool {
        (0..TRIES).any(|i| self.picked & (1 << i) != 0 && self.targets[i] == slot)
    }

    /// Whether any try has gone to a picked instance yet.
    pub(super) fn used_any(&self) -> bool {
        self.picked != 0
    }

    /// The route this call's tries take.
    pub(super) fn route(&self) -> RouteId {
        self.first.route
    }

    /// The instance in `slot` of the route's targets has left (`lifecycle::leave`): the
    /// tries that went to it name no instance any more (`TryEnd::GONE`), and those after
    /// it their instance's new slot.
    pub(super) fn target_removed(&mut self, slot: u32) {
        for (i, t) in self.targets.iter_mut().enumerate() {
            if self.picked & (1 << i) == 0 || *t == TryEnd::GONE {
                continue;
            }
            if *t == slot {
                *t = TryEnd::GONE;
            } else if *t > slot {
                *t -= 1;
            }
        }
    }

    /// Try `token` goes to the instance in `slot`.
    pub(super) fn picked(&mut self, token: u32, slot: u32) {
        let i = token as usize - 1;
        self.targets[i] = slot;
        self.picked |= 1 << i;
    }
}

impl<'a> Simulator<'a> {
    /// The hedging of a hedged call's policy (borrowed from the scenario, not from the
    /// simulator).
    fn hedging_of(&self, h: &Hedge) -> &'a Hedging {
        let sc: &'a Scenario = self.sc;
        sc.policies[h.first.policy.ix()].hedging.as_ref().expect("a hedged call's policy hedges")
    }

    /// Starts a hedged call (already in the arena, its stages told): its original try.
    #[inline(never)]
    pub(super) fn start_hedged(&mut self, key: CallKey, first: Attempt) {
        let now = self.now();
        self.hedges.insert(
            key,
            Hedge {
                first,
                frozen: false,
                picked: 0,
                sent_at: [now; TRIES],
                targets: [0; TRIES],
                jobs: [JobKey::null(); TRIES],
            },
        );
        self.send_copy(key, 1);
    }

    /// Sends try `token` of hedged call `key` (the original, or a copy the stages must
    /// admit as they would a retry). Returns false if a stage refused the copy: it is
    /// not sent, and hedging stops for this call.
    fn send_copy(&mut self, key: CallKey, token: u32) -> bool {
        let now = self.now();
        let h = &self.hedges[key];
        let a = Attempt { token, hedge: token > 1, reserved: token > 1, ..h.first };
        if token > 1 && !self.admit_retry(a.client) {
            self.hedges[key].frozen = true;
            return false;
        }
        let c = &mut self.calls[key];
        c.attempts = token;
        c.outstanding |= 1 << token;
        self.hedges[key].sent_at[token as usize - 1] = now;
        let job = self.send(key, a);
        // The try may have ended already (a refusal, an answer in place), even the call.
        if let (Some(job), Some(h)) = (job, self.hedges.get_mut(key)) {
            h.jobs[token as usize - 1] = job;
        }
        self.schedule_next_copy(key, token);
        true
    }

    /// After try `token` left: the next copy is due `delay` later (at once with no
    /// delay), if the call still waits, no later copy has left meanwhile, and the
    /// deadline is not reached by then.
    fn schedule_next_copy(&mut self, key: CallKey, token: u32) {
        let (Some(c), Some(h)) = (self.calls.get(key), self.hedges.get(key)) else { return };
        let hedging = self.hedging_of(h);
        if c.attempts != token || h.frozen || token >= hedging.max_attempts {
            return;
        }
        let at = self.now() + hedging.delay;
        if at >= c.deadline {
            return;
        }
        if at == self.now() {
            self.send_copy(key, token + 1);
        } else {
            self.queue.schedule_at(at, Event::Hedge { call: key, token: token + 1 });
        }
    }

    /// A copy's delay is over: it leaves, unless the call has ended or it left early
    /// (after a non-fatal failure), or hedging stopped.
    #[inline(never)]
    pub(super) fn hedge_due(&mut self, key: CallKey, token: u32) {
        let (Some(c), Some(h)) = (self.calls.get(key), self.hedges.get(key)) else { return };
        if c.attempts + 1 == token && !h.frozen {
            self.send_copy(key, token);
        }
    }

    /// An admitted try of a hedged call ended (answer or timeout): its stages learn how,
    /// then the call decides.
    #[inline(never)]
    pub(super) fn hedge_ended(&mut self, key: CallKey, token: u32, outcome: Outcome) {
        let now = self.now();
        let c = &self.calls[key];
        let h = &self.hedges[key];
        let i = token as usize - 1;
        let target = if h.picked & (1 << i) != 0 { h.targets[i] } else { 0 };
        let end = TryEnd { outcome, took: now - h.sent_at[i], is_retry: token > 1, now, target };
        let (client, route) = (c.client, c.route);
        self.stages_ended(client, route, &end);
        self.hedge_failed(key, token, outcome);
    }

    /// Try `token` of hedged call `key` ended with `outcome` (its answer, its timeout, or
    /// a stage's refusal at the client): the call ends, sends its next copy now, or
    /// waits (`Hedging::after`).
    #[inline(never)]
    pub(super) fn hedge_failed(&mut self, key: CallKey, token: u32, outcome: Outcome) {
        let c = &mut self.calls[key];
        c.outstanding &= !(1 << token);
        let (sent, outstanding, deadline) = (c.attempts, c.outstanding != 0, c.deadline);
        let h = &self.hedges[key];
        let hedging = self.hedging_of(h);
        if !outcome.is_ok() && self.now() >= deadline {
            // gRFC A6: once the deadline has passed the call fails, whatever is in flight.
            return self.finish_hedged(key, Outcome::Timeout);
        }
        let can_send = !h.frozen && sent < hedging.max_attempts;
        match hedging.after(outcome, can_send, outstanding) {
            Next::Finish(o) => self.finish_hedged(key, o),
            Next::Wait => {}
            Next::SendNow => {
                if !self.send_copy(key, sent + 1) && !outstanding {
                    // The copy was refused and nothing else is out: the failure stands.
                    self.finish_hedged(key, outcome);
                }
            }
        }
    }

    /// Ends hedged call `key` with `outcome`, cancelling the tries still out: their
    /// stages hear it, and a copy not yet started at its instance is marked expired, so
    /// the worker that would take it skips it instead.
    fn finish_hedged(&mut self, key: CallKey, outcome: Outcome) {
        let c = &self.calls[key];
        let (client, outstanding) = (c.client, c.outstanding);
        let h = self.hedges.remove(key).expect("a hedged call keeps its tries");
        for token in (1..=TRIES as u32).filter(|t| outstanding & (1 << t) != 0) {
            self.clients[client].stages.iter_mut().for_each(|s| Stage::cancelled(s, token > 1));
            if let Some(j) = self.jobs.get_mut(h.jobs[token as usize - 1])
                && matches!(j.state, JobState::InTransit | JobState::Queued)
            {
                j.expires = SimTime::ZERO;
            }
        }
        self.calls[key].outstanding = 0;
        self.finish_call(key, outcome);
    }
}

//! Hedging (gRFC A6, `hedgingPolicy`): a call sends copies of itself without waiting
//! for an answer, and the first success wins. The config, the counter it keeps, and the
//! rule that decides what a hedged call does when one of its tries ends; the simulator's
//! side (several tries outstanding, timers, cancellation) is `sim/hedge.rs`.
//!
//! What gRFC A6 ("gRPC Retry Design", grpc/proposal `A6-client-retries.md`) says, and
//! what is reproduced:
//!
//! * "the original RPC is sent immediately ... After `hedgingDelay` has elapsed without a
//!   successful response, the second RPC will be issued", and so on up to `maxAttempts`,
//!   which counts the original; `hedgingDelay` "0s" sends them all at once.
//! * "`maxAttempts` in both `retryPolicy` and `hedgingPolicy` have, by default, a
//!   client-side maximum value of 5 ... higher values will be treated as equal to the
//!   maximum": validation refuses more than [`MAX_ATTEMPTS_CAP`] (it says why), rather
//!   than running something other than what was written.
//! * "If a non-fatal status code is received from a hedged request, then the next hedged
//!   request in line is sent immediately, shortcutting its hedging delay. If any other
//!   status code is received, all outstanding RPCs are canceled and the error is
//!   returned"; "Subsequent hedged requests will resume at `hedgingDelay`" (after the one
//!   sent early).
//! * "When a non-error response is received ... all outstanding hedged requests are
//!   canceled"; "Hedged RPCs are returned to the client application when all
//!   outstanding and pending requests have either received a response or been
//!   canceled": a non-fatal failure with nothing left to send waits for the copies still
//!   out, and the last failure is the call's.
//! * "If all instances of a hedged RPC fail, there are no additional retry attempts"
//!   (a policy has `retry` or `hedging`, never both: validation).
//! * "gRPC call deadlines apply to the entire chain of hedged requests. Once a deadline
//!   has passed, the operation fails regardless of in-flight RPCs."
//! * "Throttling also applies to hedged RPCs. The first outgoing RPC will always be sent,
//!   but subsequent hedged RPCs will only be sent if `token_count` is greater than the
//!   threshold": each copy after the first is asked of the policy's stages as a retry
//!   is (`ClientStage::admit_retry`); a copy refused is not sent, and, as grpc-java's
//!   `RetriableStream` freezes hedging when its throttle refuses, no later copy is.
//! * "Hedged requests should be sent to distinct backends, if possible": the balancer
//!   chooses among the instances this call has not used yet, if any is eligible.

use crate::engine::SimDuration;
use crate::model::counters::{CounterDef, SeriesDef, SeriesKind};
use crate::model::outcome::{Outcome, OutcomeSet};

/// gRPC clients' default cap on `maxAttempts` (gRFC A6, "Limits on Retries and Hedges").
pub const MAX_ATTEMPTS_CAP: u32 = 5;

/// `hedging = { max_attempts, delay, non_fatal }` in a policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Hedging {
    /// Tries in all, the original included: 2 to [`MAX_ATTEMPTS_CAP`].
    pub max_attempts: u32,
    /// `hedgingDelay`: between one copy and the next; zero sends them all at once.
    pub delay: SimDuration,
    /// `nonFatalStatusCodes`: outcomes after which the other copies may still succeed.
    pub non_fatal: OutcomeSet,
}

/// Copies of calls this service's clients sent, beyond each call's original (after
/// warmup).
pub static HEDGES_SENT: CounterDef = CounterDef { key: "hedges_sent", heading: "hedges" };

/// Copies sent in each bucket, in runs where some policy hedges.
pub static HEDGE_SERIES: SeriesDef = SeriesDef {
    column: "hedges",
    kind: SeriesKind::Count(&HEDGES_SENT),
    used: Some(|sc| sc.policies.iter().any(|p| p.hedging.is_some())),
    panel: Some("hedged copies sent per second per service (hedging)"),
};

/// What a hedged call does once one of its tries has ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// The call ends with this outcome; the tries still out are cancelled.
    Finish(Outcome),
    /// Send the next copy now, without waiting for its delay.
    SendNow,
    /// Wait for the copies still out (or the next one due).
    Wait,
}

impl Hedging {
    /// After a try ended with `outcome` (gRFC A6, "Summary of Retry and Hedging Logic"):
    /// `can_send` says whether another copy may still go (fewer than `max_attempts` sent,
    /// none refused), `outstanding` whether other tries are still out.
    pub fn after(&self, outcome: Outcome, can_send: bool, outstanding: bool) -> Next {
        if outcome.is_ok() || !self.non_fatal.contains(outcome) {
            Next::Finish(outcome)
        } else if can_send {
            Next::SendNow
        } else if outstanding {
            Next::Wait
        } else {
            Next::Finish(outcome)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hedging(non_fatal: &[Outcome]) -> Hedging {
        Hedging { max_attempts: 3, delay: SimDuration::from_millis(10), non_fatal: OutcomeSet::of(non_fatal) }
    }

    /// gRFC A6's five responses, the two that apply here: OK ends the call; a non-fatal
    /// code sends the next copy at once, or waits for those out, or (nothing left) fails;
    /// any other code fails the call at once, even with copies out.
    #[test]
    fn after_follows_the_summary_of_hedging_logic() {
        let h = hedging(&[Outcome::Unavailable]);
        assert_eq!(h.after(Outcome::Ok, true, true), Next::Finish(Outcome::Ok));
        assert_eq!(h.after(Outcome::Unavailable, true, true), Next::SendNow);
        assert_eq!(h.after(Outcome::Unavailable, true, false), Next::SendNow);
        assert_eq!(h.after(Outcome::Unavailable, false, true), Next::Wait);
        assert_eq!(h.after(Outcome::Unavailable, false, false), Next::Finish(Outcome::Unavailable));
        assert_eq!(h.after(Outcome::Error, true, true), Next::Finish(Outcome::Error));
        assert_eq!(hedging(&[]).after(Outcome::Timeout, true, true), Next::Finish(Outcome::Timeout));
    }
}

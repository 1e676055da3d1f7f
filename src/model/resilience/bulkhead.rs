//! A bulkhead: at most `max_concurrent` tries in flight per client (one caller instance
//! and one callee service); a try over it is refused at once (`throttled`), as
//! Resilience4j's `SemaphoreBulkhead` with `maxWaitDuration = 0`.

use super::stage::{ClientStage, Refusal, Streams, TryEnd};
use crate::engine::SimTime;
use crate::model::Outcome;
use crate::model::counters::Counter;

#[derive(Clone, Debug, PartialEq)]
pub struct Bulkhead {
    /// Concurrent calls per caller instance and callee service; over it, `throttled`.
    pub max_concurrent: u32,
}

/// Tries of one client in flight.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BulkheadState {
    in_use: u32,
}

impl ClientStage for BulkheadState {
    type Config = Bulkhead;

    fn new(_cfg: &Bulkhead, _streams: &Streams<'_>) -> BulkheadState {
        BulkheadState::default()
    }

    #[inline]
    fn admit(&mut self, cfg: &Bulkhead, _now: SimTime) -> Result<(), Refusal> {
        if self.in_use >= cfg.max_concurrent { Err(Outcome::Throttled.into()) } else { Ok(()) }
    }

    #[inline]
    fn started(&mut self, _cfg: &Bulkhead, _is_retry: bool) {
        self.in_use += 1;
    }

    #[inline]
    fn ended(&mut self, _cfg: &Bulkhead, _end: &TryEnd) -> Option<Counter> {
        self.in_use -= 1;
        None
    }

    /// A cancelled try gives its place back, as a finished one does.
    fn cancelled(&mut self, _cfg: &Bulkhead, _is_retry: bool) {
        self.in_use -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full bulkhead refuses; an ended try frees its place.
    #[test]
    fn refuses_past_max_concurrent_until_a_try_ends() {
        let cfg = Bulkhead { max_concurrent: 2 };
        let mut b = BulkheadState::default();
        let end = TryEnd {
            outcome: Outcome::Ok,
            took: crate::engine::SimDuration::ZERO,
            is_retry: false,
            now: SimTime::ZERO,
            target: 0,
        };
        for _ in 0..2 {
            assert_eq!(b.admit(&cfg, SimTime::ZERO), Ok(()));
            b.started(&cfg, false);
        }
        assert_eq!(b.admit(&cfg, SimTime::ZERO), Err(Outcome::Throttled.into()));
        b.ended(&cfg, &end);
        assert_eq!(b.admit(&cfg, SimTime::ZERO), Ok(()));
    }
}

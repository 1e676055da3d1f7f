//! The client-side seam: every mechanism of a policy that decides about single tries
//! (circuit breaker, bulkhead, retry budget...) is a **stage** with one interface, and the
//! simulator's client loops over a call's stages without knowing which they are.
//!
//! A try's life, as the stages see it (the simulator calls these in this order):
//!
//! 1. [`call_started`](ClientStage::call_started) once per call, before its first try;
//! 2. [`admit`](ClientStage::admit) for every try, stage by stage in [`STAGES`] order: the
//!    first refusal fails the try at the client with that outcome, and later stages do
//!    not see it;
//! 3. [`started`](ClientStage::started) when every stage admitted it;
//! 4. [`ended`](ClientStage::ended) when its outcome reaches the client (answer or
//!    timeout); a stage may report a [`Counter`] to count for the calling service;
//! 5. after a retryable failure, [`admit_retry`](ClientStage::admit_retry), before the
//!    backoff; if a later stage refuses the retry, or it never starts (its own `admit`
//!    refuses it, or the deadline passes during the backoff), every stage that admitted
//!    it hears [`retry_abandoned`](ClientStage::retry_abandoned).
//!
//! Each mechanism's module holds its config, its state and the state's [`ClientStage`]
//! impl (and its lint). Adding one: that module, one variant in [`Stage`] (and in `each!`)
//! and one line in [`Stage::of`]; its config is a field of `Policy`, read from TOML by
//! `scenario`. See ARCHITECTURE.md, "Adding a mechanism".

use super::breaker::{BreakerState, CircuitBreaker, CircuitBreakerConfig};
use super::budget::{RetryBudget, RetryBudgetState};
use super::bulkhead::{Bulkhead, BulkheadState};
use crate::engine::{SimDuration, SimTime};
use crate::model::counters::Counter;
use crate::model::{Outcome, Policy};

/// How an admitted try ended, as the stages are told.
#[derive(Copy, Clone, Debug)]
pub struct TryEnd {
    pub outcome: Outcome,
    /// From the try leaving the client to its outcome reaching it.
    pub took: SimDuration,
    /// A retry (not the call's first try).
    pub is_retry: bool,
    pub now: SimTime,
}

/// One client-side mechanism's state for one client (one caller instance on one route),
/// driven by its config (shared by every client of the policy). Every method has a
/// default that does nothing, so a mechanism implements only the moments it cares about.
pub trait ClientStage {
    type Config;
    /// A call starts; its first try is about to be asked for.
    fn call_started(&mut self, _cfg: &Self::Config) {}
    /// May this try leave? `Err(outcome)` refuses it at the client.
    fn admit(&mut self, _cfg: &Self::Config, _now: SimTime) -> Result<(), Outcome> {
        Ok(())
    }
    /// Every stage admitted the try: it leaves now.
    fn started(&mut self, _cfg: &Self::Config, _is_retry: bool) {}
    /// The admitted try ended; returns a counter to count for the calling service, if
    /// this end changed something the run reports (a breaker opening).
    fn ended(&mut self, _cfg: &Self::Config, _end: &TryEnd) -> Option<Counter> {
        None
    }
    /// A failed try is to be retried: may it be? Admitting may reserve what the retry
    /// will use; [`retry_abandoned`](Self::retry_abandoned) gives it back.
    fn admit_retry(&mut self, _cfg: &Self::Config) -> bool {
        true
    }
    /// A retry this stage admitted will not start.
    fn retry_abandoned(&mut self, _cfg: &Self::Config) {}
    /// Whether the stage is tripped now (a breaker open or half-open), for the share of
    /// tripped clients per bucket; `None` for a stage that cannot trip.
    fn tripped(&self) -> Option<bool> {
        None
    }
}

/// The stages a policy can have (their keys in a policy table), in the order a try
/// passes them.
pub const STAGES: [&str; 3] = ["circuit_breaker", "bulkhead", "retry_budget"];

/// A stage: its config and this client's state. Static dispatch: the simulator calls
/// these on every try.
pub enum Stage<'a> {
    CircuitBreaker(&'a CircuitBreakerConfig, CircuitBreaker),
    Bulkhead(&'a Bulkhead, BulkheadState),
    RetryBudget(&'a RetryBudget, RetryBudgetState),
}

/// Runs `$call` on the stage's own state with its config, whichever stage it is.
macro_rules! each {
    ($stage:expr, |$cfg:ident, $state:ident| $call:expr) => {
        match $stage {
            Stage::CircuitBreaker($cfg, $state) => $call,
            Stage::Bulkhead($cfg, $state) => $call,
            Stage::RetryBudget($cfg, $state) => $call,
        }
    };
}

impl<'a> Stage<'a> {
    /// The stages of `policy`, fresh, in [`STAGES`] order.
    pub fn of(policy: &'a Policy) -> Vec<Stage<'a>> {
        let mut stages = Vec::new();
        if let Some(cfg) = &policy.circuit_breaker {
            stages.push(Stage::CircuitBreaker(cfg, CircuitBreaker::new(cfg)));
        }
        if let Some(cfg) = &policy.bulkhead {
            stages.push(Stage::Bulkhead(cfg, BulkheadState::default()));
        }
        if let Some(cfg) = &policy.retry_budget {
            stages.push(Stage::RetryBudget(cfg, RetryBudgetState::new(cfg)));
        }
        stages
    }

    /// The circuit breaker's state, if this stage is one (for tests and traces).
    pub fn breaker(&self) -> Option<BreakerState> {
        match self {
            Stage::CircuitBreaker(_, b) => Some(b.state()),
            _ => None,
        }
    }

    #[inline]
    pub fn call_started(&mut self) {
        each!(self, |cfg, state| state.call_started(cfg))
    }
    #[inline]
    pub fn admit(&mut self, now: SimTime) -> Result<(), Outcome> {
        each!(self, |cfg, state| state.admit(cfg, now))
    }
    #[inline]
    pub fn started(&mut self, is_retry: bool) {
        each!(self, |cfg, state| state.started(cfg, is_retry))
    }
    #[inline]
    pub fn ended(&mut self, end: &TryEnd) -> Option<Counter> {
        each!(self, |cfg, state| state.ended(cfg, end))
    }
    #[inline]
    pub fn admit_retry(&mut self) -> bool {
        each!(self, |cfg, state| state.admit_retry(cfg))
    }
    #[inline]
    pub fn retry_abandoned(&mut self) {
        each!(self, |cfg, state| state.retry_abandoned(cfg))
    }
    #[inline]
    pub fn tripped(&self) -> Option<bool> {
        each!(self, |_cfg, state| state.tripped())
    }
}

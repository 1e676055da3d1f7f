//! TEMPORARY stand-ins until the resilience branch lands (replaced on merge).
use crate::engine::{SimDuration, SimTime};
use crate::model::{Backoff, CircuitBreakerConfig, Retry, RetryBudget};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BreakerState { Closed, Open, HalfOpen }
pub struct CircuitBreaker { opens: u64 }
impl CircuitBreaker {
    pub fn new(_: &CircuitBreakerConfig) -> Self { CircuitBreaker { opens: 0 } }
    pub fn try_acquire(&mut self, _: &CircuitBreakerConfig, _: SimTime) -> bool { true }
    pub fn record(&mut self, _: &CircuitBreakerConfig, _: SimTime, _: bool, _: SimDuration) {}
    pub fn state(&self) -> BreakerState { BreakerState::Closed }
    pub fn opens(&self) -> u64 { self.opens }
}
pub struct RetryBudgetState;
impl RetryBudgetState {
    pub fn new(_: &RetryBudget) -> Self { RetryBudgetState }
    pub fn on_first_try(&mut self, _: &RetryBudget) {}
    pub fn on_attempt_start(&mut self, _: &RetryBudget, _: bool) {}
    pub fn on_attempt_end(&mut self, _: &RetryBudget, _: bool) {}
    pub fn on_attempt_outcome(&mut self, _: &RetryBudget, _: bool) {}
    pub fn try_admit_retry(&mut self, _: &RetryBudget) -> bool { true }
    pub fn on_call_end(&mut self) {}
}
pub struct TokenBucket;
impl TokenBucket {
    pub fn new(_: f64, _: f64) -> Self { TokenBucket }
    pub fn try_take(&mut self, _: SimTime) -> bool { true }
}
pub fn retry_delay(retry: &Retry, k: u32, _prev: SimDuration, _rng: &mut impl rand::Rng) -> SimDuration {
    match &retry.backoff {
        Backoff::None => SimDuration::ZERO,
        Backoff::Constant { base } => *base,
        Backoff::Exponential { base, multiplier, max } => base.saturating_mul_f64(multiplier.powi(k as i32 - 1)).min(*max),
    }
}

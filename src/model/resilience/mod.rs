//! Client resilience state machines (circuit breaker, retry budgets, backoff, rate
//! limiter), each driven by simulated time only, and testable alone.
//!
//! Each machine takes its configuration by reference on every call: the simulator keeps
//! one state per (caller instance, callee service) and one config per policy, so a state
//! never stores a copy of it. Decisions use integer simulated time and integer fixed
//! point (parts per million for rates, milli-tokens for budgets) so that thresholds are
//! exact and runs are reproducible bit for bit.

pub mod backoff;
pub mod breaker;
pub mod budget;
mod fixed;

pub use backoff::{nominal_delay, retry_delay};
pub use breaker::{BreakerMetrics, BreakerState, CircuitBreaker, Transition};
pub use budget::RetryBudgetState;

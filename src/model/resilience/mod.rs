//! Client resilience state machines (circuit breaker, retry budgets, backoff, rate
//! limiter), each driven by simulated time only, and testable alone.
//!
//! Each machine takes its configuration by reference on every call: the simulator keeps
//! one state per (caller instance, callee service) and one config per policy, so a state
//! never stores a copy of it. The exception is the rate limiter's `TokenBucket`, which
//! belongs to one server instance and keeps its two converted numbers.
//!
//! Decisions use integer simulated time and integer fixed point (parts per million for
//! rates, milli-tokens for retry budgets, femto-tokens for the rate limiter) so that
//! thresholds are exact and runs are reproducible bit for bit. Floats appear only where
//! a validated `f64` config value is converted, and in the exponential backoff product.
//! Nothing here allocates per call: windows are fixed rings built when a state is
//! entered.

pub mod backoff;
pub mod breaker;
pub mod budget;
pub mod bulkhead;
mod fixed;
pub mod rate_limit;
pub mod stage;

pub use backoff::{nominal_delay, retry_delay};
pub use breaker::{BreakerMetrics, BreakerState, CircuitBreaker, Transition};
pub use budget::RetryBudgetState;
pub use rate_limit::TokenBucket;
pub use stage::{ClientStage, STAGES, Stage, TryEnd};

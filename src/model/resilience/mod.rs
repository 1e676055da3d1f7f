//! Client resilience state machines (circuit breaker, retry budgets, backoff, rate
//! limiter), each driven by simulated time only, and testable alone.
mod stub;
pub use stub::*;

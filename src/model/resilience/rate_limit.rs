//! A per-instance token bucket (`rate_limit = { rate, burst }`, `spec/scenario-format.md`
//! section 3): it starts full, refills continuously in simulated time, and each admitted
//! request takes one token; over it, the request is `throttled`.
//!
//! The refill is computed lazily from the last update, in exact integer fixed point:
//! the rate is held in micro-tokens per second and the level in femto-tokens
//! (1e-15 token), so `dt` nanoseconds add exactly `dt x rate_micro` femto-tokens with no
//! remainder to carry. The level is therefore the same whether the bucket is looked at
//! every nanosecond or once, and no rounding accumulates over a long run.
//!
//! Unlike the two other state machines, the bucket keeps its two numbers: it belongs to a
//! server instance (one per instance, not one per caller and callee pair), and the
//! converted integers are what every call needs.

use super::admission::ServerStage;
use super::fixed::{PPM_ONE, ratio_to_ppm};
use super::stage::{Refusal, Streams};
use crate::engine::SimTime;
use crate::engine::time::NANOS_PER_SEC;
use crate::model::Outcome;
use crate::model::service::RateLimit;

/// Femto-tokens in one token: micro-tokens (the rate's unit per second) times the
/// nanoseconds in a second.
const TOKEN: u128 = PPM_ONE as u128 * NANOS_PER_SEC as u128;

/// A token bucket in simulated time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenBucket {
    /// Refill rate in micro-tokens per second, which is femto-tokens per nanosecond.
    rate_micro_per_s: u64,
    /// Bucket size in femto-tokens.
    capacity: u128,
    /// Level in femto-tokens as of `updated_at`.
    level: u128,
    updated_at: SimTime,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens refilled at `rate_per_s` tokens per second. Both are
    /// rounded to the nearest millionth; NaN or negative values count as 0 (a bucket of
    /// size below one token never admits anything; validation refuses such configs).
    pub fn new(rate_per_s: f64, burst: f64) -> TokenBucket {
        let capacity = u128::from(ratio_to_ppm(burst)) * u128::from(NANOS_PER_SEC);
        TokenBucket { rate_micro_per_s: ratio_to_ppm(rate_per_s), capacity, level: capacity, updated_at: SimTime::ZERO }
    }

    /// The bucket of a service's `rate_limit`.
    pub fn from_config(cfg: &RateLimit) -> TokenBucket {
        TokenBucket::new(cfg.rate, cfg.burst)
    }

    /// Takes one token at `now` if a whole token is there; `false` means throttled.
    pub fn try_take(&mut self, now: SimTime) -> bool {
        self.level = self.level_at(now);
        // Never move the clock back: an earlier `now` (a caller bug) refills nothing.
        self.updated_at = self.updated_at.max(now);
        if self.level >= TOKEN {
            self.level -= TOKEN;
            true
        } else {
            false
        }
    }

    /// Tokens available at `now`, in millionths (for reports and tests), without changing
    /// the bucket.
    pub fn available_micro(&self, now: SimTime) -> u64 {
        u64::try_from(self.level_at(now) / u128::from(NANOS_PER_SEC)).unwrap_or(u64::MAX)
    }

    fn level_at(&self, now: SimTime) -> u128 {
        let elapsed_ns = u128::from(now.0.saturating_sub(self.updated_at.0));
        let refill = elapsed_ns.saturating_mul(u128::from(self.rate_micro_per_s));
        self.level.saturating_add(refill).min(self.capacity)
    }
}

/// The bucket as a server stage: a request without a token is `throttled`.
impl ServerStage for TokenBucket {
    type Config = RateLimit;

    fn new(cfg: &RateLimit, _streams: &Streams<'_>, _now: SimTime) -> TokenBucket {
        TokenBucket::from_config(cfg)
    }

    #[inline]
    fn admit(&mut self, _cfg: &RateLimit, now: SimTime) -> Result<(), Refusal> {
        if self.try_take(now) { Ok(()) } else { Err(Outcome::Throttled.into()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimDuration;
    use proptest::prelude::*;

    /// Proves the bucket starts full with `burst` tokens and refills one token exactly
    /// 1/rate later, not a nanosecond earlier.
    #[test]
    fn starts_full_and_refills_at_the_rate() {
        let mut bucket = TokenBucket::new(1.0, 3.0);
        let t0 = SimTime(5 * NANOS_PER_SEC);
        assert!(bucket.try_take(t0));
        assert!(bucket.try_take(t0));
        assert!(bucket.try_take(t0));
        assert!(!bucket.try_take(t0));
        assert!(!bucket.try_take(t0 + SimDuration(NANOS_PER_SEC - 1)));
        assert!(bucket.try_take(t0 + SimDuration::from_secs(1)));
        assert!(!bucket.try_take(t0 + SimDuration::from_secs(1)));
    }

    /// Proves fractional rates are exact: at 0.1 token/s a token takes exactly 10 s, and
    /// at 2000/s exactly 0.5 ms.
    #[test]
    fn fractional_refill_is_exact() {
        let mut slow = TokenBucket::new(0.1, 1.0);
        assert!(slow.try_take(SimTime::ZERO));
        assert!(!slow.try_take(SimTime(10 * NANOS_PER_SEC - 1)));
        assert!(slow.try_take(SimTime(10 * NANOS_PER_SEC)));

        let mut fast = TokenBucket::new(2000.0, 1.0);
        assert!(fast.try_take(SimTime::ZERO));
        assert!(!fast.try_take(SimTime(499_999)));
        assert!(fast.try_take(SimTime(500_000)));
    }

    /// Proves idle time refills only up to `burst`, whatever its length.
    #[test]
    fn refill_is_capped_at_burst() {
        let mut bucket = TokenBucket::new(1000.0, 2.0);
        assert!(bucket.try_take(SimTime::ZERO));
        let later = SimTime(u64::MAX);
        assert_eq!(bucket.available_micro(later), 2_000_000);
        assert!(bucket.try_take(later));
        assert!(bucket.try_take(later));
        assert!(!bucket.try_take(later));
    }

    /// Proves degenerate buckets do not panic: zero or NaN burst never admits, a zero
    /// rate never refills, and time running backwards refills nothing.
    #[test]
    fn degenerate_buckets_are_safe() {
        assert!(!TokenBucket::new(10.0, 0.0).try_take(SimTime(NANOS_PER_SEC)));
        assert!(!TokenBucket::new(f64::NAN, f64::NAN).try_take(SimTime(1)));
        let mut no_refill = TokenBucket::new(0.0, 1.0);
        assert!(no_refill.try_take(SimTime::ZERO));
        assert!(!no_refill.try_take(SimTime(u64::MAX)));
        let mut bucket = TokenBucket::new(1.0, 1.0);
        assert!(bucket.try_take(SimTime(10 * NANOS_PER_SEC)));
        assert!(!bucket.try_take(SimTime(NANOS_PER_SEC)));
        assert!(!bucket.try_take(SimTime(10 * NANOS_PER_SEC)));
    }

    proptest! {
        /// Over any non-decreasing sequence of requests: a request is admitted exactly
        /// when a whole token is available; admissions up to time t never exceed
        /// burst + rate x t (exact, in femto-tokens); the level never exceeds burst.
        #[test]
        fn admissions_within_burst_plus_rate(
            rate_milli in 0u64..5_000_000,
            burst_milli in 0u64..20_000,
            gaps in prop::collection::vec(0u64..50_000_000, 1..400),
        ) {
            let rate = rate_milli as f64 / 1000.0;
            let burst = burst_milli as f64 / 1000.0;
            let mut bucket = TokenBucket::new(rate, burst);
            let mut now = SimTime::ZERO;
            let mut admitted: u128 = 0;
            for gap in gaps {
                now += SimDuration(gap);
                let available = bucket.available_micro(now);
                let taken = bucket.try_take(now);
                prop_assert_eq!(taken, available >= 1_000_000);
                admitted += u128::from(taken);
                let budget = u128::from(burst_milli) * 1_000 * u128::from(NANOS_PER_SEC)
                    + u128::from(now.0) * u128::from(rate_milli) * 1_000;
                prop_assert!(admitted * TOKEN <= budget);
                prop_assert!(bucket.available_micro(now) <= burst_milli * 1_000);
            }
        }
    }
}

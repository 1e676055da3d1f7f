//! Retry backoff: the delay before each retry, from the backoff shape and the jitter.
//!
//! The formulas are the ones `spec/scenario-format.md` section 4 ("Retries") promises,
//! which are those of `reference/resilience-semantics.md` section 4.10 (the AWS
//! architecture-blog backoff simulator): with `k` = 1 for the first retry,
//!
//! * `none`: 0; `constant`: `base`; `exponential`: d = min(max, base x multiplier^(k-1));
//! * jitter `none`: d; `full`: uniform in [0, d]; `equal`: d/2 + uniform in [0, d/2];
//!   `decorrelated`: min(max, uniform in [base, 3 x prev]), prev = base for the first retry.
//!
//! Differences from the libraries, on purpose:
//!
//! * Envoy's fully jittered backoff (section 4.6) draws retry N from
//!   **[0, (2^N - 1) x base)**, then caps at `max_interval`: 0-24, 0-74, 0-174, then 0-249 ms
//!   with the 25 ms default, the cap taking all the mass above it. The spec's `full`
//!   jitter with `multiplier = 2` draws from [0, base x 2^(N-1)] instead: 0-25, 0-50,
//!   0-100, 0-200, then 0-250 ms. The two agree on the first retry's range (up to its
//!   closed end) and on the cap; in between, Envoy's ranges are wider.
//! * Resilience4j truncates each exponential step to whole milliseconds and randomizes
//!   with `v(1 - f) + U[0,1) (2fv + 1)` (section 4.2); we compute the exact product,
//!   rounded once to the nanosecond. For reference example 4 (500 ms x 1.5^k) both give
//!   500, 750, 1125 ms.
//!
//! Draws are integers (`random_range` on nanoseconds), so only the exponential's product
//! uses floating point; it is computed by repeated squaring, a fixed sequence of IEEE
//! multiplications, so the result is the same on every platform.

use rand::{Rng, RngExt};

use crate::engine::SimDuration;
use crate::model::policy::{Backoff, Jitter, Retry};

/// The delay before retry `k` (k = 1 for the first retry, the wait before attempt 2),
/// jitter applied. `prev` is the delay this function returned for retry `k - 1`; only
/// decorrelated jitter reads it, and it is ignored for `k = 1` (prev = base then).
/// `k = 0` is treated as 1. Never overflows: every product saturates at `max` (or at
/// `SimDuration::MAX` where there is no `max`).
///
/// Decorrelated jitter is defined by `base` and `max` only: it ignores `multiplier`.
/// With `constant` backoff there is no `max`, so decorrelated delays may grow by up to
/// 3x per retry, bounded only by `max_attempts` (and the call's deadline).
pub fn retry_delay(retry: &Retry, k: u32, prev: SimDuration, rng: &mut impl Rng) -> SimDuration {
    let k = k.max(1);
    match retry.jitter {
        Jitter::None => nominal_delay(&retry.backoff, k),
        Jitter::Full => uniform(rng, 0, nominal_delay(&retry.backoff, k).0),
        Jitter::Equal => {
            let d = nominal_delay(&retry.backoff, k).0;
            // floor(d/2) + U[0, d - floor(d/2)] keeps an odd d's range at [d/2, d].
            let half = d / 2;
            SimDuration(half + uniform(rng, 0, d - half).0)
        }
        Jitter::Decorrelated => {
            let (base, cap) = match retry.backoff {
                Backoff::None => (SimDuration::ZERO, SimDuration::ZERO),
                Backoff::Constant { base } => (base, SimDuration::MAX),
                Backoff::Exponential { base, max, .. } => (base, max),
            };
            let prev = if k == 1 { base } else { prev };
            // If a caller passes a `prev` below `base`, the range collapses to `base`
            // rather than being empty.
            let high = prev.0.saturating_mul(3).max(base.0);
            uniform(rng, base.0, high).min(cap)
        }
    }
}

/// The delay before retry `k` without jitter: 0, `base`, or min(max, base x
/// multiplier^(k-1)). `k = 0` is treated as 1.
///
/// A NaN multiplier (refused by validation) gives `max`; a negative product gives 0.
pub fn nominal_delay(backoff: &Backoff, k: u32) -> SimDuration {
    match *backoff {
        Backoff::None => SimDuration::ZERO,
        Backoff::Constant { base } => base,
        Backoff::Exponential { base, multiplier, max } => {
            let steps = k.max(1) - 1;
            if base == SimDuration::ZERO || steps == 0 {
                return base.min(max);
            }
            let ns = base.0 as f64 * power(multiplier, steps);
            if ns.is_nan() {
                max
            } else {
                // Rounds to the nearest nanosecond and saturates at `SimDuration::MAX`.
                SimDuration::from_nanos_f64(ns).min(max)
            }
        }
    }
}

/// `x^n` by repeated squaring: at most 64 multiplications whatever `n`, and the same
/// sequence of IEEE operations everywhere (unlike `powi`, whose precision is unspecified).
/// Overflow gives infinity, which the caller caps.
fn power(mut x: f64, mut n: u32) -> f64 {
    let mut acc = 1.0;
    while n > 0 {
        if n & 1 == 1 {
            acc *= x;
        }
        x *= x;
        n >>= 1;
    }
    acc
}

/// Uniform integer nanoseconds in [low, high] (both ends included); `low <= high`.
fn uniform(rng: &mut impl Rng, low: u64, high: u64) -> SimDuration {
    SimDuration(rng.random_range(low..=high.max(low)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{StreamRng, stream};
    use crate::model::outcome::OutcomeSet;
    use proptest::prelude::*;

    const MS: u64 = 1_000_000;

    fn retry(backoff: Backoff, jitter: Jitter) -> Retry {
        Retry { max_attempts: 4, backoff, jitter, on: OutcomeSet::EMPTY }
    }

    fn envoy_like(jitter: Jitter) -> Retry {
        let backoff = Backoff::Exponential {
            base: SimDuration::from_millis(25),
            multiplier: 2.0,
            max: SimDuration::from_millis(250),
        };
        retry(backoff, jitter)
    }

    fn rng() -> StreamRng {
        stream(42, "test/resilience/backoff")
    }

    /// Reference section 5, example 4: I = 500 ms, multiplier 1.5, max_attempts 4. Proves
    /// the waits before attempts 2, 3 and 4 are exactly 500, 750 and 1125 ms.
    #[test]
    fn example_4_exponential_sequence_is_exact() {
        let r = retry(
            Backoff::Exponential {
                base: SimDuration::from_millis(500),
                multiplier: 1.5,
                max: SimDuration::from_secs(3600),
            },
            Jitter::None,
        );
        let mut rng = rng();
        let waits: Vec<u64> = (1..r.max_attempts).map(|k| retry_delay(&r, k, SimDuration::ZERO, &mut rng).0).collect();
        assert_eq!(waits, [500 * MS, 750 * MS, 1125 * MS]);
    }

    /// Proves the cap and saturation: 25 ms doubling stops at 250 ms, and neither a huge
    /// `k`, a huge multiplier nor an uncapped `max` overflows or panics.
    #[test]
    fn exponential_caps_and_saturates() {
        let r = envoy_like(Jitter::None);
        let waits: Vec<u64> = (1..=6).map(|k| nominal_delay(&r.backoff, k).0 / MS).collect();
        assert_eq!(waits, [25, 50, 100, 200, 250, 250]);
        assert_eq!(nominal_delay(&r.backoff, u32::MAX), SimDuration::from_millis(250));
        assert_eq!(nominal_delay(&r.backoff, 0), SimDuration::from_millis(25), "k = 0 acts as 1");
        let uncapped = Backoff::Exponential { base: SimDuration(1), multiplier: 1e300, max: SimDuration::MAX };
        assert_eq!(nominal_delay(&uncapped, 3), SimDuration::MAX);
        assert_eq!(nominal_delay(&uncapped, u32::MAX), SimDuration::MAX);
        let nan = Backoff::Exponential { base: SimDuration(1), multiplier: f64::NAN, max: SimDuration(7) };
        assert_eq!(nominal_delay(&nan, 2), SimDuration(7));
        let mut rng = rng();
        for jitter in [Jitter::Full, Jitter::Equal, Jitter::Decorrelated] {
            let r = retry(uncapped.clone(), jitter);
            let _ = retry_delay(&r, u32::MAX, SimDuration::MAX, &mut rng);
        }
    }

    /// Proves `none` and `constant` backoff: 0, then `base` every time (without jitter).
    #[test]
    fn none_and_constant() {
        let mut rng = rng();
        let none = retry(Backoff::None, Jitter::None);
        let constant = retry(Backoff::Constant { base: SimDuration::from_millis(80) }, Jitter::None);
        for k in 1..5 {
            assert_eq!(retry_delay(&none, k, SimDuration::ZERO, &mut rng), SimDuration::ZERO);
            assert_eq!(retry_delay(&constant, k, SimDuration::ZERO, &mut rng), SimDuration::from_millis(80));
        }
        let none_jittered = retry(Backoff::None, Jitter::Decorrelated);
        assert_eq!(retry_delay(&none_jittered, 3, SimDuration::ZERO, &mut rng), SimDuration::ZERO);
    }

    /// Draws `n` delays for retry `k` and returns (min, max, mean) in nanoseconds.
    fn sample(r: &Retry, k: u32, prev: SimDuration, n: u32) -> (u64, u64, f64) {
        let mut rng = rng();
        let (mut low, mut high, mut sum) = (u64::MAX, 0u64, 0f64);
        for _ in 0..n {
            let d = retry_delay(r, k, prev, &mut rng).0;
            low = low.min(d);
            high = high.max(d);
            sum += d as f64;
        }
        (low, high, sum / f64::from(n))
    }

    /// Tolerance for a sample mean of `n` uniform draws over a range of `width`: five
    /// standard errors (width / sqrt(12 n)), so a correct sampler fails with probability
    /// below 1e-6 (and, with the fixed seed, never flakes).
    fn tolerance(width: f64, n: u32) -> f64 {
        5.0 * width / (12.0 * f64::from(n)).sqrt()
    }

    /// Reference section 5, example 5 (backoff ranges only), under the spec's formula:
    /// base 25 ms, multiplier 2, max 250 ms, full jitter. Proves retry N is drawn from
    /// [0, min(250, 25 x 2^(N-1))] ms, i.e. [0,25], [0,50], [0,100], [0,200], [0,250],
    /// and that the draws cover the range (not Envoy's [0, (2^N - 1) x 25) ms, see the
    /// module docs).
    #[test]
    fn example_5_full_jitter_ranges() {
        let r = envoy_like(Jitter::Full);
        let n = 4_000;
        for (k, bound_ms) in [(1, 25), (2, 50), (3, 100), (4, 200), (5, 250), (6, 250)] {
            let bound = bound_ms * MS;
            let (low, high, _) = sample(&r, k, SimDuration::ZERO, n);
            assert!(high <= bound, "retry {k}: {high} > {bound}");
            assert!(high > bound * 99 / 100, "retry {k} never came near its bound");
            assert!(low < bound / 100, "retry {k} never came near 0");
        }
    }

    /// Proves full jitter is uniform on [0, d]: the mean of 20 000 draws is d/2 within
    /// five standard errors, and no draw leaves [0, d].
    #[test]
    fn full_jitter_mean_is_half() {
        let d = SimDuration::from_secs(1).0;
        let r = retry(Backoff::Constant { base: SimDuration(d) }, Jitter::Full);
        let n = 20_000;
        let (_, high, mean) = sample(&r, 1, SimDuration::ZERO, n);
        assert!(high <= d);
        let expected = d as f64 / 2.0;
        assert!((mean - expected).abs() < tolerance(d as f64, n), "mean {mean} vs {expected}");
    }

    /// Proves equal jitter is d/2 + uniform [0, d/2]: draws stay in [d/2, d] and their
    /// mean is 3d/4 within five standard errors.
    #[test]
    fn equal_jitter_mean_is_three_quarters() {
        let d = SimDuration::from_secs(1).0;
        let r = retry(Backoff::Constant { base: SimDuration(d) }, Jitter::Equal);
        let n = 20_000;
        let (low, high, mean) = sample(&r, 1, SimDuration::ZERO, n);
        assert!(low >= d / 2 && high <= d);
        let expected = 0.75 * d as f64;
        assert!((mean - expected).abs() < tolerance(d as f64 / 2.0, n), "mean {mean} vs {expected}");
    }

    /// Proves decorrelated jitter: the first retry ignores `prev` and draws from
    /// [base, 3 base] (mean 2 base); later retries draw from [base, 3 prev], capped at max.
    #[test]
    fn decorrelated_jitter_follows_prev() {
        let base = 100 * MS;
        let r = retry(
            Backoff::Exponential { base: SimDuration(base), multiplier: 2.0, max: SimDuration(1_000 * MS) },
            Jitter::Decorrelated,
        );
        let n = 20_000;
        let (low, high, mean) = sample(&r, 1, SimDuration(999_999 * MS), n);
        assert!(low >= base && high <= 3 * base);
        let expected = 2.0 * base as f64;
        assert!((mean - expected).abs() < tolerance(2.0 * base as f64, n), "mean {mean} vs {expected}");

        let (low, high, _) = sample(&r, 2, SimDuration(200 * MS), n);
        assert!(low >= base && high <= 600 * MS && high > 590 * MS);
        // 3 x 500 ms exceeds the cap: the cap holds, and is reached.
        let (low, high, _) = sample(&r, 3, SimDuration(500 * MS), n);
        assert!(low >= base && high == 1_000 * MS);

        // A chain fed back through `prev` never leaves [base, max].
        let mut rng = rng();
        let mut prev = SimDuration::ZERO;
        for k in 1..50 {
            prev = retry_delay(&r, k, prev, &mut rng);
            assert!(prev.0 >= base && prev.0 <= 1_000 * MS);
        }
    }

    /// Proves the draws depend only on the stream: the same seed gives the same delays.
    #[test]
    fn same_stream_same_delays() {
        let r = envoy_like(Jitter::Full);
        let draw = || {
            let mut rng = rng();
            (1..8).map(|k| retry_delay(&r, k, SimDuration::ZERO, &mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(draw(), draw());
    }

    fn any_backoff() -> impl Strategy<Value = Backoff> {
        prop_oneof![
            Just(Backoff::None),
            (0u64..10_000_000_000).prop_map(|b| Backoff::Constant { base: SimDuration(b) }),
            (0u64..10_000_000_000, 0.5f64..10.0, 0u64..u64::MAX).prop_map(|(b, multiplier, m)| {
                Backoff::Exponential { base: SimDuration(b), multiplier, max: SimDuration(m) }
            }),
        ]
    }

    fn any_jitter() -> impl Strategy<Value = Jitter> {
        prop_oneof![Just(Jitter::None), Just(Jitter::Full), Just(Jitter::Equal), Just(Jitter::Decorrelated)]
    }

    proptest! {
        /// Every delay stays within its formula's bounds, for any k (up to u32::MAX),
        /// any prev and any seed: none = d; full in [0, d]; equal in [d/2, d];
        /// decorrelated in [min(base, max), max], and at most 3 prev after the first.
        #[test]
        fn delays_stay_within_bounds(
            backoff in any_backoff(),
            jitter in any_jitter(),
            k in prop_oneof![0u32..40, Just(u32::MAX)],
            prev in any::<u64>(),
            seed in any::<u64>(),
        ) {
            let r = retry(backoff.clone(), jitter);
            let mut rng = stream(seed, "test/resilience/backoff/prop");
            let delay = retry_delay(&r, k, SimDuration(prev), &mut rng).0;
            let d = nominal_delay(&backoff, k).0;
            match jitter {
                Jitter::None => prop_assert_eq!(delay, d),
                Jitter::Full => prop_assert!(delay <= d),
                Jitter::Equal => prop_assert!(delay >= d / 2 && delay <= d),
                Jitter::Decorrelated => {
                    let (base, cap) = match backoff {
                        Backoff::None => (0, 0),
                        Backoff::Constant { base } => (base.0, u64::MAX),
                        Backoff::Exponential { base, max, .. } => (base.0, max.0),
                    };
                    prop_assert!(delay <= cap);
                    prop_assert!(delay >= base.min(cap));
                    let prev = if k <= 1 { base } else { prev };
                    prop_assert!(delay <= prev.saturating_mul(3).max(base));
                }
            }
            if let Backoff::Exponential { max, .. } = backoff {
                prop_assert!(d <= max.0);
            }
        }
    }
}

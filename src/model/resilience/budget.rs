//! Retry budgets: Envoy's concurrency `retry_budget`, a Finagle/Linkerd-style token
//! bucket and gRFC A6 retry throttling, as one state per (caller instance, callee service).
//!
//! The simulator reports the life of each attempt and asks before each retry:
//!
//! 1. `on_first_try` when a call's first attempt is about to start (token bucket deposit);
//! 2. `on_attempt_start` / `on_attempt_end` around every attempt, first tries and retries
//!    alike (an attempt ends when its outcome reaches the client: answer, client timeout,
//!    or refusal);
//! 3. `on_attempt_outcome` for every attempt outcome that gRPC throttling counts;
//! 4. `try_admit_retry` after an attempt ended with a retryable outcome, **before** the
//!    backoff; `false` means the call ends with that last outcome;
//! 5. `on_retry_abandoned` if an admitted retry never starts its attempt (the deadline
//!    passes during the backoff, or the breaker or bulkhead refuses it).
//!
//! All three kinds keep all counters; each decides with its own. Token amounts are
//! integer milli-tokens, as gRPC implementations keep them (grpc-java's `Throttle`
//! scales `maxTokens` and `tokenRatio` by 1000), so sums of fractional deposits are exact.
//! grpc-java truncates `(int) (value * 1000.0f)` computed in `float`; we round the `f64`
//! to the nearest thousandth instead, which gives the same integers for the
//! three-decimal values gRFC A6 allows and never lands one below what the user wrote.

use super::fixed::{MILLI_ONE, PPM_ONE, ratio_to_ppm, to_milli};
use super::stage::{ClientStage, Streams, TryEnd};
use crate::model::counters::Counter;

#[derive(Clone, Debug, PartialEq)]
pub enum RetryBudget {
    /// Envoy `retry_budget`: a retry may start only while retries in flight <
    /// max(min_concurrency, ratio * requests in flight).
    Concurrency { ratio: f64, min_concurrency: u32 },
    /// Finagle/Linkerd budgets, the AWS SDK retry quota: `ratio` tokens per first try,
    /// up to `capacity` (starts full); a retry spends one whole token.
    TokenBucket { ratio: f64, capacity: f64 },
    /// gRFC A6 retry throttling: each failure takes a token, each success adds
    /// `token_ratio`; retries only while tokens > max_tokens / 2.
    GrpcThrottling { max_tokens: f64, token_ratio: f64 },
}

/// Retry-budget state for one (caller instance, callee service) pair.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetryBudgetState {
    /// Attempts started and not yet ended, first tries and retries alike.
    requests_in_flight: u64,
    /// Retries admitted and not yet ended (in backoff or with their attempt outstanding).
    retries_in_flight: u64,
    /// Token bucket and gRPC throttling: tokens in thousandths.
    tokens_milli: u64,
    retries_refused: u64,
}

impl RetryBudgetState {
    /// A fresh state: nothing in flight, token buckets full (the token bucket "starts
    /// full", `scenario-format.md` section 4; gRFC A6 `token_count` starts at `maxTokens`).
    pub fn new(cfg: &RetryBudget) -> RetryBudgetState {
        RetryBudgetState { tokens_milli: Self::max_tokens_milli(cfg), ..RetryBudgetState::default() }
    }

    /// An attempt (first try or retry) starts. A retry's attempt must have been admitted
    /// by [`try_admit_retry`](Self::try_admit_retry), which already counted it as a retry
    /// in flight; here it starts counting as a request in flight too.
    ///
    /// `cfg` is unused today (every kind tracks the counters), and is taken so that the
    /// simulator calls every hook the same way.
    pub fn on_attempt_start(&mut self, _cfg: &RetryBudget, is_retry: bool) {
        debug_assert!(!is_retry || self.retries_in_flight > 0, "a retry attempt started without being admitted");
        self.requests_in_flight += 1;
    }

    /// An attempt ends (its outcome reached the client). A retry stops counting as in
    /// flight here, which is when Envoy releases its retry resource: `RetryStateImpl`
    /// decrements `retries()` in `resetRetry()`, called by the next `shouldRetry` (when
    /// the retry's response is judged) or when the request is destroyed.
    pub fn on_attempt_end(&mut self, _cfg: &RetryBudget, is_retry: bool) {
        debug_assert!(self.requests_in_flight > 0, "an attempt ended that never started");
        self.requests_in_flight = self.requests_in_flight.saturating_sub(1);
        if is_retry {
            debug_assert!(self.retries_in_flight > 0, "a retry ended that was never admitted");
            self.retries_in_flight = self.retries_in_flight.saturating_sub(1);
        }
    }

    /// An admitted retry will never start its attempt (deadline reached in backoff,
    /// refused by the breaker or the bulkhead): it stops counting as in flight, as
    /// Envoy's `~RetryStateImpl` releases a retry still waiting in backoff.
    pub fn on_retry_abandoned(&mut self, _cfg: &RetryBudget) {
        debug_assert!(self.retries_in_flight > 0, "a retry abandoned that was never admitted");
        self.retries_in_flight = self.retries_in_flight.saturating_sub(1);
    }

    /// A call's first try: the token bucket deposits `ratio` tokens, up to `capacity`.
    pub fn on_first_try(&mut self, cfg: &RetryBudget) {
        if let RetryBudget::TokenBucket { ratio, .. } = cfg {
            let cap = Self::max_tokens_milli(cfg);
            self.tokens_milli = self.tokens_milli.saturating_add(to_milli(*ratio)).min(cap);
        }
    }

    /// An attempt's outcome, for gRPC throttling (gRFC A6): a failure takes one token, a
    /// success adds `token_ratio`, clamped to [0, `max_tokens`]. Call it with `ok = false`
    /// only for the failures the policy would retry (gRFC A6 counts only retryable or
    /// non-fatal status codes); other kinds ignore it.
    pub fn on_attempt_outcome(&mut self, cfg: &RetryBudget, ok: bool) {
        if let RetryBudget::GrpcThrottling { token_ratio, .. } = cfg {
            if ok {
                let cap = Self::max_tokens_milli(cfg);
                self.tokens_milli = self.tokens_milli.saturating_add(to_milli(*token_ratio)).min(cap);
            } else {
                self.tokens_milli = self.tokens_milli.saturating_sub(MILLI_ONE);
            }
        }
    }

    /// May a retry start (its backoff, then its attempt)? If so it counts as a retry in
    /// flight from now until its attempt ends; if not, `retries_refused` goes up by one.
    ///
    /// * Concurrency (Envoy `retry_budget`, `ResourceManagerImpl::RetryBudgetImpl`:
    ///   `canCreate` is `count() < max()`): retries in flight <
    ///   max(`min_concurrency`, floor(`ratio` x requests in flight)). Requests in flight are
    ///   all attempts outstanding, retries included: upstream Envoy counts the cluster's
    ///   `requests_ + pending_requests_`, and each retry attempt is an upstream request of
    ///   its own. A retry still in its backoff is not a request (it is a retry in flight);
    ///   some Envoy forks also count retries in backoff as active, upstream does not. The
    ///   attempt that just failed has ended and is no longer counted.
    /// * Token bucket: needs one whole token and spends it.
    /// * gRPC throttling: allowed only while tokens > `max_tokens` / 2 (strictly).
    pub fn try_admit_retry(&mut self, cfg: &RetryBudget) -> bool {
        let admitted = match cfg {
            RetryBudget::Concurrency { .. } => {
                self.retries_in_flight < self.retry_concurrency_limit(cfg).unwrap_or(u64::MAX)
            }
            RetryBudget::TokenBucket { .. } => {
                if self.tokens_milli >= MILLI_ONE {
                    self.tokens_milli -= MILLI_ONE;
                    true
                } else {
                    false
                }
            }
            // grpc-java's `Throttle`: `threshold = maxTokens / 2` in integer milli-tokens;
            // for integer token counts `> floor(max / 2)` equals `> max / 2` exactly.
            RetryBudget::GrpcThrottling { .. } => self.tokens_milli > Self::max_tokens_milli(cfg) / 2,
        };
        if admitted {
            self.retries_in_flight += 1;
        } else {
            self.retries_refused += 1;
        }
        admitted
    }

    /// For the concurrency kind, the number of retries that may be in flight right now:
    /// max(`min_concurrency`, floor(`ratio` x requests in flight)).
    ///
    /// `ratio` is taken in exact parts per million, so 29 % of 100 is 29. Envoy computes
    /// `budget_percent / 100.0 * active` in `double` and truncates, which can fall one
    /// short at exact multiples (29.0 / 100.0 * 100 = 28.999999999999996, so 28); we
    /// prefer the exact value the user wrote.
    pub fn retry_concurrency_limit(&self, cfg: &RetryBudget) -> Option<u64> {
        match cfg {
            RetryBudget::Concurrency { ratio, min_concurrency } => {
                let scaled =
                    u128::from(ratio_to_ppm(*ratio)) * u128::from(self.requests_in_flight) / u128::from(PPM_ONE);
                let by_ratio = u64::try_from(scaled).unwrap_or(u64::MAX);
                Some(by_ratio.max(u64::from(*min_concurrency)))
            }
            _ => None,
        }
    }

    /// Retries the budget refused so far (Envoy's `upstream_rq_retry_overflow`).
    pub fn retries_refused(&self) -> u64 {
        self.retries_refused
    }

    /// Attempts outstanding, first tries and retries.
    pub fn requests_in_flight(&self) -> u64 {
        self.requests_in_flight
    }

    /// Retries admitted whose attempt has not ended.
    pub fn retries_in_flight(&self) -> u64 {
        self.retries_in_flight
    }

    /// Tokens in thousandths (token bucket and gRPC throttling; 0 for concurrency).
    pub fn tokens_milli(&self) -> u64 {
        self.tokens_milli
    }

    /// The bucket's size in milli-tokens: `capacity` or `max_tokens`.
    fn max_tokens_milli(cfg: &RetryBudget) -> u64 {
        match cfg {
            RetryBudget::Concurrency { .. } => 0,
            RetryBudget::TokenBucket { capacity, .. } => to_milli(*capacity),
            RetryBudget::GrpcThrottling { max_tokens, .. } => to_milli(*max_tokens),
        }
    }
}

/// The budget as a client stage: counts tries in flight, deposits and spends tokens, and
/// admits or refuses each retry before its backoff.
impl ClientStage for RetryBudgetState {
    type Config = RetryBudget;
    const LIMITS_RETRIES: bool = true;

    fn new(cfg: &RetryBudget, _streams: &Streams<'_>) -> RetryBudgetState {
        RetryBudgetState::new(cfg) // The inherent constructor.
    }

    #[inline]
    fn call_started(&mut self, cfg: &RetryBudget) {
        self.on_first_try(cfg);
    }

    #[inline]
    fn started(&mut self, cfg: &RetryBudget, is_retry: bool) {
        self.on_attempt_start(cfg, is_retry);
    }

    #[inline]
    fn ended(&mut self, cfg: &RetryBudget, end: &TryEnd) -> Option<Counter> {
        self.on_attempt_end(cfg, end.is_retry);
        self.on_attempt_outcome(cfg, end.outcome.is_ok());
        None
    }

    #[inline]
    fn admit_retry(&mut self, cfg: &RetryBudget) -> bool {
        self.try_admit_retry(cfg)
    }

    fn retry_abandoned(&mut self, cfg: &RetryBudget) {
        self.on_retry_abandoned(cfg);
    }

    /// A cancelled try (a hedged copy no longer needed) stops counting as in flight, and
    /// has no outcome for gRPC throttling: gRFC A6 counts only responses with a
    /// retryable or non-fatal code as failures, and a cancellation is neither.
    fn cancelled(&mut self, cfg: &RetryBudget, is_retry: bool) {
        self.on_attempt_end(cfg, is_retry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ENVOY_DEFAULT: RetryBudget = RetryBudget::Concurrency { ratio: 0.2, min_concurrency: 3 };

    /// Reference section 5, example 6 (first half): 40 active + 10 pending requests with a
    /// 20 % budget allow max(3, 0.2 x 50) = 10 concurrent retries; the 11th is not
    /// attempted and counts one overflow.
    #[test]
    fn example_6_budget_of_fifty_requests_allows_ten_retries() {
        let cfg = ENVOY_DEFAULT;
        let mut budget = RetryBudgetState::new(&cfg);
        for _ in 0..50 {
            budget.on_attempt_start(&cfg, false);
        }
        assert_eq!(budget.retry_concurrency_limit(&cfg), Some(10));
        for i in 0..10 {
            assert!(budget.try_admit_retry(&cfg), "retry {}", i + 1);
        }
        assert!(!budget.try_admit_retry(&cfg), "the 11th concurrent retry");
        assert_eq!(budget.retries_refused(), 1);
        assert_eq!(budget.retries_in_flight(), 10);
    }

    /// Reference section 5, example 6 (second half): with 5 requests in flight the limit
    /// is max(3, 1) = 3, the floor `min_concurrency`.
    #[test]
    fn example_6_small_load_falls_back_to_min_concurrency() {
        let cfg = ENVOY_DEFAULT;
        let mut budget = RetryBudgetState::new(&cfg);
        for _ in 0..5 {
            budget.on_attempt_start(&cfg, false);
        }
        assert_eq!(budget.retry_concurrency_limit(&cfg), Some(3));
        assert!(budget.try_admit_retry(&cfg));
        assert!(budget.try_admit_retry(&cfg));
        assert!(budget.try_admit_retry(&cfg));
        assert!(!budget.try_admit_retry(&cfg));
        assert_eq!(budget.retries_refused(), 1);
    }

    /// Proves a retry holds its slot through its backoff and its attempt, and frees it
    /// when the attempt ends or when it is abandoned, as Envoy's `resetRetry` does.
    #[test]
    fn retry_slot_is_held_until_its_attempt_ends() {
        let cfg = RetryBudget::Concurrency { ratio: 0.0, min_concurrency: 1 };
        let mut budget = RetryBudgetState::new(&cfg);
        budget.on_attempt_start(&cfg, false);
        budget.on_attempt_end(&cfg, false);
        assert!(budget.try_admit_retry(&cfg));
        // In backoff: the slot is taken.
        assert!(!budget.try_admit_retry(&cfg));
        budget.on_attempt_start(&cfg, true);
        assert!(!budget.try_admit_retry(&cfg));
        budget.on_attempt_end(&cfg, true);
        assert_eq!(budget.retries_in_flight(), 0);
        assert!(budget.try_admit_retry(&cfg));
        budget.on_retry_abandoned(&cfg);
        assert_eq!(budget.retries_in_flight(), 0);
        assert!(budget.try_admit_retry(&cfg));
        assert_eq!(budget.retries_refused(), 2);
    }

    /// Proves the ratio is applied exactly: 29 % of 100 requests allows 29 retries.
    #[test]
    fn concurrency_ratio_is_exact() {
        let cfg = RetryBudget::Concurrency { ratio: 0.29, min_concurrency: 0 };
        let mut budget = RetryBudgetState::new(&cfg);
        for _ in 0..100 {
            budget.on_attempt_start(&cfg, false);
        }
        assert_eq!(budget.retry_concurrency_limit(&cfg), Some(29));
    }

    /// Reference section 5, example 10: maxTokens 10, tokenRatio 0.1. Proves the strict
    /// `>` threshold and the fixed-point sum: 6 failures leave 4 tokens (throttled), ten
    /// successes bring exactly 5.000 (still throttled: 5 is not > 5), the 11th makes 5.1
    /// and retries resume.
    #[test]
    fn example_10_grpc_throttling() {
        let cfg = RetryBudget::GrpcThrottling { max_tokens: 10.0, token_ratio: 0.1 };
        let mut budget = RetryBudgetState::new(&cfg);
        assert_eq!(budget.tokens_milli(), 10_000);
        for _ in 0..6 {
            budget.on_attempt_outcome(&cfg, false);
        }
        assert_eq!(budget.tokens_milli(), 4_000);
        assert!(!budget.try_admit_retry(&cfg));
        for _ in 0..10 {
            budget.on_attempt_outcome(&cfg, true);
        }
        assert_eq!(budget.tokens_milli(), 5_000);
        assert!(!budget.try_admit_retry(&cfg), "5.0 is not > 5");
        budget.on_attempt_outcome(&cfg, true);
        assert_eq!(budget.tokens_milli(), 5_100);
        assert!(budget.try_admit_retry(&cfg));
        assert_eq!(budget.retries_refused(), 2);
    }

    /// Proves gRPC tokens stay within [0, max_tokens] at both ends.
    #[test]
    fn grpc_tokens_are_clamped() {
        let cfg = RetryBudget::GrpcThrottling { max_tokens: 2.0, token_ratio: 0.5 };
        let mut budget = RetryBudgetState::new(&cfg);
        budget.on_attempt_outcome(&cfg, true);
        assert_eq!(budget.tokens_milli(), 2_000);
        for _ in 0..5 {
            budget.on_attempt_outcome(&cfg, false);
        }
        assert_eq!(budget.tokens_milli(), 0);
    }

    /// Proves the token bucket starts full, spends one whole token per retry, deposits
    /// `ratio` per first try up to `capacity`, and that ten deposits of 0.1 make exactly
    /// one token (an `f64` sum would give 0.9999999999999999 and refuse).
    #[test]
    fn token_bucket_deposits_and_spends_whole_tokens() {
        let cfg = RetryBudget::TokenBucket { ratio: 0.1, capacity: 2.0 };
        let mut budget = RetryBudgetState::new(&cfg);
        assert!(budget.try_admit_retry(&cfg));
        assert!(budget.try_admit_retry(&cfg));
        assert!(!budget.try_admit_retry(&cfg));
        for _ in 0..9 {
            budget.on_first_try(&cfg);
        }
        assert!(!budget.try_admit_retry(&cfg), "0.9 tokens");
        budget.on_first_try(&cfg);
        assert!(budget.try_admit_retry(&cfg), "exactly 1.0 token");
        for _ in 0..100 {
            budget.on_first_try(&cfg);
        }
        assert_eq!(budget.tokens_milli(), 2_000, "capped at capacity");
        assert_eq!(budget.retries_refused(), 2);
    }

    /// Hooks that do not concern a kind leave its tokens alone.
    #[test]
    fn kinds_ignore_other_kinds_hooks() {
        let bucket = RetryBudget::TokenBucket { ratio: 1.0, capacity: 1.0 };
        let mut budget = RetryBudgetState::new(&bucket);
        budget.on_attempt_outcome(&bucket, false);
        assert_eq!(budget.tokens_milli(), 1_000);
        let grpc = RetryBudget::GrpcThrottling { max_tokens: 4.0, token_ratio: 1.0 };
        let mut budget = RetryBudgetState::new(&grpc);
        budget.on_attempt_outcome(&grpc, false);
        budget.on_first_try(&grpc);
        assert_eq!(budget.tokens_milli(), 3_000);
    }

    #[derive(Clone, Debug)]
    enum Op {
        StartFirstTry,
        StartRetry,
        EndFirstTry,
        EndRetry,
        Admit,
        Abandon,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => Just(Op::StartFirstTry),
            2 => Just(Op::StartRetry),
            3 => Just(Op::EndFirstTry),
            2 => Just(Op::EndRetry),
            3 => Just(Op::Admit),
            1 => Just(Op::Abandon),
        ]
    }

    proptest! {
        /// Under any interleaving the simulator can produce, a retry is admitted only if
        /// afterwards retries in flight are within the limit computed at that moment, and
        /// the counters match an independent model of the attempts.
        #[test]
        fn concurrency_budget_never_exceeds_its_limit(
            ratio_percent in 0u32..=100,
            min_concurrency in 0u32..5,
            ops in prop::collection::vec(op(), 1..500),
        ) {
            let cfg = RetryBudget::Concurrency { ratio: f64::from(ratio_percent) / 100.0, min_concurrency };
            let mut budget = RetryBudgetState::new(&cfg);
            let (mut first_tries, mut waiting_retries, mut running_retries) = (0u64, 0u64, 0u64);
            for op in ops {
                match op {
                    Op::StartFirstTry => { budget.on_attempt_start(&cfg, false); first_tries += 1; }
                    Op::StartRetry if waiting_retries > 0 => {
                        budget.on_attempt_start(&cfg, true);
                        waiting_retries -= 1;
                        running_retries += 1;
                    }
                    Op::EndFirstTry if first_tries > 0 => { budget.on_attempt_end(&cfg, false); first_tries -= 1; }
                    Op::EndRetry if running_retries > 0 => { budget.on_attempt_end(&cfg, true); running_retries -= 1; }
                    Op::Abandon if waiting_retries > 0 => { budget.on_retry_abandoned(&cfg); waiting_retries -= 1; }
                    Op::Admit => {
                        let limit = budget.retry_concurrency_limit(&cfg).unwrap_or(0);
                        let expected = budget.retries_in_flight() < limit;
                        prop_assert_eq!(budget.try_admit_retry(&cfg), expected);
                        if expected {
                            waiting_retries += 1;
                            prop_assert!(budget.retries_in_flight() <= limit);
                        }
                    }
                    _ => {}
                }
                prop_assert_eq!(budget.requests_in_flight(), first_tries + running_retries);
                prop_assert_eq!(budget.retries_in_flight(), waiting_retries + running_retries);
            }
        }

        /// Token counts stay within [0, max] for both token kinds, whatever the sequence.
        #[test]
        fn tokens_stay_within_bounds(
            grpc in any::<bool>(),
            max_tenths in 1u32..200,
            ratio_thousandths in 1u32..3_000,
            ops in prop::collection::vec(0u8..4, 1..500),
        ) {
            let max = f64::from(max_tenths) / 10.0;
            let ratio = f64::from(ratio_thousandths) / 1000.0;
            let cfg = if grpc {
                RetryBudget::GrpcThrottling { max_tokens: max, token_ratio: ratio }
            } else {
                RetryBudget::TokenBucket { ratio, capacity: max }
            };
            let mut budget = RetryBudgetState::new(&cfg);
            let max_milli = u64::from(max_tenths) * 100;
            for op in ops {
                let before = budget.tokens_milli();
                match op {
                    0 => budget.on_first_try(&cfg),
                    1 => budget.on_attempt_outcome(&cfg, true),
                    2 => budget.on_attempt_outcome(&cfg, false),
                    _ => {
                        let admitted = budget.try_admit_retry(&cfg);
                        if grpc {
                            prop_assert_eq!(admitted, before * 2 > max_milli);
                        } else {
                            prop_assert_eq!(admitted, before >= 1_000);
                        }
                    }
                }
                prop_assert!(budget.tokens_milli() <= max_milli);
            }
        }
    }
}

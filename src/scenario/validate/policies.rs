//! Policies: every way a call gets one. Named policies (`[policies.NAME]`, indices 0..
//! of `Scenario::policies` in file order), inline tables (appended as they are met,
//! named after their owner: `frontend/checkout#2`, `api#client`, `load/NAME`), a
//! service's `client` (the policy of its calls that name none), a call's or a load's
//! `policy`, a load's `deadline_propagation` (a derived policy), the documented
//! defaults, and the policies an overlay defines that nothing uses.

use super::{MAX_BREAKER_WINDOW, Span, Validator, span_of, what};
use crate::engine::SimDuration;
use crate::model::graph::CallGraph;
use crate::model::policy::{AdaptiveThrottling, AdmissionControl, Hedging, OutlierDetection};
use crate::model::resilience::hedging::MAX_ATTEMPTS_CAP;
use crate::model::{
    Backoff, BreakerWindow, Bulkhead, CircuitBreakerConfig, Jitter, Outcome, OutcomeSet, Policy, PolicyId,
    PolicyOrigin, Retry, RetryBudget,
};
use crate::scenario::error::suggest;
use crate::scenario::raw::{
    RawAdaptiveThrottling, RawAdmissionControl, RawCall, RawCircuitBreaker, RawCount, RawDuration, RawHedging, RawLoad,
    RawOutlierDetection, RawPolicy, RawPolicyRef, RawRetry, RawRetryBudget, RawScenario, RawService,
};
use toml::Spanned;

/// Documented defaults (the README repeats them).
pub mod defaults {
    /// Resilience4j `RetryConfig.maxAttempts`.
    pub const MAX_ATTEMPTS: u64 = 3;
    pub const MULTIPLIER: f64 = 2.0;
    /// Envoy `retry_budget.budget_percent` (20%) and `min_retry_concurrency` (3).
    pub const BUDGET_RATIO: f64 = 0.2;
    pub const BUDGET_MIN_CONCURRENCY: u64 = 3;
    /// Token bucket budgets: Finagle's `RetryBudget` deposits 20% per request; its
    /// reserve and the AWS SDK quota are of the order of ten retries, hence 10 tokens.
    pub const TOKEN_BUCKET_CAPACITY: f64 = 10.0;
    /// gRFC A6 examples: `maxTokens: 10`, `tokenRatio: 0.1`.
    pub const GRPC_MAX_TOKENS: f64 = 10.0;
    pub const GRPC_TOKEN_RATIO: f64 = 0.1;
    /// Resilience4j `CircuitBreakerConfig` defaults.
    pub const BREAKER_SIZE: u64 = 100;
    pub const BREAKER_MIN_CALLS: u64 = 100;
    pub const BREAKER_FAILURE_RATE: f64 = 0.5;
    pub const BREAKER_SLOW_CALL_RATE: f64 = 1.0;
    pub const BREAKER_SLOW_CALL_SECS: u64 = 60;
    pub const BREAKER_OPEN_SECS: u64 = 60;
    pub const BREAKER_HALF_OPEN_CALLS: u64 = 10;
    /// Resilience4j `BulkheadConfig.maxConcurrentCalls`.
    pub const BULKHEAD_MAX_CONCURRENT: u64 = 25;
    /// The SRE book's adaptive throttling: K = 2, over "the last two minutes".
    pub const THROTTLING_K: f64 = 2.0;
    pub const THROTTLING_WINDOW_SECS: u64 = 120;
    /// Envoy's admission control: `sampling_window` 30 s, `sr_threshold` 95%,
    /// `max_rejection_probability` 80% (`aggression` 1 and `rps_threshold` 0 inline).
    pub const ADMISSION_WINDOW_SECS: u64 = 30;
    pub const ADMISSION_SR_THRESHOLD: f64 = 0.95;
    pub const ADMISSION_MAX_REJECTION: f64 = 0.8;
}

const BACKOFFS: [&str; 3] = ["none", "constant", "exponential"];
const JITTERS: [(&str, Jitter); 4] =
    [("none", Jitter::None), ("full", Jitter::Full), ("equal", Jitter::Equal), ("decorrelated", Jitter::Decorrelated)];
const BUDGET_KINDS: [&str; 3] = ["concurrency", "token_bucket", "grpc_throttling"];

/// The named policies: `[policies.NAME]` in file order, indices 0.. of `Scenario::policies`.
pub(super) struct NamedPolicies<'r> {
    names: Vec<&'r str>,
}

impl Validator {
    pub(super) fn named_policies<'r>(&mut self, raw: &'r RawScenario) -> NamedPolicies<'r> {
        for (name, p) in &raw.policies {
            self.name(name, "policy");
            let policy = self.policy(name.get_ref().clone(), p.get_ref(), &format!("policy `{}`", name.get_ref()));
            self.policies.push(policy);
        }
        NamedPolicies { names: raw.policies.keys().map(|k| k.get_ref().as_str()).collect() }
    }

    /// A service's `client`: the policy of its calls that name none of their own.
    pub(super) fn client_policy(
        &mut self,
        s: &RawService,
        service: &str,
        named: &NamedPolicies,
        ctx: &str,
    ) -> Option<PolicyId> {
        s.client.as_ref().and_then(|c| {
            let inline = (format!("{service}#client"), format!("services.{service}.client"));
            self.policy_ref(c, named, inline, &what("client", ctx))
        })
    }

    /// A call's `policy` (its inline one named `caller#number`), else the caller's
    /// `client`. `key` is the call's TOML key.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn call_policy(
        &mut self,
        c: &RawCall,
        caller: &str,
        number: usize,
        key: &str,
        client: Option<PolicyId>,
        named: &NamedPolicies,
        ctx: &str,
    ) -> Option<PolicyId> {
        match &c.policy {
            Some(p) => self.policy_ref(p, named, (format!("{caller}#{number}"), format!("{key}.policy")), ctx),
            None => client,
        }
    }

    /// A load's `policy`, with its `deadline_propagation` flag applied.
    pub(super) fn load_policy(
        &mut self,
        r: &RawLoad,
        index: usize,
        name: &str,
        named: &NamedPolicies,
        ctx: &str,
    ) -> Option<PolicyId> {
        let key = format!("load[{index}].policy");
        let mut policy =
            r.policy.as_ref().and_then(|p| self.policy_ref(p, named, (format!("load/{name}"), key.clone()), ctx));
        // `deadline_propagation` on a load is its policy's flag: derive a policy
        // rather than widen the model's `Load`.
        if let Some(flag) = &r.deadline_propagation {
            let flag = *flag.get_ref();
            let current = policy.map(|id| self.policies[id].deadline_propagation).unwrap_or(false);
            if current != flag {
                let mut derived = policy.map(|id| self.policies[id].clone()).unwrap_or_default();
                derived.name = format!("load/{name}");
                derived.origin = PolicyOrigin::At(key);
                derived.deadline_propagation = flag;
                match policy {
                    // An inline policy is already this load's own: change it in place.
                    Some(id) if self.policies[id].name == derived.name => self.policies[id] = derived,
                    _ => {
                        self.policies.push(derived);
                        policy = Some(self.policies.len() - 1);
                    }
                }
            }
        }
        policy
    }

    /// Resolves `policy = "name"` or an inline table (appended with `inline`'s name,
    /// written at `inline`'s key).
    fn policy_ref(
        &mut self,
        r: &Spanned<RawPolicyRef>,
        named: &NamedPolicies,
        inline: (String, String),
        ctx: &str,
    ) -> Option<PolicyId> {
        match r.get_ref() {
            RawPolicyRef::Name(n) => {
                let id = named.names.iter().position(|p| p == n);
                if id.is_none() {
                    self.error_help(
                        r.span(),
                        format!("unknown policy `{n}` in {ctx}"),
                        suggest(n, &named.names, "policies"),
                    );
                }
                id
            }
            RawPolicyRef::Inline(p) => {
                let (name, key) = inline;
                let mut policy = self.policy(name, p, &format!("the inline policy of {ctx}"));
                policy.origin = PolicyOrigin::At(key);
                self.policies.push(policy);
                Some(self.policies.len() - 1)
            }
        }
    }

    fn policy(&mut self, name: String, p: &RawPolicy, ctx: &str) -> Policy {
        Policy {
            name,
            origin: PolicyOrigin::Named,
            timeout: self.opt_duration(&p.timeout, &what("timeout", ctx), true),
            deadline: self.opt_duration(&p.deadline, &what("deadline", ctx), true),
            deadline_propagation: p.deadline_propagation.as_ref().is_some_and(|b| *b.get_ref()),
            retry: p.retry.as_ref().and_then(|r| self.retry(r.get_ref(), r.span(), &format!("`retry` of {ctx}"))),
            hedging: p.hedging.as_ref().and_then(|h| self.hedging(h, p.retry.is_some(), ctx)),
            retry_budget: p
                .retry_budget
                .as_ref()
                .and_then(|b| self.retry_budget(b.get_ref(), b.span(), &format!("`retry_budget` of {ctx}"))),
            circuit_breaker: p
                .circuit_breaker
                .as_ref()
                .map(|b| self.circuit_breaker(b.get_ref(), &format!("`circuit_breaker` of {ctx}"))),
            bulkhead: p.bulkhead.as_ref().map(|b| Bulkhead {
                max_concurrent: self.count_u32(
                    &b.get_ref().max_concurrent,
                    &format!("`max_concurrent` in `bulkhead` of {ctx}"),
                    defaults::BULKHEAD_MAX_CONCURRENT,
                ),
            }),
            adaptive_throttling: p
                .adaptive_throttling
                .as_ref()
                .map(|t| self.adaptive_throttling(t.get_ref(), &format!("`adaptive_throttling` of {ctx}"))),
            admission_control: p
                .admission_control
                .as_ref()
                .map(|a| self.admission_control(a.get_ref(), &format!("`admission_control` of {ctx}"))),
            outlier_detection: p
                .outlier_detection
                .as_ref()
                .map(|o| self.outlier_detection(o.get_ref(), &format!("`outlier_detection` of {ctx}"))),
        }
    }

    /// `outlier_detection = { ... }`, with Envoy's defaults (`OutlierDetection::envoy_defaults`):
    /// counts at least 1, percentages whole numbers up to 100, durations positive,
    /// `max_ejection_time` at least `base_ejection_time` (Envoy refuses less; unset, it is
    /// 300 s or `base_ejection_time` if longer), `panic_threshold` in (0, 100].
    fn outlier_detection(&mut self, o: &RawOutlierDetection, ctx: &str) -> OutlierDetection {
        let d = OutlierDetection::envoy_defaults();
        let mut count = |v: &Option<Spanned<RawCount>>, key: &str, default: u32| {
            self.count_u32(v, &what(key, ctx), u64::from(default))
        };
        let consecutive_5xx = count(&o.consecutive_5xx, "consecutive_5xx", d.consecutive_5xx);
        let consecutive_gateway_failure =
            count(&o.consecutive_gateway_failure, "consecutive_gateway_failure", d.consecutive_gateway_failure);
        let success_rate_minimum_hosts =
            count(&o.success_rate_minimum_hosts, "success_rate_minimum_hosts", d.success_rate_minimum_hosts);
        let success_rate_request_volume =
            count(&o.success_rate_request_volume, "success_rate_request_volume", d.success_rate_request_volume);
        let success_rate_stdev_factor =
            count(&o.success_rate_stdev_factor, "success_rate_stdev_factor", d.success_rate_stdev_factor);
        let failure_percentage_minimum_hosts = count(
            &o.failure_percentage_minimum_hosts,
            "failure_percentage_minimum_hosts",
            d.failure_percentage_minimum_hosts,
        );
        let failure_percentage_request_volume = count(
            &o.failure_percentage_request_volume,
            "failure_percentage_request_volume",
            d.failure_percentage_request_volume,
        );
        let mut percent = |v: &Option<Spanned<RawCount>>, key: &str, default: u32| match v {
            Some(v) => self.count(v, &what(key, ctx), 0, 100, None).map_or(default, |p| p as u32),
            None => default,
        };
        let enforcing_consecutive_5xx =
            percent(&o.enforcing_consecutive_5xx, "enforcing_consecutive_5xx", d.enforcing_consecutive_5xx);
        let enforcing_consecutive_gateway_failure = percent(
            &o.enforcing_consecutive_gateway_failure,
            "enforcing_consecutive_gateway_failure",
            d.enforcing_consecutive_gateway_failure,
        );
        let max_ejection_percent = percent(&o.max_ejection_percent, "max_ejection_percent", d.max_ejection_percent);
        let enforcing_success_rate =
            percent(&o.enforcing_success_rate, "enforcing_success_rate", d.enforcing_success_rate);
        let failure_percentage_threshold =
            percent(&o.failure_percentage_threshold, "failure_percentage_threshold", d.failure_percentage_threshold);
        let enforcing_failure_percentage =
            percent(&o.enforcing_failure_percentage, "enforcing_failure_percentage", d.enforcing_failure_percentage);
        let interval = self.opt_duration(&o.interval, &what("interval", ctx), true).unwrap_or(d.interval);
        let base_ejection_time = self
            .opt_duration(&o.base_ejection_time, &what("base_ejection_time", ctx), true)
            .unwrap_or(d.base_ejection_time);
        let max_ejection_time = match &o.max_ejection_time {
            Some(m) => match self.positive_duration(m, &what("max_ejection_time", ctx)) {
                Some(max) if max < base_ejection_time => {
                    self.error_help(
                        m.span(),
                        format!("{} is shorter than its `base_ejection_time`", what("max_ejection_time", ctx)),
                        "Envoy refuses a `max_ejection_time` below `base_ejection_time`",
                    );
                    base_ejection_time
                }
                Some(max) => max,
                None => base_ejection_time,
            },
            None => d.max_ejection_time.max(base_ejection_time),
        };
        let panic_threshold = match &o.panic_threshold {
            Some(v) => self.number(v, &what("panic_threshold", ctx), 0.0, true, 100.0).unwrap_or(d.panic_threshold),
            None => d.panic_threshold,
        };
        OutlierDetection {
            consecutive_5xx,
            consecutive_gateway_failure,
            enforcing_consecutive_5xx,
            enforcing_consecutive_gateway_failure,
            interval,
            base_ejection_time,
            max_ejection_time,
            max_ejection_percent,
            success_rate_minimum_hosts,
            success_rate_request_volume,
            success_rate_stdev_factor,
            enforcing_success_rate,
            failure_percentage_threshold,
            failure_percentage_minimum_hosts,
            failure_percentage_request_volume,
            enforcing_failure_percentage,
            panic_threshold,
        }
    }

    /// `admission_control = { ... }`, with Envoy's defaults: `sr_threshold` in (0, 1],
    /// `aggression` positive, `rps_threshold` at least 0, `max_rejection_probability` in
    /// [0, 1], `sampling_window` as a throttling window.
    fn admission_control(&mut self, a: &RawAdmissionControl, ctx: &str) -> AdmissionControl {
        let sampling_window = a.sampling_window.as_ref().and_then(|w| self.window(w, &what("sampling_window", ctx)));
        let sr = a.sr_threshold.as_ref().and_then(|v| self.number(v, &what("sr_threshold", ctx), 0.0, true, 1.0));
        let aggression =
            a.aggression.as_ref().and_then(|v| self.number(v, &what("aggression", ctx), 0.0, true, f64::INFINITY));
        let rps = a
            .rps_threshold
            .as_ref()
            .and_then(|v| self.number(v, &what("rps_threshold", ctx), 0.0, false, f64::INFINITY));
        let max = a
            .max_rejection_probability
            .as_ref()
            .and_then(|v| self.probability(v, &what("max_rejection_probability", ctx)));
        AdmissionControl {
            sampling_window: sampling_window.unwrap_or(SimDuration::from_secs(defaults::ADMISSION_WINDOW_SECS)),
            sr_threshold: sr.unwrap_or(defaults::ADMISSION_SR_THRESHOLD),
            aggression: aggression.unwrap_or(1.0),
            rps_threshold: rps.unwrap_or(0.0),
            max_rejection_probability: max.unwrap_or(defaults::ADMISSION_MAX_REJECTION),
        }
    }

    /// A window counted per second for each caller instance (adaptive throttling,
    /// admission control): a positive duration of at most `MAX_BREAKER_WINDOW` seconds.
    fn window(&mut self, w: &Spanned<RawDuration>, what: &str) -> Option<SimDuration> {
        let d = self.positive_duration(w, what)?;
        if d.as_secs_f64() > MAX_BREAKER_WINDOW as f64 {
            self.error_help(
                w.span(),
                format!("{what} is longer than {MAX_BREAKER_WINDOW}s"),
                "the client keeps a slot per second of its window for each caller instance",
            );
            return None;
        }
        Some(d)
    }

    /// `adaptive_throttling = { k, window }`: `k` a positive number, `window` a window.
    fn adaptive_throttling(&mut self, t: &RawAdaptiveThrottling, ctx: &str) -> AdaptiveThrottling {
        let k = t.k.as_ref().and_then(|k| self.number(k, &what("k", ctx), 0.0, true, f64::INFINITY));
        let window = t.window.as_ref().and_then(|w| self.window(w, &what("window", ctx)));
        AdaptiveThrottling {
            k: k.unwrap_or(defaults::THROTTLING_K),
            window: window.unwrap_or(SimDuration::from_secs(defaults::THROTTLING_WINDOW_SECS)),
        }
    }

    fn retry(&mut self, r: &RawRetry, span: Span, ctx: &str) -> Option<Retry> {
        let max_attempts = self.count_u32(&r.max_attempts, &what("max_attempts", ctx), defaults::MAX_ATTEMPTS);
        // Without `backoff`, a `base` means exponential backoff (what Envoy, gRPC and the
        // AWS SDKs do); without either, retries go at once.
        // A bad `backoff` or `jitter` is reported, and the rest still checked as if the
        // key were absent, so that every mistake in the table shows at once.
        let backoff_name = match &r.backoff {
            Some(b) => {
                let options = BACKOFFS.map(|n| (n, n));
                self.choice(b, &what("backoff", ctx), &options)
            }
            None if r.base.is_some() => Some("exponential"),
            None => Some("none"),
        };
        let base = self.opt_duration(&r.base, &what("base", ctx), true);
        let jitter = match &r.jitter {
            Some(j) => self.choice(j, &what("jitter", ctx), &JITTERS),
            None => Some(Jitter::None),
        };
        let (backoff_name, jitter) = (backoff_name.unwrap_or("invalid"), jitter.unwrap_or(Jitter::None));
        let on = match &r.on {
            None => OutcomeSet::of(&[Outcome::Timeout, Outcome::Error, Outcome::Rejected, Outcome::Unavailable]),
            Some(list) => self.outcomes(list, "on", "retry", ctx),
        };
        let present = [
            ("base", r.base.as_ref().map(span_of)),
            ("multiplier", r.multiplier.as_ref().map(span_of)),
            ("max", r.max.as_ref().map(span_of)),
        ];
        let owner = format!("`backoff = \"{backoff_name}\"`");
        let backoff = match backoff_name {
            "none" => {
                self.not_applicable(&present, &[], &owner, ctx);
                if let (Some(j), true) = (&r.jitter, jitter != Jitter::None) {
                    self.error_help(
                        j.span(),
                        format!("`jitter` needs a backoff to spread, but {ctx} has `backoff = \"none\"`"),
                        "set `backoff` and `base`, or remove `jitter`",
                    );
                }
                Backoff::None
            }
            "constant" => {
                self.not_applicable(&present, &["base"], &owner, ctx);
                if jitter == Jitter::Decorrelated
                    && let Some(j) = &r.jitter
                {
                    self.error_help(
                        j.span(),
                        format!("decorrelated jitter in {ctx} needs `backoff = \"exponential\"`"),
                        "decorrelated jitter grows the delay from `base` up to `max`, as exponential backoff does",
                    );
                }
                Backoff::Constant { base: self.required(base, r.base.is_none().then(|| span.clone()), "base", ctx)? }
            }
            "exponential" => {
                let base = self.required(base, r.base.is_none().then(|| span.clone()), "base", ctx)?;
                let multiplier = match &r.multiplier {
                    Some(m) => self.number(m, &what("multiplier", ctx), 1.0, false, f64::INFINITY)?,
                    None => defaults::MULTIPLIER,
                };
                let max = match &r.max {
                    Some(m) => {
                        let max = self.duration(m, &what("max", ctx))?;
                        if max < base {
                            self.error(m.span(), format!("`max` ({max}) must not be below `base` ({base}) in {ctx}"));
                        }
                        max
                    }
                    None => SimDuration::MAX,
                };
                Backoff::Exponential { base, multiplier, max }
            }
            // Already reported by `choice`.
            _ => Backoff::None,
        };
        Some(Retry { max_attempts, backoff, jitter, on })
    }

    /// A list of outcomes (`on` of a retry, `non_fatal` of hedging), in the outcome
    /// vocabulary; `ok` cannot be one (`verb`: what the list does with them).
    fn outcomes(&mut self, list: &Spanned<Vec<Spanned<String>>>, key: &str, verb: &str, ctx: &str) -> OutcomeSet {
        let mut set = OutcomeSet::EMPTY;
        let names: Vec<&str> = Outcome::ALL.iter().skip(1).map(|o| o.name()).collect();
        for item in list.get_ref() {
            match Outcome::from_name(item.get_ref()) {
                Some(Outcome::Ok) => self.error(item.span(), format!("`{key}` in {ctx} cannot {verb} `ok`")),
                Some(o) => set = set.with(o),
                None => self.error_help(
                    item.span(),
                    format!("unknown outcome \"{}\" in `{key}` of {ctx}", item.get_ref()),
                    suggest(item.get_ref(), &names, "outcomes"),
                ),
            }
        }
        set
    }

    /// `hedging = { max_attempts, delay, non_fatal }` (gRFC A6 `hedgingPolicy`):
    /// `max_attempts` required, 2 to 5 (gRPC clients cap it at 5); `delay` a duration,
    /// `"0s"` by default (all copies at once); `non_fatal` outcomes, none by default. Not
    /// with `retry` in the same policy (`has_retry`).
    fn hedging(&mut self, h: &Spanned<RawHedging>, has_retry: bool, ctx: &str) -> Option<Hedging> {
        let ctx = format!("`hedging` of {ctx}");
        if has_retry {
            self.error_help(
                h.span(),
                format!("{ctx} is set beside `retry`: a policy either retries or hedges"),
                "gRFC A6: an RPC is governed by a retry policy or a hedging policy, not both; remove one",
            );
        }
        let raw = h.get_ref();
        let max_attempts = match &raw.max_attempts {
            Some(m) => self.count(
                m,
                &what("max_attempts", &ctx),
                2,
                u64::from(MAX_ATTEMPTS_CAP),
                Some("gRPC clients cap maxAttempts at 5 (gRFC A6, \"Limits on Retries and Hedges\")"),
            ),
            None => {
                self.error(h.span(), format!("missing `max_attempts` in {ctx}"));
                None
            }
        };
        let delay = self.opt_duration(&raw.delay, &what("delay", &ctx), false);
        let non_fatal =
            raw.non_fatal.as_ref().map_or(OutcomeSet::EMPTY, |l| self.outcomes(l, "non_fatal", "hedge on", &ctx));
        Some(Hedging { max_attempts: max_attempts? as u32, delay: delay.unwrap_or(SimDuration::ZERO), non_fatal })
    }

    fn retry_budget(&mut self, b: &RawRetryBudget, span: Span, ctx: &str) -> Option<RetryBudget> {
        let Some(kind) = &b.kind else {
            self.error_help(
                span,
                format!("missing `kind` in {ctx}"),
                format!("`kind` is one of: {}", BUDGET_KINDS.join(", ")),
            );
            return None;
        };
        let kind_name = self.choice(kind, &what("kind", ctx), &BUDGET_KINDS.map(|k| (k, k)))?;
        let present = [
            ("ratio", b.ratio.as_ref().map(span_of)),
            ("min_concurrency", b.min_concurrency.as_ref().map(span_of)),
            ("capacity", b.capacity.as_ref().map(span_of)),
            ("max_tokens", b.max_tokens.as_ref().map(span_of)),
            ("token_ratio", b.token_ratio.as_ref().map(span_of)),
        ];
        let owner = format!("a `{kind_name}` retry budget");
        let ratio = |v: &mut Validator| match &b.ratio {
            Some(r) => v.probability(r, &what("ratio", ctx)),
            None => Some(defaults::BUDGET_RATIO),
        };
        match kind_name {
            "concurrency" => {
                self.not_applicable(&present, &["ratio", "min_concurrency"], &owner, ctx);
                let ratio = ratio(self)?;
                let min = match &b.min_concurrency {
                    Some(m) => self.count(m, &what("min_concurrency", ctx), 0, u64::from(u32::MAX), None)?,
                    None => defaults::BUDGET_MIN_CONCURRENCY,
                };
                Some(RetryBudget::Concurrency { ratio, min_concurrency: u32::try_from(min).unwrap_or(u32::MAX) })
            }
            "token_bucket" => {
                self.not_applicable(&present, &["ratio", "capacity"], &owner, ctx);
                let ratio = ratio(self)?;
                let capacity = match &b.capacity {
                    Some(c) => self.number(c, &what("capacity", ctx), 1.0, false, f64::INFINITY)?,
                    None => defaults::TOKEN_BUCKET_CAPACITY,
                };
                Some(RetryBudget::TokenBucket { ratio, capacity })
            }
            _ => {
                self.not_applicable(&present, &["max_tokens", "token_ratio"], &owner, ctx);
                // gRFC A6 bounds: 0 < maxTokens <= 1000, tokenRatio > 0.
                let max_tokens = match &b.max_tokens {
                    Some(m) => self.number(m, &what("max_tokens", ctx), 0.0, true, 1000.0)?,
                    None => defaults::GRPC_MAX_TOKENS,
                };
                let token_ratio = match &b.token_ratio {
                    Some(t) => self.number(t, &what("token_ratio", ctx), 0.0, true, f64::INFINITY)?,
                    None => defaults::GRPC_TOKEN_RATIO,
                };
                Some(RetryBudget::GrpcThrottling { max_tokens, token_ratio })
            }
        }
    }

    fn circuit_breaker(&mut self, b: &RawCircuitBreaker, ctx: &str) -> CircuitBreakerConfig {
        let windows = [("count", false), ("time", true)];
        let is_time = b.window.as_ref().and_then(|w| self.choice(w, &what("window", ctx), &windows)).unwrap_or(false);
        let size = match &b.size {
            // A count window keeps a slot per call, a time window a bucket per second,
            // per caller instance: bounded so a typo cannot take gigabytes.
            Some(v) => self
                .count(
                    v,
                    &what("size", ctx),
                    1,
                    MAX_BREAKER_WINDOW,
                    Some("larger windows only cost memory per caller instance"),
                )
                .unwrap_or(defaults::BREAKER_SIZE) as u32,
            None => defaults::BREAKER_SIZE as u32,
        };
        let rate = |v: &mut Validator, r: &Option<Spanned<f64>>, key: &str, default: f64| match r {
            Some(r) => v.number(r, &what(key, ctx), 0.0, true, 1.0).unwrap_or(default),
            None => default,
        };
        CircuitBreakerConfig {
            window: if is_time { BreakerWindow::Time(size) } else { BreakerWindow::Count(size) },
            min_calls: self.count_u32(&b.min_calls, &what("min_calls", ctx), defaults::BREAKER_MIN_CALLS),
            failure_rate: rate(self, &b.failure_rate, "failure_rate", defaults::BREAKER_FAILURE_RATE),
            slow_call_rate: rate(self, &b.slow_call_rate, "slow_call_rate", defaults::BREAKER_SLOW_CALL_RATE),
            slow_call_duration: self
                .opt_duration(&b.slow_call_duration, &what("slow_call_duration", ctx), true)
                .unwrap_or(SimDuration::from_secs(defaults::BREAKER_SLOW_CALL_SECS)),
            open_for: self
                .opt_duration(&b.open_for, &what("open_for", ctx), true)
                .unwrap_or(SimDuration::from_secs(defaults::BREAKER_OPEN_SECS)),
            half_open_calls: self.count_u32(
                &b.half_open_calls,
                &what("half_open_calls", ctx),
                defaults::BREAKER_HALF_OPEN_CALLS,
            ),
        }
    }

    /// Errors for the named policies an overlay (spans from `from` on) defines and
    /// nothing uses.
    pub(super) fn unused_policies(&mut self, raw: &RawScenario, graph: &CallGraph, from: usize) {
        let used: Vec<&str> = raw
            .policies
            .keys()
            .enumerate()
            .filter(|(p, _)| graph.policy_used[*p])
            .map(|(_, k)| k.get_ref().as_str())
            .collect();
        for (p, (name, _)) in raw.policies.iter().enumerate() {
            if !graph.policy_used[p] && name.span().start >= from {
                let got = name.get_ref();
                self.error_help(
                    name.span(),
                    format!(
                        "policy `{got}` is used by nothing: no load, call or service `client` that makes calls names it"
                    ),
                    suggest(got, &used, "policies in use"),
                );
            }
        }
    }
}

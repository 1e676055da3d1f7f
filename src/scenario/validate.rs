//! Validation: raw structs -> `model::Scenario`. Names become indices (in file order),
//! durations become `SimDuration`, distributions are built by their checked
//! constructors, policies are resolved per call; every semantic error is collected
//! before failing, each with the span of the value (or table) at fault.

use super::error::{Issue, suggest};
use super::raw::{
    RawCall, RawCircuitBreaker, RawCount, RawDist, RawDistTable, RawDuration, RawEndpoint, RawFault, RawLoad,
    RawPolicy, RawPolicyRef, RawQueue, RawRetry, RawRetryBudget, RawScenario, RawService, RawSimulation,
};
use crate::engine::{SimDuration, SimTime};
use crate::model::dist::parse_quantile_key;
use crate::model::expect::{ExpectCheck, ExpectRun, Expectation};
use crate::model::graph::CallGraph;
use crate::model::{
    Arrival, Backoff, Balancer, BreakerWindow, Bulkhead, CallSite, CircuitBreakerConfig, Dist, DistError, Endpoint,
    EndpointRef, Fault, FaultKind, FaultTarget, Gates, Jitter, Load, LoadKind, Outcome, OutcomeSet, Policy, PolicyId,
    RateLimit, Retry, RetryBudget, Scenario, Service, Simulation, Slo, Step,
};
use petgraph::graph::{DiGraph, NodeIndex};
use std::ops::Range;
use toml::Spanned;

type Span = Range<usize>;

/// More instances than this would only make per-instance state (queues, breakers per
/// caller instance) huge; a bigger fleet is better modelled as fewer, larger instances.
pub const MAX_INSTANCES: u64 = 100_000;
/// Time buckets per run: each is kept per load and per service and written as a CSV row.
pub const MAX_BUCKETS: u64 = 1_000_000;
/// A breaker's window size (calls, or seconds for a time window).
pub const MAX_BREAKER_WINDOW: u64 = 1_000_000;
/// Workers are plain counters, so they may be huge; half of `u64` leaves room for sums.
pub const MAX_WORKERS: u64 = u64::MAX / 2;

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
}

const DIST_NAMES: [&str; 9] =
    ["constant", "exponential", "lognormal", "normal", "uniform", "gamma", "weibull", "pareto", "empirical"];
const BACKOFFS: [&str; 3] = ["none", "constant", "exponential"];
const JITTERS: [(&str, Jitter); 4] =
    [("none", Jitter::None), ("full", Jitter::Full), ("equal", Jitter::Equal), ("decorrelated", Jitter::Decorrelated)];
const BUDGET_KINDS: [&str; 3] = ["concurrency", "token_bucket", "grpc_throttling"];
const ARRIVALS: [(&str, Arrival); 2] = [("poisson", Arrival::Poisson), ("constant", Arrival::Constant)];

/// Validates a whole raw scenario. `source` and `hash` are left empty for the caller.
///
/// `overlays_from`: the offset from which spans point into `--change` files and `--set`
/// options (`None` without overlays). Anything an overlay defines that nothing uses (a
/// service no load or call reaches, an endpoint nobody calls, a policy nobody uses, a
/// fault on an edge no call takes) is an error there: it is almost always a typo that
/// would otherwise leave the change without effect. In the base it is a lint warning.
pub(crate) fn validate(raw: &RawScenario, overlays_from: Option<usize>) -> Result<Scenario, Vec<Issue>> {
    let mut v = Validator { issues: Vec::new(), policies: Vec::new() };
    let simulation = v.simulation(raw);
    let names = Names::of(raw);
    let named_policies = v.named_policies(raw);
    let (services, edges) = v.services(raw, &names, &named_policies);
    let mut loads = v.loads(raw, &names, &named_policies, simulation.duration);
    v.slos(raw, &mut loads);
    let faults = v.faults(raw, &names, &services, simulation.duration);
    let gates = v.gates(raw);
    let expect = v.expectations(raw, simulation.seed);
    v.cycles(&names, &edges);
    if v.issues.is_empty() {
        let scenario = Scenario {
            source: String::new(),
            hash: String::new(),
            overlays: Vec::new(),
            simulation,
            services,
            policies: std::mem::take(&mut v.policies),
            loads,
            faults,
            gates,
            expect,
        };
        if let Some(from) = overlays_from {
            v.unused_in_overlays(raw, &scenario, from);
        }
        if v.issues.is_empty() {
            return Ok(scenario);
        }
        v.issues.sort_by_key(|i| i.span.as_ref().map(|s| s.start));
        Err(v.issues)
    } else {
        // Report in file order, whatever order the checks ran in; unlocated ones first.
        v.issues.sort_by_key(|i| i.span.as_ref().map(|s| s.start));
        Err(v.issues)
    }
}

/// Service and endpoint names in file order, known before anything refers to them.
struct Names<'r> {
    services: Vec<(&'r str, Vec<&'r str>)>,
}

impl<'r> Names<'r> {
    fn of(raw: &'r RawScenario) -> Names<'r> {
        let services = raw
            .services
            .iter()
            .map(|(name, s)| {
                (name.get_ref().as_str(), s.get_ref().endpoints.keys().map(|e| e.get_ref().as_str()).collect())
            })
            .collect();
        Names { services }
    }

    fn service(&self, name: &str) -> Option<usize> {
        self.services.iter().position(|(s, _)| *s == name)
    }

    fn service_names(&self) -> Vec<&'r str> {
        self.services.iter().map(|(s, _)| *s).collect()
    }

    fn endpoint_name(&self, e: EndpointRef) -> String {
        let (s, eps) = &self.services[e.service];
        format!("{s}/{}", eps[e.endpoint])
    }
}

/// The named policies: `[policies.NAME]` in file order, indices 0.. of `Scenario::policies`.
struct NamedPolicies<'r> {
    names: Vec<&'r str>,
}

/// A call from one endpoint to another, for cycle detection, with the span of its `to`.
struct Edge {
    from: EndpointRef,
    to: EndpointRef,
    span: Span,
}

struct Validator {
    issues: Vec<Issue>,
    policies: Vec<Policy>,
}

/// "`key` in CONTEXT", the phrase every value message starts from.
fn what(key: &str, ctx: &str) -> String {
    format!("`{key}` in {ctx}")
}

fn span_of<T>(v: &Spanned<T>) -> Span {
    v.span()
}

impl Validator {
    fn error(&mut self, span: Span, message: impl Into<String>) {
        self.issues.push(Issue::new(span, message));
    }

    fn error_help(&mut self, span: Span, message: impl Into<String>, help: impl Into<String>) {
        self.issues.push(Issue::new(span, message).with_help(help));
    }

    // ---- scalar values -------------------------------------------------------------

    fn name(&mut self, name: &Spanned<String>, kind: &str) {
        let n = name.get_ref();
        if n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            self.error_help(
                name.span(),
                format!("invalid {kind} name `{n}`"),
                "names may contain only ASCII letters, digits, `_` and `-`",
            );
        }
    }

    fn duration(&mut self, v: &Spanned<RawDuration>, what: &str) -> Option<SimDuration> {
        match v.get_ref() {
            RawDuration::Text(t) => match SimDuration::parse(t) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.error(v.span(), format!("bad duration \"{t}\" for {what}: {e}"));
                    None
                }
            },
            RawDuration::Number(n) => {
                self.error_help(
                    v.span(),
                    format!("bad duration `{n}` for {what}: a duration needs a unit"),
                    format!("write it as a string with a unit (ns, us, ms, s, m or h), e.g. \"{n}ms\""),
                );
                None
            }
        }
    }

    fn positive_duration(&mut self, v: &Spanned<RawDuration>, what: &str) -> Option<SimDuration> {
        let d = self.duration(v, what)?;
        if d == SimDuration::ZERO {
            self.error(v.span(), format!("{what} must be greater than zero"));
            return None;
        }
        Some(d)
    }

    fn opt_duration(&mut self, v: &Option<Spanned<RawDuration>>, what: &str, positive: bool) -> Option<SimDuration> {
        let v = v.as_ref()?;
        if positive { self.positive_duration(v, what) } else { self.duration(v, what) }
    }

    /// A finite float in `[lo, hi]` (`hi` may be infinite), `lo_open` excluding `lo`.
    fn number(&mut self, v: &Spanned<f64>, what: &str, lo: f64, lo_open: bool, hi: f64) -> Option<f64> {
        let x = *v.get_ref();
        let ok = x.is_finite() && (if lo_open { x > lo } else { x >= lo }) && x <= hi;
        if ok {
            return Some(x);
        }
        let range = match (lo_open, hi.is_finite()) {
            (false, true) if lo == 0.0 && hi == 1.0 => "a probability or ratio in [0, 1]".to_string(),
            (true, true) => format!("a number in ({lo}, {hi}]"),
            (false, true) => format!("a number in [{lo}, {hi}]"),
            (true, false) => format!("a finite number greater than {lo}"),
            (false, false) => format!("a finite number >= {lo}"),
        };
        self.error(v.span(), format!("bad value `{x:?}` for {what}: expected {range}"));
        None
    }

    fn probability(&mut self, v: &Spanned<f64>, what: &str) -> Option<f64> {
        self.number(v, what, 0.0, false, 1.0)
    }

    /// A whole number in `[min, max]`; `why_max` explains the upper bound when it is not
    /// just the size of the field.
    fn count(&mut self, v: &Spanned<RawCount>, what: &str, min: u64, max: u64, why_max: Option<&str>) -> Option<u64> {
        let n: Option<u64> = match *v.get_ref() {
            RawCount::Int(i) => u64::try_from(i).ok(),
            RawCount::Float(f) if f.is_finite() && f.fract() == 0.0 && f >= 0.0 => {
                // `as` saturates, so 1e308 becomes u64::MAX and fails the range check below.
                Some(f as u64)
            }
            RawCount::Float(f) => {
                self.error(v.span(), format!("bad value `{f:?}` for {what}: expected a whole number"));
                return None;
            }
        };
        // Debug keeps floats short (`1e308`, not 309 digits).
        let shown = match *v.get_ref() {
            RawCount::Int(i) => i.to_string(),
            RawCount::Float(f) => format!("{f:?}"),
        };
        match n {
            Some(n) if n >= min && n <= max => Some(n),
            Some(n) if n > max => {
                let msg = format!("bad value `{shown}` for {what}: at most {max} allowed");
                match why_max {
                    Some(why) => self.error_help(v.span(), msg, why),
                    None => self.error(v.span(), msg),
                }
                None
            }
            _ => {
                self.error(v.span(), format!("bad value `{shown}` for {what}: must be at least {min}"));
                None
            }
        }
    }

    fn count_u32(&mut self, v: &Option<Spanned<RawCount>>, what: &str, default: u64) -> u32 {
        let n = match v {
            Some(v) => self.count(v, what, 1, u64::from(u32::MAX), None).unwrap_or(default),
            None => default,
        };
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn choice<T: Copy>(&mut self, v: &Spanned<String>, what: &str, options: &[(&str, T)]) -> Option<T> {
        let got = v.get_ref().as_str();
        if let Some(&(_, t)) = options.iter().find(|(n, _)| *n == got) {
            return Some(t);
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        self.error_help(v.span(), format!("unknown value \"{got}\" for {what}"), suggest(got, &names, "values"));
        None
    }

    /// Reports each key that is set but does not apply, e.g. `factor` on a crash fault.
    /// `owner` names what was configured ("a `crash` fault"), `ctx` where it is.
    fn not_applicable(&mut self, present: &[(&str, Option<Span>)], allowed: &[&str], owner: &str, ctx: &str) {
        for (key, span) in present {
            if let Some(span) = span
                && !allowed.contains(key)
            {
                let takes = if allowed.is_empty() {
                    "no parameters".to_string()
                } else {
                    allowed.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                };
                self.error_help(
                    span.clone(),
                    format!("`{key}` does not apply to {owner} ({ctx})"),
                    format!("{owner} takes {takes}"),
                );
            }
        }
    }

    // ---- distributions -------------------------------------------------------------

    fn dist(&mut self, v: &Spanned<RawDist>, what: &str) -> Option<Dist> {
        match v.get_ref() {
            RawDist::Constant(d) => {
                let d = Spanned::new(v.span(), d.clone());
                self.duration(&d, what).map(Dist::constant)
            }
            RawDist::Table(t) => self.dist_table(t, v.span(), what),
        }
    }

    fn dist_table(&mut self, t: &RawDistTable, span: Span, what: &str) -> Option<Dist> {
        let Some(name) = &t.dist else {
            self.error_help(
                span,
                format!("missing `dist` in the distribution for {what}"),
                format!(
                    "add `dist = \"...\"`, one of: {}; or write a constant as a bare duration",
                    DIST_NAMES.join(", ")
                ),
            );
            return None;
        };
        let kind = name.get_ref().as_str();
        if !DIST_NAMES.contains(&kind) {
            self.error_help(
                name.span(),
                format!("unknown distribution \"{kind}\" for {what}"),
                suggest(kind, &DIST_NAMES, "distributions"),
            );
            return None;
        }
        let present = param_spans(t);
        let allowed: &[&str] = match kind {
            "constant" => &["value"],
            "exponential" => &["mean"],
            "lognormal" => &["median", "p99", "mean", "cv"],
            "normal" => &["mean", "stddev"],
            "uniform" => &["min", "max"],
            "gamma" => &["mean", "cv"],
            "weibull" => &["scale", "shape"],
            "pareto" => &["min", "alpha"],
            _ => &["quantiles"],
        };
        let before = self.issues.len();
        self.not_applicable(&present, allowed, &format!("{} `{kind}` distribution", article(kind)), what);
        if self.issues.len() > before {
            return None;
        }
        let missing = |v: &mut Validator, key: &str, takes: &str| -> Option<Dist> {
            v.error_help(
                span.clone(),
                format!("missing `{key}` in the `{kind}` distribution for {what}"),
                format!("{} `{kind}` distribution takes {takes}", article(kind)),
            );
            None
        };
        // Each parameter: Some(Some(x)) valid, Some(None) invalid (reported), None missing.
        macro_rules! dur {
            ($field:ident) => {
                t.$field.as_ref().map(|d| self.duration(d, &format!("`{}` of {what}", stringify!($field))))
            };
        }
        let result = match kind {
            "constant" => match dur!(value) {
                Some(d) => Ok(Dist::constant(d?)),
                None => return missing(self, "value", "`value`"),
            },
            "exponential" => match dur!(mean) {
                Some(m) => Dist::exponential(m?),
                None => return missing(self, "mean", "`mean`"),
            },
            "lognormal" => {
                let takes = "`median` and `p99`, or `mean` and `cv`";
                if t.median.is_some() || t.p99.is_some() {
                    if let Some(s) = t.mean.as_ref().map(span_of).or(t.cv.as_ref().map(span_of)) {
                        self.error_help(
                            s,
                            format!("mixed parameters in the `lognormal` distribution for {what}"),
                            format!("a `lognormal` distribution takes {takes}, not both"),
                        );
                        return None;
                    }
                    match (dur!(median), dur!(p99)) {
                        (Some(m), Some(p)) => Dist::lognormal_median_p99(m?, p?),
                        (None, _) => return missing(self, "median", takes),
                        (_, None) => return missing(self, "p99", takes),
                    }
                } else {
                    match (dur!(mean), t.cv.as_ref()) {
                        (Some(m), Some(cv)) => Dist::lognormal_mean_cv(m?, *cv.get_ref()),
                        (None, _) => return missing(self, "median", takes),
                        (_, None) => return missing(self, "cv", takes),
                    }
                }
            }
            "normal" => match (dur!(mean), dur!(stddev)) {
                (Some(m), Some(s)) => Dist::normal(m?, s?),
                (None, _) => return missing(self, "mean", "`mean` and `stddev`"),
                (_, None) => return missing(self, "stddev", "`mean` and `stddev`"),
            },
            "uniform" => match (dur!(min), dur!(max)) {
                (Some(a), Some(b)) => Dist::uniform(a?, b?),
                (None, _) => return missing(self, "min", "`min` and `max`"),
                (_, None) => return missing(self, "max", "`min` and `max`"),
            },
            "gamma" => match (dur!(mean), t.cv.as_ref()) {
                (Some(m), Some(cv)) => Dist::gamma(m?, *cv.get_ref()),
                (None, _) => return missing(self, "mean", "`mean` and `cv`"),
                (_, None) => return missing(self, "cv", "`mean` and `cv`"),
            },
            "weibull" => match (dur!(scale), t.shape.as_ref()) {
                (Some(s), Some(k)) => Dist::weibull(s?, *k.get_ref()),
                (None, _) => return missing(self, "scale", "`scale` and `shape`"),
                (_, None) => return missing(self, "shape", "`scale` and `shape`"),
            },
            "pareto" => match (dur!(min), t.alpha.as_ref()) {
                (Some(m), Some(a)) => Dist::pareto(m?, *a.get_ref()),
                (None, _) => return missing(self, "min", "`min` and `alpha`"),
                (_, None) => return missing(self, "alpha", "`min` and `alpha`"),
            },
            _ => {
                let Some(q) = &t.quantiles else {
                    return missing(self, "quantiles", "`quantiles = { p50 = \"..\", p99 = \"..\" }`");
                };
                let mut points = Vec::new();
                let mut ok = true;
                for (key, value) in q.get_ref() {
                    let Some(p) = parse_quantile_key(key.get_ref()) else {
                        self.error_help(
                            key.span(),
                            format!("`{}` is not a quantile in the `empirical` distribution for {what}", key.get_ref()),
                            "write quantiles as p0, p50, p90, p99, p999 or p99.9",
                        );
                        ok = false;
                        continue;
                    };
                    match self.duration(value, &format!("`{}` of {what}", key.get_ref())) {
                        Some(d) => points.push((key.get_ref().clone(), p, d)),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                Dist::empirical(&points)
            }
        };
        match result {
            Ok(d) => Some(d),
            Err(e) => {
                let at = dist_error_span(&e, t).unwrap_or(span);
                self.error(at, format!("bad `{kind}` distribution for {what}: {e}"));
                None
            }
        }
    }

    // ---- [simulation] --------------------------------------------------------------

    fn simulation(&mut self, raw: &RawScenario) -> Simulation {
        // Until a valid `duration` is known, nothing is "past the end of the run", so one
        // mistake does not cascade into errors about every fault and profile step.
        let mut sim = Simulation {
            duration: SimDuration::MAX,
            warmup: SimDuration::ZERO,
            bucket: SimDuration::from_secs(1),
            seed: 1,
            network: None,
        };
        let Some(s) = &raw.simulation else {
            self.issues.push(
                Issue::unlocated("missing [simulation] table")
                    .with_help("a scenario needs at least `[simulation]` with `duration = \"...\"`"),
            );
            return sim;
        };
        let s: &RawSimulation = s.get_ref();
        let ctx = "[simulation]";
        let mut duration_valid = false;
        match &s.duration {
            Some(d) => match self.positive_duration(d, &what("duration", ctx)) {
                Some(duration) => {
                    sim.duration = duration;
                    duration_valid = true;
                }
                None => sim.duration = SimDuration::MAX,
            },
            None => self.error_help(
                raw.simulation.as_ref().map_or(0..0, span_of),
                "missing `duration` in [simulation]",
                "add e.g. `duration = \"120s\"`",
            ),
        }
        if let Some(w) = &s.warmup
            && let Some(warmup) = self.duration(w, &what("warmup", ctx))
        {
            if warmup >= sim.duration && s.duration.is_some() {
                self.error(w.span(), format!("`warmup` ({warmup}) must be shorter than `duration` ({})", sim.duration));
            }
            sim.warmup = warmup;
        }
        if let Some(b) = &s.bucket {
            sim.bucket = self.positive_duration(b, &what("bucket", ctx)).unwrap_or(sim.bucket);
        }
        let buckets = sim.duration.as_nanos().div_ceil(sim.bucket.as_nanos().max(1));
        if let Some(at) = s.bucket.as_ref().map(|b| b.span()).or(s.duration.as_ref().map(|d| d.span()))
            && duration_valid
            && buckets > MAX_BUCKETS
        {
            self.error_help(
                at,
                format!(
                    "`bucket` ({}) cuts the {} run into {buckets} time buckets; at most {MAX_BUCKETS} (each is kept per load and service, and written as CSV rows)",
                    sim.bucket, sim.duration
                ),
                format!("use `bucket = \"{}\"` or longer", SimDuration::from_nanos(sim.duration.as_nanos().div_ceil(MAX_BUCKETS))),
            );
        }
        if let Some(seed) = &s.seed {
            sim.seed = self.count(seed, &what("seed", ctx), 0, u64::MAX, None).unwrap_or(1);
        }
        if let Some(n) = &s.network {
            sim.network = self.dist(n, &what("network", ctx));
        }
        sim
    }

    // ---- policies ------------------------------------------------------------------

    fn named_policies<'r>(&mut self, raw: &'r RawScenario) -> NamedPolicies<'r> {
        for (name, p) in &raw.policies {
            self.name(name, "policy");
            let policy = self.policy(name.get_ref().clone(), p.get_ref(), &format!("policy `{}`", name.get_ref()));
            self.policies.push(policy);
        }
        NamedPolicies { names: raw.policies.keys().map(|k| k.get_ref().as_str()).collect() }
    }

    /// Resolves `policy = "name"` or an inline table (appended under `inline_name`).
    fn policy_ref(
        &mut self,
        r: &Spanned<RawPolicyRef>,
        named: &NamedPolicies,
        inline_name: String,
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
                let policy = self.policy(inline_name, p, &format!("the inline policy of {ctx}"));
                self.policies.push(policy);
                Some(self.policies.len() - 1)
            }
        }
    }

    fn policy(&mut self, name: String, p: &RawPolicy, ctx: &str) -> Policy {
        Policy {
            name,
            timeout: self.opt_duration(&p.timeout, &what("timeout", ctx), true),
            deadline: self.opt_duration(&p.deadline, &what("deadline", ctx), true),
            deadline_propagation: p.deadline_propagation.as_ref().is_some_and(|b| *b.get_ref()),
            retry: p.retry.as_ref().and_then(|r| self.retry(r.get_ref(), r.span(), &format!("`retry` of {ctx}"))),
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
            Some(list) => {
                let mut set = OutcomeSet::EMPTY;
                let names: Vec<&str> = Outcome::ALL.iter().skip(1).map(|o| o.name()).collect();
                for item in list.get_ref() {
                    match Outcome::from_name(item.get_ref()) {
                        Some(Outcome::Ok) => self.error(item.span(), format!("`on` in {ctx} cannot retry `ok`")),
                        Some(o) => set = set.with(o),
                        None => self.error_help(
                            item.span(),
                            format!("unknown outcome \"{}\" in `on` of {ctx}", item.get_ref()),
                            suggest(item.get_ref(), &names, "outcomes"),
                        ),
                    }
                }
                set
            }
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

    /// A value required by another key's choice (e.g. `base` for a backoff): reports it
    /// missing in the right words.
    fn required<T>(&mut self, value: Option<T>, missing: Option<Span>, key: &str, ctx: &str) -> Option<T> {
        if let Some(span) = missing {
            self.error(span, format!("missing `{key}` in {ctx}"));
        }
        value
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

    // ---- services ------------------------------------------------------------------

    fn services(&mut self, raw: &RawScenario, names: &Names, named: &NamedPolicies) -> (Vec<Service>, Vec<Edge>) {
        let mut edges = Vec::new();
        let mut services = Vec::new();
        for (sid, (name, s)) in raw.services.iter().enumerate() {
            self.name(name, "service");
            let service = self.service(sid, name.get_ref(), s.get_ref(), names, named, &mut edges);
            services.push(service);
        }
        (services, edges)
    }

    fn service(
        &mut self,
        sid: usize,
        name: &str,
        s: &RawService,
        names: &Names,
        named: &NamedPolicies,
        edges: &mut Vec<Edge>,
    ) -> Service {
        let ctx = format!("service `{name}`");
        let why_instances = format!(
            "stormcast keeps state per instance; model a fleet of more than {MAX_INSTANCES} as fewer instances with more `workers` each"
        );
        let instances = match &s.instances {
            Some(i) => self.count(i, &what("instances", &ctx), 1, MAX_INSTANCES, Some(&why_instances)).unwrap_or(1),
            None => 1,
        };
        let workers = match &s.workers {
            Some(w) => self.count(w, &what("workers", &ctx), 1, MAX_WORKERS, None).unwrap_or(1),
            None => 1,
        };
        let queue = match &s.queue {
            None => None,
            Some(q) => match q.get_ref() {
                RawQueue::Count(c) => {
                    let c = Spanned::new(q.span(), *c);
                    self.count(&c, &what("queue", &ctx), 0, MAX_WORKERS, None)
                }
                RawQueue::Text(t) if t == "unbounded" => None,
                RawQueue::Text(t) => {
                    self.error_help(
                        q.span(),
                        format!("bad value \"{t}\" for `queue` in {ctx}"),
                        "`queue` is a whole number, or \"unbounded\"",
                    );
                    None
                }
            },
        };
        let balancers = [
            (Balancer::NAMES[0], Balancer::RoundRobin),
            (Balancer::NAMES[1], Balancer::Random),
            (Balancer::NAMES[2], Balancer::LeastRequests),
        ];
        let balancer = s
            .balancer
            .as_ref()
            .and_then(|b| self.choice(b, &what("balancer", &ctx), &balancers))
            .unwrap_or(Balancer::RoundRobin);
        let client =
            s.client.as_ref().and_then(|c| self.policy_ref(c, named, format!("{name}#client"), &what("client", &ctx)));
        let rate_limit = s.rate_limit.as_ref().and_then(|r| {
            let rctx = format!("`rate_limit` of {ctx}");
            let Some(rate) = &r.get_ref().rate else {
                self.error(r.span(), format!("missing `rate` in {rctx}"));
                return None;
            };
            let rate = self.number(rate, &what("rate", &rctx), 0.0, true, f64::INFINITY)?;
            // Without `burst`, the bucket holds one second of tokens (at least one).
            let burst = match &r.get_ref().burst {
                Some(b) => self.number(b, &what("burst", &rctx), 1.0, false, f64::INFINITY)?,
                None => rate.max(1.0),
            };
            Some(RateLimit { rate, burst })
        });
        let mut endpoints = Vec::new();
        for (eid, (ename, e)) in s.endpoints.iter().enumerate() {
            self.name(ename, "endpoint");
            let from = EndpointRef { service: sid, endpoint: eid };
            endpoints.push(self.endpoint(from, name, ename, e, client, names, named, edges));
        }
        Service {
            name: name.to_string(),
            instances: u32::try_from(instances).unwrap_or(1),
            workers,
            queue,
            balancer,
            client,
            rate_limit,
            endpoints,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn endpoint(
        &mut self,
        from: EndpointRef,
        service: &str,
        name: &Spanned<String>,
        e: &Spanned<RawEndpoint>,
        client: Option<PolicyId>,
        names: &Names,
        named: &NamedPolicies,
        edges: &mut Vec<Edge>,
    ) -> Endpoint {
        let full = format!("{service}/{}", name.get_ref());
        let ctx = format!("endpoint `{full}`");
        let raw = e.get_ref();
        let latency = match &raw.latency {
            Some(l) => self.dist(l, &what("latency", &ctx)),
            None => {
                self.error_help(e.span(), format!("missing `latency` in {ctx}"), "add e.g. `latency = \"5ms\"`");
                None
            }
        };
        let error_rate =
            raw.error_rate.as_ref().and_then(|r| self.probability(r, &what("error_rate", &ctx))).unwrap_or(0.0);
        // Call sites are numbered from 1 in file order, parallel members included; the
        // number names inline policies ("frontend/checkout#2").
        let mut number = 0;
        let mut steps = Vec::new();
        for entry in &raw.calls {
            let c = entry.get_ref();
            if let Some(group) = &c.parallel {
                let extra = [
                    ("to", c.to.as_ref().map(span_of)),
                    ("policy", c.policy.as_ref().map(span_of)),
                    ("probability", c.probability.as_ref().map(span_of)),
                    ("optional", c.optional.as_ref().map(span_of)),
                ];
                self.not_applicable(&extra, &["parallel"], "a `parallel` group", &ctx);
                if group.get_ref().is_empty() {
                    self.error(group.span(), format!("empty `parallel` group in {ctx}"));
                }
                let mut members = Vec::new();
                for m in group.get_ref() {
                    number += 1;
                    if let Some(inner) = &m.get_ref().parallel {
                        self.error_help(
                            inner.span(),
                            format!("nested `parallel` group in {ctx}"),
                            "a `parallel` group holds plain calls; its members already run together",
                        );
                        continue;
                    }
                    if let Some(site) = self.call(from, &full, number, m, client, names, named, edges) {
                        members.push(site);
                    }
                }
                steps.push(Step::Parallel(members));
            } else {
                number += 1;
                if let Some(site) = self.call(from, &full, number, entry, client, names, named, edges) {
                    steps.push(Step::Call(site));
                }
            }
        }
        Endpoint {
            name: name.get_ref().clone(),
            latency: latency.unwrap_or(Dist::constant(SimDuration::ZERO)),
            error_rate,
            steps,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        from: EndpointRef,
        caller: &str,
        number: usize,
        entry: &Spanned<RawCall>,
        client: Option<PolicyId>,
        names: &Names,
        named: &NamedPolicies,
        edges: &mut Vec<Edge>,
    ) -> Option<CallSite> {
        let c: &RawCall = entry.get_ref();
        let ctx = format!("call #{number} of endpoint `{caller}`");
        let Some(to) = &c.to else {
            self.error_help(
                entry.span(),
                format!("missing `to` in {ctx}"),
                "a call is `{ to = \"service/endpoint\" }`, a group is `{ parallel = [ ... ] }`",
            );
            return None;
        };
        let target = self.endpoint_ref(to, names, "call target");
        let policy = match &c.policy {
            Some(p) => self.policy_ref(p, named, format!("{caller}#{number}"), &ctx),
            None => client,
        };
        let probability =
            c.probability.as_ref().and_then(|p| self.probability(p, &what("probability", &ctx))).unwrap_or(1.0);
        let optional = c.optional.as_ref().is_some_and(|o| *o.get_ref());
        let to_ref = target?;
        edges.push(Edge { from, to: to_ref, span: to.span() });
        Some(CallSite { to: to_ref, policy, probability, optional })
    }

    /// Resolves `"service/endpoint"`.
    fn endpoint_ref(&mut self, v: &Spanned<String>, names: &Names, role: &str) -> Option<EndpointRef> {
        let text = v.get_ref();
        let Some((service, endpoint)) = text.split_once('/') else {
            let help = match names.service(text) {
                Some(s) => format!("endpoints of `{text}` are: {}", names.services[s].1.join(", ")),
                None => "write it as \"service/endpoint\"".to_string(),
            };
            self.error_help(v.span(), format!("{role} `{text}` must name an endpoint as \"service/endpoint\""), help);
            return None;
        };
        let Some(sid) = names.service(service) else {
            self.error_help(
                v.span(),
                format!("unknown service `{service}` in {role} `{text}`"),
                suggest(service, &names.service_names(), "services"),
            );
            return None;
        };
        let endpoints = &names.services[sid].1;
        let Some(eid) = endpoints.iter().position(|e| *e == endpoint) else {
            self.error_help(
                v.span(),
                format!("unknown endpoint `{endpoint}` of service `{service}` in {role} `{text}`"),
                suggest(endpoint, endpoints, &format!("endpoints of `{service}`")),
            );
            return None;
        };
        Some(EndpointRef { service: sid, endpoint: eid })
    }

    // ---- loads and SLOs ------------------------------------------------------------

    fn loads(&mut self, raw: &RawScenario, names: &Names, named: &NamedPolicies, duration: SimDuration) -> Vec<Load> {
        let mut loads: Vec<Load> = Vec::new();
        for (i, l) in raw.load.iter().enumerate() {
            let r: &RawLoad = l.get_ref();
            let name = match &r.name {
                Some(n) => {
                    self.name(n, "load");
                    if loads.iter().any(|other| other.name == *n.get_ref()) {
                        self.error(n.span(), format!("duplicate load name `{}`", n.get_ref()));
                    }
                    n.get_ref().clone()
                }
                None => {
                    self.error_help(
                        l.span(),
                        format!("missing `name` in [[load]] #{}", i + 1),
                        "add e.g. `name = \"shoppers\"`",
                    );
                    format!("#{}", i + 1)
                }
            };
            let ctx = format!("load `{name}`");
            let target = match &r.target {
                Some(t) => self.endpoint_ref(t, names, "load target"),
                None => {
                    self.error_help(
                        l.span(),
                        format!("missing `target` in {ctx}"),
                        "add e.g. `target = \"frontend/checkout\"`",
                    );
                    None
                }
            };
            let kind = self.load_kind(r, l.span(), &ctx, duration);
            let mut policy = r.policy.as_ref().and_then(|p| self.policy_ref(p, named, format!("load/{name}"), &ctx));
            // `deadline_propagation` on a load is its policy's flag: derive a policy
            // rather than widen the model's `Load`.
            if let Some(flag) = &r.deadline_propagation {
                let flag = *flag.get_ref();
                let current = policy.map(|id| self.policies[id].deadline_propagation).unwrap_or(false);
                if current != flag {
                    let mut derived = policy.map(|id| self.policies[id].clone()).unwrap_or_default();
                    derived.name = format!("load/{name}");
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
            if let (Some(target), Some(kind)) = (target, kind) {
                loads.push(Load { name, target, kind, policy, slo: None });
            } else {
                // Keep the name so that duplicates and SLOs are still checked.
                let kind = LoadKind::Closed { users: 0, think_time: Dist::constant(SimDuration::ZERO) };
                loads.push(Load { name, target: EndpointRef { service: 0, endpoint: 0 }, kind, policy, slo: None });
            }
        }
        loads
    }

    fn load_kind(&mut self, r: &RawLoad, span: Span, ctx: &str, duration: SimDuration) -> Option<LoadKind> {
        match (&r.rate, &r.users) {
            (None, None) => {
                self.error_help(
                    span,
                    format!("{ctx} has neither `rate` nor `users`"),
                    "set `rate` (requests per second, open loop) or `users` (closed loop)",
                );
                None
            }
            (Some(_), Some(users)) => {
                self.error_help(
                    users.span(),
                    format!("{ctx} has both `rate` and `users`"),
                    "a load is either open (`rate`) or closed (`users`), not both",
                );
                None
            }
            (Some(rate), None) => {
                let present = [("think_time", r.think_time.as_ref().map(span_of))];
                self.not_applicable(&present, &[], "an open-loop load (`rate`)", ctx);
                let rate = self.number(rate, &what("rate", ctx), 0.0, false, f64::INFINITY);
                let arrival = match &r.arrival {
                    Some(a) => self.choice(a, &what("arrival", ctx), &ARRIVALS),
                    None => Some(Arrival::Poisson),
                };
                let profile = self.profile(r, ctx, duration);
                Some(LoadKind::Open { rate: rate?, arrival: arrival?, profile: profile? })
            }
            (None, Some(users)) => {
                let present =
                    [("arrival", r.arrival.as_ref().map(span_of)), ("profile", r.profile.as_ref().map(span_of))];
                self.not_applicable(&present, &[], "a closed-loop load (`users`)", ctx);
                let users = self.count(users, &what("users", ctx), 1, u64::from(u32::MAX), None);
                // Without `think_time`, each user sends again as soon as it has its answer.
                let think_time = match &r.think_time {
                    Some(t) => self.dist(t, &what("think_time", ctx)),
                    None => Some(Dist::constant(SimDuration::ZERO)),
                };
                Some(LoadKind::Closed { users: u32::try_from(users?).unwrap_or(u32::MAX), think_time: think_time? })
            }
        }
    }

    fn profile(&mut self, r: &RawLoad, ctx: &str, duration: SimDuration) -> Option<Vec<(SimTime, f64)>> {
        let Some(steps) = &r.profile else { return Some(Vec::new()) };
        let mut profile = Vec::new();
        let mut ok = true;
        for (i, step) in steps.get_ref().iter().enumerate() {
            let sctx = format!("`profile` step #{} of {ctx}", i + 1);
            let s = step.get_ref();
            let (Some(at), Some(rate)) = (&s.at, &s.rate) else {
                self.error_help(
                    step.span(),
                    format!("{sctx} needs both `at` and `rate`"),
                    "e.g. `{ at = \"40s\", rate = 1200 }`",
                );
                ok = false;
                continue;
            };
            let rate = self.number(rate, &what("rate", &sctx), 0.0, false, f64::INFINITY);
            let Some(t) = self.duration(at, &what("at", &sctx)) else {
                ok = false;
                continue;
            };
            if t == SimDuration::ZERO || t >= duration {
                self.error_help(
                    at.span(),
                    format!("`at` ({t}) of {sctx} is outside the run"),
                    format!("a profile step starts after 0s and before the end of the run ({duration}); the load's `rate` holds from 0s"),
                );
                ok = false;
            } else if let Some(&(prev, _)) = profile.last()
                && SimTime(t.as_nanos()) <= prev
            {
                self.error_help(
                    at.span(),
                    format!("`at` ({t}) of {sctx} is not after the previous step ({})", SimDuration(prev.0)),
                    "profile steps must be in increasing time order, each at a distinct time",
                );
                ok = false;
            }
            match rate {
                Some(rate) => profile.push((SimTime(t.as_nanos()), rate)),
                None => ok = false,
            }
        }
        ok.then_some(profile)
    }

    fn slos(&mut self, raw: &RawScenario, loads: &mut [Load]) {
        let load_names: Vec<String> = loads.iter().map(|l| l.name.clone()).collect();
        for (name, slo) in &raw.slo {
            let ctx = format!("[slo.{}]", name.get_ref());
            let s = slo.get_ref();
            let p99 = self.opt_duration(&s.p99, &what("p99", &ctx), true);
            let success_rate = s.success_rate.as_ref().and_then(|r| self.probability(r, &what("success_rate", &ctx)));
            match load_names.iter().position(|l| l == name.get_ref()) {
                Some(i) => loads[i].slo = Some(Slo { p99, success_rate }),
                None => {
                    let valid: Vec<&str> = load_names.iter().map(String::as_str).collect();
                    self.error_help(
                        name.span(),
                        format!("unknown load `{}` in {ctx}", name.get_ref()),
                        suggest(name.get_ref(), &valid, "loads"),
                    );
                }
            }
        }
    }

    // ---- faults --------------------------------------------------------------------

    fn faults(&mut self, raw: &RawScenario, names: &Names, services: &[Service], duration: SimDuration) -> Vec<Fault> {
        let mut faults = Vec::new();
        for (i, f) in raw.fault.iter().enumerate() {
            if let Some(fault) = self.fault(f, i + 1, names, services, duration) {
                faults.push(fault);
            }
        }
        faults
    }

    fn fault(
        &mut self,
        f: &Spanned<RawFault>,
        number: usize,
        names: &Names,
        services: &[Service],
        duration: SimDuration,
    ) -> Option<Fault> {
        let r: &RawFault = f.get_ref();
        let ctx = format!("[[fault]] #{number}");
        let kinds = FaultKind::NAMES.map(|k| (k, k));
        let kind = match &r.kind {
            Some(k) => self.choice(k, &what("kind", &ctx), &kinds),
            None => {
                self.error_help(
                    f.span(),
                    format!("missing `kind` in {ctx}"),
                    format!("`kind` is one of: {}", FaultKind::NAMES.join(", ")),
                );
                None
            }
        };
        let target = match &r.target {
            Some(t) => self.fault_target(t, names, &ctx),
            None => {
                self.error_help(
                    f.span(),
                    format!("missing `target` in {ctx}"),
                    "a target is a service, \"service/endpoint\" or an edge \"caller->callee\"",
                );
                None
            }
        };
        let at = match &r.at {
            Some(a) => self.duration(a, &what("at", &ctx)),
            None => {
                self.error(f.span(), format!("missing `at` in {ctx}"));
                None
            }
        };
        let length = match &r.duration {
            Some(d) => self.positive_duration(d, &what("duration", &ctx)),
            None => {
                self.error(f.span(), format!("missing `duration` in {ctx}"));
                None
            }
        };
        if let (Some(at), Some(length)) = (at, length)
            && at + length > duration
        {
            let span = r.duration.as_ref().or(r.at.as_ref()).map_or(f.span(), span_of);
            self.error_help(
                span,
                format!("{ctx} runs from {at} to {}, past the end of the run ({duration})", at + length),
                "a fault window must lie inside the run",
            );
        }
        let kind = kind?;
        let target = target?;
        let present = [
            ("factor", r.factor.as_ref().map(span_of)),
            ("add", r.add.as_ref().map(span_of)),
            ("rate", r.rate.as_ref().map(span_of)),
            ("instances", r.instances.as_ref().map(span_of)),
        ];
        let owner = format!("a `{kind}` fault");
        let target_span = r.target.as_ref().map_or(f.span(), span_of);
        let wrong_target = |v: &mut Validator, allowed: &str| {
            v.error_help(
                target_span.clone(),
                format!("a `{kind}` fault cannot target {} (in {ctx})", describe_target(target, names)),
                format!("a `{kind}` fault targets {allowed}"),
            );
        };
        let fault_kind = match kind {
            "latency" => {
                self.not_applicable(&present, &["factor", "add"], &owner, &ctx);
                if r.factor.is_none() && r.add.is_none() {
                    self.error_help(
                        f.span(),
                        format!("{ctx} sets neither `factor` nor `add`"),
                        "e.g. `factor = 5.0` or `add = \"200ms\"`",
                    );
                }
                let factor = match &r.factor {
                    Some(x) => self.number(x, &what("factor", &ctx), 0.0, false, f64::INFINITY)?,
                    None => 1.0,
                };
                let add = self.opt_duration(&r.add, &what("add", &ctx), false).unwrap_or(SimDuration::ZERO);
                FaultKind::Latency { factor, add }
            }
            "errors" => {
                self.not_applicable(&present, &["rate"], &owner, &ctx);
                let Some(rate) = &r.rate else {
                    self.error_help(
                        f.span(),
                        format!("missing `rate` in {ctx}"),
                        "e.g. `rate = 0.5`: the extra failure probability",
                    );
                    return None;
                };
                FaultKind::Errors { rate: self.probability(rate, &what("rate", &ctx))? }
            }
            "partition" => {
                self.not_applicable(&present, &[], &owner, &ctx);
                if !matches!(target, FaultTarget::Edge { .. }) {
                    wrong_target(self, "only an edge \"caller->callee\"");
                    return None;
                }
                FaultKind::Partition
            }
            _ => {
                self.not_applicable(&present, &["instances"], &owner, &ctx);
                let FaultTarget::Service(sid) = target else {
                    wrong_target(self, "only a service");
                    return None;
                };
                let all = services.get(sid).map_or(1, |s| s.instances);
                let instances = match &r.instances {
                    Some(n) => {
                        let why = format!("service `{}` has {all} instance(s)", names.services[sid].0);
                        let n = self.count(n, &what("instances", &ctx), 1, u64::from(all), Some(&why))?;
                        u32::try_from(n).unwrap_or(all)
                    }
                    None => all,
                };
                if kind == "crash" { FaultKind::Crash { instances } } else { FaultKind::Pause { instances } }
            }
        };
        Some(Fault { kind: fault_kind, target, at: SimTime(at?.as_nanos()), duration: length? })
    }

    fn fault_target(&mut self, t: &Spanned<String>, names: &Names, ctx: &str) -> Option<FaultTarget> {
        let text = t.get_ref();
        let role = format!("`target` of {ctx}");
        if let Some((from, to)) = text.split_once("->") {
            let mut ends = [None, None];
            for (slot, end) in ends.iter_mut().zip([from.trim(), to.trim()]) {
                *slot = names.service(end);
                if slot.is_none() {
                    self.error_help(
                        t.span(),
                        format!("unknown service `{end}` in edge `{text}` ({role})"),
                        suggest(end, &names.service_names(), "services"),
                    );
                }
            }
            return Some(FaultTarget::Edge { from: ends[0]?, to: ends[1]? });
        }
        if text.contains('/') {
            return self.endpoint_ref(t, names, &role).map(FaultTarget::Endpoint);
        }
        match names.service(text) {
            Some(s) => Some(FaultTarget::Service(s)),
            None => {
                self.error_help(
                    t.span(),
                    format!("unknown service `{text}` in {role}"),
                    suggest(text, &names.service_names(), "services"),
                );
                None
            }
        }
    }

    // ---- gates ---------------------------------------------------------------------

    /// Errors for what an overlay (spans from `from` on) defines and nothing uses.
    fn unused_in_overlays(&mut self, raw: &RawScenario, s: &Scenario, from: usize) {
        let graph = CallGraph::new(s);
        let in_overlay = |span: &Span| span.start >= from;
        let reached: Vec<&str> = s
            .services
            .iter()
            .zip(&graph.service_reached)
            .filter(|(_, r)| **r)
            .map(|(sv, _)| sv.name.as_str())
            .collect();
        for (i, (name, _)) in raw.services.iter().enumerate() {
            if !graph.service_reached[i] && in_overlay(&name.span()) {
                let got = name.get_ref();
                self.error_help(
                    name.span(),
                    format!(
                        "service `{got}` is used by nothing: no load targets it and no call reaches it, so this \
                         change would not alter the simulation"
                    ),
                    format!(
                        "{}; a new service needs a call to it in the same change",
                        suggest(got, &reached, "services in use")
                    ),
                );
            }
        }
        for (si, (_, svc)) in raw.services.iter().enumerate() {
            if !graph.service_reached[si] {
                continue; // Reported above, or a base service (a lint warning).
            }
            let called: Vec<&str> = s.services[si]
                .endpoints
                .iter()
                .zip(&graph.endpoint_called[si])
                .filter(|(_, c)| **c)
                .map(|(e, _)| e.name.as_str())
                .collect();
            for (ei, (name, _)) in svc.get_ref().endpoints.iter().enumerate() {
                if !graph.endpoint_called[si][ei] && in_overlay(&name.span()) {
                    let got = name.get_ref();
                    self.error_help(
                        name.span(),
                        format!(
                            "endpoint `{}/{got}` is used by nothing: no load targets it and no call names it",
                            s.services[si].name
                        ),
                        format!(
                            "{}; a new endpoint needs a call to it in the same change",
                            suggest(got, &called, "endpoints in use")
                        ),
                    );
                }
            }
        }
        let used: Vec<&str> = raw
            .policies
            .keys()
            .enumerate()
            .filter(|(p, _)| graph.policy_used[*p])
            .map(|(_, k)| k.get_ref().as_str())
            .collect();
        for (p, (name, _)) in raw.policies.iter().enumerate() {
            if !graph.policy_used[p] && in_overlay(&name.span()) {
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
        for (f, fault) in s.faults.iter().enumerate() {
            let Some(target) = raw.fault[f].get_ref().target.as_ref() else { continue };
            if !graph.fault_target_reachable(fault.target) && in_overlay(&target.span()) {
                let why = match fault.target {
                    FaultTarget::Edge { from, to } if graph.service_reached[from] => {
                        format!("no call goes from `{}` to `{}`", s.services[from].name, s.services[to].name)
                    }
                    _ => "no load or call reaches it".to_string(),
                };
                let edges: Vec<String> = (0..s.services.len())
                    .filter(|&a| graph.service_reached[a])
                    .flat_map(|a| graph.callees[a].iter().map(move |&b| (a, b)))
                    .map(|(a, b)| format!("{}->{}", s.services[a].name, s.services[b].name))
                    .collect();
                self.error_help(
                    target.span(),
                    format!("fault target `{}` changes nothing: {why}", target.get_ref()),
                    format!("edges in use: {}", if edges.is_empty() { "(none)".to_string() } else { edges.join(", ") }),
                );
            }
        }
    }

    /// `[[expect]]`: a claim, a path, one check, and one of `seed`/`seeds`.
    fn expectations(&mut self, raw: &RawScenario, default_seed: u64) -> Vec<Expectation> {
        let mut out = Vec::new();
        for (i, e) in raw.expect.iter().enumerate() {
            let ctx = format!("[[expect]] #{}", i + 1);
            let r = e.get_ref();
            let claim = r.claim.as_ref().map(|c| c.get_ref().clone());
            let claim = self.required(claim, r.claim.is_none().then(|| e.span()), "claim", &ctx);
            let path = r.path.as_ref().map(|p| p.get_ref().clone());
            let path = self.required(path, r.path.is_none().then(|| e.span()), "path", &ctx);
            if let Some(p) = &r.path
                && (p.get_ref().is_empty() || p.get_ref().split('.').any(str::is_empty))
            {
                self.error(p.span(), format!("{}: a dotted path such as `loads.users.recovery_s`", what("path", &ctx)));
            }
            let run = match (&r.seed, &r.seeds) {
                (Some(_), Some(s)) => {
                    self.error(s.span(), format!("{ctx}: `seed` (one run) or `seeds` (a sweep), not both"));
                    None
                }
                (_, Some(s)) => {
                    self.count(s, &what("seeds", &ctx), 1, 1000, None).map(|n| ExpectRun::Sweep { seeds: n })
                }
                (Some(s), None) => self.count(s, &what("seed", &ctx), 0, u64::MAX, None).map(ExpectRun::Seed),
                (None, None) => Some(ExpectRun::Seed(default_seed)),
            };
            let checks = [r.equals.is_some(), r.min.is_some() || r.max.is_some(), r.null.is_some()];
            let check = match checks.iter().filter(|&&c| c).count() {
                1 => {
                    if let Some(v) = &r.equals {
                        serde_json::to_value(v.get_ref()).ok().map(ExpectCheck::Equals)
                    } else if let Some(n) = &r.null {
                        if !*n.get_ref() {
                            self.error(n.span(), format!("{}: only `null = true` is a check", what("null", &ctx)));
                        }
                        Some(ExpectCheck::Null)
                    } else {
                        let bound = |v: &Option<Spanned<f64>>| v.as_ref().map(|x| *x.get_ref());
                        Some(ExpectCheck::Range { min: bound(&r.min), max: bound(&r.max) })
                    }
                }
                _ => {
                    self.error_help(
                        e.span(),
                        format!("{ctx}: needs exactly one check"),
                        "write `equals = VALUE`, or `min`/`max` (a number range), or `null = true`",
                    );
                    None
                }
            };
            let sets = r.set.iter().map(|s| s.get_ref().clone()).collect();
            if let (Some(claim), Some(path), Some(run), Some(check)) = (claim, path, run, check) {
                out.push(Expectation { claim, run, sets, path, check });
            }
        }
        out
    }

    fn gates(&mut self, raw: &RawScenario) -> Gates {
        let Some(g) = &raw.gates else { return Gates::default() };
        let g = g.get_ref();
        let ctx = "[gates]";
        // Risks are probabilities; increases are differences of probabilities, which a
        // gate may set below zero to demand an improvement.
        Gates {
            max_slo_risk: g.max_slo_risk.as_ref().and_then(|v| self.probability(v, &what("max_slo_risk", ctx))),
            max_slo_risk_increase: g
                .max_slo_risk_increase
                .as_ref()
                .and_then(|v| self.number(v, &what("max_slo_risk_increase", ctx), -1.0, false, 1.0)),
            max_p99_increase: g
                .max_p99_increase
                .as_ref()
                .and_then(|v| self.number(v, &what("max_p99_increase", ctx), -1.0, false, f64::INFINITY)),
            max_metastable_risk: g
                .max_metastable_risk
                .as_ref()
                .and_then(|v| self.probability(v, &what("max_metastable_risk", ctx))),
            max_metastable_risk_increase: g
                .max_metastable_risk_increase
                .as_ref()
                .and_then(|v| self.number(v, &what("max_metastable_risk_increase", ctx), -1.0, false, 1.0)),
        }
    }

    // ---- call cycles ---------------------------------------------------------------

    /// Finds every call cycle with Tarjan's strongly connected components on the
    /// endpoint call graph, and names one cycle through each component.
    fn cycles(&mut self, names: &Names, edges: &[Edge]) {
        let mut graph: DiGraph<EndpointRef, usize> = DiGraph::new();
        let mut first_node = Vec::new();
        for (sid, (_, eps)) in names.services.iter().enumerate() {
            first_node.push(graph.node_count());
            for eid in 0..eps.len() {
                graph.add_node(EndpointRef { service: sid, endpoint: eid });
            }
        }
        let node = |e: EndpointRef| NodeIndex::new(first_node[e.service] + e.endpoint);
        for (i, e) in edges.iter().enumerate() {
            graph.add_edge(node(e.from), node(e.to), i);
        }
        let mut cycles: Vec<Vec<NodeIndex>> = Vec::new();
        for scc in petgraph::algo::tarjan_scc(&graph) {
            let Some(&start) = scc.iter().min() else { continue };
            if scc.len() == 1 && graph.find_edge(start, start).is_none() {
                continue;
            }
            cycles.push(shortest_cycle(&graph, start, &scc));
        }
        cycles.sort();
        for cycle in cycles {
            let path: Vec<String> = cycle.iter().map(|&n| names.endpoint_name(graph[n])).collect();
            // Point at the call that leaves the first endpoint of the cycle.
            let issue = Issue {
                span: graph.find_edge(cycle[0], cycle[1]).map(|e| edges[graph[e]].span.clone()),
                message: format!("call cycle: {}", path.join(" -> ")),
                help: None,
            };
            self.issues.push(issue.with_help(
                "an endpoint must not call itself, directly or through other endpoints: each request would recurse forever",
            ));
        }
    }
}

/// The shortest path from `start` back to itself inside one strongly connected
/// component, as a node list that begins and ends with `start`. Breadth-first, visiting
/// neighbours in edge order, so the answer is deterministic.
fn shortest_cycle(graph: &DiGraph<EndpointRef, usize>, start: NodeIndex, scc: &[NodeIndex]) -> Vec<NodeIndex> {
    let mut parent: Vec<Option<NodeIndex>> = vec![None; graph.node_count()];
    let mut seen = vec![false; graph.node_count()];
    seen[start.index()] = true;
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        let mut next: Vec<NodeIndex> = graph.neighbors(n).collect();
        // petgraph lists the newest edge first; file order reads better.
        next.reverse();
        for m in next {
            if m == start {
                // Walk back from `n` to `start` (which has no parent), then close the loop.
                let mut path = vec![n];
                let mut cur = n;
                while let Some(p) = parent[cur.index()] {
                    path.push(p);
                    cur = p;
                }
                path.reverse();
                path.push(start);
                return path;
            }
            if !seen[m.index()] && scc.contains(&m) {
                seen[m.index()] = true;
                parent[m.index()] = Some(n);
                queue.push_back(m);
            }
        }
    }
    vec![start, start]
}

/// "a" or "an" before a word, by its first letter (good enough for the names used here).
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" }
}

fn describe_target(t: FaultTarget, names: &Names) -> String {
    match t {
        FaultTarget::Service(s) => format!("service `{}`", names.services[s].0),
        FaultTarget::Endpoint(e) => format!("endpoint `{}`", names.endpoint_name(e)),
        FaultTarget::Edge { from, to } => format!("edge `{}->{}`", names.services[from].0, names.services[to].0),
    }
}

/// Every parameter of a distribution table with its span, if it was written.
fn param_spans(t: &RawDistTable) -> [(&'static str, Option<Span>); 12] {
    [
        ("value", t.value.as_ref().map(span_of)),
        ("mean", t.mean.as_ref().map(span_of)),
        ("median", t.median.as_ref().map(span_of)),
        ("p99", t.p99.as_ref().map(span_of)),
        ("cv", t.cv.as_ref().map(span_of)),
        ("stddev", t.stddev.as_ref().map(span_of)),
        ("min", t.min.as_ref().map(span_of)),
        ("max", t.max.as_ref().map(span_of)),
        ("scale", t.scale.as_ref().map(span_of)),
        ("shape", t.shape.as_ref().map(span_of)),
        ("alpha", t.alpha.as_ref().map(span_of)),
        ("quantiles", t.quantiles.as_ref().map(span_of)),
    ]
}

/// Where a distribution's error belongs: the parameter it names, if it was written.
fn dist_error_span(e: &DistError, t: &RawDistTable) -> Option<Span> {
    let key = match e {
        DistError::NotPositive(k) | DistError::Negative(k) => *k,
        DistError::P99BelowMedian { .. } => "p99",
        DistError::MaxBelowMin { .. } => "max",
        DistError::NormalMeanNotPositive => "mean",
        DistError::NoQuantiles => "quantiles",
        DistError::QuantilesOutOfOrder { higher_key, .. } => {
            return t.quantiles.as_ref().and_then(|q| q.get_ref().get(higher_key.as_str())).map(span_of);
        }
    };
    param_spans(t).into_iter().find(|(k, _)| *k == key).and_then(|(_, span)| span)
}

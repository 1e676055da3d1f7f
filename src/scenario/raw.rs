//! The scenario file exactly as written: plain serde structs with spans, no meaning yet.
//!
//! Every table denies unknown keys, and every value that validation may reject is a
//! `Spanned<T>`, so each error can point at its line and column. Values that may take
//! several shapes (a distribution, a call's policy, a queue size) are small enums with
//! hand-written visitors instead of `#[serde(untagged)]` or internally tagged enums,
//! which buffer their input and lose the inner spans (toml-rs issues #526, #535).
//! Tables keyed by name are `IndexMap`s: with toml's `preserve_order` feature they keep
//! file order, which decides service and endpoint indices.

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::fmt;
use toml::Spanned;

/// A table keyed by user-chosen names, in file order.
pub type Table<T> = IndexMap<Spanned<String>, Spanned<T>>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub simulation: Option<Spanned<RawSimulation>>,
    #[serde(default)]
    pub services: Table<RawService>,
    #[serde(default)]
    pub policies: Table<RawPolicy>,
    #[serde(default)]
    pub load: Vec<Spanned<RawLoad>>,
    #[serde(default)]
    pub fault: Vec<Spanned<RawFault>>,
    #[serde(default)]
    pub slo: Table<RawSlo>,
    pub gates: Option<Spanned<RawGates>>,
    #[serde(default)]
    pub expect: Vec<Spanned<RawExpect>>,
}

/// `[[expect]]`: a claim about the scenario's outputs (see `model::expect`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    pub claim: Option<Spanned<String>>,
    pub seed: Option<Spanned<RawCount>>,
    pub seeds: Option<Spanned<RawCount>>,
    #[serde(default)]
    pub set: Vec<Spanned<String>>,
    pub path: Option<Spanned<String>>,
    pub equals: Option<Spanned<toml::Value>>,
    pub min: Option<Spanned<f64>>,
    pub max: Option<Spanned<f64>>,
    pub null: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSimulation {
    pub duration: Option<Spanned<RawDuration>>,
    pub warmup: Option<Spanned<RawDuration>>,
    pub bucket: Option<Spanned<RawDuration>>,
    pub seed: Option<Spanned<RawCount>>,
    pub network: Option<Spanned<RawDist>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub instances: Option<Spanned<RawCount>>,
    pub workers: Option<Spanned<RawCount>>,
    pub queue: Option<Spanned<RawQueue>>,
    pub balancer: Option<Spanned<String>>,
    pub client: Option<Spanned<RawPolicyRef>>,
    pub rate_limit: Option<Spanned<RawRateLimit>>,
    pub autoscaling: Option<Spanned<RawAutoscaling>>,
    pub adaptive_concurrency: Option<Spanned<RawAdaptiveConcurrency>>,
    pub restart_after: Option<Spanned<RawDuration>>,
    pub startup: Option<Spanned<RawDuration>>,
    pub min_available: Option<Spanned<RawCount>>,
    #[serde(default)]
    pub endpoints: Table<RawEndpoint>,
}

/// `[services.NAME.autoscaling]`: a Kubernetes HPA (autoscaling/v2) in snake_case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAutoscaling {
    pub min_replicas: Option<Spanned<RawCount>>,
    pub max_replicas: Option<Spanned<RawCount>>,
    pub target_utilization: Option<Spanned<f64>>,
    pub target_rate: Option<Spanned<f64>>,
    pub target_concurrency: Option<Spanned<f64>>,
    pub sync_period: Option<Spanned<RawDuration>>,
    pub tolerance: Option<Spanned<f64>>,
    pub startup: Option<Spanned<RawDuration>>,
    pub behavior: Option<Spanned<RawBehavior>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBehavior {
    pub scale_up: Option<Spanned<RawScalingRules>>,
    pub scale_down: Option<Spanned<RawScalingRules>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScalingRules {
    pub stabilization_window: Option<Spanned<RawDuration>>,
    pub select_policy: Option<Spanned<String>>,
    pub policies: Option<Spanned<Vec<Spanned<RawScalingPolicy>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScalingPolicy {
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    pub value: Option<Spanned<RawCount>>,
    pub period: Option<Spanned<RawDuration>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    pub rate: Option<Spanned<f64>>,
    pub burst: Option<Spanned<f64>>,
}

/// `[services.NAME.adaptive_concurrency]`: Envoy's gradient controller.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdaptiveConcurrency {
    pub interval: Option<Spanned<RawDuration>>,
    pub sample_percentile: Option<Spanned<f64>>,
    pub buffer: Option<Spanned<f64>>,
    pub min_concurrency: Option<Spanned<RawCount>>,
    pub max_concurrency: Option<Spanned<RawCount>>,
    pub min_rtt_interval: Option<Spanned<RawDuration>>,
    pub request_count: Option<Spanned<RawCount>>,
    pub jitter: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    pub latency: Option<Spanned<RawDist>>,
    pub error_rate: Option<Spanned<f64>>,
    #[serde(default)]
    pub calls: Vec<Spanned<RawCall>>,
}

/// One entry of `calls`: either a call (`to`, ...) or a group (`parallel`). Both shapes
/// share one struct so that spans survive; validation decides which one it is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCall {
    pub to: Option<Spanned<String>>,
    pub policy: Option<Spanned<RawPolicyRef>>,
    pub probability: Option<Spanned<f64>>,
    pub optional: Option<Spanned<bool>>,
    pub parallel: Option<Spanned<Vec<Spanned<RawCall>>>>,
}

/// `policy = "name"` or `policy = { timeout = .., ... }`.
#[derive(Debug)]
pub enum RawPolicyRef {
    Name(String),
    Inline(Box<RawPolicy>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub timeout: Option<Spanned<RawDuration>>,
    pub deadline: Option<Spanned<RawDuration>>,
    pub deadline_propagation: Option<Spanned<bool>>,
    pub retry: Option<Spanned<RawRetry>>,
    pub hedging: Option<Spanned<RawHedging>>,
    pub retry_budget: Option<Spanned<RawRetryBudget>>,
    pub circuit_breaker: Option<Spanned<RawCircuitBreaker>>,
    pub bulkhead: Option<Spanned<RawBulkhead>>,
    pub adaptive_throttling: Option<Spanned<RawAdaptiveThrottling>>,
    pub admission_control: Option<Spanned<RawAdmissionControl>>,
    pub outlier_detection: Option<Spanned<RawOutlierDetection>>,
}

/// `outlier_detection = { ... }`: Envoy's names; percentages as whole numbers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutlierDetection {
    pub consecutive_5xx: Option<Spanned<RawCount>>,
    pub consecutive_gateway_failure: Option<Spanned<RawCount>>,
    pub enforcing_consecutive_5xx: Option<Spanned<RawCount>>,
    pub enforcing_consecutive_gateway_failure: Option<Spanned<RawCount>>,
    pub interval: Option<Spanned<RawDuration>>,
    pub base_ejection_time: Option<Spanned<RawDuration>>,
    pub max_ejection_time: Option<Spanned<RawDuration>>,
    pub max_ejection_percent: Option<Spanned<RawCount>>,
    pub success_rate_minimum_hosts: Option<Spanned<RawCount>>,
    pub success_rate_request_volume: Option<Spanned<RawCount>>,
    pub success_rate_stdev_factor: Option<Spanned<RawCount>>,
    pub enforcing_success_rate: Option<Spanned<RawCount>>,
    pub failure_percentage_threshold: Option<Spanned<RawCount>>,
    pub failure_percentage_minimum_hosts: Option<Spanned<RawCount>>,
    pub failure_percentage_request_volume: Option<Spanned<RawCount>>,
    pub enforcing_failure_percentage: Option<Spanned<RawCount>>,
    pub panic_threshold: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmissionControl {
    pub sampling_window: Option<Spanned<RawDuration>>,
    pub sr_threshold: Option<Spanned<f64>>,
    pub aggression: Option<Spanned<f64>>,
    pub rps_threshold: Option<Spanned<f64>>,
    pub max_rejection_probability: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdaptiveThrottling {
    pub k: Option<Spanned<f64>>,
    pub window: Option<Spanned<RawDuration>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetry {
    pub max_attempts: Option<Spanned<RawCount>>,
    pub backoff: Option<Spanned<String>>,
    pub base: Option<Spanned<RawDuration>>,
    pub multiplier: Option<Spanned<f64>>,
    pub max: Option<Spanned<RawDuration>>,
    pub jitter: Option<Spanned<String>>,
    pub on: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `hedging = { max_attempts, delay, non_fatal }`: gRFC A6's `hedgingPolicy`, snake_case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHedging {
    pub max_attempts: Option<Spanned<RawCount>>,
    pub delay: Option<Spanned<RawDuration>>,
    pub non_fatal: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetryBudget {
    pub kind: Option<Spanned<String>>,
    pub ratio: Option<Spanned<f64>>,
    pub min_concurrency: Option<Spanned<RawCount>>,
    pub capacity: Option<Spanned<f64>>,
    pub max_tokens: Option<Spanned<f64>>,
    pub token_ratio: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCircuitBreaker {
    pub window: Option<Spanned<String>>,
    pub size: Option<Spanned<RawCount>>,
    pub min_calls: Option<Spanned<RawCount>>,
    pub failure_rate: Option<Spanned<f64>>,
    pub slow_call_rate: Option<Spanned<f64>>,
    pub slow_call_duration: Option<Spanned<RawDuration>>,
    pub open_for: Option<Spanned<RawDuration>>,
    pub half_open_calls: Option<Spanned<RawCount>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBulkhead {
    pub max_concurrent: Option<Spanned<RawCount>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLoad {
    pub name: Option<Spanned<String>>,
    pub target: Option<Spanned<String>>,
    pub rate: Option<Spanned<f64>>,
    pub users: Option<Spanned<RawCount>>,
    pub arrival: Option<Spanned<String>>,
    pub profile: Option<Spanned<Vec<Spanned<RawProfileStep>>>>,
    pub policy: Option<Spanned<RawPolicyRef>>,
    pub think_time: Option<Spanned<RawDist>>,
    pub deadline_propagation: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfileStep {
    pub at: Option<Spanned<RawDuration>>,
    pub rate: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub kind: Option<Spanned<String>>,
    pub target: Option<Spanned<String>>,
    pub at: Option<Spanned<RawDuration>>,
    pub duration: Option<Spanned<RawDuration>>,
    pub factor: Option<Spanned<f64>>,
    pub add: Option<Spanned<RawDuration>>,
    pub rate: Option<Spanned<f64>>,
    pub instances: Option<Spanned<RawCount>>,
    pub max_unavailable: Option<Spanned<RawCount>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    pub p99: Option<Spanned<RawDuration>>,
    pub success_rate: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGates {
    pub max_slo_risk: Option<Spanned<f64>>,
    pub max_slo_risk_increase: Option<Spanned<f64>>,
    pub max_p99_increase: Option<Spanned<f64>>,
    pub max_metastable_risk: Option<Spanned<f64>>,
    pub max_metastable_risk_increase: Option<Spanned<f64>>,
}

/// A distribution: a bare duration string (a constant) or a `{ dist = .., ... }` table.
#[derive(Debug)]
pub enum RawDist {
    Constant(RawDuration),
    Table(Box<RawDistTable>),
}

/// Every parameter any distribution takes; which ones apply depends on `dist`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDistTable {
    pub dist: Option<Spanned<String>>,
    pub value: Option<Spanned<RawDuration>>,
    pub mean: Option<Spanned<RawDuration>>,
    pub median: Option<Spanned<RawDuration>>,
    pub p99: Option<Spanned<RawDuration>>,
    pub cv: Option<Spanned<f64>>,
    pub stddev: Option<Spanned<RawDuration>>,
    pub min: Option<Spanned<RawDuration>>,
    pub max: Option<Spanned<RawDuration>>,
    pub scale: Option<Spanned<RawDuration>>,
    pub shape: Option<Spanned<f64>>,
    pub alpha: Option<Spanned<f64>>,
    pub quantiles: Option<Spanned<IndexMap<Spanned<String>, Spanned<RawDuration>>>>,
}

/// A duration as written. Numbers are kept (not refused by serde) so that validation can
/// say that a unit is missing instead of "invalid type".
#[derive(Debug, Clone, PartialEq)]
pub enum RawDuration {
    Text(String),
    Number(f64),
}

/// A whole number as written: TOML integers, and floats such as `1e12` that
/// validation accepts when they are whole and in range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RawCount {
    Int(i64),
    Float(f64),
}

/// `queue = 64` or `queue = "unbounded"`.
#[derive(Debug, Clone, PartialEq)]
pub enum RawQueue {
    Count(RawCount),
    Text(String),
}

/// A scalar before it is given a meaning, with what the caller expected (for serde's
/// "invalid type" message).
enum Scalar {
    Int(i64),
    Float(f64),
    Text(String),
}

struct ScalarVisitor {
    expecting: &'static str,
    accept_text: bool,
}

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        // TOML integers are i64; a u64 only arrives from other formats. Keep it exact if
        // it fits, else as a float so range checks still see how big it is.
        Ok(i64::try_from(v).map_or(Scalar::Float(v as f64), Scalar::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        if self.accept_text {
            Ok(Scalar::Text(v.to_string()))
        } else {
            Err(E::invalid_type(de::Unexpected::Str(v), &self))
        }
    }
}

fn scalar<'de, D: Deserializer<'de>>(d: D, expecting: &'static str, accept_text: bool) -> Result<Scalar, D::Error> {
    d.deserialize_any(ScalarVisitor { expecting, accept_text })
}

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match scalar(d, "a duration such as \"250ms\"", true)? {
            Scalar::Text(s) => RawDuration::Text(s),
            Scalar::Int(i) => RawDuration::Number(i as f64),
            Scalar::Float(f) => RawDuration::Number(f),
        })
    }
}

impl<'de> Deserialize<'de> for RawCount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match scalar(d, "a whole number", false)? {
            Scalar::Int(i) => RawCount::Int(i),
            Scalar::Float(f) => RawCount::Float(f),
            // Refused by the visitor already; kept total for the compiler.
            Scalar::Text(_) => RawCount::Float(f64::NAN),
        })
    }
}

impl<'de> Deserialize<'de> for RawQueue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match scalar(d, "a whole number or \"unbounded\"", true)? {
            Scalar::Int(i) => RawQueue::Count(RawCount::Int(i)),
            Scalar::Float(f) => RawQueue::Count(RawCount::Float(f)),
            Scalar::Text(s) => RawQueue::Text(s),
        })
    }
}

/// Accepts a string (handed to `text`) or a table (deserialized as `T`), keeping the
/// table's inner spans because the map access is toml's own.
struct StringOrTable<T> {
    expecting: &'static str,
    marker: std::marker::PhantomData<T>,
}

enum Either<T> {
    Text(String),
    Int(i64),
    Float(f64),
    Table(T),
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for StringOrTable<T> {
    type Value = Either<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Either::Text(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Either::Int(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Either::Float(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Either::Table)
    }
}

fn string_or_table<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
    expecting: &'static str,
) -> Result<Either<T>, D::Error> {
    d.deserialize_any(StringOrTable { expecting, marker: std::marker::PhantomData })
}

impl<'de> Deserialize<'de> for RawDist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let expecting = "a duration such as \"5ms\" or a table such as { dist = \"exponential\", mean = \"5ms\" }";
        Ok(match string_or_table::<D, RawDistTable>(d, expecting)? {
            Either::Text(s) => RawDist::Constant(RawDuration::Text(s)),
            Either::Int(n) => RawDist::Constant(RawDuration::Number(n as f64)),
            Either::Float(n) => RawDist::Constant(RawDuration::Number(n)),
            Either::Table(t) => RawDist::Table(Box::new(t)),
        })
    }
}

impl<'de> Deserialize<'de> for RawPolicyRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let expecting = "a policy name or an inline policy table such as { timeout = \"1s\" }";
        match string_or_table::<D, RawPolicy>(d, expecting)? {
            Either::Text(s) => Ok(RawPolicyRef::Name(s)),
            Either::Table(t) => Ok(RawPolicyRef::Inline(Box::new(t))),
            Either::Int(n) => Err(de::Error::invalid_type(de::Unexpected::Signed(n), &expecting)),
            Either::Float(n) => Err(de::Error::invalid_type(de::Unexpected::Float(n), &expecting)),
        }
    }
}

/// Deserializes raw structs from a parsed document, so that a caller can build the
/// document first (for instance by merging a `--change` file over a base) and still get
/// errors with spans.
pub fn from_document(doc: Spanned<toml::de::DeTable<'_>>) -> Result<RawScenario, toml::de::Error> {
    RawScenario::deserialize(toml::de::Deserializer::from(doc))
}

// ---- strategy files (`stormcast rollout --strategy FILE`) -----------------------------

/// A rollout strategy file: one `[rollout]` table (see `model::rollout`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStrategyFile {
    pub rollout: Option<Spanned<RawRollout>>,
}

/// `[rollout]`: the service, its start, and either Flagger's keys (`interval`,
/// `step_weight`, `max_weight`, `step_weights`, `threshold`, `[[rollout.check]]`) or
/// Argo Rollouts' (`steps`, `[rollout.analysis.NAME]`, `background`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRollout {
    pub service: Option<Spanned<String>>,
    pub start: Option<Spanned<RawDuration>>,
    pub interval: Option<Spanned<RawDuration>>,
    pub step_weight: Option<Spanned<RawCount>>,
    pub max_weight: Option<Spanned<RawCount>>,
    pub step_weights: Option<Spanned<Vec<Spanned<RawCount>>>>,
    pub threshold: Option<Spanned<RawCount>>,
    #[serde(default)]
    pub check: Vec<Spanned<RawCheck>>,
    pub steps: Option<Spanned<Vec<Spanned<RawStep>>>>,
    #[serde(default)]
    pub analysis: Table<RawAnalysis>,
    pub background: Option<Spanned<RawBackground>>,
    pub expect: Option<Spanned<RawRolloutExpect>>,
}

/// `[[rollout.check]]`: a Flagger metric check. `min`/`max` are numbers for rates and
/// throughput, durations for latencies, so they are kept as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    pub name: Option<Spanned<String>>,
    pub metric: Option<Spanned<String>>,
    pub min: Option<Spanned<toml::Value>>,
    pub max: Option<Spanned<toml::Value>>,
    pub window: Option<Spanned<RawDuration>>,
}

/// One of Argo's `steps`: exactly one of its keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub set_weight: Option<Spanned<RawCount>>,
    /// `"30s"`, `{ duration = "30s" }`, or `{}` (until a person resumes it).
    pub pause: Option<Spanned<toml::Value>>,
    pub analysis: Option<Spanned<String>>,
}

/// `[rollout.analysis.NAME]`: defaults for its metrics, and the metrics.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAnalysis {
    pub interval: Option<Spanned<RawDuration>>,
    pub count: Option<Spanned<RawCount>>,
    pub failure_limit: Option<Spanned<RawCount>>,
    pub inconclusive_limit: Option<Spanned<RawCount>>,
    pub initial_delay: Option<Spanned<RawDuration>>,
    #[serde(default)]
    pub metric: Vec<Spanned<RawAnalysisMetric>>,
}

/// `[[rollout.analysis.NAME.metric]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAnalysisMetric {
    pub name: Option<Spanned<String>>,
    pub metric: Option<Spanned<String>>,
    pub min: Option<Spanned<toml::Value>>,
    pub max: Option<Spanned<toml::Value>>,
    pub fail_below: Option<Spanned<toml::Value>>,
    pub fail_above: Option<Spanned<toml::Value>>,
    pub window: Option<Spanned<RawDuration>>,
    pub interval: Option<Spanned<RawDuration>>,
    pub count: Option<Spanned<RawCount>>,
    pub failure_limit: Option<Spanned<RawCount>>,
    pub inconclusive_limit: Option<Spanned<RawCount>>,
    pub initial_delay: Option<Spanned<RawDuration>>,
}

/// `background = { analysis = "NAME", starting_step = N }`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackground {
    pub analysis: Option<Spanned<String>>,
    pub starting_step: Option<Spanned<RawCount>>,
}

/// `[rollout.expect]`: shares of seeds, each in [0, 1].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRolloutExpect {
    pub rolled_back_at_least: Option<Spanned<f64>>,
    pub promoted_at_least: Option<Spanned<f64>>,
    pub unfinished_at_most: Option<Spanned<f64>>,
    pub caught_before_breach_at_least: Option<Spanned<f64>>,
}

/// Stage 2 for a strategy file.
pub fn strategy_from_document(doc: Spanned<toml::de::DeTable<'_>>) -> Result<RawStrategyFile, toml::de::Error> {
    RawStrategyFile::deserialize(toml::de::Deserializer::from(doc))
}

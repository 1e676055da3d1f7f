//! A rollout strategy: how a new version of one service is released (a canary whose
//! traffic weight grows while an analysis watches it), as Flagger and Argo Rollouts do
//! it. Only validated data lives here: `scenario::strategy` builds it from a strategy
//! file (TOML, or a Flagger `Canary` / Argo `Rollout` YAML), `rollout::controller`
//! runs it, `sim` splits the traffic.

use crate::engine::SimDuration;

/// A validated strategy.
#[derive(Clone, Debug, PartialEq)]
pub struct Strategy {
    /// Where it came from (for messages and outputs).
    pub source: String,
    /// The rolled-out service, by name (resolved against the scenario when combined).
    pub service: String,
    /// When the rollout begins, from the start of the run.
    pub start: SimDuration,
    pub style: Style,
    /// `[rollout.expect]`: what the user asserts across seeds (decides the exit code).
    pub expect: RolloutExpect,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Style {
    Flagger(Flagger),
    Argo(Argo),
}

impl Style {
    /// `"flagger"` or `"argo"`, as outputs name it.
    pub fn name(&self) -> &'static str {
        match self {
            Style::Flagger(_) => "flagger",
            Style::Argo(_) => "argo",
        }
    }
}

/// Flagger's canary analysis (`spec.analysis`): every `interval` the checks run over
/// their windows; a pass advances the weight one step, a failure counts towards
/// `threshold`.
#[derive(Clone, Debug, PartialEq)]
pub struct Flagger {
    pub interval: SimDuration,
    /// The canary weights in order (percent), the last one at or above `max_weight`: what
    /// `step_weight`/`max_weight` or `step_weights` produce, computed as Flagger does
    /// (`scheduler.go`: `nextStepWeight`), capped at 100.
    pub weights: Vec<u32>,
    /// Failed checks (counted over the whole analysis, not consecutively) that roll back.
    pub threshold: u32,
    pub checks: Vec<Check>,
}

/// Flagger's defaults (`pkg/apis/flagger/v1beta1/canary.go`), for every strategy reader:
/// an analysis every 60 s (never below 10 s), one failed check rolls back.
impl Flagger {
    pub const DEFAULT_INTERVAL: SimDuration = SimDuration::from_secs(60);
    pub const MIN_INTERVAL: SimDuration = SimDuration::from_secs(10);
    pub const DEFAULT_THRESHOLD: u32 = 1;

    /// The weights Flagger steps through with `step_weight` and `max_weight`: it adds
    /// the step while the weight is below the maximum, capped at 100, so a maximum that
    /// is not a multiple of the step is overshot (Flagger issue #189).
    pub fn step_weights(step: u32, max: u32) -> Vec<u32> {
        let mut weights = Vec::new();
        let mut w = 0u32;
        while w < max && step > 0 {
            w = (w + step).min(100);
            weights.push(w);
        }
        weights
    }

    /// The weights Flagger steps through with an explicit `stepWeights` list: its entries
    /// capped at 100, up to the first one at or above the maximum (its last entry).
    pub fn listed_weights(list: &[u32]) -> Vec<u32> {
        let max = list.last().copied().unwrap_or(0).min(100);
        let mut weights = Vec::new();
        for &w in list {
            let w = w.min(100);
            weights.push(w);
            if w >= max {
                break;
            }
        }
        weights
    }
}

/// One of Flagger's metric checks (`metrics[]` with a `thresholdRange`).
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// The name it is reported under (the metric's name in a YAML file).
    pub name: String,
    pub metric: Metric,
    /// Passes when the value is at least this.
    pub min: Option<f64>,
    /// Passes when the value is at most this.
    pub max: Option<f64>,
    /// The window the value is measured over, ending at the check (`metrics[].interval`,
    /// default 1 m as in Flagger).
    pub window: SimDuration,
}

/// The window a check or measurement covers when none is given: Flagger's metric
/// interval (`MetricInterval = "1m"`), and Argo's for a metric without an interval.
pub const DEFAULT_WINDOW: SimDuration = SimDuration::from_secs(60);

/// What an analysis measures, over the rolled-out version's traffic in a window. Rates
/// are ratios in [0, 1]; latencies are in milliseconds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Metric {
    SuccessRate,
    ErrorRate,
    /// A latency percentile (50, 90, 95, 99 or 99.9), in milliseconds.
    Latency(Percentile),
    /// Requests per second served.
    Throughput,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Percentile {
    P50,
    P90,
    P95,
    P99,
    P999,
}

impl Percentile {
    pub fn quantile(self) -> f64 {
        match self {
            Percentile::P50 => 0.50,
            Percentile::P90 => 0.90,
            Percentile::P95 => 0.95,
            Percentile::P99 => 0.99,
            Percentile::P999 => 0.999,
        }
    }
}

impl Metric {
    /// Every metric name a strategy file accepts, with what it means.
    pub const NAMES: [(&'static str, Metric); 8] = [
        ("success_rate", Metric::SuccessRate),
        ("error_rate", Metric::ErrorRate),
        ("p50", Metric::Latency(Percentile::P50)),
        ("p90", Metric::Latency(Percentile::P90)),
        ("p95", Metric::Latency(Percentile::P95)),
        ("p99", Metric::Latency(Percentile::P99)),
        ("p999", Metric::Latency(Percentile::P999)),
        ("throughput", Metric::Throughput),
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(_, m)| *m == self).map_or("?", |(n, _)| n)
    }

    /// A latency: its bounds are durations in files, milliseconds here.
    pub fn is_latency(self) -> bool {
        matches!(self, Metric::Latency(_))
    }
}

/// Argo Rollouts' canary strategy (`spec.strategy.canary`): steps run in order, named
/// analyses measure the canary, and a background analysis may run throughout.
#[derive(Clone, Debug, PartialEq)]
pub struct Argo {
    pub steps: Vec<ArgoStep>,
    pub analyses: Vec<Analysis>,
    pub background: Option<Background>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ArgoStep {
    /// `setWeight`: the canary's share of traffic, percent, from now on.
    SetWeight(u32),
    /// `pause`: for a duration, or (`None`) until a person resumes it, which in a
    /// simulation never happens.
    Pause(Option<SimDuration>),
    /// `analysis`: an inline analysis (index into `Argo::analyses`); the rollout waits
    /// for it, and aborts if it fails.
    Analysis(usize),
}

/// A background analysis (`strategy.canary.analysis`), started when the step numbered
/// `starting_step` (0-based) begins, stopped when the rollout ends.
#[derive(Clone, Debug, PartialEq)]
pub struct Background {
    pub analysis: usize,
    pub starting_step: usize,
}

/// A named analysis (an `AnalysisTemplate`): its metrics are measured independently.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    pub name: String,
    pub metrics: Vec<AnalysisMetric>,
}

/// One metric of an analysis, with Argo's measurement rules.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalysisMetric {
    pub name: String,
    pub metric: Metric,
    /// Between measurements; `None` with no `count` means one measurement.
    pub interval: Option<SimDuration>,
    /// How many measurements; `None` with an interval means until the analysis is
    /// stopped (a background analysis).
    pub count: Option<u32>,
    pub initial_delay: SimDuration,
    /// The metric fails when failed measurements exceed this (default 0).
    pub failure_limit: u32,
    /// The metric is inconclusive when inconclusive measurements exceed this (default 0).
    pub inconclusive_limit: u32,
    /// `successCondition`: the measurement is successful when it holds.
    pub success: Option<Condition>,
    /// `failureCondition`: the measurement is failed when it holds.
    pub failure: Option<FailureCondition>,
    /// The window each measurement covers, ending at it: the interval, else 1 m.
    pub window: SimDuration,
}

impl AnalysisMetric {
    /// Measurements this metric takes: `count`, one with neither count nor interval,
    /// `None` (until stopped) with an interval only (Argo's `EffectiveCount`).
    pub fn effective_count(&self) -> Option<u32> {
        match (self.count, self.interval) {
            (Some(n), _) => Some(n),
            (None, None) => Some(1),
            (None, Some(_)) => None,
        }
    }
}

/// A condition on a value: within [`min`, `max`] (either bound may be absent).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Condition {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Condition {
    pub fn holds(&self, value: f64) -> bool {
        self.min.is_none_or(|m| value >= m) && self.max.is_none_or(|m| value <= m)
    }
}

/// A failure condition: the value is below `below` or above `above` (`fail_below`,
/// `fail_above` in files).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct FailureCondition {
    pub below: Option<f64>,
    pub above: Option<f64>,
}

impl FailureCondition {
    pub fn holds(&self, value: f64) -> bool {
        self.below.is_some_and(|b| value < b) || self.above.is_some_and(|a| value > a)
    }
}

/// A validated rollout, resolved against a scenario (`rollout::combine`): the canary is
/// a service of its own, appended to the scenario, to which a share of the stable
/// service's traffic is sent.
#[derive(Clone, Debug, PartialEq)]
pub struct RolloutPlan {
    pub strategy: Strategy,
    /// The rolled-out service (its stable version).
    pub stable: usize,
    /// The canary: the proposed version of the service.
    pub canary: usize,
    /// For each endpoint of the stable service, the canary's endpoint of the same name
    /// (`None`: the proposed version has no such endpoint and nobody calls it).
    pub endpoints: Vec<Option<usize>>,
}

/// `[rollout.expect]`: shares of seeds the user asserts, each in [0, 1].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RolloutExpect {
    pub rolled_back_at_least: Option<f64>,
    pub promoted_at_least: Option<f64>,
    pub unfinished_at_most: Option<f64>,
    /// Per load: the share of seeds rolled back before that load's SLO was breached.
    pub caught_before_breach_at_least: Option<f64>,
}

impl RolloutExpect {
    pub fn is_empty(&self) -> bool {
        *self == RolloutExpect::default()
    }
}

//! The Kubernetes Horizontal Pod Autoscaler (autoscaling/v2) on a service
//! (`[services.NAME.autoscaling]`): its config and its algorithm as a pure state
//! machine driven by simulated time, reproduced from kube-controller-manager's
//! `pkg/controller/podautoscaler` (`horizontal.go`, `replica_calculator.go`):
//!
//! 1. Every `sync_period` the controller reads each pod's metric. Pods not ready (still
//!    starting: `startup`) are *unready*; ready pods without a sample yet (ready for no
//!    time in the window) are *missing*. The usage ratio is the ready pods' mean metric
//!    over the target.
//! 2. Without unready or missing pods: no change if `|1 - ratio| <= tolerance`, else
//!    `ceil(ratio x ready pods)`. Otherwise the ratio is computed again with missing pods
//!    at the target (scale-down; utilization: `max(100%, target)`) or at 0 (scale-up),
//!    and, on a scale-up, unready pods at 0; no change if the new ratio is within
//!    tolerance or crosses 1 the other way, else `ceil(new ratio x pods counted)` unless
//!    that goes against the direction.
//! 3. Below `min_replicas` or above `max_replicas` the count is brought inside first.
//! 4. **Stabilization**: the recommendation is held between the smallest recommendation
//!    of the scale-up window and the largest of the scale-down window (each including the
//!    one just made; windows exclude their start). When the controller starts with a
//!    scale-down window, the current count is its first recommendation.
//! 5. **Rate policies**: a scale-up may add at most what the selected policy allows per
//!    its period (`pods`: the replicas at the period's start plus `value`; `percent`:
//!    `ceil(start x (1 + value/100))`; `select_policy = "max"` takes the most permissive,
//!    `"min"` the least, `"disabled"` forbids), never above `max_replicas`; a scale-down
//!    likewise (`floor(start x (1 - value/100))`), never below `min_replicas`. "Replicas at
//!    the period's start" undoes the scale events recorded within the policy's period.
//!
//! The defaults are those autoscaling/v2 fills in when `behavior` is written: scale-up
//! without stabilization, `max` of 4 pods or 100% per 15 s; scale-down with a 300 s
//! window, 100% per 15 s. (An HPA with no `behavior` at all takes an older path, doubling
//! at most per sync with a minimum of 4; stormcast always uses the behavior path.)

use crate::engine::{SimDuration, SimTime};

/// `[services.NAME.autoscaling]`, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Autoscaling {
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub target: ScaleTarget,
    /// The controller's period (`--horizontal-pod-autoscaler-sync-period`, 15 s).
    pub sync_period: SimDuration,
    /// No change while the usage ratio is within this of 1 (0.1).
    pub tolerance: f64,
    pub scale_up: ScalingRules,
    pub scale_down: ScalingRules,
    /// From a scale-up to the new replica taking traffic (container start and readiness):
    /// not an HPA field, but it decides whether scaling is in time.
    pub startup: SimDuration,
}

/// What the HPA keeps at its target, per ready replica, averaged over the last sync
/// period.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum ScaleTarget {
    /// Busy share of its workers (a `Resource` metric's `averageUtilization`, as a share).
    Utilization(f64),
    /// Requests arriving per second (a `Pods` metric's `averageValue`).
    Rate(f64),
    /// Requests in it, queued or in service (a `Pods` metric's `averageValue`).
    Concurrency(f64),
}

impl ScaleTarget {
    pub fn value(self) -> f64 {
        match self {
            ScaleTarget::Utilization(v) | ScaleTarget::Rate(v) | ScaleTarget::Concurrency(v) => v,
        }
    }
    /// What a missing pod counts as on a scale-down: `max(100%, target)` of its request
    /// for utilization, the target for other metrics.
    fn missing_on_scale_down(self) -> f64 {
        match self {
            ScaleTarget::Utilization(v) => v.max(1.0),
            ScaleTarget::Rate(v) | ScaleTarget::Concurrency(v) => v,
        }
    }
}

/// `behavior.scale_up` or `behavior.scale_down` (`HPAScalingRules`).
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingRules {
    pub stabilization_window: SimDuration,
    pub select_policy: Select,
    pub policies: Vec<ScalingPolicy>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Select {
    Max,
    Min,
    Disabled,
}

impl Select {
    pub const NAMES: [&'static str; 3] = ["max", "min", "disabled"];
}

/// One rate policy: at most `value` pods, or `value` percent, per `period`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ScalingPolicy {
    pub kind: PolicyKind,
    pub value: u32,
    pub period: SimDuration,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    Pods,
    Percent,
}

impl PolicyKind {
    pub const NAMES: [&'static str; 2] = ["pods", "percent"];
}

impl ScalingRules {
    /// autoscaling/v2's scale-up default: no window, the larger of 4 pods and 100% per 15 s.
    pub fn default_up() -> ScalingRules {
        let period = SimDuration::from_secs(15);
        ScalingRules {
            stabilization_window: SimDuration::ZERO,
            select_policy: Select::Max,
            policies: vec![
                ScalingPolicy { kind: PolicyKind::Percent, value: 100, period },
                ScalingPolicy { kind: PolicyKind::Pods, value: 4, period },
            ],
        }
    }
    /// autoscaling/v2's scale-down default: a 300 s window, 100% per 15 s.
    pub fn default_down() -> ScalingRules {
        ScalingRules {
            stabilization_window: SimDuration::from_secs(300),
            select_policy: Select::Max,
            policies: vec![ScalingPolicy { kind: PolicyKind::Percent, value: 100, period: SimDuration::from_secs(15) }],
        }
    }
    fn longest_period(&self) -> SimDuration {
        self.policies.iter().map(|p| p.period).max().unwrap_or(SimDuration::ZERO)
    }
}

/// One pod as the controller sees it at a sync.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Pod {
    /// Started, not yet ready.
    Unready,
    /// Ready, with no sample in the window yet.
    Missing,
    /// Ready, with its metric over the window.
    Ready(f64),
}

/// Step 2 of the module docs (`ReplicaCalculator`): the replica count the metric asks for,
/// `current` being the desired count now (starting replicas included); `current` itself
/// when nothing should change or no ready pod has a sample.
pub fn replicas_for_metric(target: ScaleTarget, tolerance: f64, current: u32, pods: &[Pod]) -> u32 {
    let ready: Vec<f64> = pods.iter().filter_map(|p| if let Pod::Ready(v) = p { Some(*v) } else { None }).collect();
    if ready.is_empty() {
        return current;
    }
    let goal = target.value();
    let ratio = ready.iter().sum::<f64>() / (goal * ready.len() as f64);
    let unready = pods.iter().filter(|p| **p == Pod::Unready).count();
    let missing = pods.iter().filter(|p| **p == Pod::Missing).count();
    let scale_up_with_unready = unready > 0 && ratio > 1.0;
    if !scale_up_with_unready && missing == 0 {
        if (1.0 - ratio).abs() <= tolerance {
            return current;
        }
        return (ratio * ready.len() as f64).ceil() as u32;
    }
    let mut sum: f64 = ready.iter().sum();
    let mut counted = ready.len();
    if missing > 0 && ratio < 1.0 {
        sum += missing as f64 * target.missing_on_scale_down();
        counted += missing;
    } else if missing > 0 && ratio > 1.0 {
        counted += missing;
    }
    if scale_up_with_unready {
        counted += unready;
    }
    let new_ratio = sum / (goal * counted as f64);
    if (1.0 - new_ratio).abs() <= tolerance || (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0) {
        return current;
    }
    let replicas = (new_ratio * counted as f64).ceil() as u32;
    if (new_ratio < 1.0 && replicas > current) || (new_ratio > 1.0 && replicas < current) {
        return current;
    }
    replicas
}

/// One HPA's memory: its recent recommendations and scale events.
#[derive(Clone, Debug, Default)]
pub struct Hpa {
    recommendations: Vec<(SimTime, u32)>,
    /// `(when, replicas added)` and `(when, replicas removed)`.
    up_events: Vec<(SimTime, u32)>,
    down_events: Vec<(SimTime, u32)>,
    started: bool,
}

impl Hpa {
    /// One sync at `now`: the desired replica count, `current` being the desired count
    /// before it (starting replicas included) and `pods` what the controller reads.
    pub fn sync(&mut self, cfg: &Autoscaling, now: SimTime, current: u32, pods: &[Pod]) -> u32 {
        if !self.started {
            self.started = true;
            if cfg.scale_down.stabilization_window > SimDuration::ZERO {
                self.recommendations.push((now, current));
            }
        }
        let desired = if current > cfg.max_replicas {
            cfg.max_replicas
        } else if current < cfg.min_replicas {
            cfg.min_replicas
        } else {
            let wanted = replicas_for_metric(cfg.target, cfg.tolerance, current, pods);
            let stabilized = self.stabilize(cfg, now, current, wanted);
            self.limit_rate(cfg, now, current, stabilized)
        };
        self.record(cfg, now, current, desired);
        desired
    }

    /// Step 4: hold the recommendation within the windows' extremes, then remember it.
    fn stabilize(&mut self, cfg: &Autoscaling, now: SimTime, current: u32, wanted: u32) -> u32 {
        let (up_window, down_window) = (cfg.scale_up.stabilization_window, cfg.scale_down.stabilization_window);
        let (mut up, mut down) = (wanted, wanted);
        for &(t, r) in &self.recommendations {
            if within(now, t, up_window) {
                up = up.min(r);
            }
            if within(now, t, down_window) {
                down = down.max(r);
            }
        }
        // Recommendations older than both windows are of no further use.
        self.recommendations.retain(|&(t, _)| within(now, t, up_window) || within(now, t, down_window));
        self.recommendations.push((now, wanted));
        current.max(up).min(down)
    }

    /// Step 5: the rate policies and the replica bounds.
    fn limit_rate(&self, cfg: &Autoscaling, now: SimTime, current: u32, desired: u32) -> u32 {
        if desired > current {
            let limit = self.period_limit(&cfg.scale_up, now, current, true).max(current);
            desired.min(limit.min(cfg.max_replicas))
        } else if desired < current {
            let limit = self.period_limit(&cfg.scale_down, now, current, false).min(current);
            desired.max(limit.max(cfg.min_replicas))
        } else {
            desired
        }
    }

    /// The most (`up`) or fewest replicas `rules` allow now.
    fn period_limit(&self, rules: &ScalingRules, now: SimTime, current: u32, up: bool) -> u32 {
        if rules.select_policy == Select::Disabled {
            return current;
        }
        let proposals = rules.policies.iter().map(|p| {
            let changed = |events: &[(SimTime, u32)]| -> i64 {
                events.iter().filter(|(t, _)| within(now, *t, p.period)).map(|(_, n)| i64::from(*n)).sum()
            };
            let start = i64::from(current) - changed(&self.up_events) + changed(&self.down_events);
            let value = i64::from(p.value);
            let proposed = match (p.kind, up) {
                (PolicyKind::Pods, true) => start + value,
                (PolicyKind::Pods, false) => start - value,
                (PolicyKind::Percent, true) => (start as f64 * (1.0 + value as f64 / 100.0)).ceil() as i64,
                (PolicyKind::Percent, false) => (start as f64 * (1.0 - value as f64 / 100.0)) as i64,
            };
            proposed.max(0)
        });
        // `max` picks the largest change: the highest limit up, the lowest down; `min`
        // the smallest.
        let highest = (rules.select_policy == Select::Max) == up;
        let limit = if highest { proposals.max() } else { proposals.min() };
        limit.map_or(current, |l| u32::try_from(l).unwrap_or(u32::MAX))
    }

    /// Remembers a scale event; forgets events older than every policy's period.
    fn record(&mut self, cfg: &Autoscaling, now: SimTime, current: u32, desired: u32) {
        let (events, rules, change) = match desired.cmp(&current) {
            std::cmp::Ordering::Greater => (&mut self.up_events, &cfg.scale_up, desired - current),
            std::cmp::Ordering::Less => (&mut self.down_events, &cfg.scale_down, current - desired),
            std::cmp::Ordering::Equal => return,
        };
        let longest = rules.longest_period();
        events.retain(|(t, _)| within(now, *t, longest));
        events.push((now, change));
    }
}

/// Whether `t` is within the `window` before `now`: after `now - window`, strictly, as
/// the controller's `timestamp.After(cutoff)` (a zero window holds nothing earlier).
fn within(now: SimTime, t: SimTime, window: SimDuration) -> bool {
    now.since(t) < window
}

#[cfg(test)]
#[path = "autoscaling_tests.rs"]
mod tests;

//! What is known to be wrong with a strategy before running it, from the scenario's
//! estimated rates: checks whose windows see too few canary requests to mean anything
//! (the hasty trap: a p99 over 100 requests is nearly their maximum), and runs too
//! short for the rollout to be decided.

use crate::engine::SimDuration;
use crate::model::Scenario;
use crate::model::graph::{CallGraph, Rates};
use crate::model::rollout::{ArgoStep, Metric, RolloutPlan, Style};

/// Samples a nearest-rank percentile q needs to have at least 10 values above it.
fn samples_for(q: f64) -> f64 {
    10.0 / (1.0 - q)
}

/// Warnings about `plan` in the combined scenario `sc`, as sentences.
pub fn lint(sc: &Scenario, plan: &RolloutPlan) -> Vec<String> {
    let (rates, _) = CallGraph::new(sc).rates(sc, Rates::Start);
    let rate: f64 = rates[plan.stable].iter().sum();
    let mut out = Vec::new();
    let mut window_check = |what: &str, metric: Metric, bound: Option<f64>, window: SimDuration, weight: u32| {
        let n = rate * f64::from(weight) / 100.0 * window.as_secs_f64();
        let w = window.as_secs_f64();
        match metric {
            Metric::Latency(p) if n < samples_for(p.quantile()) => {
                let needed = samples_for(p.quantile());
                let wider = needed / (rate * f64::from(weight) / 100.0).max(f64::MIN_POSITIVE);
                out.push(format!(
                    "{what}: a {} over about {n:.0} canary requests ({w} s at {weight}% of {rate:.0}/s) is decided by its few largest values, so it fails healthy canaries by chance; {needed:.0} requests leave 10 above it: a window of at least {wider:.0} s, or a larger first weight",
                    metric.name()
                ));
            }
            Metric::SuccessRate | Metric::ErrorRate => {
                let allowed = match (metric, bound) {
                    (Metric::SuccessRate, Some(min)) => n * (1.0 - min),
                    (Metric::ErrorRate, Some(max)) => n * max,
                    _ => f64::INFINITY,
                };
                if allowed < 1.0 && n > 0.0 {
                    out.push(format!(
                        "{what}: about {n:.0} canary requests in {w} s at {weight}%: one failed request fails the check"
                    ));
                }
            }
            _ => {}
        }
    };
    let horizon = sc.simulation.duration.as_secs_f64();
    let start = plan.strategy.start.as_secs_f64();
    match &plan.strategy.style {
        Style::Flagger(f) => {
            let first = f.weights.first().copied().unwrap_or(0);
            for c in &f.checks {
                let bound = if c.metric == Metric::SuccessRate { c.min } else { c.max };
                window_check(&format!("check `{}`", c.name), c.metric, bound, c.window, first);
            }
            let earliest = start + f.interval.as_secs_f64() * (f.weights.len() + 1) as f64;
            if earliest > horizon {
                out.push(format!(
                    "the run ends at {horizon} s, before the earliest promotion at {earliest} s: a canary that passes every check ends unfinished; run longer (--set simulation.duration=\"{:.0}s\")",
                    earliest + f.interval.as_secs_f64()
                ));
            }
        }
        Style::Argo(a) => {
            let mut weight = 0;
            for step in &a.steps {
                match step {
                    ArgoStep::SetWeight(w) => weight = *w,
                    ArgoStep::Analysis(i) => {
                        for m in &a.analyses[*i].metrics {
                            let bound = if m.metric == Metric::SuccessRate {
                                m.success.and_then(|c| c.min)
                            } else {
                                m.success.and_then(|c| c.max)
                            };
                            let what = format!("analysis `{}` metric `{}`", a.analyses[*i].name, m.name);
                            window_check(&what, m.metric, bound, m.window, weight);
                        }
                    }
                    ArgoStep::Pause(_) => {}
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn plan_of(strategy: &str) -> (Scenario, Vec<String>) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let base = crate::scenario::load_file(&root.join("scenarios/canary.toml")).unwrap();
        let s = crate::scenario::strategy::load_strategy_file(&root.join(strategy)).unwrap();
        let sc = crate::rollout::combine(&base, &base, &s).unwrap();
        let warnings = lint(&sc, sc.rollout.as_deref().unwrap());
        (sc, warnings)
    }

    /// The hasty strategy's p99 over 5 s at 10% of 200/s sees about 100 requests (1,000
    /// needed); the strict one's 60 s window sees 1,200 and is not flagged.
    #[test]
    fn the_hasty_window_is_flagged_and_the_strict_one_is_not() {
        let (_, hasty) = plan_of("scenarios/rollouts/hasty.toml");
        assert_eq!(hasty.len(), 1, "{hasty:?}");
        assert!(hasty[0].contains("about 100 canary requests") && hasty[0].contains("at least 50 s"), "{}", hasty[0]);
        let (_, strict) = plan_of("scenarios/rollouts/strict.toml");
        assert!(strict.is_empty(), "{strict:?}");
    }

    /// strict.toml needs until 60 + 60 x 6 = 420 s to promote: a 300 s run is too short.
    #[test]
    fn a_run_too_short_to_decide_is_flagged() {
        let (mut sc, _) = plan_of("scenarios/rollouts/strict.toml");
        sc.simulation.duration = SimDuration::from_secs(300);
        let warnings = lint(&sc, sc.rollout.as_deref().unwrap());
        assert!(warnings.iter().any(|w| w.contains("earliest promotion at 420 s")), "{warnings:?}");
    }
}

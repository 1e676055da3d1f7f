//! A Flagger `Canary` (flagger.app/v1beta1) and its `MetricTemplate`s -> `Flagger`, with
//! Flagger's defaults and units (`pkg/apis/flagger/v1beta1/canary.go`,
//! `pkg/controller/scheduler.go`, `scheduler_metrics.go`).

use super::node::{At, Refusal};
use super::query::Measured;
use super::{Document, duration_at, read_query};
use crate::engine::SimDuration;
use crate::model::rollout::{Check, DEFAULT_WINDOW, Flagger};
use crate::scenario::error::{Issue, suggest};

const fn refused(why: &'static str, help: &'static str) -> Option<Refusal> {
    Some(Refusal { why, help })
}

const NOT_A_CANARY: &str = "stormcast simulates a canary whose weight grows in steps; \
     an A/B or blue/green analysis is not one";

/// The keys of `spec.analysis`: read, ignored (they do not change the decision:
/// readiness of pods, alerting, sticky sessions), refused.
const ANALYSIS_KEYS: [(&str, Option<Refusal>); 16] = [
    ("interval", None),
    ("threshold", None),
    ("maxWeight", None),
    ("stepWeight", None),
    ("stepWeights", None),
    ("metrics", None),
    ("webhooks", None),
    ("alerts", None),
    ("primaryReadyThreshold", None),
    ("canaryReadyThreshold", None),
    ("sessionAffinity", None),
    ("iterations", refused("`iterations` runs an A/B or blue/green analysis at a fixed weight", NOT_A_CANARY)),
    ("match", refused("`match` routes requests to the canary by header or cookie (A/B testing)", NOT_A_CANARY)),
    (
        "mirror",
        refused("`mirror` sends copies of requests to the canary (blue/green with traffic mirroring)", NOT_A_CANARY),
    ),
    ("mirrorWeight", refused("`mirrorWeight` mirrors traffic to the canary", NOT_A_CANARY)),
    (
        "stepWeightPromotion",
        refused(
            "`stepWeightPromotion` shifts traffic to the promoted primary in steps",
            "stormcast promotes in one step, as Flagger does without it; remove it from the copy given to stormcast \
             if that is close enough",
        ),
    ),
];

const METRIC_KEYS: [(&str, Option<Refusal>); 7] = [
    ("name", None),
    ("interval", None),
    ("thresholdRange", None),
    ("threshold", None),
    ("templateRef", None),
    ("templateVariables", None),
    ("query", None),
];

/// Webhook types that gate the analysis (`type` defaults to `rollout`): a failing one
/// halts or rolls back the canary, which a simulation that does not run them cannot know.
const GATING_WEBHOOKS: [&str; 5] =
    ["confirm-rollout", "confirm-traffic-increase", "confirm-promotion", "pre-rollout", "rollout"];
/// Webhooks that only notify or clean up: they never change the decision.
const NOTIFYING_WEBHOOKS: [&str; 3] = ["event", "post-rollout", "rollback"];

/// The rolled-out service (`spec.targetRef.name`) and its analysis.
pub(super) fn flagger(canary: &Document, documents: &[Document], issues: &mut Vec<Issue>) -> Option<(String, Flagger)> {
    let spec = canary.spec(issues)?;
    let service = match spec.get("targetRef").and_then(|t| t.get("name")) {
        Some(name) => name.str(issues),
        None => {
            issues.push(spec.key_issue("missing `targetRef.name`: the workload being rolled out"));
            None
        }
    };
    if let Some(skip) = spec.get("skipAnalysis").filter(At::is_set) {
        issues.push(
            skip.key_issue("not supported: Flagger promotes without any analysis").with_help(
                "there is nothing to simulate; remove it (or set it to false) in the copy given to stormcast",
            ),
        );
    }
    let Some(analysis) = spec.get("analysis").or_else(|| spec.get("canaryAnalysis")) else {
        issues.push(spec.key_issue("missing `analysis`: the canary analysis to simulate"));
        return None;
    };
    if !analysis.is_map(issues) {
        return None;
    }
    analysis.check_keys(&ANALYSIS_KEYS, issues);
    let interval = match analysis.get("interval") {
        Some(i) => duration_at(&i, issues)?.max(Flagger::MIN_INTERVAL),
        None => Flagger::DEFAULT_INTERVAL,
    };
    // Go's zero value, or less, is Flagger's default of 1 (`GetAnalysisThreshold`).
    let threshold = match analysis.get("threshold") {
        Some(t) => t.int_in(i64::from(i32::MIN), 1_000_000, issues)?.max(1) as u32,
        None => Flagger::DEFAULT_THRESHOLD,
    };
    let weights = weights(&analysis, issues);
    if let Some(hooks) = analysis.get("webhooks") {
        webhooks(&hooks, issues);
    }
    let checks = checks(&analysis, documents, issues);
    Some((service?.to_string(), Flagger { interval, weights: weights?, threshold, checks: checks? }))
}

/// `stepWeight` up to `maxWeight`, or `stepWeights`. Zero means unset, as in Go.
fn weights(analysis: &At, issues: &mut Vec<Issue>) -> Option<Vec<u32>> {
    let step = match analysis.get("stepWeight") {
        Some(s) => s.int_in(0, 100, issues)? as u32,
        None => 0,
    };
    let list = analysis.get("stepWeights").filter(At::is_set);
    match (step, list) {
        (1.., Some(list)) => {
            issues.push(
                list.key_issue("given with `stepWeight`: give one or the other").with_help(
                    "Flagger steps by `stepWeight` but stops at the last of `stepWeights`; say which you mean",
                ),
            );
            None
        }
        (1.., None) => {
            // Flagger's default maximum is 100; it ignores `maxWeight` with `stepWeights`.
            let max = match analysis.get("maxWeight") {
                Some(m) => m.int_in(0, 100, issues)? as u32,
                None => 0,
            };
            Some(Flagger::step_weights(step, if max == 0 { 100 } else { max }))
        }
        (0, Some(list)) => {
            let mut weights = Vec::new();
            for item in list.items(issues)? {
                let w = item.int_in(1, 100, issues)? as u32;
                if weights.last().is_some_and(|&last| w <= last) {
                    issues.push(item.issue(format!("must increase: {w} after {}", weights.last().unwrap_or(&0))));
                }
                weights.push(w);
            }
            Some(Flagger::listed_weights(&weights))
        }
        (0, None) => {
            issues.push(
                analysis
                    .key_issue("has no `stepWeight` or `stepWeights`: the canary's weight would never grow")
                    .with_help("e.g. `stepWeight: 10` and `maxWeight: 50`, or `stepWeights: [5, 10, 50]`"),
            );
            None
        }
    }
}

/// Refuses the webhooks that gate the analysis; the others are ignored.
fn webhooks(hooks: &At, issues: &mut Vec<Issue>) {
    for hook in hooks.items(issues).unwrap_or_default() {
        let kind = match hook.get("type") {
            Some(t) => t.str(issues),
            None => Some("rollout"),
        };
        let Some(kind) = kind else { continue };
        if GATING_WEBHOOKS.contains(&kind) {
            issues.push(
                hook.issue(format!("not supported: a `{kind}` webhook gates the analysis, and stormcast does not run webhooks"))
                    .with_help(
                        "a failing webhook would halt or roll back the canary, which a simulation cannot know; remove it \
                         from the copy given to stormcast (`event`, `post-rollout` and `rollback` webhooks are ignored)",
                    ),
            );
        } else if !NOTIFYING_WEBHOOKS.contains(&kind) {
            let all: Vec<&str> = GATING_WEBHOOKS.iter().chain(&NOTIFYING_WEBHOOKS).copied().collect();
            let at = hook.get("type").unwrap_or(hook);
            issues.push(at.issue(format!("unknown webhook type `{kind}`")).with_help(suggest(kind, &all, "types")));
        }
    }
}

fn checks(analysis: &At, documents: &[Document], issues: &mut Vec<Issue>) -> Option<Vec<Check>> {
    let Some(metrics) = analysis.get("metrics").filter(At::is_set) else {
        issues.push(
            analysis
                .key_issue("has no `metrics`: nothing would ever fail, so every rollout would be promoted")
                .with_help("add e.g. `request-success-rate` with `thresholdRange: {min: 99}`"),
        );
        return None;
    };
    let checks: Vec<Option<Check>> = metrics.items(issues)?.iter().map(|m| check(m, documents, issues)).collect();
    checks.into_iter().collect()
}

/// One of `metrics[]`: a built-in, a `templateRef` or an inline `query`.
fn check(metric: &At, documents: &[Document], issues: &mut Vec<Issue>) -> Option<Check> {
    if !metric.is_map(issues) {
        return None;
    }
    metric.check_keys(&METRIC_KEYS, issues);
    let Some(name) = metric.get("name") else {
        issues.push(metric.issue("missing `name`"));
        return None;
    };
    let name = name.str(issues)?;
    let builtin = metric.get("templateRef").is_none() && metric.get("query").is_none();
    let measured = if let Some(template) = metric.get("templateRef") {
        template_query(&template, documents, issues)?
    } else if let Some(q) = metric.get("query") {
        read_query(&q, "", issues)?
    } else {
        match name {
            "request-success-rate" => Measured::SUCCESS_PERCENT,
            "request-duration" => Measured::P99_MS,
            _ => {
                issues.push(
                    metric.issue(format!("`{name}` is not a built-in metric and has no `templateRef`")).with_help(
                        "Flagger's built-ins are `request-success-rate` (percent) and `request-duration` (p99, ms); \
                     other metrics name a `MetricTemplate` in `templateRef`",
                    ),
                );
                return None;
            }
        }
    };
    let bound = |key: &str, issues: &mut Vec<Issue>| -> Option<Option<f64>> {
        let Some(at) = metric.get("thresholdRange").and_then(|r| r.get(key)) else { return Some(None) };
        let written = at.number(issues)?;
        measured.bound(written).map(Some).map_err(|e| issues.push(at.issue(e))).ok()
    };
    let (mut min, mut max) = (bound("min", issues)?, bound("max", issues)?);
    if metric.get("thresholdRange").is_none()
        && let Some(t) = metric.get("threshold")
    {
        // The deprecated single threshold: a minimum for the built-in success rate, a
        // maximum for everything else (`scheduler_metrics.go`).
        let value = t.number(issues).and_then(|w| measured.bound(w).map_err(|e| issues.push(t.issue(e))).ok())?;
        if builtin && name == "request-success-rate" {
            min = Some(value);
        } else {
            max = Some(value);
        }
    }
    if min.is_none() && max.is_none() {
        issues.push(metric.issue("has no `thresholdRange` (`min`, `max`): it could never fail"));
        return None;
    }
    let window = match metric.get("interval") {
        Some(i) => {
            let d = duration_at(&i, issues)?;
            if d == SimDuration::ZERO {
                issues.push(i.issue("must be greater than zero"));
            }
            d
        }
        None => DEFAULT_WINDOW,
    };
    Some(Check { name: name.to_string(), metric: measured.metric, min, max, window })
}

/// `templateRef: {name: X}` -> the `MetricTemplate` X of this file, and its query.
fn template_query(template: &At, documents: &[Document], issues: &mut Vec<Issue>) -> Option<Measured> {
    let Some(name_at) = template.get("name") else {
        issues.push(template.issue("missing `name`: the `MetricTemplate` it refers to"));
        return None;
    };
    let name = name_at.str(issues)?;
    let templates: Vec<&Document> = documents.iter().filter(|d| d.kind == "MetricTemplate").collect();
    let Some(found) = templates.iter().find(|d| d.name == Some(name)) else {
        let names: Vec<&str> = templates.iter().filter_map(|d| d.name).collect();
        issues.push(name_at.issue(format!("unknown `MetricTemplate` `{name}`")).with_help(format!(
            "{}; stormcast reads the templates from the same file, as documents separated by `---`",
            suggest(name, &names, "templates")
        )));
        return None;
    };
    let spec = found.spec(issues)?;
    let provider = spec.get("provider").and_then(|p| p.get("type"));
    match provider.as_ref().map(|p| (p, p.str(issues))) {
        Some((_, Some("prometheus"))) => {}
        Some((p, Some(other))) => {
            issues.push(
                p.issue(format!("not supported: the `{other}` provider of `MetricTemplate` `{name}`")).with_help(
                    "stormcast stands in for Prometheus queries of a few shapes only (see docs/rollout-yaml.md)",
                ),
            );
            return None;
        }
        Some((_, None)) => return None,
        None => {
            issues.push(spec.issue(format!("`MetricTemplate` `{name}` has no `provider.type`")));
            return None;
        }
    }
    let Some(q) = spec.get("query") else {
        issues.push(spec.issue(format!("`MetricTemplate` `{name}` has no `query`")));
        return None;
    };
    read_query(&q, &format!(" of `MetricTemplate` `{name}`"), issues)
}

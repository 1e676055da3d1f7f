//! An Argo `Rollout` (argoproj.io/v1alpha1) and its `AnalysisTemplate`s -> `Argo`, with
//! Argo's defaults (`analysis/analysis.go`, `utils/evaluate/evaluate.go`).

use super::node::{At, Refusal, Value};
use super::query::Measured;
use super::{Document, duration_at, go_duration, read_query};
use crate::engine::SimDuration;
use crate::model::rollout::{
    Analysis, AnalysisMetric, Argo, ArgoStep, Background, Condition, DEFAULT_WINDOW, FailureCondition,
};
use crate::scenario::error::{Issue, suggest};

const fn refused(why: &'static str, help: &'static str) -> Option<Refusal> {
    Some(Refusal { why, help })
}

const STEP_HELP: &str = "stormcast simulates `setWeight`, `pause` and `analysis` steps";

/// The kinds of step (each step has exactly one).
const STEP_KINDS: [(&str, Option<Refusal>); 8] = [
    ("setWeight", None),
    ("pause", None),
    ("analysis", None),
    ("experiment", refused("an `experiment` step runs extra ReplicaSets, which stormcast does not model", STEP_HELP)),
    ("setCanaryScale", refused("`setCanaryScale` sizes the canary apart from its weight", STEP_HELP)),
    ("setHeaderRoute", refused("`setHeaderRoute` routes requests to the canary by header", STEP_HELP)),
    ("setMirrorRoute", refused("`setMirrorRoute` mirrors requests to the canary", STEP_HELP)),
    ("plugin", refused("a `plugin` step runs code stormcast cannot know", STEP_HELP)),
];

/// The keys of an analysis reference (a step's `analysis`, or the background one, which
/// also has `startingStep`). `args` only fill query placeholders: ignored.
const RUN_KEYS: [(&str, Option<Refusal>); 6] = [
    ("templates", None),
    ("args", None),
    ("dryRun", None),
    ("measurementRetention", None),
    ("analysisRunMetadata", None),
    ("startingStep", None),
];

const TEMPLATE_KEYS: [(&str, Option<Refusal>); 4] =
    [("metrics", None), ("args", None), ("dryRun", None), ("measurementRetention", None)];

/// A template metric's keys. `consecutiveErrorLimit` counts provider errors, which a
/// simulation has none of: ignored.
const METRIC_KEYS: [(&str, Option<Refusal>); 11] = [
    ("name", None),
    ("interval", None),
    ("initialDelay", None),
    ("count", None),
    ("failureLimit", None),
    ("inconclusiveLimit", None),
    ("consecutiveErrorLimit", None),
    ("successCondition", None),
    ("failureCondition", None),
    ("provider", None),
    (
        "consecutiveSuccessLimit",
        refused(
            "`consecutiveSuccessLimit` ends a metric after consecutive successes",
            "stormcast's analyses end after `count` measurements; remove it from the copy given to stormcast",
        ),
    ),
];

/// The rolled-out service (`metadata.name`) and its canary strategy.
pub(super) fn argo(rollout: &Document, documents: &[Document], issues: &mut Vec<Issue>) -> Option<(String, Argo)> {
    let spec = rollout.spec(issues)?;
    let Some(strategy) = spec.get("strategy") else {
        issues.push(spec.key_issue("missing `strategy.canary`"));
        return None;
    };
    if let Some(blue_green) = strategy.get("blueGreen") {
        issues.push(
            blue_green
                .key_issue("not supported: a blue-green rollout switches all traffic at once")
                .with_help("stormcast simulates canary rollouts (`strategy.canary`), whose weight grows in steps"),
        );
        return None;
    }
    let Some(canary) = strategy.get("canary") else {
        issues.push(strategy.key_issue("missing `canary`: the canary strategy to simulate"));
        return None;
    };
    if !canary.is_map(issues) {
        return None;
    }
    let mut analyses = Vec::new();
    let Some(raw_steps) = canary.get("steps") else {
        issues.push(canary.key_issue("missing `steps`"));
        return None;
    };
    let raw_steps = raw_steps.items(issues)?;
    let mut steps = Vec::new();
    for step in &raw_steps {
        if let Some(s) = self::step(step, documents, &mut analyses, issues) {
            steps.push(s);
        }
    }
    let background = match canary.get("analysis") {
        Some(run) => {
            let analysis = reference(&run, documents, &mut analyses, issues);
            let starting_step = match run.get("startingStep") {
                Some(s) => s.int_in(0, raw_steps.len() as i64, issues)? as usize,
                None => 0,
            };
            Some(Background { analysis: analysis?, starting_step })
        }
        None => None,
    };
    Some((rollout.name?.to_string(), Argo { steps, analyses, background }))
}

fn step(step: &At, documents: &[Document], analyses: &mut Vec<Analysis>, issues: &mut Vec<Issue>) -> Option<ArgoStep> {
    if !step.is_map(issues) {
        return None;
    }
    let entries: Vec<_> = step.entries().collect();
    let [(key, _)] = entries.as_slice() else {
        issues.push(step.issue("a step has exactly one key").with_help(STEP_HELP));
        return None;
    };
    let before = issues.len();
    step.check_keys(&STEP_KINDS, issues);
    if issues.len() > before {
        return None;
    }
    let at = step.get(&key.name)?;
    match key.name.as_str() {
        "setWeight" => Some(ArgoStep::SetWeight(at.int_in(0, 100, issues)? as u32)),
        "pause" => pause(&at, issues).map(ArgoStep::Pause),
        _ => reference(&at, documents, analyses, issues).map(ArgoStep::Analysis),
    }
}

/// `pause: {}` (until a person resumes it: never, in a simulation) or
/// `pause: {duration: D}`, D being integer seconds, a string of digits (seconds), or a Go
/// duration cut to whole seconds (`RolloutPause.DurationSeconds`).
fn pause(at: &At, issues: &mut Vec<Issue>) -> Option<Option<SimDuration>> {
    let help = "`pause: {}` waits for a person; `pause: {duration: 30s}` (or `duration: 30`, seconds) waits that long";
    if !matches!(at.node.value, Value::Map(_)) {
        issues.push(at.issue("expected a mapping").with_help(help));
        return None;
    }
    at.check_keys(&[("duration", None)], issues);
    let Some(d) = at.get("duration") else { return Some(None) };
    let seconds = match &d.node.value {
        Value::Int(n) if *n >= 0 => *n as u64,
        Value::Str(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok()?,
        Value::Str(s) => match go_duration(s) {
            Ok(d) => d.as_nanos() / 1_000_000_000,
            Err(e) => {
                issues.push(d.issue(e).with_help(help));
                return None;
            }
        },
        _ => {
            issues.push(d.issue("expected whole seconds or a duration such as \"30s\"").with_help(help));
            return None;
        }
    };
    Some(Some(SimDuration::from_secs(seconds)))
}

/// An analysis reference (`templates` and `dryRun`) -> the index of its analysis: the
/// templates' metrics merged, named after them joined with `+`, the dry-run ones left
/// out (they never affect the result). The same analysis used twice is kept once.
fn reference(run: &At, documents: &[Document], analyses: &mut Vec<Analysis>, issues: &mut Vec<Issue>) -> Option<usize> {
    if !run.is_map(issues) {
        return None;
    }
    run.check_keys(&RUN_KEYS, issues);
    let Some(templates) = run.get("templates").filter(At::is_set) else {
        issues.push(run.key_issue("missing `templates`: the analysis templates to run"));
        return None;
    };
    let mut dry = Vec::new();
    dry_run(run, &mut dry, issues);
    let mut names = Vec::new();
    let mut metrics = Vec::new();
    for t in templates.items(issues)? {
        let Some((name, spec)) = template(&t, documents, issues) else { continue };
        spec.check_keys(&TEMPLATE_KEYS, issues);
        dry_run(&spec, &mut dry, issues);
        names.push(name);
        let Some(items) = spec.get("metrics").and_then(|m| m.items(issues)) else {
            issues.push(spec.issue(format!("template `{name}` has no `metrics`")));
            continue;
        };
        metrics.extend(items.iter().filter_map(|m| metric(m, issues)));
    }
    metrics.retain(|m: &AnalysisMetric| !dry.iter().any(|pattern| dry_matches(pattern, &m.name)));
    if metrics.is_empty() && issues.is_empty() {
        issues.push(templates.issue("no metric left to measure (all are `dryRun`): the analysis could never fail"));
    }
    let analysis = Analysis { name: names.join("+"), metrics };
    match analyses.iter().position(|a| *a == analysis) {
        Some(i) => Some(i),
        None => {
            analyses.push(analysis);
            Some(analyses.len() - 1)
        }
    }
}

/// `{templateName: X}` (with `clusterScope: true` for a `ClusterAnalysisTemplate`) -> X
/// and its spec.
fn template<'a>(t: &At, documents: &'a [Document<'a>], issues: &mut Vec<Issue>) -> Option<(&'a str, At<'a>)> {
    t.check_keys(&[("templateName", None), ("clusterScope", None)], issues);
    let Some(name_at) = t.get("templateName") else {
        issues.push(t.issue("missing `templateName`"));
        return None;
    };
    let name = name_at.str(issues)?;
    let cluster = t.get("clusterScope").is_some_and(|c| c.bool(issues) == Some(true));
    let kind = if cluster { "ClusterAnalysisTemplate" } else { "AnalysisTemplate" };
    let of_kind: Vec<&Document> = documents.iter().filter(|d| d.kind == kind).collect();
    let Some(found) = of_kind.iter().find(|d| d.name == Some(name)) else {
        let names: Vec<&str> = of_kind.iter().filter_map(|d| d.name).collect();
        issues.push(name_at.issue(format!("unknown `{kind}` `{name}`")).with_help(format!(
            "{}; stormcast reads the templates from the same file, as documents separated by `---`",
            suggest(name, &names, "templates")
        )));
        return None;
    };
    Some((found.name?, found.spec(issues)?))
}

/// Adds the `dryRun: [{metricName: P}]` patterns at `at` to `dry`.
fn dry_run(at: &At, dry: &mut Vec<String>, issues: &mut Vec<Issue>) {
    let Some(list) = at.get("dryRun") else { return };
    for item in list.items(issues).unwrap_or_default() {
        let Some(pattern) = item.get("metricName") else {
            issues.push(item.issue("missing `metricName`"));
            continue;
        };
        let Some(p) = pattern.str(issues) else { continue };
        if p != ".*" && p.contains(|c: char| "\\.+*?()[]{}|^$".contains(c)) {
            issues.push(pattern.issue(format!("not supported: the pattern `{p}`")).with_help(
                "stormcast matches `dryRun` metric names as Argo does for plain text (anywhere in the name), or `.*`",
            ));
        }
        dry.push(p.to_string());
    }
}

/// Argo matches `metricName` as an unanchored regular expression: plain text matches
/// anywhere in the name.
fn dry_matches(pattern: &str, name: &str) -> bool {
    pattern == ".*" || name.contains(pattern)
}

/// One of a template's `metrics[]`.
fn metric(m: &At, issues: &mut Vec<Issue>) -> Option<AnalysisMetric> {
    if !m.is_map(issues) {
        return None;
    }
    m.check_keys(&METRIC_KEYS, issues);
    let Some(name) = m.get("name") else {
        issues.push(m.issue("missing `name`"));
        return None;
    };
    let name = name.str(issues)?;
    let measured = provider(m, issues)?;
    let interval = match m.get("interval") {
        Some(i) => Some(positive(&i, issues)?),
        None => None,
    };
    let count = match m.get("count") {
        Some(c) => Some(c.int_in(1, 1_000_000, issues)? as u32),
        None => None,
    };
    let limit = |key: &str, issues: &mut Vec<Issue>| match m.get(key) {
        Some(l) => l.int_in(0, 1_000_000, issues).map(|n| n as u32),
        None => Some(0),
    };
    let failure_limit = limit("failureLimit", issues)?;
    let inconclusive_limit = limit("inconclusiveLimit", issues)?;
    let initial_delay = match m.get("initialDelay") {
        Some(d) => duration_at(&d, issues)?,
        None => SimDuration::ZERO,
    };
    let success = match m.get("successCondition") {
        Some(c) => Some(condition(&c, measured, true, issues)?).map(|(min, max)| Condition { min, max }),
        None => None,
    };
    let failure = match m.get("failureCondition") {
        Some(c) => {
            Some(condition(&c, measured, false, issues)?).map(|(above, below)| FailureCondition { below, above })
        }
        None => None,
    };
    if success.is_none() && failure.is_none() {
        issues.push(m.issue("has no `successCondition` or `failureCondition`: Argo counts it as always successful"));
        return None;
    }
    Some(AnalysisMetric {
        name: name.to_string(),
        metric: measured.metric,
        interval,
        count,
        initial_delay,
        failure_limit,
        inconclusive_limit,
        success,
        failure,
        window: interval.unwrap_or(DEFAULT_WINDOW),
    })
}

fn positive(at: &At, issues: &mut Vec<Issue>) -> Option<SimDuration> {
    let d = duration_at(at, issues)?;
    if d == SimDuration::ZERO {
        issues.push(at.issue("must be greater than zero"));
        return None;
    }
    Some(d)
}

/// `provider: {prometheus: {query: ...}}`: what the query measures.
fn provider(m: &At, issues: &mut Vec<Issue>) -> Option<Measured> {
    let Some(p) = m.get("provider").filter(|p| p.is_map(issues)) else {
        issues.push(m.issue("missing `provider`"));
        return None;
    };
    let mut measured = None;
    for (key, _) in p.entries() {
        let Some(at) = p.get(&key.name) else { continue };
        if key.name != "prometheus" {
            issues.push(at.key_issue(format!("not supported: the `{}` provider", key.name)).with_help(
                "stormcast measures the canary itself and stands in for Prometheus queries of a few shapes only \
                 (see docs/rollout-yaml.md)",
            ));
        } else if let Some(q) = at.get("query") {
            measured = read_query(&q, "", issues);
        } else {
            issues.push(at.issue("missing `query`"));
        }
    }
    measured
}

const CONDITION_HELP: &str = "stormcast reads conditions such as `result[0] >= 0.95` or `result < 500`: `result` or \
     `result[0]`, one of `>=`, `>`, `<=`, `<`, a number; two bounds joined by `&&` in a successCondition, by `||` in \
     a failureCondition";

/// A condition's bounds, converted from the query's unit: for a success condition,
/// `(min, max)` (`>=`, `>` give the minimum); for a failure condition `(above, below)`
/// (`>`, `>=` fail above). At the boundary value itself stormcast's minimum and maximum
/// hold (inclusive) and its fail-below and fail-above do not (strict), whichever of the
/// two operators was written.
fn condition(
    at: &At,
    measured: Measured,
    success: bool,
    issues: &mut Vec<Issue>,
) -> Option<(Option<f64>, Option<f64>)> {
    let text = at.str(issues)?;
    let (join, other) = if success { ("&&", "||") } else { ("||", "&&") };
    if text.contains(other) {
        let which = if success { "a successCondition" } else { "a failureCondition" };
        issues.push(at.issue(format!("not supported: `{other}` in {which}")).with_help(CONDITION_HELP));
        return None;
    }
    let mut bounds = (None, None);
    for clause in text.split(join) {
        let Some((lower, written)) = clause_of(clause) else {
            issues.push(at.issue(format!("cannot read `{}`", clause.trim())).with_help(CONDITION_HELP));
            return None;
        };
        let value = measured.bound(written).map_err(|e| issues.push(at.issue(e))).ok()?;
        let slot = if lower { &mut bounds.0 } else { &mut bounds.1 };
        if slot.replace(value).is_some() {
            issues.push(at.issue("two bounds on the same side").with_help(CONDITION_HELP));
            return None;
        }
    }
    Some(bounds)
}

/// `result[0] >= 0.95` -> `(true, 0.95)`: whether the value must be above (`>`, `>=`)
/// the number, and the number.
fn clause_of(clause: &str) -> Option<(bool, f64)> {
    let clause = clause.trim();
    let clause = clause.strip_prefix('(').and_then(|c| c.strip_suffix(')')).unwrap_or(clause).trim();
    let rest = clause.strip_prefix("result").map(|r| r.strip_prefix("[0]").unwrap_or(r))?.trim_start();
    let (above, number) = [(">=", true), ("<=", false), (">", true), ("<", false)]
        .iter()
        .find_map(|(op, above)| rest.strip_prefix(op).map(|n| (*above, n)))?;
    number.trim().parse::<f64>().ok().filter(|n| n.is_finite()).map(|n| (above, n))
}

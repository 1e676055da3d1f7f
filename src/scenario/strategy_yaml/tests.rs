//! The YAML examples against hand-derived strategies and their TOML twins; every
//! refusal, located; the units that are easy to get wrong.

use super::*;
use crate::model::rollout::{
    Analysis, AnalysisMetric, Argo, ArgoStep, Background, Check, Condition, FailureCondition, Flagger, Metric,
    Percentile,
};
use crate::scenario::strategy::{load_strategy_file, load_strategy_str};

const FLAGGER: &str = include_str!("../../../scenarios/rollouts/flagger-canary.yaml");
const ARGO: &str = include_str!("../../../scenarios/rollouts/argo-rollout.yaml");
const LABEL: &str = "canary.yaml";

fn secs(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

fn load(text: &str) -> Strategy {
    load_strategy_yaml(LABEL, text).unwrap_or_else(|e| panic!("{e}"))
}

fn render(text: &str) -> String {
    match load_strategy_yaml(LABEL, text) {
        Ok(s) => panic!("expected an error, got {s:?}"),
        Err(e) => e.to_string(),
    }
}

/// The error for `text`, which must name `key` and point at the line and column of
/// the first occurrence of `marker` (the place the message is about).
fn located(text: &str, marker: &str, key: &str) -> String {
    let rendered = render(text);
    let at = text.find(marker).unwrap_or_else(|| panic!("no {marker:?} in the text"));
    let line = text[..at].matches('\n').count() + 1;
    let column = text[..at].rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    assert!(rendered.contains(&format!("{LABEL}:{line}:{column}")), "not at {line}:{column}:\n{rendered}");
    assert!(rendered.contains(key), "{key:?} not named:\n{rendered}");
    rendered
}

fn flagger_with(from: &str, to: &str) -> String {
    assert!(FLAGGER.contains(from), "the Flagger example lacks {from:?}");
    FLAGGER.replacen(from, to, 1)
}

fn argo_with(from: &str, to: &str) -> String {
    assert!(ARGO.contains(from), "the Argo example lacks {from:?}");
    ARGO.replacen(from, to, 1)
}

fn flagger(s: Strategy) -> Flagger {
    match s.style {
        Style::Flagger(f) => f,
        other => panic!("not Flagger: {other:?}"),
    }
}

fn argo(s: Strategy) -> Argo {
    match s.style {
        Style::Argo(a) => a,
        other => panic!("not Argo: {other:?}"),
    }
}

#[test]
fn flagger_example_is_the_strategy_derived_by_hand_and_its_toml_twin() {
    let check = |name: &str, metric, min, max, window| Check { name: name.to_string(), metric, min, max, window };
    let expected = Strategy {
        source: LABEL.to_string(),
        service: "payment".to_string(),
        start: SimDuration::ZERO,
        style: Style::Flagger(Flagger {
            interval: secs(30),
            weights: vec![10, 20, 30, 40, 50],
            threshold: 3,
            checks: vec![
                // 99 percent, a ratio of 0.99.
                check("request-success-rate", Metric::SuccessRate, Some(0.99), None, secs(60)),
                // 500 ms.
                check("request-duration", Metric::Latency(Percentile::P99), None, Some(500.0), secs(60)),
                check("error-ratio", Metric::ErrorRate, None, Some(0.02), secs(120)),
                // 0.3 s of a `_seconds` histogram: 300 ms; no interval: 1 m.
                check("p95-latency", Metric::Latency(Percentile::P95), None, Some(300.0), secs(60)),
            ],
        }),
        expect: Default::default(),
    };
    assert_eq!(load(FLAGGER), expected);
    let toml = r#"
        [rollout]
        service = "payment"
        interval = "30s"
        threshold = 3
        step_weight = 10
        max_weight = 50
        [[rollout.check]]
        name = "request-success-rate"
        metric = "success_rate"
        min = 0.99
        window = "1m"
        [[rollout.check]]
        name = "request-duration"
        metric = "p99"
        max = "500ms"
        window = "1m"
        [[rollout.check]]
        name = "error-ratio"
        metric = "error_rate"
        max = 0.02
        window = "2m"
        [[rollout.check]]
        name = "p95-latency"
        metric = "p95"
        max = "300ms"
    "#;
    assert_eq!(load_strategy_str(LABEL, toml).unwrap_or_else(|e| panic!("{e}")), expected);
}

#[test]
fn argo_example_is_the_strategy_derived_by_hand_and_its_toml_twin() {
    let metric = |name: &str, metric, interval, count, failure_limit| AnalysisMetric {
        name: name.to_string(),
        metric,
        interval: Some(secs(interval)),
        count,
        initial_delay: SimDuration::ZERO,
        failure_limit,
        inconclusive_limit: 0,
        success: None,
        failure: None,
        window: secs(interval),
    };
    let success = AnalysisMetric {
        // `result[0] >= 95` of a `* 100` query.
        success: Some(Condition { min: Some(0.95), max: None }),
        ..metric("success-rate", Metric::SuccessRate, 30, Some(4), 1)
    };
    let p99 = AnalysisMetric {
        success: Some(Condition { min: None, max: Some(400.0) }),
        failure: Some(FailureCondition { below: None, above: Some(800.0) }),
        ..metric("p99", Metric::Latency(Percentile::P99), 30, Some(4), 1)
    };
    let errors = AnalysisMetric {
        initial_delay: secs(30),
        failure: Some(FailureCondition { below: None, above: Some(0.05) }),
        ..metric("error-rate", Metric::ErrorRate, 60, None, 0)
    };
    let expected = Strategy {
        source: LABEL.to_string(),
        service: "payment".to_string(),
        start: SimDuration::ZERO,
        style: Style::Argo(Argo {
            steps: vec![
                ArgoStep::SetWeight(20),
                ArgoStep::Pause(Some(secs(60))),
                ArgoStep::Analysis(0),
                ArgoStep::SetWeight(50),
                ArgoStep::Pause(Some(secs(120))),
            ],
            analyses: vec![
                Analysis { name: "success-rate+latency".to_string(), metrics: vec![success, p99] },
                Analysis { name: "error-rate".to_string(), metrics: vec![errors] },
            ],
            background: Some(Background { analysis: 1, starting_step: 1 }),
        }),
        expect: Default::default(),
    };
    assert_eq!(load(ARGO), expected);
    // TOML names analyses with letters, digits, `_` and `-` only: the twin of the merged
    // `success-rate+latency` is `success-rate-latency`.
    let mut twin = expected;
    if let Style::Argo(a) = &mut twin.style {
        a.analyses[0].name = "success-rate-latency".to_string();
    }
    let toml = r#"
        [rollout]
        service = "payment"
        steps = [
            { set_weight = 20 },
            { pause = "60s" },
            { analysis = "success-rate-latency" },
            { set_weight = 50 },
            { pause = { duration = "120s" } },
        ]
        background = { analysis = "error-rate", starting_step = 1 }
        [rollout.analysis.success-rate-latency]
        interval = "30s"
        count = 4
        failure_limit = 1
        [[rollout.analysis.success-rate-latency.metric]]
        name = "success-rate"
        metric = "success_rate"
        min = 0.95
        [[rollout.analysis.success-rate-latency.metric]]
        name = "p99"
        metric = "p99"
        max = "400ms"
        fail_above = "800ms"
        [rollout.analysis.error-rate]
        [[rollout.analysis.error-rate.metric]]
        name = "error-rate"
        metric = "error_rate"
        interval = "1m"
        initial_delay = "30s"
        fail_above = 0.05
    "#;
    assert_eq!(load_strategy_str(LABEL, toml).unwrap_or_else(|e| panic!("{e}")), twin);
}

#[test]
fn flagger_defaults_are_flaggers() {
    let text = flagger_with("    interval: 30s\n    threshold: 3\n    maxWeight: 50\n", "");
    let f = flagger(load(&text));
    assert_eq!((f.interval, f.threshold), (secs(60), 1));
    assert_eq!(f.weights, (1..=10).map(|i| i * 10).collect::<Vec<u32>>());
    // Go's zero values are the defaults too; an interval under 10 s is raised to 10 s.
    let text = flagger_with("interval: 30s\n    threshold: 3", "interval: 5s\n    threshold: 0");
    let f = flagger(load(&text));
    assert_eq!((f.interval, f.threshold), (secs(10), 1));
    let text = flagger_with("interval: 30s", "interval: 1m30s");
    assert_eq!(flagger(load(&text)).interval, secs(90));
    // The legacy `canaryAnalysis`, and `stepWeights` (with `maxWeight` ignored, as Flagger does).
    let text = flagger_with("  analysis:", "  canaryAnalysis:").replace("stepWeight: 10", "stepWeights: [5, 25, 60]");
    assert_eq!(flagger(load(&text)).weights, vec![5, 25, 60]);
}

#[test]
fn flagger_units_percent_and_milliseconds() {
    // A ratio written where Flagger wants percent is valid Flagger (it would pass almost
    // anything), so it is read as written: 0.99 % is 0.0099.
    let text = flagger_with("min: 99 ", "min: 0.99 ");
    assert_eq!(flagger(load(&text)).checks[0].min, Some(0.99 / 100.0));
    // The deprecated `threshold`: a minimum in percent for the success rate, a maximum in
    // ms for the duration.
    let text = flagger_with("thresholdRange:\n          min: 99 ", "threshold: 98.5 ").replacen(
        "thresholdRange:\n          max: 500",
        "threshold: 250",
        1,
    );
    let checks = flagger(load(&text)).checks;
    assert_eq!((checks[0].min, checks[0].max), (Some(0.985), None));
    assert_eq!((checks[1].min, checks[1].max), (None, Some(250.0)));
    // A template's ratio query bounded as if in percent is refused.
    let text = flagger_with("max: 0.02 ", "max: 2 ");
    located(&text, "2        # a ratio", "spec.analysis.metrics[2].thresholdRange.max");
    // A percent query takes percent.
    let text =
        flagger_with("[{{ interval }}]))\n---", "[{{ interval }}])) * 100\n---").replace("max: 0.02 ", "max: 2 ");
    assert_eq!(flagger(load(&text)).checks[2].max, Some(0.02));
}

#[test]
fn argo_pauses_conditions_and_dry_runs() {
    let text = argo_with("pause: {duration: 1m}", "pause: {}").replace("{duration: 120}", "{duration: \"90\"}");
    let steps = argo(load(&text)).steps;
    assert_eq!((&steps[1], &steps[4]), (&ArgoStep::Pause(None), &ArgoStep::Pause(Some(secs(90)))));
    // Argo cuts a pause to whole seconds.
    let text = argo_with("{duration: 1m}", "{duration: 1500ms}");
    assert_eq!(argo(load(&text)).steps[1], ArgoStep::Pause(Some(secs(1))));
    // Two bounds, and the boundary operators: `>` reads as a minimum, `<=` as fail below.
    let text = argo_with("result[0] >= 95 ", "result > 90 && result[0] <= 99.5 ")
        .replace("result[0] > 0.05", "result[0] <= 0.001 || result[0] >= 0.05");
    let a = argo(load(&text));
    assert_eq!(a.analyses[0].metrics[0].success, Some(Condition { min: Some(0.9), max: Some(0.995) }));
    assert_eq!(a.analyses[1].metrics[0].failure, Some(FailureCondition { below: Some(0.001), above: Some(0.05) }));
    // Dry-run metrics never decide: dropped, by the step's list or the template's.
    let text = argo_with(
        "              - templateName: latency\n",
        "              - templateName: latency\n            dryRun:\n              - metricName: p9\n",
    );
    let names: Vec<String> = argo(load(&text)).analyses[0].metrics.iter().map(|m| m.name.clone()).collect();
    assert_eq!(names, ["success-rate"]);
    // Argo merges the templates' `dryRun` lists into the run's: a template's own list
    // applies to the metrics of the templates merged with it too.
    let text = argo_with("  name: latency\nspec:\n", "  name: latency\nspec:\n  dryRun:\n    - metricName: success\n");
    let names: Vec<String> = argo(load(&text)).analyses[0].metrics.iter().map(|m| m.name.clone()).collect();
    assert_eq!(names, ["p99"]);
    let text = argo_with("  name: latency\nspec:\n", "  name: latency\nspec:\n  dryRun:\n    - metricName: .*\n");
    located(&text, "- templateName: success-rate", "no metric left to measure");
}

#[test]
fn the_same_analysis_twice_is_kept_once() {
    let text = argo_with(
        "        - setWeight: 50\n",
        "        - setWeight: 50\n        - analysis:\n            templates:\n              - templateName: success-rate\n              - templateName: latency\n",
    );
    let a = argo(load(&text));
    assert_eq!(a.steps[2], a.steps[4]);
    assert_eq!(a.analyses.len(), 2);
}

#[test]
fn yml_files_are_read_as_yaml() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("canary.yml");
    std::fs::write(&path, FLAGGER).expect("written");
    let s = load_strategy_file(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.style, load(FLAGGER).style);
}

#[test]
fn go_durations() {
    assert_eq!(go_duration("1m30s"), Ok(secs(90)));
    assert_eq!(go_duration("1.5h"), Ok(secs(5400)));
    assert_eq!(go_duration("250ms"), Ok(SimDuration::from_millis(250)));
    assert_eq!(go_duration("0"), Ok(SimDuration::ZERO));
    for bad in ["", "5", "1d", "m", "-1s", "1s2"] {
        assert!(go_duration(bad).is_err(), "{bad}");
    }
}

#[test]
fn offsets_of_lines_and_columns() {
    let text = "a: 1\nbé: [2\n";
    assert_eq!(offset_of(text, 1, 1), Some(0));
    assert_eq!(offset_of(text, 2, 3), Some(8));
    assert_eq!(offset_of(text, 2, 7), Some(12));
    assert_eq!(offset_of(text, 3, 1), Some(13));
    assert_eq!((offset_of(text, 2, 9), offset_of(text, 4, 1), offset_of(text, 0, 1)), (None, None, None));
}

#[test]
fn error_malformed_yaml_is_located() {
    let text = flagger_with("    threshold: 3\n", "    threshold: [3\n");
    insta::assert_snapshot!(render(&text));
}

#[test]
fn error_neither_kind() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: payment\n";
    insta::assert_snapshot!(render(text));
    assert!(render("a: 1\n").contains("neither a Flagger `Canary` nor an Argo `Rollout`"));
    assert!(render("").contains("neither"));
}

#[test]
fn error_two_rollouts() {
    let text = format!("{FLAGGER}\n---\n{ARGO}");
    assert!(render(&text).contains("a second `Rollout` in one file"));
}

#[test]
fn error_flagger_refusals() {
    let analysis = "    interval: 30s\n";
    for (key, value) in [
        ("iterations", "10"),
        ("match", "[{headers: {x-canary: {exact: insider}}}]"),
        ("mirror", "true"),
        ("stepWeightPromotion", "20"),
    ] {
        let text = flagger_with(analysis, &format!("{analysis}    {key}: {value}\n"));
        located(&text, &format!("{key}:"), &format!("`spec.analysis.{key}`: not supported"));
    }
    let text = flagger_with("  provider: istio\n", "  provider: istio\n  skipAnalysis: true\n");
    located(&text, "skipAnalysis", "`spec.skipAnalysis`: not supported");
    // Set to Go's zero value, each means the same as leaving it out.
    let text = flagger_with(analysis, &format!("{analysis}    iterations: 0\n    mirror: false\n"));
    load(&text);
    insta::assert_snapshot!(render(&flagger_with(analysis, &format!("{analysis}    iterations: 10\n"))));
}

#[test]
fn error_gating_webhooks() {
    for kind in ["confirm-rollout", "confirm-traffic-increase", "confirm-promotion", "pre-rollout", "rollout"] {
        let text = flagger_with("type: event ", &format!("type: {kind} "));
        let rendered = located(&text, "name: announce", "spec.analysis.webhooks[0]");
        assert!(rendered.contains(&format!("a `{kind}` webhook gates the analysis")), "{rendered}");
    }
    // With no type, a webhook is a `rollout` webhook: gating.
    let text = flagger_with("        type: event        # notifies only: ignored\n", "");
    insta::assert_snapshot!(render(&text));
    for kind in ["post-rollout", "rollback"] {
        load(&flagger_with("type: event ", &format!("type: {kind} ")));
    }
    located(&flagger_with("type: event ", "type: evnt "), "evnt", "did you mean `event`");
}

#[test]
fn error_flagger_templates_and_metrics() {
    let text = flagger_with("          name: error-ratio\n", "          name: error-rate\n");
    insta::assert_snapshot!(render(&text));
    let text = flagger_with("    type: prometheus\n", "    type: datadog\n");
    located(&text, "datadog", "the `datadog` provider of `MetricTemplate` `error-ratio`");
    let text = flagger_with("histogram_quantile(0.95,", "histogram_quantile(0.75,");
    let rendered = located(&text, "histogram_quantile(0.75", "cannot read the query of `MetricTemplate` `p95-latency`");
    assert!(rendered.contains("quantile `0.75`"), "{rendered}");
    let text = flagger_with("- name: request-duration\n", "- name: request-latency\n");
    located(&text, "name: request-latency", "`spec.analysis.metrics[1]`: `request-latency` is not a built-in");
    let text =
        flagger_with("          max: 500         # milliseconds (p99)\n", "          max: 500\n        interval: 2s\n");
    let rendered = located(&text, "interval: 1m\n      - name: error-ratio", "duplicate mapping key: interval");
    assert!(!rendered.contains("DuplicateKeyPolicy"), "{rendered}");
    let text = flagger_with("stepWeight: 10", "stepWeigth: 10");
    let rendered = render(&text);
    assert!(rendered.contains("unknown key `stepWeigth` in `spec.analysis`"), "{rendered}");
    assert!(rendered.contains("did you mean `stepWeight`?"), "{rendered}");
    let text = flagger_with("interval: 30s", "interval: 30");
    located(&text, "30\n", "`spec.analysis.interval`: expected a string, found an integer");
}

#[test]
fn error_argo_refusals() {
    let text = argo_with("        - setWeight: 50\n", "        - setCanaryScale: {weight: 50}\n");
    insta::assert_snapshot!(render(&text));
    for (step, marker) in [
        ("experiment: {templates: []}", "experiment"),
        ("setHeaderRoute: {name: h}", "setHeaderRoute"),
        ("setMirrorRoute: {name: m}", "setMirrorRoute"),
        ("plugin: {name: p}", "plugin"),
    ] {
        let text = argo_with("        - setWeight: 50\n", &format!("        - {step}\n"));
        located(&text, marker, &format!("`spec.strategy.canary.steps[3].{marker}`: not supported"));
    }
    let text = argo_with(
        "      provider:\n        prometheus:\n          address: http://prometheus.istio-system:9090\n          query: |\n            histogram_quantile",
        "      provider:\n        datadog:\n          query: |\n            histogram_quantile",
    );
    located(&text, "datadog", "not supported: the `datadog` provider");
    let text = argo_with("- templateName: latency", "- templateName: latncy");
    let rendered = located(&text, "latncy", "unknown `AnalysisTemplate` `latncy`");
    assert!(rendered.contains("did you mean `latency`?"), "{rendered}");
    let text = argo_with("    canary:\n", "    blueGreen:\n      activeService: a\n    canary:\n");
    located(&text, "blueGreen", "`spec.strategy.blueGreen`: not supported");
    let text = argo_with("      consecutiveErrorLimit: 2 ", "      consecutiveSuccessLimit: 2 ");
    located(&text, "consecutiveSuccessLimit", "not supported");
}

#[test]
fn error_argo_conditions() {
    for (condition, why) in [
        ("result[0] >= 95 || result[0] < 99", "`||` in a successCondition"),
        ("len(result) > 0", "cannot read `len(result) > 0`"),
        ("result[0] == 100", "cannot read"),
        ("result[0] >= 90 && result[0] > 95", "two bounds on the same side"),
        ("result[0] >= 0.95", "-"),
    ] {
        let text = argo_with("result[0] >= 95 ", &format!("{condition} "));
        if why == "-" {
            // A ratio written for a percent query: 0.95 %, read as written.
            assert_eq!(
                argo(load(&text)).analyses[0].metrics[0].success,
                Some(Condition { min: Some(0.95 / 100.0), max: None })
            );
        } else {
            located(&text, condition, why);
        }
    }
    let text = argo_with("result[0] > 0.05 ", "result[0] > 5 ");
    insta::assert_snapshot!(render(&text));
}

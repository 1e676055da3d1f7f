//! `report.html` (docs/outputs.md): one per command, self-contained, its data embedded
//! whole, the same bytes from the same result, no path of the machine that made it,
//! and the sections the doc lists. The browser test (`browser.rs`) loads it for real.

use assert_cmd::Command;
use std::path::Path;

fn write(args: &[&str], out: &Path) -> String {
    let status = Command::new(env!("CARGO_BIN_EXE_stormcast"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(status.status.code().is_some_and(|c| c <= 1), "{args:?}: {}", String::from_utf8_lossy(&status.stderr));
    std::fs::read_to_string(out.join("report.html")).unwrap()
}

/// The text of `<script type="application/json" id="ID">`, with `<\/` put back.
fn embedded(html: &str, id: &str) -> String {
    let open = format!("<script type=\"application/json\" id=\"{id}\">");
    let start = html.find(&open).unwrap_or_else(|| panic!("no {id}")) + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    html[start..end].replace("<\\/", "</")
}

fn assert_self_contained(kind: &str, html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"), "{kind}");
    for external in ["<link", " src=", "href=\"http", "url(http", "@import", "fetch(", "XMLHttpRequest"] {
        assert!(!html.contains(external), "{kind}: `{external}` would load something");
    }
    let root = env!("CARGO_MANIFEST_DIR");
    assert!(!html.contains(root), "{kind}: the machine's path {root} leaks into the report");
}

/// A known-bad change under the strict analysis: one seed, and a few.
const ROLLOUT_ONE: [&str; 6] = [
    "rollout",
    "scenarios/canary.toml",
    "--change",
    "scenarios/changes/payment-errors.toml",
    "--strategy",
    "scenarios/rollouts/strict.toml",
];
const ROLLOUT_SEEDS: [&str; 9] = [
    "rollout",
    "scenarios/canary.toml",
    "--change",
    "scenarios/changes/payment-errors.toml",
    "--strategy",
    "scenarios/rollouts/strict.toml",
    "--seeds",
    "3",
    "-q",
];

#[test]
fn every_command_writes_a_self_contained_report_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let kinds: [(&str, &[&str], &str, &[&str]); 6] = [
        (
            "run",
            &["run", "scenarios/checkout.toml"],
            "summary.json",
            &["verdict", "topology", "timeseries", "services", "chart", "replay"],
        ),
        (
            "sweep",
            &["sweep", "scenarios/retry-storm.toml", "--seeds", "4", "-q"],
            "sweep.json",
            &["verdict", "topology", "timeseries", "fan", "risk", "recovery", "replay"],
        ),
        (
            "vary",
            &["sweep", "scenarios/capacity.toml", "--seeds", "2", "-q", "--vary", "services.api.instances=2..3"],
            "vary.json",
            &["verdict", "topology", "vary"],
        ),
        (
            "compare",
            &["compare", "scenarios/checkout.toml", "--set", "services.payment.instances=4", "--seeds", "3", "-q"],
            "compare.json",
            &["verdict", "topology", "timeseries", "fan", "risk", "metrics", "replay"],
        ),
        (
            "rollout",
            &ROLLOUT_ONE,
            "summary.json",
            &["rollout", "verdict", "topology", "timeseries", "services", "chart", "replay"],
        ),
        (
            "rollout-seeds",
            &ROLLOUT_SEEDS,
            "rollout.json",
            &["verdict", "shares", "topology", "seeds", "timing", "per-seed", "replay"],
        ),
    ];
    for (kind, args, json, sections) in kinds {
        let out = dir.path().join(kind);
        let html = write(args, &out);
        assert_self_contained(kind, &html);
        assert!(html.contains(&format!("<body data-kind=\"{kind}\">")));
        let ids: Vec<&str> = html.split("<section id=\"").skip(1).filter_map(|s| s.split('"').next()).collect();
        assert_eq!(ids, sections, "{kind}: sections in reading order");
        let file = std::fs::read_to_string(out.join(json)).unwrap();
        assert_eq!(embedded(&html, "stormcast-data"), file, "{kind}: {json} is embedded whole");
        let panels: serde_json::Value = serde_json::from_str(&embedded(&html, "stormcast-panels")).unwrap();
        assert_eq!(panels.as_array().unwrap().is_empty(), !sections.contains(&"timeseries"), "{kind}");
        // Same result, same bytes: nothing depends on the clock.
        let again = write(args, &dir.path().join(format!("{kind}-again")));
        assert!(again == html, "{kind}: two runs gave different reports");
    }
}

#[test]
fn the_run_report_marks_unhealthy_services_and_fault_targets() {
    let dir = tempfile::tempdir().unwrap();
    let html = write(&["run", "scenarios/checkout.toml"], dir.path());
    // checkout: payment is faulted and unhealthy, the frontend unhealthy by it.
    for service in ["payment", "frontend"] {
        assert!(html.contains(&format!("class=\"mark\" data-service=\"{service}\"")), "{service} is ringed");
    }
    assert!(!html.contains("data-service=\"cart\""), "a healthy service is not ringed");
    assert!(html.contains("red box: a fault's target"));
    assert!(html.contains("class=\"window fault\"") && html.contains("class=\"window warmup\""));
    assert!(html.contains("<code>stormcast run scenarios/checkout.toml --seed 1</code>"), "the replay command");
}

#[test]
fn the_rollout_report_shows_the_decision_its_checks_and_its_chart() {
    let dir = tempfile::tempdir().unwrap();
    let html = write(&ROLLOUT_ONE, &dir.path().join("a"));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("a/summary.json")).unwrap()).unwrap();
    let reason = summary["rollout"]["reason"].as_str().unwrap();
    assert!(html.contains("ROLLED BACK") && html.contains(reason), "the outcome and why: {reason}");
    assert!(html.contains("<table class=\"checks\">"), "the checks table");
    assert!(html.contains("p99 max "), "the rollout chart, with the p99 bound");
    // The PNG chart is deterministic too (the SVG is in the page, compared above).
    write(&ROLLOUT_ONE, &dir.path().join("b"));
    let png = |d: &str| std::fs::read(dir.path().join(d).join("rollout.png")).unwrap();
    assert!(png("a") == png("b"), "rollout.png differs between two runs");
    let seeds = write(&ROLLOUT_SEEDS, &dir.path().join("seeds"));
    assert!(seeds.contains("UNASSERTED") && seeds.contains("rollout-seeds.svg"));
    assert!(dir.path().join("seeds/rollout-seeds.png").is_file());
}

//! Every file in `scenarios/` loads and runs, so none can rot, and its summary follows
//! `schemas/summary.schema.json`.

use std::path::PathBuf;
use stormcast::sim::simulate;

fn scenario_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![PathBuf::from("scenarios")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                // Rollout strategies (`stormcast rollout --strategy`), not scenarios.
                if !path.ends_with("rollouts") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_scenario_loads_and_runs() {
    let files = scenario_files();
    assert!(files.len() >= 3, "scenarios/ holds the examples");
    for path in files {
        // Change files (partial scenarios) are checked by the compare tests.
        if path.components().any(|c| c.as_os_str() == "changes") {
            continue;
        }
        let sc = stormcast::scenario::load_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Benchmark scenarios (hundreds of millions of events) are loaded, not run here;
        // `cargo bench` and scripts/compare-simpy.sh run them.
        if path.components().any(|c| c.as_os_str() == "bench") {
            continue;
        }
        let r = simulate(&sc, 1);
        assert!(r.events > 0, "{}", path.display());
        for l in &r.loads {
            assert!(l.requests > 0, "{}: load {} sent nothing", path.display(), l.name);
        }
        // Its summary.json follows schemas/summary.schema.json (the other outputs are
        // validated in `schemas`, on a small scenario).
        let summary = serde_json::to_value(&r).expect("summaries serialize");
        crate::schemas::assert_valid("summary", &summary, &format!("the summary of {}", path.display()));
    }
}

/// Every example (not the benchmarks, not the partial change files) carries `[[expect]]`
/// claims for what its comments say, and every claim holds: the teaching text cannot
/// drift from the numbers without this test failing.
#[test]
fn every_example_keeps_its_claims() {
    let mut failures = Vec::new();
    for path in scenario_files() {
        if path.components().any(|c| c.as_os_str() == "changes" || c.as_os_str() == "bench") {
            continue;
        }
        let sc = stormcast::scenario::load_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!sc.expect.is_empty(), "{}: no [[expect]] claims for what its comments say", path.display());
        let outcomes = stormcast::expect::check_expectations(&path, &sc, None)
            .unwrap_or_else(|e| panic!("{}: a claim's variant does not load: {e}", path.display()));
        for o in outcomes.iter().filter(|o| !o.ok) {
            failures.push(format!(
                "{}: \"{}\": {} {} = {}, wanted {}",
                path.display(),
                o.claim,
                o.how,
                o.path,
                o.actual.as_ref().map_or("missing".to_string(), |v| v.to_string()),
                o.detail
            ));
        }
    }
    assert!(failures.is_empty(), "claims that do not hold:\n{}", failures.join("\n"));
}

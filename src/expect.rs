//! Checking a scenario's `[[expect]]` claims (`model::expect`): each claim's variant is
//! loaded, run at its seed or swept over its seeds, and the value at its path in
//! `summary.json` or `sweep.json` compared with what the claim says.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::model::Scenario;
use crate::model::expect::{ExpectCheck, ExpectRun, Expectation};
use crate::scenario::{LoadError, load_with_changes};
use crate::sim::simulate;
use crate::sweep::{SweepOptions, run_sweep};

/// One claim, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectOutcome {
    pub claim: String,
    /// e.g. `run --seed 1 --set services.db.workers=5`.
    pub how: String,
    pub path: String,
    /// The value found (`None`: the path does not exist in the output).
    pub actual: Option<Value>,
    pub ok: bool,
    /// What was wanted, e.g. `<= 10` or `= "overload"`, and why it failed when it did.
    pub detail: String,
}

/// Checks every `[[expect]]` of `scenario`, loaded from `path` with its overlays
/// (`--change` files and `--set` options); each claim's `set` options come after them.
/// Sweeps use `jobs` threads (`None`: all cores); outputs are the same for any value.
pub fn check_expectations(
    path: &Path,
    scenario: &Scenario,
    jobs: Option<usize>,
) -> Result<Vec<ExpectOutcome>, LoadError> {
    let changes: Vec<PathBuf> =
        scenario.overlays.iter().filter(|o| o.kind == "change").map(|o| PathBuf::from(&o.source)).collect();
    let base_sets: Vec<String> =
        scenario.overlays.iter().filter(|o| o.kind == "set").map(|o| o.source.clone()).collect();
    // Claims about the same run (seed or sweep, and variant) share it: one simulation
    // each, in the order first named.
    let mut runs: Vec<(&ExpectRun, &[String], String, Value)> = Vec::new();
    let mut outcomes = Vec::with_capacity(scenario.expect.len());
    for e in &scenario.expect {
        let known = runs.iter().position(|(run, sets, _, _)| **run == e.run && *sets == e.sets.as_slice());
        let index = match known {
            Some(i) => i,
            None => {
                let sets: Vec<String> = base_sets.iter().chain(&e.sets).cloned().collect();
                let variant =
                    if e.sets.is_empty() { scenario.clone() } else { load_with_changes(path, &changes, &sets)? };
                let (how, output) = match e.run {
                    ExpectRun::Seed(seed) => (
                        format!("run --seed {seed}"),
                        serde_json::to_value(simulate(&variant, seed)).expect("serializes"),
                    ),
                    ExpectRun::Sweep { seeds } => {
                        let mut opts = SweepOptions::new(seeds, variant.simulation.seed);
                        opts.jobs = jobs;
                        let sweep = run_sweep(&variant, &opts, &|| {});
                        (format!("sweep --seeds {seeds}"), serde_json::to_value(sweep).expect("serializes"))
                    }
                };
                let how = e.sets.iter().fold(how, |h, s| format!("{h} --set {s}"));
                runs.push((&e.run, e.sets.as_slice(), how, output));
                runs.len() - 1
            }
        };
        let (_, _, how, output) = &runs[index];
        outcomes.push(judge(e, how.clone(), output));
    }
    Ok(outcomes)
}

fn judge(e: &Expectation, how: String, output: &Value) -> ExpectOutcome {
    let found = lookup(output, &e.path);
    let (ok, detail) = match (&found, &e.check) {
        (Err(missing), _) => (false, missing.clone()),
        (Ok(v), ExpectCheck::Null) => (v.is_null(), "= null".to_string()),
        (Ok(v), ExpectCheck::Equals(want)) => (same(v, want), format!("= {want}")),
        (Ok(v), ExpectCheck::Range { min, max }) => {
            let want = match (min, max) {
                (Some(lo), Some(hi)) => format!("in [{lo}, {hi}]"),
                (Some(lo), None) => format!(">= {lo}"),
                (None, Some(hi)) => format!("<= {hi}"),
                (None, None) => "a number".to_string(),
            };
            let inside = v.as_f64().is_some_and(|x| min.is_none_or(|lo| x >= lo) && max.is_none_or(|hi| x <= hi));
            (inside, want)
        }
    };
    ExpectOutcome { claim: e.claim.clone(), how, path: e.path.clone(), actual: found.ok().cloned(), ok, detail }
}

/// Numbers compare as numbers (`4` equals `4.0`); everything else as JSON.
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The value at a dotted path; the error names the first segment not found and the
/// keys that were there.
fn lookup<'v>(root: &'v Value, path: &str) -> Result<&'v Value, String> {
    let mut at = root;
    let mut walked = Vec::new();
    for segment in path.split('.') {
        let next = match at {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        let Some(next) = next else {
            let there = match at {
                Value::Object(map) => format!("keys there: {}", map.keys().cloned().collect::<Vec<_>>().join(", ")),
                Value::Array(items) => format!("an array of {} items", items.len()),
                other => format!("a value, {other}"),
            };
            let place = if walked.is_empty() { "the top".to_string() } else { format!("`{}`", walked.join(".")) };
            return Err(format!("no `{segment}` at {place} ({there})"));
        };
        walked.push(segment);
        at = next;
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expectation(path: &str, check: ExpectCheck) -> Expectation {
        Expectation { claim: "c".into(), run: ExpectRun::Seed(1), sets: Vec::new(), path: path.into(), check }
    }

    /// Each kind of check passes and fails where it should, and a missing path fails
    /// with the keys that were there.
    #[test]
    fn checks_pass_and_fail() {
        let out = json!({"loads": {"users": {"recovery_s": 4.0, "never": null, "ok": [1, 2]}}});
        let run = |path: &str, check: ExpectCheck| judge(&expectation(path, check), String::new(), &out);
        let range = |min: Option<f64>, max: Option<f64>| ExpectCheck::Range { min, max };
        assert!(run("loads.users.recovery_s", range(None, Some(4.0))).ok);
        assert!(!run("loads.users.recovery_s", range(Some(4.5), None)).ok);
        assert!(run("loads.users.recovery_s", ExpectCheck::Equals(json!(4))).ok);
        assert!(!run("loads.users.recovery_s", ExpectCheck::Null).ok);
        assert!(run("loads.users.never", ExpectCheck::Null).ok);
        assert!(!run("loads.users.never", range(None, Some(1.0))).ok, "null is not a number");
        assert!(run("loads.users.ok.1", ExpectCheck::Equals(json!(2))).ok);
        let missing = run("loads.user.recovery_s", ExpectCheck::Null);
        assert!(!missing.ok && missing.detail == "no `user` at `loads` (keys there: users)", "{}", missing.detail);
    }
}

//! Every JSON output validates against its JSON Schema in `schemas/` (draft 2020-12),
//! and the schemas are strict enough to catch a missing, extra or mistyped field.
//!
//! `run` is covered for every example by `scenarios::every_scenario_loads_and_runs`
//! (which validates the summary of its seed-1 run, so nothing is simulated twice); here
//! the real binary writes `summary.json`, `sweep.json`, `vary.json`, `compare.json`,
//! and `rollout`'s `summary.json` (with its `rollout`) and `rollout.json`, into `--out`
//! on a small scenario, and the files themselves are validated.

use assert_cmd::Command;
use serde_json::{Value, json};
use std::path::Path;

/// The small example the commands run on: 80 s at 300 requests/s, with a fault, an SLO,
/// a breaker and a disturbance, so most optional fields have values.
const SMALL: &str = "scenarios/breaker.toml";

/// The schema `schemas/NAME.schema.json`, parsed.
pub fn schema(name: &str) -> Value {
    let path = format!("schemas/{name}.schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A draft 2020-12 validator for `schemas/NAME.schema.json`. Only local `$ref`s
/// (`#/$defs/...`) are used, and the crate is built without its HTTP and file
/// resolvers, so nothing is ever fetched.
pub fn validator(name: &str) -> jsonschema::Validator {
    jsonschema::draft202012::new(&schema(name)).unwrap_or_else(|e| panic!("schemas/{name}.schema.json: {e}"))
}

/// Every way `instance` breaks the schema, one line each (empty when it is valid).
pub fn violations(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator.iter_errors(instance).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

#[track_caller]
pub fn assert_valid(name: &str, instance: &Value, what: &str) {
    let errors = violations(&validator(name), instance);
    assert!(errors.is_empty(), "{what} does not follow schemas/{name}.schema.json:\n{}", errors.join("\n"));
}

fn stormcast() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stormcast"))
}

/// The JSON file at `path`, parsed, after checking that `format_version` is its first
/// field (a reader can check it before anything else).
fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let first = format!("{{\n  \"format_version\": {},\n", stormcast::stats::FORMAT_VERSION);
    assert!(text.starts_with(&first), "{}: format_version is not the first field", path.display());
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn schemas_are_valid_draft_2020_12() {
    for name in ["summary", "sweep", "vary", "compare", "rollout"] {
        let schema = schema(name);
        assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema", "{name}");
        if let Err(e) = jsonschema::meta::validate(&schema) {
            panic!("schemas/{name}.schema.json is not a valid schema: {e}");
        }
        assert_eq!(schema["properties"]["format_version"]["const"], stormcast::stats::FORMAT_VERSION, "{name}");
    }
}

/// The schemas are self-contained (a reader needs one file), so definitions are
/// repeated: a definition with the same name is the same in every file, and
/// `compare.schema.json`'s `sweep` is `sweep.schema.json`'s root.
#[test]
fn shared_definitions_agree() {
    let schemas: Vec<(&str, Value)> = ["summary", "sweep", "vary", "compare", "rollout"].map(|n| (n, schema(n))).into();
    for (i, (a, sa)) in schemas.iter().enumerate() {
        for (b, sb) in &schemas[i + 1..] {
            for (def, value) in sa["$defs"].as_object().unwrap() {
                if let Some(other) = sb["$defs"].get(def) {
                    assert_eq!(value, other, "$defs/{def} differs between {a} and {b}");
                }
            }
        }
    }
    let mut sweep_root = schema("sweep");
    for key in ["$schema", "title", "$defs"] {
        sweep_root.as_object_mut().unwrap().remove(key);
    }
    let compare = schema("compare");
    assert_eq!(compare["$defs"]["sweep"], sweep_root, "compare's sweep is sweep.schema.json");
    for (def, value) in schema("sweep")["$defs"].as_object().unwrap() {
        assert_eq!(compare["$defs"].get(def), Some(value), "compare.schema.json lacks sweep's $defs/{def}");
    }
}

#[test]
fn run_writes_a_summary_that_follows_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    stormcast().args(["run", SMALL, "--seed", "1", "--out"]).arg(dir.path()).assert().success();
    let summary = read_json(&dir.path().join("summary.json"));
    assert_valid("summary", &summary, "summary.json");
    // The fault makes recs unhealthy: an enum value and a nullable field with a value.
    assert_eq!(summary["services"]["recs"]["health"]["cause"], "fault");
}

#[test]
fn sweep_writes_a_sweep_json_that_follows_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    stormcast().args(["sweep", SMALL, "--seeds", "3", "--quiet", "--out"]).arg(dir.path()).assert().success();
    let sweep = read_json(&dir.path().join("sweep.json"));
    assert_valid("sweep", &sweep, "sweep.json");
    assert_eq!(sweep["runs"].as_array().map(Vec::len), Some(3));
}

#[test]
fn sweep_vary_writes_a_vary_json_that_follows_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    stormcast()
        .args(["sweep", SMALL, "--seeds", "3", "--vary", "load.0.rate=300..400:100", "--quiet", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    assert!(!dir.path().join("sweep.json").exists(), "--vary writes vary.json instead");
    let vary = read_json(&dir.path().join("vary.json"));
    assert_valid("vary", &vary, "vary.json");
    assert_eq!(vary["points"].as_array().map(Vec::len), Some(2));
}

#[test]
fn compare_writes_a_compare_json_that_follows_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    // A longer breaker timeout keeps pages waiting on the slow recs: gates with verdicts,
    // paired metrics with values, and replays.
    stormcast()
        .args(["compare", SMALL, "--set", "policies.recs-client.timeout=3s", "--seeds", "3", "--quiet"])
        .args(["--max-p99-increase", "0.1", "--max-slo-risk", "0.5", "--max-metastable-risk-increase", "0.2"])
        .arg("--out")
        .arg(dir.path())
        .assert()
        .code(1);
    let compare = read_json(&dir.path().join("compare.json"));
    assert_valid("compare", &compare, "compare.json");
    assert_eq!(compare["gates"].as_array().map(Vec::len), Some(3));
    assert!(compare.get("sequential").is_none(), "a fixed-seed compare has no sequential report");
    // The same with --seeds auto: the sequential report, its looks and why it stopped.
    stormcast()
        .args(["compare", SMALL, "--set", "policies.recs-client.timeout=3s", "--quiet"])
        .args(["--seeds", "auto", "--max-seeds", "6", "--batch", "3"])
        .args(["--max-p99-increase", "0.1", "--max-slo-risk", "0.5", "--max-metastable-risk-increase", "0.2"])
        .arg("--out")
        .arg(dir.path())
        .assert()
        .code(1);
    let compare = read_json(&dir.path().join("compare.json"));
    assert_valid("compare", &compare, "a sequential compare.json");
    let looks = compare["sequential"]["looks"].as_array().expect("looks");
    assert_eq!(looks.last().map(|l| &l["seeds"]), Some(&compare["seeds"]));
}

/// The canary scenario with its known-bad change under the strict analysis: rolled back
/// on every seed, each check with a value, and a load with an SLO.
const ROLLOUT: [&str; 6] = [
    "scenarios/canary.toml",
    "--change",
    "scenarios/changes/payment-errors.toml",
    "--strategy",
    "scenarios/rollouts/strict.toml",
    "--quiet",
];

#[test]
fn rollout_writes_a_summary_and_a_rollout_json_that_follow_their_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one");
    stormcast().arg("rollout").args(ROLLOUT).args(["--seed", "1", "--out"]).arg(&one).assert().success();
    let summary = read_json(&one.join("summary.json"));
    assert_valid("summary", &summary, "rollout's summary.json");
    assert_eq!(summary["rollout"]["outcome"], "rolled_back");
    assert_eq!(summary["rollout"]["checks"][0]["result"], "fail");
    let many = dir.path().join("many");
    // No [rollout.expect] in the strategy: ungated, exit code 1.
    stormcast().arg("rollout").args(ROLLOUT).args(["--seeds", "2", "--out"]).arg(&many).assert().code(1);
    let report = read_json(&many.join("rollout.json"));
    assert_valid("rollout", &report, "rollout.json");
    assert_eq!(report["per_seed"].as_array().map(Vec::len), Some(2));

    // Strict: a check result, an outcome or a field outside the schema is caught.
    type Edit = fn(&mut Value);
    let cases: [(&str, &Value, &str, Edit); 4] = [
        ("summary", &summary, "a check result outside its enum", |v| v["rollout"]["checks"][0]["result"] = json!("ok")),
        ("summary", &summary, "a rollout without outcome", |v| {
            v["rollout"].as_object_mut().unwrap().remove("outcome");
        }),
        ("rollout", &report, "an unknown field in a seed", |v| v["per_seed"][0]["extra"] = json!(1)),
        ("rollout", &report, "a share above 1", |v| v["rolled_back"]["high"] = json!(1.5)),
    ];
    for (name, original, what, edit) in cases {
        let mut broken = original.clone();
        edit(&mut broken);
        assert!(!violations(&validator(name), &broken).is_empty(), "{name}: {what} passes validation");
    }
}

/// Each schema rejects a file with a required field removed, an unknown field, a value of
/// the wrong type or outside its enum, and another format version: validation cannot
/// pass vacuously.
#[test]
fn schemas_catch_violations() {
    let scenario = stormcast::scenario::load_file(Path::new(SMALL)).unwrap();
    let mut opts = stormcast::sweep::SweepOptions::new(2, 1);
    opts.jobs = Some(1);
    let summary = serde_json::to_value(stormcast::sim::simulate(&scenario, 1)).unwrap();
    let sweep = stormcast::sweep::run_sweep(&scenario, &opts, &|| {});
    let sweep = serde_json::to_value(sweep).unwrap();
    let compare = stormcast::compare::run_compare(&scenario, &scenario, &opts, &scenario.gates, &|| {});
    let compare = serde_json::to_value(compare).unwrap();
    let vary = stormcast::sweep::run_vary(&[("load.0.rate=300".to_string(), scenario.clone())], &opts, &|| {});
    let vary = serde_json::to_value(vary).unwrap();

    type Edit = fn(&mut Value);
    let cases: [(&str, &Value, &str, Edit); 12] = [
        ("summary", &summary, "a load without success_rate", |v| {
            v["loads"]["users"].as_object_mut().unwrap().remove("success_rate");
        }),
        ("summary", &summary, "a service without health", |v| {
            v["services"]["recs"].as_object_mut().unwrap().remove("health");
        }),
        ("summary", &summary, "an unknown top-level field", |v| v["extra"] = json!(1)),
        ("summary", &summary, "another format version", |v| v["format_version"] = json!(2)),
        ("summary", &summary, "a health state outside its enum", |v| {
            v["services"]["recs"]["health"]["state"] = json!("degraded");
        }),
        ("summary", &summary, "a count as a string", |v| v["events"] = json!("1234")),
        ("sweep", &sweep, "a risk without its upper end", |v| {
            v["risks"]["users"]["slo_risk"].as_object_mut().unwrap().remove("high");
        }),
        ("sweep", &sweep, "a share above 1", |v| v["risks"]["users"]["metastable_risk"]["p"] = json!(1.5)),
        ("vary", &vary, "a point without its label", |v| {
            v["points"][0].as_object_mut().unwrap().remove("label");
        }),
        ("compare", &compare, "a verdict outside its enum", |v| v["verdict"] = json!("passed")),
        ("compare", &compare, "a metric verdict outside its enum", |v| {
            v["paired"]["users"]["p99_ms"]["verdict"] = json!("same");
        }),
        ("compare", &compare, "a base sweep without runs", |v| {
            v["base"].as_object_mut().unwrap().remove("runs");
        }),
    ];
    for (name, original, what, edit) in cases {
        let validator = validator(name);
        assert_eq!(violations(&validator, original), Vec::<String>::new(), "{name}: the unedited value is valid");
        let mut broken = original.clone();
        edit(&mut broken);
        assert_ne!(&broken, original, "{name}: {what}: the edit changed nothing");
        assert!(!violations(&validator, &broken).is_empty(), "{name}: {what} passes validation");
    }
}

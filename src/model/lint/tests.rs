//! Tests of the static lints: each lint fires on a scenario written for it (snapshot
//! of the rendered warnings) and stays quiet on a clean counterpart; the example
//! scenarios' lints are snapshotted so that a change in them is reviewed.

use super::*;
use crate::scenario::load_str;

const HEADER: &str = "[simulation]\nduration = \"60s\"\n\n";

fn lints_of(body: &str) -> Vec<Lint> {
    let text = format!("{HEADER}{body}");
    let s = load_str("test.toml", &text).unwrap_or_else(|e| panic!("invalid test scenario: {e}"));
    lint(&s)
}

fn rendered(lints: &[Lint]) -> String {
    lints.iter().map(|l| l.to_string()).collect::<Vec<_>>().join("\n")
}

fn kinds(lints: &[Lint]) -> Vec<LintKind> {
    lints.iter().map(|l| l.kind).collect()
}

fn example(path: &str) -> String {
    let file = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&file).expect("example scenario exists");
    let s = load_str(path, &text).unwrap_or_else(|e| panic!("{path} is invalid: {e}"));
    rendered(&lint(&s))
}

/// A chain users -> a/x -> b/y -> c/z -> d/w whose three calls use `{policy}`.
fn chain(policy: &str, extra: &str) -> String {
    format!(
        r#"
[services.a.endpoints.x]
latency = "1ms"
calls = [ {{ to = "b/y", policy = "{policy}" }} ]
[services.b.endpoints.y]
latency = "1ms"
calls = [ {{ to = "c/z", policy = "{policy}" }} ]
[services.c.endpoints.z]
latency = "1ms"
calls = [ {{ to = "d/w", policy = "{policy}" }} ]
[services.d.endpoints.w]
latency = "1ms"

{extra}

[[load]]
name = "users"
target = "a/x"
rate = 100
"#
    )
}

const SAFE_RETRY: &str = r#"retry = { max_attempts = 4, backoff = "exponential", base = "10ms", multiplier = 2.0, max = "1s", jitter = "full", on = ["error"] }
retry_budget = { kind = "concurrency", ratio = 0.1, min_concurrency = 3 }"#;

#[test]
fn three_layers_of_four_attempts_amplify_64x() {
    let lints = lints_of(&chain("p", &format!("[policies.p]\n{SAFE_RETRY}")));
    assert_eq!(kinds(&lints), [LintKind::RetryAmplification, LintKind::RetryLayers]);
    assert!(lints[0].message.starts_with("retry amplification 64x along load:users -> a/x -> b/y -> c/z -> d/w"));
    assert_eq!(lints[0].path, ["load:users", "a/x", "b/y", "c/z", "d/w"]);
    assert_eq!(lints[0].keys, ["policies.p.retry.max_attempts"]);
    insta::assert_snapshot!(rendered(&lints));
}

#[test]
fn one_layer_of_retries_is_clean() {
    let body = format!(
        r#"
[services.a.endpoints.x]
latency = "1ms"
calls = [ {{ to = "b/y" }} ]
[services.b.endpoints.y]
latency = "1ms"
calls = [ {{ to = "c/z", policy = "p" }} ]
[services.c.endpoints.z]
latency = "1ms"

[policies.p]
{SAFE_RETRY}

[[load]]
name = "users"
target = "a/x"
rate = 100
"#
    );
    assert_eq!(lints_of(&body), []);
}

#[test]
fn two_layers_of_two_attempts_warn_about_layers_only() {
    let policy = SAFE_RETRY.replace("max_attempts = 4", "max_attempts = 2");
    let body = format!(
        r#"
[services.a.endpoints.x]
latency = "1ms"
calls = [ {{ to = "b/y", policy = "p" }} ]
[services.b.endpoints.y]
latency = "1ms"
calls = [ {{ to = "c/z", policy = "p" }} ]
[services.c.endpoints.z]
latency = "1ms"

[policies.p]
{policy}

[[load]]
name = "users"
target = "a/x"
rate = 100
"#
    );
    let lints = lints_of(&body);
    assert_eq!(kinds(&lints), [LintKind::RetryLayers]);
    insta::assert_snapshot!(rendered(&lints));
}

#[test]
fn users_retries_count_in_amplification_but_not_as_a_layer() {
    // Users retry 3 times, one service layer 4 times: 12x, but only one layer the
    // operator controls.
    let body = format!(
        r#"
[services.a.endpoints.x]
latency = "1ms"
calls = [ {{ to = "b/y", policy = "p" }} ]
[services.b.endpoints.y]
latency = "1ms"

[policies.p]
{SAFE_RETRY}

[policies.users]
retry = {{ max_attempts = 3, backoff = "constant", base = "1s", on = ["error"] }}

[[load]]
name = "users"
target = "a/x"
rate = 100
policy = "users"
"#
    );
    let lints = lints_of(&body);
    assert_eq!(kinds(&lints), [LintKind::RetryAmplification]);
    assert_eq!(lints[0].keys, ["policies.users.retry.max_attempts", "policies.p.retry.max_attempts"]);
    insta::assert_snapshot!(rendered(&lints));
}

/// users -> edge/page (edge-client) -> api/render -> cache/get, db/query (db-client).
fn stack(edge_client: &str, db_client: &str) -> String {
    format!(
        r#"
[services.edge.endpoints.page]
latency = "1ms"
calls = [ {{ to = "api/render", policy = "edge-client" }} ]
[services.api.endpoints.render]
latency = "5ms"
calls = [ {{ to = "cache/get" }}, {{ to = "db/query", policy = "db-client" }} ]
[services.cache.endpoints.get]
latency = "1ms"
[services.db.endpoints.query]
latency = "10ms"

[policies.edge-client]
{edge_client}

[policies.db-client]
{db_client}

[[load]]
name = "users"
target = "edge/page"
rate = 100
"#
    )
}

const BUDGET: &str = r#"retry_budget = { kind = "concurrency", ratio = 0.1, min_concurrency = 3 }"#;

#[test]
fn timeouts_that_grow_down_the_stack_warn() {
    let db = format!(
        "timeout = \"3s\"\nretry = {{ max_attempts = 2, backoff = \"constant\", base = \"100ms\", on = [\"timeout\"] }}\n{BUDGET}"
    );
    let lints = lints_of(&stack("timeout = \"1s\"", &db));
    assert_eq!(kinds(&lints), [LintKind::CalleeTimeoutLonger]);
    assert_eq!(lints[0].keys, ["policies.edge-client.timeout", "policies.db-client.timeout"]);
    insta::assert_snapshot!(rendered(&lints));
}

#[test]
fn retries_that_outlast_the_caller_are_a_timeout_inversion() {
    // 3 tries x 400ms + 2 x 100ms backoff = 1.4s below a caller that waits 1s.
    let db = format!(
        "timeout = \"400ms\"\nretry = {{ max_attempts = 3, backoff = \"constant\", base = \"100ms\", on = [\"timeout\"] }}\n{BUDGET}"
    );
    let lints = lints_of(&stack("timeout = \"1s\"", &db));
    assert_eq!(kinds(&lints), [LintKind::TimeoutInversion]);
    assert_eq!(
        lints[0].keys,
        ["policies.edge-client.timeout", "policies.db-client.timeout", "policies.db-client.retry.max_attempts"]
    );
    insta::assert_snapshot!(rendered(&lints));
}

#[test]
fn a_deadline_bounds_the_inversion() {
    // The same retries, cut by a 700ms deadline: 700ms + 6ms of work fit in 1s.
    let db = format!(
        "timeout = \"400ms\"\ndeadline = \"700ms\"\nretry = {{ max_attempts = 3, backoff = \"constant\", base = \"100ms\", on = [\"timeout\"] }}\n{BUDGET}"
    );
    assert_eq!(lints_of(&stack("timeout = \"1s\"", &db)), []);
}

#[test]
fn shrinking_timeouts_are_clean() {
    // 3 tries x 200ms + 2 x 100ms = 800ms, plus about 6ms of work: within 1s.
    let db = format!(
        "timeout = \"200ms\"\nretry = {{ max_attempts = 3, backoff = \"constant\", base = \"100ms\", on = [\"timeout\"] }}\n{BUDGET}"
    );
    assert_eq!(lints_of(&stack("timeout = \"1s\"", &db)), []);
}

#[test]
fn a_timeout_below_the_mean_response_warns() {
    let lints = lints_of(&stack("timeout = \"10ms\"", "timeout = \"5ms\""));
    assert_eq!(kinds(&lints), [LintKind::TimeoutBelowResponse, LintKind::TimeoutBelowResponse]);
    insta::assert_snapshot!(rendered(&lints));
}

#[test]
fn an_infinite_mean_is_not_a_timeout_warning() {
    // A Pareto tail with alpha <= 1 has no finite mean; its typical call is still fast.
    let body = stack("timeout = \"1s\"", "timeout = \"100ms\"").replace(
        "[services.db.endpoints.query]\nlatency = \"10ms\"",
        "[services.db.endpoints.query]\nlatency = { dist = \"pareto\", min = \"1ms\", alpha = 0.9 }",
    );
    assert!(body.contains("pareto"));
    assert_eq!(lints_of(&body), []);
}

#[test]
fn retries_without_a_budget_or_backoff_warn() {
    let body = r#"
[services.api.endpoints.get]
latency = "100us"
calls = [ { to = "db/query", policy = "db-client" }, { to = "db/write", policy = "db-client" } ]
[services.db.endpoints.query]
latency = "2ms"
[services.db.endpoints.write]
latency = "2ms"

[policies.db-client]
timeout = "20ms"
retry = { max_attempts = 4, backoff = "none", on = ["timeout"] }

[[load]]
name = "users"
target = "api/get"
rate = 100
"#;
    let lints = lints_of(body);
    assert_eq!(kinds(&lints), [LintKind::RetryWithoutBudget, LintKind::RetryWithoutBackoff]);
    insta::assert_snapshot!(rendered(&lints));
}

#[test]
fn a_breaker_counts_as_a_guard_against_retry_storms() {
    let body = r#"
[services.api.endpoints.get]
latency = "100us"
calls = [ { to = "db/query", policy = "db-client" } ]
[services.db.endpoints.query]
latency = "2ms"

[policies.db-client]
timeout = "20ms"
retry = { max_attempts = 3, backoff = "exponential", base = "5ms", multiplier = 2.0, max = "100ms", jitter = "full", on = ["timeout"] }
circuit_breaker = { window = "count", size = 50, min_calls = 20 }

[[load]]
name = "users"
target = "api/get"
rate = 100
"#;
    assert_eq!(lints_of(body), []);
}

#[test]
fn a_deadline_within_the_timeout_makes_timeout_retries_dead() {
    let body = format!(
        r#"
[services.api.endpoints.get]
latency = "100us"
calls = [ {{ to = "db/query", policy = "db-client" }} ]
[services.db.endpoints.query]
latency = "2ms"

[policies.db-client]
timeout = "500ms"
deadline = "500ms"
retry = {{ max_attempts = 3, backoff = "constant", base = "10ms", on = ["timeout", "error"] }}
{BUDGET}

[[load]]
name = "users"
target = "api/get"
rate = 100
"#
    );
    let lints = lints_of(&body);
    assert_eq!(kinds(&lints), [LintKind::DeadlineWithinTimeout]);
    insta::assert_snapshot!(rendered(&lints));
}

/// users (open, `rate`/s) -> front/page (4 instances) -> back/get under a breaker.
fn breaker(rate: &str, breaker: &str) -> String {
    format!(
        r#"
[services.front]
instances = 4
[services.front.endpoints.page]
latency = "1ms"
calls = [ {{ to = "back/get", policy = "guarded" }} ]
[services.back.endpoints.get]
latency = "5ms"

[policies.guarded]
timeout = "100ms"
circuit_breaker = {breaker}

[[load]]
name = "users"
target = "front/page"
rate = {rate}
"#
    )
}

#[test]
fn a_breaker_whose_window_traffic_cannot_fill_warns() {
    // 20/s over 4 instances is 5/s each: 50 calls in 10s, below min_calls = 100.
    let lints = lints_of(&breaker("20", r#"{ window = "time", size = 10, min_calls = 100 }"#));
    assert_eq!(kinds(&lints), [LintKind::BreakerCannotOpen]);
    assert_eq!(lints[0].keys, ["policies.guarded.circuit_breaker.min_calls", "policies.guarded.circuit_breaker.size"]);
    insta::assert_snapshot!(rendered(&lints));
}

#[test]
fn a_breaker_with_enough_traffic_is_clean() {
    // 100/s over 4 instances: 250 calls in 10s.
    assert_eq!(lints_of(&breaker("100", r#"{ window = "time", size = 10, min_calls = 100 }"#)), []);
}

#[test]
fn a_count_breaker_with_min_calls_above_its_size_is_noted() {
    let lints = lints_of(&breaker("100", r#"{ window = "count", size = 20, min_calls = 50 }"#));
    assert_eq!(kinds(&lints), [LintKind::BreakerMinCallsCapped]);
    insta::assert_snapshot!(rendered(&lints));
}

#[test]
fn closed_loops_bound_the_breaker_rate_from_above() {
    // 10 users thinking 1s on average send at most 10/s: 2.5/s per instance, 25 in 10s.
    let body = breaker("100", r#"{ window = "time", size = 10, min_calls = 100 }"#)
        .replace("rate = 100", "users = 10\nthink_time = { dist = \"exponential\", mean = \"1s\" }");
    let lints = lints_of(&body);
    assert_eq!(kinds(&lints), [LintKind::BreakerCannotOpen]);
    assert!(lints[0].message.contains("at most 2.5/s"), "{}", lints[0].message);
}

#[test]
fn inline_policies_are_named_by_their_toml_keys() {
    let body = r#"
[services.a]
client = { retry = { max_attempts = 3, backoff = "none", on = ["error"] } }
[services.a.endpoints.x]
latency = "1ms"
calls = [ { to = "b/y" }, { parallel = [ { to = "b/z", policy = { retry = { max_attempts = 5, backoff = "none", on = ["error"] } } } ] } ]
[services.b.endpoints.y]
latency = "1ms"
[services.b.endpoints.z]
latency = "1ms"

[[load]]
name = "users"
target = "a/x"
rate = 100
policy = { retry = { max_attempts = 2, backoff = "none", on = ["error"] } }
"#;
    let lints = lints_of(body);
    let keys: Vec<&str> = lints.iter().flat_map(|l| l.keys.iter().map(String::as_str)).collect();
    assert!(keys.contains(&"load[0].policy.retry.max_attempts"), "{keys:?}");
    assert!(keys.contains(&"services.a.client.retry.max_attempts"), "{keys:?}");
    assert!(keys.contains(&"services.a.endpoints.x.calls[1].parallel[0].policy.retry.max_attempts"), "{keys:?}");
    insta::assert_snapshot!(rendered(&lints));
}

#[test]
fn lints_are_deterministic() {
    let text = format!(
        "{HEADER}{}",
        chain("p", "[policies.p]\ntimeout = \"1s\"\nretry = { max_attempts = 3, on = [\"timeout\"] }")
    );
    let s = load_str("test.toml", &text).expect("valid");
    assert_eq!(lint(&s), lint(&s));
}

#[test]
fn checkout_example() {
    insta::assert_snapshot!(example("scenarios/checkout.toml"));
}

#[test]
fn retry_storm_example() {
    let text = example("scenarios/retry-storm.toml");
    assert!(text.contains("neither a retry budget nor a circuit breaker"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn retry_storm_budget_example() {
    insta::assert_snapshot!(example("scenarios/retry-storm-budget.toml"));
}

#[test]
fn timeout_cascade_example() {
    let text = example("scenarios/timeout-cascade.toml");
    assert!(text.contains("policies.db-client.timeout"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn breaker_example() {
    insta::assert_snapshot!(example("scenarios/breaker.toml"));
}

#[test]
fn checkout_with_six_payment_attempts_amplifies_12x() {
    // The users' 2 attempts times payment's 6: the realistic file, one key changed.
    let file = format!("{}/scenarios/checkout.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(file).expect("checkout.toml exists");
    let text = text.replacen("max_attempts = 3", "max_attempts = 6", 1);
    let lints = lint(&load_str("checkout.toml", &text).expect("valid"));
    assert_eq!(kinds(&lints), [LintKind::RetryAmplification]);
    assert!(
        lints[0]
            .message
            .starts_with("retry amplification 12x along load:shoppers -> frontend/checkout -> payment/charge")
    );
}

#[test]
fn every_example_scenario_lints_without_panicking() {
    let dir = format!("{}/scenarios", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(dir).expect("scenarios/").map(|e| e.expect("entry").path()).collect();
    files.sort();
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "toml")) {
        let text = std::fs::read_to_string(file).expect("readable");
        let s = load_str(&file.display().to_string(), &text).expect("valid");
        let lints = lint(&s);
        assert!(lints.iter().all(|l| !l.message.is_empty() && !l.path.is_empty()), "{}", file.display());
    }
}

//! Tests of the static lints: each lint fires on a scenario written for it (snapshot
//! of the rendered warnings) and stays quiet on a clean counterpart; the example
//! scenarios' lints are snapshotted so that a change in them is reviewed.

use super::*;
use crate::model::resilience::{admission_control, breaker, outlier, throttling};
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
    assert_eq!(kinds(&lints), [breaker::CANNOT_OPEN]);
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
    assert_eq!(kinds(&lints), [breaker::MIN_CALLS_CAPPED]);
    insta::assert_snapshot!(rendered(&lints));
}

#[test]
fn closed_loops_bound_the_breaker_rate_from_above() {
    // 10 users thinking 1s on average send at most 10/s: 2.5/s per instance, 25 in 10s.
    let body = breaker("100", r#"{ window = "time", size = 10, min_calls = 100 }"#)
        .replace("rate = 100", "users = 10\nthink_time = { dist = \"exponential\", mean = \"1s\" }");
    let lints = lints_of(&body);
    assert_eq!(kinds(&lints), [breaker::CANNOT_OPEN]);
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

// ---- issue #12: honest figures, budgets that cannot bind, unbounded backoff ----

/// 100 attempts of exponential backoff from 10ms without `max`: the nominal total
/// saturates `SimDuration` (2^64 ns). The message used to read "may wait up to
/// 18446744073.71s"; it now says the wait is without bound, and no saturated count
/// leaks into any message.
#[test]
fn a_saturated_wait_is_said_to_be_without_bound() {
    let db = format!(
        "timeout = \"400ms\"\nretry = {{ max_attempts = 100, backoff = \"exponential\", base = \"10ms\", on = [\"timeout\"] }}\n{BUDGET}"
    );
    let lints = lints_of(&stack("timeout = \"1s\"", &db));
    assert_eq!(kinds(&lints), [LintKind::RetryAmplification, LintKind::TimeoutInversion, LintKind::BackoffWithoutMax]);
    let text = rendered(&lints);
    assert!(!text.contains("18446744"), "{text}");
    assert!(lints[1].message.contains("may wait without bound (over 584 years) for db/query"), "{text}");
    assert!(lints[1].message.contains("100 tries x 400ms + over 584 years of backoff"), "{text}");
    insta::assert_snapshot!(text);
}

/// Three layers of 2^32 - 1 attempts overflow a u64 product: shown as a float, not as
/// the saturated 18446744073709551615.
#[test]
fn an_amplification_beyond_u64_is_shown_in_scientific_notation() {
    let policy = "[policies.p]\nretry = { max_attempts = 4294967295, backoff = \"exponential\", base = \"10ms\", \
                  multiplier = 2.0, max = \"1s\", on = [\"error\"] }\nretry_budget = { kind = \"concurrency\", ratio = 0.1 }";
    let lints = lints_of(&chain("p", policy));
    let amplification = lints.iter().find(|l| l.kind == LintKind::RetryAmplification).expect("amplification");
    assert!(amplification.message.starts_with("retry amplification 7.92e28x along"), "{}", amplification.message);
    assert!(!rendered(&lints).contains("18446744073709551615"), "{}", rendered(&lints));
}

/// api/get -> db/query under `db-client` (20ms per try, `retry`, `budget`), `rate`/s
/// for the 60s of HEADER.
fn budgeted(rate: &str, retry: &str, budget: &str) -> String {
    format!(
        r#"
[services.api.endpoints.get]
latency = "100us"
calls = [ {{ to = "db/query", policy = "db-client" }} ]
[services.db.endpoints.query]
latency = "2ms"

[policies.db-client]
timeout = "20ms"
retry = {retry}
retry_budget = {budget}

[[load]]
name = "users"
target = "api/get"
rate = {rate}
"#
    )
}

const THREE_TRIES: &str = r#"{ max_attempts = 3, backoff = "exponential", base = "5ms", multiplier = 2.0, max = "100ms", jitter = "full", on = ["timeout"] }"#;
const TWO_TRIES: &str =
    r#"{ max_attempts = 2, backoff = "constant", base = "5ms", jitter = "full", on = ["timeout"] }"#;

fn budget_lints(rate: &str, retry: &str, budget: &str) -> Vec<Lint> {
    lints_of(&budgeted(rate, retry, budget))
}

/// The documented defaults of every kind, at 100 requests/s, can refuse: quiet.
#[test]
fn default_budgets_can_bind() {
    for budget in [
        r#"{ kind = "concurrency" }"#,
        r#"{ kind = "token_bucket" }"#,
        r#"{ kind = "grpc_throttling" }"#,
        r#"{ kind = "concurrency", ratio = 0.99, min_concurrency = 11999 }"#,
        r#"{ kind = "token_bucket", ratio = 1.0, capacity = 11999 }"#,
    ] {
        assert_eq!(budget_lints("100", THREE_TRIES, budget), [], "{budget}");
    }
}

/// A concurrency budget at ratio 1 lets a retry through for every attempt in flight.
#[test]
fn a_concurrency_budget_at_ratio_one_cannot_bind() {
    let lints = budget_lints("100", THREE_TRIES, r#"{ kind = "concurrency", ratio = 1.0 }"#);
    assert_eq!(kinds(&lints), [LintKind::RetryBudgetCannotBind]);
    assert_eq!(lints[0].keys, ["policies.db-client.retry_budget.ratio", "policies.db-client.retry.max_attempts"]);
    insta::assert_snapshot!(rendered(&lints));
}

/// min_concurrency above every retry the run can make: 100/s for 60s is 6,000 calls,
/// 12,000 retries at 3 attempts; 12,000 never refuses, 11,999 could.
#[test]
fn a_min_concurrency_beyond_the_runs_retries_cannot_bind() {
    let lints = budget_lints("100", THREE_TRIES, r#"{ kind = "concurrency", ratio = 0.2, min_concurrency = 12000 }"#);
    assert_eq!(kinds(&lints), [LintKind::RetryBudgetCannotBind]);
    assert_eq!(lints[0].keys[0], "policies.db-client.retry_budget.min_concurrency");
    assert!(
        lints[0].message.contains("the whole 60s run can make at most about 12000 retries"),
        "{}",
        lints[0].message
    );
    insta::assert_snapshot!(rendered(&lints));
}

/// A token bucket that deposits a whole token per first try pays for the one retry of
/// two attempts; with three attempts it still halves the retries (quiet).
#[test]
fn a_token_bucket_that_refunds_every_retry_cannot_bind() {
    let budget = r#"{ kind = "token_bucket", ratio = 1.0, capacity = 10 }"#;
    let lints = budget_lints("100", TWO_TRIES, budget);
    assert_eq!(kinds(&lints), [LintKind::RetryBudgetCannotBind]);
    assert_eq!(lints[0].keys[0], "policies.db-client.retry_budget.ratio");
    insta::assert_snapshot!(rendered(&lints));
    assert_eq!(budget_lints("100", THREE_TRIES, budget), []);
}

/// A bucket larger than the run's retries never runs dry; the bound counts the load's
/// peak rate (a spike in its profile), not only its starting rate.
#[test]
fn a_token_bucket_too_large_to_drain_cannot_bind() {
    let budget = r#"{ kind = "token_bucket", ratio = 0.1, capacity = 1e9 }"#;
    let lints = budget_lints("100", THREE_TRIES, budget);
    assert_eq!(kinds(&lints), [LintKind::RetryBudgetCannotBind]);
    assert_eq!(lints[0].keys[0], "policies.db-client.retry_budget.capacity");
    insta::assert_snapshot!(rendered(&lints));
    // 20,000 tokens: above 12,000 retries at 100/s, below 36,000 with a 300/s spike.
    let budget = r#"{ kind = "token_bucket", ratio = 0.1, capacity = 20000 }"#;
    assert_eq!(kinds(&budget_lints("100", THREE_TRIES, budget)), [LintKind::RetryBudgetCannotBind]);
    let spiked = budgeted("100", THREE_TRIES, budget)
        .replace("rate = 100\n", "rate = 100\nprofile = [ { at = \"10s\", rate = 300 } ]\n");
    assert!(spiked.contains("profile"));
    assert_eq!(lints_of(&spiked), []);
}

/// gRPC throttling stops retries once half of max_tokens is lost, one per failure: 1
/// request/s for 60s with 3 attempts fails at most 180 attempts, fewer than 500.
#[test]
fn grpc_throttling_the_run_cannot_exhaust_cannot_bind() {
    let budget = r#"{ kind = "grpc_throttling", max_tokens = 1000, token_ratio = 0.1 }"#;
    let lints = budget_lints("1", THREE_TRIES, budget);
    assert_eq!(kinds(&lints), [LintKind::RetryBudgetCannotBind]);
    assert_eq!(lints[0].keys[0], "policies.db-client.retry_budget.max_tokens");
    insta::assert_snapshot!(rendered(&lints));
    assert_eq!(budget_lints("100", THREE_TRIES, budget), []);
}

/// Exponential backoff without `max`: quiet while the last retry waits at most 10 x base
/// (Envoy's default cap; 5 attempts of x2 wait 8 x base last), a warning beyond (6
/// attempts: 16 x base), and quiet again with a `max`.
#[test]
fn exponential_backoff_without_max_warns_once_it_outgrows_ten_bases() {
    let retry = |attempts: u32, max: &str| {
        format!(
            "{{ max_attempts = {attempts}, backoff = \"exponential\", base = \"10ms\", multiplier = 2.0{max}, jitter = \"full\", on = [\"timeout\"] }}"
        )
    };
    let budget = r#"{ kind = "concurrency" }"#;
    assert_eq!(budget_lints("100", &retry(5, ""), budget), []);
    let lints = budget_lints("100", &retry(6, ""), budget);
    assert_eq!(kinds(&lints), [LintKind::BackoffWithoutMax]);
    assert_eq!(lints[0].keys, ["policies.db-client.retry.max", "policies.db-client.retry.max_attempts"]);
    assert!(lints[0].message.contains("the last of its 5 retries waits 160ms before jitter"), "{}", lints[0].message);
    insta::assert_snapshot!(rendered(&lints));
    assert_eq!(budget_lints("100", &retry(6, ", max = \"1s\""), budget), []);
}

/// What a base file defines and nothing uses is a warning (an overlay gets an error
/// instead): a service no load reaches, an endpoint nobody calls, a named policy
/// nobody uses, and a fault on an edge no call takes.
#[test]
fn unused_definitions_warn() {
    let lints = lints_of(
        r#"
[services.api.endpoints.get]
latency = "1ms"
calls = [ { to = "db/query" } ]
[services.api.endpoints.admin]
latency = "1ms"
[services.db.endpoints.query]
latency = "1ms"
[services.orphan.endpoints.idle]
latency = "1ms"
[policies.forgotten]
timeout = "1s"
[[load]]
name = "users"
target = "api/get"
rate = 10
[[fault]]
kind = "partition"
target = "db->api"
at = "1s"
duration = "1s"
"#,
    );
    assert_eq!(kinds(&lints), [LintKind::Unused; 4], "{}", rendered(&lints));
    insta::assert_snapshot!(rendered(&lints));
    // Everything used: no such warning.
    let clean = lints_of(
        "[services.api.endpoints.get]\nlatency = \"1ms\"\n[[load]]\nname = \"u\"\ntarget = \"api/get\"\nrate = 1\n",
    );
    assert!(!kinds(&clean).contains(&LintKind::Unused));
}

/// Adaptive throttling with `k` below 1 rejects healthy traffic: warned once per policy,
/// at its key; `k = 1` and the default are fine.
#[test]
fn adaptive_throttling_below_one_warns_once() {
    let with = |throttling: &str| {
        format!(
            r#"
[services.front.endpoints.page]
latency = "1ms"
calls = [ {{ to = "back/get", policy = "p" }}, {{ to = "back/get", policy = "p" }} ]
[services.back.endpoints.get]
latency = "5ms"
[policies.p]
timeout = "100ms"
adaptive_throttling = {throttling}
[[load]]
name = "users"
target = "front/page"
rate = 10
"#
        )
    };
    let lints = lints_of(&with("{ k = 0.8 }"));
    assert_eq!(kinds(&lints), [throttling::K_BELOW_ONE]);
    assert_eq!(lints[0].keys, ["policies.p.adaptive_throttling.k"]);
    assert!(lints[0].message.contains("rejects about 20% of tries"), "{}", lints[0].message);
    assert!(lints_of(&with("{ k = 1.0 }")).is_empty());
    assert!(lints_of(&with("{}")).is_empty());
    // Admission control's aggression below 1 is treated as 1: the value has no effect.
    let lints = lints_of(&with("{}\nadmission_control = { aggression = 0.5 }"));
    assert_eq!(kinds(&lints), [admission_control::AGGRESSION_BELOW_ONE]);
    assert_eq!(lints[0].keys, ["policies.p.admission_control.aggression"]);
}

/// Outlier detection, with the callee's instance count: ejection that can take half the
/// instances or more out of rotation before the balancer panics concentrates the load on
/// the rest; ejection that can never take one out (a single instance, whose ejection is
/// always a panic) does nothing. Envoy's defaults on four instances are clean.
#[test]
fn outlier_detection_that_overloads_the_rest_or_cannot_act() {
    let with = |instances: u32, detection: &str| {
        format!(
            r#"
[services.front.endpoints.page]
latency = "1ms"
calls = [ {{ to = "back/get", policy = "p" }} ]
[services.back]
instances = {instances}
[services.back.endpoints.get]
latency = "5ms"
[policies.p]
outlier_detection = {detection}
[[load]]
name = "users"
target = "front/page"
rate = 10
"#
        )
    };
    assert!(lints_of(&with(4, "{}")).is_empty());
    // 100% on 4 instances: 2 can go (50% in service is not below the 50% threshold).
    let lints = lints_of(&with(4, "{ max_ejection_percent = 100 }"));
    assert_eq!(kinds(&lints), [outlier::OVERLOADS_SURVIVORS]);
    assert_eq!(
        lints[0].keys,
        ["policies.p.outlier_detection.max_ejection_percent", "policies.p.outlier_detection.panic_threshold"]
    );
    assert!(lints[0].message.contains("eject 2 of the 4 instances of back"), "{}", lints[0].message);
    assert!(lints[0].message.contains("take 2x their share"), "{}", lints[0].message);
    // One instance: ejecting it leaves 0% in service, always a panic.
    let lints = lints_of(&with(1, "{}"));
    assert_eq!(kinds(&lints), [outlier::CANNOT_EJECT]);
    assert!(lints[0].message.contains("below panic_threshold = 50%"), "{}", lints[0].message);
    assert_eq!(kinds(&lints_of(&with(4, "{ max_ejection_percent = 0 }"))), [outlier::CANNOT_EJECT]);
}

/// Hedging with nothing that limits its copies, and a delay below the callee's mean
/// response (5 ms against about 10 ms), each warned once, at the keys to change; a
/// budget and a delay past the mean silence both.
#[test]
fn hedging_without_budget_and_a_delay_below_the_response_are_flagged() {
    let body = |policy: &str| {
        format!(
            r#"
[services.api.endpoints.get]
latency = "100us"
calls = [ {{ to = "db/query", policy = "db-client" }} ]
[services.db.endpoints.query]
latency = "10ms"

[policies.db-client]
{policy}

[[load]]
name = "users"
target = "api/get"
rate = 100
"#
        )
    };
    let lints = lints_of(&body(r#"hedging = { max_attempts = 3, delay = "5ms" }"#));
    assert_eq!(kinds(&lints), [LintKind::HedgingWithoutBudget, LintKind::HedgeDelayBelowResponse]);
    assert_eq!(lints[0].keys, ["policies.db-client.hedging.max_attempts", "policies.db-client.retry_budget"]);
    assert_eq!(lints[1].keys, ["policies.db-client.hedging.delay"]);
    assert!(lints[1].message.contains("after 5ms, but db/query takes about 10ms"), "{}", lints[1].message);
    let quiet = body(
        r#"hedging = { max_attempts = 3, delay = "20ms" }
retry_budget = { kind = "grpc_throttling" }"#,
    );
    assert_eq!(kinds(&lints_of(&quiet)), []);
}

//! Bad input gives a located error, never a panic: the classes of bad input that the
//! loader's own snapshot tests (`src/scenario/tests.rs`) do not already cover, plus the
//! regressions found by fuzzing (`fuzz/`).
//!
//! Already covered there, and not repeated here: empty file, invalid UTF-8, negative
//! and NaN distribution parameters, zero workers, `instances = 1e12` (a float), unknown
//! duration units, a duration without a unit, p99 below median, unknown distribution,
//! call cycles and self-calls.

use stormcast::scenario::{Diagnostic, load_bytes, load_str};

/// A valid scenario; each test changes one line of it.
const BASE: &str = r#"[simulation]
duration = "60s"

[services.frontend]
workers = 8
endpoints.checkout = { latency = "5ms", calls = [ { to = "cart/get" } ] }

[services.cart]
endpoints.get = { latency = "1ms" }

[policies.client]
timeout = "800ms"

[[load]]
name = "shoppers"
target = "frontend/checkout"
rate = 100
"#;

/// BASE with `from` replaced by `to`.
fn with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "BASE lacks {from:?}");
    BASE.replacen(from, to, 1)
}

/// Loads `text`, which must be refused, and returns the first problem, checking that it
/// names the file and has a line and a column.
#[track_caller]
fn first_error(text: &str) -> Diagnostic {
    let e = match load_str("bad.toml", text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e,
    };
    let rendered = e.to_string();
    assert!(rendered.starts_with("error: "), "{rendered}");
    let d = e.diagnostics().first().expect("at least one diagnostic").clone();
    assert_eq!(d.file, "bad.toml", "{rendered}");
    assert!(d.location.is_some(), "unlocated: {rendered}");
    d
}

/// The error for `text` is at `line:column` and its message mentions each of `words`
/// (the key, and the table it is in).
#[track_caller]
fn assert_error_at(text: &str, line: usize, column: usize, words: &[&str]) {
    let d = first_error(text);
    let l = d.location.as_ref().expect("located");
    assert_eq!((l.line, l.column), (line, column), "wrong place for:\n{d}");
    for w in words {
        assert!(d.message.contains(w), "message does not name {w:?}:\n{d}");
    }
}

#[test]
fn base_is_valid() {
    load_str("base.toml", BASE).expect("BASE loads");
}

#[test]
fn zero_instances() {
    assert_error_at(&with("workers = 8", "workers = 8\ninstances = 0"), 6, 13, &["`instances`", "`frontend`"]);
}

#[test]
fn instances_as_a_huge_integer_are_refused_with_the_limit() {
    let text = with("workers = 8", "workers = 8\ninstances = 1_000_000_000_000");
    assert_error_at(&text, 6, 13, &["`instances`", "100000"]);
    // The largest fleet allowed is accepted.
    load_str("ok.toml", &with("workers = 8", "workers = 8\ninstances = 100000")).expect("100000 instances");
    assert_error_at(&with("workers = 8", "workers = 8\ninstances = 100001"), 6, 13, &["`instances`", "100000"]);
}

#[test]
fn workers_are_a_counter_so_a_huge_count_is_accepted_without_allocating() {
    // `1e12` as a float is a whole number: accepted, and the run allocates nothing per
    // worker (a short run finishes at once).
    for workers in ["1e12", "1_000_000_000_000"] {
        let mut s = load_str("ok.toml", &with("workers = 8", &format!("workers = {workers}"))).expect(workers);
        assert_eq!(s.services[0].workers, 1_000_000_000_000);
        s.simulation.duration = stormcast::engine::SimDuration::from_secs(1);
        let r = stormcast::sim::simulate(&s, 1);
        assert!(r.loads[0].requests > 0);
    }
}

#[test]
fn fractional_and_negative_counts() {
    assert_error_at(&with("workers = 8", "workers = 2.5"), 5, 11, &["`workers`", "`frontend`"]);
    assert_error_at(&with("workers = 8", "workers = -3"), 5, 11, &["`workers`", "`frontend`"]);
    assert_error_at(&with("workers = 8", "workers = nan"), 5, 11, &["`workers`", "`frontend`"]);
    assert_error_at(&with("workers = 8", "workers = inf"), 5, 11, &["`workers`", "`frontend`"]);
}

#[test]
fn nan_inf_and_negative_rates() {
    for bad in ["nan", "inf", "-inf", "-5"] {
        assert_error_at(&with("rate = 100", &format!("rate = {bad}")), 17, 8, &["`rate`"]);
    }
}

#[test]
fn nan_and_out_of_range_probabilities() {
    let line = "endpoints.get = { latency = \"1ms\" }";
    for bad in ["nan", "-0.1", "1.5", "inf"] {
        let text = with(line, &format!("endpoints.get = {{ latency = \"1ms\", error_rate = {bad} }}"));
        assert_error_at(&text, 9, 49, &["`error_rate`"]);
    }
    for bad in ["nan", "-1", "2"] {
        let text = with("{ to = \"cart/get\" }", &format!("{{ to = \"cart/get\", probability = {bad} }}"));
        let d = first_error(&text);
        assert_eq!(d.location.as_ref().unwrap().line, 6, "{d}");
        assert!(d.message.contains("`probability`"), "{d}");
    }
}

#[test]
fn negative_and_overflowing_durations() {
    assert_error_at(&with("timeout = \"800ms\"", "timeout = \"-800ms\""), 12, 11, &["`timeout`"]);
    // 2^64 ns is about 585 years: a longer duration overflows and is refused.
    assert_error_at(&with("duration = \"60s\"", "duration = \"99999999999999999h\""), 2, 12, &["`duration`"]);
    assert_error_at(&with("timeout = \"800ms\"", "timeout = \"1e300s\""), 12, 11, &["`timeout`"]);
    assert_error_at(&with("timeout = \"800ms\"", "timeout = \"nans\""), 12, 11, &["`timeout`"]);
    assert_error_at(&with("timeout = \"800ms\"", "timeout = \"infs\""), 12, 11, &["`timeout`"]);
}

#[test]
fn nan_and_infinite_distribution_parameters() {
    let line = "endpoints.get = { latency = \"1ms\" }";
    for bad in [
        "{ dist = \"lognormal\", mean = \"1ms\", cv = inf }",
        "{ dist = \"gamma\", mean = \"1ms\", cv = nan }",
        "{ dist = \"pareto\", min = \"1ms\", alpha = -1 }",
        "{ dist = \"weibull\", scale = \"1ms\", shape = inf }",
        "{ dist = \"exponential\", mean = \"-1ms\" }",
    ] {
        let d = first_error(&with(line, &format!("endpoints.get = {{ latency = {bad} }}")));
        assert_eq!(d.location.as_ref().unwrap().line, 9, "{d}");
        assert!(d.message.contains("latency") || d.message.contains("`cv`") || d.message.contains("`alpha`"), "{d}");
    }
}

/// Inputs the loader accepts but no run could finish: time would never advance (a closed
/// loop whose users never wait on anything), or arrivals would be absurdly many. The
/// engine does not guard against these; the work estimate does, so that a caller (the
/// CLI's `--max-events`) refuses them before starting.
#[test]
fn runs_that_cannot_end_are_caught_by_the_work_estimate() {
    use stormcast::sim::estimate::estimated_events;
    let spinning = with("rate = 100", "users = 2")
        .replace("latency = \"5ms\"", "latency = \"0s\"")
        .replace("latency = \"1ms\"", "latency = \"0s\"");
    let flood = with("rate = 100", "rate = 1e300");
    for text in [spinning, flood] {
        match load_str("absurd.toml", &text) {
            Err(e) => assert!(e.diagnostics()[0].location.is_some(), "{e}"),
            Ok(s) => {
                let estimate = estimated_events(&s);
                assert!(estimate > 1e15, "estimate {estimate} for:\n{text}");
            }
        }
    }
}

/// Inputs the fuzzer (`fuzz/`, target `load`) ran into; each must load or be refused with
/// a located error, never panic.
#[test]
fn fuzz_regressions_never_panic() {
    let inputs: &[&[u8]] = &[];
    for input in inputs {
        if let Err(e) = load_bytes("fuzz.toml", input) {
            assert!(e.to_string().starts_with("error: "));
            for d in e.diagnostics() {
                assert_eq!(d.file, "fuzz.toml");
            }
        }
    }
}

/// Replays the fuzzer's working corpus (`fuzz/corpus/load`, not committed) through the
/// loader in this test profile, which keeps overflow checks on (the fuzz build does
/// not). Run it after a fuzzing session: `cargo test robustness::replay -- --ignored`.
#[test]
#[ignore = "needs a local fuzz corpus"]
fn replay_fuzz_corpus() {
    let dirs = ["fuzz/corpus/load", "fuzz/seeds"];
    let mut n = 0;
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        for entry in entries {
            let path = entry.expect("entry").path();
            let bytes = std::fs::read(&path).expect("readable");
            if let Err(e) = load_bytes("fuzz.toml", &bytes) {
                assert!(e.to_string().starts_with("error: "), "{}", path.display());
            }
            n += 1;
        }
    }
    println!("replayed {n} inputs");
}

//! Whole-system tests of the instance lifecycle: crashed instances replaced after
//! `restart_after`, rolling restarts and the disruption budget (`min_available`).

use stormcast::model::counters::REPLICAS;
use stormcast::scenario::load_str;
use stormcast::sim::simulate;

/// Four instances behind a random balancer, 200 requests/s of 10 ms work, 1 s buckets.
fn scenario(service_extra: &str, faults: &str) -> String {
    format!(
        r#"
[simulation]
duration = "400s"
bucket = "1s"
[services.api]
instances = 4
workers = 8
balancer = "random"
{service_extra}
[services.api.endpoints.get]
latency = "10ms"
[[load]]
name = "users"
target = "api/get"
rate = 200
arrival = "constant"
{faults}
"#
    )
}

const CRASH: &str =
    "[[fault]]\nkind = \"crash\"\ntarget = \"api\"\nat = \"100s\"\nduration = \"200s\"\ninstances = 1\n";

/// Replicas taking traffic at each bucket's end.
fn replicas(text: &str) -> (Vec<f64>, u64) {
    let r = simulate(&load_str("lifecycle.toml", text).expect("valid"), 1);
    let replicas = r.services[0].buckets.iter().map(|b| b.value(&REPLICAS)).collect();
    (replicas, r.loads[0].outcomes.failed())
}

/// A crash fault on for 200 s with `restart_after = "10s"` and `startup = "20s"`: the
/// crashed instance refuses connections for 10 s (a quarter of the requests fail), is
/// replaced, and its replacement takes traffic 20 s later; the fault still on, it crashes
/// at once: a crash loop with a 30 s period. Down in the balancers during [100, 110],
/// [130, 140], ..., [280, 290] (7 x 10 s), out of them while starting; the replacement
/// ready at 310 s stays up. Lost: 70 s x 200/s x 1/4 = 3,500, against 200 s x 200/s x
/// 1/4 = 10,000 without restarts (within 5 binomial standard deviations: 14,000 requests
/// at 1/4 give +-256; 40,000 give +-433).
#[test]
fn crashed_instances_are_replaced_after_restart_after_and_crash_loop_while_the_fault_is_on() {
    let (ready, lost) = replicas(&scenario("restart_after = \"10s\"\nstartup = \"20s\"", CRASH));
    assert!((lost as f64 - 3500.0).abs() < 256.0, "{lost} lost with restarts");
    // Bucket i ends at i + 1: 3 taking traffic while a replacement starts, 4 otherwise (a
    // crashed instance is still in the balancers).
    for (i, &n) in ready.iter().enumerate() {
        let end = (i + 1) as u64;
        // Starting during [110 + 30k, 130 + 30k) for k = 0..6: a bucket ending in
        // (110 + 30k, 130 + 30k] saw it at its end.
        let starting = end > 110 && end <= 310 && (1..=20).contains(&((end - 110) % 30));
        let want = if starting { 3.0 } else { 4.0 };
        assert_eq!(n, want, "bucket ending at {end} s");
    }
    let (_, lost) = replicas(&scenario("", CRASH));
    assert!((lost as f64 - 10_000.0).abs() < 433.0, "{lost} lost without");
}

const ROLLING: &str = "[[fault]]\nkind = \"rolling_restart\"\ntarget = \"api\"\nat = \"60s\"\n";

/// The bucket ends (s) at which fewer than 4 replicas took traffic, as ranges.
fn short(ready: &[f64]) -> Vec<(usize, usize, f64)> {
    let mut out: Vec<(usize, usize, f64)> = Vec::new();
    for (i, &n) in ready.iter().enumerate().filter(|(_, n)| **n < 4.0) {
        match out.last_mut() {
            Some(last) if last.1 == i && last.2 == n => last.1 = i + 1,
            _ => out.push((i + 1, i + 1, n)),
        }
    }
    out
}

/// A rolling restart with `startup = "10s"`: one at a time (the default
/// `max_unavailable = 1`), each evicted instance drains and its replacement takes traffic
/// 10 s later, when the next goes: 3 replicas from 60 s to 100 s, and no request lost.
/// Two at a time: 2 replicas from 60 s to 80 s. With `min_available = 3`, two at a time
/// cannot happen: the second eviction is refused until the first replacement is ready,
/// so it takes as long as one at a time. With `min_available = 4` nothing can be evicted
/// (refused every 5 s for good). The fault's window is as long as the restart takes.
#[test]
fn rolling_restarts_respect_max_unavailable_and_the_disruption_budget() {
    let run = |extra: &str, fault: &str| replicas(&scenario(&format!("startup = \"10s\"\n{extra}"), fault));
    let (ready, lost) = run("", ROLLING);
    // Bucket ends in (60, 100] saw 3 replicas.
    assert_eq!(short(&ready), [(61, 100, 3.0)]);
    assert_eq!(lost, 0, "evicted instances drain: nothing is lost");
    let pairs = format!("{ROLLING}max_unavailable = 2\n");
    let (ready, lost) = run("", &pairs);
    assert_eq!((short(&ready), lost), (vec![(61, 80, 2.0)], 0));
    let (ready, _) = run("min_available = 3", &pairs);
    assert_eq!(short(&ready), [(61, 100, 3.0)]);
    let (ready, _) = run("min_available = 4", ROLLING);
    assert_eq!(short(&ready), []);
    // The fault's window (shading, recovery) follows: 40 s two at a time, 80 s one at a
    // time or two at a time with budget 3; with budget 4 it never ends (to the end of the
    // run, 400 s).
    let window = |extra: &str, fault: &str| {
        let sc = load_str("lifecycle.toml", &scenario(&format!("startup = \"20s\"\n{extra}"), fault)).expect("valid");
        let d = &stormcast::stats::recovery::disturbances(&sc)[0];
        (d.start_s, d.end_s)
    };
    assert_eq!(window("", &pairs), (60.0, 100.0));
    assert_eq!(window("", ROLLING), (60.0, 140.0));
    assert_eq!(window("min_available = 3", &pairs), (60.0, 140.0));
    assert_eq!(window("min_available = 4", ROLLING), (60.0, 400.0));
}

/// A crash uses up the budget without being blocked by it: with `min_available = 3` and
/// one instance crashed from 50 s to 150 s (no `restart_after`), only 3 are healthy, so
/// the rolling restart that starts at 60 s cannot evict until the crash ends; it then
/// runs from 150 s to 190 s.
#[test]
fn an_involuntary_crash_uses_up_the_disruption_budget() {
    let crash = "[[fault]]\nkind = \"crash\"\ntarget = \"api\"\nat = \"50s\"\nduration = \"100s\"\ninstances = 1\n";
    let (ready, _) = replicas(&scenario("startup = \"10s\"\nmin_available = 3", &format!("{ROLLING}{crash}")));
    // Refused at 60 s and every 5 s after; the retry at 150 s (after the crash ends at
    // 150 s, handled first as it was scheduled first) evicts the first instance.
    assert_eq!(short(&ready), [(151, 190, 3.0)]);
}

/// Bad lifecycle configs are located errors.
#[test]
fn bad_lifecycle_configs_are_located_errors() {
    let cases = [
        (
            "",
            "[[fault]]\nkind = \"rolling_restart\"\ntarget = \"api\"\nat = \"60s\"\nduration = \"10s\"\n",
            "`duration` does not apply",
        ),
        ("", "[[fault]]\nkind = \"rolling_restart\"\ntarget = \"api/get\"\nat = \"60s\"\n", "cannot target"),
        (
            "",
            "[[fault]]\nkind = \"rolling_restart\"\ntarget = \"api\"\nat = \"60s\"\nmax_unavailable = 0\n",
            "`max_unavailable`",
        ),
        ("startup = \"200s\"", ROLLING, "past the end of the run"),
        (
            "",
            "[[fault]]\nkind = \"crash\"\ntarget = \"api\"\nat = \"60s\"\nduration = \"1s\"\nmax_unavailable = 1\n",
            "does not apply",
        ),
        ("restart_after = 5", "", "needs a unit"),
    ];
    for (service, fault, want) in cases {
        let err = load_str("bad.toml", &scenario(service, fault)).expect_err(fault);
        let shown = err.to_string();
        assert!(shown.contains(want) && shown.contains("bad.toml:"), "{service} {fault}: {shown}");
    }
}

/// `check` warns about a rolling restart that takes every instance out at once, and about
/// a disruption budget it can never satisfy; a safe one draws neither.
#[test]
fn lints_name_dangerous_rolling_restarts() {
    use stormcast::model::lint::{LintKind, lint};
    let kinds = |service: &str, fault: &str| -> Vec<LintKind> {
        let sc = load_str("lint.toml", &scenario(&format!("startup = \"10s\"\n{service}"), fault)).expect("valid");
        lint(&sc)
            .into_iter()
            .map(|l| l.kind)
            .filter(|k| matches!(k, LintKind::RollingRestartTakesAll | LintKind::BudgetBlocksRestart))
            .collect()
    };
    assert_eq!(kinds("", ROLLING), []);
    assert_eq!(kinds("", &format!("{ROLLING}max_unavailable = 4\n")), [LintKind::RollingRestartTakesAll]);
    assert_eq!(kinds("min_available = 2", &format!("{ROLLING}max_unavailable = 4\n")), []);
    assert_eq!(kinds("min_available = 4", ROLLING), [LintKind::BudgetBlocksRestart]);
}

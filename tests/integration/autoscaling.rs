//! Whole-system tests of the Horizontal Pod Autoscaler (`[services.NAME.autoscaling]`).

use stormcast::model::counters::REPLICAS;
use stormcast::report::csv::timeseries_csv;
use stormcast::scenario::load_str;
use stormcast::sim::simulate;

/// The issue's case: `target_utilization = 0.5`, 10 workers per replica, 50 ms of mean
/// work, `startup = "30s"`, the default sync period (15 s), tolerance (0.1) and behavior;
/// the load steps from 100/s (5 busy workers: one replica at 0.5) to 400/s at 61 s.
const STEP: &str = r#"
[simulation]
duration = "400s"
bucket = "1s"
warmup = "0s"
[services.api]
instances = 1
workers = 10
queue = 20
[services.api.endpoints.work]
latency = { dist = "exponential", mean = "50ms" }
[services.api.autoscaling]
max_replicas = 10
target_utilization = 0.5
startup = "30s"
[[load]]
name = "users"
target = "api/work"
rate = 100
profile = [{ at = "61s", rate = 400 }]
"#;

/// The replicas taking traffic at the end of each 1 s bucket, derived by hand from the
/// HPA's rules (syncs at 15 s, 30 s, ...):
///
/// - 75 s: the one replica was saturated since 61 s: utilization about 0.97, ratio 1.93,
///   ceil(1.93 x 1) = 2 (the scale-up policies allow up to 5). Ready at 105 s.
/// - 90 s: one ready replica at about 1.0 and one starting, counted at 0 on a scale-up:
///   (1.0 + 0) / (0.5 x 2) = 1.0, within tolerance: no change.
/// - 105 s: the new replica joined at this instant and has no sample yet (missing, at 0
///   on a scale-up): the same 1.0, no change.
/// - 120 s: two replicas saturated by 400/s (their capacity): ratio about 1.95,
///   ceil(1.95 x 2) = 4. Ready at 150 s.
/// - 135 s and 150 s: two ready at about 0.97, two starting or missing: (1.95 + 0) /
///   (0.5 x 4) = 0.97, no change.
/// - From 165 s: four replicas at 0.5 (20 busy workers of 40), within tolerance: 4 for
///   good. Settled 89 s after the step: two syncs to see it, two start-ups, one sync
///   between them.
#[test]
fn an_hpa_settles_at_exactly_four_replicas_when_the_load_steps_to_400() {
    let sc = load_str("step.toml", STEP).expect("valid");
    for seed in 1..6 {
        let r = simulate(&sc, seed);
        let replicas: Vec<f64> = r.services[0].buckets.iter().map(|b| b.value(&REPLICAS)).collect();
        for (i, &n) in replicas.iter().enumerate() {
            // Bucket i ends at i + 1 s; a replica joining at t counts from the bucket
            // ending after t.
            let end = i + 1;
            let want = if end <= 105 {
                1.0
            } else if end <= 150 {
                2.0
            } else {
                4.0
            };
            assert_eq!(n, want, "seed {seed}: bucket ending at {end} s");
        }
        // Settled: utilization near the target. Over 230 s the work of about 92,000
        // requests (Poisson count, exponential sizes) has a relative standard error of
        // about sqrt(2 / 92,000) = 0.47%: 0.5 +- 0.0023, so 0.02 is over 8 of them.
        let settled: Vec<f64> = r.services[0].buckets[170..].iter().map(|b| b.utilization).collect();
        let mean = settled.iter().sum::<f64>() / settled.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "seed {seed}: utilization {mean} once settled");
        // The column is in timeseries.csv.
        assert!(timeseries_csv(&r).lines().next().unwrap().contains(",replicas,"));
    }
}

/// A scale-in drains: a load that falls from 400/s to 50/s is served to the end with no
/// request lost, and the HPA waits out the default 300 s scale-down window after the
/// last high recommendation before going from 4 replicas to 1.
#[test]
fn scale_in_waits_for_the_window_and_loses_nothing() {
    let text = STEP
        .replace("rate = 100\nprofile = [{ at = \"61s\", rate = 400 }]", "rate = 50")
        .replace("instances = 1\n", "instances = 4\n")
        .replace("duration = \"400s\"", "duration = \"360s\"");
    let sc = load_str("down.toml", &text).expect("valid");
    let r = simulate(&sc, 1);
    let replicas: Vec<f64> = r.services[0].buckets.iter().map(|b| b.value(&REPLICAS)).collect();
    // The controller starts at 15 s with 4 as its first recommendation: every sync wants 1
    // (50/s is 2.5 busy workers: ratio 0.125 over 4), but the window holds 4 until the
    // 15 s recommendation is 300 s old, at 315 s.
    assert!(replicas[..315].iter().all(|&n| n == 4.0), "{:?}", &replicas[..315]);
    assert!(replicas[315..].iter().all(|&n| n == 1.0), "{:?}", &replicas[310..]);
    assert_eq!(r.loads[0].outcomes.failed(), 0, "nothing is lost when replicas drain");
}

/// Bad autoscaling configs are located errors.
#[test]
fn bad_autoscaling_configs_are_located_errors() {
    let cases = [
        ("max_replicas = 10\n", "max_replicas = 0\n", "`max_replicas`"),
        ("target_utilization = 0.5\n", "target_utilization = 0.5\ntarget_rate = 10\n", "exactly one target"),
        ("startup = \"30s\"\n", "", "missing `startup`"),
        ("startup = \"30s\"\n", "startup = \"30s\"\nmin_replicas = 20\n", "below `min_replicas`"),
        (
            "startup = \"30s\"\n",
            "startup = \"30s\"\nbehavior = { scale_up = { policies = [{ type = \"pod\", value = 1, period = \"15s\" }] } }\n",
            "unknown value \"pod\"",
        ),
        ("startup = \"30s\"\n", "startup = \"30s\"\nsync_period = \"0s\"\n", "`sync_period`"),
    ];
    for (from, to, want) in cases {
        let text = STEP.replacen(from, to, 1);
        let err = load_str("bad.toml", &text).expect_err(to);
        let shown = err.to_string();
        assert!(shown.contains(want), "{to:?}: {shown}");
        assert!(shown.contains("bad.toml:"), "{to:?} located: {shown}");
    }
}

/// Replicas that leave a route take their outlier-detection state with them: a caller
/// with outlier detection in front of a service scaling in from 4 to 1 keeps serving
/// every request, and the one replica left is never ejected.
#[test]
fn scale_in_under_outlier_detection_keeps_every_request() {
    let text = STEP
        .replace("rate = 100\nprofile = [{ at = \"61s\", rate = 400 }]", "rate = 50")
        .replace("instances = 1\n", "instances = 4\n")
        .replace("duration = \"400s\"", "duration = \"360s\"")
        .replace("target = \"api/work\"", "target = \"front/get\"")
        + r#"
[services.front]
workers = 100
[services.front.endpoints.get]
latency = "1ms"
calls = [{ to = "api/work", policy = { outlier_detection = { consecutive_5xx = 1 } } }]
"#;
    let sc = load_str("front.toml", &text).expect("valid");
    let r = simulate(&sc, 2);
    let api = r.services.iter().find(|s| s.name == "api").unwrap();
    assert_eq!(api.buckets.last().unwrap().value(&REPLICAS), 1.0);
    assert_eq!(r.loads[0].outcomes.failed(), 0);
    let front = r.services.iter().find(|s| s.name == "front").unwrap();
    let ejections = stormcast::model::counters::Counter(&stormcast::model::resilience::outlier::EJECTIONS);
    assert_eq!(front.counters.get(ejections), 0);
}

/// `scenarios/autoscaling.toml`'s claim about `check`: the spike (45 s) is shorter than
/// the checkout HPA's `sync_period` + `startup` (15 s + 60 s), so the lint names it; the
/// ramp (480 s) is not; with a 20 s start-up (35 s < 45 s) the spike is not either.
#[test]
fn the_lint_flags_a_spike_shorter_than_the_autoscalers_reaction() {
    use stormcast::model::lint::{LintKind, lint};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/autoscaling.toml");
    let sc = stormcast::scenario::load_with_changes(&path, &[], &[]).expect("the example loads");
    let slow: Vec<_> = lint(&sc).into_iter().filter(|l| l.kind == LintKind::AutoscalingTooSlow).collect();
    assert_eq!(slow.len(), 1, "{slow:?}");
    assert_eq!(slow[0].path, ["load:buyers", "checkout"]);
    assert!(slow[0].message.contains("spikes for 45 s"), "{}", slow[0].message);
    assert!(slow[0].keys.contains(&"services.checkout.autoscaling.startup".to_string()));
    let quick = ["services.checkout.autoscaling.startup=\"20s\"".to_string()];
    let sc = stormcast::scenario::load_with_changes(&path, &[], &quick).expect("the variant loads");
    assert!(lint(&sc).iter().all(|l| l.kind != LintKind::AutoscalingTooSlow));
}

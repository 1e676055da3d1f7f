//! The real binary, driven as a user would: exit codes, files written, messages.

use assert_cmd::Command;
use std::path::PathBuf;

fn stormcast() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stormcast"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stormcast-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn bad_scenario(dir: &std::path::Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        "[simulation]\nduration = \"10s\"\n\n[services.a]\n[services.a.endpoints.x]\nlatency = \"1ms\"\ncalls = [ { to = \"b/y\" } ]\n",
    )
    .unwrap();
    path
}

#[test]
fn check_accepts_a_valid_scenario() {
    let out = stormcast().args(["check", "scenarios/checkout.toml"]).assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.starts_with("ok: scenarios/checkout.toml: 6 services"), "{stdout}");
}

#[test]
fn bad_input_exits_2_with_a_located_error_and_writes_nothing() {
    let dir = temp_dir("bad");
    let path = bad_scenario(&dir);
    let out_dir = dir.join("out");
    let out = stormcast().arg("run").arg(&path).arg("--out").arg(&out_dir).assert().code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("error:"), "{stderr}");
    assert!(stderr.contains("bad.toml:7:"), "names file and line: {stderr}");
    assert!(stderr.contains("`b`"), "names the unknown service: {stderr}");
    assert!(!out_dir.exists(), "nothing written on bad input");
    stormcast().arg("check").arg(&path).assert().code(2);
    stormcast().args(["check", "no/such/file.toml"]).assert().code(2);
}

#[test]
fn usage_errors_exit_2() {
    stormcast().args(["run"]).assert().code(2);
    stormcast().args(["frobnicate"]).assert().code(2);
    stormcast().args(["run", "scenarios/checkout.toml", "--format", "yaml"]).assert().code(2);
}

#[test]
fn run_writes_summary_timeseries_and_charts() {
    let dir = temp_dir("run");
    stormcast().args(["run", "scenarios/mmc-queue.toml", "--seed", "3", "--out"]).arg(&dir).assert().success();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["seed"], 3);
    for key in ["requests", "ok", "success_rate", "outcomes", "latency_ms", "slo_violated", "recovery_s"] {
        assert!(summary["loads"]["users"].get(key).is_some(), "summary.json loads.users.{key}");
    }
    for key in ["arrivals", "ok", "errors", "rejected", "utilization", "queue_max", "sojourn_ms", "retries_sent"] {
        assert!(summary["services"]["station"].get(key).is_some(), "summary.json services.station.{key}");
    }
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    assert!(csv.starts_with("time_s,scope,name,arrivals,ok,failed,latency_ms_p99,queue,utilization"));
    // 600 buckets x (1 load + 1 service) + header.
    assert_eq!(csv.lines().count(), 1 + 600 * 2);
    let png = std::fs::read(dir.join("run.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(std::fs::read_to_string(dir.join("run.svg")).unwrap().contains("users"));
}

#[test]
fn json_format_prints_the_summary() {
    let out = stormcast().args(["run", "scenarios/mmc-queue.toml", "--format", "json"]).assert().success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["seed"], 1);
    assert!(v["events"].as_u64().unwrap() > 100_000);
}

#[test]
fn graph_prints_dot() {
    let out = stormcast().args(["graph", "scenarios/checkout.toml"]).assert().success();
    let dot = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("payment"));
}

/// `graph --format png|svg` writes the picture's bytes to stdout (`> topology.png`), the
/// same as the library draws; a reader that stops early ends it quietly.
#[test]
fn graph_draws_png_and_svg_on_stdout() {
    let scenario = stormcast::scenario::load_file(std::path::Path::new("scenarios/checkout.toml")).unwrap();
    let out = stormcast().args(["graph", "scenarios/checkout.toml", "--format", "png"]).assert().success();
    let png = out.get_output().stdout.clone();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert_eq!(png, stormcast::report::topology::topology_png(&scenario).unwrap());
    let out = stormcast().args(["graph", "scenarios/checkout.toml", "--format", "svg"]).assert().success();
    let svg = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains(">\npayment\n</text>"), "{svg}");
    stormcast().args(["graph", "scenarios/checkout.toml", "--format", "gif"]).assert().code(2);
}

#[test]
fn help_explains_commands_and_options() {
    let out = stormcast().arg("--help").assert().success();
    let help = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for cmd in ["run", "check", "graph"] {
        assert!(help.contains(cmd), "{help}");
    }
    let out = stormcast().args(["run", "--help"]).assert().success();
    let help = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for opt in ["--seed", "--out", "--format"] {
        assert!(help.contains(opt), "{help}");
    }
}

#[test]
fn sweep_json_is_identical_for_any_number_of_jobs() {
    let dirs = [temp_dir("sweep-j1"), temp_dir("sweep-j2")];
    for (dir, jobs) in dirs.iter().zip(["1", "2"]) {
        stormcast()
            .args(["sweep", "scenarios/retry-storm-budget.toml", "--seeds", "6", "--jobs", jobs, "--out"])
            .arg(dir)
            .assert()
            .success();
    }
    let a = std::fs::read(dirs[0].join("sweep.json")).unwrap();
    let b = std::fs::read(dirs[1].join("sweep.json")).unwrap();
    assert!(a == b, "sweep.json differs between --jobs 1 and --jobs 2");
    let v: serde_json::Value = serde_json::from_slice(&a).unwrap();
    assert_eq!(v["seeds"], 6);
    for risk in ["slo_risk", "metastable_risk", "cascade_risk"] {
        let p = &v["risks"]["users"][risk];
        assert!(p["low"].as_f64().unwrap() <= p["p"].as_f64().unwrap(), "{risk}: {p}");
    }
    for chart in ["fan.png", "risk.png", "recovery.png"] {
        assert!(dirs[0].join(chart).exists(), "{chart}");
    }
}

#[test]
fn sweep_prints_risks_and_replay_commands() {
    let out = stormcast().args(["sweep", "scenarios/retry-storm.toml", "--seeds", "3", "--quiet"]).assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("never recovered"), "{stdout}");
    // The storm never recovers in any seed: 3/3, and each seed is listed for replay.
    assert!(stdout.contains("stormcast run scenarios/retry-storm.toml --seed 3"), "{stdout}");
    assert!(out.get_output().stderr.is_empty(), "nothing on stderr when all is well");
}

#[test]
fn change_and_set_overlay_the_base() {
    let dir = temp_dir("change");
    std::fs::create_dir_all(&dir).unwrap();
    let change = dir.join("calm.toml");
    // Removing the spike from the storm scenario: nothing to recover from.
    std::fs::write(&change, "[[load]]\nname = \"users\"\ntarget = \"api/get\"\nrate = 1000\npolicy = \"users\"\n")
        .unwrap();
    let out = stormcast()
        .args(["run", "scenarios/retry-storm.toml", "--format", "json", "--change"])
        .arg(&change)
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["loads"]["users"]["recovery_s"], 0.0, "no spike, no storm");
    // --set on top: one db worker cannot serve 1000/s of 2 ms work.
    let out = stormcast()
        .args(["run", "scenarios/retry-storm.toml", "--format", "json", "--set", "services.db.workers=1", "--change"])
        .arg(&change)
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(v["loads"]["users"]["success_rate"].as_f64().unwrap() < 0.5);
}

#[test]
fn a_malformed_change_is_located_in_the_change_file() {
    let dir = temp_dir("bad-change");
    std::fs::create_dir_all(&dir).unwrap();
    let change = dir.join("typo.toml");
    std::fs::write(&change, "[services.db]\nworkrs = 8\n").unwrap();
    let out = stormcast().args(["run", "scenarios/retry-storm.toml", "--change"]).arg(&change).assert().code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("typo.toml:2:1"), "{stderr}");
    assert!(stderr.contains("did you mean `workers`"), "{stderr}");
    let out =
        stormcast().args(["run", "scenarios/retry-storm.toml", "--set", "services.db.workers=0"]).assert().code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("--set services.db.workers=0"), "{stderr}");
}

#[test]
fn check_warns_about_static_risks_and_marks_what_a_change_adds() {
    let out = stormcast().args(["check", "scenarios/retry-storm.toml"]).assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("warning:") && stdout.contains("neither a retry budget"), "{stdout}");
    let out = stormcast()
        .args(["check", "scenarios/checkout.toml", "--set", "policies.payment-client.retry.max_attempts=6"])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("12x") && stdout.contains("(new in this change)"), "{stdout}");
}

#[test]
fn vary_reports_risk_per_value_and_a_tipping_point() {
    let dir = temp_dir("vary");
    let out = stormcast()
        .args(["sweep", "scenarios/retry-storm.toml", "--seeds", "2", "--quiet", "--vary", "services.db.workers=3..5"])
        .args(["--out"])
        .arg(&dir)
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for w in 3..=5 {
        assert!(stdout.contains(&format!("services.db.workers={w}")), "{stdout}");
    }
    assert!(stdout.contains("tipping point"), "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("vary.json")).unwrap()).unwrap();
    assert_eq!(v["points"].as_array().unwrap().len(), 3);
    assert!(dir.join("vary.png").exists());
    stormcast()
        .args(["sweep", "scenarios/retry-storm.toml", "--seeds", "2", "--vary", "services.db.workers=5..3"])
        .assert()
        .code(2);
}

fn write_change(name: &str, text: &str) -> PathBuf {
    let dir = temp_dir(name);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Pre-merge gating: removing the retry budget (harmful) fails the gates with exit 1
/// and writes the report; an extra db worker (harmless) passes with exit 0; a malformed
/// change exits 2 with a located error and writes nothing.
#[test]
fn compare_gates_a_harmful_change_and_passes_a_harmless_one() {
    // The budget's `kind` table is replaced whole: a token bucket with no capacity to spend.
    let harmful = write_change(
        "no-budget",
        "[policies.db-client.retry_budget]\nkind = \"token_bucket\"\nratio = 1.0\ncapacity = 1000000\n",
    );
    let out_dir = temp_dir("compare-out");
    let out = stormcast()
        .args(["compare", "scenarios/retry-storm-budget.toml", "--seeds", "6", "--quiet"])
        .args(["--max-metastable-risk-increase", "0.05", "--change"])
        .arg(&harmful)
        .arg("--out")
        .arg(&out_dir)
        .assert()
        .code(1);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.starts_with("verdict: FAIL"), "{stdout}");
    let report = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(report.starts_with("## ❌"), "{report}");
    assert!(report.contains("--change"), "replay commands include the change: {report}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("compare.json")).unwrap()).unwrap();
    assert_eq!(json["verdict"], "fail");

    let harmless = write_change("more-workers", "[services.db]\nworkers = 5\n");
    let out = stormcast()
        .args(["compare", "scenarios/retry-storm-budget.toml", "--seeds", "6", "--quiet"])
        .args(["--max-metastable-risk-increase", "0.5", "--change"])
        .arg(&harmless)
        .assert()
        .code(0);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.starts_with("verdict: PASS"), "{stdout}");

    let malformed = write_change("malformed", "[services.db]\nworkers = \n");
    let bad_out = temp_dir("compare-bad");
    let out = stormcast()
        .args(["compare", "scenarios/retry-storm-budget.toml", "--seeds", "4", "--change"])
        .arg(&malformed)
        .arg("--out")
        .arg(&bad_out)
        .assert()
        .code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("malformed.toml:2:"), "{stderr}");
    assert!(!bad_out.exists());
}

#[test]
fn compare_of_identical_configs_shows_no_difference() {
    let out = stormcast()
        .args(["compare", "scenarios/retry-storm-budget.toml", "scenarios/retry-storm-budget.toml", "--seeds", "4"])
        .args(["--quiet", "--max-p99-increase", "0.1"])
        .assert()
        .code(0);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("+0.0000 [+0.0000, +0.0000]"), "{stdout}");
    assert!(stdout.starts_with("verdict: UNCHANGED  (the change alters nothing that is simulated"), "{stdout}");
}

/// Without any gate a compare judged nothing: exit 1 and a message naming how to add
/// gates; `--allow-ungated` accepts it (exit 0) but the verdict stays `UNGATED`.
#[test]
fn an_ungated_compare_exits_1_unless_allowed() {
    let args = ["compare", "scenarios/retry-storm-budget.toml", "--set", "services.db.workers=5", "--seeds", "2"];
    let out = stormcast().args(args).arg("--quiet").assert().code(1);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.starts_with("verdict: UNGATED  (no gates set, so nothing was judged"), "{stdout}");
    assert!(stdout.contains("--max-slo-risk-increase"), "{stdout}");
    let out = stormcast().args(args).args(["--quiet", "--allow-ungated"]).assert().code(0);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.starts_with("verdict: UNGATED"), "{stdout}");
}

/// A typo that makes a run enormous is refused up front with the estimate and how to
/// override it, exit 2, nothing written.
#[test]
fn runaway_scenarios_are_refused_before_running() {
    let dir = temp_dir("runaway");
    let out = stormcast()
        .args(["run", "scenarios/checkout.toml", "--set", "load.0.rate=1e9", "--out"])
        .arg(&dir)
        .assert()
        .code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("--max-events"), "{stderr}");
    assert!(!dir.exists());
    stormcast().args(["sweep", "scenarios/checkout.toml", "--seeds", "2", "--max-events", "1000"]).assert().code(2);
}

/// The false pass of issue 12: a misspelt service in `--set` used to create a new,
/// unreferenced service, leave the simulation unchanged and let `compare` exit 0. It is
/// refused before anything runs (exit 2), pointing at the typo with the right name.
#[test]
fn a_misspelt_service_in_set_is_refused_not_passed() {
    let out = stormcast()
        .args(["compare", "scenarios/shop.toml", "--set", "services.paymnet.instances=6", "--seeds", "2", "--quiet"])
        .assert()
        .code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("service `paymnet` is used by nothing"), "{stderr}");
    assert!(stderr.contains("did you mean `payment`?"), "{stderr}");
    assert!(out.get_output().stdout.is_empty());
}

/// A run with overlays says which, in its header and in summary.json, with each change
/// file's hash and each --set as written, so the output can be reproduced from itself.
#[test]
fn overlays_are_recorded_in_the_header_and_summary() {
    let args = ["run", "scenarios/shop.toml", "--change", "scenarios/changes/extra-replica.toml"];
    let out = stormcast().args(args).args(["--set", "services.payment.workers=9", "--format", "json"]).assert().code(0);
    let summary: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let overlays = summary["overlays"].as_array().expect("overlays");
    assert_eq!(overlays.len(), 2);
    assert_eq!(
        (overlays[0]["kind"].as_str(), overlays[0]["source"].as_str()),
        (Some("change"), Some("scenarios/changes/extra-replica.toml"))
    );
    let text = std::fs::read("scenarios/changes/extra-replica.toml").unwrap();
    assert_eq!(overlays[0]["hash"].as_str().unwrap(), format!("{:016x}", stormcast::engine::rng::fnv1a64(&text)));
    assert_eq!(
        (overlays[1]["kind"].as_str(), overlays[1]["source"].as_str()),
        (Some("set"), Some("services.payment.workers=9"))
    );
    let out = stormcast().args(args).args(["--set", "services.payment.workers=9"]).assert().code(0);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let header = stdout.lines().nth(1).unwrap();
    assert!(header.starts_with("with --change scenarios/changes/extra-replica.toml (hash "), "{stdout}");
    assert!(header.ends_with("--set services.payment.workers=9"), "{header}");
}

/// A scenario that would simulate for hours: a hundred million requests a second for an
/// hour (workers are a counter, so nothing queues and memory stays flat). Only runs
/// refused before simulating can finish quickly on it.
fn endless_scenario(dir: &std::path::Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("endless.toml");
    std::fs::write(
        &path,
        "[simulation]\nduration = \"1h\"\n\n[services.s]\nworkers = 1000000000\n[services.s.endpoints.e]\nlatency = \"1us\"\n\n[[load]]\nname = \"users\"\ntarget = \"s/e\"\nrate = 1e8\n",
    )
    .unwrap();
    path
}

/// Every command with `--out` refuses a folder it cannot write before simulating: exit
/// 2, the path named, nothing on stdout (no table: nothing was simulated). The scenario
/// would run for hours, so a check made after the simulation would not return at all;
/// the timeout is only a guard that turns such a regression into a failure instead of a
/// hang, not a measure of speed.
#[test]
fn unwritable_out_is_refused_before_any_simulation() {
    let dir = temp_dir("unwritable");
    let scenario = endless_scenario(&dir);
    let file = dir.join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let commands: [&[&str]; 4] = [
        &["run"],
        &["sweep", "--seeds", "2", "--quiet"],
        &["sweep", "--seeds", "2", "--quiet", "--vary", "services.s.instances=1..2"],
        &["compare", "--seeds", "2", "--quiet", "--set", "services.s.instances=2"],
    ];
    for out in [file.clone(), file.join("out")] {
        for command in commands {
            let result = stormcast()
                .arg(command[0])
                .arg(&scenario)
                .args(&command[1..])
                .args(["--max-events", "1e18", "--max-total-events", "1e30", "--out"])
                .arg(&out)
                .timeout(std::time::Duration::from_secs(120))
                .assert()
                .code(2);
            let output = result.get_output();
            let stderr = String::from_utf8(output.stderr.clone()).unwrap();
            assert!(stderr.starts_with(&format!("error: --out {}: ", out.display())), "{command:?}: {stderr}");
            assert!(stderr.contains(&format!("{} is a file, not a directory", file.display())), "{stderr}");
            assert_eq!(stderr.lines().filter(|l| !l.is_empty()).count(), 2, "only the message: {stderr}");
            assert!(output.stdout.is_empty(), "{command:?}: nothing simulated, no table");
        }
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a folder");
}

/// A read-only folder is refused the same way. Permission bits do not stop root, so
/// the test first tries to write there itself and is skipped if it can.
#[test]
#[cfg(unix)]
fn read_only_out_is_refused_unless_root() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("read-only");
    let scenario = endless_scenario(&dir);
    let locked = dir.join("locked");
    std::fs::create_dir_all(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    let can_write = std::fs::write(locked.join("probe"), "x").is_ok();
    if can_write {
        eprintln!("skipped: permission bits do not stop this user (root?)");
    } else {
        let result = stormcast()
            .arg("run")
            .arg(&scenario)
            .args(["--max-events", "1e18", "--out"])
            .arg(&locked)
            .timeout(std::time::Duration::from_secs(120))
            .assert()
            .code(2);
        let stderr = String::from_utf8(result.get_output().stderr.clone()).unwrap();
        assert!(stderr.starts_with(&format!("error: --out {}: ", locked.display())), "{stderr}");
        assert!(result.get_output().stdout.is_empty());
    }
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The README's shown output is what the binary prints: every fenced block that starts
/// with `$ cargo run --release -- run ...` (without `--out`, which only adds files) is
/// run and compared line for line, so the tour cannot drift from the numbers.
#[test]
fn readme_outputs_match_the_binary() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let mut checked = 0;
    for block in readme.split("```").skip(1).step_by(2) {
        let block = block.trim_start_matches(|c: char| c.is_ascii_alphabetic()).trim_start_matches('\n');
        let Some(rest) = block.strip_prefix("$ cargo run --release -- ") else { continue };
        let (command, shown) = rest.split_once('\n').unwrap();
        let mut args: Vec<&str> = command.split_whitespace().collect();
        if let Some(i) = args.iter().position(|a| *a == "--out") {
            args.drain(i..i + 2);
        }
        let out = stormcast().args(&args).output().unwrap();
        let printed = String::from_utf8(out.stdout).unwrap();
        assert_eq!(printed.trim_end(), shown.trim_end(), "README block `{command}` drifted from the binary's output");
        checked += 1;
    }
    assert!(checked >= 1, "the README shows at least one run");
}

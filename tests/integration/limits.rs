//! Issue 13's reproducers: runs that cannot end, estimates that explode, memory the
//! guard did not see, runaway sweeps, panics and small holes. Each is refused up front
//! (exit 2, with the figure and what to change) or runs in bounded time and memory.

use std::io::Read;
use std::process::{Command, Stdio};
use stormcast::scenario::load_str;
use stormcast::sim::estimate::{estimated_events, estimated_memory_bytes};
use stormcast::sim::{STILL_EVENTS, simulate_bounded};

fn stormcast() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stormcast"))
}

/// Runs the binary; returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = stormcast().args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// Writes `text` as a scenario file in a fresh temporary folder.
fn scenario_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("stormcast-limits-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Ten closed-loop users with no think time against one worker and no queue: every
/// request but one is rejected at once, and the users send again at the same instant.
fn livelock(think: &str, duration: &str) -> String {
    format!(
        r#"[simulation]
duration = "{duration}"
[services.api]
workers = 1
queue = 0
[services.api.endpoints.get]
latency = "10ms"
[[load]]
name = "users"
target = "api/get"
users = 10
think_time = "{think}"
"#
    )
}

/// The livelock's estimate is unbounded, so `run` refuses it at once; and the engine,
/// asked to run it anyway, stops by itself when time stands still (instead of spinning
/// forever), saying so.
#[test]
fn a_closed_loop_that_cannot_advance_time_is_refused_and_stopped() {
    let sc = load_str("livelock.toml", &livelock("0s", "60s")).unwrap();
    assert!(estimated_events(&sc).is_infinite());
    let path = scenario_file("livelock", &livelock("0s", "60s"));
    let (code, stdout, stderr) = run(&["run", path.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("loop at one instant") && stdout.is_empty(), "{stderr}");
    let r = simulate_bounded(&sc, 1, u64::MAX);
    let stopped = r.stopped.expect("a livelock is stopped");
    assert_eq!(stopped.at_s, 0.0);
    assert!(stopped.reason.contains("stood still") && stopped.events <= STILL_EVENTS + (1 << 21), "{stopped:?}");
}

/// With 1 us of think time the loop advances, but cycles at the think time: the estimate
/// counts it so (users x duration / think = 3e9 over 5 minutes), above the default
/// limit, instead of 4.8e5 events from a cycle that assumed every request did its work.
#[test]
fn a_closed_loop_of_instant_failures_is_estimated_at_its_think_time() {
    let sc = load_str("spin.toml", &livelock("1us", "5m")).unwrap();
    let estimate = estimated_events(&sc);
    assert!(estimate >= 10.0 * 300.0 / 1e-6, "{estimate:.3e}");
    // A run that passes its event budget anyway is stopped there, not left to run.
    let r = simulate_bounded(&load_str("spin.toml", &livelock("1us", "5m")).unwrap(), 1, 2_000_000);
    let stopped = r.stopped.expect("stopped at the budget");
    assert!(stopped.reason.contains("--max-events") && stopped.events < 2_000_000 + (1 << 21), "{stopped:?}");
}

/// A layered graph whose number of call paths is 2^40: the estimate walks each endpoint
/// once (it recursed over every path and never finished), and `check` is as quick.
#[test]
fn the_estimate_is_linear_in_the_call_graph() {
    let layers = 40;
    let mut text = String::from("[simulation]\nduration = \"10s\"\n");
    for l in 0..layers {
        for s in 0..2 {
            let calls = if l + 1 < layers {
                format!("calls = [ {{ to = \"s{}x0/e\" }}, {{ to = \"s{}x1/e\" }} ]", l + 1, l + 1)
            } else {
                String::new()
            };
            text.push_str(&format!("[services.s{l}x{s}.endpoints.e]\nlatency = \"1us\"\n{calls}\n"));
        }
    }
    text.push_str("[[load]]\nname = \"l\"\ntarget = \"s0x0/e\"\nrate = 1\n[[load]]\nname = \"m\"\ntarget = \"s0x1/e\"\nrate = 1\n");
    let sc = load_str("layers.toml", &text).unwrap();
    // Every request makes 2^40 - 1 calls below it.
    let estimate = estimated_events(&sc);
    assert!(estimate > 1e12 && estimate.is_finite(), "{estimate:.3e}");
    let path = scenario_file("layers", &text);
    let (code, _, stderr) = run(&["check", path.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--max-events"), "{stderr}");
}

/// Memory the event estimate did not see is refused before anything is allocated: time
/// buckets (a validation limit), an unbounded queue under a huge rate, a huge breaker
/// window (a validation limit), and client state for 100,000 instances x 200 callees.
#[test]
fn memory_is_estimated_and_bounded_up_front() {
    let base = r#"[simulation]
duration = "1h"
[services.api]
workers = 4
[services.api.endpoints.get]
latency = "1ms"
[[load]]
name = "users"
target = "api/get"
rate = 10
"#;
    let e = load_str("long.toml", &base.replace("1h", "100000h")).unwrap_err().to_string();
    assert!(e.contains("time buckets; at most 1000000") && e.contains("duration"), "{e}");
    for (bucket, ok) in [("1ns", false), ("1ms", false), ("10ms", true)] {
        let text = base.replace("duration = \"1h\"", &format!("duration = \"1h\"\nbucket = \"{bucket}\""));
        let result = load_str("buckets.toml", &text);
        assert_eq!(result.is_ok(), ok, "bucket {bucket}");
        if let Err(e) = result {
            assert!(e.to_string().contains("time buckets; at most 1000000"), "{e}");
        }
    }
    let huge_queue = base.replace("rate = 10", "rate = 1e5");
    let memory = estimated_memory_bytes(&load_str("queue.toml", &huge_queue).unwrap());
    // 4 workers at 1 ms serve 4,000/s; 96,000/s pile up for an hour: about 3.5e8 requests.
    assert!(memory > 1e10, "{memory:.3e}");
    let path = scenario_file("queue", &huge_queue);
    let (code, _, stderr) = run(&["run", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--max-memory"), "{stderr}");
    let breaker =
        base.replace("[[load]]", "[policies.p]\ncircuit_breaker = { size = 4294967295 }\n[[load]]\npolicy = \"p\"\n");
    let e = load_str("breaker.toml", &breaker).unwrap_err().to_string();
    assert!(e.contains("size") && e.contains("1000000"), "{e}");
    // 100,000 caller instances, each with a client for each of 800 callees.
    let mut wide = String::from(
        "[simulation]\nduration = \"10s\"\n[services.api]\ninstances = 100000\n[services.api.endpoints.get]\nlatency = \"1ms\"\ncalls = [",
    );
    for c in 0..800 {
        wide.push_str(&format!("{{ to = \"c{c}/e\", policy = \"p\" }},"));
    }
    wide.push_str("]\n[policies.p]\ntimeout = \"1s\"\n");
    for c in 0..800 {
        wide.push_str(&format!("[services.c{c}.endpoints.e]\nlatency = \"1ms\"\n"));
    }
    wide.push_str("[[load]]\nname = \"l\"\ntarget = \"api/get\"\nrate = 1\n");
    // Measured: 2.33e9 bytes of RSS (80 million clients of 28 bytes); the estimate is
    // within 10% of that.
    let memory = estimated_memory_bytes(&load_str("wide.toml", &wide).unwrap());
    assert!((2.1e9..2.56e9).contains(&memory), "{memory:.3e}");
    let path = scenario_file("wide", &wide);
    let (code, _, stderr) = run(&["run", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("GB of memory, above --max-memory 2.0 GB"), "{stderr}");
}

/// A runaway `--vary` (1000 x 1000 points) is refused before loading a million
/// scenarios; the whole command's events are bounded too.
#[test]
fn runaway_sweeps_are_refused_whole() {
    let (code, _, stderr) = run(&[
        "sweep",
        "scenarios/retry-storm.toml",
        "--seeds",
        "2",
        "--vary",
        "services.db.workers=1..1000",
        "--vary",
        "services.api.workers=1..1000",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("1000000 points") && stderr.contains("at most 10000"), "{stderr}");
    let (code, _, stderr) = run(&["sweep", "scenarios/retry-storm.toml", "--seeds", "1000000"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--max-total-events"), "{stderr}");
}

/// The panics: value counts that overflowed, and a closed pipe.
#[test]
fn overflowing_vary_ranges_and_closed_pipes_do_not_panic() {
    for spec in ["load.0.rate=1..2:1e-300", "load.0.rate=1..1e300", "services.db.workers=1..18446744073709551615"] {
        let (code, _, stderr) = run(&["sweep", "scenarios/retry-storm.toml", "--seeds", "2", "--vary", spec]);
        assert_eq!(code, 2, "{spec}: {stderr}");
        assert!(stderr.contains("at most 1000") && !stderr.contains("panicked"), "{stderr}");
    }
    for args in [&["graph", "scenarios/shop.toml"][..], &["run", "scenarios/checkout.toml", "--format", "json"]] {
        let mut child = stormcast().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        // Read one byte, then hang up: the next write meets a closed pipe.
        let mut first = [0u8; 1];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(!stderr.contains("panicked") && stderr.is_empty(), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
    }
}

/// The small holes: limits that are not numbers, seeds past u64::MAX, `check` on what
/// `run` refuses, and warnings by the thousand.
#[test]
fn small_holes_are_closed() {
    for bad in ["nan", "-1", "inf", "0"] {
        let (code, _, stderr) = run(&["run", "scenarios/retry-storm.toml", &format!("--max-events={bad}")]);
        assert_eq!(code, 2, "{bad}: {stderr}");
        assert!(stderr.contains("is not a limit"), "{stderr}");
    }
    let (code, _, stderr) =
        run(&["sweep", "scenarios/retry-storm.toml", "--seeds", "3", "--first-seed", "18446744073709551614"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("past the largest seed"), "{stderr}");
    let (code, stdout, stderr) = run(&["check", "scenarios/retry-storm.toml", "--set", "load.0.rate=1e308"]);
    assert_eq!(code, 2, "check must refuse what run refuses: {stdout}");
    assert!(stderr.contains("overflows") && stderr.contains("no --max-events can run it"), "{stderr}");
    // Many services with the same risk: five warnings of the kind, then a count.
    let mut text = String::from("[simulation]\nduration = \"10s\"\n");
    for i in 0..40 {
        text.push_str(&format!(
            "[services.a{i}.endpoints.e]\nlatency = \"1ms\"\n\
             calls = [ {{ to = \"b{i}/e\", policy = {{ timeout = \"1s\", retry = {{ max_attempts = 3 }} }} }} ]\n\
             [services.b{i}.endpoints.e]\nlatency = \"1ms\"\n[[load]]\nname = \"l{i}\"\ntarget = \"a{i}/e\"\nrate = 1\n"
        ));
    }
    let path = scenario_file("many", &text);
    let (code, stdout, _) = run(&["check", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    let budget = stdout.lines().filter(|l| l.contains("neither a retry budget")).count();
    assert_eq!(budget, 5, "{stdout}");
    assert!(stdout.contains("... and 35 more `retry-without-budget` warnings"), "{stdout}");
    let (_, all, _) = run(&["check", path.to_str().unwrap(), "--all-warnings"]);
    assert_eq!(all.lines().filter(|l| l.contains("neither a retry budget")).count(), 40);
}

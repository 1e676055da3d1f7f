//! Defects a reader saw in the tables and charts (issue #22), each pinned: the replay
//! list leads with the most informative seeds, two-key `--vary` tables stay aligned and
//! name the tipping points the chart marks, a recovery chart with no recovery has no
//! negative time axis, and the failure panel counts attempts their callers timed out.

use assert_cmd::Command;
use serde_json::Value;

fn stormcast() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stormcast"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn run_with_out(args: &[&str], out: &std::path::Path) -> String {
    let o = stormcast().args(args).args(["--out", out.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn the_replay_list_leads_with_the_worst_seed() {
    let dir = tempfile::tempdir().unwrap();
    let table = run_with_out(&["sweep", "scenarios/retry-storm.toml", "--seeds", "12", "-q"], dir.path());
    let sweep: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("sweep.json")).unwrap()).unwrap();
    let listed: Vec<u64> = table
        .lines()
        .filter_map(|l| l.trim().strip_prefix("stormcast run "))
        .filter_map(|l| l.split("--seed ").nth(1)?.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(!listed.is_empty(), "{table}");
    let success = |seed: u64| {
        let run = sweep["runs"].as_array().unwrap().iter().find(|r| r["seed"] == seed).unwrap();
        run["loads"].as_object().map_or_else(
            || run["loads"].as_array().unwrap().iter().map(|l| l["success_rate"].as_f64().unwrap()).fold(1.0, f64::min),
            |m| m.values().map(|l| l["success_rate"].as_f64().unwrap()).fold(1.0, f64::min),
        )
    };
    let worst = listed.iter().map(|&s| success(s)).fold(1.0, f64::min);
    assert_eq!(success(listed[0]), worst, "first listed {listed:?}");
    assert!(listed.windows(2).all(|w| success(w[0]) <= success(w[1])), "worst first: {listed:?}");
}

#[test]
fn two_key_vary_tables_are_aligned_and_name_their_tipping_points() {
    let out = stormcast()
        .args(["sweep", "scenarios/capacity.toml", "--seeds", "2", "-q", "--threshold", "0.99"])
        .args(["--vary", "services.api.instances=3..4", "--vary", "policies.db-client.timeout=100ms,200ms"])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> =
        table.lines().filter(|l| l.contains("services.api.instances=") && !l.contains("tipping")).collect();
    assert_eq!(rows.len(), 4, "{table}");
    // The SLO column starts at the same place on every row, header included.
    let header = table.lines().find(|l| l.contains("SLO violated")).unwrap();
    let at = header.find("SLO violated").unwrap();
    for row in &rows {
        let column = row.char_indices().nth(at).map(|(i, _)| &row[i..]).unwrap_or_default();
        assert!(column.starts_with(char::is_numeric), "misaligned:\n{header}\n{row}");
    }
    // A tipping point along the second key for each value of the first, as the chart
    // marks safe cells (with a threshold of 99% every point is safe).
    for first in ["services.api.instances=3", "services.api.instances=4"] {
        let line = format!("tipping point (never recovered below 99.0% with 95% confidence), at {first}: ");
        assert!(table.contains(&format!("{line}policies.db-client.timeout=100ms")), "{table}");
    }
    assert!(rows.iter().all(|r| r.contains('✓')), "safe cells are marked: {table}");
}

#[test]
fn a_recovery_chart_without_recoveries_starts_at_zero() {
    let dir = tempfile::tempdir().unwrap();
    run_with_out(&["sweep", "scenarios/retry-storm.toml", "--seeds", "3", "-q"], dir.path());
    let sweep: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("sweep.json")).unwrap()).unwrap();
    assert!(sweep["loads"]["users"]["recovery_s"].is_null(), "retry-storm never recovers");
    let svg = std::fs::read_to_string(dir.path().join("recovery.svg")).unwrap();
    for negative in [">-0<", ">-0.4<", ">-0.2<"] {
        assert!(!svg.contains(negative), "tick `{negative}` on the recovery axis");
    }
}

#[test]
fn the_failure_panel_counts_attempts_their_callers_timed_out() {
    let dir = tempfile::tempdir().unwrap();
    run_with_out(&["run", "scenarios/breaker.toml"], dir.path());
    // timeseries.csv: one row per bucket and service, `timeouts` among its columns.
    let csv = std::fs::read_to_string(dir.path().join("timeseries.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = header.iter().position(|h| *h == "timeouts").expect("a timeouts column");
    let timeouts: u64 = lines.filter_map(|l| l.split(',').nth(column)?.parse::<u64>().ok()).sum();
    assert!(timeouts > 0, "the breaker scenario's calls time out");
    let svg = std::fs::read_to_string(dir.path().join("run.svg")).unwrap();
    assert!(!svg.contains("no failed attempts"), "timed-out attempts are failed attempts");
    assert!(svg.contains("caller timeouts included"));
}

#[test]
fn compare_charts_name_the_change_where_a_reader_looks() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["compare", "scenarios/shop.toml", "--change", "scenarios/changes/remove-retry-budget.toml"];
    let out = stormcast().args(args).args(["--seeds", "2", "-q", "--out", dir.path().to_str().unwrap()]).output();
    assert!(out.unwrap().status.code().is_some_and(|c| c <= 1));
    for chart in ["compare-fan.svg", "compare-risk.svg"] {
        let svg = std::fs::read_to_string(dir.path().join(chart)).unwrap();
        // The title starts with the change, so a title cut at its end still shows it.
        assert!(svg.contains(">\n--change scenarios/changes/remove-retry-budget.toml over "), "{chart}: title");
    }
    let fan = std::fs::read_to_string(dir.path().join("compare-fan.svg")).unwrap();
    assert!(fan.contains(">\nremove-retry-budget\n<"), "the legend names the change file whole");
}

/// `(x, y, content)` of every `<text>` in a plotters SVG.
fn svg_texts(svg: &str) -> Vec<(i32, i32, String)> {
    svg.split("<text ")
        .skip(1)
        .filter_map(|t| {
            let attr = |name: &str| -> Option<i32> {
                let from = t.find(&format!("{name}=\""))? + name.len() + 2;
                t[from..].split('"').next()?.parse().ok()
            };
            let content = t.split_once(">\n")?.1.split_once("\n</text>")?.0.to_string();
            Some((attr("x")?, attr("y")?, content))
        })
        .collect()
}

/// In the compare risk chart the widest value text (`150/150 = 100%  [97.5%, 100%]`,
/// with three-digit seed counts) ends before the Δ column begins: on the PNG, every
/// row has blank pixel columns between the value's last ink and the Δ text's start.
#[test]
fn compare_risk_values_do_not_run_into_the_change_column() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("tiny.toml");
    std::fs::write(
        &scenario,
        "[simulation]\nduration = \"2s\"\n[services.api]\nworkers = 1\n[services.api.endpoints.get]\nlatency = \"5ms\"\n\
         [[load]]\nname = \"users\"\ntarget = \"api/get\"\nrate = 150\n[slo.users]\np99 = \"1ms\"\n",
    )
    .unwrap();
    let run = stormcast()
        .args(["compare", scenario.to_str().unwrap(), "--set", "services.api.workers=2", "--seeds", "150", "-q"])
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(run.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&run.stderr));
    let svg = std::fs::read_to_string(dir.path().join("out/compare-risk.svg")).unwrap();
    let texts = svg_texts(&svg);
    let values: Vec<&(i32, i32, String)> = texts.iter().filter(|t| t.2.contains("/150 = ")).collect();
    let changes: Vec<&(i32, i32, String)> =
        texts.iter().filter(|t| t.2.starts_with("Δ ") && t.2.contains(" pp [")).collect();
    assert!(!changes.is_empty() && values.iter().any(|v| v.2.starts_with("150/150")), "{texts:?}");
    let png = image::open(dir.path().join("out/compare-risk.png")).unwrap().to_luma8();
    for change in &changes {
        let value = values.iter().find(|v| v.1 == change.1).expect("a value on the change's row");
        // The last column with ink between the value's start and the Δ's start.
        let inked = |x: i32| (change.1 - 7..=change.1 + 7).any(|y| png.get_pixel(x as u32, y as u32)[0] < 160);
        let last_ink = (value.0..change.0).rev().find(|&x| inked(x)).unwrap();
        assert!(
            change.0 - last_ink >= 6,
            "row y {}: `{}` ends at {last_ink}, `{}` starts at {}",
            change.1,
            value.2,
            change.2,
            change.0
        );
    }
}

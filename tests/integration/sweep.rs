//! Sweeps: determinism across thread counts, risks on scenarios whose outcome is
//! known, capacity planning (`vary`) and the sweep charts.

use crate::support::*;
use stormcast::engine::{SimDuration, SimTime};
use stormcast::model::*;
use stormcast::report::sweep_chart;
use stormcast::sweep::{RiskKind, SweepOptions, run_sweep, run_vary, tipping_point};

/// A checkout whose payment dependency slows down 20-fold from 20 s to 35 s. The
/// frontend calls payment with a 150 ms timeout and 3 attempts, so the slowdown
/// fills the frontend's workers and queue with retries (a cascade into a service no
/// fault targets); a second load browses a catalog that payment does not touch.
pub fn checkout(payment_instances: u32) -> Scenario {
    let ms = SimDuration::from_millis;
    let mut frontend = service("frontend", 2, 16, Some(32), Dist::constant(ms(2)));
    frontend.endpoints[0].steps.push(Step::Call(CallSite { policy: Some(0), ..call(1) }));
    let payment = service("payment", payment_instances, 8, Some(64), Dist::exponential(ms(20)).unwrap());
    let catalog = service("catalog", 2, 8, Some(64), Dist::exponential(ms(5)).unwrap());
    let mut shoppers = open_load("shoppers", 0, 150.0, Arrival::Poisson);
    shoppers.slo = Some(Slo { p99: Some(ms(500)), success_rate: Some(0.99) });
    let mut browse = open_load("browse", 2, 100.0, Arrival::Poisson);
    browse.slo = Some(Slo { p99: Some(ms(100)), success_rate: Some(0.999) });
    let mut sc = scenario(simulation(60.0, 5.0), vec![frontend, payment, catalog], vec![shoppers, browse]);
    sc.source = "scenarios/checkout.toml".to_string();
    sc.policies.push(Policy {
        name: "payment-client".to_string(),
        timeout: Some(ms(150)),
        retry: Some(Retry {
            max_attempts: 3,
            backoff: Backoff::Exponential { base: ms(20), multiplier: 2.0, max: ms(200) },
            jitter: Jitter::Full,
            on: OutcomeSet::of(&[Outcome::Timeout, Outcome::Error, Outcome::Rejected, Outcome::Unavailable]),
        }),
        ..Policy::default()
    });
    sc.faults.push(Fault {
        kind: FaultKind::Latency { factor: 20.0, add: SimDuration::ZERO },
        target: FaultTarget::Service(1),
        at: SimTime(20_000_000_000),
        duration: SimDuration::from_secs(15),
    });
    sc
}

/// Capacity planning: `payment_instances` instances of 2 workers each serve 3 erlangs
/// of work, and 2 instances crash from 20 s to 35 s. With 3 instances the survivor is
/// overloaded; from 4 on the survivors can carry the load.
pub fn capacity(payment_instances: u32) -> Scenario {
    let mut sc = checkout(payment_instances);
    sc.services[1].workers = 2;
    sc.faults[0].kind = FaultKind::Crash { instances: 2 };
    sc
}

fn opts(seeds: u64, jobs: usize) -> SweepOptions {
    SweepOptions { jobs: Some(jobs), ..SweepOptions::new(seeds, 1) }
}

/// The same sweep on one thread and on two writes the same `sweep.json`, byte for byte.
#[test]
fn sweep_json_is_identical_for_any_thread_count() {
    let sc = checkout(3);
    let one = serde_json::to_string_pretty(&run_sweep(&sc, &opts(10, 1), &|| {})).unwrap();
    let two = serde_json::to_string_pretty(&run_sweep(&sc, &opts(10, 2), &|| {})).unwrap();
    assert!(one == two, "sweep.json differs between 1 and 2 threads");
    // And it has the shape of spec section 6.
    let v: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_eq!(v["seeds"], 10);
    for key in ["slo_risk", "metastable_risk", "cascade_risk"] {
        for bound in ["p", "low", "high"] {
            assert!(v["risks"]["shoppers"][key][bound].is_number(), "risks.shoppers.{key}.{bound}");
        }
    }
    assert_eq!(v["runs"].as_array().unwrap().len(), 10);
    assert_eq!(v["runs"][0]["seed"], 1);
}

/// No faults, no spikes and 10% utilization: nothing can go wrong, so every risk is
/// 0 out of 20, and its Wilson interval is [0, 0.161] (Newcombe 1998, 0/20).
#[test]
fn benign_scenario_has_no_risk() {
    let mut load = open_load("users", 0, 50.0, Arrival::Poisson);
    load.slo = Some(Slo { p99: Some(SimDuration::from_millis(100)), success_rate: Some(0.99) });
    let sc = scenario(
        simulation(20.0, 2.0),
        vec![service("api", 2, 4, Some(64), Dist::constant(SimDuration::from_millis(4)))],
        vec![load],
    );
    let result = run_sweep(&sc, &opts(20, 2), &|| {});
    let risks = result.risks_of("users").unwrap();
    for kind in RiskKind::ALL {
        let r = risks.get(kind);
        assert_eq!((r.p, r.low), (0.0, 0.0), "{kind:?}");
        assert!((r.high - 0.1611).abs() < 5e-5, "{kind:?}: {r:?}");
    }
    assert!(result.replay.is_empty());
    assert_eq!(result.blast_radius.as_ref().unwrap().max, 0.0);
    let load = &result.loads[0];
    assert_eq!(load.recovered_seeds, 20);
    // Constant 4 ms work on idle workers: every seed's p99 is 4 ms, to the histogram's
    // resolution of 3 significant digits (0.1%).
    let p99 = load.p99_ms.as_ref().unwrap();
    assert!((p99.min - 4.0).abs() <= 4e-3 && (p99.max - 4.0).abs() <= 4e-3, "{p99:?}");
}

/// Constant 10 ms work against a 5 ms p99 objective: every seed violates it, so the
/// SLO risk is 20 of 20 with interval [0.839, 1], and every seed is listed for replay.
#[test]
fn impossible_slo_is_always_violated() {
    let mut load = open_load("users", 0, 20.0, Arrival::Constant);
    load.slo = Some(Slo { p99: Some(SimDuration::from_millis(5)), success_rate: None });
    let mut sc = scenario(
        simulation(10.0, 1.0),
        vec![service("api", 1, 4, None, Dist::constant(SimDuration::from_millis(10)))],
        vec![load],
    );
    sc.source = "scenarios/slow api.toml".to_string();
    let result = run_sweep(&sc, &SweepOptions::new(20, 100), &|| {});
    let slo = result.risks[0].slo_risk;
    assert_eq!((slo.p, slo.high), (1.0, 1.0));
    assert!((slo.low - 0.8389).abs() < 5e-5, "{slo:?}");
    assert_eq!(result.risks[0].metastable_risk.p, 0.0);
    assert_eq!(result.replay.len(), 20);
    assert_eq!(result.replay[0].seed, 100);
    assert_eq!(result.replay[0].why, vec!["slo_violated"]);
    assert_eq!(result.replay[0].command, "stormcast run 'scenarios/slow api.toml' --seed 100");
}

/// The checkout cascade: payment's slowdown makes the unfaulted frontend unhealthy in
/// every seed (its retries triple the load on a saturated dependency), while browse
/// never touches either, so its path cascade risk is 0 although the run-wide cascade
/// risk is 1.
#[test]
fn cascade_risk_is_per_run_and_path_cascade_per_load() {
    let result = run_sweep(&checkout(3), &opts(8, 2), &|| {});
    let shoppers = result.risks_of("shoppers").unwrap();
    let browse = result.risks_of("browse").unwrap();
    assert_eq!(shoppers.cascade_risk.p, 1.0);
    assert_eq!(browse.cascade_risk.p, 1.0, "cascade_risk is the run's, the same for every load");
    assert_eq!(shoppers.path_cascade_risk.p, 1.0);
    assert_eq!(browse.path_cascade_risk.p, 0.0);
    assert!(result.services[0].unhealthy.p == 1.0 && !result.services[0].faulted);
    assert!(result.services[1].faulted);
    // Retries: more than one attempt per request reaches payment during the fault.
    assert!(result.services[1].amplification.as_ref().unwrap().min > 1.0);
}

/// More payment instances lower the risk; the tipping point is the first count whose
/// whole interval is below the threshold, and never one whose point estimate alone is.
#[test]
fn vary_finds_the_tipping_point() {
    let points: Vec<(String, Scenario)> =
        [3, 4, 5, 6].iter().map(|&n| (format!("services.payment.instances={n}"), capacity(n))).collect();
    let result = run_vary(&points, &opts(6, 2), &|| {});
    assert_eq!(result.keys, vec!["services.payment.instances".to_string()]);
    assert_eq!(result.points.len(), 4);
    // With 6 seeds the upper end of 0/6 is 0.39: no point can be below 0.3, all can be below 0.5.
    assert_eq!(tipping_point(&result, "browse", RiskKind::Slo, 0.3), None);
    assert_eq!(tipping_point(&result, "nobody", RiskKind::Slo, 0.5), None);
    for p in &result.points {
        let slo = p.risks[0].slo_risk;
        let expected = (slo.high < 0.5).then(|| p.label.clone());
        if expected.is_some() {
            assert_eq!(tipping_point(&result, "shoppers", RiskKind::Slo, 0.5), expected);
            break;
        }
    }
}

/// The sweep charts render as PNG and SVG, with text, and the same bytes twice.
#[test]
fn sweep_charts_render_deterministically() {
    let result = run_sweep(&checkout(3), &opts(12, 2), &|| {});
    let files = sweep_chart::sweep_charts(&result).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["fan.png", "fan.svg", "risk.png", "risk.svg", "recovery.png", "recovery.svg"]);
    let again = sweep_chart::sweep_charts(&result).unwrap();
    for (file, again) in files.iter().zip(&again) {
        if file.name.ends_with(".png") {
            assert_eq!(file.bytes[..8], [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]);
        } else {
            let svg = String::from_utf8(file.bytes.clone()).unwrap();
            assert!(svg.contains("<text") && svg.contains("shoppers"), "{} lacks text", file.name);
        }
        assert!(file == again, "{} renders differ", file.name);
    }

    let points: Vec<(String, Scenario)> =
        [2, 3].iter().map(|&n| (format!("services.payment.instances={n}"), checkout(n))).collect();
    let vary = run_vary(&points, &opts(4, 2), &|| {});
    let files = sweep_chart::vary_charts(&vary, Some(0.05)).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["vary.png", "vary.svg"]);
    assert!(String::from_utf8(files[1].bytes.clone()).unwrap().contains("services.payment.instances"));
}

/// Writes `files` into `dir` (created if needed), for the sample writers below.
fn write_into(dir: &std::path::Path, files: &[stormcast::report::output::OutputFile]) {
    std::fs::create_dir_all(dir).unwrap();
    for f in files {
        std::fs::write(dir.join(&f.name), &f.bytes).unwrap();
    }
}

/// Writes sample charts and `sweep.json` into `$STORMCAST_SWEEP_SAMPLES` when it is
/// set (to look at them); does nothing otherwise.
#[test]
fn write_samples_when_asked() {
    let Some(dir) = std::env::var_os("STORMCAST_SWEEP_SAMPLES") else { return };
    let dir = std::path::PathBuf::from(dir);
    let seeds = std::env::var("STORMCAST_SWEEP_SAMPLE_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(40);
    let result = run_sweep(&checkout(3), &opts(seeds, 2), &|| {});
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("sweep.json"), serde_json::to_string_pretty(&result).unwrap()).unwrap();
    write_into(&dir, &sweep_chart::sweep_charts(&result).unwrap());
    let points: Vec<(String, Scenario)> =
        [3, 4, 5, 6, 8].iter().map(|&n| (format!("services.payment.instances={n}"), capacity(n))).collect();
    let vary = run_vary(&points, &opts(seeds / 2, 2), &|| {});
    write_into(&dir, &sweep_chart::vary_charts(&vary, Some(0.1)).unwrap());
    let grid_dir = dir.join("grid");
    let points: Vec<(String, Scenario)> = [3, 4, 5]
        .iter()
        .flat_map(|&n| {
            [16u64, 32].map(move |w| {
                let mut sc = capacity(n);
                sc.services[0].workers = w;
                (format!("services.payment.instances={n},services.frontend.workers={w}"), sc)
            })
        })
        .collect();
    let vary = run_vary(&points, &opts(seeds / 4, 2), &|| {});
    write_into(&grid_dir, &sweep_chart::vary_charts(&vary, Some(0.1)).unwrap());
}

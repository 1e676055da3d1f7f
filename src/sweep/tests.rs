//! Tests of the sweep: the bounded fold, replay commands, `--vary` labels, call paths.

use super::fold::services_on_path;
use super::*;
use crate::engine::SimDuration;
use crate::model::*;

fn small_scenario() -> Scenario {
    let latency = Dist::constant(SimDuration::from_millis(5));
    Scenario {
        source: "scenarios/small one.toml".to_string(),
        hash: "0123456789abcdef".to_string(),
        overlays: Vec::new(),
        simulation: Simulation {
            duration: SimDuration::from_secs(6),
            warmup: SimDuration::from_secs(1),
            bucket: SimDuration::from_secs(1),
            seed: 1,
            network: None,
        },
        services: vec![Service {
            name: "api".to_string(),
            instances: 1,
            workers: 4,
            queue: Some(16),
            balancer: Balancer::RoundRobin,
            client: None,
            rate_limit: None,
            autoscaling: None,
            adaptive_concurrency: None,
            restart_after: None,
            startup: crate::engine::SimDuration::ZERO,
            min_available: None,
            endpoints: vec![Endpoint { name: "work".to_string(), latency, error_rate: 0.0, steps: Vec::new() }],
        }],
        policies: Vec::new(),
        loads: vec![Load {
            name: "users".to_string(),
            target: EndpointRef { service: 0, endpoint: 0 },
            kind: LoadKind::Open { rate: 20.0, arrival: Arrival::Poisson, profile: Vec::new() },
            policy: None,
            slo: None,
        }],
        faults: Vec::new(),
        gates: Gates::default(),
        expect: Vec::new(),
        rollout: None,
    }
}

/// Memory is bounded by the chunk, not by the sweep: 200 seeds on 2 threads are
/// folded in chunks of at most 8 records, and only compact records are collected
/// (the type of `records` in `sweep_in_current_pool` is `Vec<SeedRecord>`, which
/// holds no `RunResult`; the full result is moved into `SeedRecord::new` and
/// dropped in the worker).
#[test]
fn sweep_folds_in_bounded_chunks() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let largest = AtomicUsize::new(0);
    let chunks = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let opts = SweepOptions { jobs: Some(2), ..SweepOptions::new(200, 1) };
    let result = sweep_observed(
        &small_scenario(),
        &opts,
        &|| {
            finished.fetch_add(1, Ordering::Relaxed);
        },
        &|len| {
            largest.fetch_max(len, Ordering::Relaxed);
            chunks.fetch_add(1, Ordering::Relaxed);
        },
    );
    assert_eq!(finished.load(Ordering::Relaxed), 200);
    assert_eq!(largest.load(Ordering::Relaxed), 2 * CHUNK_PER_THREAD);
    assert_eq!(chunks.load(Ordering::Relaxed), 200 / (2 * CHUNK_PER_THREAD));
    assert_eq!(result.runs.len(), 200);
    let seeds: Vec<u64> = result.runs.iter().map(|r| r.seed).collect();
    assert_eq!(seeds, (1..=200).collect::<Vec<_>>(), "runs are in seed order");
}

#[test]
fn vary_labels_parse() {
    assert_eq!(
        parse_vary_label("services.api.instances=3, services.db.workers=8"),
        vec![
            VaryParam { key: "services.api.instances".into(), value: "3".into() },
            VaryParam { key: "services.db.workers".into(), value: "8".into() },
        ]
    );
    assert_eq!(parse_vary_label("7"), vec![VaryParam { key: String::new(), value: "7".into() }]);
}

#[test]
fn call_path_follows_calls() {
    let mut sc = small_scenario();
    let mut other = sc.services[0].clone();
    other.name = "db".into();
    let mut third = sc.services[0].clone();
    third.name = "unrelated".into();
    sc.services.push(other);
    sc.services.push(third);
    sc.services[0].endpoints[0].steps.push(Step::Call(CallSite {
        to: EndpointRef { service: 1, endpoint: 0 },
        policy: None,
        probability: 1.0,
        optional: false,
    }));
    assert_eq!(services_on_path(&sc, EndpointRef { service: 0, endpoint: 0 }), vec![true, true, false]);
}

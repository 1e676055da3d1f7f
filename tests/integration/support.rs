//! Builders for small scenarios in code, and statistics helpers for the tests.

use stormcast::engine::SimDuration;
use stormcast::model::*;

pub fn secs(s: f64) -> SimDuration {
    SimDuration::from_secs_f64(s)
}

pub fn simulation(duration_s: f64, warmup_s: f64) -> Simulation {
    Simulation { duration: secs(duration_s), warmup: secs(warmup_s), bucket: secs(1.0), seed: 1, network: None }
}

pub fn service(name: &str, instances: u32, workers: u64, queue: Option<u64>, latency: Dist) -> Service {
    Service {
        name: name.to_string(),
        instances,
        workers,
        queue,
        balancer: Balancer::RoundRobin,
        client: None,
        rate_limit: None,
        autoscaling: None,
        adaptive_concurrency: None,
        restart_after: None,
        startup: SimDuration::ZERO,
        min_available: None,
        endpoints: vec![Endpoint { name: "work".to_string(), latency, error_rate: 0.0, steps: Vec::new() }],
    }
}

pub fn open_load(name: &str, service: usize, rate: f64, arrival: Arrival) -> Load {
    Load {
        name: name.to_string(),
        target: EndpointRef { service, endpoint: 0 },
        kind: LoadKind::Open { rate, arrival, profile: Vec::new() },
        policy: None,
        slo: None,
    }
}

pub fn scenario(simulation: Simulation, services: Vec<Service>, loads: Vec<Load>) -> Scenario {
    Scenario {
        source: "test".to_string(),
        hash: "0000000000000000".to_string(),
        overlays: Vec::new(),
        simulation,
        services,
        policies: Vec::new(),
        loads,
        faults: Vec::new(),
        gates: Gates::default(),
        expect: Vec::new(),
        rollout: None,
    }
}

pub fn call(service: usize) -> CallSite {
    CallSite { to: EndpointRef { service, endpoint: 0 }, policy: None, probability: 1.0, optional: false }
}

/// Mean and standard error of independent replications (one value per seed).
pub fn mean_and_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// Asserts that the mean of per-seed estimates agrees with `expected` within `k`
/// standard errors of the replication mean, and that the experiment is precise enough
/// to mean something (relative standard error below `max_rel_se`).
#[track_caller]
pub fn assert_agrees(what: &str, per_seed: &[f64], expected: f64, k: f64, max_rel_se: f64) {
    let (mean, se) = mean_and_se(per_seed);
    assert!(se / expected.abs() < max_rel_se, "{what}: too imprecise to test: se {se} for expected {expected}");
    assert!(
        (mean - expected).abs() <= k * se,
        "{what}: measured {mean:.6} +/- {se:.6} (se over {} seeds), expected {expected:.6}: off by {:.1} se",
        per_seed.len(),
        (mean - expected).abs() / se
    );
}

pub fn at(s: f64) -> stormcast::engine::SimTime {
    stormcast::engine::SimTime::ZERO + secs(s)
}

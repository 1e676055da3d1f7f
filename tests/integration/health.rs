//! Health and cascade verdicts (`stats::health`) on scenarios whose story is known:
//! the root cause of a storm is never healthy, a lone overloaded service is not a
//! cascade, and a slow dependency that starves a shared pool is one.

use stormcast::scenario::{load_file, load_str};
use stormcast::sim::simulate;
use stormcast::stats::{HealthCause, HealthState, RunResult, ServiceResult};

fn service<'r>(r: &'r RunResult, name: &str) -> &'r ServiceResult {
    r.services.iter().find(|s| s.name == name).expect("service exists")
}

/// The retry storm's database answers every query ok, but too late: its callers time
/// out on nearly all of them. It is the root cause (overload); the api, with 2,000 idle
/// workers, only passes its failures on (dependency, relayed, not impaired): a
/// metastable overload of one service, not a cascade.
#[test]
fn retry_storm_database_is_unhealthy_by_overload() {
    let sc = load_file("scenarios/retry-storm.toml".as_ref()).expect("valid");
    for seed in 1..4 {
        let r = simulate(&sc, seed);
        let db = &service(&r, "db").health;
        assert_eq!((db.state, db.cause), (HealthState::Unhealthy, Some(HealthCause::Overload)), "seed {seed}");
        assert!(db.signals.contains(&"failing"), "callers time out on the db: {:?}", db.signals);
        let api = &service(&r, "api").health;
        assert_eq!((api.cause, api.via.as_slice()), (Some(HealthCause::Dependency), &["db".to_string()][..]));
        assert!(!api.impaired);
        assert!(!r.cascade.cascade && r.cascade.blast_radius.is_empty());
        assert_eq!(r.cascade.relayed, ["api"]);
    }
}

/// One service, nothing downstream, hit by a spike twice its capacity: unhealthy by
/// overload while the spike lasts, and no cascade (nothing else to spread to).
#[test]
fn single_service_spike_is_an_overload_not_a_cascade() {
    let text = r#"
[simulation]
duration = "60s"
warmup = "5s"
[services.api]
workers = 10
queue = 100
[services.api.endpoints.get]
latency = { dist = "exponential", mean = "10ms" }
[[load]]
name = "users"
target = "api/get"
rate = 500
profile = [ { at = "20s", rate = 2000 }, { at = "30s", rate = 500 } ]
"#;
    let sc = load_str("spike.toml", text).expect("valid");
    for seed in 1..4 {
        let r = simulate(&sc, seed);
        let api = &service(&r, "api").health;
        assert_eq!((api.state, api.cause), (HealthState::Unhealthy, Some(HealthCause::Overload)), "seed {seed}");
        // Unhealthy during the spike [20 s, 30 s), not before it.
        let first = api.first_unhealthy_s.expect("unhealthy");
        assert!((20.0..31.0).contains(&first), "first unhealthy at {first} s");
        assert!(!r.cascade.cascade && r.cascade.origin.is_empty() && r.cascade.blast_radius.is_empty());
    }
}

/// The same service at half its capacity is healthy: the slow rule does not fire on
/// ordinary queueing, nor the failing rule on a service that fails nothing.
#[test]
fn a_service_at_half_capacity_is_healthy() {
    let text = r#"
[simulation]
duration = "60s"
warmup = "5s"
[services.api]
workers = 10
[services.api.endpoints.get]
latency = { dist = "exponential", mean = "10ms" }
[[load]]
name = "users"
target = "api/get"
rate = 500
"#;
    let sc = load_str("calm.toml", text).expect("valid");
    for seed in 1..4 {
        let r = simulate(&sc, seed);
        assert_eq!(service(&r, "api").health.state, HealthState::Healthy, "seed {seed}");
        assert!(!r.cascade.cascade);
    }
}

/// Thread-pool exhaustion: reporting turns 50x slower (a fault), api workers wait on it,
/// the shared pool runs dry, and `browse`, which never calls reporting, is rejected.
/// The cascade's origin is the slow dependency; api is in its blast radius; catalog,
/// below the healthy path, stays healthy.
#[test]
fn thread_pool_exhaustion_is_a_cascade_from_the_slow_dependency() {
    let sc = load_file("scenarios/thread-pool-exhaustion.toml".as_ref()).expect("valid");
    for seed in 1..4 {
        let r = simulate(&sc, seed);
        let reporting = &service(&r, "reporting").health;
        assert_eq!(reporting.cause, Some(HealthCause::Fault), "seed {seed}");
        assert!(reporting.signals.contains(&"slow"), "{:?}", reporting.signals);
        let api = &service(&r, "api").health;
        assert_eq!((api.cause, api.via.as_slice()), (Some(HealthCause::Dependency), &["reporting".to_string()][..]));
        assert!(api.impaired, "the api's pool ran dry");
        assert_eq!(service(&r, "catalog").health.state, HealthState::Healthy);
        assert_eq!(r.cascade.origin, ["reporting"]);
        assert_eq!(r.cascade.blast_radius, ["api"]);
        // The browsers, whose path never touches reporting, were failed by it.
        let browsers = r.loads.iter().find(|l| l.name == "browsers").expect("load");
        assert!(browsers.success_rate < 0.99, "browsers untouched: {}", browsers.success_rate);
    }
}

//! Tests of the scenario loader: the resolved model of a full scenario, one rendered
//! message per error class (insta snapshots), and inputs that must not panic.

use super::*;
use crate::engine::{SimDuration, SimTime};
use crate::model::{
    Arrival, Backoff, Balancer, BreakerWindow, EndpointRef, FaultKind, FaultTarget, Jitter, LoadKind, Outcome,
    OutcomeSet, RetryBudget, Step,
};

const FULL: &str = include_str!("testdata/full.toml");

fn ms(v: u64) -> SimDuration {
    SimDuration::from_millis(v)
}

fn secs(v: u64) -> SimDuration {
    SimDuration::from_secs(v)
}

#[test]
fn full_scenario_resolves_every_key() {
    let s = load_str("full.toml", FULL).expect("full.toml is valid");
    assert_eq!(s.source, "full.toml");
    assert_eq!(s.hash, format!("{:016x}", fnv1a64(FULL.as_bytes())));
    assert_eq!(s.hash.len(), 16);

    let sim = &s.simulation;
    assert_eq!((sim.duration, sim.warmup, sim.bucket, sim.seed), (secs(120), secs(10), secs(1), 1));
    assert_eq!(sim.network.as_ref().map(|d| d.mean_ns()), Some(200_000.0));

    // Services and endpoints keep file order, not alphabetical order.
    let names: Vec<&str> = s.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["frontend", "cart", "payment", "inventory", "shipping", "recs"]);
    let recs: Vec<&str> = s.services[5].endpoints.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(recs, ["top", "pareto", "lncv", "fixed"]);

    let policy = |name: &str| s.policies.iter().position(|p| p.name == name).expect(name);
    let frontend = &s.services[0];
    assert_eq!((frontend.instances, frontend.workers, frontend.queue), (4, 16, Some(64)));
    assert_eq!(frontend.balancer, Balancer::RoundRobin);
    assert_eq!(frontend.client, Some(policy("default-client")));
    let rl = frontend.rate_limit.expect("rate limit");
    assert_eq!((rl.rate, rl.burst), (2000.0, 200.0));
    assert_eq!((s.services[1].queue, s.services[1].balancer), (None, Balancer::LeastRequests));
    assert_eq!((s.services[2].workers, s.services[2].queue), (1_000_000_000_000, Some(0)));
    assert_eq!(s.services[2].balancer, Balancer::Random);
    assert_eq!((s.services[4].instances, s.services[4].workers, s.services[4].queue), (1, 1, None));

    let checkout = &frontend.endpoints[0];
    assert_eq!(checkout.error_rate, 0.001);
    assert_eq!(checkout.steps.len(), 4);
    let ep = |service, endpoint| EndpointRef { service, endpoint };
    let Step::Call(cart) = &checkout.steps[0] else { panic!("a call") };
    // No policy of its own: the service's `client`.
    assert_eq!(
        (cart.to, cart.policy, cart.probability, cart.optional),
        (ep(1, 0), Some(policy("default-client")), 1.0, false)
    );
    let Step::Call(pay) = &checkout.steps[1] else { panic!("a call") };
    assert_eq!((pay.to, pay.policy), (ep(2, 0), Some(policy("payment-client"))));
    let Step::Parallel(group) = &checkout.steps[2] else { panic!("a parallel group") };
    assert_eq!(group.iter().map(|c| (c.to, c.optional)).collect::<Vec<_>>(), [(ep(3, 0), false), (ep(4, 0), true)]);
    let Step::Call(recs_call) = &checkout.steps[3] else { panic!("a call") };
    // Inline policies are named after the caller and the call's number (parallel
    // members count), and appended after the named ones.
    assert_eq!((recs_call.to, recs_call.probability), (ep(5, 0), 0.3));
    let inline = &s.policies[recs_call.policy.expect("inline policy")];
    assert_eq!((inline.name.as_str(), inline.timeout), ("frontend/checkout#5", Some(ms(100))));
    assert_eq!(
        &s.policies[..5].iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        &["payment-client", "default-client", "user", "budgeted", "grpc"]
    );
    // An inline `client` is the default of that service's calls.
    let Step::Call(sync_call) = &s.services[3].endpoints[1].steps[0] else { panic!("a call") };
    assert_eq!(sync_call.policy, s.services[3].client);
    assert_eq!(s.policies[sync_call.policy.expect("client")].name, "inventory#client");
    // A service without `client` makes policy-less calls... none here; checked below.

    let pc = &s.policies[policy("payment-client")];
    assert_eq!((pc.timeout, pc.deadline, pc.deadline_propagation), (Some(ms(800)), Some(secs(3)), false));
    let retry = pc.retry.as_ref().expect("retry");
    assert_eq!(retry.max_attempts, 3);
    assert_eq!(retry.backoff, Backoff::Exponential { base: ms(50), multiplier: 2.0, max: secs(1) });
    assert_eq!(retry.jitter, Jitter::Full);
    assert_eq!(retry.on, OutcomeSet::of(&[Outcome::Timeout, Outcome::Error, Outcome::Rejected, Outcome::Unavailable]));
    assert_eq!(pc.retry_budget, Some(RetryBudget::Concurrency { ratio: 0.2, min_concurrency: 3 }));
    let cb = pc.circuit_breaker.as_ref().expect("breaker");
    assert_eq!(cb.window, BreakerWindow::Count(100));
    assert_eq!((cb.min_calls, cb.failure_rate, cb.slow_call_rate, cb.half_open_calls), (20, 0.5, 1.0, 10));
    assert_eq!((cb.slow_call_duration, cb.open_for), (ms(500), secs(5)));
    assert_eq!(pc.bulkhead.as_ref().map(|b| b.max_concurrent), Some(50));

    let user = s.policies[policy("user")].retry.as_ref().expect("retry");
    assert_eq!(user.backoff, Backoff::Constant { base: secs(1) });
    assert_eq!(user.on, OutcomeSet::of(&[Outcome::Timeout, Outcome::Error]));

    // Defaults: exponential when only `base` is given, unbounded `max`, Resilience4j's
    // breaker, the token bucket's capacity, gRPC's throttling, Resilience4j's bulkhead.
    let budgeted = &s.policies[policy("budgeted")];
    assert!(budgeted.deadline_propagation);
    let r = budgeted.retry.as_ref().expect("retry");
    assert_eq!(r.backoff, Backoff::Exponential { base: ms(10), multiplier: 2.0, max: SimDuration::MAX });
    assert_eq!(r.jitter, Jitter::Decorrelated);
    assert_eq!(budgeted.retry_budget, Some(RetryBudget::TokenBucket { ratio: 0.1, capacity: 10.0 }));
    let cb = budgeted.circuit_breaker.as_ref().expect("breaker");
    assert_eq!(cb.window, BreakerWindow::Time(100));
    assert_eq!((cb.min_calls, cb.failure_rate, cb.slow_call_rate, cb.half_open_calls), (100, 0.5, 1.0, 10));
    assert_eq!((cb.slow_call_duration, cb.open_for), (secs(60), secs(60)));
    let grpc = &s.policies[policy("grpc")];
    assert_eq!(grpc.retry_budget, Some(RetryBudget::GrpcThrottling { max_tokens: 10.0, token_ratio: 0.1 }));
    assert_eq!(grpc.bulkhead.as_ref().map(|b| b.max_concurrent), Some(25));
    let inv_client = &s.policies[policy("inventory#client")];
    let r = inv_client.retry.as_ref().expect("retry");
    assert_eq!((r.max_attempts, &r.backoff, r.jitter), (2, &Backoff::None, Jitter::None));

    // Distributions (means in ns).
    let mean = |sv: usize, e: usize| s.services[sv].endpoints[e].latency.mean_ns();
    assert_eq!(mean(1, 0), 2e6);
    assert!((mean(3, 0) - 5e6).abs() < 1.0);
    assert_eq!(mean(3, 1), 20e6);
    // A normal truncated at zero, 4 sigma below its mean: 134 ns above 4 ms.
    assert!((mean(4, 0) - 4_000_133.83).abs() < 0.01);
    assert!((mean(5, 2) - 3e6).abs() < 1.0);
    assert_eq!(mean(5, 3), 7e6);
    assert!(mean(2, 0) > 20e6 && mean(2, 0) < 200e6);

    // Loads.
    assert_eq!(s.loads.len(), 3);
    let shoppers = &s.loads[0];
    assert_eq!(
        (shoppers.name.as_str(), shoppers.target, shoppers.policy),
        ("shoppers", ep(0, 0), Some(policy("user")))
    );
    let LoadKind::Open { rate, arrival, profile } = &shoppers.kind else { panic!("open loop") };
    assert_eq!((*rate, *arrival), (400.0, Arrival::Poisson));
    assert_eq!(profile, &[(SimTime(40_000_000_000), 1200.0), (SimTime(50_000_000_000), 400.0)]);
    let slo = shoppers.slo.as_ref().expect("slo");
    assert_eq!((slo.p99, slo.success_rate), (Some(ms(500)), Some(0.99)));
    let batch = &s.loads[1];
    let LoadKind::Closed { users, think_time } = &batch.kind else { panic!("closed loop") };
    assert_eq!((*users, think_time.mean_ns(), batch.target), (20, 500e6, ep(3, 1)));
    // `deadline_propagation` on a load without a policy gives it one of its own.
    let bp = &s.policies[batch.policy.expect("derived policy")];
    assert_eq!((bp.name.as_str(), bp.deadline_propagation, bp.timeout), ("load/batch", true, None));
    assert!(batch.slo.is_none());
    let ticks = &s.loads[2];
    assert!(matches!(ticks.kind, LoadKind::Open { arrival: Arrival::Constant, .. }));
    assert_eq!(s.policies[ticks.policy.expect("inline")].name, "load/ticks");

    // Where each policy was written (`PolicyOrigin`): the TOML key a message names.
    let key_of = |name: &str| s.policies[policy(name)].key();
    assert_eq!(key_of("payment-client"), "policies.payment-client");
    assert_eq!(key_of("frontend/checkout#5"), "services.frontend.endpoints.checkout.calls[3].policy");
    assert_eq!(key_of("inventory#client"), "services.inventory.client");
    assert_eq!(key_of("load/batch"), "load[1].policy");
    assert_eq!(key_of("load/ticks"), "load[2].policy");

    // Faults.
    let f: Vec<_> = s.faults.iter().map(|f| (f.kind.clone(), f.target, f.at, f.duration)).collect();
    assert_eq!(
        f,
        [
            (
                FaultKind::Latency { factor: 5.0, add: SimDuration::ZERO },
                FaultTarget::Service(2),
                SimTime(30_000_000_000),
                secs(20)
            ),
            (FaultKind::Errors { rate: 0.5 }, FaultTarget::Edge { from: 0, to: 2 }, SimTime(60_000_000_000), secs(10)),
            (FaultKind::Crash { instances: 2 }, FaultTarget::Service(2), SimTime(70_000_000_000), secs(5)),
            (FaultKind::Partition, FaultTarget::Edge { from: 0, to: 1 }, SimTime(80_000_000_000), secs(1)),
            // `instances` defaults to all of the service's.
            (FaultKind::Pause { instances: 1 }, FaultTarget::Service(3), SimTime(90_000_000_000), ms(500)),
            (
                FaultKind::Latency { factor: 1.0, add: ms(200) },
                FaultTarget::Endpoint(ep(1, 0)),
                SimTime(100_000_000_000),
                secs(2)
            ),
        ]
    );

    let g = &s.gates;
    assert_eq!(
        (
            g.max_slo_risk,
            g.max_slo_risk_increase,
            g.max_p99_increase,
            g.max_metastable_risk,
            g.max_metastable_risk_increase
        ),
        (Some(0.05), Some(0.02), Some(0.10), Some(0.01), Some(0.0))
    );
}

/// A small valid scenario the error tests break one piece at a time.
const BASE: &str = r#"[simulation]
duration = "60s"

[services.frontend]
workers = 8
endpoints.checkout = { latency = "5ms", calls = [ { to = "cart/get" }, { to = "payment/charge", policy = "payment-client" } ] }

[services.cart]
endpoints.get = { latency = "1ms" }

[services.payment]
endpoints.charge = { latency = "10ms" }

[policies.payment-client]
timeout = "800ms"

[[load]]
name = "shoppers"
target = "frontend/checkout"
rate = 100
"#;

#[test]
fn minimal_scenario_uses_defaults() {
    let s = load_str("base.toml", BASE).expect("BASE is valid");
    assert_eq!((s.simulation.warmup, s.simulation.bucket, s.simulation.seed), (SimDuration::ZERO, secs(1), 1));
    assert!(s.simulation.network.is_none());
    let cart = &s.services[1];
    assert_eq!(
        (cart.instances, cart.workers, cart.queue, cart.balancer, cart.client),
        (1, 1, None, Balancer::RoundRobin, None)
    );
    let Step::Call(c) = &s.services[0].endpoints[0].steps[0] else { panic!("a call") };
    // No own policy and no `client`: no policy at all.
    assert_eq!(c.policy, None);
    assert_eq!(s.gates, crate::model::Gates::default());
}

fn render(text: &str) -> String {
    match load_str("scenarios/checkout.toml", text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// BASE with `from` replaced by `to` (which must change it).
fn with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "BASE lacks {from:?}");
    BASE.replacen(from, to, 1)
}

#[test]
fn error_malformed_toml() {
    insta::assert_snapshot!(render(&with("[services.cart]", "[services.cart")));
}

#[test]
fn error_wrong_type() {
    insta::assert_snapshot!(render(&with("workers = 8", "workers = \"eight\"")));
}

#[test]
fn error_wrong_type_table() {
    insta::assert_snapshot!(render(&with("rate = 100", "rate = 100\nprofile = \"spiky\"")));
}

#[test]
fn error_unknown_key_with_suggestion() {
    insta::assert_snapshot!(render(&with("timeout = \"800ms\"", "timout = \"800ms\"")));
}

#[test]
fn error_unknown_top_level_table() {
    insta::assert_snapshot!(render(&with("[policies.payment-client]", "[policy.payment-client]")));
}

#[test]
fn error_unknown_service() {
    insta::assert_snapshot!(render(&with("{ to = \"payment/charge\"", "{ to = \"paymnet/charge\"")));
}

#[test]
fn error_unknown_endpoint() {
    insta::assert_snapshot!(render(&with("{ to = \"payment/charge\"", "{ to = \"payment/chrage\"")));
}

#[test]
fn error_unknown_policy() {
    insta::assert_snapshot!(render(&with("policy = \"payment-client\"", "policy = \"payment-clinet\"")));
}

#[test]
fn error_unknown_load_in_slo() {
    insta::assert_snapshot!(render(&format!("{BASE}\n[slo.shopers]\np99 = \"1s\"\n")));
}

#[test]
fn error_call_cycle() {
    let text = with(
        "endpoints.get = { latency = \"1ms\" }",
        "endpoints.get = { latency = \"1ms\", calls = [ { to = \"payment/charge\" } ] }",
    )
    .replace(
        "endpoints.charge = { latency = \"10ms\" }",
        "endpoints.charge = { latency = \"10ms\", calls = [ { to = \"frontend/checkout\" } ] }",
    );
    insta::assert_snapshot!(render(&text));
}

#[test]
fn error_self_call() {
    insta::assert_snapshot!(render(&with(
        "endpoints.get = { latency = \"1ms\" }",
        "endpoints.get = { latency = \"1ms\", calls = [ { to = \"cart/get\" } ] }",
    )));
}

#[test]
fn error_dist_p99_below_median() {
    insta::assert_snapshot!(render(&with(
        "latency = \"1ms\"",
        "latency = { dist = \"lognormal\", median = \"10ms\", p99 = \"5ms\" }"
    )));
}

#[test]
fn error_dist_unknown_name() {
    insta::assert_snapshot!(render(&with("latency = \"1ms\"", "latency = { dist = \"lognorm\", median = \"1ms\" }")));
}

#[test]
fn error_dist_missing_parameter() {
    insta::assert_snapshot!(render(&with("latency = \"1ms\"", "latency = { dist = \"lognormal\", median = \"1ms\" }")));
}

#[test]
fn error_dist_negative_and_nan() {
    insta::assert_snapshot!(render(&with(
        "latency = \"1ms\"",
        "latency = { dist = \"gamma\", mean = \"1ms\", cv = -0.5 }"
    )));
    insta::assert_snapshot!(render(&with(
        "latency = \"1ms\"",
        "latency = { dist = \"weibull\", scale = \"1ms\", shape = nan }"
    )));
    insta::assert_snapshot!(render(&with("latency = \"1ms\"", "latency = \"-1ms\"")));
}

#[test]
fn error_dist_parameter_that_does_not_apply() {
    insta::assert_snapshot!(render(&with(
        "latency = \"1ms\"",
        "latency = { dist = \"exponential\", mean = \"1ms\", p99 = \"9ms\" }"
    )));
}

#[test]
fn error_empirical_quantiles_out_of_order() {
    insta::assert_snapshot!(render(&with(
        "latency = \"1ms\"",
        "latency = { dist = \"empirical\", quantiles = { p50 = \"10ms\", p90 = \"8ms\", p99 = \"30ms\" } }"
    )));
}

#[test]
fn error_load_without_rate_or_users() {
    insta::assert_snapshot!(render(&with("rate = 100\n", "")));
}

#[test]
fn error_load_with_rate_and_users() {
    insta::assert_snapshot!(render(&with("rate = 100\n", "rate = 100\nusers = 5\n")));
}

#[test]
fn error_profile_overlapping() {
    insta::assert_snapshot!(render(&with(
        "rate = 100\n",
        "rate = 100\nprofile = [ { at = \"40s\", rate = 300 }, { at = \"20s\", rate = 100 } ]\n"
    )));
}

#[test]
fn error_profile_out_of_range() {
    insta::assert_snapshot!(render(&with(
        "rate = 100\n",
        "rate = 100\nprofile = [ { at = \"0s\", rate = 300 }, { at = \"90s\", rate = 100 } ]\n"
    )));
}

#[test]
fn error_unknown_duration_unit() {
    insta::assert_snapshot!(render(&with("timeout = \"800ms\"", "timeout = \"800 parsecs\"")));
}

#[test]
fn error_duration_without_unit() {
    insta::assert_snapshot!(render(&with("duration = \"60s\"", "duration = 60")));
}

#[test]
fn error_zero_workers() {
    insta::assert_snapshot!(render(&with("workers = 8", "workers = 0")));
}

#[test]
fn error_too_many_instances() {
    insta::assert_snapshot!(render(&with("workers = 8", "workers = 8\ninstances = 1e12")));
}

#[test]
fn error_fault_kind_target_mismatch() {
    insta::assert_snapshot!(render(&format!(
        "{BASE}\n[[fault]]\nkind = \"partition\"\ntarget = \"payment\"\nat = \"10s\"\nduration = \"5s\"\n"
    )));
    insta::assert_snapshot!(render(&format!(
        "{BASE}\n[[fault]]\nkind = \"crash\"\ntarget = \"frontend->payment\"\nat = \"10s\"\nduration = \"5s\"\n"
    )));
}

#[test]
fn error_fault_outside_the_run() {
    insta::assert_snapshot!(render(&format!(
        "{BASE}\n[[fault]]\nkind = \"errors\"\ntarget = \"payment/charge\"\nat = \"50s\"\nduration = \"20s\"\nrate = 0.5\n"
    )));
}

#[test]
fn error_empty_file() {
    insta::assert_snapshot!(render(""));
    insta::assert_snapshot!(render("\n  \n"));
}

#[test]
fn error_missing_simulation() {
    insta::assert_snapshot!(render("# only a comment\n[services.a]\nendpoints.x = { latency = \"1ms\" }\n"));
}

#[test]
fn error_invalid_utf8() {
    let mut bytes = b"[simulation]\nduration = \"60s\"\n# caf".to_vec();
    bytes.extend_from_slice(&[0xe9, 0x20, 0xff, b'\n']);
    let e = load_bytes("scenarios/latin1.toml", &bytes).expect_err("not UTF-8");
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn error_missing_file() {
    let e = load_file(Path::new("scenarios/does-not-exist.toml")).expect_err("no such file");
    let text = e.to_string();
    assert!(text.starts_with("error: cannot read scenario `scenarios/does-not-exist.toml`: "), "{text}");
    assert!(matches!(e, LoadError::Read { .. }));
}

#[test]
fn several_semantic_errors_are_reported_together() {
    let text = with("workers = 8", "workers = 0")
        .replace("{ to = \"cart/get\" }", "{ to = \"cart/gte\" }")
        .replace("timeout = \"800ms\"", "timeout = \"800\"")
        .replace("rate = 100\n", "")
        + "\n[slo.nobody]\nsuccess_rate = 1.5\n";
    let e = load_str("scenarios/checkout.toml", &text).expect_err("invalid");
    assert_eq!(e.diagnostics().len(), 6, "{e}");
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn tabs_and_wide_lines_keep_the_caret_aligned() {
    let text = with("workers = 8", "\tworkers =\t0");
    insta::assert_snapshot!(render(&text));
}

/// A tiny deterministic generator (an LCG), so the garbage is the same on every run.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect()
}

#[test]
fn garbage_never_panics() {
    let mut inputs: Vec<Vec<u8>> = (0..200).map(|seed| garbage(seed, (seed as usize * 37) % 400)).collect();
    // Printable garbage made of TOML's own punctuation reaches deeper into the parser.
    let alphabet = b"[]{}=\",.\n ab1-_/>#'";
    inputs.extend(
        (0..200).map(|seed| garbage(seed, 300).iter().map(|b| alphabet[*b as usize % alphabet.len()]).collect()),
    );
    let deep_table = format!("{}1{}", "a = { ".repeat(5000), " }".repeat(5000));
    let deep_array = format!("a = {}1{}", "[".repeat(5000), "]".repeat(5000));
    let deep_dotted = format!("[{}]\n", vec!["a"; 5000].join("."));
    inputs.extend([deep_table, deep_array, deep_dotted].map(String::into_bytes));
    for bad in [
        "workers = 1e308",
        "workers = -1",
        "workers = inf",
        "workers = 18446744073709551615",
        "instances = 1e12",
        "instances = 9223372036854775807",
        "queue = -4",
        "queue = 1.5",
        "queue = \"lots\"",
        "rate_limit = { rate = nan }",
        "client = 3",
        "endpoints.x = { latency = \"1e300s\" }",
        "endpoints.x = { latency = { dist = \"pareto\", min = \"1ms\", alpha = 1e308 } }",
        "endpoints.x = { latency = { dist = \"empirical\", quantiles = {} } }",
        "endpoints.x = { latency = { dist = \"empirical\", quantiles = { p0 = \"1ms\" } } }",
        "endpoints.x = { latency = { dist = \"uniform\", min = \"9ms\", max = \"1ms\" } }",
        "endpoints.x = { latency = { dist = \"normal\", mean = \"0s\", stddev = \"1ms\" } }",
        "endpoints.x = { latency = \"1ms\", calls = [ { parallel = [ { parallel = [] } ] } ] }",
        "endpoints.x = { latency = \"1ms\", calls = [ { } ] }",
        "endpoints.x = { latency = \"1ms\", calls = [ { to = \"frontend\" } ] }",
        "endpoints.x = { latency = \"1ms\", calls = [ { to = \"/\" } ] }",
    ] {
        inputs.push(with("workers = 8", bad).into_bytes());
    }
    inputs.push(
        format!("{BASE}\n[[fault]]\nkind = \"latency\"\ntarget = \"->\"\nat = \"1e30s\"\nduration = \"1h\"\n")
            .into_bytes(),
    );
    inputs.push(with("duration = \"60s\"", "duration = \"99999999999999999h\"").into_bytes());
    for input in inputs {
        // Either result is fine; a panic fails the test. Rendering must not panic either.
        if let Err(e) = load_bytes("garbage.toml", &input) {
            assert!(e.to_string().starts_with("error: "));
        }
    }
}

#[test]
fn error_retry_reports_every_mistake_in_the_table() {
    insta::assert_snapshot!(render(&with(
        "timeout = \"800ms\"",
        "retry = { base = \"5ms\", backoff = \"none\", jitter = \"ful\", on = [\"timeout\", \"oops\"] }"
    )));
}

#[test]
fn error_huge_float_count_is_shown_as_written() {
    insta::assert_snapshot!(render(&with("workers = 8", "workers = 1e308")));
}

#[test]
fn error_call_without_endpoint() {
    insta::assert_snapshot!(render(&with("{ to = \"cart/get\" }", "{ to = \"cart\" }")));
}

/// `adaptive_throttling`: defaults from the SRE book; `k` must be positive and `window`
/// a positive duration, each error located at its value.
#[test]
fn adaptive_throttling_defaults_and_errors() {
    let with = |t: &str| {
        format!(
            "[simulation]\nduration = \"1s\"\n[services.a.endpoints.e]\nlatency = \"1ms\"\n[[load]]\nname = \"l\"\ntarget = \"a/e\"\nrate = 1\npolicy = {{ adaptive_throttling = {t} }}\n"
        )
    };
    let s = load_str("t.toml", &with("{}")).unwrap();
    let t = s.policies[0].adaptive_throttling.as_ref().expect("throttling");
    assert_eq!((t.k, t.window, t.seconds()), (2.0, SimDuration::from_secs(120), 120));
    let s = load_str("t.toml", &with("{ k = 1.5, window = \"2500ms\" }")).unwrap();
    assert_eq!(s.policies[0].adaptive_throttling.as_ref().map(|t| (t.k, t.seconds())), Some((1.5, 3)));
    for (bad, wants) in [
        ("{ k = 0.0 }", "bad value `0.0` for `k` in `adaptive_throttling`"),
        ("{ window = \"0s\" }", "`window` in `adaptive_throttling`"),
        ("{ window = \"2000000s\" }", "longer than 1000000s"),
        ("{ kk = 1 }", "unknown key `kk` in `load[0].policy.adaptive_throttling`"),
    ] {
        let e = load_str("t.toml", &with(bad)).unwrap_err().to_string();
        assert!(e.contains(wants) && e.contains("t.toml:9:"), "{bad}: {e}");
    }
}

/// `admission_control`: Envoy's defaults; each value checked where it is written.
#[test]
fn admission_control_defaults_and_errors() {
    let with = |a: &str| {
        format!(
            "[simulation]\nduration = \"1s\"\n[services.a.endpoints.e]\nlatency = \"1ms\"\n[[load]]\nname = \"l\"\ntarget = \"a/e\"\nrate = 1\npolicy = {{ admission_control = {a} }}\n"
        )
    };
    let s = load_str("t.toml", &with("{}")).unwrap();
    let a = s.policies[0].admission_control.as_ref().expect("admission control");
    assert_eq!(
        (a.seconds(), a.sr_threshold, a.aggression, a.rps_threshold, a.max_rejection_probability),
        (30, 0.95, 1.0, 0.0, 0.8)
    );
    for (bad, wants) in [
        ("{ sr_threshold = 0.0 }", "`sr_threshold` in `admission_control`"),
        ("{ sr_threshold = 1.5 }", "`sr_threshold` in `admission_control`"),
        ("{ aggression = -1.0 }", "`aggression` in `admission_control`"),
        ("{ rps_threshold = -1.0 }", "`rps_threshold` in `admission_control`"),
        ("{ max_rejection_probability = 2.0 }", "`max_rejection_probability` in `admission_control`"),
        ("{ sampling_window = \"0s\" }", "`sampling_window` in `admission_control`"),
    ] {
        let e = load_str("t.toml", &with(bad)).unwrap_err().to_string();
        assert!(e.contains(wants) && e.contains("t.toml:9:"), "{bad}: {e}");
    }
}

/// `adaptive_concurrency` on a service: both intervals required; Envoy's defaults for the
/// rest; each value checked where it is written, inline or as a table.
#[test]
fn adaptive_concurrency_defaults_and_errors() {
    let with = |a: &str| {
        format!(
            "[simulation]\nduration = \"1s\"\n[services.a]\nadaptive_concurrency = {a}\n[services.a.endpoints.e]\nlatency = \"1ms\"\n[[load]]\nname = \"l\"\ntarget = \"a/e\"\nrate = 1\n"
        )
    };
    let s = load_str("t.toml", &with("{ interval = \"100ms\", min_rtt_interval = \"30s\" }")).unwrap();
    let a = s.services[0].adaptive_concurrency.as_ref().expect("adaptive concurrency");
    assert_eq!(
        (a.interval, a.min_rtt_interval, a.sample_percentile, a.buffer, a.jitter),
        (SimDuration::from_millis(100), SimDuration::from_secs(30), 50.0, 0.25, 0.15)
    );
    assert_eq!((a.min_concurrency, a.max_concurrency, a.request_count), (3, 1000, 50));
    let table = "[simulation]\nduration = \"1s\"\n[services.a.adaptive_concurrency]\ninterval = \"1s\"\nmin_rtt_interval = \"1m\"\nsample_percentile = 90\nbuffer = 0.5\nmin_concurrency = 5\nmax_concurrency = 5\nrequest_count = 10\njitter = 0\n[services.a.endpoints.e]\nlatency = \"1ms\"\n[[load]]\nname = \"l\"\ntarget = \"a/e\"\nrate = 1\n";
    let a = load_str("t.toml", table).unwrap().services[0].adaptive_concurrency.clone().expect("table");
    assert_eq!((a.sample_percentile, a.buffer, a.jitter), (90.0, 0.5, 0.0));
    assert_eq!((a.min_concurrency, a.max_concurrency, a.request_count), (5, 5, 10));
    let ok = "interval = \"1s\", min_rtt_interval = \"30s\"";
    for (bad, wants) in [
        ("{ min_rtt_interval = \"30s\" }".to_string(), "missing `interval` in `adaptive_concurrency` of service `a`"),
        ("{ interval = \"1s\" }".to_string(), "missing `min_rtt_interval`"),
        ("{ interval = \"0s\", min_rtt_interval = \"30s\" }".to_string(), "`interval` in `adaptive_concurrency`"),
        (format!("{{ {ok}, sample_percentile = 0 }}"), "`sample_percentile` in `adaptive_concurrency`"),
        (format!("{{ {ok}, sample_percentile = 101 }}"), "`sample_percentile`"),
        (format!("{{ {ok}, buffer = 25 }}"), "bad value `25.0` for `buffer`"),
        (format!("{{ {ok}, jitter = -0.1 }}"), "`jitter` in `adaptive_concurrency`"),
        (format!("{{ {ok}, min_concurrency = 0 }}"), "`min_concurrency`"),
        (format!("{{ {ok}, request_count = 0 }}"), "`request_count`"),
        (format!("{{ {ok}, min_concurrency = 20, max_concurrency = 10 }}"), "`min_concurrency` (20) is above"),
        (format!("{{ {ok}, limit = 3 }}"), "unknown key `limit`"),
    ] {
        let e = load_str("t.toml", &with(&bad)).unwrap_err().to_string();
        assert!(e.contains(wants) && e.contains("t.toml:4:"), "{bad}: {e}");
    }
}

/// `hedging` (gRFC A6 `hedgingPolicy`): `max_attempts` required, 2 to 5 (gRPC clients'
/// cap); `delay` "0s" by default; `non_fatal` in the outcome vocabulary, none by
/// default; never beside `retry`. Each error located at what it names.
#[test]
fn hedging_defaults_and_errors() {
    let with = |h: &str| {
        format!(
            "[simulation]\nduration = \"1s\"\n[services.a.endpoints.e]\nlatency = \"1ms\"\n[[load]]\nname = \"l\"\ntarget = \"a/e\"\nrate = 1\npolicy = {{ {h} }}\n"
        )
    };
    let s = load_str("t.toml", &with("hedging = { max_attempts = 2 }")).unwrap();
    let h = s.policies[0].hedging.as_ref().expect("hedging");
    assert_eq!((h.max_attempts, h.delay, h.non_fatal), (2, SimDuration::ZERO, OutcomeSet::EMPTY));
    let s = load_str(
        "t.toml",
        &with("hedging = { max_attempts = 5, delay = \"40ms\", non_fatal = [\"unavailable\", \"timeout\"] }"),
    )
    .unwrap();
    let h = s.policies[0].hedging.as_ref().expect("hedging");
    assert_eq!((h.max_attempts, h.delay), (5, ms(40)));
    assert_eq!(h.non_fatal, OutcomeSet::of(&[Outcome::Unavailable, Outcome::Timeout]));
    for (bad, wants, column) in [
        ("hedging = { max_attempts = 6 }", "at most 5 allowed", 39),
        ("hedging = { max_attempts = 1 }", "must be at least 2", 39),
        ("hedging = { delay = \"10ms\" }", "missing `max_attempts` in `hedging`", 22),
        ("hedging = { max_attempts = 2, non_fatal = [\"ok\"] }", "`non_fatal` in `hedging` of", 55),
        (
            "hedging = { max_attempts = 2, non_fatal = [\"unavailabel\"] }",
            "unknown outcome \"unavailabel\" in `non_fatal`",
            55,
        ),
        ("retry = { max_attempts = 2 }, hedging = { max_attempts = 2 }", "a policy either retries or hedges", 52),
    ] {
        let e = load_str("t.toml", &with(bad)).unwrap_err().to_string();
        assert!(e.contains(wants) && e.contains(&format!("t.toml:9:{column}")), "{bad}: {e}");
    }
}

//! Tests of `--change` and `--set` overlays: the merge rules, the `--set` grammar, and
//! errors located in whichever text defined the offending value (insta snapshots).

use super::*;
use crate::engine::SimDuration;
use crate::model::{Balancer, FaultKind, FaultTarget, LoadKind, RetryBudget};

const BASE: &str = r#"[simulation]
duration = "60s"

[services.frontend]
workers = 8
endpoints.checkout = { latency = "5ms", calls = [ { to = "payment/charge", policy = "payment-client" } ] }

[services.payment]
instances = 2
balancer = "round_robin"
endpoints.charge = { latency = { dist = "lognormal", median = "10ms", p99 = "80ms" } }

[policies.payment-client]
timeout = "800ms"
retry = { max_attempts = 3, base = "50ms", jitter = "full" }
retry_budget = { kind = "concurrency", ratio = 0.2, min_concurrency = 3 }

[[load]]
name = "shoppers"
target = "frontend/checkout"
rate = 100

[[fault]]
kind = "latency"
target = "payment"
at = "20s"
duration = "10s"
add = "100ms"
"#;

const BASE_LABEL: &str = "scenarios/checkout.toml";
const CHANGE_LABEL: &str = "changes/bigger.toml";

fn ms(v: u64) -> SimDuration {
    SimDuration::from_millis(v)
}

fn with_change(change: &str) -> Result<Scenario, LoadError> {
    load_str_with_changes(BASE_LABEL, BASE, &[(CHANGE_LABEL, change)], &[])
}

fn with_sets(sets: &[&str]) -> Result<Scenario, LoadError> {
    load_str_with_changes(BASE_LABEL, BASE, &[], sets)
}

fn render(result: Result<Scenario, LoadError>) -> String {
    match result {
        Ok(s) => panic!("expected an error, got a scenario with {} services", s.services.len()),
        Err(e) => e.to_string(),
    }
}

fn service<'s>(s: &'s Scenario, name: &str) -> &'s crate::model::Service {
    s.services.iter().find(|x| x.name == name).expect(name)
}

fn policy<'s>(s: &'s Scenario, name: &str) -> &'s crate::model::Policy {
    s.policies.iter().find(|p| p.name == name).expect(name)
}

#[test]
fn change_merges_tables_and_replaces_scalars() {
    let s = with_change(
        "[services.payment]\ninstances = 6\n\n[policies.payment-client.retry]\nmax_attempts = 5\n\n\
         [simulation]\nduration = \"2m\"\n",
    )
    .expect("valid");
    let payment = service(&s, "payment");
    // Replaced...
    assert_eq!(payment.instances, 6);
    assert_eq!(s.simulation.duration, SimDuration::from_secs(120));
    // ...while the keys the change does not mention stay, at every depth.
    assert_eq!(payment.balancer, Balancer::RoundRobin);
    assert_eq!(payment.endpoints.len(), 1);
    let pc = policy(&s, "payment-client");
    assert_eq!(pc.timeout, Some(ms(800)));
    let retry = pc.retry.as_ref().expect("retry");
    assert_eq!(retry.max_attempts, 5);
    assert_eq!(retry.jitter, crate::model::Jitter::Full);
    assert_eq!(s.services.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(), ["frontend", "payment"]);
}

#[test]
fn change_adds_new_tables_after_the_base_ones() {
    let s = with_change(
        "[services.audit]\nendpoints.log = { latency = \"1ms\" }\n\n\
         [services.frontend.endpoints.health]\nlatency = \"1ms\"\ncalls = [ { to = \"audit/log\" } ]\n\n\
         [[append.load]]\nname = \"probes\"\ntarget = \"frontend/health\"\nrate = 1\n",
    )
    .expect("valid");
    assert_eq!(s.services.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(), ["frontend", "payment", "audit"]);
    let frontend = service(&s, "frontend");
    assert_eq!(frontend.endpoints.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["checkout", "health"]);
    // The table the new endpoint went into kept its other keys.
    assert_eq!(frontend.workers, 8);
}

#[test]
fn change_replaces_arrays_including_arrays_of_tables() {
    let s = with_change(
        "[[load]]\nname = \"bots\"\ntarget = \"payment/charge\"\nrate = 7\n\n\
         [[fault]]\nkind = \"crash\"\ntarget = \"payment\"\nat = \"30s\"\nduration = \"5s\"\n\n\
         [policies.payment-client.retry]\non = [\"timeout\"]\n",
    )
    .expect("valid");
    assert_eq!(s.loads.len(), 1);
    assert_eq!(s.loads[0].name, "bots");
    assert!(matches!(s.loads[0].kind, LoadKind::Open { rate, .. } if rate == 7.0));
    assert_eq!(s.faults.len(), 1, "the base's latency fault is replaced");
    assert_eq!(s.faults[0].kind, FaultKind::Crash { instances: 2 });
    let on = policy(&s, "payment-client").retry.as_ref().expect("retry").on;
    assert_eq!(on, crate::model::OutcomeSet::of(&[crate::model::Outcome::Timeout]));

    // An empty array removes every fault.
    let s = with_change("fault = []\n").expect("valid");
    assert!(s.faults.is_empty());
}

#[test]
fn change_appends_under_the_append_table() {
    let s = with_change(
        "[[append.fault]]\nkind = \"crash\"\ntarget = \"payment\"\nat = \"30s\"\nduration = \"5s\"\ninstances = 1\n\n\
         [append.services.frontend.endpoints.checkout]\ncalls = [ { to = \"payment/charge\" } ]\n",
    )
    .expect("valid");
    assert_eq!(s.faults.len(), 2);
    assert!(matches!(s.faults[0].kind, FaultKind::Latency { .. }));
    assert_eq!(s.faults[1].kind, FaultKind::Crash { instances: 1 });
    assert_eq!(s.faults[1].target, FaultTarget::Service(1));
    assert_eq!(service(&s, "frontend").endpoints[0].steps.len(), 2);
    // Appending to a path the base lacks creates the array.
    let s = load_str_with_changes(
        BASE_LABEL,
        BASE.split("[[fault]]").next().unwrap_or(BASE),
        &[(CHANGE_LABEL, "[[append.fault]]\nkind = \"pause\"\ntarget = \"payment\"\nat = \"1s\"\nduration = \"1s\"\n")],
        &[],
    )
    .expect("valid");
    assert_eq!(s.faults.len(), 1);
}

#[test]
fn error_append_to_a_scalar() {
    insta::assert_snapshot!(render(with_change("[append.simulation]\nduration = [\"1s\"]\n")));
}

#[test]
fn variant_tables_replace_instead_of_merging() {
    // The base's lognormal `p99` would not apply to an exponential: the new
    // distribution replaces the old table whole because it names its `dist`.
    let s = with_change(
        "[services.payment.endpoints.charge]\nlatency = { dist = \"exponential\", mean = \"5ms\" }\n\n\
         [policies.payment-client]\nretry_budget = { kind = \"token_bucket\", ratio = 0.1 }\n",
    )
    .expect("valid");
    assert_eq!(service(&s, "payment").endpoints[0].latency.mean_ns(), 5e6);
    assert_eq!(
        policy(&s, "payment-client").retry_budget,
        Some(RetryBudget::TokenBucket { ratio: 0.1, capacity: defaults::TOKEN_BUCKET_CAPACITY })
    );
    // Without `dist`, the table merges: the lognormal keeps its median, gets a new p99.
    let s = with_change("[services.payment.endpoints.charge.latency]\np99 = \"40ms\"\n").expect("valid");
    let base = load_str(BASE_LABEL, BASE).expect("valid");
    assert!(
        service(&s, "payment").endpoints[0].latency.mean_ns()
            < service(&base, "payment").endpoints[0].latency.mean_ns()
    );
}

#[test]
fn empty_change_gives_the_base_scenario() {
    let base = load_str(BASE_LABEL, BASE).expect("valid");
    for change in ["", "# nothing to change\n"] {
        let mut merged = with_change(change).expect("valid");
        assert_ne!(merged.hash, base.hash, "the hash covers the change file");
        merged.hash = base.hash.clone();
        assert_eq!(merged.overlays.len(), 1, "the change file is recorded");
        merged.overlays.clear();
        assert_eq!(format!("{merged:?}"), format!("{base:?}"));
        assert!(merged.simulates_like(&base));
    }
    // No overlays at all: exactly `load_str`, hash included.
    let same = load_str_with_changes(BASE_LABEL, BASE, &[], &[]).expect("valid");
    assert_eq!(format!("{same:?}"), format!("{base:?}"));
}

#[test]
fn hash_covers_every_overlay_and_source_stays_the_base() {
    let base = load_str(BASE_LABEL, BASE).expect("valid");
    let a = with_change("[services.payment]\ninstances = 6\n").expect("valid");
    let b = with_change("[services.payment]\ninstances = 7\n").expect("valid");
    let c = with_sets(&["services.payment.instances=6"]).expect("valid");
    let d = with_sets(&["services.payment.instances=7"]).expect("valid");
    let hashes = [&base.hash, &a.hash, &b.hash, &c.hash, &d.hash];
    for (i, x) in hashes.iter().enumerate() {
        for y in &hashes[i + 1..] {
            assert_ne!(x, y);
        }
    }
    for s in [&a, &b, &c, &d] {
        assert_eq!(s.source, BASE_LABEL);
        assert_eq!(s.hash.len(), 16);
    }
    // Changes apply in order, then sets: the last word wins.
    let s = load_str_with_changes(
        BASE_LABEL,
        BASE,
        &[("one.toml", "[services.payment]\ninstances = 3\n"), ("two.toml", "[services.payment]\ninstances = 4\n")],
        &["services.payment.instances=5"],
    )
    .expect("valid");
    assert_eq!(service(&s, "payment").instances, 5);
    let s = load_str_with_changes(
        BASE_LABEL,
        BASE,
        &[("one.toml", "[services.payment]\ninstances = 3\n"), ("two.toml", "[services.payment]\ninstances = 4\n")],
        &[],
    )
    .expect("valid");
    assert_eq!(service(&s, "payment").instances, 4);
}

#[test]
fn set_parses_toml_values_and_bare_words() {
    let s = with_sets(&[
        "services.payment.instances=6",
        "services.frontend.endpoints.checkout.error_rate=0.5",
        "policies.payment-client.timeout=250ms",
        "policies.payment-client.retry.base=\"20ms\"",
        "services.payment.balancer=least_requests",
        "policies.payment-client.deadline_propagation=true",
        "policies.payment-client.retry_budget={ kind = \"token_bucket\", ratio = 0.1 }",
        "simulation.duration = 90s",
        "load.0.rate=250",
    ])
    .expect("valid");
    let payment = service(&s, "payment");
    assert_eq!((payment.instances, payment.balancer), (6, Balancer::LeastRequests));
    assert_eq!(service(&s, "frontend").endpoints[0].error_rate, 0.5);
    let pc = policy(&s, "payment-client");
    assert_eq!(pc.timeout, Some(ms(250)));
    assert!(pc.deadline_propagation);
    let retry = pc.retry.as_ref().expect("retry");
    assert_eq!(retry.max_attempts, 3, "the rest of the table stays");
    assert!(matches!(retry.backoff, crate::model::Backoff::Exponential { base, .. } if base == ms(20)));
    assert_eq!(pc.retry_budget, Some(RetryBudget::TokenBucket { ratio: 0.1, capacity: 10.0 }));
    assert_eq!(s.simulation.duration, SimDuration::from_secs(90));
    assert!(matches!(s.loads[0].kind, LoadKind::Open { rate, .. } if rate == 250.0));

    // An array value replaces the array; an inline table without a variant key merges.
    let s = with_sets(&["policies.payment-client.retry={ max_attempts = 2 }", "fault=[]"]).expect("valid");
    let retry = policy(&s, "payment-client").retry.as_ref().expect("retry");
    assert_eq!((retry.max_attempts, retry.jitter), (2, crate::model::Jitter::Full));
    assert!(s.faults.is_empty());
}

#[test]
fn error_set_malformed_value() {
    insta::assert_snapshot!(render(with_sets(&["policies.payment-client.retry={ max_attempts = }"])));
}

#[test]
fn error_set_path_into_a_scalar() {
    insta::assert_snapshot!(render(with_sets(&["simulation.duration.x=1"])));
}

#[test]
fn error_set_wrong_type_points_at_the_value() {
    insta::assert_snapshot!(render(with_sets(&["services.payment.instances=six"])));
}

#[test]
fn error_set_bad_keys() {
    insta::assert_snapshot!(render(with_sets(&["services.payment.instances"])));
    insta::assert_snapshot!(render(with_sets(&["services..instances=2"])));
    insta::assert_snapshot!(render(with_sets(&["services.pay ment.instances=2"])));
    insta::assert_snapshot!(render(with_sets(&["services.payment.instances="])));
    insta::assert_snapshot!(render(with_sets(&["load.3.rate=1"])));
    insta::assert_snapshot!(render(with_sets(&["load.first.rate=1"])));
}

#[test]
fn error_set_creates_a_service_that_validation_rejects() {
    // A set may name a service the base lacks: it is created, and validation says what
    // it lacks, pointing at the option.
    insta::assert_snapshot!(render(with_sets(&["services.audit.endpoints.log.error_rate=0.1"])));
}

#[test]
fn error_malformed_change_file_is_located_in_it() {
    insta::assert_snapshot!(render(with_change("[services.payment]\ninstances = 6\n[policies.payment-client\n")));
}

#[test]
fn error_unknown_key_in_change_file() {
    insta::assert_snapshot!(render(with_change("\n[services.payment]\ninstance = 6\n")));
}

#[test]
fn error_wrong_type_in_change_file() {
    insta::assert_snapshot!(render(with_change("[policies.payment-client]\nretry = \"twice\"\n")));
}

#[test]
fn error_semantic_errors_point_into_the_file_that_set_the_value() {
    // `workers = 0` comes from the change; the unknown endpoint from a second change;
    // the bad duration from the base (which the changes leave alone).
    let base = BASE.replace("timeout = \"800ms\"", "timeout = \"800\"");
    let e = load_str_with_changes(
        BASE_LABEL,
        &base,
        &[
            (CHANGE_LABEL, "# more workers... or none\n[services.frontend]\nworkers = 0\n"),
            ("changes/route.toml", "[[load]]\nname = \"shoppers\"\ntarget = \"frontend/chekout\"\nrate = 100\n"),
        ],
        &["services.payment.instances=0"],
    )
    .expect_err("invalid");
    assert_eq!(e.diagnostics().len(), 4, "{e}");
    let files: Vec<&str> = e.diagnostics().iter().map(|d| d.file.as_str()).collect();
    assert_eq!(files, [BASE_LABEL, CHANGE_LABEL, "changes/route.toml", "--set services.payment.instances=0"]);
    insta::assert_snapshot!(e.to_string());
}

#[test]
fn load_with_changes_reads_files() {
    let dir = std::env::temp_dir().join(format!("stormcast-overlay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let base = dir.join("base.toml");
    let change = dir.join("change.toml");
    std::fs::write(&base, BASE).expect("write");
    std::fs::write(&change, "[services.payment]\ninstances = 6\n").expect("write");
    let s = load_with_changes(&base, std::slice::from_ref(&change), &["services.payment.workers=3".to_string()])
        .expect("valid");
    let payment = service(&s, "payment");
    assert_eq!((payment.instances, payment.workers), (6, 3));
    assert_eq!(s.source, base.display().to_string());
    // Without overlays it is `load_file`.
    let plain = load_with_changes(&base, &[], &[]).expect("valid");
    assert_eq!(format!("{plain:?}"), format!("{:?}", load_file(&base).expect("valid")));
    // A change file that cannot be read is named.
    let missing = dir.join("missing.toml");
    let e = load_with_changes(&base, &[missing], &[]).expect_err("missing");
    assert!(matches!(&e, LoadError::Read { path, .. } if path.ends_with("missing.toml")), "{e}");
    // Not UTF-8: located in the change file.
    std::fs::write(&change, b"[services.payment]\ninstances = \"\xff\"\n").expect("write");
    let e = load_with_changes(&base, std::slice::from_ref(&change), &[]).expect_err("not UTF-8");
    assert_eq!(e.diagnostics()[0].file, change.display().to_string());
    assert_eq!(e.diagnostics()[0].location.as_ref().map(|l| (l.line, l.column)), Some((2, 14)));
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn overlays_never_panic() {
    let changes = [
        "services = 3",
        "[services]\npayment = \"x\"",
        "append = 1",
        "append = { load = 1 }",
        "[append.services.payment]\ninstances = [1]",
        "[[services.payment.endpoints.charge.calls]]\nto = \"frontend/checkout\"",
        "load = [1, 2]",
        "simulation = []",
    ];
    let deep_table = format!("a = {}1{}", "{ a = ".repeat(5000), " }".repeat(5000));
    let deep_dotted = format!("[{}]\n", vec!["services"; 5000].join("."));
    let deep_append = format!("[append.{}]\n", vec!["services"; 5000].join("."));
    // The same deep path in the base and the change: the merge goes all the way down.
    let deep = vec!["x"; 5000].join(".");
    let deep_base = format!("{BASE}\n[{deep}]\ny = 1\n");
    let deep_change = format!("[{deep}]\ny = 2\n");
    assert!(load_str_with_changes(BASE_LABEL, &deep_base, &[(CHANGE_LABEL, &deep_change)], &[]).is_err());
    for change in changes.into_iter().chain([deep_table.as_str(), deep_dotted.as_str(), deep_append.as_str()]) {
        if let Err(e) = with_change(change) {
            assert!(e.to_string().starts_with("error: "));
        }
    }
    let sets = [
        "=",
        "a",
        ".=1",
        "a.=1",
        "=1",
        "a=",
        "a=\"",
        "a=[",
        "a={",
        "a='",
        "a=1 2",
        "load.0=3",
        "load.99999999999999999999.x=1",
        "load.-1.x=1",
        "services=[]",
        "simulation.é=1",
        "a.b.c.d.e.f.g=1",
        "a=\u{0}",
    ];
    let deep_value = format!("a={}1{}", "{ a = ".repeat(5000), " }".repeat(5000));
    let deep_key = format!("{}=1", vec!["services"; 5000].join("."));
    for set in sets.into_iter().chain([deep_value.as_str(), deep_key.as_str()]) {
        if let Err(e) = with_sets(&[set]) {
            assert!(e.to_string().starts_with("error: "), "{set}: {e}");
        }
    }
}

/// Typos in an overlay's table names create things nothing uses, which would leave the
/// change without effect (and a compare PASS about nothing): each is an error located
/// in the overlay, with the closest name in use.
#[test]
fn unused_names_in_overlays_are_errors() {
    insta::assert_snapshot!(render(with_sets(&["services.paymnet.instances=6"])));
    insta::assert_snapshot!(render(with_sets(&["policies.paymnet-client.timeout=300ms"])));
    insta::assert_snapshot!(render(with_change("[services.payment.endpoints.chrage]\nlatency = \"1ms\"\n")));
    insta::assert_snapshot!(render(with_change(
        "[[append.fault]]\nkind = \"partition\"\ntarget = \"payment->frontend\"\nat = \"1s\"\nduration = \"1s\"\n"
    )));
}

/// A genuinely new service, endpoint and policy are fine when the same change uses
/// them; and the base may keep unused things (a lint warns about those).
#[test]
fn new_names_used_by_the_same_change_are_accepted() {
    let change = "[services.fraud]\nendpoints.score = { latency = \"2ms\" }\n\n[policies.fraud-client]\ntimeout = \"50ms\"\n\n\
                  [services.frontend.endpoints.checkout]\ncalls = [ { to = \"payment/charge\", policy = \"payment-client\" }, \
                  { to = \"fraud/score\", policy = \"fraud-client\" } ]\n";
    let s = with_change(change).expect("a new service used by the change is valid");
    assert_eq!(service(&s, "fraud").endpoints[0].name, "score");
    let base_with_orphan = format!("{BASE}\n[services.orphan]\nendpoints.idle = {{ latency = \"1ms\" }}\n");
    assert!(load_str_with_changes(BASE_LABEL, &base_with_orphan, &[], &["services.payment.instances=3"]).is_ok());
}

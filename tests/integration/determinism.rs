//! Same scenario and seed give byte-identical outputs; a dependency bump that changes
//! random samples is caught by a golden file.

use std::path::Path;
use stormcast::report::csv::timeseries_csv;
use stormcast::sim::simulate;

fn outputs(path: &str, seed: u64) -> (String, String) {
    let sc = stormcast::scenario::load_file(Path::new(path)).expect("valid scenario");
    let r = simulate(&sc, seed);
    (serde_json::to_string_pretty(&r).unwrap(), timeseries_csv(&r))
}

#[test]
fn same_seed_gives_identical_bytes() {
    for path in ["scenarios/checkout.toml", "scenarios/retry-storm.toml"] {
        assert_eq!(outputs(path, 7), outputs(path, 7), "{path}");
    }
}

#[test]
fn different_seeds_differ() {
    assert_ne!(outputs("scenarios/checkout.toml", 1).0, outputs("scenarios/checkout.toml", 2).0);
}

/// Golden output: the summary of the checkout scenario at seed 1. If this changes,
/// random samples or semantics changed: review the diff, and accept it only if the
/// change is intended (`INSTA_UPDATE=always cargo test golden`).
#[test]
fn golden_checkout_summary() {
    let (summary, _) = outputs("scenarios/checkout.toml", 1);
    insta::assert_snapshot!(summary);
}

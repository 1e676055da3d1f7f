//! `[[expect]]`: claims a scenario's own comments make about its outputs, written so a
//! machine can check them (`stormcast check --expect`, and `cargo test` for every file
//! in `scenarios/`), so the teaching text can never drift from the numbers.

/// One claim: run the scenario (with `sets` applied) at one seed or over a sweep, read
/// the value at `path` in `summary.json` or `sweep.json`, and check it.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// The claim in words, as the comments make it.
    pub claim: String,
    pub run: ExpectRun,
    /// `--set KEY=VALUE` options for a variant the comments talk about (empty: as is).
    pub sets: Vec<String>,
    /// A dotted path into the output, e.g. `loads.users.recovery_s` or
    /// `services.db.health.cause`; array elements by index (`cascade.origin.0`).
    pub path: String,
    pub check: ExpectCheck,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExpectRun {
    /// `stormcast run --seed S`: `summary.json`.
    Seed(u64),
    /// `stormcast sweep --seeds N` from the scenario's seed: `sweep.json`.
    Sweep { seeds: u64 },
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExpectCheck {
    /// The value equals this (numbers compared as numbers).
    Equals(serde_json::Value),
    /// A number within `[min, max]` (either end may be open).
    Range { min: Option<f64>, max: Option<f64> },
    /// The value is `null` (e.g. a recovery that never happened).
    Null,
}

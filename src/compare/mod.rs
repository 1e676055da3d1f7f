//! `compare`: a base and a proposed scenario run on the same seeds (common random
//! numbers), paired per seed and load, with a verdict per metric, the gates of
//! `[gates]` and an overall verdict (`compare.json`, spec sections 3, 5 and 6).
//!
//! Why pairing works: every random consumer draws from its own stream derived from
//! (seed, stable label) (see `engine::rng`), so a component the change does not touch
//! sees the same random numbers in both configs. Seed `s` of the base and seed `s` of
//! the proposed config therefore share their arrivals, latencies and faults, and the
//! per-seed difference removes most of the seed-to-seed noise that an unpaired
//! comparison of two sweeps would have to average away.
//!
//! Determinism: both sweeps are [`run_sweep`] (byte-identical for any thread count);
//! everything here is computed afterwards, sequentially, in seed order.
//!
//! The statistics (`stats::paired`):
//! - a metric's paired difference: mean of the per-seed differences, its standard
//!   error, and a 95% Student t interval with n - 1 degrees of freedom
//!   ([`t_975`](crate::stats::paired::t_975));
//! - a risk's paired difference: Newcombe's method 10 for paired proportions
//!   ([`paired_risk_difference`]);
//! - a risk of one config: the 95% Wilson interval of the sweep.
//!
//! An undecided gate or metric says how many seeds would decide it
//! ([`Evidence`](crate::stats::paired::Evidence)): the fewest seeds at which its
//! interval, recomputed by the same method with the observed rates, mean and spread
//! held, would lie on one side of its limit.
//!
//! The parts: this file holds the result types (`compare.json`) and the pairing of the
//! two sweeps; `metrics.rs` pairs each load's figures per seed and gives each metric its
//! paired statistic and verdict; `gates.rs` applies `[gates]` and gives the overall
//! verdict; `replay.rs` picks the seeds worth replaying; `sequential.rs` runs
//! `--seeds auto`, look by look, until the gates are decided.

mod gates;
mod metrics;
mod replay;
mod sequential;

pub use crate::stats::paired::RiskDifference;
pub use sequential::{Look, SequentialReport, Stop, run_compare_sequential};

use crate::format::shell_word;
use crate::model::{Gates, Scenario};
use crate::stats::paired::paired_risk_difference;
use crate::stats::summary::{FormatVersion, Named, by_name};
use crate::sweep::{SeedRun, SeedStore, SweepOptions, SweepResult, run_sweep, run_sweep_stored};
use gates::{Judging, evaluate_gates, overall};
use metrics::{decide_recovery_on_never, measured_s, pair_load, pair_seed};
use replay::replays_of;
use serde::Serialize;

// ---------------------------------------------------------------------------------
// Practical margins: a difference whose 95% interval lies within +-margin of zero is
// too small to matter ("no detectable difference"); a wider interval that still
// contains zero is "inconclusive".

/// p99: 2% of the base config's mean p99 (for `p99_ms`), or 0.02 for the relative
/// change `p99_relative`. Smaller than the gate a team would set (10% in the spec's
/// example), large enough to be reached with a few dozen paired seeds.
pub const P99_RELATIVE_MARGIN: f64 = 0.02;
/// Success rate: half a percentage point.
pub const SUCCESS_RATE_MARGIN: f64 = 0.005;
/// Goodput: 1% of the base config's mean goodput.
pub const GOODPUT_RELATIVE_MARGIN: f64 = 0.01;
/// Recovery time: one bucket, the resolution at which recovery is measured.
pub const RECOVERY_MARGIN_BUCKETS: f64 = 1.0;
/// Attempts per request: 0.02 (two extra attempts per hundred requests).
pub const AMPLIFICATION_MARGIN: f64 = 0.02;

/// What a caller needs beyond the sweep options: the commands that replay a seed.
#[derive(Clone, Debug, Default)]
pub struct ReplayPrefixes {
    /// e.g. `stormcast run base.toml`; `None` uses the base scenario's source path.
    pub base: Option<String>,
    /// e.g. `stormcast run base.toml --change pr.toml`; `None` uses
    /// `SweepOptions::replay_prefix`, else the proposed scenario's source path.
    pub proposed: Option<String>,
}

/// Everything `compare` found: `compare.json`, and the input of `report.md` and the
/// comparison charts. Serialization order is the field order; loads are in the
/// proposed config's file order.
#[derive(Clone, Debug, Serialize)]
pub struct CompareResult {
    /// Always [`FORMAT_VERSION`](crate::stats::summary::FORMAT_VERSION).
    pub format_version: FormatVersion,
    pub seeds: u64,
    pub first_seed: u64,
    pub stormcast_version: String,
    /// The overall verdict: `pass` only if there were gates and every one passed;
    /// `unchanged` when the proposed config simulates exactly like the base; `ungated`
    /// when no gate was set (not a pass: nothing was judged).
    pub verdict: GateVerdict,
    /// The proposed config simulates exactly like the base (after every overlay): the
    /// change alters nothing stormcast models.
    pub unchanged: bool,
    /// One line saying why, e.g. "fails 2 of 5 gates".
    pub message: String,
    /// When inconclusive: how many seeds would decide every undecided gate, the largest
    /// of their `seeds_needed` (`null` if some gate cannot be decided by more seeds, e.g.
    /// an estimate exactly on its limit, or if there were too few pairs to estimate a
    /// spread).
    pub seeds_needed: Option<u64>,
    /// `--seeds auto` only: the plan, its looks and why it stopped (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequential: Option<SequentialReport>,
    /// Each gate, per load, in the order of [`GateKind::ALL`] then load.
    pub gates: Vec<GateResult>,
    /// Per load present in both configs: paired metrics and the per-seed pairs.
    #[serde(serialize_with = "by_name")]
    pub paired: Vec<PairedLoad>,
    /// Per load present in both configs: proposed minus base for each risk.
    #[serde(serialize_with = "by_name")]
    pub risk_differences: Vec<LoadRiskDifferences>,
    /// Loads found in one config only: reported, not paired.
    pub loads_only_in_base: Vec<String>,
    pub loads_only_in_proposed: Vec<String>,
    /// Seeds worth replaying (see [`CompareReplay`]), in seed order per load.
    pub replay: Vec<CompareReplay>,
    pub base_replay_prefix: String,
    pub proposed_replay_prefix: String,
    /// The two sweeps, exactly as `sweep.json` would hold them.
    pub base: SweepResult,
    pub proposed: SweepResult,
}

/// A per-metric verdict. Never a silent pass: a difference is either detected, shown
/// to be smaller than the practical margin, or declared inconclusive.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum MetricVerdict {
    #[serde(rename = "better")]
    Better,
    #[serde(rename = "worse")]
    Worse,
    #[serde(rename = "no detectable difference")]
    NoDetectableDifference,
    #[serde(rename = "inconclusive")]
    Inconclusive,
}

impl MetricVerdict {
    pub fn label(self) -> &'static str {
        match self {
            MetricVerdict::Better => "better",
            MetricVerdict::Worse => "worse",
            MetricVerdict::NoDetectableDifference => "no detectable difference",
            MetricVerdict::Inconclusive => "inconclusive",
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateVerdict {
    Pass,
    Fail,
    Inconclusive,
    /// Overall only: the proposed config simulates exactly like the base.
    Unchanged,
    /// Overall only: no gate was set, so nothing was judged.
    Ungated,
}

impl GateVerdict {
    pub fn label(self) -> &'static str {
        match self {
            GateVerdict::Pass => "pass",
            GateVerdict::Fail => "fail",
            GateVerdict::Unchanged => "unchanged",
            GateVerdict::Ungated => "ungated",
            GateVerdict::Inconclusive => "inconclusive",
        }
    }
}

/// The paired difference (proposed minus base) of one metric over the seeds where
/// both configs have a value.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairedStat {
    /// Pairs used.
    pub n: u64,
    /// Seeds left out because either config has no value (no ok request, or never
    /// recovered).
    pub excluded: u64,
    /// Means of each config over the same pairs (`null` for a relative change).
    pub base_mean: Option<f64>,
    pub proposed_mean: Option<f64>,
    pub mean_diff: Option<f64>,
    /// Standard error of the mean difference (sample sd / sqrt n); `null` below 2 pairs.
    pub se: Option<f64>,
    /// The 95% interval of the mean difference, Student t with n - 1 df.
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// The practical margin the verdict used (same unit as the difference).
    pub margin: f64,
    pub verdict: MetricVerdict,
    /// When inconclusive: the fewest seeds at which, if the mean difference and its
    /// spread held, the t interval would exclude 0 or be as narrow as the margin
    /// ([`Evidence::Mean`](crate::stats::paired::Evidence::Mean)).
    pub seeds_needed: Option<u64>,
    /// What decided the verdict when it is not the interval above (recovery: the seeds
    /// where one config never recovered); `null` otherwise.
    pub note: Option<String>,
}

/// One seed's pair of figures for one load, and their differences (proposed - base).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairedSeed {
    pub seed: u64,
    pub base_p99_ms: Option<f64>,
    pub proposed_p99_ms: Option<f64>,
    pub p99_ms_diff: Option<f64>,
    pub base_success_rate: f64,
    pub proposed_success_rate: f64,
    pub success_rate_diff: f64,
    pub base_goodput: f64,
    pub proposed_goodput: f64,
    pub goodput_diff: f64,
    pub base_recovery_s: Option<f64>,
    pub proposed_recovery_s: Option<f64>,
    pub recovery_s_diff: Option<f64>,
    pub base_amplification: f64,
    pub proposed_amplification: f64,
    pub amplification_diff: f64,
    pub base_slo_violated: bool,
    pub proposed_slo_violated: bool,
}

/// The paired metrics of one load.
#[derive(Clone, Debug, Serialize)]
pub struct PairedLoad {
    #[serde(skip)]
    pub name: String,
    /// p99 of ok requests, ms.
    pub p99_ms: PairedStat,
    /// Mean over seeds of proposed p99 / base p99 - 1 (seeds with a base p99 > 0).
    pub p99_relative: PairedStat,
    pub success_rate: PairedStat,
    /// Ok requests per measured second (after warmup).
    pub goodput: PairedStat,
    /// Over the seeds where both configs recovered.
    pub recovery_s: PairedStat,
    /// Attempts per request.
    pub amplification: PairedStat,
    pub per_seed: Vec<PairedSeed>,
}

impl PairedLoad {
    /// The paired metrics with the labels every table of them uses, in table order.
    pub fn metrics(&self) -> [(&'static str, &PairedStat); 6] {
        [
            ("p99 ms", &self.p99_ms),
            ("p99 relative", &self.p99_relative),
            ("success rate", &self.success_rate),
            ("goodput /s", &self.goodput),
            ("recovery s", &self.recovery_s),
            ("tries/request", &self.amplification),
        ]
    }
}

/// The risks of one load in both configs and their paired differences.
#[derive(Clone, Debug, Serialize)]
pub struct LoadRiskDifferences {
    #[serde(skip)]
    pub name: String,
    /// Whether the load has an SLO in the proposed config (else SLO gates skip it).
    pub slo_defined: bool,
    pub slo_risk: RiskDifference,
    pub metastable_risk: RiskDifference,
    pub cascade_risk: RiskDifference,
    pub path_cascade_risk: RiskDifference,
}

/// A gate of `[gates]`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateKind {
    MaxSloRisk,
    MaxSloRiskIncrease,
    MaxP99Increase,
    MaxMetastableRisk,
    MaxMetastableRiskIncrease,
}

impl GateKind {
    pub const ALL: [GateKind; 5] = [
        GateKind::MaxSloRisk,
        GateKind::MaxSloRiskIncrease,
        GateKind::MaxP99Increase,
        GateKind::MaxMetastableRisk,
        GateKind::MaxMetastableRiskIncrease,
    ];

    /// The key in `[gates]`.
    pub fn key(self) -> &'static str {
        match self {
            GateKind::MaxSloRisk => "max_slo_risk",
            GateKind::MaxSloRiskIncrease => "max_slo_risk_increase",
            GateKind::MaxP99Increase => "max_p99_increase",
            GateKind::MaxMetastableRisk => "max_metastable_risk",
            GateKind::MaxMetastableRiskIncrease => "max_metastable_risk_increase",
        }
    }
}

/// One gate applied to one load.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GateResult {
    pub gate: GateKind,
    pub load: String,
    pub limit: f64,
    /// The estimate compared with the limit, and its 95% interval (`null` if unknown).
    pub value: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub verdict: GateVerdict,
    pub reason: String,
    /// When inconclusive: the fewest seeds at which the gate's interval, recomputed with
    /// the observed rates (or mean and spread) held, would lie on one side of the limit
    /// ([`Evidence`](crate::stats::paired::Evidence)); `null` if no number of seeds would (an estimate on the limit).
    pub seeds_needed: Option<u64>,
}

/// A seed worth replaying: the proposed config's p99 rose most there, or it violated
/// its SLO or never recovered where the base config did not.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompareReplay {
    pub seed: u64,
    pub load: String,
    /// Any of `"largest_p99_increase"`, `"slo_violated_only_in_proposed"`,
    /// `"never_recovered_only_in_proposed"`.
    pub why: Vec<&'static str>,
    /// Replays the proposed config.
    pub command: String,
    /// Replays the base config on the same seed.
    pub base_command: String,
}

impl Named for PairedLoad {
    fn name(&self) -> &str {
        &self.name
    }
}
impl Named for LoadRiskDifferences {
    fn name(&self) -> &str {
        &self.name
    }
}

impl CompareResult {
    /// The process exit code of `stormcast compare`: 0 if every gate passed or the
    /// configs simulate alike, 1 if a gate failed or is inconclusive, or if there were no
    /// gates (unless `accept_ungated`, the `--allow-ungated` flag). Inconclusive is not a
    /// pass: the seeds did not show that the change is safe; [`CompareResult::message`]
    /// says how many would decide.
    pub fn exit_code(&self, accept_ungated: bool) -> i32 {
        match self.verdict {
            GateVerdict::Pass | GateVerdict::Unchanged => 0,
            GateVerdict::Ungated if accept_ungated => 0,
            GateVerdict::Fail | GateVerdict::Inconclusive | GateVerdict::Ungated => 1,
        }
    }

    /// The gates with the given verdict.
    pub fn gates_with(&self, verdict: GateVerdict) -> usize {
        self.gates.iter().filter(|g| g.verdict == verdict).count()
    }

    /// Sets the commands that replay a seed of each config, and rewrites the replay
    /// list with them (the CLI knows the `--change` and `--set` options behind each).
    pub fn set_replay_prefixes(&mut self, base: &str, proposed: &str) {
        self.base_replay_prefix = base.to_string();
        self.proposed_replay_prefix = proposed.to_string();
        for r in &mut self.replay {
            r.command = format!("{proposed} --seed {}", r.seed);
            r.base_command = format!("{base} --seed {}", r.seed);
        }
    }
}

// ---------------------------------------------------------------------------------
// Running.

/// Runs `base` and `proposed` on seeds `first_seed .. first_seed + seeds` and compares
/// them seed by seed. `gates` are the final gates (the CLI merges its flags over the
/// proposed scenario's `[gates]`; [`proposed_gates`] gives the file's). `progress` is
/// called once per finished seed of either config (2 x seeds calls).
///
/// `opts.replay_prefix`, if any, replays the proposed config; the base config's
/// commands use its source path (see [`CompareResult::set_replay_prefixes`]).
pub fn run_compare(
    base: &Scenario,
    proposed: &Scenario,
    opts: &SweepOptions,
    gates: &Gates,
    progress: &(dyn Fn() + Sync),
) -> CompareResult {
    run_compare_stored(base, proposed, opts, gates, progress, None)
}

/// [`run_compare`] with the base config's seeds read from `base_store` where it kept
/// them, and kept there otherwise (the CLI's base-side cache): the same result, byte for
/// byte, since a kept seed folds exactly as a fresh one
/// ([`run_sweep_stored`](crate::sweep::run_sweep_stored)).
pub fn run_compare_stored(
    base: &Scenario,
    proposed: &Scenario,
    opts: &SweepOptions,
    gates: &Gates,
    progress: &(dyn Fn() + Sync),
    base_store: Option<&dyn SeedStore>,
) -> CompareResult {
    let base_opts = SweepOptions { replay_prefix: None, ..opts.clone() };
    let base_sweep = run_sweep_stored(base, &base_opts, progress, base_store);
    let proposed_sweep = run_sweep(proposed, opts, progress);
    let prefixes = ReplayPrefixes { base: None, proposed: opts.replay_prefix.clone() };
    compare_sweeps(base, proposed, base_sweep, proposed_sweep, gates, &prefixes)
}

/// The gates of the proposed scenario's `[gates]`.
pub fn proposed_gates(proposed: &Scenario) -> Gates {
    proposed.gates.clone()
}

/// Pairs two sweeps of the same seeds. Public so that a caller holding sweeps (e.g. a
/// notebook's test) can compare them without running again.
pub fn compare_sweeps(
    base_scenario: &Scenario,
    proposed_scenario: &Scenario,
    base: SweepResult,
    proposed: SweepResult,
    gates: &Gates,
    prefixes: &ReplayPrefixes,
) -> CompareResult {
    assert_eq!(
        base.runs.iter().map(|r| r.seed).collect::<Vec<_>>(),
        proposed.runs.iter().map(|r| r.seed).collect::<Vec<_>>(),
        "compare: both sweeps must run the same seeds"
    );
    let base_prefix =
        prefixes.base.clone().unwrap_or_else(|| format!("stormcast run {}", shell_word(&base_scenario.source)));
    let proposed_prefix =
        prefixes.proposed.clone().unwrap_or_else(|| format!("stormcast run {}", shell_word(&proposed_scenario.source)));
    let loads_only_in_base: Vec<String> = base_scenario
        .loads
        .iter()
        .filter(|l| !proposed_scenario.loads.iter().any(|p| p.name == l.name))
        .map(|l| l.name.clone())
        .collect();
    let loads_only_in_proposed: Vec<String> = proposed_scenario
        .loads
        .iter()
        .filter(|l| !base_scenario.loads.iter().any(|b| b.name == l.name))
        .map(|l| l.name.clone())
        .collect();
    let seeds = proposed.seeds;
    let bucket_s = proposed.bucket_s;
    let mut paired = Vec::new();
    let mut risk_differences = Vec::new();
    let mut replay = Vec::new();
    for (pl, load) in proposed_scenario.loads.iter().enumerate() {
        let Some(bl) = base_scenario.loads.iter().position(|b| b.name == load.name) else { continue };
        let base_measured_s = measured_s(&base);
        let proposed_measured_s = measured_s(&proposed);
        let pairs: Vec<(&SeedRun, &SeedRun)> = base.runs.iter().zip(&proposed.runs).collect();
        let per_seed: Vec<PairedSeed> = pairs
            .iter()
            .map(|(b, p)| pair_seed(b.seed, &b.loads[bl], &p.loads[pl], base_measured_s, proposed_measured_s))
            .collect();
        let paired_load = pair_load(&load.name, per_seed, seeds, bucket_s);
        let slo_defined = proposed.loads.iter().find(|l| l.name == load.name).is_some_and(|l| l.slo_defined);
        let indicator = |f: &dyn Fn(&SeedRun, usize) -> bool| -> Vec<(bool, bool)> {
            pairs.iter().map(|(b, p)| (f(b, bl), f(p, pl))).collect()
        };
        let metastable_risk = paired_risk_difference(&indicator(&|r, l| r.loads[l].recovery_s.is_none()));
        let mut paired_load = paired_load;
        decide_recovery_on_never(&mut paired_load.recovery_s, &metastable_risk, seeds);
        risk_differences.push(LoadRiskDifferences {
            name: load.name.clone(),
            slo_defined,
            slo_risk: paired_risk_difference(&indicator(&|r, l| r.loads[l].slo_violated)),
            metastable_risk,
            cascade_risk: paired_risk_difference(&indicator(&|r, _| r.cascade)),
            path_cascade_risk: paired_risk_difference(&indicator(&|r, l| r.loads[l].path_cascade)),
        });
        replay.extend(replays_of(&paired_load, &base_prefix, &proposed_prefix));
        paired.push(paired_load);
    }
    let gate_results = evaluate_gates(gates, &paired, &risk_differences, seeds, Judging::Fixed);
    let unchanged = base_scenario.simulates_like(proposed_scenario);
    let (verdict, message, seeds_needed) = if unchanged {
        (
            GateVerdict::Unchanged,
            "the change alters nothing that is simulated: base and proposed are the same model".to_string(),
            None,
        )
    } else {
        overall(&gate_results)
    };
    CompareResult {
        format_version: FormatVersion,
        seeds,
        first_seed: proposed.first_seed,
        stormcast_version: env!("CARGO_PKG_VERSION").to_string(),
        verdict,
        unchanged,
        message,
        seeds_needed,
        sequential: None,
        gates: gate_results,
        paired,
        risk_differences,
        loads_only_in_base,
        loads_only_in_proposed,
        replay,
        base_replay_prefix: base_prefix,
        proposed_replay_prefix: proposed_prefix,
        base,
        proposed,
    }
}

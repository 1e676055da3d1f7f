//! Capacity planning: the same sweep over a list of scenario variants (`--vary`), and
//! the tipping point: the first variant whose risk is below a threshold with 95%
//! confidence.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{LoadRisks, RiskKind, StoppedSeed, SweepOptions, SweepResult, run_sweep};
use crate::model::{OverlaySource, Scenario};
use crate::stats::summary::{FormatVersion, by_name};

/// The risks of each scenario variant of a `--vary` sweep, in the order given.
#[derive(Clone, Debug, Serialize)]
pub struct VaryResult {
    /// Always [`FORMAT_VERSION`](crate::stats::summary::FORMAT_VERSION).
    pub format_version: FormatVersion,
    pub seeds: u64,
    pub first_seed: u64,
    pub stormcast_version: String,
    /// The varied keys, in the order they appear in the points' parameters (one or two).
    pub keys: Vec<String>,
    pub points: Vec<VaryPoint>,
}

/// One variant: its label (e.g. `"services.api.instances=3"`, or two `key=value`
/// separated by a comma; see [`VaryName`]), its parameters, and its risks per load.
#[derive(Clone, Debug, Serialize)]
pub struct VaryPoint {
    pub label: String,
    pub params: Vec<VaryParam>,
    pub scenario_hash: String,
    /// Every overlay of this point: the command's `--change`/`--set`, then its values.
    pub overlays: Vec<OverlaySource>,
    /// Seeds of this point whose run was stopped early (see `SweepResult::stopped`).
    pub stopped: Vec<StoppedSeed>,
    #[serde(serialize_with = "by_name")]
    pub risks: Vec<LoadRisks>,
    /// Median across seeds of each load's p99, for context; null if no request ended ok.
    pub p99_ms_median: Vec<Option<f64>>,
}

/// One value a variant sets: `key` (a `--set` path) to `value`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VaryParam {
    pub key: String,
    pub value: String,
}

impl VaryParam {
    /// The value as a number, if it is one.
    pub fn number(&self) -> Option<f64> {
        self.value.trim().parse::<f64>().ok().filter(|v| v.is_finite())
    }
}

/// `key=value`: the `--set` option that makes the variant, and a part of its label.
impl fmt::Display for VaryParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// What names a variant given to [`run_vary`]: its parameters (what the CLI passes,
/// the label derived from them), or a label of `key=value` parts separated by commas
/// (kept as written, the parameters parsed from it by [`parse_vary_label`]).
pub trait VaryName {
    /// The variant's parameters, in key order.
    fn params(&self) -> Vec<VaryParam>;
    /// The variant's label, as `vary.json`, the table and the tipping point show it.
    fn label(&self) -> String;
}

impl VaryName for Vec<VaryParam> {
    fn params(&self) -> Vec<VaryParam> {
        self.clone()
    }

    /// The parameters as `key=value`, separated by ", ".
    fn label(&self) -> String {
        self.iter().map(VaryParam::to_string).collect::<Vec<_>>().join(", ")
    }
}

impl VaryName for String {
    fn params(&self) -> Vec<VaryParam> {
        parse_vary_label(self)
    }

    fn label(&self) -> String {
        self.clone()
    }
}

/// Splits a label like `"services.api.instances=3, services.db.workers=8"` into its
/// parameters; a part without `=` is a value of the unnamed key `""`.
pub fn parse_vary_label(label: &str) -> Vec<VaryParam> {
    label
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, v)) => VaryParam { key: k.trim().to_string(), value: v.trim().to_string() },
            None => VaryParam { key: String::new(), value: part.to_string() },
        })
        .collect()
}

/// Sweeps each `(name, scenario)` point with the same seeds (common random numbers,
/// so the differences between points are not seed noise) and keeps its risks.
/// `progress` is called once per finished seed of every point.
pub fn run_vary<N: VaryName>(
    points: &[(N, Scenario)],
    opts: &SweepOptions,
    progress: &(dyn Fn() + Sync),
) -> VaryResult {
    vary_of_sweeps(points.iter().map(|(name, scenario)| (name, run_sweep(scenario, opts, progress))), opts)
}

/// The [`VaryResult`] of each point's sweep, in the order given (what [`run_vary`]
/// returns; a merge of sharded points gives their sweeps here too).
pub fn vary_of_sweeps<'a, N: VaryName + 'a>(
    sweeps: impl IntoIterator<Item = (&'a N, SweepResult)>,
    opts: &SweepOptions,
) -> VaryResult {
    let mut keys: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (name, sweep) in sweeps {
        let params = name.params();
        for p in &params {
            if !keys.contains(&p.key) {
                keys.push(p.key.clone());
            }
        }
        out.push(VaryPoint {
            label: name.label(),
            params,
            scenario_hash: sweep.scenario_hash,
            overlays: sweep.overlays,
            stopped: sweep.stopped,
            p99_ms_median: sweep.loads.iter().map(|l| l.p99_ms.as_ref().map(|d| d.median)).collect(),
            risks: sweep.risks,
        });
    }
    VaryResult {
        format_version: FormatVersion,
        seeds: opts.seeds,
        first_seed: opts.first_seed,
        stormcast_version: env!("CARGO_PKG_VERSION").to_string(),
        keys,
        points: out,
    }
}

/// The first point, in the order given, at which `load`'s `kind` risk is below
/// `threshold` with 95% confidence: the upper end of its Wilson interval is below the
/// threshold. `None` if no point gets there (or the load does not exist).
///
/// Asking for the upper end, not the point estimate, keeps a handful of lucky seeds
/// from declaring a capacity safe: with 20 seeds and no failure, the upper end is still
/// 16%, so a 5% threshold needs at least 73 clean seeds.
pub fn tipping_point_at<'r>(
    result: &'r VaryResult,
    load: &str,
    kind: RiskKind,
    threshold: f64,
) -> Option<&'r VaryPoint> {
    result
        .points
        .iter()
        .find(|point| point.risks.iter().find(|r| r.name == load).is_some_and(|risks| risks.get(kind).high < threshold))
}

/// The label of the tipping point ([`tipping_point_at`]).
pub fn tipping_point(result: &VaryResult, load: &str, kind: RiskKind, threshold: f64) -> Option<String> {
    tipping_point_at(result, load, kind, threshold).map(|point| point.label.clone())
}

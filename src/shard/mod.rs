//! Sharded sweeps, vary sweeps and compares: the engine-neutral contract
//! (docs/distributed.md).
//!
//! A command given `--shard I/N` runs only the seeds of shard `I` and writes a
//! [`Partial`]: per configuration, one row of raw per-seed figures per seed and the
//! shard's latency histograms merged (HdrHistogram's V2 + DEFLATE serialization), plus
//! everything the merge needs to finish the command as it would have finished on one
//! machine: the scenario texts (so the merge can rebuild each scenario and check its
//! hash), the seeds, the replay prefixes, the gates and the labels. [`merge`] checks
//! that the partials come from one study and cover every seed exactly once, folds the
//! rows in seed order and adds the histograms: the sweep's fold is sequential in seed
//! order and histogram counts add up, so the result is the unsharded command's, byte
//! for byte.
//!
//! The parts: this file holds the shard spec and the partial format; `merge.rs` checks
//! partials against each other and merges them; `exact.rs` writes floats exactly.

mod exact;
mod merge;

pub use exact::Exact;
pub use merge::{Merged, merge};

use std::ops::Range;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

use crate::model::{Gates, Scenario};
use crate::scenario::{LoadError, load_str_with_changes};
use crate::sweep::{ShardSweep, SweepOptions, VaryParam};

/// The version of the partial format; a partial of another version is refused.
pub const PARTIAL_FORMAT: u32 = 1;

/// Environment variables `--shard auto/N` reads the index from, in this order: a
/// Kubernetes Indexed Job's, then a Slurm job array's.
pub const INDEX_VARIABLES: [&str; 2] = ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"];

/// Shard `index` of `count` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Reads `I/N`, or `auto/N` with the index from the variable `var` if given, else
    /// the first of [`INDEX_VARIABLES`] that is set (`lookup` reads a variable).
    pub fn parse(spec: &str, var: Option<&str>, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let usage = || format!("--shard {spec}: expected I/N (0 <= I < N), or auto/N, e.g. --shard 0/4");
        let (index, count) = spec.split_once('/').ok_or_else(usage)?;
        let count: u64 = count.trim().parse().ok().filter(|&n| n >= 1).ok_or_else(usage)?;
        let (index, from) = if index.trim() == "auto" {
            let names: Vec<&str> = var.map_or(INDEX_VARIABLES.to_vec(), |v| vec![v]);
            let found = names.iter().find_map(|name| lookup(name).map(|value| (value, *name)));
            let (value, name) = found
                .ok_or_else(|| format!("--shard {spec}: none of {} is set; give the index as I/N", names.join(", ")))?;
            let index = value
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("--shard {spec}: {name}={value} is not a shard index (a whole number from 0)"))?;
            (index, format!(" ({name}={value})"))
        } else {
            (index.trim().parse().map_err(|_| usage())?, String::new())
        };
        if index >= count {
            return Err(format!("--shard {spec}: index {index}{from} is not below the shard count {count}"));
        }
        Ok(Shard { index, count })
    }

    /// The positions (seed = first seed + position) of this shard's seeds among
    /// `seeds`: consecutive, and as even as can be (sizes differ by at most one).
    pub fn positions(self, seeds: u64) -> Range<u64> {
        let at = |i: u64| (u128::from(seeds) * u128::from(i) / u128::from(self.count)) as u64;
        at(self.index)..at(self.index + 1)
    }

    /// The file a shard's partial is written to: `partial-I-of-N.json`.
    pub fn file_name(self) -> String {
        format!("partial-{}-of-{}.json", self.index, self.count)
    }
}

/// Which command a partial is a shard of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Sweep,
    Vary,
    Compare,
}

/// One shard's result (`partial-I-of-N.json`, docs/outputs.md).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Partial {
    /// Always [`PARTIAL_FORMAT`].
    pub partial_format: u32,
    pub stormcast_version: String,
    pub kind: Kind,
    pub shard: Shard,
    /// The whole command's seeds: `seeds` seeds from `first_seed`.
    pub seeds: u64,
    pub first_seed: u64,
    /// The positions of the seeds this partial holds: `[start, end)`.
    pub positions: [u64; 2],
    pub command: Command,
    /// The configurations run: the scenario (sweep), each point (vary), or the base and
    /// the proposed scenario (compare).
    pub configs: Vec<Config>,
}

/// What finishes the command as on one machine, besides the seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Command {
    /// The command that replays a seed of the (proposed) config, without `--seed`.
    pub replay_prefix: Option<String>,
    /// `sweep --vary`: the tipping point's threshold.
    pub threshold: Option<Exact>,
    /// `compare`: the replay prefix of the base, the two labels, the gates and
    /// `--allow-ungated`.
    pub compare: Option<CompareCommand>,
}

/// The parts of a `compare` command its result and exit code depend on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompareCommand {
    pub base_replay_prefix: String,
    pub base_label: String,
    pub proposed_label: String,
    pub gates: GateLimits,
    pub allow_ungated: bool,
}

/// The final gates (the scenario's `[gates]` with the command's flags over them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateLimits {
    pub max_slo_risk: Option<Exact>,
    pub max_slo_risk_increase: Option<Exact>,
    pub max_p99_increase: Option<Exact>,
    pub max_metastable_risk: Option<Exact>,
    pub max_metastable_risk_increase: Option<Exact>,
}

impl PartialEq for Exact {
    /// Bit for bit: two partials agree only on the very same value.
    fn eq(&self, other: &Exact) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl From<&Gates> for GateLimits {
    fn from(g: &Gates) -> Self {
        GateLimits {
            max_slo_risk: g.max_slo_risk.map(Exact),
            max_slo_risk_increase: g.max_slo_risk_increase.map(Exact),
            max_p99_increase: g.max_p99_increase.map(Exact),
            max_metastable_risk: g.max_metastable_risk.map(Exact),
            max_metastable_risk_increase: g.max_metastable_risk_increase.map(Exact),
        }
    }
}

impl From<&GateLimits> for Gates {
    fn from(g: &GateLimits) -> Self {
        Gates {
            max_slo_risk: g.max_slo_risk.map(|v| v.0),
            max_slo_risk_increase: g.max_slo_risk_increase.map(|v| v.0),
            max_p99_increase: g.max_p99_increase.map(|v| v.0),
            max_metastable_risk: g.max_metastable_risk.map(|v| v.0),
            max_metastable_risk_increase: g.max_metastable_risk_increase.map(|v| v.0),
        }
    }
}

/// One configuration's inputs and this shard's seeds of it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Config {
    pub inputs: Inputs,
    /// The hash of the scenario the inputs make (checked when the merge rebuilds it).
    pub scenario_hash: String,
    /// `sweep --vary`: the point's parameters (empty otherwise).
    pub params: Vec<VaryParam>,
    /// Per load, in file order: the latency histogram of the shard's seeds merged,
    /// HdrHistogram V2 + DEFLATE, base64.
    pub histograms: Vec<String>,
    /// One row per seed, in seed order.
    pub rows: Vec<crate::sweep::SeedRow>,
}

/// The texts a scenario was made from, as `scenario::load_str_with_changes` takes them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    /// The base's path as given (it labels messages and is `Scenario::source`).
    pub label: String,
    pub text: String,
    /// `--change` files: path as given, and text.
    pub changes: Vec<(String, String)>,
    /// `--set` options without `--set`, the command's then the point's.
    pub sets: Vec<String>,
}

impl Inputs {
    /// The scenario these texts make.
    pub fn load(&self) -> Result<Scenario, LoadError> {
        let changes: Vec<(&str, &str)> = self.changes.iter().map(|(l, t)| (l.as_str(), t.as_str())).collect();
        let sets: Vec<&str> = self.sets.iter().map(String::as_str).collect();
        load_str_with_changes(&self.label, &self.text, &changes, &sets)
    }
}

impl Config {
    /// A shard of `scenario` (made from `inputs`), for a vary point with `params`.
    pub fn new(inputs: Inputs, scenario: &Scenario, params: Vec<VaryParam>, shard: ShardSweep) -> Config {
        Config {
            inputs,
            scenario_hash: scenario.hash.clone(),
            params,
            histograms: shard.histograms.iter().map(encode_histogram).collect(),
            rows: shard.rows,
        }
    }
}

impl Partial {
    /// A partial of `kind` for `shard` of the seeds `opts` describes.
    pub fn new(kind: Kind, shard: Shard, opts: &SweepOptions, command: Command, configs: Vec<Config>) -> Partial {
        let positions = shard.positions(opts.seeds);
        Partial {
            partial_format: PARTIAL_FORMAT,
            stormcast_version: env!("CARGO_PKG_VERSION").to_string(),
            kind,
            shard,
            seeds: opts.seeds,
            first_seed: opts.first_seed,
            positions: [positions.start, positions.end],
            command,
            configs,
        }
    }
}

/// A histogram in HdrHistogram's V2 + DEFLATE encoding, base64 (standard alphabet).
pub(crate) fn encode_histogram(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new().serialize(h, &mut bytes).expect("a histogram encodes into memory");
    STANDARD.encode(bytes)
}

/// [`encode_histogram`] read back; `None` if the text is not one.
pub(crate) fn decode_histogram(text: &str) -> Option<Histogram<u64>> {
    let bytes = STANDARD.decode(text).ok()?;
    Deserializer::new().deserialize(&mut bytes.as_slice()).ok()
}

#[cfg(test)]
mod tests;

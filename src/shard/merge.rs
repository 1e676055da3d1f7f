//! Partials checked against each other and merged into the unsharded command's result.

use hdrhistogram::Histogram;

use super::{Kind, PARTIAL_FORMAT, Partial, decode_histogram};
use crate::compare::{CompareResult, ReplayPrefixes, compare_sweeps};
use crate::model::{Gates, Scenario};
use crate::sweep::{SweepOptions, SweepResult, VaryResult, fold_shards, vary_of_sweeps};

/// What a merge gives: the command's result, as the unsharded command would have, with
/// what its files are made from besides.
#[derive(Debug)]
pub enum Merged {
    Sweep {
        result: Box<SweepResult>,
        scenario: Box<Scenario>,
    },
    /// With the threshold of its tipping point and the base scenario (without the
    /// points' values).
    Vary {
        result: VaryResult,
        threshold: f64,
        base: Box<Scenario>,
    },
    /// With the proposed scenario, the labels of the two configs, and the exit code.
    Compare {
        result: Box<CompareResult>,
        proposed: Box<Scenario>,
        base_label: String,
        proposed_label: String,
        exit_code: i32,
    },
}

/// Merges `partials` (each with the name it is reported by, e.g. its path). Refused,
/// with a message naming the partials involved: none given, a partial of another
/// partial format or stormcast version, partials of different studies (command,
/// seeds, scenario texts or hashes), a partial whose rows do not match its seeds, and
/// seeds that no partial or more than one partial covers.
pub fn merge(partials: &[(String, Partial)]) -> Result<Merged, String> {
    let ((first_name, first), rest) = partials.split_first().ok_or("error: merge: no partial given")?;
    for (name, p) in partials {
        check_version(name, p)?;
        check_rows(name, p)?;
    }
    for (name, p) in rest {
        if let Some(what) = differs(first, p) {
            return Err(format!(
                "error: {name} is not a shard of the same command as {first_name}: {what} differ\n  = help: merge only partials written by one command line (the same scenario files, options and --seeds), run with different --shard"
            ));
        }
    }
    let mut sorted: Vec<&(String, Partial)> = partials.iter().collect();
    sorted.sort_by_key(|(_, p)| p.positions);
    check_coverage(&sorted)?;
    let scenarios = first
        .configs
        .iter()
        .map(|c| {
            let scenario = c.inputs.load().map_err(|e| format!("error: {first_name}: its scenario no longer loads:\n{e}"))?;
            if scenario.hash != c.scenario_hash {
                return Err(format!(
                    "error: {first_name}: its scenario texts give hash {}, not the {} it records: the partial was edited",
                    scenario.hash, c.scenario_hash
                ));
            }
            Ok(scenario)
        })
        .collect::<Result<Vec<Scenario>, String>>()?;
    let histograms = decode_all(&sorted, &scenarios)?;
    let sweep = |config: usize, replay_prefix: Option<String>| {
        let opts = SweepOptions { replay_prefix, ..SweepOptions::new(first.seeds, first.first_seed) };
        let shards =
            sorted.iter().zip(&histograms).map(|((_, p), h)| (h[config].as_slice(), p.configs[config].rows.as_slice()));
        (fold_shards(&scenarios[config], &opts, shards), opts)
    };
    let command = &first.command;
    Ok(match first.kind {
        Kind::Sweep => Merged::Sweep {
            result: Box::new(sweep(0, command.replay_prefix.clone()).0),
            scenario: Box::new(scenarios[0].clone()),
        },
        Kind::Vary => {
            let sweeps: Vec<(SweepResult, SweepOptions)> =
                (0..scenarios.len()).map(|c| sweep(c, command.replay_prefix.clone())).collect();
            let opts = sweeps.first().map_or_else(|| SweepOptions::new(first.seeds, first.first_seed), |s| s.1.clone());
            let points = first.configs.iter().zip(sweeps).map(|(c, (s, _))| (&c.params, s));
            let base = base_of_vary(first_name, first)?;
            Merged::Vary {
                result: vary_of_sweeps(points, &opts),
                threshold: command.threshold.map_or(f64::NAN, |t| t.0),
                base: Box::new(base),
            }
        }
        Kind::Compare => {
            let cc = command
                .compare
                .as_ref()
                .ok_or_else(|| format!("error: {first_name}: a compare partial without its compare settings"))?;
            if scenarios.len() != 2 {
                return Err(format!("error: {first_name}: a compare partial needs 2 configs, not {}", scenarios.len()));
            }
            let (base, _) = sweep(0, None);
            let (proposed, _) = sweep(1, command.replay_prefix.clone());
            let prefixes = ReplayPrefixes { base: None, proposed: command.replay_prefix.clone() };
            let gates = Gates::from(&cc.gates);
            let mut result = compare_sweeps(&scenarios[0], &scenarios[1], base, proposed, &gates, &prefixes);
            result.set_replay_prefixes(&cc.base_replay_prefix, command.replay_prefix.as_deref().unwrap_or_default());
            let exit_code = result.exit_code(cc.allow_ungated);
            Merged::Compare {
                result: Box::new(result),
                proposed: Box::new(scenarios[1].clone()),
                base_label: cc.base_label.clone(),
                proposed_label: cc.proposed_label.clone(),
                exit_code,
            }
        }
    })
}

/// A `--vary` command's scenario without the points' values: a point's inputs with its
/// own `--set` options (the last ones) left out.
fn base_of_vary(name: &str, p: &Partial) -> Result<Scenario, String> {
    let config = p.configs.first().ok_or_else(|| format!("error: {name}: a vary partial without points"))?;
    let mut inputs = config.inputs.clone();
    let own =
        inputs.sets.len().checked_sub(config.params.len()).ok_or_else(|| {
            format!("error: {name}: a point with more values than --set options: the partial is damaged")
        })?;
    inputs.sets.truncate(own);
    inputs.load().map_err(|e| format!("error: {name}: its scenario no longer loads:\n{e}"))
}

fn check_version(name: &str, p: &Partial) -> Result<(), String> {
    if p.partial_format != PARTIAL_FORMAT {
        return Err(format!(
            "error: {name}: partial format {} is not the format {PARTIAL_FORMAT} this stormcast reads",
            p.partial_format
        ));
    }
    let ours = env!("CARGO_PKG_VERSION");
    if p.stormcast_version != ours {
        return Err(format!(
            "error: {name}: written by stormcast {}, and this is stormcast {ours}: a merge needs every shard run by the version that merges them",
            p.stormcast_version
        ));
    }
    Ok(())
}

/// The partial's rows are its seeds, in order, for every config.
fn check_rows(name: &str, p: &Partial) -> Result<(), String> {
    let [start, end] = p.positions;
    if start > end || end > p.seeds {
        return Err(format!("error: {name}: positions {start}..{end} are outside the command's {} seeds", p.seeds));
    }
    for c in &p.configs {
        let seeds: Vec<u64> = c.rows.iter().map(|r| r.seed).collect();
        let expected: Vec<u64> = (start..end).map(|i| p.first_seed.wrapping_add(i)).collect();
        if seeds != expected {
            return Err(format!(
                "error: {name}: its rows are not the seeds of positions {start}..{end}: the partial is damaged"
            ));
        }
    }
    Ok(())
}

/// The first field, by name, in which `b` is not from the same command as `a`.
fn differs(a: &Partial, b: &Partial) -> Option<&'static str> {
    fn configs(p: &Partial) -> Vec<(&super::Inputs, &Vec<crate::sweep::VaryParam>)> {
        p.configs.iter().map(|c| (&c.inputs, &c.params)).collect()
    }
    let hashes = |p: &Partial| -> Vec<String> { p.configs.iter().map(|c| c.scenario_hash.clone()).collect() };
    if a.kind != b.kind {
        Some("their commands (sweep, sweep --vary, compare)")
    } else if hashes(a) != hashes(b) {
        Some("their scenario hashes")
    } else if (a.seeds, a.first_seed) != (b.seeds, b.first_seed) {
        Some("their seeds (--seeds, --first-seed)")
    } else if a.command != b.command {
        Some("their options (replay commands, gates, labels or threshold)")
    } else if configs(a) != configs(b) {
        Some("their scenario files (paths or overlays)")
    } else {
        None
    }
}

/// Every position `0..seeds` in exactly one partial (`sorted` by positions).
fn check_coverage(sorted: &[&(String, Partial)]) -> Result<(), String> {
    let first = &sorted[0].1;
    let seed = |i: u64| first.first_seed.wrapping_add(i);
    let mut next = 0;
    let mut previous: Option<&str> = None;
    for (name, p) in sorted {
        let [start, end] = p.positions;
        if start < next {
            return Err(format!(
                "error: {name} and {} overlap: both hold seeds {} to {}\n  = help: give each shard once, all from the same --shard I/N split",
                previous.unwrap_or_default(),
                seed(start),
                seed(next.min(end) - 1)
            ));
        }
        if start > next {
            return Err(missing(first, next, start));
        }
        next = end;
        previous = Some(name);
    }
    if next < first.seeds {
        return Err(missing(first, next, first.seeds));
    }
    Ok(())
}

/// The message for positions `from..to` that no partial holds, with the shards (of the
/// first partial's split) to run again.
fn missing(first: &Partial, from: u64, to: u64) -> String {
    let n = first.shard.count;
    let shards: Vec<String> = (0..n)
        .map(|index| super::Shard { index, count: n })
        .filter(|s| {
            let r = s.positions(first.seeds);
            r.start < to && from < r.end
        })
        .map(|s| format!("--shard {}/{n}", s.index))
        .collect();
    format!(
        "error: seeds {} to {} are in no partial given\n  = help: run the missing shards again ({}) and merge all of them",
        first.first_seed.wrapping_add(from),
        first.first_seed.wrapping_add(to - 1),
        shards.join(", ")
    )
}

/// Every partial's histograms, decoded; each partial's rows checked against its scenario.
fn decode_all(sorted: &[&(String, Partial)], scenarios: &[Scenario]) -> Result<Vec<Vec<Vec<Histogram<u64>>>>, String> {
    sorted
        .iter()
        .map(|(name, p)| {
            p.configs
                .iter()
                .zip(scenarios)
                .map(|(c, s)| {
                    let damaged = || {
                        format!("error: {name}: its histograms or rows do not fit its scenario: the partial is damaged")
                    };
                    if c.histograms.len() != s.loads.len()
                        || !c.rows.iter().all(|r| r.fits(s.loads.len(), s.services.len()))
                    {
                        return Err(damaged());
                    }
                    c.histograms.iter().map(|h| decode_histogram(h).ok_or_else(damaged)).collect()
                })
                .collect()
        })
        .collect()
}

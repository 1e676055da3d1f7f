//! `compare --seeds auto`: seeds run in batches, both configs on the same seeds, and
//! after each batch (a look) every gate is judged at the level the plan allows that
//! look (`stats::sequential`: Lan-DeMets alpha spending, Pocock type). A gate keeps the
//! first decision it reaches; the run stops when the overall verdict is decided (a gate
//! failed, or every gate passed) or at the budget, `max_seeds`.
//!
//! Why a gate's error rate stays valid: a gate is wrongly decided only if some look's
//! interval wrongly lies on one side of its limit, and the looks' miss rates per side
//! add up to 2.5%, the one-sided miss rate of a fixed-seed 95% judgement (union
//! bound). Stopping early, or when another gate decides, cannot raise it.
//!
//! Determinism: each batch is a shard of the same seeds a fixed run would use
//! ([`run_shard`]), folded in seed order ([`fold_shards`]); the looks depend only on
//! the results, so any thread count gives the same looks and the same bytes.

use super::gates::{Judging, evaluate_gates, overall};
use super::{CompareResult, GateResult, GateVerdict, ReplayPrefixes, compare_sweeps};
use crate::model::{Gates, Scenario};
use crate::stats::sequential::{ALPHA_PER_SIDE, Plan};
use crate::sweep::{SeedStore, ShardSweep, SweepOptions, SweepResult, fold_shards, run_shard, run_shard_stored};
use serde::Serialize;

/// How a sequential compare went (`compare.json`'s `sequential`, absent for a fixed
/// number of seeds).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SequentialReport {
    /// The budget (`--max-seeds`) and the seeds per look (`--batch`).
    pub max_seeds: u64,
    pub batch: u64,
    /// ceil(max_seeds / batch).
    pub planned_looks: u64,
    /// Each gate's miss rate per side over the whole plan (0.025, as a fixed 95%
    /// interval's).
    pub alpha_per_side: f64,
    /// The spending function, `"pocock"`: alpha ln(1 + (e - 1) t) (Lan and DeMets 1983).
    pub spending: &'static str,
    /// The looks taken, in order.
    pub looks: Vec<Look>,
    pub stopped: Stop,
}

/// One look: the seeds run by then, the level of its intervals and where the gates stood.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Look {
    pub seeds: u64,
    /// The two-sided level of this look's intervals, e.g. 0.9959.
    pub confidence: f64,
    /// Gates decided by this look (at it or before).
    pub passed: u64,
    pub failed: u64,
    pub undecided: u64,
}

/// Why the run stopped.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// A gate failed: the overall verdict is fail whatever the others do.
    GateFailed,
    /// Every gate passed.
    AllPassed,
    /// The budget ran out with some gate undecided.
    Budget,
    /// The proposed config simulates exactly like the base: nothing to judge.
    Unchanged,
    /// No gate is set: nothing to judge.
    Ungated,
    /// A seed's run was stopped by the event limit (the CLI refuses the result).
    RunStopped,
}

impl Stop {
    /// Why, in words, for the message and the terminal.
    pub fn label(self) -> &'static str {
        match self {
            Stop::GateFailed => "a gate failed",
            Stop::AllPassed => "every gate passed",
            Stop::Budget => "the budget ran out",
            Stop::Unchanged => "the configs simulate alike",
            Stop::Ungated => "no gate is set",
            Stop::RunStopped => "a run hit the event limit",
        }
    }
}

/// The gates as they stand over the looks: each keeps the first decision it reaches.
pub(super) struct Tracker {
    plan: Plan,
    /// Per gate (in [`evaluate_gates`] order): the result of the look that decided it.
    decided: Vec<Option<GateResult>>,
    looks: Vec<Look>,
}

impl Tracker {
    pub(super) fn new(plan: Plan) -> Tracker {
        Tracker { plan, decided: Vec::new(), looks: Vec::new() }
    }

    /// Takes look `k`'s gate results (judged at the plan's level for look `k`) and
    /// returns the gates as they now stand: decided ones as first decided, the others
    /// as at this look. Each decided result's reason says at which look.
    pub(super) fn look(&mut self, k: u64, results: Vec<GateResult>) -> Vec<GateResult> {
        let seeds = self.plan.seeds_at(k);
        let confidence = 1.0 - self.plan.confidence_at(k).alpha();
        self.decided.resize(results.len(), None);
        let mut now = Vec::with_capacity(results.len());
        for (slot, mut result) in self.decided.iter_mut().zip(results) {
            if let Some(first) = slot {
                now.push(first.clone());
                continue;
            }
            result.reason = format!("look {k} ({seeds} seeds, {} interval): {}", level_text(confidence), result.reason);
            if result.verdict != GateVerdict::Inconclusive {
                *slot = Some(result.clone());
            }
            now.push(result);
        }
        let count = |v: GateVerdict| now.iter().filter(|g| g.verdict == v).count() as u64;
        self.looks.push(Look {
            seeds,
            confidence,
            passed: count(GateVerdict::Pass),
            failed: count(GateVerdict::Fail),
            undecided: count(GateVerdict::Inconclusive),
        });
        now
    }

    /// Why to stop after the last look, or `None` to go on.
    pub(super) fn stop(&self, k: u64) -> Option<Stop> {
        let last = self.looks.last()?;
        if last.failed > 0 {
            Some(Stop::GateFailed)
        } else if last.undecided == 0 {
            Some(Stop::AllPassed)
        } else if k >= self.plan.looks() {
            Some(Stop::Budget)
        } else {
            None
        }
    }

    pub(super) fn report(self, stopped: Stop) -> SequentialReport {
        SequentialReport {
            max_seeds: self.plan.max_seeds,
            batch: self.plan.batch,
            planned_looks: self.plan.looks(),
            alpha_per_side: ALPHA_PER_SIDE,
            spending: "pocock",
            looks: self.looks,
            stopped,
        }
    }
}

/// A level as a percentage with enough digits to tell looks apart, e.g. "99.59%".
fn level_text(confidence: f64) -> String {
    format!("{:.2}%", confidence * 100.0)
}

/// Runs `base` and `proposed` look by look under `plan` (seeds from `opts.first_seed`;
/// `opts.seeds` is ignored) until the verdict is decided or the budget is spent, and
/// compares the seeds run as [`run_compare`](super::run_compare) would, with the gates
/// as the looks decided them and `sequential` saying how it went. `progress` is called
/// once per finished seed of either config. The base config's seeds are read from and
/// kept in `base_store` as [`run_compare_stored`](super::run_compare_stored) does.
pub fn run_compare_sequential(
    base: &Scenario,
    proposed: &Scenario,
    opts: &SweepOptions,
    gates: &Gates,
    plan: Plan,
    progress: &(dyn Fn() + Sync),
    base_store: Option<&dyn SeedStore>,
) -> CompareResult {
    let base_opts = SweepOptions { replay_prefix: None, ..opts.clone() };
    let prefixes = ReplayPrefixes { base: None, proposed: opts.replay_prefix.clone() };
    let mut shards: [Vec<ShardSweep>; 2] = [Vec::new(), Vec::new()];
    let mut tracker = Tracker::new(plan);
    let mut k = 0;
    loop {
        k += 1;
        let seeds = plan.seeds_at(k);
        let batch = plan.seeds_at(k - 1)..seeds;
        shards[0].push(run_shard_stored(base, &base_opts, batch.clone(), progress, base_store));
        shards[1].push(run_shard(proposed, opts, batch, progress));
        let base_sweep = fold(base, &base_opts, seeds, &shards[0]);
        let proposed_sweep = fold(proposed, opts, seeds, &shards[1]);
        let mut result = compare_sweeps(base, proposed, base_sweep, proposed_sweep, gates, &prefixes);
        let at_look = evaluate_gates(
            gates,
            &result.paired,
            &result.risk_differences,
            seeds,
            Judging::Look(plan.confidence_at(k)),
        );
        result.gates = tracker.look(k, at_look);
        let stop = if !result.base.stopped.is_empty() || !result.proposed.stopped.is_empty() {
            Some(Stop::RunStopped)
        } else if result.verdict == GateVerdict::Unchanged {
            Some(Stop::Unchanged)
        } else if result.gates.is_empty() {
            Some(Stop::Ungated)
        } else {
            tracker.stop(k)
        };
        if let Some(stop) = stop {
            return finish(result, tracker.report(stop));
        }
    }
}

/// The sweep of the first `seeds` seeds, from the shards run so far.
fn fold(scenario: &Scenario, opts: &SweepOptions, seeds: u64, shards: &[ShardSweep]) -> SweepResult {
    let opts = SweepOptions { seeds, ..opts.clone() };
    let mut sweep = fold_shards(scenario, &opts, shards.iter().map(|s| (&s.histograms[..], &s.rows[..])));
    sweep.stopped = shards.iter().flat_map(|s| s.stopped.iter().cloned()).collect();
    sweep
}

/// The last look's result with the overall verdict of the gates as they stand, and a
/// message that says how many seeds ran and why the run stopped.
fn finish(mut result: CompareResult, report: SequentialReport) -> CompareResult {
    if !matches!(report.stopped, Stop::Unchanged | Stop::Ungated) {
        let (verdict, message, needed) = overall(&result.gates);
        result.verdict = verdict;
        result.seeds_needed = needed;
        result.message = message;
    }
    let looks = report.looks.len();
    let mut message = format!(
        "{}; stopped after {} of at most {} seeds ({looks} of {} looks): {}",
        result.message,
        result.seeds,
        report.max_seeds,
        report.planned_looks,
        report.stopped.label()
    );
    if report.stopped == Stop::Budget {
        message.push_str(match result.seeds_needed {
            Some(_) => {
                "; the seeds above are at the last look's level: rerun with --max-seeds above them (a longer plan \
                 judges each look more strictly, so they are a lower bound)"
            }
            None => "; rerun with a larger --max-seeds, or judge the open gates with a fixed --seeds",
        });
    }
    result.message = message;
    result.sequential = Some(report);
    result
}

#[cfg(test)]
#[path = "sequential_tests.rs"]
mod tests;

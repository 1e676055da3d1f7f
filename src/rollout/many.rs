//! A rollout over many seeds (`stormcast rollout --seeds N`): how often it is rolled
//! back, promoted or left unfinished, with 95% Wilson intervals; whether it was caught
//! before each load's SLO was breached; when it was decided and how many requests met
//! the canary; the seeds worth replaying; and the user's `[rollout.expect]` judged on
//! the intervals (pass when the interval clears the threshold, fail when it is wholly
//! on the wrong side, inconclusive otherwise, with the seeds that would decide it).

use super::controller::Outcome;
use super::summary::{LoadBreach, RolloutSummary};
use crate::compare::GateVerdict;
use crate::model::Scenario;
use crate::model::rollout::RolloutPlan;
use crate::stats::paired::Evidence;
use crate::stats::summary::{FormatVersion, Stopped};
use crate::stats::{Distribution, Proportion, wilson};
use indexmap::IndexMap;
use serde::Serialize;

/// One seed's rollout, kept compact.
#[derive(Clone, Debug, Serialize)]
pub struct SeedRollout {
    pub seed: u64,
    pub outcome: Outcome,
    pub decided_s: Option<f64>,
    pub exposed_requests: u64,
    pub reason: String,
    pub loads: Vec<LoadBreach>,
}

impl SeedRollout {
    pub fn new(seed: u64, r: &RolloutSummary) -> SeedRollout {
        SeedRollout {
            seed,
            outcome: r.outcome,
            decided_s: r.decided_s,
            exposed_requests: r.exposed_requests,
            reason: r.reason.clone(),
            loads: r.loads.clone(),
        }
    }
}

/// `rollout.json`.
#[derive(Clone, Debug, Serialize)]
pub struct RolloutReport {
    pub format_version: FormatVersion,
    pub stormcast_version: String,
    pub scenario: String,
    pub scenario_hash: String,
    pub strategy: String,
    pub style: &'static str,
    pub service: String,
    pub canary: String,
    pub start_s: f64,
    pub seeds: u64,
    pub first_seed: u64,
    pub rolled_back: Proportion,
    pub promoted: Proportion,
    pub unfinished: Proportion,
    /// Per load: the shares above (the same for every load), and its SLO's.
    pub loads: IndexMap<String, LoadShares>,
    /// Seconds from the rollout's start to the rollback, over the seeds rolled back.
    pub detection_s: Option<Distribution>,
    /// Seconds from the rollout's start to the promotion, over the seeds promoted.
    pub promotion_s: Option<Distribution>,
    /// Requests the canary served, over every seed.
    pub exposed_requests: Option<Distribution>,
    /// `[rollout.expect]`, judged.
    pub expect: Vec<ExpectResult>,
    /// `pass`, `fail`, `inconclusive`, or `ungated` without `[rollout.expect]`.
    pub verdict: GateVerdict,
    pub verdict_reason: String,
    /// Seeds worth a look, with the command that replays each.
    pub replay: Vec<Replay>,
    pub per_seed: Vec<SeedRollout>,
    /// Seeds whose run was stopped (never reported as runs; the command refuses).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stopped: Vec<(u64, Stopped)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LoadShares {
    pub rolled_back: Proportion,
    pub promoted: Proportion,
    pub unfinished: Proportion,
    /// Seeds in which the load's SLO was breached after the rollout began.
    pub slo_breached: Proportion,
    /// Seeds rolled back no later than the first breach (or with none).
    pub caught_before_breach: Proportion,
}

/// One `[rollout.expect]` entry, judged.
#[derive(Clone, Debug, Serialize)]
pub struct ExpectResult {
    pub key: String,
    /// The load it is about (`caught_before_breach_at_least` only).
    pub load: Option<String>,
    pub threshold: f64,
    pub measured: Proportion,
    pub verdict: GateVerdict,
    pub reason: String,
    pub seeds_needed: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Replay {
    pub seed: u64,
    pub outcome: Outcome,
    pub why: String,
    pub command: String,
}

impl RolloutReport {
    /// The report over `runs` (in seed order). `replay_prefix` replays a seed with
    /// ` --seed N` appended.
    pub fn new(
        sc: &Scenario,
        plan: &RolloutPlan,
        first_seed: u64,
        runs: Vec<SeedRollout>,
        replay_prefix: &str,
    ) -> Self {
        let n = runs.len() as u64;
        let count = |o: Outcome| runs.iter().filter(|r| r.outcome == o).count() as u64;
        let (rolled_back, promoted, unfinished) =
            (count(Outcome::RolledBack), count(Outcome::Promoted), count(Outcome::Unfinished));
        let mut loads = IndexMap::new();
        let mut expect = Vec::new();
        let e = &plan.strategy.expect;
        let load_names: Vec<String> =
            runs.first().map(|r| r.loads.iter().map(|l| l.load.clone()).collect()).unwrap_or_default();
        for (i, name) in load_names.iter().enumerate() {
            let breached = runs.iter().filter(|r| r.loads[i].slo_breached_s.is_some()).count() as u64;
            let caught = runs.iter().filter(|r| r.loads[i].caught_before_breach).count() as u64;
            if let Some(t) = e.caught_before_breach_at_least {
                expect.push(judge("caught_before_breach_at_least", Some(name), t, caught, n, true));
            }
            loads.insert(
                name.clone(),
                LoadShares {
                    rolled_back: wilson(rolled_back, n),
                    promoted: wilson(promoted, n),
                    unfinished: wilson(unfinished, n),
                    slo_breached: wilson(breached, n),
                    caught_before_breach: wilson(caught, n),
                },
            );
        }
        let mut top = Vec::new();
        for (key, t, k, at_least) in [
            ("rolled_back_at_least", e.rolled_back_at_least, rolled_back, true),
            ("promoted_at_least", e.promoted_at_least, promoted, true),
            ("unfinished_at_most", e.unfinished_at_most, unfinished, false),
        ] {
            if let Some(t) = t {
                top.push(judge(key, None, t, k, n, at_least));
            }
        }
        top.append(&mut expect);
        let (verdict, verdict_reason) = overall(&top);
        let start_s = plan.strategy.start.as_secs_f64();
        let since_start = |o: Outcome| {
            let since: Vec<f64> =
                runs.iter().filter(|r| r.outcome == o).filter_map(|r| r.decided_s).map(|d| d - start_s).collect();
            Distribution::of(&since)
        };
        RolloutReport {
            format_version: FormatVersion,
            stormcast_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: sc.source.clone(),
            scenario_hash: sc.hash.clone(),
            strategy: plan.strategy.source.clone(),
            style: plan.strategy.style.name(),
            service: sc.services[plan.stable].name.clone(),
            canary: sc.services[plan.canary].name.clone(),
            start_s,
            seeds: n,
            first_seed,
            rolled_back: wilson(rolled_back, n),
            promoted: wilson(promoted, n),
            unfinished: wilson(unfinished, n),
            loads,
            detection_s: since_start(Outcome::RolledBack),
            promotion_s: since_start(Outcome::Promoted),
            exposed_requests: Distribution::of(&runs.iter().map(|r| r.exposed_requests as f64).collect::<Vec<_>>()),
            expect: top,
            verdict,
            verdict_reason,
            replay: replays(&runs, replay_prefix),
            per_seed: runs,
            stopped: Vec::new(),
        }
    }

    /// 0 when every expectation passed, 1 otherwise (also when nothing was asserted,
    /// unless `accept_ungated`).
    pub fn exit_code(&self, accept_ungated: bool) -> i32 {
        match self.verdict {
            GateVerdict::Pass => 0,
            GateVerdict::Ungated if accept_ungated => 0,
            _ => 1,
        }
    }
}

/// An expectation on a share: at least (or at most) `t`, on the Wilson interval of `k`
/// of `n` seeds.
fn judge(key: &str, load: Option<&String>, t: f64, k: u64, n: u64, at_least: bool) -> ExpectResult {
    let w = wilson(k, n);
    let (pass, fail) = if at_least { (w.low >= t, w.high < t) } else { (w.high <= t, w.low > t) };
    let shown =
        format!("{k} of {n} seeds ({:.1}%, 95% interval {:.1}%-{:.1}%)", w.p * 100.0, w.low * 100.0, w.high * 100.0);
    let side = if at_least { "at least" } else { "at most" };
    let (verdict, reason, needed) = if pass {
        (GateVerdict::Pass, format!("{shown}: the interval is {side} {:.1}%", t * 100.0), None)
    } else if fail {
        (GateVerdict::Fail, format!("{shown}: the interval is wholly on the wrong side of {:.1}%", t * 100.0), None)
    } else {
        let decided = |low: f64, high: f64| if at_least { low >= t || high < t } else { high <= t || low > t };
        let needed = (w.p != t).then(|| Evidence::Proportion { k, n }.seeds_to_decide(decided)).flatten();
        let hint = match needed {
            Some(m) => format!("about {m} seeds would decide it if the share held"),
            None => "more seeds may not decide it".to_string(),
        };
        (GateVerdict::Inconclusive, format!("{shown}: the interval straddles {:.1}%; {hint}", t * 100.0), needed)
    };
    ExpectResult {
        key: key.to_string(),
        load: load.cloned(),
        threshold: t,
        measured: w,
        verdict,
        reason,
        seeds_needed: needed,
    }
}

fn overall(results: &[ExpectResult]) -> (GateVerdict, String) {
    if results.is_empty() {
        return (
            GateVerdict::Ungated,
            "no [rollout.expect] in the strategy, so nothing was asserted: add e.g. `rolled_back_at_least = 0.9` \
             for a known-bad change or `promoted_at_least = 0.9` for a good one (--allow-ungated accepts this)"
                .to_string(),
        );
    }
    let failed = results.iter().filter(|r| r.verdict == GateVerdict::Fail).count();
    let undecided: Vec<&ExpectResult> = results.iter().filter(|r| r.verdict == GateVerdict::Inconclusive).collect();
    let total = results.len();
    if failed > 0 {
        return (GateVerdict::Fail, format!("{failed} of {total} expectations failed"));
    }
    if undecided.is_empty() {
        return (GateVerdict::Pass, format!("all {total} expectations hold"));
    }
    let needed =
        undecided.iter().map(|r| r.seeds_needed).collect::<Option<Vec<u64>>>().and_then(|v| v.into_iter().max());
    let run = needed.map_or("more seeds may not decide them".to_string(), |m| format!("run about {m} seeds"));
    (GateVerdict::Inconclusive, format!("inconclusive: {} of {total} expectations undecided; {run}", undecided.len()))
}

/// Seeds worth a look: the first of each outcome that is not the most common one, the
/// slowest rollback, and the seed that exposed the most requests to the canary.
fn replays(runs: &[SeedRollout], prefix: &str) -> Vec<Replay> {
    let mut out: Vec<Replay> = Vec::new();
    let mut add = |r: &SeedRollout, why: String| {
        if !out.iter().any(|x| x.seed == r.seed) {
            out.push(Replay { seed: r.seed, outcome: r.outcome, why, command: format!("{prefix} --seed {}", r.seed) });
        }
    };
    let count = |o: Outcome| runs.iter().filter(|r| r.outcome == o).count();
    let common = [Outcome::RolledBack, Outcome::Promoted, Outcome::Unfinished].into_iter().max_by_key(|&o| count(o));
    for o in [Outcome::RolledBack, Outcome::Promoted, Outcome::Unfinished] {
        if Some(o) != common
            && let Some(r) = runs.iter().find(|r| r.outcome == o)
        {
            add(r, format!("{} ({} of {} seeds): {}", o.label(), count(o), runs.len(), r.reason));
        }
    }
    // The slowest rollback and the largest exposure, when seeds differ in them (the
    // first seed on a tie).
    let rolled_back: Vec<&SeedRollout> = runs.iter().filter(|r| r.outcome == Outcome::RolledBack).collect();
    let decided = |r: &&SeedRollout| r.decided_s.unwrap_or(0.0);
    if let (Some(slowest), Some(fastest)) = (
        rolled_back.iter().copied().reduce(|a, b| if decided(&b) > decided(&a) { b } else { a }),
        rolled_back.iter().copied().reduce(|a, b| if decided(&b) < decided(&a) { b } else { a }),
    ) && decided(&slowest) > decided(&fastest)
    {
        add(slowest, format!("the slowest rollback, at {} s", decided(&slowest)));
    }
    let most = runs.iter().reduce(|a, b| if b.exposed_requests > a.exposed_requests { b } else { a });
    let least = runs.iter().map(|r| r.exposed_requests).min();
    if let (Some(most), Some(least)) = (most, least)
        && most.exposed_requests > least
    {
        add(most, format!("the most requests served by the canary ({})", most.exposed_requests));
    }
    out
}

/// Runs seeds `first..first + n` of the rollout scenario `sc` in parallel (on `jobs`
/// threads, or rayon's pool), each stopped after `max_events`; their rollouts in seed
/// order, or the first seed (in seed order) whose run was stopped.
pub fn run_seeds(
    sc: &Scenario,
    first: u64,
    n: u64,
    jobs: Option<usize>,
    max_events: u64,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<SeedRollout>, (u64, Stopped)> {
    use rayon::prelude::*;
    let runs: Vec<Result<SeedRollout, (u64, Stopped)>> = crate::sweep::in_pool(jobs, || {
        (0..n)
            .into_par_iter()
            .map(|i| {
                let seed = first + i;
                let result = crate::sim::simulate_bounded(sc, seed, max_events);
                progress();
                match (result.stopped, &result.rollout) {
                    (Some(stopped), _) => Err((seed, stopped)),
                    (None, Some(r)) => Ok(SeedRollout::new(seed, r)),
                    (None, None) => unreachable!("a rollout scenario's run has a rollout"),
                }
            })
            .collect()
    });
    runs.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/rollout.md: 20 seeds all rolled back give [83.9%, 100%], enough for 0.8 and
    /// not for 0.9, which takes 35 (the lower end of k = n is n / (n + z^2)).
    #[test]
    fn expectations_are_judged_on_the_wilson_interval() {
        let twenty = judge("rolled_back_at_least", None, 0.9, 20, 20, true);
        assert!((twenty.measured.low - 0.839).abs() < 5e-4, "{}", twenty.measured.low);
        assert_eq!(twenty.verdict, GateVerdict::Inconclusive);
        assert_eq!(twenty.seeds_needed, Some(35));
        assert_eq!(judge("rolled_back_at_least", None, 0.8, 20, 20, true).verdict, GateVerdict::Pass);
        assert_eq!(judge("rolled_back_at_least", None, 0.9, 35, 35, true).verdict, GateVerdict::Pass);
        assert_eq!(judge("rolled_back_at_least", None, 0.9, 34, 34, true).verdict, GateVerdict::Inconclusive);
        assert_eq!(judge("promoted_at_least", None, 0.9, 0, 20, true).verdict, GateVerdict::Fail);
        assert_eq!(judge("unfinished_at_most", None, 0.05, 0, 80, false).verdict, GateVerdict::Pass);
        assert_eq!(overall(&[]).0, GateVerdict::Ungated);
    }
}

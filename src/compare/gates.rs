//! The gates of `[gates]`, each applied to each load, and the overall verdict.

use super::{GateKind, GateResult, GateVerdict, LoadRiskDifferences, PairedLoad, RiskDifference};
use crate::format::{percent, signed_percent};
use crate::model::Gates;
use crate::stats::Proportion;
use crate::stats::confidence::Confidence;
use crate::stats::paired::{Evidence, MAX_SEEDS_SEARCHED, newcombe, newcombe_method_10};
use crate::stats::risk::wilson_z;

impl GateKind {
    fn limit(self, gates: &Gates) -> Option<f64> {
        match self {
            GateKind::MaxSloRisk => gates.max_slo_risk,
            GateKind::MaxSloRiskIncrease => gates.max_slo_risk_increase,
            GateKind::MaxP99Increase => gates.max_p99_increase,
            GateKind::MaxMetastableRisk => gates.max_metastable_risk,
            GateKind::MaxMetastableRiskIncrease => gates.max_metastable_risk_increase,
        }
    }

    fn needs_slo(self) -> bool {
        matches!(self, GateKind::MaxSloRisk | GateKind::MaxSloRiskIncrease)
    }
}

/// How gates are judged: as a fixed-seed compare always has, or at a sequential look.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(super) enum Judging {
    /// 95% intervals; a risk increase with no discordant seed is [0, 0]
    /// ([`newcombe`]'s departure).
    Fixed,
    /// A look's level; a risk increase by Newcombe's method 10 as published
    /// ([`newcombe_method_10`]), whose interval keeps its width without discordant seeds.
    Look(Confidence),
}

impl Judging {
    fn confidence(self) -> Confidence {
        match self {
            Judging::Fixed => Confidence::P95,
            Judging::Look(c) => c,
        }
    }
}

/// Each gate of `gates` on each load, judged as `judging` says, with intervals
/// recomputed from the counts, means and standard errors behind the loads' 95% figures.
pub(super) fn evaluate_gates(
    gates: &Gates,
    paired: &[PairedLoad],
    risks: &[LoadRiskDifferences],
    seeds: u64,
    judging: Judging,
) -> Vec<GateResult> {
    let confidence = judging.confidence();
    let mut out = Vec::new();
    for kind in GateKind::ALL {
        let Some(limit) = kind.limit(gates) else { continue };
        for (load, risk) in paired.iter().zip(risks) {
            if kind.needs_slo() && !risk.slo_defined {
                continue;
            }
            let proposed_risk = |p: Proportion, what: &str| {
                let k = count_of(p, seeds);
                let p = wilson_z(k as f64 / seeds as f64, seeds as f64, confidence.z());
                let estimate =
                    format!("{what} {k}/{seeds} = {} [{}, {}]", percent(p.p), percent(p.low), percent(p.high));
                (Some(p.p), Some(p.low), Some(p.high), estimate, Some(Evidence::Proportion { k, n: seeds }))
            };
            let increase = |r: &RiskDifference, what: &str| {
                // The 2 x 2 table behind the interval: proposed = both + proposed only.
                let both = count_of(r.proposed, seeds).saturating_sub(r.proposed_only);
                let neither = seeds.saturating_sub(both + r.base_only + r.proposed_only);
                let counts = [both, r.base_only, r.proposed_only, neither];
                let counts = counts.map(|c| c as f64);
                let (diff, low, high) = match judging {
                    Judging::Fixed => newcombe(counts, confidence),
                    Judging::Look(_) => newcombe_method_10(counts, confidence),
                };
                let evidence =
                    Evidence::PairedCounts { both, base_only: r.base_only, proposed_only: r.proposed_only, neither };
                let estimate = format!(
                    "{what} {:+.1} pp [{:+.1}, {:+.1}] ({} seeds worse, {} better)",
                    diff * 100.0,
                    low * 100.0,
                    high * 100.0,
                    r.proposed_only,
                    r.base_only
                );
                (Some(diff), Some(low), Some(high), estimate, Some(evidence))
            };
            let (value, low, high, estimate, evidence) = match kind {
                GateKind::MaxSloRisk => proposed_risk(risk.slo_risk.proposed, "proposed SLO risk"),
                GateKind::MaxMetastableRisk => {
                    proposed_risk(risk.metastable_risk.proposed, "proposed never-recovered risk")
                }
                GateKind::MaxSloRiskIncrease => increase(&risk.slo_risk, "SLO risk change"),
                GateKind::MaxMetastableRiskIncrease => increase(&risk.metastable_risk, "never-recovered risk change"),
                GateKind::MaxP99Increase => {
                    let s = &load.p99_relative;
                    let half = s.se.map(|se| confidence.t(s.n - 1) * se);
                    let (low, high) = match (s.mean_diff, half) {
                        (Some(m), Some(h)) => (Some(m - h), Some(m + h)),
                        _ => (None, None),
                    };
                    let estimate = match (s.mean_diff, low, high) {
                        (Some(m), Some(l), Some(h)) => {
                            format!(
                                "p99 change {} [{}, {}] over {} paired seeds",
                                signed_percent(m),
                                signed_percent(l),
                                signed_percent(h),
                                s.n
                            )
                        }
                        _ => format!("p99 change unknown: {} paired seeds with an ok request (2 needed)", s.n),
                    };
                    let evidence = match (s.mean_diff, low, high) {
                        (Some(mean), Some(l), Some(h)) => {
                            Some(Evidence::Mean { mean, half: (h - l) / 2.0, pairs: s.n, seeds })
                        }
                        _ => None,
                    };
                    (s.mean_diff, low, high, estimate, evidence)
                }
            };
            let judged = Judged { value, low, high, estimate, evidence };
            let (verdict, reason, seeds_needed) = decide_gate(&judged, limit, kind, confidence);
            out.push(GateResult {
                gate: kind,
                load: load.name.clone(),
                limit,
                value,
                low,
                high,
                verdict,
                reason,
                seeds_needed,
            });
        }
    }
    out
}

/// How many of `n` seeds a proportion estimated over them counts (exact: p = k/n).
fn count_of(p: Proportion, n: u64) -> u64 {
    (p.p * n as f64).round() as u64
}

/// A gate's estimate on one load: the value compared with the limit, its interval, the
/// text that shows them, and what the interval was computed from.
struct Judged {
    value: Option<f64>,
    low: Option<f64>,
    high: Option<f64>,
    estimate: String,
    evidence: Option<Evidence>,
}

/// pass if the interval's upper end is at most the limit; fail if its lower end is
/// above it; otherwise inconclusive, with the fewest seeds whose interval, recomputed
/// from `evidence` (what was observed, held) at the same level, would pass or fail.
fn decide_gate(
    judged: &Judged,
    limit: f64,
    kind: GateKind,
    confidence: Confidence,
) -> (GateVerdict, String, Option<u64>) {
    let Judged { value, low, high, estimate, evidence } = judged;
    let show = |v: f64| match kind {
        GateKind::MaxP99Increase => signed_percent(v),
        GateKind::MaxSloRisk | GateKind::MaxMetastableRisk => percent(v),
        _ => format!("{:+.1} pp", v * 100.0),
    };
    let (&Some(value), &Some(low), &Some(high)) = (value, low, high) else {
        return (GateVerdict::Inconclusive, format!("{estimate}: cannot be judged"), None);
    };
    if high <= limit {
        return (GateVerdict::Pass, format!("{estimate}: upper end within the limit {}", show(limit)), None);
    }
    if low > limit {
        return (GateVerdict::Fail, format!("{estimate}: lower end above the limit {}", show(limit)), None);
    }
    // On the limit the interval narrows towards it but never leaves it.
    let on_limit = value == limit;
    let needed = if on_limit {
        None
    } else {
        evidence.and_then(|e| e.seeds_to_decide_at(confidence, |low, high| high <= limit || low > limit))
    };
    let hint = match needed {
        Some(n) => format!("about {n} seeds would decide"),
        None if on_limit => "the estimate sits on the limit: more seeds may not decide".to_string(),
        None => format!("more than {MAX_SEEDS_SEARCHED} seeds would be needed to decide"),
    };
    (GateVerdict::Inconclusive, format!("{estimate}: the interval straddles the limit {}; {hint}", show(limit)), needed)
}

pub(super) fn overall(gates: &[GateResult]) -> (GateVerdict, String, Option<u64>) {
    let total = gates.len();
    let failed = gates.iter().filter(|g| g.verdict == GateVerdict::Fail).count();
    let undecided: Vec<&GateResult> = gates.iter().filter(|g| g.verdict == GateVerdict::Inconclusive).collect();
    if total == 0 {
        return (
            GateVerdict::Ungated,
            "no gates set, so nothing was judged: add a [gates] table to the proposed scenario (e.g. \
             max_slo_risk_increase = 0.05) or pass --max-slo-risk, --max-slo-risk-increase, --max-p99-increase, \
             --max-metastable-risk or --max-metastable-risk-increase (--allow-ungated accepts an ungated compare)"
                .to_string(),
            None,
        );
    }
    if failed > 0 {
        return (GateVerdict::Fail, format!("fails {failed} of {total} gates"), None);
    }
    if undecided.is_empty() {
        return (GateVerdict::Pass, format!("passes all {total} gates"), None);
    }
    let needed =
        undecided.iter().map(|g| g.seeds_needed).collect::<Option<Vec<u64>>>().and_then(|v| v.into_iter().max());
    let message = match needed {
        Some(n) => format!("inconclusive: {} of {total} gates undecided; run about {n} seeds", undecided.len()),
        None => format!("inconclusive: {} of {total} gates undecided; more seeds may not decide them", undecided.len()),
    };
    (GateVerdict::Inconclusive, message, needed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::PairedSeed;
    use crate::compare::metrics::{Better, Diff, pair_load, paired_stat};
    use crate::stats::paired::{paired_risk_difference, t_975};
    use crate::stats::wilson;

    #[test]
    fn gates_decide_on_the_interval() {
        let judge = |v: f64, l: f64, h: f64, evidence: Option<Evidence>| Judged {
            value: Some(v),
            low: Some(l),
            high: Some(h),
            estimate: "x".to_string(),
            evidence,
        };
        let decide = |judged: &Judged, limit, kind| decide_gate(judged, limit, kind, Confidence::P95);
        let d = |v, l, h, limit| decide(&judge(v, l, h, None), limit, GateKind::MaxSloRisk).0;
        assert_eq!(d(0.01, 0.0, 0.04, 0.05), GateVerdict::Pass);
        assert_eq!(d(0.2, 0.1, 0.3, 0.05), GateVerdict::Fail);
        assert_eq!(d(0.05, 0.01, 0.15, 0.05), GateVerdict::Inconclusive);
        // 0 of 20 at a 5% gate: the Wilson upper end of 0 of n, z^2 / (n + z^2), is at
        // most 5% from n = 19 z^2 = 72.99 on, so 73 seeds (the normal approximation
        // said 52, where the upper end is still 6.9%).
        let evidence = Some(Evidence::Proportion { k: 0, n: 20 });
        let w = wilson(0, 20);
        let (_, reason, needed) = decide(&judge(w.p, w.low, w.high, evidence), 0.05, GateKind::MaxSloRisk);
        assert_eq!(needed, Some(73));
        assert!(reason.contains("about 73 seeds"), "{reason}");
        assert!(wilson(0, 73).high <= 0.05 && wilson(0, 72).high > 0.05);
        // On the limit no number of seeds decides.
        let w = wilson(1, 20);
        let on = decide(&judge(w.p, w.low, w.high, evidence), 0.05, GateKind::MaxSloRisk);
        assert_eq!(on.2, None);
        assert!(on.1.contains("sits on the limit"), "{}", on.1);
        // A hair off the limit: deciding would take more seeds than the search looks at.
        let near = Evidence::Mean { mean: 0.05 + 1e-9, half: 0.04, pairs: 20, seeds: 20 };
        assert_eq!(near.seeds_to_decide(|l, h| h <= 0.05 || l > 0.05), None);
        let (_, reason, _) = decide(&judge(0.05 + 1e-9, 0.01, 0.09, Some(near)), 0.05, GateKind::MaxP99Increase);
        assert!(reason.contains("more than 1000000000 seeds"), "{reason}");
    }

    /// A clean paired load over `seeds` seeds: nothing violated, nothing changed.
    fn clean_load(seeds: u64) -> (PairedLoad, LoadRiskDifferences) {
        let per_seed = (1..=seeds)
            .map(|seed| PairedSeed {
                seed,
                base_p99_ms: Some(10.0),
                proposed_p99_ms: Some(10.0),
                p99_ms_diff: Some(0.0),
                base_success_rate: 1.0,
                proposed_success_rate: 1.0,
                success_rate_diff: 0.0,
                base_goodput: 100.0,
                proposed_goodput: 100.0,
                goodput_diff: 0.0,
                base_recovery_s: Some(1.0),
                proposed_recovery_s: Some(1.0),
                recovery_s_diff: Some(0.0),
                base_amplification: 1.0,
                proposed_amplification: 1.0,
                amplification_diff: 0.0,
                base_slo_violated: false,
                proposed_slo_violated: false,
            })
            .collect();
        let never = vec![(false, false); seeds as usize];
        let risks = LoadRiskDifferences {
            name: "users".to_string(),
            slo_defined: true,
            slo_risk: paired_risk_difference(&never),
            metastable_risk: paired_risk_difference(&never),
            cascade_risk: paired_risk_difference(&never),
            path_cascade_risk: paired_risk_difference(&never),
        };
        (pair_load("users", per_seed, seeds, 1.0), risks)
    }

    /// Issue #12: 0 SLO violations in 8 seeds at a 20% gate said "run about 9 seeds",
    /// and 9 and 12 were still inconclusive. The Wilson upper end of 0 of n is
    /// z^2 / (n + z^2), at most 20% from n = 4 z^2 = 15.37 on: 16 seeds. Checked the way
    /// a user would: 15 clean seeds stay inconclusive, 16 pass.
    #[test]
    fn a_clean_sweep_at_a_20_percent_gate_needs_16_seeds() {
        let gates = Gates { max_slo_risk: Some(0.2), ..Gates::default() };
        let verdict_at = |seeds: u64| {
            let (load, risks) = clean_load(seeds);
            let results = evaluate_gates(&gates, &[load], &[risks], seeds, Judging::Fixed);
            let (verdict, message, needed) = overall(&results);
            (verdict, message, needed, results[0].seeds_needed)
        };
        let (verdict, message, needed, gate_needed) = verdict_at(8);
        assert_eq!(verdict, GateVerdict::Inconclusive);
        assert_eq!((needed, gate_needed), (Some(16), Some(16)));
        assert!(message.contains("run about 16 seeds"), "{message}");
        assert_eq!(verdict_at(15).0, GateVerdict::Inconclusive);
        assert_eq!(verdict_at(15).2, Some(16));
        assert_eq!(verdict_at(16).0, GateVerdict::Pass);
    }

    /// The p99 gate's t interval: a mean change of +15% with a half-width of 10 points
    /// over 6 pairs, against a 10% limit, fails once t(n-1) sd / sqrt(n) < 5 points.
    /// Checked with samples of exactly that mean and sd: the advised n fails the gate,
    /// one fewer is inconclusive.
    #[test]
    fn the_p99_gate_advice_uses_student_t() {
        let (mean, half, limit) = (0.15, 0.10, 0.10);
        let evidence = Evidence::Mean { mean, half, pairs: 6, seeds: 6 };
        let m = evidence.seeds_to_decide(|low, high| high <= limit || low > limit).unwrap();
        let sd = half * 6f64.sqrt() / t_975(5);
        // Differences of exactly this mean and sample sd over n pairs.
        let sample = |n: u64| -> Vec<(f64, f64)> {
            let centre = (n - 1) as f64 / 2.0;
            let spread = ((n * (n + 1)) as f64 / 12.0).sqrt();
            (0..n).map(|i| (1.0, 1.0 + mean + sd * (i as f64 - centre) / spread)).collect()
        };
        let verdict = |n: u64| {
            let s = paired_stat(&sample(n), n, Diff::Absolute, 0.01, Better::Lower);
            let judged =
                Judged { value: s.mean_diff, low: s.low, high: s.high, estimate: "p99".to_string(), evidence: None };
            decide_gate(&judged, limit, GateKind::MaxP99Increase, Confidence::P95).0
        };
        assert_eq!(verdict(m), GateVerdict::Fail, "m = {m}");
        assert_eq!(verdict(m - 1), GateVerdict::Inconclusive, "m = {m}");
        // The normal approximation, n (half / distance)^2 = 6 (0.10 / 0.05)^2 = 24,
        // overshoots.
        assert!(m < 24, "{m}");
    }
}

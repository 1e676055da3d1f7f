//! The paired metrics of one load: each seed's figures in both configs, and per
//! metric the paired t interval of the differences and a verdict against the metric's
//! practical margin.

use super::{
    AMPLIFICATION_MARGIN, GOODPUT_RELATIVE_MARGIN, MetricVerdict, P99_RELATIVE_MARGIN, PairedLoad, PairedSeed,
    PairedStat, RECOVERY_MARGIN_BUCKETS, RiskDifference, SUCCESS_RATE_MARGIN,
};
use crate::stats::paired::{Evidence, PairedT, mean, paired_t};
use crate::sweep::{SeedLoad, SweepResult};

/// Which way a metric improves.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Better {
    Lower,
    Higher,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Diff {
    /// proposed - base
    Absolute,
    /// proposed / base - 1
    Relative,
}

/// Seconds over which requests are counted: the run after warmup.
pub(super) fn measured_s(sweep: &SweepResult) -> f64 {
    let s = sweep.simulated_s - sweep.warmup_s;
    if s > 0.0 { s } else { sweep.simulated_s.max(f64::MIN_POSITIVE) }
}

pub(super) fn pair_seed(seed: u64, b: &SeedLoad, p: &SeedLoad, base_s: f64, proposed_s: f64) -> PairedSeed {
    let both = |x: Option<f64>, y: Option<f64>| x.zip(y).map(|(x, y)| y - x);
    let base_goodput = b.requests as f64 * b.success_rate / base_s;
    let proposed_goodput = p.requests as f64 * p.success_rate / proposed_s;
    PairedSeed {
        seed,
        base_p99_ms: b.p99_ms,
        proposed_p99_ms: p.p99_ms,
        p99_ms_diff: both(b.p99_ms, p.p99_ms),
        base_success_rate: b.success_rate,
        proposed_success_rate: p.success_rate,
        success_rate_diff: p.success_rate - b.success_rate,
        base_goodput,
        proposed_goodput,
        goodput_diff: proposed_goodput - base_goodput,
        base_recovery_s: b.recovery_s,
        proposed_recovery_s: p.recovery_s,
        recovery_s_diff: both(b.recovery_s, p.recovery_s),
        base_amplification: b.amplification,
        proposed_amplification: p.amplification,
        amplification_diff: p.amplification - b.amplification,
        base_slo_violated: b.slo_violated,
        proposed_slo_violated: p.slo_violated,
    }
}

pub(super) fn pair_load(name: &str, per_seed: Vec<PairedSeed>, seeds: u64, bucket_s: f64) -> PairedLoad {
    let pairs =
        |f: &dyn Fn(&PairedSeed) -> Option<(f64, f64)>| -> Vec<(f64, f64)> { per_seed.iter().filter_map(f).collect() };
    let p99 = pairs(&|s| s.base_p99_ms.zip(s.proposed_p99_ms));
    let p99_mean_base = mean(&p99.iter().map(|p| p.0).collect::<Vec<_>>()).unwrap_or(0.0);
    let ratios: Vec<(f64, f64)> = p99.iter().copied().filter(|(b, _)| *b > 0.0).collect();
    let success = pairs(&|s| Some((s.base_success_rate, s.proposed_success_rate)));
    let goodput = pairs(&|s| Some((s.base_goodput, s.proposed_goodput)));
    let goodput_mean_base = mean(&goodput.iter().map(|p| p.0).collect::<Vec<_>>()).unwrap_or(0.0);
    let recovery = pairs(&|s| s.base_recovery_s.zip(s.proposed_recovery_s));
    let amplification = pairs(&|s| Some((s.base_amplification, s.proposed_amplification)));
    PairedLoad {
        name: name.to_string(),
        p99_ms: paired_stat(&p99, seeds, Diff::Absolute, P99_RELATIVE_MARGIN * p99_mean_base, Better::Lower),
        p99_relative: paired_stat(&ratios, seeds, Diff::Relative, P99_RELATIVE_MARGIN, Better::Lower),
        success_rate: paired_stat(&success, seeds, Diff::Absolute, SUCCESS_RATE_MARGIN, Better::Higher),
        goodput: paired_stat(
            &goodput,
            seeds,
            Diff::Absolute,
            GOODPUT_RELATIVE_MARGIN * goodput_mean_base,
            Better::Higher,
        ),
        recovery_s: paired_stat(&recovery, seeds, Diff::Absolute, RECOVERY_MARGIN_BUCKETS * bucket_s, Better::Lower),
        amplification: paired_stat(&amplification, seeds, Diff::Absolute, AMPLIFICATION_MARGIN, Better::Lower),
        per_seed,
    }
}

/// Mean, standard error and 95% interval of the per-pair differences (the paired t
/// interval, [`paired_t`]), and the metric's verdict.
pub(super) fn paired_stat(pairs: &[(f64, f64)], seeds: u64, diff: Diff, margin: f64, better: Better) -> PairedStat {
    let n = pairs.len() as u64;
    let diffs: Vec<f64> = pairs
        .iter()
        .map(|&(b, p)| match diff {
            Diff::Absolute => p - b,
            Diff::Relative => p / b - 1.0,
        })
        .collect();
    let PairedT { mean: mean_diff, se, half } = paired_t(&diffs);
    let (base_mean, proposed_mean) = match diff {
        Diff::Absolute => {
            (mean(&pairs.iter().map(|p| p.0).collect::<Vec<_>>()), mean(&pairs.iter().map(|p| p.1).collect::<Vec<_>>()))
        }
        Diff::Relative => (None, None),
    };
    let (low, high) = match (mean_diff, half) {
        (Some(m), Some(h)) => (Some(m - h), Some(m + h)),
        _ => (None, None),
    };
    let (verdict, seeds_needed) = metric_verdict(low, high, half, margin, better, seeds, n);
    PairedStat {
        n,
        excluded: seeds - n,
        base_mean,
        proposed_mean,
        mean_diff,
        se,
        low,
        high,
        margin,
        verdict,
        seeds_needed,
        note: None,
    }
}

/// The verdict rules (see the module docs of the report for the wording):
/// - `better`/`worse`: the 95% interval excludes 0, on the good/bad side of the metric;
/// - `no detectable difference`: it contains 0 and its half-width is at most `margin`;
/// - `inconclusive`: otherwise, with the fewest seeds at which the interval, with the
///   observed mean and spread held, would be decided either way ([`Evidence::Mean`]).
///
/// `half` is the interval's half-width over `pairs` pairs, out of `seeds` seeds.
fn metric_verdict(
    low: Option<f64>,
    high: Option<f64>,
    half: Option<f64>,
    margin: f64,
    better: Better,
    seeds: u64,
    pairs: u64,
) -> (MetricVerdict, Option<u64>) {
    let (Some(low), Some(high), Some(half)) = (low, high, half) else {
        return (MetricVerdict::Inconclusive, None);
    };
    if low > 0.0 || high < 0.0 {
        let up = low > 0.0;
        let verdict = match (up, better) {
            (true, Better::Higher) | (false, Better::Lower) => MetricVerdict::Better,
            _ => MetricVerdict::Worse,
        };
        return (verdict, None);
    }
    if half <= margin {
        return (MetricVerdict::NoDetectableDifference, None);
    }
    let mean = (low + high) / 2.0;
    let evidence = Evidence::Mean { mean, half, pairs, seeds };
    (MetricVerdict::Inconclusive, evidence.seeds_to_decide(|l, h| l > 0.0 || h < 0.0 || (h - l) / 2.0 <= margin))
}

/// The recovery row, deciding first on the seeds where one config never recovered: a
/// seed that never recovers has the worst recovery there is (+infinity), not a missing
/// value. When the paired never-recovered difference (Newcombe, `never`) excludes 0,
/// the verdict is `worse` (the proposed config fails to recover on more seeds) or
/// `better`; when some seed recovered in one config only but the difference is not
/// decided, `inconclusive`; when no seed differs that way, the paired t interval over
/// the seeds where both recovered stands as computed.
pub(super) fn decide_recovery_on_never(stat: &mut PairedStat, never: &RiskDifference, seeds: u64) {
    let discordant = never.base_only + never.proposed_only;
    if discordant == 0 {
        return;
    }
    let basis = format!(
        "decided on never-recovered seeds: proposed {}/{seeds}, base {}/{seeds}, change {:+.1} pp [{:+.1}, {:+.1}]",
        (never.proposed.p * seeds as f64).round() as u64,
        (never.base.p * seeds as f64).round() as u64,
        never.diff * 100.0,
        never.low * 100.0,
        never.high * 100.0
    );
    stat.note = Some(basis);
    stat.seeds_needed = None;
    stat.verdict = if never.low > 0.0 {
        MetricVerdict::Worse
    } else if never.high < 0.0 {
        MetricVerdict::Better
    } else {
        let evidence = Evidence::PairedCounts {
            both: (never.base.p * seeds as f64).round() as u64 - never.base_only,
            base_only: never.base_only,
            proposed_only: never.proposed_only,
            neither: seeds - (never.base.p * seeds as f64).round() as u64 - never.proposed_only,
        };
        stat.seeds_needed = evidence.seeds_to_decide(|low, high| low > 0.0 || high < 0.0);
        MetricVerdict::Inconclusive
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::paired::t_975;

    /// The paired t interval of a hand-checked sample: differences 1, 2, 3, 4 have mean
    /// 2.5, sd sqrt(5/3), se 0.6455, and t(0.975, 3) = 3.1824, so [0.4457, 4.5543].
    #[test]
    fn paired_t_interval_by_hand() {
        let pairs = [(10.0, 11.0), (10.0, 12.0), (10.0, 13.0), (10.0, 14.0)];
        let s = paired_stat(&pairs, 4, Diff::Absolute, 0.5, Better::Lower);
        assert_eq!(s.mean_diff, Some(2.5));
        assert!((s.se.unwrap() - 0.645497).abs() < 1e-6);
        assert!((s.low.unwrap() - 0.445739).abs() < 1e-5 && (s.high.unwrap() - 4.554261).abs() < 1e-5);
        assert_eq!(s.verdict, MetricVerdict::Worse);
        let s = paired_stat(&pairs, 4, Diff::Absolute, 0.5, Better::Higher);
        assert_eq!(s.verdict, MetricVerdict::Better);
        let s = paired_stat(&pairs, 4, Diff::Relative, 0.5, Better::Lower);
        assert!((s.mean_diff.unwrap() - 0.25).abs() < 1e-12);
        assert_eq!((s.base_mean, s.proposed_mean), (None, None));
    }

    /// The verdict rules: an interval across 0 is "no detectable difference" only when
    /// it is within the margin; otherwise inconclusive, with the seeds whose t interval
    /// would be: +-0.04 over 10 pairs is sd 0.04 sqrt(10) / t(9) = 0.0559, and
    /// t(n-1) 0.0559 / sqrt(n) first reaches 0.02 at n = 33 (t(32) = 2.0369), not at 32
    /// (t(31) = 2.0395). The normal approximation, 10 (0.04 / 0.02)^2, said 40.
    #[test]
    fn verdicts_follow_the_margin() {
        let v = |low, high, margin| {
            metric_verdict(Some(low), Some(high), Some((high - low) / 2.0), margin, Better::Lower, 10, 10)
        };
        assert_eq!(v(-0.01, 0.01, 0.02), (MetricVerdict::NoDetectableDifference, None));
        assert_eq!(v(-0.04, 0.04, 0.02), (MetricVerdict::Inconclusive, Some(33)));
        let sd = 0.04 * 10f64.sqrt() / t_975(9);
        assert!(t_975(32) * sd / 33f64.sqrt() <= 0.02 && t_975(31) * sd / 32f64.sqrt() > 0.02);
        assert_eq!(v(0.01, 0.03, 0.02).0, MetricVerdict::Worse);
        assert_eq!(v(-0.03, -0.01, 0.02).0, MetricVerdict::Better);
        // An interval that will exclude 0 before it is as narrow as the margin: decided
        // (worse) as soon as the half-width drops below the mean of 0.03.
        let (verdict, needed) = v(-0.01, 0.07, 0.005);
        let sd = 0.04 * 10f64.sqrt() / t_975(9);
        let n = needed.unwrap();
        assert_eq!(verdict, MetricVerdict::Inconclusive);
        assert!(t_975(n - 1) * sd / (n as f64).sqrt() < 0.03 && t_975(n - 2) * sd / ((n - 1) as f64).sqrt() >= 0.03);
        // Pairs are converted to seeds at the observed share: 10 pairs of 20 seeds need
        // 33 pairs, so 66 seeds.
        let (_, needed) = metric_verdict(Some(-0.04), Some(0.04), Some(0.04), 0.02, Better::Lower, 20, 10);
        assert_eq!(needed, Some(66));
        assert_eq!(metric_verdict(None, None, None, 0.02, Better::Lower, 1, 1), (MetricVerdict::Inconclusive, None));
        // One pair: no spread, no interval, inconclusive.
        let s = paired_stat(&[(1.0, 1.0)], 1, Diff::Absolute, 0.1, Better::Lower);
        assert_eq!((s.se, s.verdict), (None, MetricVerdict::Inconclusive));
    }
}

//! Paired statistics: two configurations measured on the same seeds and compared seed
//! by seed. The paired t interval of a mean difference (Student t quantiles, tabulated
//! and then by the Cornish-Fisher expansion), Newcombe's interval for a difference of
//! paired proportions, and the fewest seeds at which such an interval, or a Wilson
//! one, would be decided ([`Evidence`]). `compare` judges with them.

use super::confidence::Confidence;
use super::risk::{Proportion, Z_95, wilson, wilson_z};
use serde::Serialize;

/// Mean summed in the order given (seed order), so the same values give the same bits.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The paired t interval of per-pair differences: their mean, its standard error and
/// the half-width of its 95% interval, mean +- t(0.975, n-1) * sd / sqrt(n).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct PairedT {
    /// `None` without pairs.
    pub mean: Option<f64>,
    /// Sample sd / sqrt n; `None` below 2 pairs.
    pub se: Option<f64>,
    /// t(0.975, n-1) x `se`; `None` below 2 pairs.
    pub half: Option<f64>,
}

/// The paired t interval of `diffs`, the per-pair differences (Student 1908; e.g. D. C.
/// Montgomery and G. C. Runger, "Applied Statistics and Probability for Engineers",
/// section 10-4, "Paired t-test"). It needs at least 2 pairs. When every pair is equal
/// the differences are exactly 0 and so are the mean, the standard error and the
/// half-width.
pub fn paired_t(diffs: &[f64]) -> PairedT {
    let n = diffs.len() as u64;
    let mean = mean(diffs);
    let se = match mean {
        Some(m) if n >= 2 => {
            let ss: f64 = diffs.iter().map(|d| (d - m) * (d - m)).sum();
            Some((ss / (n - 1) as f64).sqrt() / (n as f64).sqrt())
        }
        _ => None,
    };
    let half = se.map(|se| t_975(n - 1) * se);
    PairedT { mean, se, half }
}

/// The 0.975 quantile of Student's t distribution with `df` degrees of freedom: the
/// multiplier of a two-sided 95% interval.
///
/// For df <= 30 the exact values, as tabulated (e.g. M. Abramowitz and I. A. Stegun,
/// "Handbook of Mathematical Functions", Table 26.10, to the digits printed here);
/// above, the Cornish-Fisher expansion of A&S 26.7.5 in powers of 1/df around the
/// normal quantile, whose error is below 1e-6 from df = 30 on. `df = 0` gives infinity.
pub fn t_975(df: u64) -> f64 {
    const TABLE: [f64; 30] = [
        12.706204736,
        4.302652730,
        3.182446305,
        2.776445105,
        2.570581836,
        2.446911851,
        2.364624252,
        2.306004135,
        2.262157163,
        2.228138852,
        2.200985160,
        2.178812830,
        2.160368656,
        2.144786688,
        2.131449546,
        2.119905299,
        2.109815578,
        2.100922040,
        2.093024054,
        2.085963447,
        2.079613845,
        2.073873068,
        2.068657610,
        2.063898562,
        2.059538553,
        2.055529439,
        2.051830516,
        2.048407142,
        2.045229642,
        2.042272456,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df as usize - 1],
        _ => cornish_fisher_t(Z_95, df as f64),
    }
}

/// A&S 26.7.5: t_p(v) = x + g1(x)/v + g2(x)/v^2 + g3(x)/v^3 + g4(x)/v^4, x = z_p.
pub(super) fn cornish_fisher_t(x: f64, v: f64) -> f64 {
    let x2 = x * x;
    let g1 = (x2 + 1.0) * x / 4.0;
    let g2 = ((5.0 * x2 + 16.0) * x2 + 3.0) * x / 96.0;
    let g3 = (((3.0 * x2 + 19.0) * x2 + 17.0) * x2 - 15.0) * x / 384.0;
    let g4 = ((((79.0 * x2 + 776.0) * x2 + 1482.0) * x2 - 1920.0) * x2 - 945.0) * x / 92160.0;
    x + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v)
}

/// A risk in both configs (95% Wilson intervals) and proposed minus base, paired.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RiskDifference {
    pub base: Proportion,
    pub proposed: Proportion,
    /// Seeds where only the base config had the event.
    pub base_only: u64,
    /// Seeds where only the proposed config had the event.
    pub proposed_only: u64,
    /// Proposed minus base, with its 95% interval ([`paired_risk_difference`]).
    pub diff: f64,
    pub low: f64,
    pub high: f64,
}

/// Proposed minus base of a risk, from each seed's pair of indicators `(base, proposed)`,
/// with a 95% interval for the difference of paired proportions.
///
/// Method: R. G. Newcombe, "Improving the confidence intervals for the difference
/// between binomial proportions based on paired data", Statistics in Medicine 17 (1998)
/// 2635-2650, method 10 (the Wilson score intervals of both proportions combined with
/// the phi correlation of the pairs, no continuity correction). With a = both, b = base
/// only, c = proposed only, d = neither, D = (c - b)/n, and (l1, u1), (l2, u2) the
/// Wilson intervals of the proposed and base risks:
/// `L = D - sqrt((p1-l1)^2 - 2 phi (p1-l1)(u2-p2) + (u2-p2)^2)`,
/// `U = D + sqrt((u1-p1)^2 - 2 phi (u1-p1)(p2-l2) + (p2-l2)^2)`,
/// phi = (ad - bc) / sqrt((a+b)(c+d)(a+c)(b+d)), 0 when that product is 0.
///
/// One deliberate departure: with no discordant seed (b = c = 0) the configs agreed on
/// every seed, every per-seed difference is 0, and the interval is [0, 0], as the paired
/// t interval of the other metrics is when all differences are 0 (method 10 would keep
/// a small width there from the asymmetry of the Wilson intervals). Such a result says
/// the change never flipped this outcome on these seeds, not that the risk is small:
/// the absolute gates (`max_slo_risk`, `max_metastable_risk`) bound that with the
/// proposed config's own Wilson interval.
pub fn paired_risk_difference(pairs: &[(bool, bool)]) -> RiskDifference {
    let count = |f: &dyn Fn(bool, bool) -> bool| pairs.iter().filter(|&&(b, p)| f(b, p)).count() as u64;
    let a = count(&|b, p| b && p);
    let base_only = count(&|b, p| b && !p);
    let proposed_only = count(&|b, p| !b && p);
    let d = count(&|b, p| !b && !p);
    let n = pairs.len() as u64;
    let base = wilson(a + base_only, n);
    let proposed = wilson(a + proposed_only, n);
    if n == 0 {
        return RiskDifference { base, proposed, base_only, proposed_only, diff: 0.0, low: -1.0, high: 1.0 };
    }
    let (diff, low, high) = newcombe([a, base_only, proposed_only, d].map(|c| c as f64), Confidence::P95);
    RiskDifference { base, proposed, base_only, proposed_only, diff, low, high }
}

/// [`paired_risk_difference`] from the counts of its 2 x 2 table, (difference, low,
/// high) at the level `confidence`: a = both, b = base only, c = proposed only, d =
/// neither, not all 0. The counts may be fractional, for the search of
/// [`Evidence::PairedCounts`].
pub fn newcombe(counts: [f64; 4], confidence: Confidence) -> (f64, f64, f64) {
    let [_, b, c, _] = counts;
    if b == 0.0 && c == 0.0 {
        return (0.0, 0.0, 0.0);
    }
    newcombe_method_10(counts, confidence)
}

/// Newcombe's method 10 as published, without [`newcombe`]'s departure: with no
/// discordant seed the interval keeps the width of the two Wilson intervals (0 of n
/// seeds in both configs gives [-u, u], u = z^2 / (n + z^2)). A sequential `compare`
/// judges risk increases with it, since [0, 0] is no bound on the true increase: a
/// change that flips 5% of seeds shows no flip in 10 seeds 60% of the time.
pub fn newcombe_method_10([a, b, c, d]: [f64; 4], confidence: Confidence) -> (f64, f64, f64) {
    let n = a + b + c + d;
    let diff = (c - b) / n;
    let product = (a + b) * (c + d) * (a + c) * (b + d);
    let phi = if product > 0.0 { (a * d - b * c) / product.sqrt() } else { 0.0 };
    let z = confidence.z();
    let proposed = wilson_z((a + c) / n, n, z);
    let base = wilson_z((a + b) / n, n, z);
    let (p1, l1, u1) = (proposed.p, proposed.low, proposed.high);
    let (p2, l2, u2) = (base.p, base.low, base.high);
    let delta = ((p1 - l1).powi(2) - 2.0 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2).powi(2)).max(0.0).sqrt();
    let epsilon = ((u1 - p1).powi(2) - 2.0 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2).powi(2)).max(0.0).sqrt();
    (diff, (diff - delta).max(-1.0), (diff + epsilon).min(1.0))
}

/// The most seeds the search for the seeds that would decide looks at (the CLI runs at
/// most 1,000,000); past it, more seeds are taken not to decide.
pub const MAX_SEEDS_SEARCHED: u64 = 1_000_000_000;

/// What an interval was computed from: enough to recompute it, by the same method, for
/// more seeds, assuming what was observed holds.
///
/// [`Evidence::seeds_to_decide`] searches the fewest seeds n' > n whose interval
/// satisfies a decision rule. The observed *rates* are held exactly, counts scaled to
/// n'/n of themselves and left fractional: rounding them to whole seeds would make the
/// interval jump by a seed's worth between neighbouring n' (so a larger n' could undecide
/// a gate a smaller one decided), while fractional counts give intervals that narrow
/// monotonically towards the estimate, so the first deciding n' is the answer and every
/// larger n' decides too. Where the observed count is 0 or every seed (0 of 8 violated
/// the SLO) the scaled count is exact: 0 of n' and n' of n'.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Evidence {
    /// A risk of one config, `k` of `n` seeds: its Wilson interval ([`wilson_at`](super::risk::wilson_at) at the
    /// share k/n over n' seeds).
    Proportion { k: u64, n: u64 },
    /// A paired risk difference from its 2 x 2 counts (`both`, `base_only`,
    /// `proposed_only`, `neither`): Newcombe's interval ([`paired_risk_difference`]) of
    /// the four counts scaled by n'/n. The correlation phi and the difference are
    /// unchanged by the scaling; only the Wilson widths shrink. Monotone on every
    /// 2 x 2 table of up to 24 seeds at the usual limits (checked numerically, and on a
    /// smaller grid by a unit test); the search relies on it.
    PairedCounts { both: u64, base_only: u64, proposed_only: u64, neither: u64 },
    /// A paired t interval, mean +- half over `pairs` pairs of `seeds` seeds (`half` at
    /// the level the search is run at): the
    /// half-width at n' pairs is t(0.975, n'-1) sd / sqrt(n') with the sample sd held,
    /// Student's t rather than the normal approximation (which undercounts at small n').
    /// Pairs are converted to seeds at the observed share of seeds with a pair (seeds
    /// without an ok request or a recovery drop out of p99 or recovery pairs).
    Mean { mean: f64, half: f64, pairs: u64, seeds: u64 },
}

impl Evidence {
    /// The fewest seeds n' > n for which `decided(low, high)` holds of the interval
    /// recomputed at n' (see [`Evidence`]); `None` when no n' up to
    /// [`MAX_SEEDS_SEARCHED`] does, as when the estimate sits exactly on a limit: the
    /// interval narrows towards it but always straddles it.
    pub fn seeds_to_decide(self, decided: impl Fn(f64, f64) -> bool) -> Option<u64> {
        self.seeds_to_decide_at(Confidence::P95, decided)
    }

    /// [`Evidence::seeds_to_decide`] with every interval at the level `confidence`.
    pub fn seeds_to_decide_at(self, confidence: Confidence, decided: impl Fn(f64, f64) -> bool) -> Option<u64> {
        let z = confidence.z();
        match self {
            Evidence::Proportion { k, n } => {
                if n == 0 {
                    return None;
                }
                let p = k as f64 / n as f64;
                first_deciding(n + 1, |m| {
                    let w = wilson_z(p, m as f64, z);
                    decided(w.low, w.high)
                })
            }
            Evidence::PairedCounts { both, base_only, proposed_only, neither } => {
                let n = both + base_only + proposed_only + neither;
                if n == 0 {
                    return None;
                }
                let counts = [both, base_only, proposed_only, neither].map(|c| c as f64);
                first_deciding(n + 1, |m| {
                    // Method 10 as published: the same as `newcombe` with a discordant
                    // seed, and with none it narrows with the seeds instead of staying
                    // [0, 0] (a fixed-seed gate is decided by [0, 0] and never searches).
                    let (_, low, high) = newcombe_method_10(counts.map(|x| x * (m as f64 / n as f64)), confidence);
                    decided(low, high)
                })
            }
            Evidence::Mean { mean, half, pairs, seeds } => {
                if pairs < 2 || !(mean.is_finite() && half.is_finite()) {
                    return None;
                }
                // The sample sd, from half = t(n-1) sd / sqrt(n).
                let sd = half * (pairs as f64).sqrt() / confidence.t(pairs - 1);
                let needed = first_deciding(pairs + 1, |m| {
                    let h = confidence.t(m - 1) * sd / (m as f64).sqrt();
                    decided(mean - h, mean + h)
                })?;
                if pairs >= seeds {
                    return Some(needed);
                }
                let scaled = (u128::from(needed) * u128::from(seeds)).div_ceil(u128::from(pairs));
                u64::try_from(scaled).ok().map(|s| s.max(seeds + 1))
            }
        }
    }
}

/// The smallest m in `from..=MAX_SEEDS_SEARCHED` with `decides(m)`, for a `decides`
/// that stays true once true (see [`Evidence`]): doubling until it holds, then
/// bisecting, so about 2 log2(m) evaluations.
fn first_deciding(from: u64, decides: impl Fn(u64) -> bool) -> Option<u64> {
    if from > MAX_SEEDS_SEARCHED {
        return None;
    }
    if decides(from) {
        return Some(from);
    }
    // Invariant: decides(low) is false, decides(high) is true.
    let mut low = from;
    let mut high = loop {
        let next = low.saturating_mul(2).min(MAX_SEEDS_SEARCHED);
        if decides(next) {
            break next;
        }
        if next == MAX_SEEDS_SEARCHED {
            return None;
        }
        low = next;
    };
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if decides(mid) {
            high = mid;
        } else {
            low = mid;
        }
    }
    Some(high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::risk::wilson_at;

    /// The table and the Cornish-Fisher expansion agree where they meet (df = 30, to
    /// 1e-4: the expansion is the weaker of the two at small df), and at large df the
    /// quantile tends to the normal one. Reference values for df = 40, 60, 120 are the
    /// printed t tables' 2.0211, 2.0003, 1.9799.
    #[test]
    fn t_quantile_matches_tables() {
        assert!((cornish_fisher_t(Z_95, 30.0) - t_975(30)).abs() < 1e-4);
        for (df, want) in [(40, 2.0211), (60, 2.0003), (120, 1.9799)] {
            assert!((t_975(df) - want).abs() < 1e-4, "t_975({df}) = {}", t_975(df));
        }
        assert!((t_975(1_000_000) - Z_95).abs() < 1e-5);
        assert_eq!(t_975(0), f64::INFINITY);
        assert_eq!(t_975(1), 12.706204736);
        // Decreasing in df.
        assert!((1..200).all(|df| t_975(df + 1) < t_975(df)));
    }

    /// Newcombe's method 10: the interval holds the estimate, stays in [-1, 1], is
    /// exactly [0, 0] without discordant seeds, and mirrors when the configs swap.
    #[test]
    fn paired_risk_difference_properties() {
        let same = vec![(true, true); 5].into_iter().chain(vec![(false, false); 15]).collect::<Vec<_>>();
        let r = paired_risk_difference(&same);
        assert_eq!((r.diff, r.low, r.high), (0.0, 0.0, 0.0));
        let mut worse = same.clone();
        worse[10] = (false, true);
        worse[11] = (false, true);
        worse[12] = (false, true);
        let r = paired_risk_difference(&worse);
        assert_eq!((r.proposed_only, r.base_only), (3, 0));
        assert!((r.diff - 0.15).abs() < 1e-12);
        assert!(r.low < r.diff && r.diff < r.high && r.low >= -1.0 && r.high <= 1.0, "{r:?}");
        let swapped: Vec<(bool, bool)> = worse.iter().map(|&(b, p)| (p, b)).collect();
        let s = paired_risk_difference(&swapped);
        assert!((s.low + r.high).abs() < 1e-12 && (s.high + r.low).abs() < 1e-12);
        // Every seed flips: the lower end is far above 0 even with 10 seeds.
        let all = paired_risk_difference(&[(false, true); 10]);
        assert_eq!(all.diff, 1.0);
        assert!(all.low > 0.6 && all.high == 1.0, "{all:?}");
        let none = paired_risk_difference(&[]);
        assert_eq!((none.low, none.high), (-1.0, 1.0));
    }

    /// A proportion k of n held: the advised n' decides and n' - 1 does not, for every
    /// k of n up to 30 at a few limits, both ways (pass below the limit, fail above).
    #[test]
    fn the_advised_seeds_are_the_first_that_decide_a_wilson_gate() {
        for n in 1..=30u64 {
            for k in 0..=n {
                let p = k as f64 / n as f64;
                for limit in [0.01, 0.05, 0.1, 0.2, 0.5] {
                    let rule = |low: f64, high: f64| high <= limit || low > limit;
                    let w = wilson(k, n);
                    if rule(w.low, w.high) || p == limit {
                        continue;
                    }
                    let m = Evidence::Proportion { k, n }.seeds_to_decide(rule).expect("off the limit");
                    let at = wilson_at(p, m as f64);
                    let before = wilson_at(p, (m - 1) as f64);
                    assert!(rule(at.low, at.high), "{k}/{n} at {limit}: {m}");
                    assert!(m == n + 1 || !rule(before.low, before.high), "{k}/{n} at {limit}: {m}");
                }
            }
        }
    }

    /// The paired risk difference, scaled: for every 2 x 2 table of up to 12 seeds, the
    /// decision stays made once made as the counts grow (what the bisection relies on),
    /// and the advised n' is the first that decides.
    #[test]
    fn paired_risk_gates_are_monotone_in_the_seeds() {
        for n in 2..=12u64 {
            for a in 0..=n {
                for b in 0..=n - a {
                    for c in 0..=n - a - b {
                        let d = n - a - b - c;
                        let scaled = |m: u64| {
                            let s = m as f64 / n as f64;
                            newcombe([a, b, c, d].map(|x| x as f64 * s), Confidence::P95)
                        };
                        for limit in [0.0, 0.02, 0.05, 0.1, 0.2] {
                            let rule = |low: f64, high: f64| high <= limit || low > limit;
                            let decided: Vec<bool> = (n..400)
                                .map(|m| {
                                    let (_, low, high) = scaled(m);
                                    rule(low, high)
                                })
                                .collect();
                            let first = decided.iter().position(|&x| x);
                            if let Some(i) = first {
                                assert!(decided[i..].iter().all(|&x| x), "{a} {b} {c} {d} at {limit}");
                            }
                            let evidence =
                                Evidence::PairedCounts { both: a, base_only: b, proposed_only: c, neither: d };
                            if first.is_some_and(|i| i > 0) {
                                let want = n + first.unwrap() as u64;
                                assert_eq!(evidence.seeds_to_decide(rule), Some(want), "{a} {b} {c} {d} at {limit}");
                            }
                        }
                    }
                }
            }
        }
        // With pairs: 3 of 10 seeds worse, none better, at a 5 pp gate on the increase.
        let mut pairs = vec![(false, false); 10];
        pairs[..3].fill((false, true));
        let r = paired_risk_difference(&pairs);
        let rule = |low: f64, high: f64| high <= 0.05 || low > 0.05;
        assert!(!rule(r.low, r.high), "{r:?}");
        let evidence = Evidence::PairedCounts { both: 0, base_only: 0, proposed_only: 3, neither: 7 };
        let m = evidence.seeds_to_decide(rule).unwrap();
        // At a multiple of 10 the scaled counts are whole seeds: 3 in 10 worse decides at
        // the first multiple of 10 at or after m, and not at the one before it.
        let whole = |m: u64| {
            let mut pairs = vec![(false, false); m as usize];
            pairs[..(3 * m / 10) as usize].fill((false, true));
            let r = paired_risk_difference(&pairs);
            rule(r.low, r.high)
        };
        let up = m.div_ceil(10) * 10;
        assert!(whole(up), "m = {m}");
        assert!(up - 10 == 10 || !whole(up - 10), "m = {m}");
        assert!(!whole(10));
    }
}

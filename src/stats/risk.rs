//! Risk estimates across seeds: proportions with 95% Wilson score intervals, and
//! quantile summaries (distributions) of per-seed figures.

use serde::Serialize;

/// The 0.975 quantile of the standard normal distribution: a two-sided 95% interval.
pub const Z_95: f64 = 1.959963984540054;

/// A proportion estimated from `n` independent seeds, with its 95% interval.
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct Proportion {
    /// The observed share, successes / n (0 when n = 0).
    pub p: f64,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end of the 95% interval.
    pub high: f64,
}

/// The 95% Wilson score interval for `successes` out of `n` independent trials.
///
/// Source: E. B. Wilson, "Probable inference, the law of succession, and statistical
/// inference", JASA 22 (1927) 209-212; recommended over the Wald interval by
/// A. Agresti and B. A. Coull, "Approximate is better than 'exact' for interval
/// estimation of binomial proportions", The American Statistician 52 (1998) 119-126,
/// and R. G. Newcombe, "Two-sided confidence intervals for the single proportion:
/// comparison of seven methods", Statistics in Medicine 17 (1998) 857-872 (method 3,
/// without continuity correction). Unlike the Wald interval it never leaves [0, 1] and
/// does not collapse to a point at 0 or n successes, which is exactly where a sweep's
/// risks usually sit: 0 of 64 seeds failed still leaves an upper bound of 5.7%.
///
/// With p = x/n and z = 1.96:
/// `(p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`.
/// The ends are exactly 0 at x = 0 and exactly 1 at x = n. With n = 0 nothing is known:
/// p = 0 and the interval is [0, 1].
pub fn wilson(successes: u64, n: u64) -> Proportion {
    assert!(successes <= n, "wilson: {successes} successes out of {n} trials");
    if n == 0 {
        return Proportion { p: 0.0, low: 0.0, high: 1.0 };
    }
    // successes / n is exactly 0 only for 0 successes, and exactly 1 only for n (below
    // 2^52 trials the largest share short of 1, 1 - 1/n, is a different double).
    wilson_at(successes as f64 / n as f64, n as f64)
}

/// The 95% Wilson score interval of a share `p` observed over `n` trials, `n` not
/// necessarily whole: what [`wilson`] would give if the share held over `n` seeds.
/// `compare` uses it to search for the seeds that would decide a gate.
///
/// At a fixed `p` the interval narrows monotonically towards `p` as `n` grows: its
/// ends are the roots of `n (x - p)^2 = z^2 x (1 - x)`, and a larger `n` raises the
/// left side everywhere but at `p`. `n` must be positive.
pub fn wilson_at(p: f64, n: f64) -> Proportion {
    wilson_z(p, n, Z_95)
}

/// [`wilson_at`] with the normal quantile `z` of another level in place of 1.96 (see
/// `stats::confidence`).
pub fn wilson_z(p: f64, n: f64, z: f64) -> Proportion {
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = z / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let low = if p == 0.0 { 0.0 } else { (centre - half).clamp(0.0, p) };
    let high = if p == 1.0 { 1.0 } else { (centre + half).clamp(p, 1.0) };
    Proportion { p, low, high }
}

/// A summary of one figure across seeds (e.g. each seed's p99).
///
/// Quantiles interpolate linearly between order statistics: the q-quantile of the
/// sorted values x[0..n] is x[h] + (h - floor h)(x[h+1] - x[h]) with h = (n - 1) q,
/// "type 7" of R. J. Hyndman and Y. Fan, "Sample quantiles in statistical packages",
/// The American Statistician 50 (1996) 361-365, the default of R and NumPy, so a
/// notebook that recomputes them from `runs` gets the same numbers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Distribution {
    /// How many values (seeds) it summarises.
    pub n: u64,
    pub min: f64,
    pub p5: f64,
    pub p25: f64,
    pub median: f64,
    pub p75: f64,
    pub p95: f64,
    pub max: f64,
    pub mean: f64,
}

impl Distribution {
    /// Summarises `values`, ignoring NaNs; `None` if nothing is left.
    ///
    /// The mean is summed in the order given, so the same values in the same (seed)
    /// order give the same bits.
    pub fn of(values: &[f64]) -> Option<Distribution> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        if sorted.is_empty() {
            return None;
        }
        let mean = values.iter().filter(|v| !v.is_nan()).sum::<f64>() / sorted.len() as f64;
        sorted.sort_by(f64::total_cmp);
        Some(Distribution {
            n: sorted.len() as u64,
            min: sorted[0],
            p5: quantile_sorted(&sorted, 0.05),
            p25: quantile_sorted(&sorted, 0.25),
            median: quantile_sorted(&sorted, 0.5),
            p75: quantile_sorted(&sorted, 0.75),
            p95: quantile_sorted(&sorted, 0.95),
            max: sorted[sorted.len() - 1],
            mean,
        })
    }
}

/// The q-quantile of ascending `sorted` values by linear interpolation (Hyndman and Fan
/// type 7, see [`Distribution`]). `sorted` must not be empty.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty(), "quantile of no values");
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = h - lo as f64;
    if frac == 0.0 { sorted[lo] } else { sorted[lo] + frac * (sorted[hi] - sorted[lo]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round4(x: f64) -> f64 {
        (x * 1e4).round() / 1e4
    }

    /// Newcombe (1998), Table II, method 3 (Wilson score, no continuity correction),
    /// to the 4 decimals printed there; the x = 0 and x = 1 of 10 rows are the same
    /// formula, cross-checked with an independent Python evaluation of it.
    #[test]
    fn wilson_matches_published_intervals() {
        for (x, n, low, high) in [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
            (1, 29, 0.0061, 0.1718),
            (29, 29, 0.8830, 1.0),
            (0, 10, 0.0, 0.2775),
            (1, 10, 0.0179, 0.4042),
        ] {
            let w = wilson(x, n);
            assert_eq!((round4(w.low), round4(w.high)), (low, high), "wilson({x}, {n}) = {w:?}");
            assert_eq!(w.p, x as f64 / n as f64);
        }
    }

    #[test]
    fn wilson_edges() {
        assert_eq!(wilson(0, 0), Proportion { p: 0.0, low: 0.0, high: 1.0 });
        let none = wilson(0, 64);
        assert_eq!((none.p, none.low), (0.0, 0.0));
        assert!(none.high > 0.0 && none.high < 0.06);
        let all = wilson(64, 64);
        assert_eq!((all.p, all.high), (1.0, 1.0));
        assert!(all.low > 0.94);
        // The interval is symmetric under swapping successes and failures.
        let a = wilson(7, 40);
        let b = wilson(33, 40);
        assert!((a.low - (1.0 - b.high)).abs() < 1e-12 && (a.high - (1.0 - b.low)).abs() < 1e-12);
    }

    #[test]
    fn distribution_interpolates_like_r_type_7() {
        // R: quantile(1:10, c(.05, .25, .5, .75, .95)) = 1.45 3.25 5.50 7.75 9.55
        let d = Distribution::of(&[10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]).unwrap();
        assert_eq!(d.n, 10);
        assert_eq!((d.min, d.max, d.mean), (1.0, 10.0, 5.5));
        for (got, want) in [(d.p5, 1.45), (d.p25, 3.25), (d.median, 5.5), (d.p75, 7.75), (d.p95, 9.55)] {
            assert!((got - want).abs() < 1e-12, "{got} != {want}");
        }
        let one = Distribution::of(&[3.0]).unwrap();
        assert_eq!((one.p5, one.median, one.p95), (3.0, 3.0, 3.0));
        assert!(Distribution::of(&[]).is_none());
        assert!(Distribution::of(&[f64::NAN]).is_none());
    }
}

//! Confidence levels other than 95%: the normal and Student t quantiles a two-sided
//! interval at any level needs. A sequential `compare` (`stats::sequential`) judges
//! each look at the level its share of the error rate allows, so its intervals are
//! wider than 95% ones; a fixed-seed `compare` uses [`Confidence::P95`], whose
//! quantiles are the tabulated ones of `stats::risk` and `stats::paired`.

use super::paired::{cornish_fisher_t, t_975};
use super::risk::Z_95;

/// A two-sided confidence level, given by its miss rate `alpha`: the interval misses
/// the truth with probability at most `alpha`, at most `alpha / 2` on each side.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Confidence {
    alpha: f64,
}

impl Confidence {
    /// 95%: the level of every interval of a fixed-seed run.
    pub const P95: Confidence = Confidence { alpha: 0.05 };

    /// The level that misses with probability `alpha` (0 < alpha < 1).
    pub fn two_sided(alpha: f64) -> Confidence {
        assert!(alpha > 0.0 && alpha < 1.0, "a miss rate is in (0, 1), got {alpha}");
        Confidence { alpha }
    }

    /// The two-sided miss rate.
    pub fn alpha(self) -> f64 {
        self.alpha
    }

    /// The normal quantile at 1 - alpha/2: Wilson's and Newcombe's multiplier.
    pub fn z(self) -> f64 {
        if self == Confidence::P95 { Z_95 } else { normal_upper_quantile(self.alpha / 2.0) }
    }

    /// Student's t quantile at 1 - alpha/2 with `df` degrees of freedom (infinite at 0):
    /// the paired t interval's multiplier.
    pub fn t(self, df: u64) -> f64 {
        if self == Confidence::P95 { t_975(df) } else { t_upper_quantile(self.alpha / 2.0, df) }
    }
}

/// The t with P(T > t) = q for Student's t with `df` degrees of freedom, 0 < q < 1/2
/// (infinite at df = 0).
pub fn t_upper_quantile(q: f64, df: u64) -> f64 {
    match df {
        0 => f64::INFINITY,
        // The finite series is exact; above, the expansion's error is far below what a
        // decision could notice (its terms fall as 1/df^5).
        1..=EXACT_T_DF_MAX => upper_quantile(q, |x| t_upper_tail(x, df)),
        _ => cornish_fisher_t(normal_upper_quantile(q), df as f64),
    }
}

/// Up to this many degrees of freedom the t quantile is found from the exact series.
const EXACT_T_DF_MAX: u64 = 1000;

/// The x with P(Z > x) = q for a standard normal Z, 0 < q < 1: the complementary
/// error function (`libm::erfc`, accurate to a few ulp), P(Z > x) = erfc(x / sqrt 2) / 2,
/// inverted by bisection.
pub fn normal_upper_quantile(q: f64) -> f64 {
    upper_quantile(q, |x| 0.5 * libm::erfc(x / std::f64::consts::SQRT_2))
}

/// P(T > t) for Student's t with `df` degrees of freedom, t >= 0, from the finite
/// series of M. Abramowitz and I. A. Stegun, "Handbook of Mathematical Functions",
/// 26.7.3 (odd df) and 26.7.4 (even df) for A(t | df) = P(|T| <= t), with
/// theta = atan(t / sqrt df):
/// - odd: A = 2/pi (theta + sin theta cos theta (1 + 2/3 cos^2 + 2.4/(3.5) cos^4 + ...
///   + 2.4...(df-3)/(3.5...(df-2)) cos^(df-3))), and A = 2 theta / pi at df = 1;
/// - even: A = sin theta (1 + 1/2 cos^2 + 1.3/(2.4) cos^4 + ... + 1.3...(df-3)/(2.4...(df-2))
///   cos^(df-2)).
fn t_upper_tail(t: f64, df: u64) -> f64 {
    let theta = (t / (df as f64).sqrt()).atan();
    let (sin, cos) = theta.sin_cos();
    let cos2 = cos * cos;
    let two_sided_inside = if df % 2 == 1 {
        let mut term = 1.0;
        let mut sum = if df > 1 { 1.0 } else { 0.0 };
        let mut k = 2;
        while k + 1 < df {
            term *= k as f64 / (k + 1) as f64 * cos2;
            sum += term;
            k += 2;
        }
        std::f64::consts::FRAC_2_PI * (theta + sin * cos * sum)
    } else {
        let mut term = 1.0;
        let mut sum = 1.0;
        let mut k = 1;
        while k + 1 < df {
            term *= k as f64 / (k + 1) as f64 * cos2;
            sum += term;
            k += 2;
        }
        sin * sum
    };
    (1.0 - two_sided_inside) / 2.0
}

/// The x >= 0 with `tail(x)` = q, for a tail decreasing from 1/2 at 0 (q < 1/2): bisection
/// to the last bit, so the answer is the same on every machine.
fn upper_quantile(q: f64, tail: impl Fn(f64) -> f64) -> f64 {
    assert!(q > 0.0 && q < 0.5, "an upper tail below 1/2, got {q}");
    let mut low = 0.0;
    let mut high = 1.0;
    while tail(high) > q {
        low = high;
        high *= 2.0;
    }
    for _ in 0..200 {
        let mid = low + (high - low) / 2.0;
        if mid <= low || mid >= high {
            break;
        }
        if tail(mid) > q {
            low = mid;
        } else {
            high = mid;
        }
    }
    high
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The normal quantile against printed values: z(0.975) = 1.959964, z(0.995) =
    /// 2.575829, z(0.9995) = 3.290527, z(0.99995) = 3.890592.
    #[test]
    fn normal_quantiles_match_tables() {
        for (q, want) in [(0.025, 1.959964), (0.005, 2.575829), (0.0005, 3.290527), (0.00005, 3.890592)] {
            assert!((normal_upper_quantile(q) - want).abs() < 1e-6, "{q}: {}", normal_upper_quantile(q));
        }
        assert!((normal_upper_quantile(0.025) - Z_95).abs() < 1e-12);
    }

    /// The exact t series gives the tabulated 0.975 quantiles (to their 9 printed
    /// digits) for df 1 to 30, and printed 0.995 quantiles: t(1) = 63.657, t(10) =
    /// 3.169, t(30) = 2.750; above the series' range the expansion continues it.
    #[test]
    fn t_quantiles_match_tables() {
        for df in 1..=30 {
            let t = t_upper_quantile(0.025, df);
            assert!((t - t_975(df)).abs() < 1e-8, "df {df}: {t} vs {}", t_975(df));
        }
        let level = Confidence::two_sided(0.01);
        for (df, want) in [(1, 63.657), (10, 3.169), (30, 2.750)] {
            assert!((level.t(df) - want).abs() < 1e-3, "df {df}: {}", level.t(df));
        }
        let series = upper_quantile(0.005, |x| t_upper_tail(x, EXACT_T_DF_MAX));
        assert!((series - level.t(EXACT_T_DF_MAX + 1)).abs() < 1e-5);
        assert_eq!(level.t(0), f64::INFINITY);
        assert!(level.t(5) > Confidence::P95.t(5));
    }
}

//! Random durations: the distributions of spec section 2, built through checked
//! constructors (bad parameters are errors, never panics) and sampled in nanoseconds.
//!
//! Samples are drawn as `f64` nanoseconds and rounded to an integer `SimDuration` at
//! once, so floats never reach event ordering.

use crate::engine::SimDuration;
use rand::{Rng, RngExt};
use rand_distr::Distribution;

/// A distribution of non-negative durations.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    Constant(SimDuration),
    Exponential(rand_distr::Exp<f64>, f64),
    LogNormal(rand_distr::LogNormal<f64>, f64),
    /// Normal truncated at zero by resampling; the mean kept is the truncated one.
    Normal(rand_distr::Normal<f64>, f64),
    Uniform {
        min_ns: f64,
        max_ns: f64,
    },
    Gamma(rand_distr::Gamma<f64>, f64),
    Weibull(rand_distr::Weibull<f64>, f64),
    Pareto(rand_distr::Pareto<f64>, f64),
    /// Piecewise-linear inverse CDF through `(probability, nanoseconds)` points, the
    /// first at probability 0; above the last point's probability, the last value (the
    /// maximum).
    Empirical(Vec<(f64, f64)>),
}

/// Why a distribution's parameters were refused. Each names the parameter.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DistError {
    #[error("`{0}` must be greater than zero")]
    NotPositive(&'static str),
    #[error("`{0}` must be a finite number >= 0")]
    Negative(&'static str),
    #[error("`p99` ({p99}) must not be below `median` ({median})")]
    P99BelowMedian { median: SimDuration, p99: SimDuration },
    #[error("`max` ({max}) must not be below `min` ({min})")]
    MaxBelowMin { min: SimDuration, max: SimDuration },
    #[error("quantiles must not decrease: {lower_key} is {lower}, but {higher_key} is {higher}")]
    QuantilesOutOfOrder { lower_key: String, lower: SimDuration, higher_key: String, higher: SimDuration },
    #[error("an empirical distribution needs at least one quantile other than p0")]
    NoQuantiles,
    #[error("the normal distribution's mean must be greater than zero (it is truncated at zero)")]
    NormalMeanNotPositive,
}

fn positive(name: &'static str, v: f64) -> Result<f64, DistError> {
    if v.is_finite() && v > 0.0 { Ok(v) } else { Err(DistError::NotPositive(name)) }
}

fn non_negative(name: &'static str, v: f64) -> Result<f64, DistError> {
    if v.is_finite() && v >= 0.0 { Ok(v) } else { Err(DistError::Negative(name)) }
}

fn ns(d: SimDuration) -> f64 {
    d.as_nanos() as f64
}

/// z of the standard normal at 0.99, the factor in sigma = ln(p99/median)/2.3263.
pub const Z99: f64 = 2.326_347_874_040_841;

impl Dist {
    pub fn constant(value: SimDuration) -> Dist {
        Dist::Constant(value)
    }

    pub fn exponential(mean: SimDuration) -> Result<Dist, DistError> {
        let mean = positive("mean", ns(mean))?;
        Ok(Dist::Exponential(rand_distr::Exp::new(1.0 / mean).expect("rate is positive and finite"), mean))
    }

    /// Lognormal from what a dashboard shows: sigma = ln(p99/median)/z(0.99).
    pub fn lognormal_median_p99(median: SimDuration, p99: SimDuration) -> Result<Dist, DistError> {
        let m = positive("median", ns(median))?;
        if p99 < median {
            return Err(DistError::P99BelowMedian { median, p99 });
        }
        let sigma = (ns(p99) / m).ln() / Z99;
        Self::lognormal_mu_sigma(m.ln(), sigma)
    }

    /// Lognormal from its mean and coefficient of variation: sigma^2 = ln(1 + cv^2).
    pub fn lognormal_mean_cv(mean: SimDuration, cv: f64) -> Result<Dist, DistError> {
        let mean = positive("mean", ns(mean))?;
        let cv = non_negative("cv", cv)?;
        let sigma2 = (1.0 + cv * cv).ln();
        Self::lognormal_mu_sigma(mean.ln() - sigma2 / 2.0, sigma2.sqrt())
    }

    fn lognormal_mu_sigma(mu: f64, sigma: f64) -> Result<Dist, DistError> {
        let mean = (mu + sigma * sigma / 2.0).exp();
        let d = rand_distr::LogNormal::new(mu, sigma).map_err(|_| DistError::Negative("sigma"))?;
        Ok(Dist::LogNormal(d, mean))
    }

    pub fn normal(mean: SimDuration, stddev: SimDuration) -> Result<Dist, DistError> {
        if mean == SimDuration::ZERO {
            return Err(DistError::NormalMeanNotPositive);
        }
        let d = rand_distr::Normal::new(ns(mean), ns(stddev)).map_err(|_| DistError::Negative("stddev"))?;
        Ok(Dist::Normal(d, truncated_normal_mean(ns(mean), ns(stddev))))
    }

    pub fn uniform(min: SimDuration, max: SimDuration) -> Result<Dist, DistError> {
        if max < min {
            return Err(DistError::MaxBelowMin { min, max });
        }
        Ok(Dist::Uniform { min_ns: ns(min), max_ns: ns(max) })
    }

    /// Gamma with shape = 1/cv^2 and scale = mean/shape.
    pub fn gamma(mean: SimDuration, cv: f64) -> Result<Dist, DistError> {
        let mean = positive("mean", ns(mean))?;
        let cv = positive("cv", cv)?;
        let shape = 1.0 / (cv * cv);
        let d = rand_distr::Gamma::new(shape, mean / shape).map_err(|_| DistError::NotPositive("cv"))?;
        Ok(Dist::Gamma(d, mean))
    }

    pub fn weibull(scale: SimDuration, shape: f64) -> Result<Dist, DistError> {
        let scale = positive("scale", ns(scale))?;
        let shape = positive("shape", shape)?;
        let d = rand_distr::Weibull::new(scale, shape).map_err(|_| DistError::NotPositive("shape"))?;
        Ok(Dist::Weibull(d, scale * gamma_fn(1.0 + 1.0 / shape)))
    }

    pub fn pareto(min: SimDuration, alpha: f64) -> Result<Dist, DistError> {
        let min = positive("min", ns(min))?;
        let alpha = positive("alpha", alpha)?;
        let d = rand_distr::Pareto::new(min, alpha).map_err(|_| DistError::NotPositive("alpha"))?;
        let mean = if alpha > 1.0 { alpha * min / (alpha - 1.0) } else { f64::INFINITY };
        Ok(Dist::Pareto(d, mean))
    }

    /// Piecewise-linear inverse CDF through `(probability, value)` points, given in any
    /// order with their keys (for messages). p0 = 0 unless given; the last point is the
    /// maximum.
    pub fn empirical(points: &[(String, f64, SimDuration)]) -> Result<Dist, DistError> {
        let mut sorted: Vec<&(String, f64, SimDuration)> = points.iter().collect();
        sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
        if !sorted.iter().any(|p| p.1 > 0.0) {
            return Err(DistError::NoQuantiles);
        }
        for pair in sorted.windows(2) {
            if pair[1].2 < pair[0].2 {
                return Err(DistError::QuantilesOutOfOrder {
                    lower_key: pair[0].0.clone(),
                    lower: pair[0].2,
                    higher_key: pair[1].0.clone(),
                    higher: pair[1].2,
                });
            }
        }
        let mut curve: Vec<(f64, f64)> = Vec::with_capacity(sorted.len() + 1);
        if sorted[0].1 > 0.0 {
            curve.push((0.0, 0.0));
        }
        curve.extend(sorted.iter().map(|p| (p.1, ns(p.2))));
        Ok(Dist::Empirical(curve))
    }

    /// Draws one duration (a constant without a call).
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        match self {
            Dist::Constant(d) => *d,
            _ => self.sample_drawn(rng),
        }
    }

    #[inline(never)]
    fn sample_drawn<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        let nanos = match self {
            Dist::Constant(d) => return *d,
            Dist::Exponential(d, _) => d.sample(rng),
            Dist::LogNormal(d, _) => d.sample(rng),
            Dist::Normal(d, _) => loop {
                let x = d.sample(rng);
                if x >= 0.0 {
                    break x;
                }
            },
            Dist::Uniform { min_ns, max_ns } => min_ns + (max_ns - min_ns) * rng.random::<f64>(),
            Dist::Gamma(d, _) => d.sample(rng),
            Dist::Weibull(d, _) => d.sample(rng),
            Dist::Pareto(d, _) => d.sample(rng),
            Dist::Empirical(curve) => empirical_inverse(curve, rng.random::<f64>()),
        };
        SimDuration::from_nanos_f64(nanos)
    }

    /// The mean in nanoseconds (infinite for a Pareto with alpha <= 1). For a normal
    /// truncated at zero this is the untruncated mean, an approximation used only for
    /// estimates and lints.
    pub fn mean_ns(&self) -> f64 {
        match self {
            Dist::Constant(d) => ns(*d),
            Dist::Exponential(_, m)
            | Dist::LogNormal(_, m)
            | Dist::Normal(_, m)
            | Dist::Gamma(_, m)
            | Dist::Weibull(_, m)
            | Dist::Pareto(_, m) => *m,
            Dist::Uniform { min_ns, max_ns } => (min_ns + max_ns) / 2.0,
            Dist::Empirical(curve) => {
                // Trapezoids of the inverse CDF, plus the point mass at the maximum.
                let area: f64 = curve.windows(2).map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0).sum();
                let (p_last, v_last) = *curve.last().expect("empirical has points");
                area + (1.0 - p_last) * v_last
            }
        }
    }
}

/// The mean of a normal `(mu, sigma)` truncated at zero (what `sample` draws, by
/// resampling negatives): mu + sigma phi(a) / Phi(a) with a = mu / sigma (Johnson,
/// Kotz and Balakrishnan, "Continuous Univariate Distributions", vol. 1, 13.10.1). Far
/// above the untruncated mean when sigma is large against mu.
fn truncated_normal_mean(mu: f64, sigma: f64) -> f64 {
    if sigma <= 0.0 {
        return mu;
    }
    let a = mu / sigma;
    let density = (-a * a / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let kept = 0.5 * libm::erfc(-a / std::f64::consts::SQRT_2);
    mu + sigma * density / kept
}

fn empirical_inverse(curve: &[(f64, f64)], u: f64) -> f64 {
    // First point whose probability is >= u; interpolate from the one before.
    let i = curve.partition_point(|&(p, _)| p < u);
    if i == 0 {
        return curve[0].1;
    }
    if i == curve.len() {
        return curve[curve.len() - 1].1;
    }
    let (p0, v0) = curve[i - 1];
    let (p1, v1) = curve[i];
    if p1 <= p0 { v1 } else { v0 + (v1 - v0) * (u - p0) / (p1 - p0) }
}

/// Parses a quantile key: `p50` -> 0.5, `p99` -> 0.99, `p999` -> 0.999, `p9999` ->
/// 0.9999, `p100` -> 1.0, `p99.9` -> 0.999. `None` if it is not one.
pub fn parse_quantile_key(key: &str) -> Option<f64> {
    let digits = key.strip_prefix('p')?;
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let q = if let Some((whole, frac)) = digits.split_once('.') {
        // Move the decimal point two places left in the text, so p99.9 is exactly 0.999.
        if whole.len() > 2 || whole.is_empty() {
            return None;
        }
        format!("0.{whole:0>2}{frac}").parse::<f64>().ok()?
    } else if digits.len() <= 2 || digits == "100" {
        digits.parse::<f64>().ok()? / 100.0
    } else {
        format!("0.{digits}").parse::<f64>().ok()?
    };
    (0.0..=1.0).contains(&q).then_some(q)
}

/// The gamma function (Lanczos approximation, g = 7, n = 9; Numerical Recipes 3rd ed.
/// section 6.1), used only for the Weibull mean.
fn gamma_fn(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        std::f64::consts::PI / ((std::f64::consts::PI * x).sin() * gamma_fn(1.0 - x))
    } else {
        let x = x - 1.0;
        let t = x + 7.5;
        let sum = G[1..].iter().enumerate().fold(G[0], |acc, (i, g)| acc + g / (x + i as f64 + 1.0));
        (2.0 * std::f64::consts::PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;

    const N: usize = 200_000;

    fn ms(v: u64) -> SimDuration {
        SimDuration::from_millis(v)
    }

    fn samples(d: &Dist, label: &str) -> Vec<f64> {
        let mut rng = stream(42, label);
        let mut xs: Vec<f64> = (0..N).map(|_| d.sample(&mut rng).as_nanos() as f64).collect();
        xs.sort_by(f64::total_cmp);
        xs
    }

    fn mean(xs: &[f64]) -> f64 {
        xs.iter().sum::<f64>() / xs.len() as f64
    }

    fn quantile(sorted: &[f64], q: f64) -> f64 {
        sorted[((q * sorted.len() as f64).ceil() as usize).saturating_sub(1)]
    }

    /// The sample mean lies within 4 standard errors of the true mean (sd / sqrt(N)):
    /// a false alarm has probability about 6e-5 at this fixed seed.
    fn assert_mean(d: &Dist, xs: &[f64], sd: f64) {
        let se = sd / (N as f64).sqrt();
        let m = mean(xs);
        assert!((m - d.mean_ns()).abs() < 4.0 * se, "mean {m} vs {} (se {se})", d.mean_ns());
    }

    /// A normal truncated at zero has the truncated mean: for mu = 1 ms, sigma = 10 ms
    /// it is 1 + 10 phi(0.1) / Phi(0.1) = 8.353 ms (not 1 ms), and the samples agree within 4 standard errors
    /// (their sd is below sigma, so sigma bounds it).
    #[test]
    fn truncated_normal_mean_is_the_mean_of_the_samples() {
        let d = Dist::normal(ms(1), ms(10)).unwrap();
        let xs = samples(&d, "truncated");
        assert!((d.mean_ns() / 1e6 - 8.3533).abs() < 1e-3, "{}", d.mean_ns());
        assert_mean(&d, &xs, 10e6);
        // Far from zero, truncation changes nothing visible.
        assert!((Dist::normal(ms(100), ms(10)).unwrap().mean_ns() - 100e6).abs() < 1.0);
    }

    #[test]
    fn exponential_mean_and_p99() {
        let d = Dist::exponential(ms(10)).unwrap();
        let xs = samples(&d, "exp");
        assert_mean(&d, &xs, 10e6);
        // p99 of Exp(mean m) is m ln 100; the sample quantile's relative standard error at
        // q = 0.99 is sqrt(q(1-q)/N)/(1-q) / ln(100) ~ 0.5%: allow 4 of them.
        let p99 = quantile(&xs, 0.99);
        assert!((p99 / (10e6 * 100f64.ln()) - 1.0).abs() < 0.02, "p99 {p99}");
    }

    #[test]
    fn lognormal_from_dashboard_percentiles() {
        let d = Dist::lognormal_median_p99(ms(8), ms(40)).unwrap();
        let xs = samples(&d, "ln");
        for (q, want) in [(0.5, 8e6), (0.99, 40e6)] {
            let got = quantile(&xs, q);
            assert!((got / want - 1.0).abs() < 0.03, "q{q}: {got} vs {want}");
        }
    }

    #[test]
    fn lognormal_from_mean_and_cv() {
        let d = Dist::lognormal_mean_cv(ms(10), 0.5).unwrap();
        let xs = samples(&d, "lncv");
        assert_mean(&d, &xs, 5e6);
        assert!((d.mean_ns() - 10e6).abs() < 1.0);
    }

    #[test]
    fn normal_is_truncated_at_zero() {
        let d = Dist::normal(ms(1), ms(2)).unwrap();
        let xs = samples(&d, "normal");
        assert!(xs[0] >= 0.0);
    }

    #[test]
    fn uniform_gamma_weibull_pareto_means() {
        let u = Dist::uniform(ms(2), ms(4)).unwrap();
        assert_mean(&u, &samples(&u, "u"), 2e6 / 12f64.sqrt());
        let g = Dist::gamma(ms(10), 0.5).unwrap();
        assert_mean(&g, &samples(&g, "g"), 5e6);
        // Weibull(scale 10ms, shape 2): mean = 10 * Gamma(1.5) = 8.862 ms, sd = 4.633 ms.
        let w = Dist::weibull(ms(10), 2.0).unwrap();
        assert!((w.mean_ns() - 8.862_269e6).abs() < 1e2);
        assert_mean(&w, &samples(&w, "w"), 4.633e6);
        // Pareto(min 1ms, alpha 3): mean 1.5 ms, sd = sqrt(3/(4*1)) * 1ms = 0.866 ms.
        let p = Dist::pareto(ms(1), 3.0).unwrap();
        assert_mean(&p, &samples(&p, "p"), 0.866e6);
    }

    #[test]
    fn empirical_hits_the_given_percentiles() {
        let pts = vec![
            ("p50".to_string(), 0.5, ms(10)),
            ("p90".to_string(), 0.9, ms(30)),
            ("p99".to_string(), 0.99, ms(100)),
        ];
        let d = Dist::empirical(&pts).unwrap();
        let xs = samples(&d, "emp");
        for (q, want) in [(0.25, 5e6), (0.5, 10e6), (0.9, 30e6), (0.99, 100e6)] {
            let got = quantile(&xs, q);
            assert!((got / want - 1.0).abs() < 0.03, "q{q}: {got} vs {want}");
        }
        assert_eq!(*xs.last().unwrap(), 100e6, "the last quantile is the maximum");
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert_eq!(Dist::exponential(SimDuration::ZERO).unwrap_err(), DistError::NotPositive("mean"));
        assert!(matches!(Dist::lognormal_median_p99(ms(10), ms(5)), Err(DistError::P99BelowMedian { .. })));
        assert!(matches!(Dist::uniform(ms(5), ms(1)), Err(DistError::MaxBelowMin { .. })));
        assert_eq!(Dist::gamma(ms(1), 0.0).unwrap_err(), DistError::NotPositive("cv"));
        assert_eq!(Dist::gamma(ms(1), f64::NAN).unwrap_err(), DistError::NotPositive("cv"));
        assert_eq!(Dist::weibull(ms(1), -1.0).unwrap_err(), DistError::NotPositive("shape"));
        assert_eq!(Dist::pareto(ms(1), f64::INFINITY).unwrap_err(), DistError::NotPositive("alpha"));
        let bad = vec![("p50".to_string(), 0.5, ms(10)), ("p90".to_string(), 0.9, ms(5))];
        assert!(matches!(Dist::empirical(&bad), Err(DistError::QuantilesOutOfOrder { .. })));
        assert_eq!(Dist::empirical(&[]).unwrap_err(), DistError::NoQuantiles);
    }

    #[test]
    fn quantile_keys() {
        assert_eq!(parse_quantile_key("p50"), Some(0.5));
        assert_eq!(parse_quantile_key("p99"), Some(0.99));
        assert_eq!(parse_quantile_key("p999"), Some(0.999));
        assert_eq!(parse_quantile_key("p100"), Some(1.0));
        assert_eq!(parse_quantile_key("p0"), Some(0.0));
        assert_eq!(parse_quantile_key("p99.9"), Some(0.999));
        assert_eq!(parse_quantile_key("median"), None);
        assert_eq!(parse_quantile_key("p101"), Some(0.101));
        assert_eq!(parse_quantile_key("p"), None);
    }
}

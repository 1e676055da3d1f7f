//! Distributions: a bare duration (a constant) or a table with `dist` and the
//! parameters of that kind, built by the model's checked constructors.

use super::{Span, Validator, span_of};
use crate::model::dist::parse_quantile_key;
use crate::model::{Dist, DistError};
use crate::scenario::error::suggest;
use crate::scenario::raw::{RawDist, RawDistTable};
use toml::Spanned;

const DIST_NAMES: [&str; 9] =
    ["constant", "exponential", "lognormal", "normal", "uniform", "gamma", "weibull", "pareto", "empirical"];

impl Validator {
    pub(super) fn dist(&mut self, v: &Spanned<RawDist>, what: &str) -> Option<Dist> {
        match v.get_ref() {
            RawDist::Constant(d) => {
                let d = Spanned::new(v.span(), d.clone());
                self.duration(&d, what).map(Dist::constant)
            }
            RawDist::Table(t) => self.dist_table(t, v.span(), what),
        }
    }

    fn dist_table(&mut self, t: &RawDistTable, span: Span, what: &str) -> Option<Dist> {
        let Some(name) = &t.dist else {
            self.error_help(
                span,
                format!("missing `dist` in the distribution for {what}"),
                format!(
                    "add `dist = \"...\"`, one of: {}; or write a constant as a bare duration",
                    DIST_NAMES.join(", ")
                ),
            );
            return None;
        };
        let kind = name.get_ref().as_str();
        if !DIST_NAMES.contains(&kind) {
            self.error_help(
                name.span(),
                format!("unknown distribution \"{kind}\" for {what}"),
                suggest(kind, &DIST_NAMES, "distributions"),
            );
            return None;
        }
        let present = param_spans(t);
        let allowed: &[&str] = match kind {
            "constant" => &["value"],
            "exponential" => &["mean"],
            "lognormal" => &["median", "p99", "mean", "cv"],
            "normal" => &["mean", "stddev"],
            "uniform" => &["min", "max"],
            "gamma" => &["mean", "cv"],
            "weibull" => &["scale", "shape"],
            "pareto" => &["min", "alpha"],
            _ => &["quantiles"],
        };
        let before = self.issues.len();
        self.not_applicable(&present, allowed, &format!("{} `{kind}` distribution", article(kind)), what);
        if self.issues.len() > before {
            return None;
        }
        let missing = |v: &mut Validator, key: &str, takes: &str| -> Option<Dist> {
            v.error_help(
                span.clone(),
                format!("missing `{key}` in the `{kind}` distribution for {what}"),
                format!("{} `{kind}` distribution takes {takes}", article(kind)),
            );
            None
        };
        // Each parameter: Some(Some(x)) valid, Some(None) invalid (reported), None missing.
        macro_rules! dur {
            ($field:ident) => {
                t.$field.as_ref().map(|d| self.duration(d, &format!("`{}` of {what}", stringify!($field))))
            };
        }
        let result = match kind {
            "constant" => match dur!(value) {
                Some(d) => Ok(Dist::constant(d?)),
                None => return missing(self, "value", "`value`"),
            },
            "exponential" => match dur!(mean) {
                Some(m) => Dist::exponential(m?),
                None => return missing(self, "mean", "`mean`"),
            },
            "lognormal" => {
                let takes = "`median` and `p99`, or `mean` and `cv`";
                if t.median.is_some() || t.p99.is_some() {
                    if let Some(s) = t.mean.as_ref().map(span_of).or(t.cv.as_ref().map(span_of)) {
                        self.error_help(
                            s,
                            format!("mixed parameters in the `lognormal` distribution for {what}"),
                            format!("a `lognormal` distribution takes {takes}, not both"),
                        );
                        return None;
                    }
                    match (dur!(median), dur!(p99)) {
                        (Some(m), Some(p)) => Dist::lognormal_median_p99(m?, p?),
                        (None, _) => return missing(self, "median", takes),
                        (_, None) => return missing(self, "p99", takes),
                    }
                } else {
                    match (dur!(mean), t.cv.as_ref()) {
                        (Some(m), Some(cv)) => Dist::lognormal_mean_cv(m?, *cv.get_ref()),
                        (None, _) => return missing(self, "median", takes),
                        (_, None) => return missing(self, "cv", takes),
                    }
                }
            }
            "normal" => match (dur!(mean), dur!(stddev)) {
                (Some(m), Some(s)) => Dist::normal(m?, s?),
                (None, _) => return missing(self, "mean", "`mean` and `stddev`"),
                (_, None) => return missing(self, "stddev", "`mean` and `stddev`"),
            },
            "uniform" => match (dur!(min), dur!(max)) {
                (Some(a), Some(b)) => Dist::uniform(a?, b?),
                (None, _) => return missing(self, "min", "`min` and `max`"),
                (_, None) => return missing(self, "max", "`min` and `max`"),
            },
            "gamma" => match (dur!(mean), t.cv.as_ref()) {
                (Some(m), Some(cv)) => Dist::gamma(m?, *cv.get_ref()),
                (None, _) => return missing(self, "mean", "`mean` and `cv`"),
                (_, None) => return missing(self, "cv", "`mean` and `cv`"),
            },
            "weibull" => match (dur!(scale), t.shape.as_ref()) {
                (Some(s), Some(k)) => Dist::weibull(s?, *k.get_ref()),
                (None, _) => return missing(self, "scale", "`scale` and `shape`"),
                (_, None) => return missing(self, "shape", "`scale` and `shape`"),
            },
            "pareto" => match (dur!(min), t.alpha.as_ref()) {
                (Some(m), Some(a)) => Dist::pareto(m?, *a.get_ref()),
                (None, _) => return missing(self, "min", "`min` and `alpha`"),
                (_, None) => return missing(self, "alpha", "`min` and `alpha`"),
            },
            _ => {
                let Some(q) = &t.quantiles else {
                    return missing(self, "quantiles", "`quantiles = { p50 = \"..\", p99 = \"..\" }`");
                };
                let mut points = Vec::new();
                let mut ok = true;
                for (key, value) in q.get_ref() {
                    let Some(p) = parse_quantile_key(key.get_ref()) else {
                        self.error_help(
                            key.span(),
                            format!("`{}` is not a quantile in the `empirical` distribution for {what}", key.get_ref()),
                            "write quantiles as p0, p50, p90, p99, p999 or p99.9",
                        );
                        ok = false;
                        continue;
                    };
                    match self.duration(value, &format!("`{}` of {what}", key.get_ref())) {
                        Some(d) => points.push((key.get_ref().clone(), p, d)),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                Dist::empirical(&points)
            }
        };
        match result {
            Ok(d) => Some(d),
            Err(e) => {
                let at = dist_error_span(&e, t).unwrap_or(span);
                self.error(at, format!("bad `{kind}` distribution for {what}: {e}"));
                None
            }
        }
    }
}

/// "a" or "an" before a word, by its first letter (good enough for the names used here).
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" }
}

/// Every parameter of a distribution table with its span, if it was written.
fn param_spans(t: &RawDistTable) -> [(&'static str, Option<Span>); 12] {
    [
        ("value", t.value.as_ref().map(span_of)),
        ("mean", t.mean.as_ref().map(span_of)),
        ("median", t.median.as_ref().map(span_of)),
        ("p99", t.p99.as_ref().map(span_of)),
        ("cv", t.cv.as_ref().map(span_of)),
        ("stddev", t.stddev.as_ref().map(span_of)),
        ("min", t.min.as_ref().map(span_of)),
        ("max", t.max.as_ref().map(span_of)),
        ("scale", t.scale.as_ref().map(span_of)),
        ("shape", t.shape.as_ref().map(span_of)),
        ("alpha", t.alpha.as_ref().map(span_of)),
        ("quantiles", t.quantiles.as_ref().map(span_of)),
    ]
}

/// Where a distribution's error belongs: the parameter it names, if it was written.
fn dist_error_span(e: &DistError, t: &RawDistTable) -> Option<Span> {
    let key = match e {
        DistError::NotPositive(k) | DistError::Negative(k) => *k,
        DistError::P99BelowMedian { .. } => "p99",
        DistError::MaxBelowMin { .. } => "max",
        DistError::NormalMeanNotPositive => "mean",
        DistError::NoQuantiles => "quantiles",
        DistError::QuantilesOutOfOrder { higher_key, .. } => {
            return t.quantiles.as_ref().and_then(|q| q.get_ref().get(higher_key.as_str())).map(span_of);
        }
    };
    param_spans(t).into_iter().find(|(k, _)| *k == key).and_then(|(_, span)| span)
}

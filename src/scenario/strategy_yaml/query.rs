//! The Prometheus queries stormcast can stand in for: it measures the canary itself,
//! so a query is read only for *what* it measures and in *which unit*, and a query of
//! any other shape is refused rather than guessed at.
//!
//! The shapes (whitespace, label matchers and `{{args.x}}` placeholders are free):
//! - a success rate: `sum(rate(X{..., response_code!~"5.*"}[..])) / sum(rate(X{...}[..]))`;
//! - its error-rate twin, with `response_code=~"5.*"` (any label; `5..` also reads);
//! - either one `* 100` (or `100 *`): the same rate in percent;
//! - `histogram_quantile(Q, ...)` with Q one of 0.5, 0.9, 0.95, 0.99, 0.999: that
//!   latency percentile, in seconds when the histogram's name says `_seconds` (as
//!   `http_request_duration_seconds_bucket`), else in milliseconds (as Istio's
//!   `istio_request_duration_milliseconds_bucket`).

use crate::engine::SimDuration;
use crate::model::rollout::{Metric, Percentile};

/// What a query measures, and the unit its bounds are written in.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(super) struct Measured {
    pub metric: Metric,
    pub unit: Unit,
}

#[derive(Copy, Clone, Debug, PartialEq)]
pub(super) enum Unit {
    /// A rate as a ratio in [0, 1] (stormcast's own unit), or a throughput.
    Ratio,
    /// A rate in percent.
    Percent,
    Milliseconds,
    Seconds,
}

impl Measured {
    /// Flagger's built-in `request-success-rate`: percent.
    pub const SUCCESS_PERCENT: Measured = Measured { metric: Metric::SuccessRate, unit: Unit::Percent };
    /// Flagger's built-in `request-duration`: the p99 in milliseconds.
    pub const P99_MS: Measured = Measured { metric: Metric::Latency(Percentile::P99), unit: Unit::Milliseconds };

    /// A bound written in the query's unit, in stormcast's (ratios; milliseconds,
    /// rounded to the nanosecond as a duration in a TOML strategy is). `Err` says why it
    /// cannot be: negative, or a rate outside [0, 1] once converted (the percent-versus-
    /// ratio mistake).
    pub fn bound(self, written: f64) -> Result<f64, String> {
        if written < 0.0 {
            return Err(format!("{written} is negative"));
        }
        let ms = |ms: f64| SimDuration::from_nanos_f64(ms * 1e6).as_secs_f64() * 1e3;
        let value = match self.unit {
            Unit::Ratio => written,
            Unit::Percent => written / 100.0,
            Unit::Milliseconds => ms(written),
            Unit::Seconds => ms(written * 1e3),
        };
        let is_rate = matches!(self.metric, Metric::SuccessRate | Metric::ErrorRate);
        if is_rate && value > 1.0 {
            let unit = if self.unit == Unit::Percent { "a percentage in [0, 100]" } else { "a ratio in [0, 1]" };
            return Err(format!("{written} is not {unit}, the unit of this {}", self.metric.name()));
        }
        Ok(value)
    }
}

/// The help for a query that has none of the shapes.
pub(super) const SHAPES: &str = "stormcast reads Prometheus queries of these shapes: a success rate \
     `sum(rate(X{..., response_code!~\"5.*\"}[1m])) / sum(rate(X{...}[1m]))`, its error-rate twin with \
     `response_code=~\"5.*\"`, either one `* 100` for percent, or `histogram_quantile(0.99, ...)` (also 0.5, \
     0.9, 0.95, 0.999)";

/// Reads a query's shape; `Err` says what did not fit.
pub(super) fn measured(query: &str) -> Result<Measured, String> {
    let q: String = query.chars().filter(|c| !c.is_whitespace()).collect();
    let q = unwrap_parens(&q);
    if let Some(args) = q.strip_prefix("histogram_quantile(") {
        return quantile(q, args);
    }
    let (operands, operators) = split_top(q, &['/', '*']);
    let ops: String = operators.iter().collect();
    let (ratio, percent) = match (ops.as_str(), operands.as_slice()) {
        ("/", [num, den]) => ((*num, *den), false),
        ("/*", [num, den, "100"]) | ("*/", ["100", num, den]) => ((*num, *den), true),
        ("*", [inner, "100"]) | ("*", ["100", inner]) => match split_top(unwrap_parens(inner), &['/']) {
            (parts, _) if parts.len() == 2 => ((parts[0], parts[1]), true),
            _ => return Err(format!("`{inner}` is not a ratio of two sums")),
        },
        _ => return Err("it is neither a ratio of two sums nor a histogram_quantile".to_string()),
    };
    let metric = rate(ratio.0, ratio.1)?;
    Ok(Measured { metric, unit: if percent { Unit::Percent } else { Unit::Ratio } })
}

/// `sum(rate(X{.., code!~"5.*"}[..])) / sum(rate(X{..}[..]))` and its `=~` twin.
fn rate(num: &str, den: &str) -> Result<Metric, String> {
    for part in [num, den] {
        if !part.starts_with("sum") {
            return Err(format!("`{part}` is not a `sum(...)`"));
        }
    }
    let (n, d) = (counter(num)?, counter(den)?);
    if n != d {
        return Err(format!("the numerator counts `{n}` but the denominator `{d}`"));
    }
    if server_errors(den).is_some() {
        return Err("the denominator selects server errors: it should count every request".to_string());
    }
    match server_errors(num) {
        Some(true) => Ok(Metric::ErrorRate),
        Some(false) => Ok(Metric::SuccessRate),
        None => Err("the numerator has no `!~\"5.*\"` (success rate) or `=~\"5.*\"` (error rate) matcher".to_string()),
    }
}

/// The counter inside `rate(`/`irate(`/`increase(`.
fn counter(sum: &str) -> Result<&str, String> {
    let start = ["(rate(", "(irate(", "(increase("]
        .iter()
        .find_map(|f| sum.find(f).map(|i| i + f.len()))
        .ok_or_else(|| format!("`{sum}` does not sum a `rate(...)`"))?;
    let rest = &sum[start..];
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
    Ok(&rest[..end])
}

/// Whether a label matcher selects server errors (`=~"5.*"`: `Some(true)`) or excludes
/// them (`!~"5.*"`: `Some(false)`), `None` without one.
fn server_errors(part: &str) -> Option<bool> {
    ["\"5.*\"", "\"5..\""].iter().find_map(|re| {
        if part.contains(&format!("!~{re}")) {
            Some(false)
        } else if part.contains(&format!("=~{re}")) {
            Some(true)
        } else {
            None
        }
    })
}

/// `histogram_quantile(Q, sum(rate(NAME_bucket{..}[..])) by (le))`.
fn quantile(q: &str, args: &str) -> Result<Measured, String> {
    let inner = args.strip_suffix(')').filter(|_| close_of(q, "histogram_quantile(".len() - 1) == Some(q.len() - 1));
    let inner = inner.ok_or("something follows `histogram_quantile(...)`: stormcast reads it alone")?;
    let (parts, _) = split_top(inner, &[',']);
    let [q_text, series] = parts.as_slice() else {
        return Err("`histogram_quantile` takes two arguments".to_string());
    };
    let percentile = match *q_text {
        "0.5" | ".5" | "0.50" => Percentile::P50,
        "0.9" | ".9" | "0.90" => Percentile::P90,
        "0.95" | ".95" => Percentile::P95,
        "0.99" | ".99" => Percentile::P99,
        "0.999" | ".999" => Percentile::P999,
        other => return Err(format!("quantile `{other}`: stormcast measures 0.5, 0.9, 0.95, 0.99 and 0.999")),
    };
    let bucket = series.find("_bucket").ok_or("its second argument has no `..._bucket` histogram")?;
    let name_start = series[..bucket].rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'));
    let name = &series[name_start.map_or(0, |i| i + 1)..bucket];
    let unit = if name.contains("_seconds") { Unit::Seconds } else { Unit::Milliseconds };
    Ok(Measured { metric: Metric::Latency(percentile), unit })
}

/// `(x)` -> `x`, repeatedly, when the parentheses enclose the whole text.
fn unwrap_parens(mut q: &str) -> &str {
    while q.starts_with('(') && close_of(q, 0) == Some(q.len() - 1) {
        q = &q[1..q.len() - 1];
    }
    q
}

/// The index of the bracket closing the one at `open`.
fn close_of(q: &str, open: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut quoted = false;
    for (i, c) in q.char_indices().skip_while(|&(i, _)| i < open) {
        match c {
            '"' => quoted = !quoted,
            '(' | '[' | '{' if !quoted => depth += 1,
            ')' | ']' | '}' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits at the operators `at` outside brackets and quotes: the operands, then the
/// operators in order.
fn split_top<'q>(q: &'q str, at: &[char]) -> (Vec<&'q str>, Vec<char>) {
    let (mut operands, mut operators) = (Vec::new(), Vec::new());
    let (mut depth, mut quoted, mut from) = (0i32, false, 0);
    for (i, c) in q.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' | '[' | '{' if !quoted => depth += 1,
            ')' | ']' | '}' if !quoted => depth -= 1,
            c if depth == 0 && !quoted && at.contains(&c) => {
                operands.push(&q[from..i]);
                operators.push(c);
                from = i + 1;
            }
            _ => {}
        }
    }
    operands.push(&q[from..]);
    (operands, operators)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUCCESS: &str = r#"
        sum(rate(istio_requests_total{destination_workload="{{ target }}", response_code!~"5.*"}[{{ interval }}]))
        /
        sum(rate(istio_requests_total{destination_workload="{{ target }}"}[{{ interval }}]))"#;

    #[test]
    fn reads_rates_in_ratio_and_percent() {
        assert_eq!(measured(SUCCESS), Ok(Measured { metric: Metric::SuccessRate, unit: Unit::Ratio }));
        let percent = format!("{SUCCESS} * 100");
        assert_eq!(measured(&percent), Ok(Measured { metric: Metric::SuccessRate, unit: Unit::Percent }));
        let percent = format!("100 * ({SUCCESS})");
        assert_eq!(measured(&percent), Ok(Measured { metric: Metric::SuccessRate, unit: Unit::Percent }));
        let errors = SUCCESS.replacen("!~\"5.*\"", "=~\"5..\"", 1);
        assert_eq!(measured(&errors), Ok(Measured { metric: Metric::ErrorRate, unit: Unit::Ratio }));
    }

    #[test]
    fn reads_quantiles_with_their_unit() {
        let ms = "histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{x=\"y\"}[1m])) by (le))";
        assert_eq!(measured(ms), Ok(Measured { metric: Metric::Latency(Percentile::P99), unit: Unit::Milliseconds }));
        let s = "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))";
        assert_eq!(measured(s), Ok(Measured { metric: Metric::Latency(Percentile::P95), unit: Unit::Seconds }));
    }

    #[test]
    fn refuses_other_shapes() {
        for q in [
            "sum(rate(a{code!~\"5.*\"}[1m])) / sum(rate(b[1m]))",
            "sum(rate(a[1m])) / sum(rate(a[1m]))",
            "sum(rate(a{code=~\"5.*\"}[1m])) / sum(rate(a{code=~\"5.*\"}[1m]))",
            "100 - sum(rate(a{code!~\"5.*\"}[1m])) / sum(rate(a[1m])) * 100",
            "histogram_quantile(0.75, sum(rate(a_bucket[1m])) by (le))",
            "histogram_quantile(0.99, sum(rate(a_bucket[1m])) by (le)) * 1000",
            "avg(up)",
            "sum(rate(a{code!~\"5.*\"}[1m])) / sum(rate(a[1m])) * 10",
        ] {
            assert!(measured(q).is_err(), "{q}");
        }
    }

    #[test]
    fn bounds_are_scaled_and_rates_checked() {
        assert_eq!(Measured::SUCCESS_PERCENT.bound(99.0), Ok(0.99));
        assert!(Measured { metric: Metric::SuccessRate, unit: Unit::Ratio }.bound(99.0).is_err());
        assert_eq!(Measured { metric: Metric::Latency(Percentile::P99), unit: Unit::Seconds }.bound(0.5), Ok(500.0));
    }
}

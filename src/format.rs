//! Every way a number reaches a reader as text: tick labels, table cells, report
//! values, durations in messages, byte counts, and the quoting of shell words in
//! replay commands. Each formatter is its own function because each writes different
//! text for the same number (outputs depend on it byte for byte); the name says what
//! it writes.

/// `SimDuration::MAX` in nanoseconds, about 584.5 years: a sum of durations that
/// reaches it has saturated, and the true figure (if any) is larger. No run lasts that
/// long, so such a wait is, for the simulator, without bound.
pub const SATURATED_NS: f64 = u64::MAX as f64;

/// A Julian year in nanoseconds.
const YEAR_NS: f64 = 365.25 * 86_400.0 * 1e9;

/// `v` rounded to at most `decimals` places, without trailing zeros (`"2.5"`, `"3"`).
fn trimmed(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// A chart tick: three significant digits or so, no trailing zeros, `k` from 10 000 and
/// `M` from a million on (`"0.05"`, `"2.5"`, `"120"`, `"12.5k"`, `"3M"`).
pub fn compact(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        return format!("{}M", compact(v / 1e6));
    }
    if a >= 1e4 {
        return format!("{}k", compact(v / 1e3));
    }
    let decimals = if a >= 100.0 || a == 0.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        3
    };
    trimmed(v, decimals)
}

/// A report value: three significant digits or so, no trailing zeros, in scientific
/// notation below 0.001 (`"0.25"`, `"12.3"`, `"1234"`, `"5.0e-4"`).
pub fn significant(v: f64) -> String {
    let a = v.abs();
    let decimals = if a == 0.0 || a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else if a >= 0.001 {
        3
    } else {
        return format!("{v:.1e}");
    };
    trimmed(v, decimals)
}

/// [`significant`] with a sign: `"+1.5"`, `"-0.25"`, and `"0"` for zero.
pub fn signed_significant(v: f64) -> String {
    if v == 0.0 {
        "0".to_string()
    } else if v > 0.0 {
        format!("+{}", significant(v))
    } else {
        significant(v)
    }
}

/// A value with one decimal and a sign (`"+1.5"`, `"-0.2"`), `"0"` for zero.
pub fn signed_one_decimal(v: f64) -> String {
    if v == 0.0 { "0".to_string() } else { format!("{v:+.1}") }
}

/// A table value: no decimals from 100, one from 10, two below (`"123"`, `"12.3"`, `"1.23"`).
pub fn decimals_by_size(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A count and its noun, singular for one: `"1 load"`, `"2 loads"`, `"0 faults"`,
/// `"3 policies"` (a noun ending in `y` takes `ies`).
pub fn count_of(n: usize, noun: &str) -> String {
    match (n, noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        (_, None) => format!("{n} {noun}s"),
    }
}

/// A count with thousands separators: `"1,234,567"`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An estimate for messages, rounded to a whole number: `"12000"`.
pub fn whole(v: f64) -> String {
    format!("{:.0}", v.round())
}

/// A number with at most two decimals and no trailing zeros: `"6.1"`, `"3600"`.
pub fn two_decimals(v: f64) -> String {
    trimmed(v, 2)
}

/// A share as a percentage with one decimal: `"12.5%"`, `"0.0%"`.
pub fn percent(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// A share as a whole percentage: `"95%"` (utilization ticks).
pub fn percent_whole(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

/// A rollout check's value (`CheckRecord::value`, of `metric`) in the table and the
/// report: rates in percent, throughput in requests per second, latencies in ms, and
/// "no traffic" without a value.
pub fn check_value(metric: &str, v: Option<f64>) -> String {
    match (v, metric) {
        (None, _) => "no traffic".to_string(),
        (Some(v), "success_rate" | "error_rate") => percent_two_decimals(v),
        (Some(v), "throughput") => format!("{} rps", decimals_by_size(v)),
        (Some(v), _) => format!("{} ms", decimals_by_size(v)),
    }
}

/// A share as a percentage with two decimals: `"99.25%"` (success rates in reports).
pub fn percent_two_decimals(v: f64) -> String {
    format!("{:.2}%", v * 100.0)
}

/// A share as a percentage, whole at 0 and 100%, else one decimal without trailing
/// zeros (`"0%"`, `"12.5%"`, `"12%"`, `"100%"`): chart labels.
pub fn percent_short(v: f64) -> String {
    let pc = v * 100.0;
    format!("{}%", trimmed(pc, if pc == 0.0 || pc == 100.0 { 0 } else { 1 }))
}

/// A change of a share as a signed percentage with one decimal: `"+12.5%"`, `"+0.0%"`.
pub fn signed_percent(v: f64) -> String {
    format!("{:+.1}%", v * 100.0)
}

/// [`signed_percent`], but `"0%"` for no change at all.
pub fn signed_percent_or_zero(v: f64) -> String {
    if v == 0.0 { "0%".to_string() } else { signed_percent(v) }
}

/// A change of a share in percentage points with one decimal: `"+1.5 pp"`, `"0 pp"`.
pub fn signed_pp(v: f64) -> String {
    if v == 0.0 { "0 pp".to_string() } else { format!("{:+.1} pp", v * 100.0) }
}

/// A share with its interval, in percent, the share right-aligned in five columns:
/// `" 12.5% [8.1, 18.0]"`.
pub fn percent_interval(p: f64, low: f64, high: f64) -> String {
    format!("{:>5.1}% [{:.1}, {:.1}]", 100.0 * p, 100.0 * low, 100.0 * high)
}

/// A byte count for messages: `"4.2 GB"`, `"512 kB"`.
pub fn bytes(n: f64) -> String {
    match n {
        n if n >= 1e12 => format!("{:.1} TB", n / 1e12),
        n if n >= 1e9 => format!("{:.1} GB", n / 1e9),
        n if n >= 1e6 => format!("{:.1} MB", n / 1e6),
        n => format!("{:.0} kB", n / 1e3),
    }
}

/// A duration in nanoseconds with three significant figures at most, e.g. `6.1s`; in
/// years from a year on, "over 584 years" once it has saturated (never the saturated
/// count of nanoseconds itself), and "unbounded" when infinite.
pub fn duration_ns(ns: f64) -> String {
    if !ns.is_finite() {
        return "unbounded".to_string();
    }
    if ns >= SATURATED_NS {
        return format!("over {} years", (SATURATED_NS / YEAR_NS).floor());
    }
    if ns >= YEAR_NS {
        return format!("{} years", two_decimals(ns / YEAR_NS));
    }
    let (value, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "us")
    } else {
        (ns, "ns")
    };
    format!("{}{unit}", two_decimals(value))
}

/// "up to 6.1s", or "without bound (over 584 years)" for a saturated wait.
pub fn up_to_duration_ns(ns: f64) -> String {
    if ns >= SATURATED_NS {
        format!("without bound ({})", duration_ns(ns))
    } else {
        format!("up to {}", duration_ns(ns))
    }
}

/// "about 6.1s", or "over 584 years" for a saturated wait.
pub fn about_duration_ns(ns: f64) -> String {
    if ns >= SATURATED_NS { duration_ns(ns) } else { format!("about {}", duration_ns(ns)) }
}

/// `word` as one POSIX shell word: unchanged if every character is plainly safe, else
/// in single quotes (a quote inside written `'\''`).
pub fn shell_word(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+".contains(c)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;

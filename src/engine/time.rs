//! Simulated time: integer nanoseconds, so event order never depends on float rounding.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// 2^52: from here on every `f64` is an integer.
const TWO_POW_52: f64 = 4_503_599_627_370_496.0;

/// A point in simulated time, in nanoseconds since the start of the run.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of simulated time, in nanoseconds.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

pub const NANOS_PER_SEC: u64 = 1_000_000_000;

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    /// The end of time: used for "never" (a timer that is not armed).
    pub const NEVER: SimTime = SimTime(u64::MAX);

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    /// Time elapsed since `earlier`; zero if `earlier` is later.
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    pub const fn from_nanos(ns: u64) -> SimDuration {
        SimDuration(ns)
    }

    pub const fn from_micros(us: u64) -> SimDuration {
        SimDuration(us * 1_000)
    }

    pub const fn from_millis(ms: u64) -> SimDuration {
        SimDuration(ms * 1_000_000)
    }

    pub const fn from_secs(s: u64) -> SimDuration {
        SimDuration(s * NANOS_PER_SEC)
    }

    /// Rounds a non-negative number of seconds to the nearest nanosecond, saturating at
    /// `SimDuration::MAX`. Negative and NaN inputs give zero: callers validate user input
    /// before it gets here, and samples from distributions are non-negative by construction.
    pub fn from_secs_f64(secs: f64) -> SimDuration {
        Self::from_nanos_f64(secs * NANOS_PER_SEC as f64)
    }

    /// Rounds a non-negative number of nanoseconds (a drawn sample) to an integer.
    pub fn from_nanos_f64(ns: f64) -> SimDuration {
        if ns.is_nan() || ns <= 0.0 {
            SimDuration(0)
        } else if ns >= u64::MAX as f64 {
            SimDuration::MAX
        } else if ns < TWO_POW_52 {
            // `ns.round() as u64` without the call to libm's `round`: the integer part and
            // the fraction are exact below 2^52, and a half rounds away from zero. Through
            // `i64`, which x86-64 converts to and from `f64` in one instruction each (`u64`
            // takes several); the value fits.
            let whole = ns as i64;
            SimDuration((whole + i64::from(ns - whole as f64 >= 0.5)) as u64)
        } else {
            // From 2^52 on, every `f64` is an integer.
            SimDuration(ns as u64)
        }
    }

    pub fn as_nanos(self) -> u64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    pub fn saturating_mul_f64(self, factor: f64) -> SimDuration {
        Self::from_nanos_f64(self.0 as f64 * factor)
    }

    /// Parses a duration with a unit: `"250us"`, `"12ms"`, `"1.5s"`, `"2m"`, `"1h"`
    /// (also `ns` and `µs`). A bare number is refused: a unit is required.
    pub fn parse(text: &str) -> Result<SimDuration, DurationError> {
        let s = text.trim();
        let split =
            s.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_')).ok_or(DurationError::MissingUnit)?;
        let (number, unit) = s.split_at(split);
        let number: String = number.chars().filter(|&c| c != '_').collect();
        if number.is_empty() {
            return Err(DurationError::NotANumber);
        }
        let value: f64 = number.parse().map_err(|_| DurationError::NotANumber)?;
        let scale: f64 = match unit.trim() {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" | "min" => 60e9,
            "h" => 3600e9,
            other => return Err(DurationError::UnknownUnit(other.to_string())),
        };
        let ns = value * scale;
        if !ns.is_finite() || ns >= u64::MAX as f64 {
            return Err(DurationError::Overflow);
        }
        Ok(SimDuration(ns.round() as u64))
    }
}

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("a duration needs a unit (ns, us, ms, s, m or h), e.g. \"250ms\"")]
    MissingUnit,
    #[error("a duration starts with a non-negative number, e.g. \"1.5s\"")]
    NotANumber,
    #[error("unknown duration unit `{0}` (use ns, us, ms, s, m or h)")]
    UnknownUnit(String),
    #[error("duration is too long (the limit is about 584 years)")]
    Overflow,
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    /// Panics in debug builds if `rhs` is later: time never runs backwards.
    fn sub(self, rhs: SimTime) -> SimDuration {
        debug_assert!(self.0 >= rhs.0, "time went backwards: {} - {}", self.0, rhs.0);
        SimDuration(self.0.wrapping_sub(rhs.0))
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}

impl fmt::Display for SimDuration {
    /// Prints the shortest exact form among ns, us, ms, s (as a user would write it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns == 0 {
            write!(f, "0s")
        } else if ns.is_multiple_of(NANOS_PER_SEC) {
            write!(f, "{}s", ns / NANOS_PER_SEC)
        } else if ns.is_multiple_of(1_000_000) {
            write!(f, "{}ms", ns / 1_000_000)
        } else if ns.is_multiple_of(1_000) {
            write!(f, "{}us", ns / 1_000)
        } else {
            write!(f, "{ns}ns")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `from_nanos_f64` rounds exactly as `f64::round` (half away from zero), then saturates.
    #[test]
    fn from_nanos_f64_matches_round() {
        let reference = |ns: f64| {
            if ns.is_nan() || ns <= 0.0 {
                0
            } else if ns >= u64::MAX as f64 {
                u64::MAX
            } else {
                ns.round() as u64
            }
        };
        let mut values = vec![
            0.0,
            -0.0,
            -1.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            0.49999999999999994,
            0.5,
            1.5,
            2.5,
            TWO_POW_52 - 0.5,
            TWO_POW_52 - 1.5,
            TWO_POW_52,
            TWO_POW_52 + 2.0,
            2.0 * TWO_POW_52,
            u64::MAX as f64,
            1e30,
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            values.push(v);
            values.push((x >> 11) as f64 / (1u64 << 53) as f64 * 1e3);
            values.push((x >> (x % 64)) as f64 + 0.5);
            values.push(v.abs().sqrt());
        }
        for v in values {
            assert_eq!(SimDuration::from_nanos_f64(v).0, reference(v), "{v:e}");
        }
    }

    #[test]
    fn parses_every_unit() {
        assert_eq!(SimDuration::parse("250us"), Ok(SimDuration(250_000)));
        assert_eq!(SimDuration::parse("12ms"), Ok(SimDuration(12_000_000)));
        assert_eq!(SimDuration::parse("1.5s"), Ok(SimDuration(1_500_000_000)));
        assert_eq!(SimDuration::parse("2m"), Ok(SimDuration(120 * NANOS_PER_SEC)));
        assert_eq!(SimDuration::parse("1h"), Ok(SimDuration(3600 * NANOS_PER_SEC)));
        assert_eq!(SimDuration::parse("7ns"), Ok(SimDuration(7)));
        assert_eq!(SimDuration::parse("0s"), Ok(SimDuration(0)));
    }

    #[test]
    fn refuses_bad_durations() {
        assert_eq!(SimDuration::parse("12"), Err(DurationError::MissingUnit));
        assert_eq!(SimDuration::parse("ms"), Err(DurationError::NotANumber));
        assert_eq!(SimDuration::parse("-1s"), Err(DurationError::NotANumber));
        assert_eq!(SimDuration::parse("1.2.3s"), Err(DurationError::NotANumber));
        assert!(matches!(SimDuration::parse("5 parsecs"), Err(DurationError::UnknownUnit(_))));
        assert_eq!(SimDuration::parse("99999999999999h"), Err(DurationError::Overflow));
    }

    #[test]
    fn displays_shortest_exact_unit() {
        assert_eq!(SimDuration::from_millis(1500).to_string(), "1500ms");
        assert_eq!(SimDuration::from_secs(3).to_string(), "3s");
        assert_eq!(SimDuration(250_000).to_string(), "250us");
    }
}

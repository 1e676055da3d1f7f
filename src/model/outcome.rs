//! The outcomes every call and request ends with.

use serde::Serialize;

/// How one attempt, call or request ended. Exactly one per ending.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok = 0,
    Error = 1,
    Timeout = 2,
    Rejected = 3,
    Unavailable = 4,
    ShortCircuited = 5,
    Throttled = 6,
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Outcome::Ok,
        Outcome::Error,
        Outcome::Timeout,
        Outcome::Rejected,
        Outcome::Unavailable,
        Outcome::ShortCircuited,
        Outcome::Throttled,
    ];

    /// The name used in scenario files and outputs.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Timeout => "timeout",
            Outcome::Rejected => "rejected",
            Outcome::Unavailable => "unavailable",
            Outcome::ShortCircuited => "short_circuited",
            Outcome::Throttled => "throttled",
        }
    }

    pub fn from_name(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.name() == name)
    }

    pub fn is_ok(self) -> bool {
        self == Outcome::Ok
    }

    /// Whether a circuit breaker records this outcome as a failure (Resilience4j records
    /// every exception; the spec lists timeout, error, rejected and unavailable).
    /// `short_circuited` never reaches a breaker's window; `throttled` (bulkhead or rate
    /// limit) is not a failure of the callee.
    pub fn is_breaker_failure(self) -> bool {
        matches!(self, Outcome::Error | Outcome::Timeout | Outcome::Rejected | Outcome::Unavailable)
    }
}

/// A set of outcomes (the `on` list of a retry policy), as a bit mask.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct OutcomeSet(u8);

impl OutcomeSet {
    pub const EMPTY: OutcomeSet = OutcomeSet(0);

    pub fn of(outcomes: &[Outcome]) -> OutcomeSet {
        outcomes.iter().fold(OutcomeSet::EMPTY, |set, &o| set.with(o))
    }

    pub fn with(self, o: Outcome) -> OutcomeSet {
        OutcomeSet(self.0 | (1 << o as u8))
    }

    pub fn contains(self, o: Outcome) -> bool {
        self.0 & (1 << o as u8) != 0
    }
}

/// A counter per outcome.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct OutcomeCounts(pub [u64; 7]);

impl OutcomeCounts {
    pub fn add(&mut self, o: Outcome) {
        self.0[o as usize] += 1;
    }
    pub fn get(&self, o: Outcome) -> u64 {
        self.0[o as usize]
    }
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
    pub fn failed(&self) -> u64 {
        self.total() - self.get(Outcome::Ok)
    }
}

impl Serialize for OutcomeCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(7))?;
        for o in Outcome::ALL {
            map.serialize_entry(o.name(), &self.get(o))?;
        }
        map.end()
    }
}

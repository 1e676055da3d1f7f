//! Named counters: what a mechanism counts per service, registered once here. The
//! simulator counts them by name ([`Counter`]), and summary.json and the run table list
//! every registered counter, in this order, so a new mechanism's counter appears in both
//! by one line in [`COUNTERS`].

use serde::ser::{Serialize, SerializeMap, Serializer};

/// A counter kept per service, run-level (after warmup).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Retries this service's clients sent to its callees.
    RetriesSent,
    /// Times any of this service's client breakers opened.
    BreakerOpens,
}

/// How a counter is named in outputs.
#[derive(Copy, Clone, Debug)]
pub struct CounterDef {
    pub counter: Counter,
    /// Its key in summary.json (`services.NAME.KEY`).
    pub key: &'static str,
    /// Its column heading in the run table.
    pub heading: &'static str,
}

/// Every counter, in output order.
pub const COUNTERS: [CounterDef; 2] = [
    CounterDef { counter: Counter::RetriesSent, key: "retries_sent", heading: "retries" },
    CounterDef { counter: Counter::BreakerOpens, key: "breaker_opens", heading: "breakers" },
];

/// One value per registered counter.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts([u64; COUNTERS.len()]);

impl Counts {
    #[inline]
    pub fn add(&mut self, c: Counter) {
        self.0[c as usize] += 1;
    }

    pub fn get(&self, c: Counter) -> u64 {
        self.0[c as usize]
    }

    /// Each registered counter with its value, in output order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static CounterDef, u64)> + '_ {
        COUNTERS.iter().map(|d| (d, self.get(d.counter)))
    }
}

/// As the counters' keys and values, flattened into the service's object.
impl Serialize for Counts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(COUNTERS.len()))?;
        for (def, value) in self.iter() {
            map.serialize_entry(def.key, &value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The registry is indexed by the enum: each definition sits at its counter's index.
    #[test]
    fn definitions_sit_at_their_counters_index() {
        for (i, def) in COUNTERS.iter().enumerate() {
            assert_eq!(def.counter as usize, i, "{}", def.key);
        }
        let mut c = Counts::default();
        c.add(Counter::BreakerOpens);
        c.add(Counter::BreakerOpens);
        assert_eq!(c.iter().map(|(d, v)| (d.key, v)).collect::<Vec<_>>(), [("retries_sent", 0), ("breaker_opens", 2)]);
    }
}

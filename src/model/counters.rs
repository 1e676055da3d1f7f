//! Named counters: what a mechanism counts per service. Each is a `static`
//! [`CounterDef`] declared where it is counted (the client's own here, a stage's in its
//! module: `ClientStage::COUNTERS`), and [`all`] lists them in output order: summary.json
//! and the run table iterate it, so a new mechanism's counter appears in both by being
//! declared once.

use crate::model::resilience::STAGE_COUNTERS;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// How a counter is named in outputs.
#[derive(Debug)]
pub struct CounterDef {
    /// Its key in summary.json (`services.NAME.KEY`).
    pub key: &'static str,
    /// Its column heading in the run table (at most 9 characters).
    pub heading: &'static str,
}

/// A counter, by its definition (compared by address: each definition is a `static`).
#[derive(Copy, Clone, Debug)]
pub struct Counter(pub &'static CounterDef);

impl PartialEq for Counter {
    fn eq(&self, other: &Counter) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

/// Retries this service's clients sent to its callees (after warmup).
pub static RETRIES_SENT: CounterDef = CounterDef { key: "retries_sent", heading: "retries" };

/// Every counter, in output order: the client's own, then each stage kind's.
pub fn all() -> impl Iterator<Item = &'static CounterDef> {
    std::iter::once(&RETRIES_SENT).chain(STAGE_COUNTERS.iter().flat_map(|stage| stage.iter().copied()))
}

/// One value per counter of [`all`], in its order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counts(Vec<u64>);

impl Default for Counts {
    fn default() -> Counts {
        Counts(vec![0; all().count()])
    }
}

impl Counts {
    pub fn add(&mut self, c: Counter) {
        let i = all().position(|d| std::ptr::eq(d, c.0)).expect("every counter is listed by `all`");
        self.0[i] += 1;
    }

    pub fn get(&self, c: Counter) -> u64 {
        self.iter().find(|(d, _)| std::ptr::eq(*d, c.0)).map_or(0, |(_, v)| v)
    }

    /// Each counter with its value, in output order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static CounterDef, u64)> + '_ {
        all().zip(self.0.iter().copied())
    }
}

/// As the counters' keys and values, flattened into the service's object.
impl Serialize for Counts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (def, value) in self.iter() {
            map.serialize_entry(def.key, &value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::resilience::breaker::OPENS;

    /// Counters are kept apart by address, in output order, and every key is unique.
    #[test]
    fn counts_by_definition_in_output_order() {
        let mut c = Counts::default();
        c.add(Counter(&OPENS));
        c.add(Counter(&OPENS));
        c.add(Counter(&RETRIES_SENT));
        let listed: Vec<_> = c.iter().map(|(d, v)| (d.key, v)).collect();
        assert_eq!(listed, [("retries_sent", 1), ("breaker_opens", 2)]);
        assert_eq!((c.get(Counter(&OPENS)), c.get(Counter(&RETRIES_SENT))), (2, 1));
        let mut keys: Vec<_> = all().map(|d| d.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), all().count());
    }
}

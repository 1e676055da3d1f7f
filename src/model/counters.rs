//! Named counters and per-bucket series: what a mechanism counts per service, and what
//! it shows per time bucket. Each is a `static` declared where it is counted (the
//! client's own here, a stage's in its module: `ClientStage::COUNTERS` and
//! `ClientStage::SERIES`). [`all`] lists the counters in output order (summary.json and
//! the run table iterate it) and [`series`] the per-bucket series (timeseries.csv and the
//! run chart iterate it), so a new mechanism's numbers appear everywhere by being declared
//! once.

use crate::model::resilience::hedging::{HEDGE_SERIES, HEDGES_SENT};
use crate::model::resilience::{
    SERVER_STAGE_COUNTERS, SERVER_STAGE_SERIES, STAGE_COUNTERS, STAGE_SERIES, server_stage_kinds_reported,
    stage_kinds_reported,
};
use crate::model::{Policy, Scenario, Service};
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

/// The client's own counters: retries, and hedges (`resilience::hedging`).
const CLIENT_COUNTERS: [&CounterDef; 2] = [&RETRIES_SENT, &HEDGES_SENT];

/// Every counter, in output order: the client's own, then each client stage kind's, then
/// each server stage kind's.
pub fn all() -> impl Iterator<Item = &'static CounterDef> {
    CLIENT_COUNTERS
        .into_iter()
        .chain(STAGE_COUNTERS.iter().flat_map(|stage| stage.iter().copied()))
        .chain(SERVER_STAGE_COUNTERS.iter().flat_map(|stage| stage.iter().copied()))
}

/// One value per counter of [`all`], in its order, and whether each is reported: a
/// mechanism that is not `ClientStage::ALWAYS_REPORTED` shows its counters only in runs of
/// a scenario that uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counts(Vec<u64>, Vec<bool>);

impl Default for Counts {
    /// Every counter reported.
    fn default() -> Counts {
        Counts(vec![0; all().count()], vec![true; all().count()])
    }
}

impl Counts {
    /// The counters of a run of a scenario with `policies` and `services`: each
    /// mechanism's reported if it is always reported or some policy (client stages) or
    /// service (server stages) uses it.
    pub fn for_scenario(policies: &[Policy], services: &[Service]) -> Counts {
        let client = STAGE_COUNTERS.iter().zip(stage_kinds_reported(policies));
        let server = SERVER_STAGE_COUNTERS.iter().zip(server_stage_kinds_reported(services));
        // Hedging came after the outputs were fixed: reported only where it is used.
        let hedges = policies.iter().any(|p| p.hedging.is_some());
        let reported = [true, hedges]
            .into_iter()
            .chain(client.chain(server).flat_map(|(defs, shown)| defs.iter().map(move |_| shown)))
            .collect();
        Counts(vec![0; all().count()], reported)
    }

    pub fn add(&mut self, c: Counter) {
        let i = all().position(|d| std::ptr::eq(d, c.0)).expect("every counter is listed by `all`");
        self.0[i] += 1;
    }

    pub fn get(&self, c: Counter) -> u64 {
        all().zip(self.0.iter().copied()).find(|(d, _)| std::ptr::eq(*d, c.0)).map_or(0, |(_, v)| v)
    }

    /// Each reported counter with its value, in output order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static CounterDef, u64)> + '_ {
        all().zip(self.0.iter().copied()).zip(self.1.iter()).filter(|(_, shown)| **shown).map(|(c, _)| c)
    }
}

/// As the counters' keys and values, flattened into the service's object.
impl Serialize for Counts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.iter().count()))?;
        for (def, value) in self.iter() {
            map.serialize_entry(def.key, &value)?;
        }
        map.end()
    }
}

/// A per-bucket series of each service: a column of timeseries.csv.
#[derive(Debug)]
pub struct SeriesDef {
    /// Its column in timeseries.csv (service rows).
    pub column: &'static str,
    pub kind: SeriesKind,
    /// Which runs report it: `None`, every run (the series the outputs were fixed with);
    /// else the runs of scenarios for which this says yes (a mechanism added later shows
    /// its column and chart panel only where it is used, so that every other scenario's
    /// outputs stay byte-identical).
    pub used: Option<fn(&Scenario) -> bool>,
    /// The caption of its own line panel in the run chart (one line per service: a
    /// `Count` as a rate per second, a `Level` as it is), if it has one.
    pub panel: Option<&'static str>,
}

#[derive(Debug)]
pub enum SeriesKind {
    /// How many times the counter was counted in the bucket (warmup included).
    Count(&'static CounterDef),
    /// The share of the service's client stages of the declaring kind that are tripped
    /// (`ClientStage::tripped`) at the end of the bucket; drawn in the run chart as a strip
    /// per service, captioned `caption`, or `none` written when no service's ever was.
    Tripped { caption: &'static str, none: &'static str },
    /// A level at the end of the bucket, as the simulator reads it then (replicas ready,
    /// a concurrency limit).
    Level,
}

/// Retries sent in each bucket (warmup included).
pub static RETRIES: SeriesDef =
    SeriesDef { column: "retries", kind: SeriesKind::Count(&RETRIES_SENT), used: None, panel: None };

/// Replicas of the service taking traffic at the end of each bucket, in runs where some
/// service's instances come and go (`Scenario::instances_vary`).
pub static REPLICAS: SeriesDef = SeriesDef {
    column: "replicas",
    kind: SeriesKind::Level,
    used: Some(|sc| (0..sc.services.len()).any(|s| sc.instances_vary(s))),
    panel: Some("replicas taking traffic per service (autoscaling, restarts)"),
};

/// The series of services themselves (not of a client stage), after the stages' in
/// column order.
pub const SERVICE_SERIES: &[&SeriesDef] = &[&REPLICAS];

/// The client's own series: retries, and hedges (`resilience::hedging`).
const CLIENT_SERIES: [&SeriesDef; 2] = [&RETRIES, &HEDGE_SERIES];

/// Every per-bucket series, in column order: the client's own, each stage kind's, the
/// services' own, then each server stage kind's.
pub fn series() -> impl Iterator<Item = &'static SeriesDef> {
    CLIENT_SERIES
        .into_iter()
        .chain(STAGE_SERIES.iter().flat_map(|stage| stage.iter().copied()))
        .chain(SERVICE_SERIES.iter().copied())
        .chain(SERVER_STAGE_SERIES.iter().flat_map(|stage| stage.iter().copied()))
}

/// How many series [`series`] lists (a bucket keeps one value per series).
pub const SERIES: usize = {
    let (mut n, mut i) = (CLIENT_SERIES.len() + SERVICE_SERIES.len(), 0);
    while i < STAGE_SERIES.len() {
        n += STAGE_SERIES[i].len();
        i += 1;
    }
    let mut i = 0;
    while i < SERVER_STAGE_SERIES.len() {
        n += SERVER_STAGE_SERIES[i].len();
        i += 1;
    }
    n
};

/// The index of `def` in [`series`].
pub fn series_index(def: &SeriesDef) -> usize {
    series().position(|d| std::ptr::eq(d, def)).expect("every series is listed by `series`")
}

/// Which of [`series`] a run reports (`SeriesDef::used`): timeseries.csv's columns and
/// the run chart's panels iterate these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportedSeries([bool; SERIES]);

impl Default for ReportedSeries {
    /// The series every run reports.
    fn default() -> ReportedSeries {
        let mut shown = [false; SERIES];
        for (shown, def) in shown.iter_mut().zip(series()) {
            *shown = def.used.is_none();
        }
        ReportedSeries(shown)
    }
}

impl ReportedSeries {
    /// The series a run of `sc` reports.
    pub fn for_scenario(sc: &Scenario) -> ReportedSeries {
        let mut shown = [false; SERIES];
        for (shown, def) in shown.iter_mut().zip(series()) {
            *shown = def.used.is_none_or(|used| used(sc));
        }
        ReportedSeries(shown)
    }

    /// Each reported series with its index in a bucket's values, in column order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &'static SeriesDef)> + '_ {
        series().enumerate().filter(|(i, _)| self.0[*i])
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
        assert_eq!(
            listed,
            [
                ("retries_sent", 1),
                ("hedges_sent", 0),
                ("breaker_opens", 2),
                ("local_rejections", 0),
                ("ejections", 0),
                ("concurrency_limited", 0)
            ]
        );
        assert_eq!((c.get(Counter(&OPENS)), c.get(Counter(&RETRIES_SENT))), (2, 1));
        // A scenario without outlier detection does not report its counter (outputs
        // written before it existed stay as they were); one that uses it does.
        let keys = |c: Counts| c.iter().map(|(d, _)| d.key).collect::<Vec<_>>();
        assert_eq!(keys(Counts::for_scenario(&[], &[])), ["retries_sent", "breaker_opens", "local_rejections"]);
        let ejecting = Policy {
            outlier_detection: Some(crate::model::policy::OutlierDetection::envoy_defaults()),
            ..Policy::default()
        };
        assert_eq!(keys(Counts::for_scenario(&[ejecting], &[])).last(), Some(&"ejections"));
        let mut keys: Vec<_> = all().map(|d| d.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), all().count());
        let columns: Vec<_> = series().map(|d| d.column).collect();
        assert_eq!(
            (columns.as_slice(), SERIES),
            (
                [
                    "retries",
                    "hedges",
                    "breakers_open",
                    "local_rejections",
                    "ejections",
                    "replicas",
                    "concurrency_limit"
                ]
                .as_slice(),
                7
            )
        );
        assert_eq!(series_index(&crate::model::resilience::breaker::OPEN_SHARE), 2);
    }

    /// A run reports the series the outputs were fixed with, and a later mechanism's only
    /// when its scenario uses it.
    #[test]
    fn series_are_reported_where_used() {
        let columns = |r: &ReportedSeries| r.iter().map(|(i, d)| (i, d.column)).collect::<Vec<_>>();
        assert_eq!(columns(&ReportedSeries::default()), [(0, "retries"), (2, "breakers_open")]);
        let mut sc = crate::scenario::load_str(
            "s.toml",
            "[simulation]\nduration = \"1s\"\n[services.a.endpoints.e]\nlatency = \"1ms\"\n",
        )
        .unwrap();
        assert_eq!(ReportedSeries::for_scenario(&sc), ReportedSeries::default());
        sc.policies.push(Policy {
            outlier_detection: Some(crate::model::policy::OutlierDetection::envoy_defaults()),
            ..Policy::default()
        });
        assert_eq!(
            columns(&ReportedSeries::for_scenario(&sc)),
            [(0, "retries"), (2, "breakers_open"), (4, "ejections")]
        );
        sc.policies[0].hedging = Some(crate::model::policy::Hedging {
            max_attempts: 2,
            delay: crate::engine::SimDuration::ZERO,
            non_fatal: crate::model::OutcomeSet::EMPTY,
        });
        assert_eq!(
            columns(&ReportedSeries::for_scenario(&sc)),
            [(0, "retries"), (1, "hedges"), (2, "breakers_open"), (4, "ejections")]
        );
    }
}

//! The server-side seam: mechanisms that decide, at an instance, whether an arriving
//! request is taken in (the per-instance rate limit, Envoy's adaptive concurrency). Each
//! is a [`ServerStage`] with its config and state in its module; the registry is
//! [`Admission`](super::Admission) (in `resilience/mod.rs`), one line per mechanism, keyed
//! by the `Service` field that configures it. A request refused by a stage ends at once
//! with the stage's outcome, without taking a worker or a queue place.
//!
//! A request's life, as the stages see it: [`admit`](ServerStage::admit) on arrival, stage
//! by stage (the first refusal wins; the stages that had let it in hear it end at once,
//! answered, as Envoy's earlier filters see a later filter's local reply); then, for a
//! stage that [`OBSERVES_ENDS`](ServerStage::OBSERVES_ENDS), [`ended`](ServerStage::ended)
//! when the instance is done with it. A stage with a timer says when it next fires
//! ([`wake_at`](ServerStage::wake_at)) and hears [`tick`](ServerStage::tick) then
//! (`Event::ServerTick` in the simulator). The simulator asks for none of this on an
//! instance whose stages do not observe ends or keep timers, so a service without such a
//! stage pays nothing per request.

use super::stage::{Refusal, Streams};
use crate::engine::SimTime;
use crate::model::counters::{CounterDef, SeriesDef};
use crate::model::lint::Lint;
use crate::model::{Scenario, Service};

/// How a request a stage let in ended, as the stage is told.
#[derive(Copy, Clone, Debug)]
pub struct ServedEnd {
    /// When it arrived at the instance (and passed the stages).
    pub arrived: SimTime,
    pub now: SimTime,
    /// The answer went back to a caller still waiting for it; `false` when nobody waits
    /// any more (the caller gave up, so a proxy sees the stream reset) or the request was
    /// dropped unserved.
    pub answered: bool,
}

/// A service with a server stage, as the stage's lint sees it.
pub struct ServerSite<'a> {
    pub scenario: &'a Scenario,
    /// Its index in `scenario.services`.
    pub service: usize,
}

impl ServerSite<'_> {
    pub fn service(&self) -> &Service {
        &self.scenario.services[self.service]
    }

    /// The TOML key of one of the service's fields, e.g. `services.api.workers`.
    pub fn key(&self, field: &str) -> String {
        format!("services.{}.{field}", self.service().name)
    }
}

/// One server-side mechanism's state for one instance, driven by its config (the
/// service's). Methods the mechanism does not need keep their defaults.
pub trait ServerStage {
    type Config;
    /// The counters this mechanism keeps per service, in output order (each a `static`).
    const COUNTERS: &'static [&'static CounterDef] = &[];
    /// The per-bucket series it adds for each service (`SeriesKind::Level`: the mean of
    /// its instances' [`level`](Self::level)s at the bucket's end), in column order.
    const SERIES: &'static [&'static SeriesDef] = &[];
    /// Whether its counters appear in every run's outputs, or only in runs whose scenario
    /// uses it (as `ClientStage::ALWAYS_REPORTED`).
    const ALWAYS_REPORTED: bool = true;
    /// Whether it must hear when each request it let in ends ([`ended`](Self::ended)).
    const OBSERVES_ENDS: bool = false;
    /// Bytes one instance's state holds outside the stage enum, for the memory estimate
    /// (`sim::estimate`).
    fn heap_bytes(_cfg: &Self::Config) -> usize {
        0
    }
    /// A fresh state for one instance created at `now`, drawing (if it draws) from
    /// `streams`, labelled by the instance.
    fn new(cfg: &Self::Config, streams: &Streams<'_>, now: SimTime) -> Self;
    /// May this request in? `Err` refuses it with the refusal's outcome, counting its
    /// counter (if any) for the service.
    fn admit(&mut self, _cfg: &Self::Config, _now: SimTime) -> Result<(), Refusal> {
        Ok(())
    }
    /// A request it let in ended; returns whether its timer moved (the simulator then
    /// asks [`wake_at`](Self::wake_at) again).
    fn ended(&mut self, _cfg: &Self::Config, _end: &ServedEnd) -> bool {
        false
    }
    /// When its timer next fires, if it keeps one.
    fn wake_at(&self) -> Option<SimTime> {
        None
    }
    /// Its timer fires at `now`.
    fn tick(&mut self, _cfg: &Self::Config, _now: SimTime) {}
    /// The level it shows in its [`SERIES`](Self::SERIES) (a concurrency limit).
    fn level(&self) -> Option<f64> {
        None
    }
    /// What is wrong with `cfg` on the service, found without simulating (`stormcast
    /// check`).
    fn lint(_cfg: &Self::Config, _site: &ServerSite<'_>) -> Vec<Lint> {
        Vec::new()
    }
}

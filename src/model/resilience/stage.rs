//! The client-side seam: every mechanism of a policy that decides about single tries
//! (circuit breaker, bulkhead, retry budget...) is a **stage** with one interface, and the
//! simulator's client loops over a call's stages without knowing which they are.
//!
//! A try's life, as the stages see it (the simulator calls these in this order):
//!
//! 1. [`call_started`](ClientStage::call_started) once per call, before its first try;
//! 2. [`admit`](ClientStage::admit) for every try, stage by stage in [`STAGES`] order: the
//!    first refusal fails the try at the client with that outcome, and later stages do
//!    not see it;
//! 3. [`started`](ClientStage::started) when every stage admitted it;
//! 4. [`ended`](ClientStage::ended) when its outcome reaches the client (answer or
//!    timeout); a stage may report a [`Counter`] to count for the calling service;
//! 5. after a retryable failure, [`admit_retry`](ClientStage::admit_retry), before the
//!    backoff; if a later stage refuses the retry, or it never starts (its own `admit`
//!    refuses it, or the deadline passes during the backoff), every stage that admitted
//!    it hears [`retry_abandoned`](ClientStage::retry_abandoned).
//! 6. a try still out when its hedged call ends (another copy answered, or one failed
//!    fatally) hears [`cancelled`](ClientStage::cancelled) instead of `ended`: it ends
//!    without an outcome (`sim/hedge.rs`).
//!
//! A stage that [`JUDGES_INSTANCES`](ClientStage::JUDGES_INSTANCES) (outlier detection)
//! also learns which of the route's instances each try went to ([`TryEnd::target`]),
//! narrows the balancer's choice ([`eligible`](ClientStage::eligible), asked before each
//! pick among several instances) and hears when an instance leaves the route
//! ([`target_removed`](ClientStage::target_removed)). A stage with a [`period`](ClientStage::period) hears
//! [`tick`](ClientStage::tick) every period from its client's creation (a sweep).
//!
//! Each mechanism's module holds its config, its state, and the state's [`ClientStage`]
//! impl with the counters it keeps and its lint. The registry of stages is
//! `resilience/mod.rs` ([`Stage`](super::Stage)). See ARCHITECTURE.md, "Adding a
//! mechanism".

use crate::engine::{SimDuration, SimTime, StreamRng, stream};
use crate::model::Outcome;
use crate::model::counters::{Counter, CounterDef, SeriesDef};
use crate::model::lint::{Lint, Site};

/// Why a stage refused a try: the outcome the try fails with, and a counter to count for
/// the calling service (a local rejection), if the stage keeps one.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Refusal {
    pub outcome: Outcome,
    pub counter: Option<Counter>,
}

impl From<Outcome> for Refusal {
    fn from(outcome: Outcome) -> Refusal {
        Refusal { outcome, counter: None }
    }
}

/// Where a stage draws random numbers from: its own stream, labelled by the client it
/// belongs to, so no other decision shares it (common random numbers).
pub struct Streams<'a> {
    pub seed: u64,
    /// The client's label, e.g. `edge/frontend->payment/client0`.
    pub client: &'a str,
}

impl Streams<'_> {
    /// The stream `name` of this client (e.g. `throttle`).
    pub fn stream(&self, name: &str) -> StreamRng {
        stream(self.seed, &format!("{}/{name}", self.client))
    }
}

/// How an admitted try ended, as the stages are told.
#[derive(Copy, Clone, Debug)]
pub struct TryEnd {
    pub outcome: Outcome,
    /// From the try leaving the client to its outcome reaching it.
    pub took: SimDuration,
    /// A retry (not the call's first try).
    pub is_retry: bool,
    pub now: SimTime,
    /// The instance the try went to, as its slot in the route's targets (the callee's
    /// instances taking traffic, in order), or [`TryEnd::GONE`] if it has left them since
    /// (scaled in). Kept for clients with a stage that
    /// [`JUDGES_INSTANCES`](ClientStage::JUDGES_INSTANCES).
    pub target: u32,
}

impl TryEnd {
    /// The `target` of a try whose instance left the route's targets while it was out.
    pub const GONE: u32 = u32::MAX;
}

/// One client-side mechanism's state for one client (one caller instance on one route),
/// driven by its config (shared by every client of the policy). Every method has a
/// default that does nothing, so a mechanism implements only the moments it cares about.
pub trait ClientStage {
    type Config;
    /// The counters this mechanism keeps per calling service, in output order (each a
    /// `static`: [`Counter`] compares addresses).
    const COUNTERS: &'static [&'static CounterDef] = &[];
    /// The per-bucket series this mechanism adds for each calling service, in column
    /// order (a `SeriesKind::Tripped` series is the share of this kind's stages tripped).
    const SERIES: &'static [&'static SeriesDef] = &[];
    /// Whether this mechanism keeps retries from multiplying load when the callee
    /// fails (a breaker opens, a budget runs dry, a throttle rejects): a policy that
    /// retries with none of these gets a lint.
    const LIMITS_RETRIES: bool = false;
    /// Whether this mechanism judges the callee's instances one by one: the client then
    /// records each try's [`TryEnd::target`] and asks [`eligible`](Self::eligible) before
    /// each pick.
    const JUDGES_INSTANCES: bool = false;
    /// Whether this mechanism's counters appear in every run's outputs (summary.json, the
    /// run table), or only in runs whose scenario uses it: mechanisms added after the
    /// outputs were fixed, so that a scenario without them keeps byte-identical outputs.
    const ALWAYS_REPORTED: bool = true;
    /// Bytes one client's state holds outside the stage enum (windows, boxed streams),
    /// for the memory estimate (`sim::estimate`).
    fn heap_bytes(_cfg: &Self::Config) -> usize {
        0
    }
    /// A fresh state for one client, drawing (if it draws) from `streams`.
    fn new(cfg: &Self::Config, streams: &Streams<'_>) -> Self;
    /// What is wrong with `cfg` on a call site that uses it, found without simulating
    /// (`stormcast check`). A finding about the config alone is reported at the
    /// policy's first use only (`Site::first_use`).
    fn lint(_cfg: &Self::Config, _site: &Site<'_>) -> Vec<Lint> {
        Vec::new()
    }
    /// A call starts; its first try is about to be asked for.
    fn call_started(&mut self, _cfg: &Self::Config) {}
    /// May this try leave? `Err` refuses it at the client.
    fn admit(&mut self, _cfg: &Self::Config, _now: SimTime) -> Result<(), Refusal> {
        Ok(())
    }
    /// Every stage admitted the try: it leaves now.
    fn started(&mut self, _cfg: &Self::Config, _is_retry: bool) {}
    /// The admitted try ended; returns one of [`COUNTERS`](Self::COUNTERS) to count for
    /// the calling service, if this end changed something the run reports (a breaker
    /// opening).
    fn ended(&mut self, _cfg: &Self::Config, _end: &TryEnd) -> Option<Counter> {
        None
    }
    /// A failed try is to be retried: may it be? Admitting may reserve what the retry
    /// will use; [`retry_abandoned`](Self::retry_abandoned) gives it back.
    fn admit_retry(&mut self, _cfg: &Self::Config) -> bool {
        true
    }
    /// A retry this stage admitted will not start.
    fn retry_abandoned(&mut self, _cfg: &Self::Config) {}
    /// A started try was cancelled by its client (its hedged call ended while it was
    /// out): it ends without an outcome, and frees what it held.
    fn cancelled(&mut self, _cfg: &Self::Config, _is_retry: bool) {}
    /// The slots of the route's targets (`targets` of them) the balancer may choose among
    /// now; `None` lets it choose among all.
    fn eligible(&mut self, _cfg: &Self::Config, _targets: u32) -> Option<&[u32]> {
        None
    }
    /// The instance in `slot` of the route's targets has left them (scaled in): later
    /// slots move down by one.
    fn target_removed(&mut self, _cfg: &Self::Config, _slot: u32) {}
    /// The period of this mechanism's timer, if it keeps one.
    fn period(_cfg: &Self::Config) -> Option<SimDuration> {
        None
    }
    /// The timer fires at `now`, the route having `targets` instances; returns one of
    /// [`COUNTERS`](Self::COUNTERS) to count, with how many times.
    fn tick(&mut self, _cfg: &Self::Config, _now: SimTime, _targets: u32) -> Option<(Counter, u32)> {
        None
    }
    /// Whether the stage is tripped now (a breaker open or half-open), for the share of
    /// tripped clients per bucket; `None` for a stage that cannot trip.
    fn tripped(&self) -> Option<bool> {
        None
    }
}

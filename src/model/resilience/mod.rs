//! Client resilience state machines (circuit breaker, retry budgets, backoff, rate
//! limiter, outlier detection), each driven by simulated time only, and testable alone; and the registry
//! of client stages ([`Stage`]): the mechanisms a policy's tries pass, in order.
//!
//! Each machine takes its configuration by reference on every call: the simulator keeps
//! one state per (caller instance, callee service) and one config per policy, so a state
//! never stores a copy of it. The exception is the rate limiter's `TokenBucket`, which
//! belongs to one server instance and keeps its two converted numbers.
//!
//! Decisions use integer simulated time and integer fixed point (parts per million for
//! rates, milli-tokens for retry budgets, femto-tokens for the rate limiter) so that
//! thresholds are exact and runs are reproducible bit for bit. Floats appear only where
//! a validated `f64` config value is converted, and in the exponential backoff product.
//! Nothing here allocates per call: windows are fixed rings built when a state is
//! entered.

pub mod admission;
pub mod admission_control;
pub mod backoff;
pub mod breaker;
pub mod budget;
pub mod bulkhead;
pub mod concurrency;
mod fixed;
pub mod hedging;
pub mod outlier;
pub mod rate_limit;
pub mod stage;
pub mod throttling;

pub use admission::{ServedEnd, ServerSite, ServerStage};
pub use backoff::{nominal_delay, retry_delay};
pub use breaker::{BreakerMetrics, BreakerState, CircuitBreaker, Transition};
pub use budget::RetryBudgetState;
pub use rate_limit::TokenBucket;
pub use stage::{ClientStage, Refusal, Streams, TryEnd};

use crate::engine::{SimDuration, SimTime};
use crate::model::counters::{Counter, CounterDef, SeriesDef};
use crate::model::lint::{Lint, Site};
use crate::model::{Policy, Service};
use admission_control::AdmissionController;
use bulkhead::BulkheadState;
use concurrency::GradientController;
use outlier::OutlierDetector;
use throttling::Throttle;

/// Declares the registry of client stages, in the order a try passes them: the
/// [`Stage`] enum (a stage's config and one client's state), [`Stage::of`] (a policy's
/// stages), [`STAGE_COUNTERS`], [`STAGE_SERIES`], [`limits_retries`], [`stage_bytes`] and
/// [`stage_lints`]. A mechanism is one line: its variant,
/// its `Policy` field and its state type (which implements [`ClientStage`]).
macro_rules! stages {
    ($($variant:ident: $field:ident => $state:ty,)*) => {
        /// A stage: its config and this client's state. Static dispatch: the simulator
        /// calls these on every try.
        pub enum Stage<'a> {
            $($variant(&'a <$state as ClientStage>::Config, $state),)*
        }

        /// The counters of every stage kind, in [`Stage`] order (`model::counters` lists
        /// them after the client's own).
        pub const STAGE_COUNTERS: &[&[&CounterDef]] = &[$(<$state as ClientStage>::COUNTERS,)*];

        /// The per-bucket series of every stage kind, in [`Stage`] order.
        pub const STAGE_SERIES: &[&[&SeriesDef]] = &[$(<$state as ClientStage>::SERIES,)*];

        /// For each stage kind, in [`Stage`] order, whether its counters appear in the
        /// outputs of a run of a scenario with `policies` (`ClientStage::ALWAYS_REPORTED`,
        /// or some policy uses it).
        pub fn stage_kinds_reported(policies: &[Policy]) -> Vec<bool> {
            vec![$(<$state as ClientStage>::ALWAYS_REPORTED || policies.iter().any(|p| p.$field.is_some()),)*]
        }

        /// Runs `$call` on the stage's own state with its config, whichever stage it is.
        macro_rules! each {
            ($stage:expr, |$cfg:ident, $st:ident| $call:expr) => {
                match $stage {
                    $(Stage::$variant($cfg, $st) => $call,)*
                }
            };
        }

        impl<'a> Stage<'a> {
            /// The stages of `policy`, fresh, in order, for the client `streams` names.
            pub fn of(policy: &'a Policy, streams: &Streams<'_>) -> Vec<Stage<'a>> {
                let mut stages = Vec::new();
                $(if let Some(cfg) = &policy.$field {
                    stages.push(Stage::$variant(cfg, <$state as ClientStage>::new(cfg, streams)));
                })*
                stages
            }
        }

        /// Whether `policy` has a stage that keeps its retries from multiplying load
        /// (`ClientStage::LIMITS_RETRIES`).
        pub fn limits_retries(policy: &Policy) -> bool {
            false $(|| (policy.$field.is_some() && <$state as ClientStage>::LIMITS_RETRIES))*
        }

        /// The bytes one client of `policy` holds for its stages: the enum's, and each
        /// stage's own (`ClientStage::heap_bytes`).
        pub fn stage_bytes(policy: &Policy) -> usize {
            let mut bytes = 0;
            $(if let Some(cfg) = &policy.$field {
                bytes += std::mem::size_of::<Stage<'_>>() + <$state as ClientStage>::heap_bytes(cfg);
            })*
            bytes
        }

        /// What each stage of `policy` finds wrong on one call site that uses it.
        pub fn stage_lints(policy: &Policy, site: &Site<'_>) -> Vec<Lint> {
            let mut found = Vec::new();
            $(if let Some(cfg) = &policy.$field {
                found.extend(<$state as ClientStage>::lint(cfg, site));
            })*
            found
        }
    };
}

stages! {
    CircuitBreaker: circuit_breaker => CircuitBreaker,
    Bulkhead: bulkhead => BulkheadState,
    RetryBudget: retry_budget => RetryBudgetState,
    AdaptiveThrottling: adaptive_throttling => Throttle,
    AdmissionControl: admission_control => AdmissionController,
    OutlierDetection: outlier_detection => OutlierDetector,
}

impl Stage<'_> {
    #[inline]
    pub fn call_started(&mut self) {
        each!(self, |cfg, state| state.call_started(cfg))
    }
    #[inline]
    pub fn admit(&mut self, now: SimTime) -> Result<(), Refusal> {
        each!(self, |cfg, state| state.admit(cfg, now))
    }
    #[inline]
    pub fn started(&mut self, is_retry: bool) {
        each!(self, |cfg, state| state.started(cfg, is_retry))
    }
    #[inline]
    pub fn ended(&mut self, end: &TryEnd) -> Option<Counter> {
        each!(self, |cfg, state| state.ended(cfg, end))
    }
    #[inline]
    pub fn admit_retry(&mut self) -> bool {
        each!(self, |cfg, state| state.admit_retry(cfg))
    }
    #[inline]
    pub fn retry_abandoned(&mut self) {
        each!(self, |cfg, state| state.retry_abandoned(cfg))
    }
    #[inline]
    pub fn cancelled(&mut self, is_retry: bool) {
        each!(self, |cfg, state| state.cancelled(cfg, is_retry))
    }
    /// Whether the stage judges the callee's instances (`ClientStage::JUDGES_INSTANCES`).
    pub fn judges_instances(&self) -> bool {
        fn judges<S: ClientStage>(_: &S) -> bool {
            S::JUDGES_INSTANCES
        }
        each!(self, |_cfg, state| judges(state))
    }
    /// The slots of the route's `targets` the balancer may choose among; `None`: all.
    #[inline]
    pub fn eligible(&mut self, targets: u32) -> Option<&[u32]> {
        each!(self, |cfg, state| state.eligible(cfg, targets))
    }
    /// The instance in `slot` of the route's targets has left them.
    pub fn target_removed(&mut self, slot: u32) {
        each!(self, |cfg, state| state.target_removed(cfg, slot))
    }
    /// The period of the stage's timer, if it keeps one.
    pub fn period(&self) -> Option<SimDuration> {
        fn period<S: ClientStage>(cfg: &S::Config, _: &S) -> Option<SimDuration> {
            S::period(cfg)
        }
        each!(self, |cfg, state| period(*cfg, state))
    }
    /// The stage's timer fires at `now`; what to count, how many times.
    pub fn tick(&mut self, now: SimTime, targets: u32) -> Option<(Counter, u32)> {
        each!(self, |cfg, state| state.tick(cfg, now, targets))
    }
    /// Whether the stage is tripped now, with the series it counts in; `None` for a
    /// stage that cannot trip.
    pub fn tripped(&self) -> Option<(bool, &'static [&'static SeriesDef])> {
        fn with<S: ClientStage>(state: &S) -> Option<(bool, &'static [&'static SeriesDef])> {
            state.tripped().map(|t| (t, S::SERIES))
        }
        each!(self, |_cfg, state| with(state))
    }
}

/// Declares the registry of server stages (`admission.rs`), in the order an arriving
/// request passes them: the [`Admission`] enum, [`Admission::of`],
/// [`SERVER_STAGE_COUNTERS`], [`SERVER_STAGE_SERIES`], [`server_stage_kinds_reported`], [`server_stage_bytes`] and
/// [`server_stage_lints`].
/// A mechanism is one line: its variant, its `Service` field and its state type (a
/// [`ServerStage`]).
macro_rules! server_stages {
    ($($variant:ident: $field:ident => $state:ty,)*) => {
        /// A server stage: its config and one instance's state.
        pub enum Admission<'a> {
            $($variant(&'a <$state as ServerStage>::Config, $state),)*
        }

        /// The counters of every server stage kind, in [`Admission`] order
        /// (`model::counters` lists them after the client stages').
        pub const SERVER_STAGE_COUNTERS: &[&[&CounterDef]] = &[$(<$state as ServerStage>::COUNTERS,)*];

        /// The per-bucket series of every server stage kind, in [`Admission`] order.
        pub const SERVER_STAGE_SERIES: &[&[&SeriesDef]] = &[$(<$state as ServerStage>::SERIES,)*];

        /// For each server stage kind, in [`Admission`] order, whether its counters appear
        /// in the outputs of a run of a scenario with `services`.
        pub fn server_stage_kinds_reported(services: &[Service]) -> Vec<bool> {
            vec![$(<$state as ServerStage>::ALWAYS_REPORTED || services.iter().any(|s| s.$field.is_some()),)*]
        }

        /// The bytes one instance of `service` holds for its server stages: the enum's, and
        /// each stage's own (`ServerStage::heap_bytes`).
        pub fn server_stage_bytes(service: &Service) -> usize {
            let mut bytes = 0;
            $(if let Some(cfg) = &service.$field {
                bytes += std::mem::size_of::<Admission<'_>>() + <$state as ServerStage>::heap_bytes(cfg);
            })*
            bytes
        }

        /// What each server stage of the service at `site` finds wrong with its config.
        pub fn server_stage_lints(site: &ServerSite<'_>) -> Vec<Lint> {
            let mut found = Vec::new();
            $(if let Some(cfg) = &site.service().$field {
                found.extend(<$state as ServerStage>::lint(cfg, site));
            })*
            found
        }

        /// Runs `$call` on the server stage's own state with its config.
        macro_rules! each_server {
            ($stage:expr, |$cfg:ident, $st:ident| $call:expr) => {
                match $stage {
                    $(Admission::$variant($cfg, $st) => $call,)*
                }
            };
        }

        impl<'a> Admission<'a> {
            /// The server stages of `service`, fresh, for one instance created at `now`
            /// (`streams` labelled by the instance), in order.
            pub fn of(service: &'a Service, streams: &Streams<'_>, now: SimTime) -> Vec<Admission<'a>> {
                let mut stages = Vec::new();
                $(if let Some(cfg) = &service.$field {
                    stages.push(Admission::$variant(cfg, <$state as ServerStage>::new(cfg, streams, now)));
                })*
                stages
            }
        }
    };
}

server_stages! {
    RateLimit: rate_limit => TokenBucket,
    AdaptiveConcurrency: adaptive_concurrency => GradientController,
}

impl Admission<'_> {
    /// May this request in at `now`?
    #[inline]
    pub fn admit(&mut self, now: SimTime) -> Result<(), Refusal> {
        each_server!(self, |cfg, state| state.admit(cfg, now))
    }
    /// Whether the stage hears each admitted request's end (`ServerStage::OBSERVES_ENDS`).
    pub fn observes_ends(&self) -> bool {
        fn observes<S: ServerStage>(_: &S) -> bool {
            S::OBSERVES_ENDS
        }
        each_server!(self, |_cfg, state| observes(state))
    }
    /// A request the stage let in ended; whether its timer moved.
    pub fn ended(&mut self, end: &ServedEnd) -> bool {
        each_server!(self, |cfg, state| state.ended(cfg, end))
    }
    /// When the stage's timer next fires.
    pub fn wake_at(&self) -> Option<SimTime> {
        each_server!(self, |_cfg, state| state.wake_at())
    }
    /// The stage's timer fires at `now`.
    pub fn tick(&mut self, now: SimTime) {
        each_server!(self, |cfg, state| state.tick(cfg, now))
    }
    /// The stage's level now, with the series it shows in; `None` for a stage without one.
    pub fn level(&self) -> Option<(f64, &'static [&'static SeriesDef])> {
        fn with<S: ServerStage>(state: &S) -> Option<(f64, &'static [&'static SeriesDef])> {
            state.level().map(|v| (v, S::SERIES))
        }
        each_server!(self, |_cfg, state| with(state))
    }
}

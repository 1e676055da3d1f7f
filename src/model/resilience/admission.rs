//! The server-side seam: mechanisms that decide, at an instance, whether an arriving
//! request is taken in (today the per-instance rate limit; later admission control and
//! adaptive concurrency limits). Each is a [`ServerStage`] with its config and state in
//! its module; the registry is [`Admission`] (in `resilience/mod.rs`), one line per
//! mechanism, keyed by the `Service` field that configures it. A request refused by a
//! stage ends at once with the stage's outcome, without taking a worker or a queue place.

use crate::engine::SimTime;
use crate::model::Outcome;

/// One server-side mechanism's state for one instance, driven by its config (the
/// service's). Methods the mechanism does not need keep their defaults.
pub trait ServerStage {
    type Config;
    /// A fresh state for one instance.
    fn new(cfg: &Self::Config) -> Self;
    /// May this request in? `Err(outcome)` refuses it.
    fn admit(&mut self, _cfg: &Self::Config, _now: SimTime) -> Result<(), Outcome> {
        Ok(())
    }
}

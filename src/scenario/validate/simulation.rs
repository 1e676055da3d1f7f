//! `[simulation]`: the run's length, warm-up, buckets, seed and network delay.

use super::{MAX_BUCKETS, Validator, span_of, what};
use crate::engine::SimDuration;
use crate::model::Simulation;
use crate::scenario::error::Issue;
use crate::scenario::raw::{RawScenario, RawSimulation};

impl Validator {
    pub(super) fn simulation(&mut self, raw: &RawScenario) -> Simulation {
        // Until a valid `duration` is known, nothing is "past the end of the run", so one
        // mistake does not cascade into errors about every fault and profile step.
        let mut sim = Simulation {
            duration: SimDuration::MAX,
            warmup: SimDuration::ZERO,
            bucket: SimDuration::from_secs(1),
            seed: 1,
            network: None,
        };
        let Some(s) = &raw.simulation else {
            self.issues.push(
                Issue::unlocated("missing [simulation] table")
                    .with_help("a scenario needs at least `[simulation]` with `duration = \"...\"`"),
            );
            return sim;
        };
        let s: &RawSimulation = s.get_ref();
        let ctx = "[simulation]";
        let mut duration_valid = false;
        match &s.duration {
            Some(d) => match self.positive_duration(d, &what("duration", ctx)) {
                Some(duration) => {
                    sim.duration = duration;
                    duration_valid = true;
                }
                None => sim.duration = SimDuration::MAX,
            },
            None => self.error_help(
                raw.simulation.as_ref().map_or(0..0, span_of),
                "missing `duration` in [simulation]",
                "add e.g. `duration = \"120s\"`",
            ),
        }
        if let Some(w) = &s.warmup
            && let Some(warmup) = self.duration(w, &what("warmup", ctx))
        {
            if warmup >= sim.duration && s.duration.is_some() {
                self.error(w.span(), format!("`warmup` ({warmup}) must be shorter than `duration` ({})", sim.duration));
            }
            sim.warmup = warmup;
        }
        if let Some(b) = &s.bucket {
            sim.bucket = self.positive_duration(b, &what("bucket", ctx)).unwrap_or(sim.bucket);
        }
        let buckets = sim.duration.as_nanos().div_ceil(sim.bucket.as_nanos().max(1));
        if let Some(at) = s.bucket.as_ref().map(|b| b.span()).or(s.duration.as_ref().map(|d| d.span()))
            && duration_valid
            && buckets > MAX_BUCKETS
        {
            self.error_help(
                at,
                format!(
                    "`bucket` ({}) cuts the {} run into {buckets} time buckets; at most {MAX_BUCKETS} (each is kept per load and service, and written as CSV rows)",
                    sim.bucket, sim.duration
                ),
                format!("use `bucket = \"{}\"` or longer", SimDuration::from_nanos(sim.duration.as_nanos().div_ceil(MAX_BUCKETS))),
            );
        }
        if let Some(seed) = &s.seed {
            sim.seed = self.count(seed, &what("seed", ctx), 0, u64::MAX, None).unwrap_or(1);
        }
        if let Some(n) = &s.network {
            sim.network = self.dist(n, &what("network", ctx));
        }
        sim
    }
}

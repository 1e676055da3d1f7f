//! Envoy's admission control filter (`envoy.filters.http.admission_control`; the SRE
//! book's client-side throttling with knobs; `reference/resilience-semantics.md` section
//! 4.6 and worked example 9), configured in a policy as `admission_control = { ... }`.
//!
//! Each client keeps, over the last `sampling_window`, the tries whose outcome came back
//! (`n_total`) and those that succeeded (`n_success`: ended `ok`, as an HTTP answer below
//! 500 is a success; `error`, a timeout, a refusal by the server and a crashed instance
//! are not). Tries this filter rejects are not recorded (the filter records the
//! answers of the requests it let through). Each new try is rejected locally (it fails
//! at once as `throttled`, counted in `local_rejections`) with probability
//!
//! `min(max_rejection_probability, max(0, (n_total - n_success / sr_threshold) / (n_total + 1)) ^ (1 / aggression))`
//!
//! except when the window's average rate, `n_total / sampling_window`, is below
//! `rps_threshold`: then nothing is rejected. `aggression` below 1 counts as 1, as in
//! Envoy. One uniform number is drawn per try from the client's own stream. The window
//! is kept in whole seconds, as adaptive throttling's (`throttling::SecondWindow`).

use super::stage::{ClientStage, Refusal, Streams, TryEnd};
use super::throttling::{LOCAL_REJECTIONS, SecondWindow};
use crate::engine::{SimDuration, SimTime, StreamRng};
use crate::format::two_decimals;
use crate::model::Outcome;
use crate::model::counters::Counter;
use crate::model::lint::{Lint, LintKind, Site};
use rand::RngExt;

/// The validated `admission_control` table (Envoy's defaults in brackets).
#[derive(Clone, Debug, PartialEq)]
pub struct AdmissionControl {
    /// How far back answers are counted [30 s]; whole seconds.
    pub sampling_window: SimDuration,
    /// The success rate below which tries are rejected, in (0, 1] [0.95].
    pub sr_threshold: f64,
    /// How steeply the rejection probability grows [1.0]; below 1 counts as 1.
    pub aggression: f64,
    /// Below this average rate (answers per second over the window) nothing is
    /// rejected [0].
    pub rps_threshold: f64,
    /// The highest rejection probability, in [0, 1] [0.8].
    pub max_rejection_probability: f64,
}

impl AdmissionControl {
    /// The window in whole seconds (at least 1).
    pub fn seconds(&self) -> u64 {
        SecondWindow::seconds_in(self.sampling_window)
    }

    /// The rejection probability for `total` answers of which `success` succeeded.
    pub fn rejection_probability(&self, total: u64, success: u64) -> f64 {
        if (total as f64) < self.rps_threshold * self.seconds() as f64 {
            return 0.0;
        }
        let base = ((total as f64 - success as f64 / self.sr_threshold) / (total as f64 + 1.0)).max(0.0);
        base.powf(1.0 / self.aggression.max(1.0)).min(self.max_rejection_probability)
    }
}

/// `aggression` below 1: Envoy treats it as 1, so the value written has no effect.
pub const AGGRESSION_BELOW_ONE: LintKind = LintKind::Stage("admission-control-aggression-below-one");

/// One client's filter: `(n_total, n_success)` over the window, and its stream.
#[derive(Debug)]
pub struct AdmissionController {
    window: SecondWindow,
    /// Boxed, as the throttle's.
    rng: Box<StreamRng>,
}

impl ClientStage for AdmissionController {
    type Config = AdmissionControl;
    // Its rejections count in `throttling::LOCAL_REJECTIONS`, which that module declares.
    const LIMITS_RETRIES: bool = true;

    /// Its per-second slots and its boxed stream.
    fn heap_bytes(cfg: &AdmissionControl) -> usize {
        16 * cfg.seconds() as usize + std::mem::size_of::<StreamRng>()
    }

    fn new(cfg: &AdmissionControl, streams: &Streams<'_>) -> AdmissionController {
        AdmissionController { window: SecondWindow::new(cfg.seconds()), rng: Box::new(streams.stream("admission")) }
    }

    fn admit(&mut self, cfg: &AdmissionControl, now: SimTime) -> Result<(), Refusal> {
        let (total, success) = self.window.sums(now);
        let p = cfg.rejection_probability(total, success);
        let u: f64 = self.rng.random();
        if u < p {
            Err(Refusal { outcome: Outcome::Throttled, counter: Some(Counter(&LOCAL_REJECTIONS)) })
        } else {
            Ok(())
        }
    }

    fn ended(&mut self, _cfg: &AdmissionControl, end: &TryEnd) -> Option<Counter> {
        self.window.add(end.now, (1, u64::from(end.outcome.is_ok())));
        None
    }

    fn lint(cfg: &AdmissionControl, site: &Site<'_>) -> Vec<Lint> {
        if cfg.aggression >= 1.0 || !site.first_use {
            return Vec::new();
        }
        vec![Lint {
            kind: AGGRESSION_BELOW_ONE,
            path: site.path(),
            keys: vec![site.key("admission_control.aggression")],
            message: format!(
                "the admission control of {} has aggression = {}: Envoy treats values below 1 as 1, so it \
                 rejects as aggression = 1 does; raise it to reject more steeply",
                site.label,
                two_decimals(cfg.aggression)
            ),
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;

    fn cfg(aggression: f64, rps_threshold: f64) -> AdmissionControl {
        AdmissionControl {
            sampling_window: SimDuration::from_secs(30),
            sr_threshold: 0.95,
            aggression,
            rps_threshold,
            max_rejection_probability: 0.8,
        }
    }

    /// The reference's worked example 9: 100 answers, 80 successes, sr_threshold 0.95:
    /// (100 - 84.21) / 101 = 0.156; aggression 2 gives its square root, 0.395; the cap is
    /// 0.8; aggression below 1 counts as 1.
    #[test]
    fn probability_matches_the_worked_example() {
        let p = cfg(1.0, 0.0).rejection_probability(100, 80);
        assert!((p - (100.0 - 80.0 / 0.95) / 101.0).abs() < 1e-12 && (p - 0.156).abs() < 1e-3, "{p}");
        let p2 = cfg(2.0, 0.0).rejection_probability(100, 80);
        assert!((p2 - p.sqrt()).abs() < 1e-12 && (p2 - 0.395).abs() < 1e-3, "{p2}");
        assert_eq!(cfg(1.0, 0.0).rejection_probability(100, 0), 0.8);
        assert_eq!(cfg(0.5, 0.0).rejection_probability(100, 80), p);
        assert_eq!(cfg(1.0, 0.0).rejection_probability(100, 96), 0.0);
        // 100 answers in 30 s is 3.3/s: below an rps_threshold of 4, nothing is rejected.
        assert_eq!(cfg(1.0, 4.0).rejection_probability(100, 0), 0.0);
        assert_eq!(cfg(1.0, 3.0).rejection_probability(100, 0), 0.8);
    }

    /// A trace by hand: answers are recorded as they come back (only `ok` succeeds), the
    /// filter's own rejections are not, and each try draws once from the client's stream.
    #[test]
    fn records_answers_and_rejects_with_the_documented_probability() {
        let c = cfg(1.0, 0.0);
        let mut f = AdmissionController { window: SecondWindow::new(30), rng: Box::new(stream(3, "t")) };
        let mut draws = stream(3, "t");
        let now = SimTime::ZERO + SimDuration::from_secs(1);
        let end = |outcome| TryEnd { outcome, took: SimDuration::ZERO, is_retry: false, now, target: 0 };
        for outcome in [Outcome::Ok, Outcome::Error, Outcome::Timeout, Outcome::Rejected] {
            f.ended(&c, &end(outcome));
        }
        assert_eq!(f.window.sums(now), (4, 1));
        let mut rejected = 0;
        for _ in 0..20 {
            let u: f64 = draws.random();
            let (total, success) = f.window.sums(now);
            let p = c.rejection_probability(total, success);
            let verdict = f.admit(&c, now);
            assert_eq!(verdict.is_err(), u < p);
            rejected += u64::from(verdict.is_err());
            if verdict.is_ok() {
                f.ended(&c, &end(Outcome::Timeout));
            }
        }
        let (total, success) = f.window.sums(now);
        assert_eq!((total + rejected, success), (24, 1));
    }
}

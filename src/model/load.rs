//! Loads: who sends requests, how often, and what counts as good service (SLOs).

use super::dist::Dist;
use super::policy::PolicyId;
use super::service::EndpointRef;
use crate::engine::{SimDuration, SimTime};

#[derive(Clone, Debug, PartialEq)]
pub struct Load {
    pub name: String,
    pub target: EndpointRef,
    pub kind: LoadKind,
    /// The users' own timeout and retries.
    pub policy: Option<PolicyId>,
    pub slo: Option<Slo>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LoadKind {
    /// Open loop: arrivals regardless of answers.
    Open {
        /// Requests per second from t = 0.
        rate: f64,
        arrival: Arrival,
        /// Piecewise-constant changes `(at, rate)`, strictly increasing in time,
        /// every `at` > 0 and < the run's duration.
        profile: Vec<(SimTime, f64)>,
    },
    /// Closed loop: `users` each send, wait for the final outcome, think, repeat.
    Closed { users: u32, think_time: Dist },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Arrival {
    Poisson,
    /// Evenly spaced, the first at t = 0 (or at the rate change).
    Constant,
}

/// `[slo.LOAD]`: violated if, over the run after warmup, the p99 of `ok` requests
/// exceeds `p99` or the success rate falls below `success_rate`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Slo {
    pub p99: Option<SimDuration>,
    pub success_rate: Option<f64>,
}

impl Load {
    /// The spikes of an open load's profile in a run of `end_s` seconds: `(start_s, end_s,
    /// peak rate / base rate)` for each stretch where its rate is above its base `rate`.
    pub fn spikes(&self, end_s: f64) -> Vec<(f64, f64, f64)> {
        let LoadKind::Open { rate: base, profile, .. } = &self.kind else { return Vec::new() };
        let mut out = Vec::new();
        let mut spike_start: Option<(f64, f64)> = None;
        for &(at, rate) in profile {
            let t = at.as_secs_f64();
            match spike_start {
                None if rate > *base => spike_start = Some((t, rate)),
                Some((start, peak)) if rate <= *base => {
                    out.push((start, t, peak / base));
                    spike_start = None;
                }
                Some((start, peak)) => spike_start = Some((start, peak.max(rate))),
                None => {}
            }
        }
        if let Some((start, peak)) = spike_start {
            out.push((start, end_s, peak / base));
        }
        out
    }
}

impl LoadKind {
    /// The rate in force at time `t` (open loop only).
    pub fn rate_at(&self, t: SimTime) -> Option<f64> {
        match self {
            LoadKind::Open { rate, profile, .. } => {
                Some(profile.iter().take_while(|(at, _)| *at <= t).last().map_or(*rate, |&(_, r)| r))
            }
            LoadKind::Closed { .. } => None,
        }
    }
}

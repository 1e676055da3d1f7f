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

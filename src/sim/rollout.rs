//! A rollout in the simulator: each call to the rolled-out service goes to its canary
//! with the controller's weight (a mesh's weighted route: Istio's `VirtualService`
//! weights, which Flagger and Argo Rollouts set, drawn per request; every attempt of a
//! call, retries included, goes to the version its call was sent to, as Envoy keeps a
//! request on the cluster its route picked). The canary is a service of its own, with
//! its own routes from every caller of the stable one (`twin` routes: own clients, so
//! its own breaker and budget state, as an Istio subset is its own Envoy cluster).
//!
//! What the analysis sees is measured where Istio's `reporter="destination"` metrics
//! are, which Flagger's built-in checks query: each request a version's instances
//! answered or refused, with its outcome as the server gave it and its time from
//! arrival to answer. A request the caller gave up on still counts as the server
//! answered it; one sent to a crashed instance never reached it and does not count.

use super::ids::{EndpointId, RouteId, ServiceId};
use super::{Event, Simulator};
use crate::engine::{SimDuration, SimTime, StreamRng, stream};
use crate::model::Outcome;
use crate::model::rollout::{Metric, RolloutPlan};
use crate::rollout::controller::{Controller, Measure};
use crate::rollout::summary::RolloutSummary;
use crate::stats::RunResult;
use rand::RngExt;
use std::collections::VecDeque;

pub(super) struct RolloutRt<'a> {
    plan: &'a RolloutPlan,
    controller: Controller<'a>,
    /// The canary's twin of each route into the stable service, by route.
    twins: Vec<Option<RouteId>>,
    stable: ServiceId,
    canary: ServiceId,
    /// The canary's first endpoint; `plan.endpoints` maps the stable's to its own.
    stable_first: EndpointId,
    canary_first: EndpointId,
    split_rng: StreamRng,
    monitor: Monitor,
}

/// What each version's instances served, kept for the longest window any check uses.
struct Monitor {
    keep: SimDuration,
    canary: VecDeque<Served>,
    stable: VecDeque<Served>,
    exposed: u64,
}

#[derive(Copy, Clone)]
struct Served {
    at: SimTime,
    took: SimDuration,
    ok: bool,
}

impl<'a> RolloutRt<'a> {
    pub(super) fn new(plan: &'a RolloutPlan, seed: u64) -> Self {
        RolloutRt {
            plan,
            controller: Controller::new(&plan.strategy),
            twins: Vec::new(),
            stable: ServiceId::from(plan.stable),
            canary: ServiceId::from(plan.canary),
            stable_first: EndpointId(0),
            canary_first: EndpointId(0),
            split_rng: stream(seed, "rollout/split"),
            monitor: Monitor {
                keep: longest_window(plan),
                canary: VecDeque::new(),
                stable: VecDeque::new(),
                exposed: 0,
            },
        }
    }

    /// The rolled-out service and its canary.
    pub(super) fn services(&self) -> (ServiceId, ServiceId) {
        (self.stable, self.canary)
    }

    /// Sets the canary's twin of each route into the stable service (by route), and
    /// where each version's endpoints start.
    pub(super) fn set_twins(
        &mut self,
        twins: Vec<Option<RouteId>>,
        stable_first: EndpointId,
        canary_first: EndpointId,
    ) {
        (self.twins, self.stable_first, self.canary_first) = (twins, stable_first, canary_first);
    }

    /// Where a new call to `to_endpoint` on `route` goes: unchanged, or to the canary.
    #[inline(never)]
    pub(super) fn split(&mut self, route: RouteId, to_endpoint: EndpointId) -> (RouteId, EndpointId) {
        let weight = self.controller.weight();
        let Some(Some(twin)) = self.twins.get(route.ix()) else { return (route, to_endpoint) };
        let to_canary = match weight {
            0 => false,
            100.. => true,
            w => self.split_rng.random_range(0..100u32) < w,
        };
        if !to_canary {
            return (route, to_endpoint);
        }
        let e = (to_endpoint.0 - self.stable_first.0) as usize;
        let twin_endpoint = self.plan.endpoints[e].expect("validated: every called endpoint has a twin");
        (*twin, EndpointId(self.canary_first.0 + twin_endpoint as u32))
    }

    /// A job on `service` ended with `outcome` after `took` from its arrival.
    #[inline(never)]
    pub(super) fn served(&mut self, service: ServiceId, outcome: Outcome, took: SimDuration, now: SimTime) {
        if outcome == Outcome::Unavailable {
            return; // Never reached a running instance.
        }
        let record = Served { at: now, took, ok: outcome.is_ok() };
        let m = &mut self.monitor;
        if service == self.canary {
            m.exposed += 1;
            m.canary.push_back(record);
        } else if service == self.stable {
            m.stable.push_back(record);
        } else {
            return;
        }
        for q in [&mut m.canary, &mut m.stable] {
            while q.front().is_some_and(|r| now.since(r.at) > m.keep) {
                q.pop_front();
            }
        }
    }
}

/// What the monitor holds at most: every request to the rolled-out service (both
/// versions) over the longest window, at `rate` per second.
pub(super) fn monitor_bytes(plan: &RolloutPlan, rate: f64) -> f64 {
    rate * longest_window(plan).as_secs_f64() * std::mem::size_of::<Served>() as f64
}

/// The longest window a check or measurement of the plan looks back over.
fn longest_window(plan: &RolloutPlan) -> SimDuration {
    use crate::model::rollout::Style;
    match &plan.strategy.style {
        Style::Flagger(f) => f.checks.iter().map(|c| c.window).max(),
        Style::Argo(a) => a.analyses.iter().flat_map(|x| &x.metrics).map(|m| m.window).max(),
    }
    .unwrap_or(SimDuration::ZERO)
}

impl Monitor {
    fn value(records: &VecDeque<Served>, metric: Metric, window: SimDuration, now: SimTime) -> Option<f64> {
        let from = SimTime(now.0.saturating_sub(window.0));
        let in_window = records.iter().rev().take_while(|r| r.at > from);
        let (mut n, mut ok, mut took) = (0u64, 0u64, Vec::new());
        for r in in_window {
            n += 1;
            ok += u64::from(r.ok);
            if metric.is_latency() {
                took.push(r.took);
            }
        }
        if n == 0 {
            return None;
        }
        Some(match metric {
            Metric::SuccessRate => ok as f64 / n as f64,
            Metric::ErrorRate => (n - ok) as f64 / n as f64,
            Metric::Throughput => n as f64 / window.as_secs_f64(),
            Metric::Latency(p) => {
                // Nearest rank: the smallest value with at least q of the sample at or below it.
                let rank = ((p.quantile() * n as f64).ceil() as usize).clamp(1, took.len());
                let (_, v, _) = took.select_nth_unstable(rank - 1);
                v.as_secs_f64() * 1e3
            }
        })
    }
}

impl Measure for Monitor {
    fn canary(&mut self, metric: Metric, window: SimDuration, now: SimTime) -> Option<f64> {
        Monitor::value(&self.canary, metric, window, now)
    }
    fn stable(&mut self, metric: Metric, window: SimDuration, now: SimTime) -> Option<f64> {
        Monitor::value(&self.stable, metric, window, now)
    }
}

impl<'a> Simulator<'a> {
    /// The controller's first wake-up, if it falls inside the run.
    pub(super) fn schedule_rollout(&mut self) {
        if let Some(rt) = &self.rollout {
            let at = rt.controller.first_wake();
            if at < self.horizon {
                self.queue.schedule_at(at, Event::Rollout);
            }
        }
    }

    /// The controller acts, and says when it wakes next.
    pub(super) fn rollout_wake(&mut self) {
        let now = self.now();
        let Some(rt) = self.rollout.as_mut() else { return };
        if let Some(next) = rt.controller.wake(now, &mut rt.monitor)
            && next < self.horizon
        {
            self.queue.schedule_at(next, Event::Rollout);
        }
    }

    /// Adds the rollout's account to a finished run's result.
    pub(super) fn finish_rollout(
        rt: Option<Box<RolloutRt<'a>>>,
        sc: &crate::model::Scenario,
        horizon: SimTime,
        result: &mut RunResult,
    ) {
        let Some(rt) = rt else { return };
        let course = rt.controller.into_course(horizon);
        result.rollout =
            Some(RolloutSummary::new(sc, rt.plan, course, rt.monitor.exposed, &result.loads, result.bucket_s));
    }
}

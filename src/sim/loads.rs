//! Loads: open-loop arrivals (Poisson or constant, with a rate profile) and closed-loop
//! users who think between requests.

use super::client::Parent;
use super::ids::{EndpointId, LoadId, PolicyId, RouteId};
use super::{Event, Simulator};
use crate::engine::{SimDuration, SimTime, StreamRng};
use crate::model::{Arrival, LoadKind};
use rand::RngExt;

pub(super) struct LoadRt {
    pub(super) endpoint: EndpointId,
    pub(super) route: RouteId,
    pub(super) policy: Option<PolicyId>,
    pub(super) arrivals_rng: StreamRng,
    pub(super) think_rng: StreamRng,
    /// Index of the next profile change.
    pub(super) next_change: usize,
}

impl Simulator<'_> {
    /// Schedules every load's first arrivals (and rate changes), or its users' first sends.
    pub(super) fn start_loads(&mut self) {
        for (l, load) in self.sc.loads.iter().enumerate() {
            let id = LoadId::from(l);
            match &load.kind {
                LoadKind::Open { arrival, profile, .. } => {
                    match arrival {
                        Arrival::Constant => self.queue.schedule_at(SimTime::ZERO, Event::Arrival(id)),
                        Arrival::Poisson => self.schedule_next_arrival(id),
                    }
                    if let Some(&(at, _)) = profile.first() {
                        self.queue.schedule_at(at, Event::RateChange(id));
                    }
                }
                LoadKind::Closed { users, think_time } => {
                    // Users start after one think time each, not all at t = 0.
                    for _ in 0..*users {
                        let think = think_time.sample(&mut self.loads[id].think_rng);
                        self.queue.schedule_at(SimTime::ZERO + think, Event::UserSend(id));
                    }
                }
            }
        }
    }

    pub(super) fn schedule_next_arrival(&mut self, l: LoadId) {
        let LoadKind::Open { arrival, profile, .. } = &self.sc.loads[l.ix()].kind else { return };
        let now = self.now();
        let rate = self.sc.loads[l.ix()].kind.rate_at(now).unwrap_or(0.0);
        let boundary = profile.get(self.loads[l].next_change).map_or(SimTime::NEVER, |&(at, _)| at);
        if rate <= 0.0 {
            return; // Resumes at the next rate change.
        }
        let gap_s = match arrival {
            Arrival::Poisson => -(1.0 - self.loads[l].arrivals_rng.random::<f64>()).ln() / rate,
            Arrival::Constant => 1.0 / rate,
        };
        let at = now + SimDuration::from_secs_f64(gap_s);
        // Past a rate change the gap is drawn again from there (exact for Poisson by
        // memorylessness; constant arrivals restart at the change).
        if at < boundary && at < self.horizon {
            self.queue.schedule_at(at, Event::Arrival(l));
        }
    }

    pub(super) fn rate_change(&mut self, l: LoadId) {
        let LoadKind::Open { arrival, profile, .. } = &self.sc.loads[l.ix()].kind else { return };
        self.loads[l].next_change += 1;
        if let Some(&(at, _)) = profile.get(self.loads[l].next_change) {
            self.queue.schedule_at(at, Event::RateChange(l));
        }
        match arrival {
            Arrival::Constant => {
                if self.sc.loads[l.ix()].kind.rate_at(self.now()).unwrap_or(0.0) > 0.0 {
                    self.start_load_request(l, false);
                }
                self.schedule_next_arrival(l);
            }
            Arrival::Poisson => self.schedule_next_arrival(l),
        }
    }

    pub(super) fn start_load_request(&mut self, l: LoadId, closed: bool) {
        let rt = &self.loads[l];
        let (endpoint, route, policy) = (rt.endpoint, rt.route, rt.policy);
        self.m.load_arrival(l.ix(), self.now());
        self.start_call(Parent::Load { load: l, closed }, route, endpoint, policy, false, 0);
    }
}

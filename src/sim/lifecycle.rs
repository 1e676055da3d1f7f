//! The instance-lifecycle seam: instances start (at the beginning of a run, and later
//! for autoscaling, restarts or canary versions), join the balancers when ready, leave
//! them and drain when scaled in, crash and restart, and pause. Tables only grow: a new
//! instance is appended with a client on each route its service calls through, and no id
//! handed out before changes; an instance that leaves keeps its entries (its clients stay,
//! idle) but no balancer sees it again.

use super::discipline::WaitQueue;
use super::ids::{InstanceId, RouteId, ServiceId};
use super::server::{Instance, JobKey, JobState, Phase};
use super::{Event, Simulator};
use crate::engine::{SimDuration, SimTime};
use crate::model::Outcome;
use crate::model::resilience::{Admission, Streams, TryEnd};

impl Simulator<'_> {
    /// Starts a new instance of `service`: it takes traffic from now on, and has a client
    /// on each route its service calls through. Tables only grow: nothing is rebuilt, and
    /// ids already handed out stay valid.
    pub(super) fn add_instance(&mut self, service: ServiceId) -> InstanceId {
        let id = self.new_instance(service, Phase::Ready);
        self.join(id);
        id
    }

    /// Creates an instance of `service` in `phase`, with a client on each route its service
    /// calls through; it takes no traffic until it [`join`](Self::join)s.
    pub(super) fn new_instance(&mut self, service: ServiceId, phase: Phase) -> InstanceId {
        let svc = &self.sc.services[service.ix()];
        let rt = &mut self.services[service];
        let slot = rt.created;
        rt.created += 1;
        let label = format!("service/{}/instance{slot}", svc.name);
        let admission = Admission::of(svc, &Streams { seed: self.seed, client: &label }, self.queue.now());
        let id = self.instances.push_and_get_key(Instance {
            service,
            slot,
            workers: svc.workers,
            queue_cap: svc.queue,
            busy: 0,
            queue: WaitQueue::fifo(),
            down: false,
            phase,
            pause_start: SimTime::ZERO,
            paused_until: SimTime::ZERO,
            observes_ends: admission.iter().any(Admission::observes_ends),
            admission: admission.into_boxed_slice(),
            meter: svc.autoscaling.is_some().then(Box::default),
        });
        self.start_server_timers(id);
        for i in 0..self.services[service].routes_out.len() {
            let route = self.services[service].routes_out[i];
            self.add_client(route);
        }
        id
    }

    /// The instance takes traffic from now on: the balancers of every route into its
    /// service see it, after the others.
    pub(super) fn join(&mut self, id: InstanceId) {
        let now = self.now();
        let inst = &mut self.instances[id];
        inst.phase = Phase::Ready;
        if let Some(meter) = inst.meter.as_deref_mut() {
            meter.restart(now);
        }
        let (service, workers) = (inst.service, inst.workers);
        self.services[service].instances.push(id);
        for i in 0..self.services[service].routes_in.len() {
            let route = self.services[service].routes_in[i];
            self.routes[route].targets.push(id);
        }
        self.m.capacity_changed(service.ix(), workers as i64, now);
    }

    /// The instance takes no new traffic (scaled in): it leaves every balancer at once,
    /// and finishes the work it has (it drains); its capacity goes when it is empty.
    pub(super) fn leave(&mut self, id: InstanceId) {
        let service = self.instances[id].service;
        self.services[service].instances.retain(|&i| i != id);
        for i in 0..self.services[service].routes_in.len() {
            let route = self.services[service].routes_in[i];
            let Some(slot) = self.routes[route].targets.iter().position(|&t| t == id) else { continue };
            self.routes[route].targets.remove(slot);
            self.forget_target(route, slot as u32);
        }
        self.instances[id].phase = Phase::Draining;
        self.retire_if_drained(id);
    }

    /// The instance in `slot` of `route`'s targets has left: clients that judge instances
    /// forget it, and tries out on the route now name their instance's new slot (or none).
    fn forget_target(&mut self, route: RouteId, slot: u32) {
        let clients = &self.routes[route].clients;
        if !clients.iter().any(|&c| self.clients[c].judges) {
            return;
        }
        for i in 0..clients.len() {
            let client = self.routes[route].clients[i];
            self.clients[client].stages.iter_mut().for_each(|s| s.target_removed(slot));
        }
        for h in self.hedges.values_mut().filter(|h| h.route() == route) {
            h.target_removed(slot);
        }
        for call in self.calls.values_mut().filter(|c| c.route == route && c.target != TryEnd::GONE) {
            if call.target == slot {
                call.target = TryEnd::GONE;
            } else if call.target > slot {
                call.target -= 1;
            }
        }
    }

    /// A draining instance with nothing left in it is gone, with its capacity.
    pub(super) fn retire_if_drained(&mut self, id: InstanceId) {
        let inst = &mut self.instances[id];
        if inst.phase == Phase::Draining && inst.in_system() == 0 {
            inst.phase = Phase::Retired;
            let (service, workers) = (inst.service.ix(), inst.workers as i64);
            let now = self.now();
            self.m.capacity_changed(service, -workers, now);
        }
    }

    /// Starts a replica of `service` that takes traffic `startup` from now (it starts in
    /// `ServiceRt::starting`; `replica_ready` joins it).
    pub(super) fn start_replica(&mut self, service: ServiceId, startup: SimDuration) -> InstanceId {
        let id = self.new_instance(service, Phase::Starting);
        self.services[service].starting.push(id);
        let at = self.now() + startup;
        self.queue.schedule_at(at, Event::ReplicaReady(id));
        id
    }

    /// A replica has started up: it joins the balancers (unless it was scaled in meanwhile).
    pub(super) fn replica_ready(&mut self, id: InstanceId) {
        if self.instances[id].phase != Phase::Starting {
            return;
        }
        let service = self.instances[id].service;
        self.services[service].starting.retain(|&i| i != id);
        self.join(id);
        self.scaled_replica_ready(service, id);
        self.replacement_ready(id);
    }

    /// The instance goes down: work queued or in progress on it is lost, and its callers
    /// see the connection reset at once (`unavailable`), as do requests sent to it until
    /// it restarts.
    pub(super) fn crash(&mut self, instance: InstanceId) {
        self.instances[instance].down = true;
        let mut lost: Vec<JobKey> = self
            .jobs
            .iter()
            .filter(|(_, j)| j.instance == instance && j.state != JobState::InTransit)
            .map(|(k, _)| k)
            .collect();
        // Slot-map iteration order is deterministic, but sort by arrival for clarity.
        lost.sort_by_key(|&k| (self.jobs[k].arrived, self.jobs[k].caller.token()));
        let now = self.now();
        let service = self.instances[instance].service.ix();
        self.instances[instance].metered(now);
        let queued = self.instances[instance].queue.len() as i64;
        self.instances[instance].queue.clear();
        self.m.queue_changed(service, -queued, 0, now);
        for key in lost {
            if self.jobs[key].state == JobState::Queued {
                self.jobs[key].state = JobState::InTransit; // Holds no worker.
            }
            self.end_job(key, Outcome::Unavailable);
        }
    }

    /// A crashed instance is back: it takes requests again, with an empty queue.
    pub(super) fn restart(&mut self, instance: InstanceId) {
        self.instances[instance].down = false;
    }

    /// The instance makes no progress until `until` (a stop-the-world pause): work in
    /// progress resumes after it, and queued work waits.
    pub(super) fn pause(&mut self, instance: InstanceId, until: SimTime) {
        let now = self.now();
        let inst = &mut self.instances[instance];
        if !inst.paused(now) {
            inst.pause_start = now;
        }
        inst.paused_until = inst.paused_until.max(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_str;

    /// Constant arrivals every 4 ms, round robin over instances of one worker, no queue,
    /// 10 ms of work: two instances each see a request every 8 ms and refuse half; a
    /// third, added after the tables are built, makes it every 12 ms and none is refused.
    /// (`api` calls `db` only so that it has a route out; no load reaches it.)
    const SCENARIO: &str = r#"
[simulation]
duration = "2s"
[services.db]
instances = 2
workers = 1
queue = 0
balancer = "round_robin"
[services.db.endpoints.get]
latency = "10ms"
[services.api.endpoints.get]
latency = "1ms"
calls = [{ to = "db/get", policy = { circuit_breaker = { size = 10 } } }]
[[load]]
name = "users"
target = "db/get"
rate = 250
arrival = "constant"
"#;

    fn rejected(sim: Simulator<'_>) -> u64 {
        let result = sim.finish();
        result.services[0].rejected
    }

    #[test]
    fn an_instance_added_after_the_build_takes_traffic_and_gets_clients() {
        let sc = load_str("lifecycle.toml", SCENARIO).unwrap();
        let mut two = Simulator::new(&sc, 1);
        two.run(u64::MAX);
        assert_eq!(rejected(two), 250);

        let mut three = Simulator::new(&sc, 1);
        let (db, api) = (ServiceId::from(0), ServiceId::from(1));
        let added = three.add_instance(db);
        assert_eq!((three.instances[added].slot, three.services[db].instances.len()), (2, 3));
        // A new caller instance gets a client, with the policy's stages, on each route out.
        let caller = three.add_instance(api);
        let route = three.services[api].routes_out[0];
        let client = three.routes[route].clients[three.instances[caller].slot as usize];
        assert_eq!(three.clients[client].stages.len(), 1);
        three.run(u64::MAX);
        assert_eq!(rejected(three), 0);
    }
}

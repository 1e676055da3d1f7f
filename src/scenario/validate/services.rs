//! Services, their endpoints and the calls those make (call sites are numbered from 1
//! per endpoint, in file order), and `"service/endpoint"` references.

use super::cycles::Edge;
use super::policies::NamedPolicies;
use super::{MAX_INSTANCES, MAX_WORKERS, Names, Validator, span_of, what};
use crate::engine::SimDuration;
use crate::model::{Balancer, CallSite, Dist, Endpoint, EndpointRef, PolicyId, RateLimit, Service, Step};
use crate::scenario::error::suggest;
use crate::scenario::raw::{RawCall, RawEndpoint, RawQueue, RawScenario, RawService};
use toml::Spanned;

impl Validator {
    pub(super) fn services(
        &mut self,
        raw: &RawScenario,
        names: &Names,
        named: &NamedPolicies,
    ) -> (Vec<Service>, Vec<Edge>) {
        let mut edges = Vec::new();
        let mut services = Vec::new();
        for (sid, (name, s)) in raw.services.iter().enumerate() {
            self.name(name, "service");
            let service = self.service(sid, name.get_ref(), s.get_ref(), names, named, &mut edges);
            services.push(service);
        }
        (services, edges)
    }

    fn service(
        &mut self,
        sid: usize,
        name: &str,
        s: &RawService,
        names: &Names,
        named: &NamedPolicies,
        edges: &mut Vec<Edge>,
    ) -> Service {
        let ctx = format!("service `{name}`");
        let why_instances = format!(
            "stormcast keeps state per instance; model a fleet of more than {MAX_INSTANCES} as fewer instances with more `workers` each"
        );
        let instances = match &s.instances {
            Some(i) => self.count(i, &what("instances", &ctx), 1, MAX_INSTANCES, Some(&why_instances)).unwrap_or(1),
            None => 1,
        };
        let workers = match &s.workers {
            Some(w) => self.count(w, &what("workers", &ctx), 1, MAX_WORKERS, None).unwrap_or(1),
            None => 1,
        };
        let queue = match &s.queue {
            None => None,
            Some(q) => match q.get_ref() {
                RawQueue::Count(c) => {
                    let c = Spanned::new(q.span(), *c);
                    self.count(&c, &what("queue", &ctx), 0, MAX_WORKERS, None)
                }
                RawQueue::Text(t) if t == "unbounded" => None,
                RawQueue::Text(t) => {
                    self.error_help(
                        q.span(),
                        format!("bad value \"{t}\" for `queue` in {ctx}"),
                        "`queue` is a whole number, or \"unbounded\"",
                    );
                    None
                }
            },
        };
        let balancers = [
            (Balancer::NAMES[0], Balancer::RoundRobin),
            (Balancer::NAMES[1], Balancer::Random),
            (Balancer::NAMES[2], Balancer::LeastRequests),
        ];
        let balancer = s
            .balancer
            .as_ref()
            .and_then(|b| self.choice(b, &what("balancer", &ctx), &balancers))
            .unwrap_or(Balancer::RoundRobin);
        let client = self.client_policy(s, name, named, &ctx);
        let rate_limit = s.rate_limit.as_ref().and_then(|r| {
            let rctx = format!("`rate_limit` of {ctx}");
            let Some(rate) = &r.get_ref().rate else {
                self.error(r.span(), format!("missing `rate` in {rctx}"));
                return None;
            };
            let rate = self.number(rate, &what("rate", &rctx), 0.0, true, f64::INFINITY)?;
            // Without `burst`, the bucket holds one second of tokens (at least one).
            let burst = match &r.get_ref().burst {
                Some(b) => self.number(b, &what("burst", &rctx), 1.0, false, f64::INFINITY)?,
                None => rate.max(1.0),
            };
            Some(RateLimit { rate, burst })
        });
        let restart_after = self.opt_duration(&s.restart_after, &what("restart_after", &ctx), false);
        let startup = self.opt_duration(&s.startup, &what("startup", &ctx), false);
        let min_available = s.min_available.as_ref().and_then(|m| {
            let n = self.count(m, &what("min_available", &ctx), 0, MAX_INSTANCES, None)?;
            u32::try_from(n).ok()
        });
        let autoscaling = s.autoscaling.as_ref().and_then(|a| self.autoscaling(a, name, startup));
        let adaptive_concurrency = s
            .adaptive_concurrency
            .as_ref()
            .and_then(|a| self.adaptive_concurrency(a, &format!("`adaptive_concurrency` of {ctx}")));
        let mut endpoints = Vec::new();
        for (eid, (ename, e)) in s.endpoints.iter().enumerate() {
            self.name(ename, "endpoint");
            let from = EndpointRef { service: sid, endpoint: eid };
            endpoints.push(self.endpoint(from, name, ename, e, client, names, named, edges));
        }
        Service {
            name: name.to_string(),
            instances: u32::try_from(instances).unwrap_or(1),
            workers,
            queue,
            balancer,
            client,
            rate_limit,
            autoscaling,
            adaptive_concurrency,
            restart_after,
            startup: startup.unwrap_or(SimDuration::ZERO),
            min_available,
            endpoints,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn endpoint(
        &mut self,
        from: EndpointRef,
        service: &str,
        name: &Spanned<String>,
        e: &Spanned<RawEndpoint>,
        client: Option<PolicyId>,
        names: &Names,
        named: &NamedPolicies,
        edges: &mut Vec<Edge>,
    ) -> Endpoint {
        let full = format!("{service}/{}", name.get_ref());
        let ctx = format!("endpoint `{full}`");
        let raw = e.get_ref();
        let latency = match &raw.latency {
            Some(l) => self.dist(l, &what("latency", &ctx)),
            None => {
                self.error_help(e.span(), format!("missing `latency` in {ctx}"), "add e.g. `latency = \"5ms\"`");
                None
            }
        };
        let error_rate =
            raw.error_rate.as_ref().and_then(|r| self.probability(r, &what("error_rate", &ctx))).unwrap_or(0.0);
        // Call sites are numbered from 1 in file order, parallel members included; the
        // number names inline policies ("frontend/checkout#2").
        let mut number = 0;
        let mut steps = Vec::new();
        let endpoint_key = format!("services.{service}.endpoints.{}", name.get_ref());
        for (i, entry) in raw.calls.iter().enumerate() {
            let c = entry.get_ref();
            if let Some(group) = &c.parallel {
                let extra = [
                    ("to", c.to.as_ref().map(span_of)),
                    ("policy", c.policy.as_ref().map(span_of)),
                    ("probability", c.probability.as_ref().map(span_of)),
                    ("optional", c.optional.as_ref().map(span_of)),
                ];
                self.not_applicable(&extra, &["parallel"], "a `parallel` group", &ctx);
                if group.get_ref().is_empty() {
                    self.error(group.span(), format!("empty `parallel` group in {ctx}"));
                }
                let mut members = Vec::new();
                for (j, m) in group.get_ref().iter().enumerate() {
                    number += 1;
                    if let Some(inner) = &m.get_ref().parallel {
                        self.error_help(
                            inner.span(),
                            format!("nested `parallel` group in {ctx}"),
                            "a `parallel` group holds plain calls; its members already run together",
                        );
                        continue;
                    }
                    let key = format!("{endpoint_key}.calls[{i}].parallel[{j}]");
                    if let Some(site) = self.call(from, &full, (number, &key), m, client, names, named, edges) {
                        members.push(site);
                    }
                }
                steps.push(Step::Parallel(members));
            } else {
                number += 1;
                let key = format!("{endpoint_key}.calls[{i}]");
                if let Some(site) = self.call(from, &full, (number, &key), entry, client, names, named, edges) {
                    steps.push(Step::Call(site));
                }
            }
        }
        Endpoint {
            name: name.get_ref().clone(),
            latency: latency.unwrap_or(Dist::constant(SimDuration::ZERO)),
            error_rate,
            steps,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        from: EndpointRef,
        caller: &str,
        (number, key): (usize, &str),
        entry: &Spanned<RawCall>,
        client: Option<PolicyId>,
        names: &Names,
        named: &NamedPolicies,
        edges: &mut Vec<Edge>,
    ) -> Option<CallSite> {
        let c: &RawCall = entry.get_ref();
        let ctx = format!("call #{number} of endpoint `{caller}`");
        let Some(to) = &c.to else {
            self.error_help(
                entry.span(),
                format!("missing `to` in {ctx}"),
                "a call is `{ to = \"service/endpoint\" }`, a group is `{ parallel = [ ... ] }`",
            );
            return None;
        };
        let target = self.endpoint_ref(to, names, "call target");
        let policy = self.call_policy(c, caller, number, key, client, named, &ctx);
        let probability =
            c.probability.as_ref().and_then(|p| self.probability(p, &what("probability", &ctx))).unwrap_or(1.0);
        let optional = c.optional.as_ref().is_some_and(|o| *o.get_ref());
        let to_ref = target?;
        edges.push(Edge { from, to: to_ref, span: to.span() });
        Some(CallSite { to: to_ref, policy, probability, optional })
    }

    /// Resolves `"service/endpoint"`.
    pub(super) fn endpoint_ref(&mut self, v: &Spanned<String>, names: &Names, role: &str) -> Option<EndpointRef> {
        let text = v.get_ref();
        let Some((service, endpoint)) = text.split_once('/') else {
            let help = match names.service(text) {
                Some(s) => format!("endpoints of `{text}` are: {}", names.services[s].1.join(", ")),
                None => "write it as \"service/endpoint\"".to_string(),
            };
            self.error_help(v.span(), format!("{role} `{text}` must name an endpoint as \"service/endpoint\""), help);
            return None;
        };
        let Some(sid) = names.service(service) else {
            self.error_help(
                v.span(),
                format!("unknown service `{service}` in {role} `{text}`"),
                suggest(service, &names.service_names(), "services"),
            );
            return None;
        };
        let endpoints = &names.services[sid].1;
        let Some(eid) = endpoints.iter().position(|e| *e == endpoint) else {
            self.error_help(
                v.span(),
                format!("unknown endpoint `{endpoint}` of service `{service}` in {role} `{text}`"),
                suggest(endpoint, endpoints, &format!("endpoints of `{service}`")),
            );
            return None;
        };
        Some(EndpointRef { service: sid, endpoint: eid })
    }
}

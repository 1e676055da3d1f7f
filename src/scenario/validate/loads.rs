//! Loads (open with a `rate` and its `profile`, or closed with `users`) and the SLOs
//! set on them.

use super::policies::NamedPolicies;
use super::{Names, Span, Validator, span_of, what};
use crate::engine::{SimDuration, SimTime};
use crate::model::{Arrival, Dist, EndpointRef, Load, LoadKind, Slo};
use crate::scenario::error::suggest;
use crate::scenario::raw::{RawLoad, RawScenario};

const ARRIVALS: [(&str, Arrival); 2] = [("poisson", Arrival::Poisson), ("constant", Arrival::Constant)];

impl Validator {
    pub(super) fn loads(
        &mut self,
        raw: &RawScenario,
        names: &Names,
        named: &NamedPolicies,
        duration: SimDuration,
    ) -> Vec<Load> {
        let mut loads: Vec<Load> = Vec::new();
        for (i, l) in raw.load.iter().enumerate() {
            let r: &RawLoad = l.get_ref();
            let name = match &r.name {
                Some(n) => {
                    self.name(n, "load");
                    if loads.iter().any(|other| other.name == *n.get_ref()) {
                        self.error(n.span(), format!("duplicate load name `{}`", n.get_ref()));
                    }
                    n.get_ref().clone()
                }
                None => {
                    self.error_help(
                        l.span(),
                        format!("missing `name` in [[load]] #{}", i + 1),
                        "add e.g. `name = \"shoppers\"`",
                    );
                    format!("#{}", i + 1)
                }
            };
            let ctx = format!("load `{name}`");
            let target = match &r.target {
                Some(t) => self.endpoint_ref(t, names, "load target"),
                None => {
                    self.error_help(
                        l.span(),
                        format!("missing `target` in {ctx}"),
                        "add e.g. `target = \"frontend/checkout\"`",
                    );
                    None
                }
            };
            let kind = self.load_kind(r, l.span(), &ctx, duration);
            let policy = self.load_policy(r, i, &name, named, &ctx);
            if let (Some(target), Some(kind)) = (target, kind) {
                loads.push(Load { name, target, kind, policy, slo: None });
            } else {
                // Keep the name so that duplicates and SLOs are still checked.
                let kind = LoadKind::Closed { users: 0, think_time: Dist::constant(SimDuration::ZERO) };
                loads.push(Load { name, target: EndpointRef { service: 0, endpoint: 0 }, kind, policy, slo: None });
            }
        }
        loads
    }

    fn load_kind(&mut self, r: &RawLoad, span: Span, ctx: &str, duration: SimDuration) -> Option<LoadKind> {
        match (&r.rate, &r.users) {
            (None, None) => {
                self.error_help(
                    span,
                    format!("{ctx} has neither `rate` nor `users`"),
                    "set `rate` (requests per second, open loop) or `users` (closed loop)",
                );
                None
            }
            (Some(_), Some(users)) => {
                self.error_help(
                    users.span(),
                    format!("{ctx} has both `rate` and `users`"),
                    "a load is either open (`rate`) or closed (`users`), not both",
                );
                None
            }
            (Some(rate), None) => {
                let present = [("think_time", r.think_time.as_ref().map(span_of))];
                self.not_applicable(&present, &[], "an open-loop load (`rate`)", ctx);
                let rate = self.number(rate, &what("rate", ctx), 0.0, false, f64::INFINITY);
                let arrival = match &r.arrival {
                    Some(a) => self.choice(a, &what("arrival", ctx), &ARRIVALS),
                    None => Some(Arrival::Poisson),
                };
                let profile = self.profile(r, ctx, duration);
                Some(LoadKind::Open { rate: rate?, arrival: arrival?, profile: profile? })
            }
            (None, Some(users)) => {
                let present =
                    [("arrival", r.arrival.as_ref().map(span_of)), ("profile", r.profile.as_ref().map(span_of))];
                self.not_applicable(&present, &[], "a closed-loop load (`users`)", ctx);
                let users = self.count(users, &what("users", ctx), 1, u64::from(u32::MAX), None);
                // Without `think_time`, each user sends again as soon as it has its answer.
                let think_time = match &r.think_time {
                    Some(t) => self.dist(t, &what("think_time", ctx)),
                    None => Some(Dist::constant(SimDuration::ZERO)),
                };
                Some(LoadKind::Closed { users: u32::try_from(users?).unwrap_or(u32::MAX), think_time: think_time? })
            }
        }
    }

    fn profile(&mut self, r: &RawLoad, ctx: &str, duration: SimDuration) -> Option<Vec<(SimTime, f64)>> {
        let Some(steps) = &r.profile else { return Some(Vec::new()) };
        let mut profile = Vec::new();
        let mut ok = true;
        for (i, step) in steps.get_ref().iter().enumerate() {
            let sctx = format!("`profile` step #{} of {ctx}", i + 1);
            let s = step.get_ref();
            let (Some(at), Some(rate)) = (&s.at, &s.rate) else {
                self.error_help(
                    step.span(),
                    format!("{sctx} needs both `at` and `rate`"),
                    "e.g. `{ at = \"40s\", rate = 1200 }`",
                );
                ok = false;
                continue;
            };
            let rate = self.number(rate, &what("rate", &sctx), 0.0, false, f64::INFINITY);
            let Some(t) = self.duration(at, &what("at", &sctx)) else {
                ok = false;
                continue;
            };
            if t == SimDuration::ZERO || t >= duration {
                self.error_help(
                    at.span(),
                    format!("`at` ({t}) of {sctx} is outside the run"),
                    format!("a profile step starts after 0s and before the end of the run ({duration}); the load's `rate` holds from 0s"),
                );
                ok = false;
            } else if let Some(&(prev, _)) = profile.last()
                && SimTime(t.as_nanos()) <= prev
            {
                self.error_help(
                    at.span(),
                    format!("`at` ({t}) of {sctx} is not after the previous step ({})", SimDuration(prev.0)),
                    "profile steps must be in increasing time order, each at a distinct time",
                );
                ok = false;
            }
            match rate {
                Some(rate) => profile.push((SimTime(t.as_nanos()), rate)),
                None => ok = false,
            }
        }
        ok.then_some(profile)
    }

    pub(super) fn slos(&mut self, raw: &RawScenario, loads: &mut [Load]) {
        let load_names: Vec<String> = loads.iter().map(|l| l.name.clone()).collect();
        for (name, slo) in &raw.slo {
            let ctx = format!("[slo.{}]", name.get_ref());
            let s = slo.get_ref();
            let p99 = self.opt_duration(&s.p99, &what("p99", &ctx), true);
            let success_rate = s.success_rate.as_ref().and_then(|r| self.probability(r, &what("success_rate", &ctx)));
            match load_names.iter().position(|l| l == name.get_ref()) {
                Some(i) => loads[i].slo = Some(Slo { p99, success_rate }),
                None => {
                    let valid: Vec<&str> = load_names.iter().map(String::as_str).collect();
                    self.error_help(
                        name.span(),
                        format!("unknown load `{}` in {ctx}", name.get_ref()),
                        suggest(name.get_ref(), &valid, "loads"),
                    );
                }
            }
        }
    }
}

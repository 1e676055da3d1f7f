//! `[[fault]]`: a kind, a target (a service, an endpoint or an edge) and a window
//! inside the run.

use super::{Names, Validator, span_of, what};
use crate::engine::{SimDuration, SimTime};
use crate::model::{Fault, FaultKind, FaultTarget, Service};
use crate::scenario::error::suggest;
use crate::scenario::raw::{RawFault, RawScenario};
use toml::Spanned;

impl Validator {
    pub(super) fn faults(
        &mut self,
        raw: &RawScenario,
        names: &Names,
        services: &[Service],
        duration: SimDuration,
    ) -> Vec<Fault> {
        let mut faults = Vec::new();
        for (i, f) in raw.fault.iter().enumerate() {
            if let Some(fault) = self.fault(f, i + 1, names, services, duration) {
                faults.push(fault);
            }
        }
        faults
    }

    fn fault(
        &mut self,
        f: &Spanned<RawFault>,
        number: usize,
        names: &Names,
        services: &[Service],
        duration: SimDuration,
    ) -> Option<Fault> {
        let r: &RawFault = f.get_ref();
        let ctx = format!("[[fault]] #{number}");
        let kinds = FaultKind::NAMES.map(|k| (k, k));
        let kind = match &r.kind {
            Some(k) => self.choice(k, &what("kind", &ctx), &kinds),
            None => {
                self.error_help(
                    f.span(),
                    format!("missing `kind` in {ctx}"),
                    format!("`kind` is one of: {}", FaultKind::NAMES.join(", ")),
                );
                None
            }
        };
        let target = match &r.target {
            Some(t) => self.fault_target(t, names, &ctx),
            None => {
                self.error_help(
                    f.span(),
                    format!("missing `target` in {ctx}"),
                    "a target is a service, \"service/endpoint\" or an edge \"caller->callee\"",
                );
                None
            }
        };
        let at = match &r.at {
            Some(a) => self.duration(a, &what("at", &ctx)),
            None => {
                self.error(f.span(), format!("missing `at` in {ctx}"));
                None
            }
        };
        let rolling = r.kind.as_ref().is_some_and(|k| k.get_ref() == "rolling_restart");
        let length = match &r.duration {
            Some(d) if rolling => {
                self.error_help(
                    d.span(),
                    format!("`duration` does not apply to a `rolling_restart` fault ({ctx})"),
                    "a rolling restart lasts until every instance is replaced: its window is `max_unavailable` at a time, each taking the service's `startup`",
                );
                None
            }
            Some(d) => self.positive_duration(d, &what("duration", &ctx)),
            None if rolling => Some(SimDuration::ZERO), // Set once the target is known.
            None => {
                self.error(f.span(), format!("missing `duration` in {ctx}"));
                None
            }
        };
        if let (Some(at), Some(length)) = (at, length)
            && at + length > duration
        {
            let span = r.duration.as_ref().or(r.at.as_ref()).map_or(f.span(), span_of);
            self.error_help(
                span,
                format!("{ctx} runs from {at} to {}, past the end of the run ({duration})", at + length),
                "a fault window must lie inside the run",
            );
        }
        let kind = kind?;
        let target = target?;
        let present = [
            ("factor", r.factor.as_ref().map(span_of)),
            ("add", r.add.as_ref().map(span_of)),
            ("rate", r.rate.as_ref().map(span_of)),
            ("instances", r.instances.as_ref().map(span_of)),
            ("max_unavailable", r.max_unavailable.as_ref().map(span_of)),
        ];
        let owner = format!("a `{kind}` fault");
        let target_span = r.target.as_ref().map_or(f.span(), span_of);
        let wrong_target = |v: &mut Validator, allowed: &str| {
            v.error_help(
                target_span.clone(),
                format!("a `{kind}` fault cannot target {} (in {ctx})", describe_target(target, names)),
                format!("a `{kind}` fault targets {allowed}"),
            );
        };
        let fault_kind = match kind {
            "latency" => {
                self.not_applicable(&present, &["factor", "add"], &owner, &ctx);
                if r.factor.is_none() && r.add.is_none() {
                    self.error_help(
                        f.span(),
                        format!("{ctx} sets neither `factor` nor `add`"),
                        "e.g. `factor = 5.0` or `add = \"200ms\"`",
                    );
                }
                let factor = match &r.factor {
                    Some(x) => self.number(x, &what("factor", &ctx), 0.0, false, f64::INFINITY)?,
                    None => 1.0,
                };
                let add = self.opt_duration(&r.add, &what("add", &ctx), false).unwrap_or(SimDuration::ZERO);
                FaultKind::Latency { factor, add }
            }
            "errors" => {
                self.not_applicable(&present, &["rate"], &owner, &ctx);
                let Some(rate) = &r.rate else {
                    self.error_help(
                        f.span(),
                        format!("missing `rate` in {ctx}"),
                        "e.g. `rate = 0.5`: the extra failure probability",
                    );
                    return None;
                };
                FaultKind::Errors { rate: self.probability(rate, &what("rate", &ctx))? }
            }
            "partition" => {
                self.not_applicable(&present, &[], &owner, &ctx);
                if !matches!(target, FaultTarget::Edge { .. }) {
                    wrong_target(self, "only an edge \"caller->callee\"");
                    return None;
                }
                FaultKind::Partition
            }
            "rolling_restart" => {
                self.not_applicable(&present, &["max_unavailable"], &owner, &ctx);
                let FaultTarget::Service(sid) = target else {
                    wrong_target(self, "only a service");
                    return None;
                };
                let max_unavailable = match &r.max_unavailable {
                    Some(n) => self.count(n, &what("max_unavailable", &ctx), 1, u64::from(u32::MAX), None)?,
                    None => 1,
                };
                let max_unavailable = u32::try_from(max_unavailable).unwrap_or(u32::MAX);
                let service = services.get(sid)?;
                let at = SimTime(at?.as_nanos());
                let never_ends = (SimTime::ZERO + duration).since(at).max(SimDuration::from_nanos(1));
                let fault = Fault {
                    kind: FaultKind::RollingRestart { max_unavailable },
                    target,
                    at,
                    duration: rolling_window(service, max_unavailable).unwrap_or(never_ends),
                };
                if fault.end() > SimTime::ZERO + duration {
                    self.error_help(
                        r.at.as_ref().map_or(f.span(), span_of),
                        format!("{ctx} would run from {} to {}, past the end of the run ({duration})", fault.at.since(SimTime::ZERO), fault.end().since(SimTime::ZERO)),
                        "a rolling restart takes ceil(instances / at a time) x the service's `startup`, at a time being `max_unavailable`, or `instances - min_available` if fewer: start it earlier or run longer",
                    );
                    return None;
                }
                return Some(fault);
            }
            _ => {
                self.not_applicable(&present, &["instances"], &owner, &ctx);
                let FaultTarget::Service(sid) = target else {
                    wrong_target(self, "only a service");
                    return None;
                };
                let all = services.get(sid).map_or(1, |s| s.instances);
                let instances = match &r.instances {
                    Some(n) => {
                        let why = format!("service `{}` has {all} instance(s)", names.services[sid].0);
                        let n = self.count(n, &what("instances", &ctx), 1, u64::from(all), Some(&why))?;
                        u32::try_from(n).unwrap_or(all)
                    }
                    None => all,
                };
                if kind == "crash" { FaultKind::Crash { instances } } else { FaultKind::Pause { instances } }
            }
        };
        Some(Fault { kind: fault_kind, target, at: SimTime(at?.as_nanos()), duration: length? })
    }

    fn fault_target(&mut self, t: &Spanned<String>, names: &Names, ctx: &str) -> Option<FaultTarget> {
        let text = t.get_ref();
        let role = format!("`target` of {ctx}");
        if let Some((from, to)) = text.split_once("->") {
            let mut ends = [None, None];
            for (slot, end) in ends.iter_mut().zip([from.trim(), to.trim()]) {
                *slot = names.service(end);
                if slot.is_none() {
                    self.error_help(
                        t.span(),
                        format!("unknown service `{end}` in edge `{text}` ({role})"),
                        suggest(end, &names.service_names(), "services"),
                    );
                }
            }
            return Some(FaultTarget::Edge { from: ends[0]?, to: ends[1]? });
        }
        if text.contains('/') {
            return self.endpoint_ref(t, names, &role).map(FaultTarget::Endpoint);
        }
        match names.service(text) {
            Some(s) => Some(FaultTarget::Service(s)),
            None => {
                self.error_help(
                    t.span(),
                    format!("unknown service `{text}` in {role}"),
                    suggest(text, &names.service_names(), "services"),
                );
                None
            }
        }
    }
}

/// A rolling restart's nominal window: `ceil(instances / at_a_time)` rounds, each the
/// service's `startup` (at least a nanosecond, so the window is never empty), where at a
/// time is `max_unavailable`, or fewer if the disruption budget allows fewer evictions at
/// once (`instances - min_available`). `None` if the budget allows none: it never ends.
fn rolling_window(service: &Service, max_unavailable: u32) -> Option<SimDuration> {
    let budget = service.instances.saturating_sub(service.min_available.unwrap_or(0));
    let at_a_time = max_unavailable.min(budget);
    if at_a_time == 0 {
        return None;
    }
    let rounds = service.instances.div_ceil(at_a_time);
    Some(SimDuration::from_nanos(service.startup.as_nanos().saturating_mul(u64::from(rounds)).max(1)))
}

fn describe_target(t: FaultTarget, names: &Names) -> String {
    match t {
        FaultTarget::Service(s) => format!("service `{}`", names.services[s].0),
        FaultTarget::Endpoint(e) => format!("endpoint `{}`", names.endpoint_name(e)),
        FaultTarget::Edge { from, to } => format!("edge `{}->{}`", names.services[from].0, names.services[to].0),
    }
}

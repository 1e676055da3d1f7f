//! `[services.NAME.autoscaling]`: the HPA's bounds, its one target, its timing and its
//! `behavior`, with autoscaling/v2's defaults and limits (`model::autoscaling`).

use super::{MAX_INSTANCES, Validator, what};
use crate::engine::SimDuration;
use crate::model::autoscaling::{Autoscaling, PolicyKind, ScaleTarget, ScalingPolicy, ScalingRules, Select};
use crate::scenario::raw::{RawAutoscaling, RawScalingRules};
use toml::Spanned;

/// autoscaling/v2's limits: a stabilization window of at most an hour, a policy period of
/// at most 30 minutes.
const MAX_WINDOW: SimDuration = SimDuration::from_secs(3600);
const MAX_PERIOD: SimDuration = SimDuration::from_secs(1800);

impl Validator {
    /// `service_startup`: the service's own `startup`, if written: the autoscaler's
    /// default.
    pub(super) fn autoscaling(
        &mut self,
        a: &Spanned<RawAutoscaling>,
        service: &str,
        service_startup: Option<SimDuration>,
    ) -> Option<Autoscaling> {
        let ctx = format!("`autoscaling` of service `{service}`");
        let raw = a.get_ref();
        let min_replicas = match &raw.min_replicas {
            Some(m) => self.count(m, &what("min_replicas", &ctx), 1, MAX_INSTANCES, None)?,
            None => 1,
        };
        let Some(max) = &raw.max_replicas else {
            self.error_help(a.span(), format!("missing `max_replicas` in {ctx}"), "add e.g. `max_replicas = 10`");
            return None;
        };
        let max_replicas = self.count(max, &what("max_replicas", &ctx), 1, MAX_INSTANCES, None)?;
        if max_replicas < min_replicas {
            self.error(
                max.span(),
                format!("`max_replicas` ({max_replicas}) in {ctx} is below `min_replicas` ({min_replicas})"),
            );
            return None;
        }
        let target = self.scale_target(a, &ctx)?;
        let sync_period = match &raw.sync_period {
            Some(p) => self.positive_duration(p, &what("sync_period", &ctx))?,
            None => SimDuration::from_secs(15),
        };
        let tolerance = match &raw.tolerance {
            Some(t) => self.number(t, &what("tolerance", &ctx), 0.0, false, 0.99)?,
            None => 0.1,
        };
        let startup = match (&raw.startup, service_startup) {
            (Some(startup), _) => self.duration(startup, &what("startup", &ctx))?,
            (None, Some(startup)) => startup,
            (None, None) => {
                self.error_help(
                    a.span(),
                    format!("missing `startup` in {ctx}"),
                    "how long a new replica takes from the HPA's decision to taking traffic decides whether scaling is in time: add e.g. `startup = \"30s\"` here or on the service",
                );
                return None;
            }
        };
        let behavior = raw.behavior.as_ref().map(|b| b.get_ref());
        let scale_up = self.scaling_rules(behavior.and_then(|b| b.scale_up.as_ref()), &ctx, true)?;
        let scale_down = self.scaling_rules(behavior.and_then(|b| b.scale_down.as_ref()), &ctx, false)?;
        Some(Autoscaling {
            min_replicas: u32::try_from(min_replicas).ok()?,
            max_replicas: u32::try_from(max_replicas).ok()?,
            target,
            sync_period,
            tolerance,
            scale_up,
            scale_down,
            startup,
        })
    }

    /// Exactly one of `target_utilization`, `target_rate`, `target_concurrency`.
    fn scale_target(&mut self, a: &Spanned<RawAutoscaling>, ctx: &str) -> Option<ScaleTarget> {
        let raw = a.get_ref();
        let given: Vec<(&str, &Spanned<f64>)> = [
            ("target_utilization", &raw.target_utilization),
            ("target_rate", &raw.target_rate),
            ("target_concurrency", &raw.target_concurrency),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect();
        let [(key, value)] = given.as_slice() else {
            let span = given.get(1).map_or(a.span(), |(_, v)| v.span());
            self.error_help(
                span,
                format!("{ctx} needs exactly one target, found {}", given.len()),
                "give one of `target_utilization` (busy share of a replica's workers, e.g. 0.5), `target_rate` (requests per second per replica) or `target_concurrency` (requests in a replica)",
            );
            return None;
        };
        let what = what(key, ctx);
        Some(match *key {
            "target_utilization" => ScaleTarget::Utilization(self.number(value, &what, 0.0, true, 1.0)?),
            "target_rate" => ScaleTarget::Rate(self.number(value, &what, 0.0, true, f64::INFINITY)?),
            _ => ScaleTarget::Concurrency(self.number(value, &what, 0.0, true, f64::INFINITY)?),
        })
    }

    /// `behavior.scale_up` or `behavior.scale_down`: each key not written takes its
    /// autoscaling/v2 default, as the API server fills them in.
    fn scaling_rules(&mut self, rules: Option<&Spanned<RawScalingRules>>, ctx: &str, up: bool) -> Option<ScalingRules> {
        let default = if up { ScalingRules::default_up() } else { ScalingRules::default_down() };
        let Some(rules) = rules else { return Some(default) };
        let ctx = format!("`behavior.{}` of {ctx}", if up { "scale_up" } else { "scale_down" });
        let raw = rules.get_ref();
        let stabilization_window = match &raw.stabilization_window {
            Some(w) => {
                let window = self.duration(w, &what("stabilization_window", &ctx))?;
                if window > MAX_WINDOW {
                    self.error(
                        w.span(),
                        format!("`stabilization_window` in {ctx} is over an hour (autoscaling/v2's limit)"),
                    );
                    return None;
                }
                window
            }
            None => default.stabilization_window,
        };
        let selects =
            [(Select::NAMES[0], Select::Max), (Select::NAMES[1], Select::Min), (Select::NAMES[2], Select::Disabled)];
        let select_policy = match &raw.select_policy {
            Some(s) => self.choice(s, &what("select_policy", &ctx), &selects)?,
            None => default.select_policy,
        };
        let policies = match &raw.policies {
            Some(list) if list.get_ref().is_empty() => {
                self.error(
                    list.span(),
                    format!("`policies` in {ctx} is empty: give at least one, or leave it out for the defaults"),
                );
                return None;
            }
            Some(list) => {
                let mut policies = Vec::new();
                for (i, p) in list.get_ref().iter().enumerate() {
                    policies.push(self.scaling_policy(p, &format!("policy #{} of {ctx}", i + 1))?);
                }
                policies
            }
            None => default.policies,
        };
        Some(ScalingRules { stabilization_window, select_policy, policies })
    }

    fn scaling_policy(
        &mut self,
        p: &Spanned<crate::scenario::raw::RawScalingPolicy>,
        ctx: &str,
    ) -> Option<ScalingPolicy> {
        let raw = p.get_ref();
        let kinds = [(PolicyKind::NAMES[0], PolicyKind::Pods), (PolicyKind::NAMES[1], PolicyKind::Percent)];
        let kind = match &raw.kind {
            Some(k) => self.choice(k, &what("type", ctx), &kinds)?,
            None => {
                self.error_help(p.span(), format!("missing `type` in {ctx}"), "`type` is \"pods\" or \"percent\"");
                return None;
            }
        };
        let Some(value) = &raw.value else {
            self.error(p.span(), format!("missing `value` in {ctx}"));
            return None;
        };
        let value = self.count(value, &what("value", ctx), 1, u64::from(u32::MAX), None)?;
        let Some(period) = &raw.period else {
            self.error_help(p.span(), format!("missing `period` in {ctx}"), "add e.g. `period = \"15s\"`");
            return None;
        };
        let period_what = what("period", ctx);
        let period = self.positive_duration(period, &period_what)?;
        if period > MAX_PERIOD {
            self.error(p.span(), format!("{period_what} is over 30 minutes (autoscaling/v2's limit)"));
            return None;
        }
        Some(ScalingPolicy { kind, value: u32::try_from(value).ok()?, period })
    }
}

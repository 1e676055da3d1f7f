//! Strategy files (`stormcast rollout --strategy FILE`): raw `[rollout]` -> a validated
//! `model::rollout::Strategy`, every mistake located.

use super::{Span, Validator, what};
use crate::engine::SimDuration;
use crate::model::rollout::{
    Analysis, AnalysisMetric, Argo, ArgoStep, Background, Check, Condition, DEFAULT_WINDOW, FailureCondition, Flagger,
    Metric, RolloutExpect, Strategy, Style,
};
use crate::scenario::error::{Issue, suggest};
use crate::scenario::raw::{RawAnalysis, RawAnalysisMetric, RawDuration, RawRollout, RawStrategyFile};
use toml::Spanned;

/// Validates a strategy file. `source` labels it in outputs.
pub(crate) fn validate_strategy(raw: &RawStrategyFile, source: &str) -> Result<Strategy, Vec<Issue>> {
    let mut v = Validator { issues: Vec::new(), policies: Vec::new() };
    let Some(rollout) = &raw.rollout else {
        return Err(vec![Issue::new(0..0, "missing [rollout] table").with_help(
            "a strategy file has `[rollout]` with `service = \"NAME\"` and Flagger's keys (`interval`, `step_weight`, \
             `[[rollout.check]]`...) or Argo's (`steps = [...]`, `[rollout.analysis.NAME]`)",
        )]);
    };
    let strategy = v.strategy(rollout, source);
    match strategy {
        Some(s) if v.issues.is_empty() => Ok(s),
        _ => {
            v.issues.sort_by_key(|i| i.span.as_ref().map(|s| s.start));
            Err(v.issues)
        }
    }
}

const FLAGGER_KEYS: [&str; 6] = ["interval", "step_weight", "max_weight", "step_weights", "threshold", "check"];
const ARGO_KEYS: [&str; 3] = ["steps", "analysis", "background"];

impl Validator {
    fn strategy(&mut self, rollout: &Spanned<RawRollout>, source: &str) -> Option<Strategy> {
        let r = rollout.get_ref();
        let ctx = "[rollout]";
        let service = match &r.service {
            Some(s) => {
                self.name(s, "service");
                Some(s.get_ref().clone())
            }
            None => {
                self.error(rollout.span(), format!("missing `service` in {ctx}: the service being rolled out"));
                None
            }
        };
        let start = self.opt_duration(&r.start, &what("start", ctx), false).unwrap_or(SimDuration::ZERO);
        let flagger: Vec<(&str, Span)> = [
            ("interval", r.interval.as_ref().map(Spanned::span)),
            ("step_weight", r.step_weight.as_ref().map(Spanned::span)),
            ("max_weight", r.max_weight.as_ref().map(Spanned::span)),
            ("step_weights", r.step_weights.as_ref().map(Spanned::span)),
            ("threshold", r.threshold.as_ref().map(Spanned::span)),
            ("check", r.check.first().map(Spanned::span)),
        ]
        .into_iter()
        .filter_map(|(k, s)| s.map(|s| (k, s)))
        .collect();
        let argo: Vec<(&str, Span)> = [
            ("steps", r.steps.as_ref().map(Spanned::span)),
            ("analysis", r.analysis.first().map(|(k, _)| k.span())),
            ("background", r.background.as_ref().map(Spanned::span)),
        ]
        .into_iter()
        .filter_map(|(k, s)| s.map(|s| (k, s)))
        .collect();
        let style = match (flagger.first(), argo.first()) {
            (Some(_), Some((key, span))) => {
                self.error_help(
                    span.clone(),
                    format!("`{key}` (Argo Rollouts) mixed with `{}` (Flagger) in {ctx}", flagger[0].0),
                    format!(
                        "a strategy is one style: Flagger ({}) or Argo ({})",
                        FLAGGER_KEYS.join(", "),
                        ARGO_KEYS.join(", ")
                    ),
                );
                None
            }
            (Some(_), None) => self.flagger(r, rollout.span()).map(Style::Flagger),
            (None, Some(_)) => self.argo(r).map(Style::Argo),
            (None, None) => {
                self.error_help(
                    rollout.span(),
                    format!("{ctx} says neither how to step the weight nor what to check"),
                    "Flagger style: `interval`, `step_weight`, `max_weight`, `threshold` and `[[rollout.check]]`; \
                     Argo style: `steps = [{ set_weight = 20 }, { pause = \"60s\" }, { analysis = \"NAME\" }]`",
                );
                None
            }
        };
        let expect = self.rollout_expect(r);
        Some(Strategy { source: source.to_string(), service: service?, start, style: style?, expect })
    }

    fn flagger(&mut self, r: &RawRollout, whole: Span) -> Option<Flagger> {
        let ctx = "[rollout]";
        let interval =
            self.opt_duration(&r.interval, &what("interval", ctx), true).unwrap_or(Flagger::DEFAULT_INTERVAL);
        let threshold = match &r.threshold {
            Some(t) => self.count(t, &what("threshold", ctx), 1, 1_000_000, None)?,
            None => u64::from(Flagger::DEFAULT_THRESHOLD),
        } as u32;
        let weights = match (&r.step_weight, &r.step_weights) {
            (Some(step), _) => {
                let step = self.count(step, &what("step_weight", ctx), 1, 100, None)? as u32;
                let max = match &r.max_weight {
                    Some(m) => self.count(m, &what("max_weight", ctx), 1, 100, None)? as u32,
                    None => 100,
                };
                Flagger::step_weights(step, max)
            }
            (None, Some(list)) => {
                if let Some(m) = &r.max_weight {
                    self.error(
                        m.span(),
                        format!("`max_weight` with `step_weights` in {ctx}: the list's last entry is the maximum"),
                    );
                }
                let mut weights = Vec::new();
                let mut last = 0;
                for w in list.get_ref() {
                    let n = self.count(w, &what("step_weights", ctx), 1, 100, None)? as u32;
                    if n <= last {
                        self.error(w.span(), format!("`step_weights` in {ctx} must increase: {n} after {last}"));
                    }
                    last = n;
                    weights.push(n);
                }
                if weights.is_empty() {
                    self.error(list.span(), format!("`step_weights` in {ctx} is empty"));
                    return None;
                }
                Flagger::listed_weights(&weights)
            }
            (None, None) => {
                let span = r.interval.as_ref().map_or(0..0, Spanned::span);
                self.error_help(
                    span,
                    format!("{ctx} has no `step_weight` or `step_weights`: the canary's weight would never grow"),
                    "e.g. `step_weight = 10` and `max_weight = 50`, or `step_weights = [5, 10, 50]`",
                );
                return None;
            }
        };
        let mut checks = Vec::new();
        for (i, c) in r.check.iter().enumerate() {
            let ctx = format!("[[rollout.check]] #{}", i + 1);
            let raw = c.get_ref();
            let Some(metric) = self.metric(raw.metric.as_ref(), c.span(), &ctx) else { continue };
            let min = raw.min.as_ref().and_then(|b| self.bound(b, metric, &what("min", &ctx)));
            let max = raw.max.as_ref().and_then(|b| self.bound(b, metric, &what("max", &ctx)));
            if raw.min.is_none() && raw.max.is_none() {
                self.error_help(
                    c.span(),
                    format!("{ctx} has neither `min` nor `max`: it could never fail"),
                    "e.g. `metric = \"success_rate\", min = 0.99` or `metric = \"p99\", max = \"500ms\"`",
                );
            }
            let window = self.opt_duration(&raw.window, &what("window", &ctx), true).unwrap_or(DEFAULT_WINDOW);
            let name = raw.name.as_ref().map_or_else(|| metric.name().to_string(), |n| n.get_ref().clone());
            checks.push(Check { name, metric, min, max, window });
        }
        if r.check.is_empty() {
            self.error_help(
                whole,
                format!(
                    "{ctx} has no `[[rollout.check]]`: nothing would ever fail, so every rollout would be promoted"
                ),
                "add e.g. `[[rollout.check]]` with `metric = \"success_rate\"` and `min = 0.99`",
            );
        }
        Some(Flagger { interval, weights, threshold, checks })
    }

    fn argo(&mut self, r: &RawRollout) -> Option<Argo> {
        let ctx = "[rollout]";
        let names: Vec<&str> = r.analysis.keys().map(|k| k.get_ref().as_str()).collect();
        let mut analyses = Vec::new();
        for (name, a) in &r.analysis {
            self.name(name, "analysis");
            analyses.push(self.analysis(name.get_ref(), a));
        }
        let lookup = |v: &mut Validator, n: &Spanned<String>, ctx: &str| -> Option<usize> {
            let found = names.iter().position(|x| *x == n.get_ref());
            if found.is_none() {
                v.error_help(
                    n.span(),
                    format!("unknown analysis `{}` in {ctx}", n.get_ref()),
                    suggest(n.get_ref(), &names, "analyses, defined as `[rollout.analysis.NAME]`"),
                );
            }
            found
        };
        let mut steps = Vec::new();
        let Some(raw_steps) = &r.steps else {
            let span = r.analysis.first().map_or(0..0, |(k, _)| k.span());
            self.error(span, format!("missing `steps` in {ctx}: Argo style needs `steps = [...]`"));
            return None;
        };
        for (i, s) in raw_steps.get_ref().iter().enumerate() {
            let ctx = format!("`steps[{i}]` in [rollout]");
            let raw = s.get_ref();
            let set = [raw.set_weight.is_some(), raw.pause.is_some(), raw.analysis.is_some()];
            if set.iter().filter(|&&b| b).count() != 1 {
                self.error_help(
                    s.span(),
                    format!("{ctx} must have exactly one of `set_weight`, `pause`, `analysis`"),
                    "e.g. `{ set_weight = 20 }`, `{ pause = \"60s\" }`, `{ pause = {} }` or `{ analysis = \"NAME\" }`",
                );
                continue;
            }
            if let Some(w) = &raw.set_weight {
                if let Some(w) = self.count(w, &what("set_weight", &ctx), 0, 100, None) {
                    steps.push(ArgoStep::SetWeight(w as u32));
                }
            } else if let Some(p) = &raw.pause {
                if let Some(p) = self.pause(p, &ctx) {
                    steps.push(ArgoStep::Pause(p));
                }
            } else if let Some(a) = &raw.analysis
                && let Some(i) = lookup(self, a, &ctx)
            {
                steps.push(ArgoStep::Analysis(i));
            }
        }
        let background = match &r.background {
            Some(b) => {
                let ctx = "`background` in [rollout]";
                let raw = b.get_ref();
                let analysis = match &raw.analysis {
                    Some(a) => lookup(self, a, ctx),
                    None => {
                        self.error(b.span(), format!("missing `analysis` in {ctx}"));
                        None
                    }
                };
                let starting_step = match &raw.starting_step {
                    Some(s) => self.count(s, &what("starting_step", ctx), 0, raw_steps.get_ref().len() as u64, None)?,
                    None => 0,
                } as usize;
                analysis.map(|analysis| Background { analysis, starting_step })
            }
            None => None,
        };
        Some(Argo { steps, analyses, background })
    }

    fn pause(&mut self, p: &Spanned<toml::Value>, ctx: &str) -> Option<Option<SimDuration>> {
        let text = match p.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Table(t) if t.is_empty() => return Some(None),
            toml::Value::Table(t) if t.len() == 1 && t.get("duration").is_some_and(toml::Value::is_str) => {
                t["duration"].as_str().unwrap_or_default().to_string()
            }
            _ => {
                self.error_help(
                    p.span(),
                    format!("bad `pause` in {ctx}"),
                    "a duration (`pause = \"60s\"`, or `pause = { duration = \"60s\" }`), or `pause = {}` to wait for a person",
                );
                return None;
            }
        };
        let d = Spanned::new(p.span(), RawDuration::Text(text));
        self.duration(&d, &what("pause", ctx)).map(Some)
    }

    fn analysis(&mut self, name: &str, a: &Spanned<RawAnalysis>) -> Analysis {
        let ctx = format!("[rollout.analysis.{name}]");
        let raw = a.get_ref();
        if raw.metric.is_empty() {
            self.error(a.span(), format!("{ctx} has no `[[rollout.analysis.{name}.metric]]`"));
        }
        let metrics = raw
            .metric
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                self.analysis_metric(raw, m, &format!("[[rollout.analysis.{name}.metric]] #{}", i + 1))
            })
            .collect();
        Analysis { name: name.to_string(), metrics }
    }

    fn analysis_metric(
        &mut self,
        a: &RawAnalysis,
        m: &Spanned<RawAnalysisMetric>,
        ctx: &str,
    ) -> Option<AnalysisMetric> {
        let raw = m.get_ref();
        let metric = self.metric(raw.metric.as_ref(), m.span(), ctx)?;
        let bound = |v: &mut Validator, b: &Option<Spanned<toml::Value>>, key: &str| {
            b.as_ref().and_then(|b| v.bound(b, metric, &what(key, ctx)))
        };
        let (min, max) = (bound(self, &raw.min, "min"), bound(self, &raw.max, "max"));
        let (below, above) = (bound(self, &raw.fail_below, "fail_below"), bound(self, &raw.fail_above, "fail_above"));
        let success = (raw.min.is_some() || raw.max.is_some()).then_some(Condition { min, max });
        let failure =
            (raw.fail_below.is_some() || raw.fail_above.is_some()).then_some(FailureCondition { below, above });
        if success.is_none() && failure.is_none() {
            self.error_help(
                m.span(),
                format!("{ctx} has no condition: Argo counts such a metric as always successful"),
                "a success condition (`min`, `max`) or a failure condition (`fail_below`, `fail_above`)",
            );
        }
        let interval = raw.interval.as_ref().or(a.interval.as_ref());
        let interval = match interval {
            Some(i) => Some(self.positive_duration(i, &what("interval", ctx))?),
            None => None,
        };
        let count = match raw.count.as_ref().or(a.count.as_ref()) {
            Some(c) => Some(self.count(c, &what("count", ctx), 1, 1_000_000, None)? as u32),
            None => None,
        };
        let limit = |v: &mut Validator, x: Option<&Spanned<crate::scenario::raw::RawCount>>, key: &str| match x {
            Some(c) => v.count(c, &what(key, ctx), 0, 1_000_000, None).map(|n| n as u32),
            None => Some(0),
        };
        let failure_limit = limit(self, raw.failure_limit.as_ref().or(a.failure_limit.as_ref()), "failure_limit")?;
        let inconclusive_limit =
            limit(self, raw.inconclusive_limit.as_ref().or(a.inconclusive_limit.as_ref()), "inconclusive_limit")?;
        let initial_delay = match raw.initial_delay.as_ref().or(a.initial_delay.as_ref()) {
            Some(d) => self.duration(d, &what("initial_delay", ctx))?,
            None => SimDuration::ZERO,
        };
        let window = match &raw.window {
            Some(w) => self.positive_duration(w, &what("window", ctx))?,
            None => interval.unwrap_or(DEFAULT_WINDOW),
        };
        let name = raw.name.as_ref().map_or_else(|| metric.name().to_string(), |n| n.get_ref().clone());
        Some(AnalysisMetric {
            name,
            metric,
            interval,
            count,
            initial_delay,
            failure_limit,
            inconclusive_limit,
            success,
            failure,
            window,
        })
    }

    fn metric(&mut self, metric: Option<&Spanned<String>>, whole: Span, ctx: &str) -> Option<Metric> {
        let Some(m) = metric else {
            let names: Vec<&str> = Metric::NAMES.iter().map(|(n, _)| *n).collect();
            self.error_help(whole, format!("missing `metric` in {ctx}"), format!("one of {}", names.join(", ")));
            return None;
        };
        self.choice(m, &what("metric", ctx), &Metric::NAMES)
    }

    /// A bound on `metric`: a duration for a latency (kept in ms), a ratio in [0, 1] for
    /// a rate, a number of requests per second for throughput.
    fn bound(&mut self, b: &Spanned<toml::Value>, metric: Metric, what: &str) -> Option<f64> {
        match (b.get_ref(), metric) {
            (toml::Value::String(s), Metric::Latency(_)) => {
                let d = Spanned::new(b.span(), RawDuration::Text(s.clone()));
                self.duration(&d, what).map(|d| d.as_secs_f64() * 1e3)
            }
            (toml::Value::Integer(_) | toml::Value::Float(_), Metric::Latency(_)) => {
                let n = b.get_ref().as_float().or(b.get_ref().as_integer().map(|i| i as f64)).unwrap_or(0.0);
                self.error_help(
                    b.span(),
                    format!("bad bound `{n}` for {what}: a latency bound needs a unit"),
                    format!("write it as a duration, e.g. \"{n}ms\""),
                );
                None
            }
            (toml::Value::Integer(_) | toml::Value::Float(_), _) => {
                let n = b.get_ref().as_float().or(b.get_ref().as_integer().map(|i| i as f64)).unwrap_or(f64::NAN);
                let v = Spanned::new(b.span(), n);
                match metric {
                    Metric::Throughput => self.number(&v, what, 0.0, false, f64::INFINITY),
                    _ => self.probability(&v, what),
                }
            }
            _ => {
                let help = if metric.is_latency() {
                    "a duration such as \"500ms\""
                } else {
                    "a number (a ratio in [0, 1] for rates)"
                };
                self.error_help(b.span(), format!("bad bound for {what}"), help);
                None
            }
        }
    }

    fn rollout_expect(&mut self, r: &RawRollout) -> RolloutExpect {
        let Some(e) = &r.expect else { return RolloutExpect::default() };
        let ctx = "[rollout.expect]";
        let raw = e.get_ref();
        let mut share =
            |v: &Option<Spanned<f64>>, key: &str| v.as_ref().and_then(|v| self.probability(v, &what(key, ctx)));
        RolloutExpect {
            rolled_back_at_least: share(&raw.rolled_back_at_least, "rolled_back_at_least"),
            promoted_at_least: share(&raw.promoted_at_least, "promoted_at_least"),
            unfinished_at_most: share(&raw.unfinished_at_most, "unfinished_at_most"),
            caught_before_breach_at_least: share(&raw.caught_before_breach_at_least, "caught_before_breach_at_least"),
        }
    }
}

//! Validation: raw structs -> `model::Scenario`. Names become indices (in file order),
//! durations become `SimDuration`, distributions are built by their checked
//! constructors, policies are resolved per call; every semantic error is collected
//! before failing, each with the span of the value (or table) at fault.
//!
//! One file per part of the scenario, each adding methods to the one `Validator`
//! that collects the issues: `simulation.rs` (`[simulation]`), `dist.rs`
//! (distributions), `policies.rs` (every policy: named, inline, a service's `client`, a
//! call's or a load's `policy`, and the defaults they fall back on), `services.rs`
//! (services, endpoints, calls), `cycles.rs` (call cycles), `loads.rs` (loads and
//! SLOs), `faults.rs`, `claims.rs` (`[gates]` and `[[expect]]`), `overlays.rs` (what a
//! change defines and nothing uses). This file holds the entry point, the name tables
//! and the checks of single values that every part shares.

mod autoscaling;
mod claims;
mod concurrency;
mod cycles;
mod dist;
mod faults;
mod loads;
mod overlays;
mod policies;
mod rollout;
mod services;
mod simulation;

pub use policies::defaults;
pub(crate) use rollout::validate_strategy;

use super::error::{Issue, suggest};
use super::raw::{RawCount, RawDuration, RawScenario};
use crate::engine::SimDuration;
use crate::model::{EndpointRef, Policy, Scenario};
use std::ops::Range;
use toml::Spanned;

type Span = Range<usize>;

/// More instances than this would only make per-instance state (queues, breakers per
/// caller instance) huge; a bigger fleet is better modelled as fewer, larger instances.
pub const MAX_INSTANCES: u64 = 100_000;
/// Time buckets per run: each is kept per load and per service and written as a CSV row.
pub const MAX_BUCKETS: u64 = 1_000_000;
/// A breaker's window size (calls, or seconds for a time window).
pub const MAX_BREAKER_WINDOW: u64 = 1_000_000;
/// Workers are plain counters, so they may be huge; half of `u64` leaves room for sums.
pub const MAX_WORKERS: u64 = u64::MAX / 2;

/// Validates a whole raw scenario. `source` and `hash` are left empty for the caller.
///
/// `overlays_from`: the offset from which spans point into `--change` files and `--set`
/// options (`None` without overlays). Anything an overlay defines that nothing uses (a
/// service no load or call reaches, an endpoint nobody calls, a policy nobody uses, a
/// fault on an edge no call takes) is an error there: it is almost always a typo that
/// would otherwise leave the change without effect. In the base it is a lint warning.
pub(crate) fn validate(raw: &RawScenario, overlays_from: Option<usize>) -> Result<Scenario, Vec<Issue>> {
    let mut v = Validator { issues: Vec::new(), policies: Vec::new() };
    let simulation = v.simulation(raw);
    let names = Names::of(raw);
    let named_policies = v.named_policies(raw);
    let (services, edges) = v.services(raw, &names, &named_policies);
    let mut loads = v.loads(raw, &names, &named_policies, simulation.duration);
    v.slos(raw, &mut loads);
    let faults = v.faults(raw, &names, &services, simulation.duration);
    let gates = v.gates(raw);
    let expect = v.expectations(raw, simulation.seed);
    v.cycles(&names, &edges);
    if v.issues.is_empty() {
        let scenario = Scenario {
            source: String::new(),
            hash: String::new(),
            overlays: Vec::new(),
            simulation,
            services,
            policies: std::mem::take(&mut v.policies),
            loads,
            faults,
            gates,
            expect,
            rollout: None,
        };
        if let Some(from) = overlays_from {
            v.unused_in_overlays(raw, &scenario, from);
        }
        if v.issues.is_empty() {
            return Ok(scenario);
        }
        v.issues.sort_by_key(|i| i.span.as_ref().map(|s| s.start));
        Err(v.issues)
    } else {
        // Report in file order, whatever order the checks ran in; unlocated ones first.
        v.issues.sort_by_key(|i| i.span.as_ref().map(|s| s.start));
        Err(v.issues)
    }
}

/// Service and endpoint names in file order, known before anything refers to them.
struct Names<'r> {
    services: Vec<(&'r str, Vec<&'r str>)>,
}

impl<'r> Names<'r> {
    fn of(raw: &'r RawScenario) -> Names<'r> {
        let services = raw
            .services
            .iter()
            .map(|(name, s)| {
                (name.get_ref().as_str(), s.get_ref().endpoints.keys().map(|e| e.get_ref().as_str()).collect())
            })
            .collect();
        Names { services }
    }

    fn service(&self, name: &str) -> Option<usize> {
        self.services.iter().position(|(s, _)| *s == name)
    }

    fn service_names(&self) -> Vec<&'r str> {
        self.services.iter().map(|(s, _)| *s).collect()
    }

    fn endpoint_name(&self, e: EndpointRef) -> String {
        let (s, eps) = &self.services[e.service];
        format!("{s}/{}", eps[e.endpoint])
    }
}

struct Validator {
    issues: Vec<Issue>,
    policies: Vec<Policy>,
}

/// "`key` in CONTEXT", the phrase every value message starts from.
fn what(key: &str, ctx: &str) -> String {
    format!("`{key}` in {ctx}")
}

fn span_of<T>(v: &Spanned<T>) -> Span {
    v.span()
}

impl Validator {
    fn error(&mut self, span: Span, message: impl Into<String>) {
        self.issues.push(Issue::new(span, message));
    }

    fn error_help(&mut self, span: Span, message: impl Into<String>, help: impl Into<String>) {
        self.issues.push(Issue::new(span, message).with_help(help));
    }

    // ---- scalar values -------------------------------------------------------------

    fn name(&mut self, name: &Spanned<String>, kind: &str) {
        let n = name.get_ref();
        if n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            self.error_help(
                name.span(),
                format!("invalid {kind} name `{n}`"),
                "names may contain only ASCII letters, digits, `_` and `-`",
            );
        }
    }

    fn duration(&mut self, v: &Spanned<RawDuration>, what: &str) -> Option<SimDuration> {
        match v.get_ref() {
            RawDuration::Text(t) => match SimDuration::parse(t) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.error(v.span(), format!("bad duration \"{t}\" for {what}: {e}"));
                    None
                }
            },
            RawDuration::Number(n) => {
                self.error_help(
                    v.span(),
                    format!("bad duration `{n}` for {what}: a duration needs a unit"),
                    format!("write it as a string with a unit (ns, us, ms, s, m or h), e.g. \"{n}ms\""),
                );
                None
            }
        }
    }

    fn positive_duration(&mut self, v: &Spanned<RawDuration>, what: &str) -> Option<SimDuration> {
        let d = self.duration(v, what)?;
        if d == SimDuration::ZERO {
            self.error(v.span(), format!("{what} must be greater than zero"));
            return None;
        }
        Some(d)
    }

    fn opt_duration(&mut self, v: &Option<Spanned<RawDuration>>, what: &str, positive: bool) -> Option<SimDuration> {
        let v = v.as_ref()?;
        if positive { self.positive_duration(v, what) } else { self.duration(v, what) }
    }

    /// A finite float in `[lo, hi]` (`hi` may be infinite), `lo_open` excluding `lo`.
    fn number(&mut self, v: &Spanned<f64>, what: &str, lo: f64, lo_open: bool, hi: f64) -> Option<f64> {
        let x = *v.get_ref();
        let ok = x.is_finite() && (if lo_open { x > lo } else { x >= lo }) && x <= hi;
        if ok {
            return Some(x);
        }
        let range = match (lo_open, hi.is_finite()) {
            (false, true) if lo == 0.0 && hi == 1.0 => "a probability or ratio in [0, 1]".to_string(),
            (true, true) => format!("a number in ({lo}, {hi}]"),
            (false, true) => format!("a number in [{lo}, {hi}]"),
            (true, false) => format!("a finite number greater than {lo}"),
            (false, false) => format!("a finite number >= {lo}"),
        };
        self.error(v.span(), format!("bad value `{x:?}` for {what}: expected {range}"));
        None
    }

    fn probability(&mut self, v: &Spanned<f64>, what: &str) -> Option<f64> {
        self.number(v, what, 0.0, false, 1.0)
    }

    /// A whole number in `[min, max]`; `why_max` explains the upper bound when it is not
    /// just the size of the field.
    fn count(&mut self, v: &Spanned<RawCount>, what: &str, min: u64, max: u64, why_max: Option<&str>) -> Option<u64> {
        let n: Option<u64> = match *v.get_ref() {
            RawCount::Int(i) => u64::try_from(i).ok(),
            RawCount::Float(f) if f.is_finite() && f.fract() == 0.0 && f >= 0.0 => {
                // `as` saturates, so 1e308 becomes u64::MAX and fails the range check below.
                Some(f as u64)
            }
            RawCount::Float(f) => {
                self.error(v.span(), format!("bad value `{f:?}` for {what}: expected a whole number"));
                return None;
            }
        };
        // Debug keeps floats short (`1e308`, not 309 digits).
        let shown = match *v.get_ref() {
            RawCount::Int(i) => i.to_string(),
            RawCount::Float(f) => format!("{f:?}"),
        };
        match n {
            Some(n) if n >= min && n <= max => Some(n),
            Some(n) if n > max => {
                let msg = format!("bad value `{shown}` for {what}: at most {max} allowed");
                match why_max {
                    Some(why) => self.error_help(v.span(), msg, why),
                    None => self.error(v.span(), msg),
                }
                None
            }
            _ => {
                self.error(v.span(), format!("bad value `{shown}` for {what}: must be at least {min}"));
                None
            }
        }
    }

    fn count_u32(&mut self, v: &Option<Spanned<RawCount>>, what: &str, default: u64) -> u32 {
        let n = match v {
            Some(v) => self.count(v, what, 1, u64::from(u32::MAX), None).unwrap_or(default),
            None => default,
        };
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn choice<T: Copy>(&mut self, v: &Spanned<String>, what: &str, options: &[(&str, T)]) -> Option<T> {
        let got = v.get_ref().as_str();
        if let Some(&(_, t)) = options.iter().find(|(n, _)| *n == got) {
            return Some(t);
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        self.error_help(v.span(), format!("unknown value \"{got}\" for {what}"), suggest(got, &names, "values"));
        None
    }

    /// Reports each key that is set but does not apply, e.g. `factor` on a crash fault.
    /// `owner` names what was configured ("a `crash` fault"), `ctx` where it is.
    fn not_applicable(&mut self, present: &[(&str, Option<Span>)], allowed: &[&str], owner: &str, ctx: &str) {
        for (key, span) in present {
            if let Some(span) = span
                && !allowed.contains(key)
            {
                let takes = if allowed.is_empty() {
                    "no parameters".to_string()
                } else {
                    allowed.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                };
                self.error_help(
                    span.clone(),
                    format!("`{key}` does not apply to {owner} ({ctx})"),
                    format!("{owner} takes {takes}"),
                );
            }
        }
    }

    /// A value required by another key's choice (e.g. `base` for a backoff): reports it
    /// missing in the right words.
    fn required<T>(&mut self, value: Option<T>, missing: Option<Span>, key: &str, ctx: &str) -> Option<T> {
        if let Some(span) = missing {
            self.error(span, format!("missing `{key}` in {ctx}"));
        }
        value
    }
}

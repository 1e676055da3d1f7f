//! Graphviz DOT export of a scenario's topology: services, loads, and one edge per
//! call site, in file order so the output is byte-for-byte stable.

use crate::model::{CallSite, LoadKind, Policy, Scenario, Step};
use std::fmt::Write;

/// The scenario as a Graphviz digraph (`stormcast graph`).
///
/// Services are ellipses labelled `name`, `instances x workers` and the queue; loads are
/// boxes; every call site is an edge from the caller's service to the callee's,
/// labelled `caller endpoint -> callee endpoint` plus the call's timeout and attempts
/// (if its policy sets them) and its probability (if below 1). Optional calls are
/// dashed, members of a `parallel` group are marked `parallel`.
pub fn to_dot(s: &Scenario) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored through `let _`.
    let _ = writeln!(out, "digraph stormcast {{");
    let _ = writeln!(out, "  graph [rankdir=LR, label={}, labelloc=t];", quote(&s.source));
    let _ = writeln!(out, "  node [fontname=\"Helvetica\", fontsize=10];");
    let _ = writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=9];");
    let _ = writeln!(out);
    for (i, load) in s.loads.iter().enumerate() {
        let kind = match &load.kind {
            LoadKind::Open { rate, .. } => format!("open, {rate} req/s"),
            LoadKind::Closed { users, .. } => format!("closed, {users} users"),
        };
        let label = format!("{}\n{kind}", load.name);
        let _ = writeln!(out, "  load{i} [shape=box, style=rounded, label={}];", quote(&label));
    }
    for (i, service) in s.services.iter().enumerate() {
        let queue = service.queue.map_or("unbounded".to_string(), |q| q.to_string());
        let label = format!("{}\n{} x {}\nqueue {queue}", service.name, service.instances, service.workers);
        let _ = writeln!(out, "  service{i} [shape=ellipse, label={}];", quote(&label));
    }
    let _ = writeln!(out);
    for (i, load) in s.loads.iter().enumerate() {
        let endpoint = &s.services[load.target.service].endpoints[load.target.endpoint].name;
        let label = with_policy(endpoint.clone(), load.policy.map(|p| &s.policies[p]));
        let _ = writeln!(out, "  load{i} -> service{} [label={}];", load.target.service, quote(&label));
    }
    for (from, service) in s.services.iter().enumerate() {
        for endpoint in &service.endpoints {
            for step in &endpoint.steps {
                let parallel = matches!(step, Step::Parallel(_));
                for call in step.calls() {
                    let _ = writeln!(out, "  {}", call_edge(s, from, &endpoint.name, call, parallel));
                }
            }
        }
    }
    let _ = writeln!(out, "}}");
    out
}

fn call_edge(s: &Scenario, from: usize, caller: &str, call: &CallSite, parallel: bool) -> String {
    let callee = &s.services[call.to.service].endpoints[call.to.endpoint].name;
    let mut label = with_policy(format!("{caller} -> {callee}"), call.policy.map(|p| &s.policies[p]));
    if call.probability < 1.0 {
        label.push_str(&format!("\np = {}", call.probability));
    }
    if parallel {
        label.push_str("\nparallel");
    }
    let style = if call.optional { ", style=dashed" } else { "" };
    format!("service{from} -> service{} [label={}{style}];", call.to.service, quote(&label))
}

/// Appends the policy's timeout and attempts, the two figures that decide how a call
/// behaves under a slow callee.
fn with_policy(mut label: String, policy: Option<&Policy>) -> String {
    let Some(p) = policy else { return label };
    let mut parts = Vec::new();
    if let Some(t) = p.timeout {
        parts.push(format!("timeout {t}"));
    }
    if let Some(r) = &p.retry {
        parts.push(format!("{} attempts", r.max_attempts));
    }
    if !parts.is_empty() {
        label.push('\n');
        label.push_str(&parts.join(", "));
    }
    label
}

/// A DOT double-quoted string; line breaks become `\n` (centred lines).
fn quote(text: &str) -> String {
    let mut q = String::with_capacity(text.len() + 2);
    q.push('"');
    for c in text.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\r' => {}
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_str;

    #[test]
    fn full_scenario_as_dot() {
        let s = load_str("full.toml", include_str!("../scenario/testdata/full.toml")).expect("valid");
        let dot = to_dot(&s);
        assert_eq!(dot, to_dot(&s), "deterministic");
        insta::assert_snapshot!(dot);
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(quote("a \"b\"\\c\nd"), "\"a \\\"b\\\"\\\\c\\nd\"");
    }
}

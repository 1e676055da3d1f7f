//! Flagger `Canary` and Argo `Rollout` + `AnalysisTemplate` YAML as rollout strategies.
//!
//! The file is one or more YAML documents (separated by `---`): exactly one Flagger
//! `Canary` (with the `MetricTemplate`s its metrics refer to) or one Argo `Rollout`
//! (with its `AnalysisTemplate`s and `ClusterAnalysisTemplate`s); documents of other
//! kinds (the `Deployment`, a `Service`...) are skipped. Each is mapped to exactly the
//! `Strategy` the equivalent TOML strategy file gives, with the same defaults; what the
//! simulator cannot model is refused, located, saying why. `docs/rollout-yaml.md` has
//! the mapping, with units, and the refusals.
//!
//! Stages: text -> spanned node trees ([`node`]) -> the style's mapping ([`flagger`],
//! [`argo`]), which collects every issue before failing, like TOML validation does.

mod argo;
mod flagger;
mod node;
mod query;
#[cfg(test)]
mod tests;

use super::LoadError;
use super::error::{Issue, SourceMap};
use crate::engine::SimDuration;
use crate::model::rollout::{RolloutExpect, Strategy, Style};
use node::{At, Node, Value};
use query::Measured;

/// Reads Kubernetes YAML (one or more documents) as a strategy. The rollout starts at
/// 0 s (YAML has no start time: `stormcast rollout --start` sets one) and has no
/// `[rollout.expect]`.
pub fn load_strategy_yaml(label: &str, text: &str) -> Result<Strategy, LoadError> {
    let mut sources = SourceMap::default();
    sources.add(label, text);
    let documents = serde_saphyr::from_multiple::<Node>(text).map_err(|e| sources.error(vec![yaml_issue(&e, text)]))?;
    strategy(&documents, label).map_err(|mut issues| {
        issues.sort_by_key(|i| i.span.as_ref().map(|s| s.start));
        sources.error(issues)
    })
}

/// A syntax error, at saphyr's location, with its message without the source snippet
/// or the position (the diagnostic shows both).
fn yaml_issue(e: &serde_saphyr::Error, text: &str) -> Issue {
    let plain = e.without_snippet().to_string();
    let first = plain.lines().next().unwrap_or_default();
    // Keep what the user can act on: not the position, nor advice to the developer
    // ("set DuplicateKeyPolicy in Options if acceptable").
    let first = first.split(" at line ").next().unwrap_or(first);
    let first = first.split(", set DuplicateKeyPolicy").next().unwrap_or(first);
    let message = format!("malformed YAML: {}", first.trim());
    let at = e.location().and_then(|l| match l.span().byte_offset() {
        Some(at) => Some(at as usize),
        None => offset_of(text, l.line() as usize, l.column() as usize),
    });
    match at {
        Some(at) => Issue::new(at..at, message),
        None => Issue::unlocated(message),
    }
}

/// The byte offset of a 1-based line and column (in characters), if the text has it.
/// saphyr gives syntax errors a line and column but not always a byte offset.
fn offset_of(text: &str, line: usize, column: usize) -> Option<usize> {
    let start = match line {
        0 => return None,
        1 => 0,
        _ => text.match_indices('\n').nth(line - 2)?.0 + 1,
    };
    let line_text = &text[start..text[start..].find('\n').map_or(text.len(), |i| start + i)];
    let within = match line_text.char_indices().nth(column.checked_sub(1)?) {
        Some((i, _)) => i,
        // Just past the end of the line (where a missing token was expected).
        None if column == line_text.chars().count() + 1 => line_text.len(),
        None => return None,
    };
    Some(start + within)
}

/// A document of a kind this module reads, and its `metadata.name`.
struct Document<'a> {
    at: At<'a>,
    kind: &'a str,
    name: Option<&'a str>,
}

impl<'a> Document<'a> {
    /// Its `spec`, which every kind read here must have (an issue at the document if not).
    fn spec(&self, issues: &mut Vec<Issue>) -> Option<At<'a>> {
        let spec = self.at.get("spec");
        if spec.is_none() {
            issues.push(self.at.issue(format!("this {} has no `spec`", self.kind)));
        }
        spec.filter(|s| s.is_map(issues))
    }
}

/// The kinds read, with the API group each must belong to.
const KINDS: [(&str, &str); 5] = [
    ("Canary", "flagger.app/"),
    ("MetricTemplate", "flagger.app/"),
    ("Rollout", "argoproj.io/"),
    ("AnalysisTemplate", "argoproj.io/"),
    ("ClusterAnalysisTemplate", "argoproj.io/"),
];

fn strategy(nodes: &[Node], label: &str) -> Result<Strategy, Vec<Issue>> {
    let mut issues = Vec::new();
    let documents: Vec<Document> = nodes.iter().filter_map(|n| document(n, &mut issues)).collect();
    let targets: Vec<&Document> = documents.iter().filter(|d| matches!(d.kind, "Canary" | "Rollout")).collect();
    let target = match targets.as_slice() {
        [one] => one,
        [] => {
            let found: Vec<String> = nodes.iter().filter_map(kind_of).map(|k| format!("`{k}`")).collect();
            let found = if found.is_empty() { "no `kind`".to_string() } else { format!("only {}", found.join(", ")) };
            let at = nodes.first().map_or(0..0, |n| n.span.clone());
            issues.push(
                Issue::new(
                    at,
                    format!("`{label}` is neither a Flagger `Canary` nor an Argo `Rollout`: it has {found}"),
                )
                .with_help(
                    "a YAML strategy is a Flagger `Canary` (apiVersion flagger.app/v1beta1) with its \
                         `MetricTemplate`s, or an Argo `Rollout` (apiVersion argoproj.io/v1alpha1) with its \
                         `AnalysisTemplate`s, as documents of one file separated by `---`",
                ),
            );
            return Err(issues);
        }
        [_, second, ..] => {
            issues.push(
                second.at.issue(format!("a second `{}` in one file", second.kind)).with_help(
                    "a strategy file holds one rollout: one `Canary` or one `Rollout` (templates may be many)",
                ),
            );
            return Err(issues);
        }
    };
    let mapped = match target.kind {
        "Canary" => flagger::flagger(target, &documents, &mut issues).map(|(s, f)| (s, Style::Flagger(f))),
        _ => argo::argo(target, &documents, &mut issues).map(|(s, a)| (s, Style::Argo(a))),
    };
    match mapped {
        Some((service, style)) if issues.is_empty() => Ok(Strategy {
            source: label.to_string(),
            service,
            start: SimDuration::ZERO,
            style,
            expect: RolloutExpect::default(),
        }),
        _ => Err(issues),
    }
}

fn kind_of(node: &Node) -> Option<&str> {
    match At::root(node).get("kind")?.node.value {
        Value::Str(ref k) => Some(k),
        _ => None,
    }
}

/// A document of a kind read here, checked to be of its API group and named; other
/// kinds give `None` without an issue.
fn document<'a>(node: &'a Node, issues: &mut Vec<Issue>) -> Option<Document<'a>> {
    let at = At::root(node);
    let kind = kind_of(node)?;
    let (kind, group) = KINDS.iter().find(|(k, _)| *k == kind)?;
    let api = at.get("apiVersion");
    match api.as_ref().map(|a| (a, a.str(issues))) {
        Some((_, Some(v))) if v.starts_with(group) => {}
        Some((a, Some(v))) => {
            issues.push(a.issue(format!("a `{kind}` of `{v}`: stormcast reads `{kind}` of `{group}...`")));
            return None;
        }
        Some((_, None)) => return None,
        None => {
            issues.push(at.issue(format!("this `{kind}` has no `apiVersion` (`{group}...`)")));
            return None;
        }
    }
    let name = match at.get("metadata").and_then(|m| m.get("name")) {
        Some(n) => n.str(issues),
        None => {
            issues.push(at.issue(format!("this `{kind}` has no `metadata.name`")));
            None
        }
    };
    Some(Document { at, kind, name })
}

/// A Go duration (`time.ParseDuration`, as Flagger and Argo read them): a sequence of
/// decimal numbers each with a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), as in
/// `1m30s` or `1.5h`; `0` alone needs no unit. Negative durations are refused.
fn go_duration(text: &str) -> Result<SimDuration, String> {
    let bad = || format!("\"{text}\" is not a duration such as \"30s\", \"1m\" or \"1m30s\"");
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.starts_with('-') {
        return Err(format!("\"{text}\" is negative"));
    }
    if rest == "0" {
        return Ok(SimDuration::ZERO);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut ns = 0.0;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        let unit_end =
            rest[number_end..].find(|c: char| c.is_ascii_digit() || c == '.').map_or(rest.len(), |i| number_end + i);
        let number: f64 = rest[..number_end].parse().map_err(|_| bad())?;
        let scale = match &rest[number_end..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        ns += number * scale;
        rest = &rest[unit_end..];
    }
    Ok(SimDuration::from_nanos_f64(ns))
}

/// A Go duration at `at` (a string), or an issue.
fn duration_at(at: &At, issues: &mut Vec<Issue>) -> Option<SimDuration> {
    let text = at.str(issues)?;
    go_duration(text).map_err(|e| issues.push(at.issue(e))).ok()
}

/// A query's shape, or an issue at it (`whose` says whose query it is).
fn read_query(q: &At, whose: &str, issues: &mut Vec<Issue>) -> Option<Measured> {
    let text = q.str(issues)?;
    query::measured(text)
        .map_err(|e| issues.push(q.issue(format!("cannot read the query{whose}: {e}")).with_help(query::SHAPES)))
        .ok()
}

//! Scenario loading: TOML text -> raw structs -> validated `model::Scenario`, with
//! errors located at file:line:col.
//!
//! The stages, each with its own error source:
//!
//! 1. **Document**: the text is parsed into toml's spanned document (`DeTable`).
//!    Syntax errors stop here.
//! 2. **Raw**: the document is deserialized into [`raw::RawScenario`] (unknown keys and
//!    wrong types stop here, at the first one, as serde does).
//! 3. **Validation**: names become indices, durations `SimDuration`s, distributions are
//!    built by their checked constructors; *all* semantic errors are collected.
//!
//! Every stage reports spans, which a `SourceMap` resolves to a file, line and column.
//!
//! `--change FILE` and `--set KEY=VALUE` work at the document stage ([`overlay`]): each
//! change text is added to the `SourceMap` (which lays texts end to end in one offset
//! space), parsed with its spans shifted by its offset, and merged over the base
//! document (tables key by key; scalars and arrays, arrays of tables included,
//! replaced) before stage 2. A `--set` is a one-key change whose text, and label, is
//! the option itself. Stages 2 and 3 then work unchanged, and every error points into
//! whichever text defined the offending value.

pub mod error;
pub mod locate;
pub mod overlay;
pub mod raw;
pub mod strategy;
mod strategy_yaml;
mod validate;

pub use error::{Diagnostic, LoadError, Location};
pub use validate::{MAX_INSTANCES, MAX_WORKERS, defaults};

use crate::engine::rng::fnv1a64;
use crate::model::{OverlaySource, Scenario};
use error::{Issue, SourceMap, suggest};
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Reads and validates a scenario file. The path, as given, labels every message.
pub fn load_file(path: &Path) -> Result<Scenario, LoadError> {
    load_with_changes(path, &[], &[])
}

/// Reads a base scenario and its `--change` files, merges the changes over the base in
/// order and then the `--set KEY=VALUE` options in order (see [`overlay`] for the merge
/// rules and the `--set` grammar), and validates the result.
///
/// Each path, as given, labels the messages about the values it defined; a `--set`
/// option is labelled with the option itself (`--set services.payment.instances=6`).
/// `Scenario::source` is the base's path and `Scenario::hash` covers every input.
pub fn load_with_changes(base: &Path, changes: &[PathBuf], sets: &[String]) -> Result<Scenario, LoadError> {
    let base_label = base.display().to_string();
    let base_text = read_text(base, &base_label)?;
    load_text_with_changes(&base_label, &base_text, changes, sets)
}

/// [`load_with_changes`] for a base given as text (standard input, for one), labelled
/// `base_label`; the `--change` files are still read from their paths.
pub fn load_text_with_changes(
    base_label: &str,
    base_text: &str,
    changes: &[PathBuf],
    sets: &[String],
) -> Result<Scenario, LoadError> {
    let mut change_texts = Vec::with_capacity(changes.len());
    for path in changes {
        let label = path.display().to_string();
        let text = read_text(path, &label)?;
        change_texts.push((label, text));
    }
    let change_refs: Vec<(&str, &str)> = change_texts.iter().map(|(l, t)| (l.as_str(), t.as_str())).collect();
    let set_refs: Vec<&str> = sets.iter().map(String::as_str).collect();
    load_str_with_changes(base_label, base_text, &change_refs, &set_refs)
}

/// Reads a file as UTF-8 text; a file that is not gets a located error.
fn read_text(path: &Path, label: &str) -> Result<String, LoadError> {
    let bytes =
        std::fs::read(path).map_err(|source| LoadError::Read { what: "scenario", path: label.to_string(), source })?;
    String::from_utf8(bytes).map_err(|e| not_utf8(label, e.as_bytes(), e.utf8_error()))
}

/// Validates a scenario given as bytes, which must be UTF-8.
pub fn load_bytes(label: &str, bytes: &[u8]) -> Result<Scenario, LoadError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => load_str(label, text),
        Err(e) => Err(not_utf8(label, bytes, e)),
    }
}

fn not_utf8(label: &str, bytes: &[u8], e: std::str::Utf8Error) -> LoadError {
    // The prefix before the first bad byte is intact in the lossy copy, so the line and
    // column computed there are the real ones.
    let text = String::from_utf8_lossy(bytes);
    let mut sources = SourceMap::default();
    sources.add(label, &text);
    let at = e.valid_up_to();
    let issue = Issue::new(at..at + 1, format!("`{label}` is not valid UTF-8"))
        .with_help("scenario files are UTF-8 text; re-save the file with UTF-8 encoding");
    sources.error(vec![issue])
}

/// Validates a scenario given as text. `label` names it in messages and becomes
/// `Scenario::source`.
pub fn load_str(label: &str, text: &str) -> Result<Scenario, LoadError> {
    load_str_with_changes(label, text, &[], &[])
}

/// [`load_with_changes`] for texts: the base, then `(label, text)` change documents,
/// then `KEY=VALUE` options (without the `--set`), each applied in order.
pub fn load_str_with_changes(
    label: &str,
    text: &str,
    changes: &[(&str, &str)],
    sets: &[&str],
) -> Result<Scenario, LoadError> {
    // A `--set` is shown as the option itself, which is both its label and its text.
    let set_texts: Vec<String> = sets.iter().map(|s| format!("{}{s}", overlay::SET_PREFIX)).collect();
    let mut sources = SourceMap::default();
    sources.add(label, text);
    if text.trim().is_empty() {
        let issue = Issue::new(0..0, format!("`{label}` is empty: missing [simulation] table"))
            .with_help("a scenario needs at least `[simulation]` with `duration = \"...\"`");
        return Err(sources.error(vec![issue]));
    }
    let mut doc = parse_document(text).map_err(|issue| sources.error(vec![issue]))?;
    for &(change_label, change_text) in changes {
        let offset = sources.add(change_label, change_text);
        let change = parse_document(change_text).map_err(|issue| sources.error(vec![issue.shifted(offset)]))?;
        overlay::merge_change(doc.get_mut(), overlay::shift_table(change.into_inner(), offset))
            .map_err(|issue| sources.error(vec![issue]))?;
    }
    for set_text in &set_texts {
        let offset = sources.add(set_text, set_text);
        overlay::SetOption::parse(set_text, offset)
            .and_then(|set| set.apply(doc.get_mut()))
            .map_err(|issue| sources.error(vec![issue]))?;
    }
    let raw = raw_scenario(doc).map_err(|issue| sources.error(vec![issue]))?;
    // Overlays start right after the base text (`SourceMap` lays texts end to end).
    let overlays_from = (!changes.is_empty() || !set_texts.is_empty()).then_some(text.len() + 1);
    let mut scenario = validate::validate(&raw, overlays_from).map_err(|issues| sources.error(issues))?;
    scenario.source = label.to_string();
    scenario.hash = format!("{:016x}", hash(text, changes, &set_texts));
    let changes = changes.iter().map(|&(label, text)| OverlaySource {
        kind: "change",
        source: label.to_string(),
        hash: format!("{:016x}", fnv1a64(text.as_bytes())),
    });
    let sets = sets.iter().map(|&set| OverlaySource {
        kind: "set",
        source: set.to_string(),
        hash: format!("{:016x}", fnv1a64(set.as_bytes())),
    });
    scenario.overlays = changes.chain(sets).collect();
    Ok(scenario)
}

/// FNV-1a of the base text, followed by each change and `--set` with a tag in front,
/// so that the hash identifies the exact inputs (and is the base's own hash when there
/// are no overlays). Labels are left out: moving a file does not change the scenario.
fn hash(base: &str, changes: &[(&str, &str)], sets: &[String]) -> u64 {
    let mut bytes = base.as_bytes().to_vec();
    for (_, text) in changes {
        bytes.extend_from_slice(b"\0--change\0");
        bytes.extend_from_slice(text.as_bytes());
    }
    for set in sets {
        bytes.extend_from_slice(b"\0");
        bytes.extend_from_slice(set.as_bytes());
    }
    fnv1a64(&bytes)
}

/// Stage 1: text -> spanned document.
fn parse_document(text: &str) -> Result<Spanned<DeTable<'_>>, Issue> {
    DeTable::parse(text).map_err(|e| {
        let message = format!("malformed TOML: {}", e.message().trim().replace('\n', "; "));
        match e.span() {
            Some(span) => Issue::new(span, message),
            None => Issue::unlocated(message),
        }
    })
}

/// Stage 2: document -> raw structs. On error the document is searched for the key
/// the span belongs to, so the message can name the key and its table.
fn raw_scenario(doc: Spanned<DeTable<'_>>) -> Result<raw::RawScenario, Issue> {
    // A scenario is a few kilobytes; keeping a copy for the error path is cheaper to
    // reason about than re-parsing (which a merged document could not do).
    let copy = doc.get_ref().clone();
    raw::from_document(doc).map_err(|e| serde_issue(&e, &copy))
}

#[derive(Clone, Debug, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

fn serde_issue(e: &toml::de::Error, doc: &DeTable<'_>) -> Issue {
    let message = e.message().trim();
    let Some(span) = e.span() else { return Issue::unlocated(message) };
    let path = key_path(doc, &span);
    let (key, parent) = match path.split_last() {
        Some((Segment::Key(k), parent)) => (k.clone(), parent),
        _ => (String::new(), &path[..]),
    };
    let context = describe(parent);
    if let Some((field, expected)) = message.strip_prefix("unknown field `").and_then(|r| r.split_once('`')) {
        // serde: "unknown field `x`, expected one of `a`, `b`" / "expected `a`" /
        // "there are no fields".
        let valid: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        return Issue::new(span, format!("unknown key `{field}` {context}")).with_help(suggest(field, &valid, "keys"));
    }
    if let Some((found, expected)) = message.strip_prefix("invalid type: ").and_then(|r| r.split_once(", expected ")) {
        // An array item has no key of its own: name it by its place instead.
        let what = if key.is_empty() {
            format!("wrong type {}", describe(&path))
        } else {
            format!("wrong type for `{key}` {context}")
        };
        return Issue::new(span, format!("{what}: found {found}, expected {}", plain(expected)));
    }
    if key.is_empty() {
        Issue::new(span, format!("{message} {context}"))
    } else {
        Issue::new(span, format!("bad value for `{key}` {context}: {message}"))
    }
}

/// serde's names for what it expected, in the words of a TOML user.
fn plain(expected: &str) -> String {
    if expected.starts_with("struct ") || expected == "a map" {
        "a table".to_string()
    } else if expected == "a sequence" {
        "an array".to_string()
    } else if expected == "f64" {
        "a number".to_string()
    } else {
        expected.to_string()
    }
}

/// The key path whose key or value has exactly this span (empty if none).
fn key_path(doc: &DeTable<'_>, span: &Range<usize>) -> Vec<Segment> {
    let mut path = Vec::new();
    if find_in_table(doc, span, &mut path) { path } else { Vec::new() }
}

fn find_in_table(t: &DeTable<'_>, span: &Range<usize>, path: &mut Vec<Segment>) -> bool {
    for (k, v) in t.iter() {
        path.push(Segment::Key(k.get_ref().to_string()));
        if k.span() == *span || v.span() == *span || find_in_value(v.get_ref(), span, path) {
            return true;
        }
        path.pop();
    }
    false
}

fn find_in_value(v: &DeValue<'_>, span: &Range<usize>, path: &mut Vec<Segment>) -> bool {
    match v {
        DeValue::Table(t) => find_in_table(t, span, path),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Segment::Index(i));
                if item.span() == *span || find_in_value(item.get_ref(), span, path) {
                    return true;
                }
                path.pop();
            }
            false
        }
        _ => false,
    }
}

/// "in policy `payment-client`", "in [simulation]", ... for a table's key path.
fn describe(path: &[Segment]) -> String {
    use Segment::{Index, Key};
    let k = |s: &Segment, want: &str| matches!(s, Key(x) if x == want);
    match path {
        [] => "at the top level".to_string(),
        [Key(t)] if t == "simulation" || t == "gates" => format!("in [{t}]"),
        [s, Key(n)] if k(s, "services") => format!("in service `{n}`"),
        [s, Key(n), r] if k(s, "services") && k(r, "rate_limit") => format!("in `rate_limit` of service `{n}`"),
        [s, Key(n), r] if k(s, "services") && k(r, "adaptive_concurrency") => {
            format!("in `adaptive_concurrency` of service `{n}`")
        }
        [s, Key(n), e, Key(ep)] if k(s, "services") && k(e, "endpoints") => format!("in endpoint `{n}/{ep}`"),
        [s, Key(n), e, Key(ep), c, Index(i)] if k(s, "services") && k(e, "endpoints") && k(c, "calls") => {
            format!("in call #{} of endpoint `{n}/{ep}`", i + 1)
        }
        [p, Key(n)] if k(p, "policies") => format!("in policy `{n}`"),
        [p, Key(n), Key(part)] if k(p, "policies") => format!("in `{part}` of policy `{n}`"),
        [Key(t), Index(i)] if t == "load" || t == "fault" => format!("in [[{t}]] #{}", i + 1),
        [s, Key(n)] if k(s, "slo") => format!("in [slo.{n}]"),
        _ => {
            let mut dotted = String::new();
            for s in path {
                match s {
                    Key(x) if dotted.is_empty() => dotted.push_str(x),
                    Key(x) => {
                        dotted.push('.');
                        dotted.push_str(x);
                    }
                    Index(i) => dotted.push_str(&format!("[{i}]")),
                }
            }
            format!("in `{dotted}`")
        }
    }
}

#[cfg(test)]
mod overlay_tests;
#[cfg(test)]
mod tests;

//! Overlays: merging `--change` documents and `--set KEY=VALUE` options over a base
//! document, before it is deserialized.
//!
//! Every document here is toml's spanned `DeTable`, with spans in the offset space of
//! one `SourceMap` (see `error.rs`): a change file's spans are shifted by the
//! offset the map gave its text, so after the merge each value still names the file
//! (and line) that defined it.
//!
//! Merge rules, applied key by key:
//!
//! - A table merges into a table: keys of the change are merged into the base's, keys
//!   only in the base stay. This is how `[services.payment]` with `instances = 6`
//!   changes one key of one service.
//! - Except a *variant table*, one that names its variant with `dist` (a distribution)
//!   or `kind` (a retry budget): such a table replaces the old value whole, because the
//!   old variant's parameters (a lognormal's `p99`, a concurrency budget's
//!   `min_concurrency`) do not apply to the new one. A table without that key merges,
//!   so `latency = { mean = "8ms" }` tunes the distribution already there.
//! - Anything else (a scalar, an array, a table over a scalar or a scalar over a table)
//!   replaces the old value. Arrays of tables (`[[load]]`, `[[fault]]`, `calls`) are
//!   arrays, so a change that has any `[[fault]]` replaces all of the base's faults,
//!   and `fault = []` removes them.
//! - A change may add to an array instead under a top-level `append` table, which
//!   mirrors the scenario's layout: `[[append.fault]]` adds a fault after the base's,
//!   `[append.services.frontend.endpoints.checkout]` with `calls = [...]` adds calls.
//!   A change's `append` table is applied after the rest of that change; appending to
//!   something that is not an array is an error located at the key in the change.
//!
//! A key the base does not have is added, with every table under it: a change is a
//! partial scenario, so it may add a service, and validation then reports whatever the
//! new service lacks.
//!
//! `--set KEY=VALUE` is a one-key change, applied after every change file:
//!
//! - KEY is a dotted path of names made of `[A-Za-z0-9_-]` (at most 32 of them):
//!   `services.payment.instances`, `policies.payment-client.retry.max_attempts`. Where
//!   the path reaches an array, the next name is an index: `load.0.rate`. Missing
//!   tables on the path are created; a path through a scalar is an error.
//! - VALUE is a TOML value: `6`, `0.5`, `"800ms"`, `true`, `["timeout"]`,
//!   `{ kind = "token_bucket", ratio = 0.1 }`. Text that is not valid TOML and does not
//!   start with `"`, `'`, `[` or `{` is a bare string, as written (trimmed): `800ms`,
//!   `unbounded`, `least_requests`. An inline table merges like a change's table.
//! - Spaces around KEY and VALUE are ignored. Errors are located in a pseudo-file whose
//!   label and only line are `--set KEY=VALUE`.

use super::error::Issue;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

/// Keys that select a table's variant; a table carrying one replaces the old table.
const VARIANT_KEYS: [&str; 2] = ["dist", "kind"];

/// The top-level table of a change whose arrays are appended rather than replaced.
pub(crate) const APPEND_KEY: &str = "append";

fn shifted(span: Range<usize>, offset: usize) -> Range<usize> {
    span.start + offset..span.end + offset
}

/// Moves every span of a parsed change document by `offset`, into the source map's
/// offset space.
pub(crate) fn shift_table(table: DeTable<'_>, offset: usize) -> DeTable<'_> {
    table
        .into_iter()
        .map(|(key, value)| {
            let key_span = shifted(key.span(), offset);
            (Spanned::new(key_span, key.into_inner()), shift_value(value, offset))
        })
        .collect()
}

pub(crate) fn shift_value(value: Spanned<DeValue<'_>>, offset: usize) -> Spanned<DeValue<'_>> {
    let span = shifted(value.span(), offset);
    let inner = match value.into_inner() {
        DeValue::Table(t) => DeValue::Table(shift_table(t, offset)),
        DeValue::Array(mut items) => {
            // Shift in place, so that the array keeps its "array of tables" flag.
            for item in items.iter_mut() {
                let old = std::mem::replace(item, Spanned::new(0..0, DeValue::Boolean(false)));
                *item = shift_value(old, offset);
            }
            DeValue::Array(items)
        }
        other => other,
    };
    Spanned::new(span, inner)
}

/// Whether `value`, arriving over a table, replaces it instead of merging into it.
fn replaces_table(value: &DeTable<'_>) -> bool {
    VARIANT_KEYS.iter().any(|k| value.contains_key(*k))
}

/// Merges `change` into `base` by the rules in the module docs. The only errors are
/// misuses of the `append` table.
pub(crate) fn merge_change<'i>(base: &mut DeTable<'i>, mut change: DeTable<'i>) -> Result<(), Issue> {
    let append = change.remove_entry(APPEND_KEY);
    merge_table(base, change);
    if let Some((key, value)) = append {
        let span = value.span();
        match value.into_inner() {
            DeValue::Table(t) => append_table(base, t, APPEND_KEY)?,
            other => {
                return Err(Issue::new(
                    span,
                    format!("`{}` must be a table, found {}", key.get_ref(), a(other.type_str())),
                )
                .with_help("write `[[append.fault]]` to add a fault after the base's faults"));
            }
        }
    }
    Ok(())
}

fn merge_table<'i>(base: &mut DeTable<'i>, change: DeTable<'i>) {
    for (key, value) in change {
        match base.get_mut(key.get_ref().as_ref()) {
            Some(old) => merge_value(old, value),
            None => {
                base.insert(key, value);
            }
        }
    }
}

/// Merges one value over another; the key keeps its place (and span) in the base.
pub(crate) fn merge_value<'i>(old: &mut Spanned<DeValue<'i>>, new: Spanned<DeValue<'i>>) {
    let merges = matches!((old.get_ref(), new.get_ref()), (DeValue::Table(_), DeValue::Table(t)) if !replaces_table(t));
    if !merges {
        *old = new;
        return;
    }
    if let (DeValue::Table(old_table), DeValue::Table(new_table)) = (old.get_mut(), new.into_inner()) {
        merge_table(old_table, new_table);
    }
}

/// Appends the arrays of an `append` table to the arrays at the same paths in `base`;
/// tables lead the way down. `path` is the dotted path so far, for messages.
fn append_table<'i>(base: &mut DeTable<'i>, additions: DeTable<'i>, path: &str) -> Result<(), Issue> {
    for (key, value) in additions {
        let name = key.get_ref().to_string();
        let here = format!("{path}.{name}");
        let span = value.span();
        let empty = match value.get_ref() {
            DeValue::Table(_) => DeValue::Table(DeTable::default()),
            DeValue::Array(_) => DeValue::Array(DeArray::new()),
            other => {
                return Err(Issue::new(
                    span,
                    format!("`{here}` must be an array to append, found {}", a(other.type_str())),
                )
                .with_help(format!("write `[[{here}]]` or `{name} = [ ... ]`")));
            }
        };
        let target = base.entry(key.clone()).or_insert_with(|| Spanned::new(key.span(), empty));
        match (target.get_mut(), value.into_inner()) {
            (DeValue::Table(t), DeValue::Table(more)) => append_table(t, more, &here)?,
            (DeValue::Array(items), DeValue::Array(more)) => {
                for item in more.iter() {
                    items.push(item.clone());
                }
            }
            (DeValue::Array(_), _) => {
                // The base holds an array, the change a table: `[append.x]` for `[[append.x]]`.
                return Err(Issue::new(
                    key.span(),
                    format!("`{here}` is a table, but `{name}` is an array: items are appended as an array of tables"),
                )
                .with_help(format!("write `[[{here}]]` (double brackets) for each item to add")));
            }
            (existing, _) => {
                let base_path = here.strip_prefix("append.").unwrap_or(&here).to_string();
                return Err(Issue::new(
                    key.span(),
                    format!("cannot append to `{base_path}`: it is {}, not an array", a(existing.type_str())),
                )
                .with_help("only arrays (such as `fault`, `load` or `calls`) can be appended to"));
            }
        }
    }
    Ok(())
}

/// "a string", "an array", ...
fn a(noun: &str) -> String {
    match noun.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {noun}"),
        _ => format!("a {noun}"),
    }
}

/// One parsed `--set` option: `text` is the whole option as shown to the user
/// (`--set KEY=VALUE`), laid at `offset` in the source map.
pub(crate) struct SetOption<'i> {
    segments: Vec<(&'i str, Range<usize>)>,
    value: Spanned<DeValue<'i>>,
}

/// What a `--set` option's text starts with, so that the message shows the option as
/// the user typed it.
pub(crate) const SET_PREFIX: &str = "--set ";

/// No scenario key is nearly this deep; the bound keeps the walk down a key shallow.
const MAX_KEY_SEGMENTS: usize = 32;

const KEY_HELP: &str = "KEY is a dotted path such as `services.payment.instances` or `load.0.rate`; \
                        names contain only ASCII letters, digits, `_` and `-`";

impl<'i> SetOption<'i> {
    /// Parses `--set KEY=VALUE` (the text must start with [`SET_PREFIX`]). VALUE is a
    /// TOML value; one that is not valid TOML and does not start like a string, array
    /// or inline table (`"`, `'`, `[`, `{`) is taken as a bare string, so `800ms` needs
    /// no quotes.
    pub(crate) fn parse(text: &'i str, offset: usize) -> Result<SetOption<'i>, Issue> {
        let start = if text.starts_with(SET_PREFIX) { SET_PREFIX.len() } else { 0 };
        let whole = shifted(start..text.len(), offset);
        let Some(eq) = text[start..].find('=').map(|i| start + i) else {
            return Err(Issue::new(whole, "`--set` needs KEY=VALUE, found no `=`")
                .with_help("e.g. `--set services.payment.instances=6`"));
        };
        let mut segments = Vec::new();
        let key_text = &text[start..eq];
        let key_start = start + (key_text.len() - key_text.trim_start().len());
        let key_text = key_text.trim();
        if key_text.is_empty() {
            return Err(
                Issue::new(shifted(start..eq + 1, offset), "`--set` needs a KEY before `=`").with_help(KEY_HELP)
            );
        }
        if key_text.split('.').count() > MAX_KEY_SEGMENTS {
            return Err(Issue::new(
                shifted(key_start..key_start + key_text.len(), offset),
                format!("`--set` key has more than {MAX_KEY_SEGMENTS} names"),
            )
            .with_help(KEY_HELP));
        }
        let mut at = key_start;
        for segment in key_text.split('.') {
            let span = at..at + segment.len();
            let valid =
                !segment.is_empty() && segment.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                let message = if segment.is_empty() {
                    format!("empty name in `--set` key `{key_text}`")
                } else {
                    format!("invalid name `{segment}` in `--set` key `{key_text}`")
                };
                // An empty name has no characters: point at the dot or `=` after it.
                let span = if segment.is_empty() { at..at + 1 } else { span };
                return Err(Issue::new(shifted(span, offset), message).with_help(KEY_HELP));
            }
            segments.push((segment, shifted(span, offset)));
            at += segment.len() + 1;
        }

        let raw = &text[eq + 1..];
        let value_start = eq + 1 + (raw.len() - raw.trim_start().len());
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(Issue::new(
                shifted(eq..eq + 1, offset),
                format!("`--set {key_text}=` needs a value after `=`"),
            )
            .with_help("e.g. `6`, `0.5`, `800ms`, `true` or `{ kind = \"token_bucket\", ratio = 0.1 }`"));
        }
        let value = match DeValue::parse(raw) {
            Ok(v) => shift_value(v, offset + value_start),
            Err(_) if !raw.starts_with(['"', '\'', '[', '{']) => {
                // A bare word such as `800ms` or `least_requests`: a string as written.
                Spanned::new(shifted(value_start..value_start + raw.len(), offset), DeValue::String(raw.into()))
            }
            Err(e) => {
                let message = format!("malformed TOML value: {}", e.message().trim().replace('\n', "; "));
                let span = e.span().map_or(value_start..value_start + raw.len(), |s| shifted(s, value_start));
                return Err(Issue::new(shifted(span, offset), message).with_help(
                    "VALUE is a TOML value such as `6`, `\"800ms\"`, `[\"timeout\"]` or `{ max_attempts = 5 }`; \
                         a bare word such as `800ms` needs no quotes",
                ));
            }
        };
        Ok(SetOption { segments, value })
    }

    /// Sets the value in `doc`, creating the tables on its path that do not exist; an
    /// existing table at the end is merged into as a change would be.
    pub(crate) fn apply(self, doc: &mut DeTable<'i>) -> Result<(), Issue> {
        let SetOption { segments, value } = self;
        let mut path = String::new();
        // Start from the root, wrapped as a value so that every level is handled alike.
        let mut root = Spanned::new(0..0, DeValue::Table(std::mem::take(doc)));
        let result = set_in(&mut root, &segments, value, &mut path);
        if let DeValue::Table(t) = root.into_inner() {
            *doc = t;
        }
        result
    }
}

fn set_in<'i>(
    node: &mut Spanned<DeValue<'i>>,
    segments: &[(&'i str, Range<usize>)],
    value: Spanned<DeValue<'i>>,
    path: &mut String,
) -> Result<(), Issue> {
    let Some(((name, span), rest)) = segments.split_first() else {
        merge_value(node, value);
        return Ok(());
    };
    match node.get_mut() {
        DeValue::Table(table) => {
            let key = Spanned::new(span.clone(), std::borrow::Cow::Borrowed(*name));
            let child =
                table.entry(key).or_insert_with(|| Spanned::new(span.clone(), DeValue::Table(DeTable::default())));
            extend(path, name);
            set_in(child, rest, value, path)
        }
        DeValue::Array(items) => {
            let len = items.len();
            let Some(item) = name.parse::<usize>().ok().and_then(|i| items.get_mut(i)) else {
                let entries = if len == 1 { "entry" } else { "entries" };
                let message = if name.parse::<usize>().is_ok() {
                    format!("index {name} is out of range: `{path}` has {len} {entries}")
                } else {
                    format!("`{path}` is an array: address an entry by its index, not `{name}`")
                };
                let help = match len {
                    0 => "the array is empty; set the whole array instead".to_string(),
                    1 => format!("the only valid index is 0: `{path}.0`"),
                    _ => format!("valid indices are 0 to {}, e.g. `{path}.0`", len - 1),
                };
                return Err(Issue::new(span.clone(), message).with_help(help));
            };
            extend(path, name);
            set_in(item, rest, value, path)
        }
        other => {
            let kind = a(other.type_str());
            let message = if path.is_empty() {
                format!("cannot set `{name}`: the document is {kind}")
            } else {
                format!("cannot set `{name}` inside `{path}`: `{path}` is {kind}, not a table")
            };
            Err(Issue::new(span.clone(), message).with_help(format!("set `{path}` itself, e.g. `--set {path}=...`")))
        }
    }
}

fn extend(path: &mut String, name: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(name);
}

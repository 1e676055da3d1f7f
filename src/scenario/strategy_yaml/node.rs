//! A YAML document as a tree whose every key and value knows its byte span, and a
//! cursor over it that knows its key path (`spec.analysis.metrics[1].templateRef`), so
//! each message can name both the place and the key.
//!
//! serde-saphyr gives locations only through its `Spanned<T>` wrapper (line, column and,
//! for text input, byte offsets); it has no spanned value type. So the tree is built by
//! deserializing every node, and every map key, as a `Spanned`: the mapping code then
//! reads the tree freely (Kubernetes objects have many keys it does not care about)
//! and still locates every value it refuses.

use crate::scenario::error::{Issue, suggest};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::ops::Range;

/// A YAML node and where it is.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Node {
    pub span: Range<usize>,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// In document order, with each key's own span.
    Map(Vec<(Key, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct Key {
    pub name: String,
    pub span: Range<usize>,
}

/// A saphyr location as a byte range of the text (empty when it has no byte offset,
/// which happens only for reader input, not the text parsed here).
fn byte_range(location: &serde_saphyr::Location) -> Range<usize> {
    let span = location.span();
    let start = span.byte_offset().unwrap_or(0) as usize;
    start..start + span.byte_len().unwrap_or(0) as usize
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        let spanned = serde_saphyr::Spanned::<Value>::deserialize(d)?;
        Ok(Node { span: byte_range(&spanned.referenced), value: spanned.value })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Int(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(i64::try_from(n).map_or(Value::Float(n as f64), Value::Int))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(Value::Float(n))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Str(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<serde_saphyr::Spanned<String>>()? {
            let key = Key { span: byte_range(&key.referenced), name: key.value };
            entries.push((key, map.next_value::<Node>()?));
        }
        Ok(Value::Map(entries))
    }
}

impl Value {
    /// How a message names this kind of value.
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A node with its key path, for reading it and for locating what is wrong with it.
#[derive(Clone, Debug)]
pub(super) struct At<'a> {
    pub node: &'a Node,
    path: String,
    /// The span of the key this node is the value of (the node itself for list items
    /// and documents): refusals of a whole key point at it.
    key_span: Range<usize>,
}

impl<'a> At<'a> {
    /// A document, or anything read with no key path above it.
    pub fn root(node: &'a Node) -> At<'a> {
        At { node, path: String::new(), key_span: node.span.clone() }
    }

    /// The value of `key` when this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<At<'a>> {
        let path = if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) };
        self.entries().find(|(k, _)| k.name == key).map(|(k, node)| At { node, path, key_span: k.span.clone() })
    }

    /// The entries of a mapping (none for anything else).
    pub fn entries(&self) -> impl Iterator<Item = &'a (Key, Node)> {
        let entries: &'a [(Key, Node)] = match &self.node.value {
            Value::Map(e) => e,
            _ => &[],
        };
        entries.iter()
    }

    /// A located issue about this value, naming its key path.
    pub fn issue(&self, message: impl fmt::Display) -> Issue {
        Issue::new(self.node.span.clone(), format!("`{}`: {message}", self.path))
    }

    /// A located issue about this key as a whole (its presence), at the key.
    pub fn key_issue(&self, message: impl fmt::Display) -> Issue {
        Issue::new(self.key_span.clone(), format!("`{}`: {message}", self.path))
    }

    fn wrong_type(&self, expected: &str) -> Issue {
        self.issue(format!("expected {expected}, found {}", self.node.value.kind()))
    }

    pub fn str(&self, issues: &mut Vec<Issue>) -> Option<&'a str> {
        match &self.node.value {
            Value::Str(s) => Some(s),
            _ => {
                issues.push(self.wrong_type("a string"));
                None
            }
        }
    }

    pub fn int(&self, issues: &mut Vec<Issue>) -> Option<i64> {
        match self.node.value {
            Value::Int(n) => Some(n),
            _ => {
                issues.push(self.wrong_type("an integer"));
                None
            }
        }
    }

    /// An integer in `[lo, hi]`.
    pub fn int_in(&self, lo: i64, hi: i64, issues: &mut Vec<Issue>) -> Option<i64> {
        let n = self.int(issues)?;
        if (lo..=hi).contains(&n) {
            return Some(n);
        }
        issues.push(self.issue(format!("{n} is out of range: expected an integer in [{lo}, {hi}]")));
        None
    }

    pub fn number(&self, issues: &mut Vec<Issue>) -> Option<f64> {
        match self.node.value {
            Value::Int(n) => Some(n as f64),
            Value::Float(x) if x.is_finite() => Some(x),
            _ => {
                issues.push(self.wrong_type("a finite number"));
                None
            }
        }
    }

    pub fn bool(&self, issues: &mut Vec<Issue>) -> Option<bool> {
        match self.node.value {
            Value::Bool(b) => Some(b),
            _ => {
                issues.push(self.wrong_type("true or false"));
                None
            }
        }
    }

    /// The items of a list, each with its path (`metrics[1]`).
    pub fn items(&self, issues: &mut Vec<Issue>) -> Option<Vec<At<'a>>> {
        match &self.node.value {
            Value::Seq(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, node)| At { node, path: format!("{}[{i}]", self.path), key_span: node.span.clone() })
                    .collect(),
            ),
            _ => {
                issues.push(self.wrong_type("a list"));
                None
            }
        }
    }

    /// Requires a mapping; on anything else an issue, and `false`.
    pub fn is_map(&self, issues: &mut Vec<Issue>) -> bool {
        let ok = matches!(self.node.value, Value::Map(_));
        if !ok {
            issues.push(self.wrong_type("a mapping"));
        }
        ok
    }

    /// Checks this mapping's keys against `rules`: a key with no rule is flagged as
    /// unknown (a typo would otherwise be ignored and a default used instead of what the
    /// user meant); a key whose rule is a [`Refusal`] is refused when it is set to
    /// anything but Go's zero value (`false`, `0`, empty), which means the same as
    /// leaving it out.
    pub fn check_keys(&self, rules: &[(&str, Option<Refusal>)], issues: &mut Vec<Issue>) {
        for (k, _) in self.entries() {
            match rules.iter().find(|(name, _)| *name == k.name) {
                None => {
                    let known: Vec<&str> = rules.iter().map(|(name, _)| *name).collect();
                    let at = if self.path.is_empty() {
                        "at the top level".to_string()
                    } else {
                        format!("in `{}`", self.path)
                    };
                    issues.push(
                        Issue::new(k.span.clone(), format!("unknown key `{}` {at}", k.name)).with_help(suggest(
                            &k.name,
                            &known,
                            "keys here",
                        )),
                    );
                }
                Some((_, Some(refusal))) => {
                    if let Some(child) = self.get(&k.name).filter(At::is_set) {
                        issues.push(child.key_issue(format!("not supported: {}", refusal.why)).with_help(refusal.help));
                    }
                }
                Some((_, None)) => {}
            }
        }
    }

    /// Whether an optional field is set to something that matters: Go's zero values
    /// (`false`, `0`, `""`, an empty list or mapping, null) are the same as leaving it out.
    pub fn is_set(&self) -> bool {
        match &self.node.value {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(n) => *n != 0,
            Value::Float(x) => *x != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Seq(items) => !items.is_empty(),
            Value::Map(entries) => !entries.is_empty(),
        }
    }
}

/// Why a key cannot be simulated, and what to do about it.
pub(super) struct Refusal {
    pub why: &'static str,
    pub help: &'static str,
}

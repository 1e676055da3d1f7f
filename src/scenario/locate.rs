//! Where a key is written in a scenario's text, for findings that name keys rather than
//! spans (the lints, shown as code-review annotations by `check --format sarif`).

use super::error::Location;
use toml::de::{DeTable, DeValue};

/// The line and column of `key` (dotted, array items by index: `load.0.rate`) in `text`:
/// of the key itself, or of the deepest part of it that is written there (a key the
/// defaults supply points at its table). `None` if the text does not parse or holds no
/// part of the key.
pub fn key_location(text: &str, key: &str) -> Option<Location> {
    let doc = DeTable::parse(text).ok()?;
    let mut found = None;
    let mut table: Option<&DeTable<'_>> = Some(doc.get_ref());
    let mut array: Option<&toml::de::DeArray<'_>> = None;
    for segment in key.split('.') {
        let next = match (table, array) {
            (Some(t), _) => t.iter().find(|(k, _)| k.get_ref() == segment).map(|(k, v)| (k.span(), v)),
            (_, Some(items)) => segment.parse::<usize>().ok().and_then(|i| items.get(i)).map(|v| (v.span(), v)),
            _ => None,
        };
        let Some((span, value)) = next else { break };
        found = Some(span);
        (table, array) = match value.get_ref() {
            DeValue::Table(t) => (Some(t), None),
            DeValue::Array(items) => (None, Some(items)),
            _ => (None, None),
        };
    }
    found.map(|span| Location::of(text, &span))
}

#[cfg(test)]
mod tests {
    use super::key_location;

    const TEXT: &str = "[simulation]\nduration = \"1s\"\n\n[policies.p]\ntimeout = \"1s\"\nretry = { max_attempts = 3 }\n\n[[load]]\nname = \"a\"\n\n[[load]]\nname = \"b\"\nrate = 5\n";

    #[test]
    fn finds_keys_inline_tables_and_array_items() {
        let at = |key: &str| key_location(TEXT, key).map(|l| (l.line, l.column));
        assert_eq!(at("simulation.duration"), Some((2, 1)));
        assert_eq!(at("policies.p.retry.max_attempts"), Some((6, 11)));
        assert_eq!(at("load.1.rate"), Some((13, 1)));
        // Not written: the deepest part that is.
        assert_eq!(at("policies.p.circuit_breaker.size"), Some((4, 11)));
        assert_eq!(at("services.x"), None);
        assert_eq!(key_location("not toml [", "a"), None);
    }
}

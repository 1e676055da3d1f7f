//! The JSON writer: `summary.json`, `sweep.json`, `vary.json` and `compare.json`, and
//! `run --format json` on stdout, all through [`to_json`], so a file and the stdout of
//! the same result are the same bytes.

use super::output::OutputFile;

/// `value` as pretty-printed JSON (two-space indent) with a final newline.
pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    // The result types are plain structs of numbers, strings, vectors and maps with
    // string keys: serialization cannot fail.
    serde_json::to_string_pretty(value).expect("results serialize") + "\n"
}

/// `value` as the JSON file `name`.
pub fn json_file<T: serde::Serialize>(name: &str, value: &T) -> OutputFile {
    OutputFile::new(name, to_json(value))
}

//! Reading scenarios: from a file, or from standard input when the path is `-`.

use super::Failure;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use stormcast::model::Scenario;
use stormcast::scenario::LoadError;

/// The label a scenario read from standard input carries in messages and outputs.
pub const STDIN_LABEL: &str = "<stdin>";

/// Whether `path` means standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Standard input, read once: a `sweep --vary` loads the base once per point.
fn stdin_bytes() -> Result<&'static [u8], Failure> {
    static STDIN: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    let read = STDIN.get_or_init(|| {
        use std::io::Read;
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).map(|_| bytes).map_err(|e| e.to_string())
    });
    match read {
        Ok(bytes) => Ok(bytes),
        Err(e) => Err(Failure::input(format!("error: cannot read the scenario from standard input: {e}"))),
    }
}

/// Loads `path` (or standard input for `-`) with `--change` files and `--set` options.
pub fn load(path: &Path, changes: &[PathBuf], sets: &[String]) -> Result<Scenario, Failure> {
    try_load(path, changes, sets)?.map_err(|e| Failure::input(e.to_string()))
}

/// [`load`], keeping the scenario's own errors apart (`check` reports them as JSON or
/// SARIF); the outer error is standard input that could not be read.
pub fn try_load(path: &Path, changes: &[PathBuf], sets: &[String]) -> Result<Result<Scenario, LoadError>, Failure> {
    if !is_stdin(path) {
        return Ok(stormcast::scenario::load_with_changes(path, changes, sets));
    }
    let bytes = stdin_bytes()?;
    // Not UTF-8: `load_bytes` locates the first bad byte.
    Ok(match std::str::from_utf8(bytes) {
        Ok(text) => stormcast::scenario::load_text_with_changes(STDIN_LABEL, text, changes, sets),
        Err(_) => stormcast::scenario::load_bytes(STDIN_LABEL, bytes),
    })
}

/// The text of a scenario or change file (standard input for `-`), if it can be read.
pub fn text(path: &Path) -> Option<String> {
    if is_stdin(path) {
        stdin_bytes().ok().and_then(|b| String::from_utf8(b.to_vec()).ok())
    } else {
        std::fs::read_to_string(path).ok()
    }
}

/// How a path is named in messages and outputs: as typed, or [`STDIN_LABEL`].
pub fn label(path: &Path) -> String {
    if is_stdin(path) { STDIN_LABEL.to_string() } else { path.display().to_string() }
}

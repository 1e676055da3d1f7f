//! The files a command produces, held in memory: every report is rendered whole before
//! any file is written, and the binary (`cli::output`) writes the set.

use std::io::Write;
use std::path::Path;

/// One output file: its name in the output folder (no directories) and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl OutputFile {
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        OutputFile { name: name.into(), bytes: bytes.into() }
    }

    /// `value` as pretty-printed JSON with a final newline.
    pub fn json<T: serde::Serialize>(name: impl Into<String>, value: &T) -> Self {
        let json = serde_json::to_string_pretty(value).expect("results serialize") + "\n";
        OutputFile::new(name, json)
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory, then
/// renames it into place, so an interrupted run never leaves a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("output");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

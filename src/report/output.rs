//! The files a command produces, held in memory: every report is rendered whole before
//! any file is written, and the binary (`cli::output`) writes the set.

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
}

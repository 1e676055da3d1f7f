//! Load errors: every problem found in a scenario, located at file:line:col and
//! rendered like rustc's diagnostics (without colour).

use std::fmt;
use std::ops::Range;

/// A problem found by a stage that only knows spans, not files: the span is an offset
/// into the document as a [`SourceMap`] lays it out.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Issue {
    pub span: Option<Range<usize>>,
    pub message: String,
    pub help: Option<String>,
}

impl Issue {
    pub fn new(span: Range<usize>, message: impl Into<String>) -> Issue {
        Issue { span: Some(span), message: message.into(), help: None }
    }

    pub fn unlocated(message: impl Into<String>) -> Issue {
        Issue { span: None, message: message.into(), help: None }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Issue {
        self.help = Some(help.into());
        self
    }

    /// The same issue in a text laid at `offset` of a [`SourceMap`].
    pub fn shifted(mut self, offset: usize) -> Issue {
        self.span = self.span.map(|s| s.start + offset..s.end + offset);
        self
    }
}

/// Why a scenario could not be loaded.
///
/// `Display` is the complete report for a user (each problem starts with `error: `), so
/// a binary prints it as it is.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read at all (missing, a directory, no permission...).
    #[error("error: cannot read {what} `{path}`: {source}")]
    Read {
        /// What the file was to be: `scenario` or `strategy`.
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file was read, and one or more problems were found in it; all of them are
    /// listed, in the order of the file where possible.
    #[error("{}", render_all(.diagnostics, .what))]
    Invalid {
        diagnostics: Vec<Diagnostic>,
        /// What could not be loaded: `scenario` or `strategy`.
        what: &'static str,
    },
}

impl LoadError {
    /// The same error about a file that was to be a `what` (`strategy`...), not a scenario.
    pub fn about(self, what: &'static str) -> LoadError {
        match self {
            LoadError::Read { path, source, .. } => LoadError::Read { what, path, source },
            LoadError::Invalid { diagnostics, .. } => LoadError::Invalid { diagnostics, what },
        }
    }

    /// The located problems (empty for `Read`).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            LoadError::Read { .. } => &[],
            LoadError::Invalid { diagnostics, .. } => diagnostics,
        }
    }
}

/// One problem, with where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// The file's label, as given to `load_str` or the path given to `load_file`.
    pub file: String,
    /// Byte range in that file's text, if the problem has a place.
    pub span: Option<Range<usize>>,
    pub location: Option<Location>,
    /// What is wrong, naming the key (lower case, no trailing period).
    pub message: String,
    /// What to do about it, e.g. "did you mean `timeout`?".
    pub help: Option<String>,
}

/// A span resolved to a line for display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// The source line, without its line break.
    pub line_text: String,
    /// How many characters of the line to underline (at least 1).
    pub width: usize,
}

impl Location {
    /// Resolves a byte range of `text`. The range is clamped to the text and to char
    /// boundaries, so no span can make this panic.
    pub fn of(text: &str, span: &Range<usize>) -> Location {
        let start = floor_char_boundary(text, span.start);
        let end = floor_char_boundary(text, span.end.max(start));
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line = text[..start].matches('\n').count() + 1;
        let column = text[line_start..start].chars().count() + 1;
        let line_text = text[line_start..line_end].trim_end_matches('\r').to_string();
        let width = text[start..end.min(line_end)].chars().count().max(1);
        Location { line, column, line_text, width }
    }
}

fn floor_char_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        let gutter = self.location.as_ref().map_or(1, |l| l.line.to_string().len());
        match &self.location {
            Some(l) => {
                writeln!(f, " --> {}:{}:{}", self.file, l.line, l.column)?;
                writeln!(f, "{:gutter$} |", "")?;
                writeln!(f, "{} | {}", l.line, l.line_text)?;
                // Keep tabs in the padding so the caret lines up under tab-indented text.
                let pad: String =
                    l.line_text.chars().take(l.column - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
                write!(f, "{:gutter$} | {pad}{}", "", "^".repeat(l.width))?;
            }
            None => write!(f, " --> {}", self.file)?,
        }
        if let Some(help) = &self.help {
            write!(f, "\n{:gutter$} = help: {help}", "")?;
        }
        Ok(())
    }
}

fn render_all(diagnostics: &[Diagnostic], what: &str) -> String {
    let mut out: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    if diagnostics.len() > 1 {
        out.push(format!("error: could not load the {what} due to {} errors", diagnostics.len()));
    }
    out.join("\n\n")
}

/// The texts a document was built from, laid end to end in one offset space, so that a
/// span of a document merged from several files (a base and its `--change` files) still
/// names exactly one file. The base is at offset 0; each change and `--set` follows.
#[derive(Debug, Default)]
pub(crate) struct SourceMap<'a> {
    sources: Vec<(&'a str, &'a str, usize)>,
}

impl<'a> SourceMap<'a> {
    /// Adds a text; returns the offset its spans must be shifted by.
    pub fn add(&mut self, label: &'a str, text: &'a str) -> usize {
        let offset = self.sources.last().map_or(0, |&(_, t, o)| o + t.len() + 1);
        self.sources.push((label, text, offset));
        offset
    }

    pub fn diagnostic(&self, issue: Issue) -> Diagnostic {
        let Some(&(label, text, offset)) = self.source_of(issue.span.as_ref()) else {
            return Diagnostic {
                file: String::new(),
                span: None,
                location: None,
                message: issue.message,
                help: issue.help,
            };
        };
        let span = issue.span.map(|s| s.start.saturating_sub(offset)..s.end.saturating_sub(offset));
        Diagnostic {
            file: label.to_string(),
            location: span.as_ref().map(|s| Location::of(text, s)),
            span,
            message: issue.message,
            help: issue.help,
        }
    }

    /// The source a span falls in; an unlocated issue belongs to the first (the base).
    fn source_of(&self, span: Option<&Range<usize>>) -> Option<&(&'a str, &'a str, usize)> {
        match span {
            None => self.sources.first(),
            Some(s) => self.sources.iter().rev().find(|&&(_, _, o)| o <= s.start),
        }
    }

    pub fn error(&self, issues: Vec<Issue>) -> LoadError {
        LoadError::Invalid { diagnostics: issues.into_iter().map(|i| self.diagnostic(i)).collect(), what: "scenario" }
    }
}

/// "did you mean `x`? valid NOUN are: a, b, c" (the first part only if one is close).
pub(crate) fn suggest(got: &str, valid: &[&str], noun: &str) -> String {
    let list = if valid.is_empty() { "(none)".to_string() } else { valid.join(", ") };
    match closest(got, valid) {
        Some(best) => format!("did you mean `{best}`? valid {noun} are: {list}"),
        None => format!("valid {noun} are: {list}"),
    }
}

/// The valid name closest to `got`, if it is close enough to be a likely typo.
pub(crate) fn closest<'v>(got: &str, valid: &[&'v str]) -> Option<&'v str> {
    let limit = 1 + got.chars().count() / 3;
    valid
        .iter()
        .map(|v| (strsim::damerau_levenshtein(got, v), *v))
        .filter(|&(d, v)| d <= limit && d < v.chars().count().max(2))
        .min_by_key(|&(d, _)| d)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_lines_and_columns_in_characters() {
        let text = "a = 1\nbé = \"x\"\n";
        let l = Location::of(text, &(11..14));
        assert_eq!((l.line, l.column, l.width), (2, 5, 3));
        assert_eq!(l.line_text, "bé = \"x\"");
        // Spans past the end or inside a character do not panic.
        let l = Location::of(text, &(8..400));
        assert_eq!(l.line, 2);
        let l = Location::of("", &(0..0));
        assert_eq!((l.line, l.column, l.width), (1, 1, 1));
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(closest("paymnet", &["cart", "payment"]), Some("payment"));
        assert_eq!(closest("timout", &["timeout", "deadline"]), Some("timeout"));
        assert_eq!(closest("zzzz", &["cart", "payment"]), None);
    }
}

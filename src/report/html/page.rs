//! The shell every report page shares: the document, its inline style and script, the
//! embedded data, and the pieces sections are built from (escaped text, tables, badges,
//! command lists). A page kind only decides which sections it has, in which order.

use serde::Serialize;
use std::fmt::Write;

const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// One report page: what kind of command made it, its title, its sections in reading
/// order, and the data it was drawn from.
pub struct Page {
    /// `run`, `sweep`, `vary`, `compare` (the `data-kind` of `<body>`).
    pub kind: &'static str,
    pub title: String,
    /// One line under the title: seeds, version, hash.
    pub subtitle: String,
    pub sections: Vec<Section>,
    /// The command's JSON output (`summary.json`, `sweep.json`, ...), embedded whole.
    pub data: String,
    /// The interactive panels' series (`series::Panel`), embedded for the script.
    pub panels: Vec<super::series::Panel>,
}

/// One titled part of a page, with an id to link to.
pub struct Section {
    pub id: &'static str,
    pub title: String,
    pub html: String,
}

impl Section {
    pub fn new(id: &'static str, title: impl Into<String>, html: String) -> Section {
        Section { id, title: title.into(), html }
    }
}

/// The whole document. Nothing in it depends on the clock or the machine, so the same
/// result renders to the same bytes.
pub fn render(page: &Page) -> String {
    let mut out = String::with_capacity(64 * 1024 + page.data.len());
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"stormcast\">\n<title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n\
         <body data-kind=\"{}\">\n<header>\n<h1>{}</h1>\n<p class=\"subtitle\">{}</p>\n<nav>",
        escape(&page.title),
        page.kind,
        escape(&page.title),
        escape(&page.subtitle),
    );
    for s in &page.sections {
        let _ = write!(out, "<a href=\"#{}\">{}</a>", s.id, escape(&s.title));
    }
    out.push_str("</nav>\n</header>\n<main>\n");
    for s in &page.sections {
        let _ = write!(out, "<section id=\"{}\">\n<h2>{}</h2>\n{}\n</section>\n", s.id, escape(&s.title), s.html);
    }
    out.push_str(
        "</main>\n<footer>Made by stormcast from the data embedded below (the command's JSON output); \
                  it needs no network.</footer>\n",
    );
    let _ =
        writeln!(out, "<script type=\"application/json\" id=\"stormcast-data\">{}</script>", script_safe(&page.data));
    let panels = super::super::json::to_json(&page.panels);
    let _ =
        writeln!(out, "<script type=\"application/json\" id=\"stormcast-panels\">{}</script>", script_safe(&panels));
    let _ = write!(out, "<script>\n{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

/// JSON placed inside `<script>`: `</` cannot end the element early.
fn script_safe(json: &str) -> String {
    json.replace("</", "<\\/")
}

/// Text as HTML: `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// How a verdict or a state reads: a coloured badge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tone {
    Good,
    Bad,
    Warn,
    Plain,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Good => "good",
            Tone::Bad => "bad",
            Tone::Warn => "warn",
            Tone::Plain => "plain",
        }
    }
}

/// A badge: `text` (escaped) coloured by `tone`.
pub fn badge(tone: Tone, text: &str) -> String {
    format!("<span class=\"badge {}\">{}</span>", tone.class(), escape(text))
}

/// A table cell: already HTML, or text to escape; numbers align right.
pub enum Cell {
    Text(String),
    Num(String),
    Html(String),
}

/// A table with `headers` (text) and `rows`.
pub fn table(class: &str, headers: &[&str], rows: &[Vec<Cell>]) -> String {
    let mut out = format!("<div class=\"table-wrap\"><table class=\"{class}\">\n<thead><tr>");
    for h in headers {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            match cell {
                Cell::Text(t) => {
                    let _ = write!(out, "<td>{}</td>", escape(t));
                }
                Cell::Num(t) => {
                    let _ = write!(out, "<td class=\"num\">{}</td>", escape(t));
                }
                Cell::Html(h) => {
                    let _ = write!(out, "<td>{h}</td>");
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// Shell commands, one per line, each with the reason it is listed.
pub fn commands(items: &[(String, String)]) -> String {
    let mut out = String::from("<ul class=\"commands\">\n");
    for (command, why) in items {
        let _ = write!(out, "<li><code>{}</code>", escape(command));
        if !why.is_empty() {
            let _ = write!(out, "<span class=\"why\">{}</span>", escape(why));
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ul>");
    out
}

/// A paragraph of text (escaped).
pub fn para(text: &str) -> String {
    format!("<p>{}</p>", escape(text))
}

/// A chart drawn by the chart toolkit (its SVG document, inline), with a caption.
pub fn figure(svg: &str, caption: &str) -> String {
    format!("<figure class=\"chart\">{}<figcaption>{}</figcaption></figure>", strip_prolog(svg), escape(caption))
}

/// An SVG document without its XML declaration, to be placed inside HTML.
pub fn strip_prolog(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_embedded_json_cannot_break_out() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(script_safe("{\"a\":\"</script>\"}"), "{\"a\":\"<\\/script>\"}");
    }

    #[test]
    fn svg_documents_lose_their_prolog() {
        assert_eq!(strip_prolog("<?xml version=\"1.0\"?>\n<svg a>"), "<svg a>");
    }
}

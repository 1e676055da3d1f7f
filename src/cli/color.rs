//! Colour on terminals: errors, warnings, VIOLATED, UNHEALTHY and verdicts stand out.
//!
//! Text is painted with ANSI codes where it is made (`paint`), after any padding, so
//! columns stay aligned; the streams it is written to (`anstream`) strip the codes
//! unless colour is wanted: `--color always`, or `--color auto` (the default) on a
//! terminal with `NO_COLOR` unset. Files and pipes therefore get the same plain bytes
//! as before colour existed.

use anstyle::{AnsiColor, Style};
use std::sync::OnceLock;

/// `--color`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Colour when the output is a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour, even into a pipe or a file.
    Always,
    /// Never colour.
    Never,
}

static CHOICE: OnceLock<anstream::ColorChoice> = OnceLock::new();

/// Records `--color` for every stream written later.
pub fn init(when: When) {
    let choice = match when {
        When::Auto => anstream::ColorChoice::Auto,
        When::Always => anstream::ColorChoice::Always,
        When::Never => anstream::ColorChoice::Never,
    };
    let _ = CHOICE.set(choice);
}

/// The choice `anstream` applies per stream (`Auto` looks at the stream and `NO_COLOR`).
pub fn choice() -> anstream::ColorChoice {
    CHOICE.get().copied().unwrap_or(anstream::ColorChoice::Auto)
}

/// What a piece of text means, and so its colour.
#[derive(Clone, Copy, Debug)]
pub enum Tone {
    /// Errors, VIOLATED, UNHEALTHY, failed gates.
    Bad,
    /// Warnings, undecided verdicts.
    Warn,
    /// Passed gates and verdicts.
    Good,
}

fn style(tone: Tone) -> Style {
    let colour = match tone {
        Tone::Bad => AnsiColor::Red,
        Tone::Warn => AnsiColor::Yellow,
        Tone::Good => AnsiColor::Green,
    };
    Style::new().fg_color(Some(colour.into())).bold()
}

/// `text` wrapped in the codes of `tone` (stripped again where colour is off).
pub fn paint(tone: Tone, text: &str) -> String {
    let s = style(tone);
    format!("{}{text}{}", s.render(), s.render_reset())
}

/// A message's leading `error:` or `warning:` painted.
pub fn paint_prefix(message: &str) -> String {
    for (prefix, tone) in [("error:", Tone::Bad), ("warning:", Tone::Warn)] {
        if let Some(rest) = message.strip_prefix(prefix) {
            return format!("{}{rest}", paint(tone, prefix));
        }
    }
    message.to_string()
}

/// Prints a failure's message on stderr, its `error:` painted.
pub fn eprint_message(message: &str) {
    use std::io::Write;
    let mut err = anstream::AutoStream::new(std::io::stderr().lock(), choice());
    let _ = writeln!(err, "{}", paint_prefix(message));
}

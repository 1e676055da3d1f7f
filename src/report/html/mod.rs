//! `report.html`: one self-contained page per command, to open in a browser or attach
//! to a review. Inline CSS, the charts as inline SVG (the chart toolkit's own drawings,
//! and interactive time series drawn in [`series`]), the command's JSON embedded whole,
//! and a small hand-written script for zoom, hover and toggling. No network, no
//! external file, no timestamp: the same result renders to the same bytes.
//!
//! Every page reads in the same order: the verdict (and gates) first, then the
//! topology with unhealthy services and fault targets marked, the time series, the
//! fan, risk and recovery charts, the tables, and the commands that replay what the
//! page shows. A page kind is one function here over its command's result, built from
//! the shared pieces of [`page`]: `run`, `sweep`, `vary`, `compare`, and `rollout` (one
//! seed: the run's page with the rollout first; many seeds: its own page).

mod compare;
mod page;
mod rollout;
mod run;
pub(crate) mod series;
mod sweep;
mod topology;

pub use compare::compare_page;
pub use rollout::{rollout_page, rollout_run_page};
pub use run::run_page;
pub use sweep::{sweep_page, vary_page};

use super::output::OutputFile;

/// The file every `--out` set names the page.
pub const REPORT_FILE: &str = "report.html";

/// The SVG text of chart `name` among `files` (empty if it was not drawn).
fn svg_of<'a>(files: &'a [OutputFile], name: &str) -> &'a str {
    files.iter().find(|f| f.name == name).and_then(|f| std::str::from_utf8(&f.bytes).ok()).unwrap_or_default()
}

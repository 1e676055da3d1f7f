//! The set of files each command writes into `--out`, rendered in memory: which writer
//! makes which file, and the files' names, in one place. The binary only writes them
//! (`cli::output`).

use super::chart::ChartError;
use super::compare_chart::compare_charts;
use super::csv::timeseries_csv;
use super::json::json_file;
use super::markdown::{compare_comment, compare_report};
use super::output::OutputFile;
use super::run_chart::run_charts;
use super::sweep_chart::{sweep_charts, vary_charts};
use crate::compare::CompareResult;
use crate::stats::RunResult;
use crate::sweep::{SweepResult, VaryResult};

/// `run --out`: `summary.json`, `timeseries.csv` and the run chart.
pub fn run_files(result: &RunResult) -> Result<Vec<OutputFile>, ChartError> {
    let mut files = vec![json_file("summary.json", result), OutputFile::new("timeseries.csv", timeseries_csv(result))];
    files.extend(run_charts(result)?);
    Ok(files)
}

/// `sweep --out`: `sweep.json` and the fan, risk and recovery charts.
pub fn sweep_files(result: &SweepResult) -> Result<Vec<OutputFile>, ChartError> {
    let mut files = vec![json_file("sweep.json", result)];
    files.extend(sweep_charts(result)?);
    Ok(files)
}

/// `sweep --vary --out`: `vary.json` and the vary chart, with `threshold` drawn.
pub fn vary_files(result: &VaryResult, threshold: Option<f64>) -> Result<Vec<OutputFile>, ChartError> {
    let mut files = vec![json_file("vary.json", result)];
    files.extend(vary_charts(result, threshold)?);
    Ok(files)
}

/// `compare --out`: `compare.json`, the compare charts, `report.md` (which shows the
/// PNG charts) and `comment.md` (the same without images). `base_label` and
/// `proposed_label` name the configs.
pub fn compare_files(
    result: &CompareResult,
    base_label: &str,
    proposed_label: &str,
) -> Result<Vec<OutputFile>, ChartError> {
    let charts = compare_charts(result, base_label, proposed_label)?;
    let pngs: Vec<&str> = charts.iter().map(|f| f.name.as_str()).filter(|n| n.ends_with(".png")).collect();
    let report = compare_report(result, base_label, proposed_label, &pngs);
    let comment = compare_comment(result, base_label, proposed_label, &pngs);
    let mut files = vec![json_file("compare.json", result)];
    files.extend(charts);
    files.push(OutputFile::new("report.md", report));
    files.push(OutputFile::new("comment.md", comment));
    Ok(files)
}

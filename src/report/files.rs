//! The set of files each command writes into `--out`, rendered in memory: which writer
//! makes which file, and the files' names, in one place. The binary only writes them
//! (`cli::output`).

use super::chart::ChartError;
use super::compare_chart::compare_charts;
use super::csv::timeseries_csv;
use super::html::{REPORT_FILE, compare_page, rollout_page, rollout_run_page, run_page, sweep_page, vary_page};
use super::json::json_file;
use super::markdown::{compare_comment, compare_report};
use super::output::OutputFile;
use super::rollout_chart::{Bound, rollout_charts};
use super::rollout_seeds_chart::rollout_seeds_charts;
use super::run_chart::run_charts;
use super::sweep_chart::{sweep_charts, vary_charts};
use crate::compare::CompareResult;
use crate::model::Scenario;
use crate::rollout::many::RolloutReport;
use crate::stats::RunResult;
use crate::sweep::{SweepResult, VaryResult};

/// `run --out`: `summary.json`, `timeseries.csv`, the run chart and `report.html`
/// (which shows `scenario`'s topology and `replay`, the command that runs it again).
pub fn run_files(result: &RunResult, scenario: &Scenario, replay: &str) -> Result<Vec<OutputFile>, ChartError> {
    let mut files = vec![json_file("summary.json", result), OutputFile::new("timeseries.csv", timeseries_csv(result))];
    let charts = run_charts(result)?;
    let page = run_page(result, scenario, &charts, replay)?;
    files.extend(charts);
    files.push(OutputFile::new(REPORT_FILE, page));
    Ok(files)
}

/// `sweep --out`: `sweep.json`, the fan, risk and recovery charts and `report.html`.
pub fn sweep_files(result: &SweepResult, scenario: &Scenario) -> Result<Vec<OutputFile>, ChartError> {
    let mut files = vec![json_file("sweep.json", result)];
    let charts = sweep_charts(result)?;
    let page = sweep_page(result, scenario, &charts)?;
    files.extend(charts);
    files.push(OutputFile::new(REPORT_FILE, page));
    Ok(files)
}

/// `sweep --vary --out`: `vary.json`, the vary chart, with `threshold` drawn, and
/// `report.html` (with the topology of `base`, the scenario before its varied values).
pub fn vary_files(result: &VaryResult, threshold: Option<f64>, base: &Scenario) -> Result<Vec<OutputFile>, ChartError> {
    let mut files = vec![json_file("vary.json", result)];
    let charts = vary_charts(result, threshold)?;
    let page = vary_page(result, base, &charts, threshold)?;
    files.extend(charts);
    files.push(OutputFile::new(REPORT_FILE, page));
    Ok(files)
}

/// `compare --out`: `compare.json`, the compare charts, `report.md` (which shows the
/// PNG charts), `comment.md` (the same without images) and `report.html` (with the
/// topology of `proposed`). `base_label` and `proposed_label` name the configs.
pub fn compare_files(
    result: &CompareResult,
    proposed: &Scenario,
    base_label: &str,
    proposed_label: &str,
) -> Result<Vec<OutputFile>, ChartError> {
    let charts = compare_charts(result, base_label, proposed_label)?;
    let pngs: Vec<&str> = charts.iter().map(|f| f.name.as_str()).filter(|n| n.ends_with(".png")).collect();
    let report = compare_report(result, base_label, proposed_label, &pngs);
    let comment = compare_comment(result, base_label, proposed_label, &pngs);
    let page = compare_page(result, proposed, &charts, base_label, proposed_label)?;
    let mut files = vec![json_file("compare.json", result)];
    files.extend(charts);
    files.push(OutputFile::new(REPORT_FILE, page));
    files.push(OutputFile::new("report.md", report));
    files.push(OutputFile::new("comment.md", comment));
    Ok(files)
}

/// `rollout --seed N --out`: the run's files (`summary.json` carrying `rollout`), the
/// rollout chart (with the bounds of the checks of `scenario`'s strategy), and a
/// `report.html` that shows the rollout first.
pub fn rollout_run_files(result: &RunResult, scenario: &Scenario, replay: &str) -> Result<Vec<OutputFile>, ChartError> {
    let Some(plan) = scenario.rollout.as_deref() else {
        return Err(ChartError::InvalidResult("the scenario has no rollout".to_string()));
    };
    let mut files = vec![json_file("summary.json", result), OutputFile::new("timeseries.csv", timeseries_csv(result))];
    let mut charts = run_charts(result)?;
    charts.extend(rollout_charts(result, &Bound::of_strategy(&plan.strategy))?);
    let page = rollout_run_page(result, scenario, &charts, replay)?;
    files.extend(charts);
    files.push(OutputFile::new(REPORT_FILE, page));
    Ok(files)
}

/// `rollout --seeds N --out`: `rollout.json`, the chart of the seeds and `report.html`
/// (with the topology of `scenario`, the combined one).
pub fn rollout_files(report: &RolloutReport, scenario: &Scenario) -> Result<Vec<OutputFile>, ChartError> {
    let mut files = vec![json_file("rollout.json", report)];
    let charts = rollout_seeds_charts(report)?;
    let page = rollout_page(report, scenario, &charts)?;
    files.extend(charts);
    files.push(OutputFile::new(REPORT_FILE, page));
    Ok(files)
}

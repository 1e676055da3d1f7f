//! The pages of `stormcast rollout`: one seed (the run's page with the rollout first)
//! and many seeds (the verdict on the user's expectations, the shares with their
//! intervals, when seeds were decided, and the seeds worth replaying).

use super::page::{Cell, Page, Section, Tone, badge, commands, escape, figure, para, render, table};
use super::run::run_page_parts;
use super::svg_of;
use super::topology::topology_figure;
use crate::compare::GateVerdict;
use crate::format::{check_value, decimals_by_size, percent_interval, thousands};
use crate::model::Scenario;
use crate::report::chart::ChartError;
use crate::report::output::OutputFile;
use crate::rollout::controller::{Outcome, Verdict};
use crate::rollout::many::RolloutReport;
use crate::rollout::summary::RolloutSummary;
use crate::stats::Distribution;
use crate::stats::RunResult;

fn outcome_badge(o: Outcome) -> String {
    match o {
        Outcome::Promoted => badge(Tone::Good, "PROMOTED"),
        Outcome::RolledBack => badge(Tone::Bad, "ROLLED BACK"),
        Outcome::Unfinished => badge(Tone::Warn, "UNFINISHED"),
    }
}

fn verdict_badge(v: GateVerdict) -> String {
    match v {
        GateVerdict::Pass => badge(Tone::Good, "PASS"),
        GateVerdict::Fail => badge(Tone::Bad, "FAIL"),
        GateVerdict::Inconclusive => badge(Tone::Warn, "INCONCLUSIVE"),
        GateVerdict::Ungated => badge(Tone::Warn, "UNASSERTED"),
        GateVerdict::Unchanged => badge(Tone::Plain, "UNCHANGED"),
    }
}

/// The page of one seed of a rollout: the run's page, with the rollout's section first.
/// `charts` holds the run chart and the rollout chart, already drawn.
pub fn rollout_run_page(
    result: &RunResult,
    scenario: &Scenario,
    charts: &[OutputFile],
    replay: &str,
) -> Result<String, ChartError> {
    let Some(rollout) = &result.rollout else {
        return Err(ChartError::InvalidResult("the run has no rollout".to_string()));
    };
    let mut page = run_page_parts(result, scenario, charts, replay)?;
    page.kind = "rollout";
    page.title = format!("stormcast rollout: {}", result.scenario);
    page.sections.insert(0, Section::new("rollout", "Rollout", rollout_section(rollout, charts)));
    Ok(render(&page))
}

fn rollout_section(r: &RolloutSummary, charts: &[OutputFile]) -> String {
    let decided = r.decided_s.map_or(String::new(), |d| format!(" at {d} s"));
    let mut html = format!(
        "<p class=\"verdict\">{} {}{}: {}</p>",
        outcome_badge(r.outcome),
        escape(&format!("{} ({} style, {}) from {} s", r.service, r.style, r.strategy, r.start_s)),
        escape(&decided),
        escape(&r.reason)
    );
    html.push_str(&para(&format!("{} requests served by the canary ({}).", thousands(r.exposed_requests), r.canary)));
    for l in &r.loads {
        let breach =
            l.slo_breached_s.map_or("SLO not breached".to_string(), |s| format!("SLO first breached at {s} s"));
        let caught = if l.caught_before_breach { "; rolled back before any breach" } else { "" };
        html.push_str(&para(&format!("Load {}: {breach}{caught}.", l.load)));
    }
    let rows: Vec<Vec<Cell>> = r
        .checks
        .iter()
        .map(|c| {
            let name = c.analysis.as_ref().map_or(c.check.clone(), |a| format!("{a}/{}", c.check));
            let result = match c.result {
                Verdict::Pass => badge(Tone::Good, "pass"),
                Verdict::Fail => badge(Tone::Bad, "FAIL"),
                Verdict::Inconclusive => badge(Tone::Warn, "inconclusive"),
            };
            vec![
                Cell::Num(format!("{}", c.at_s)),
                Cell::Num(format!("{}%", c.weight)),
                Cell::Text(name),
                Cell::Num(check_value(c.metric, c.value)),
                Cell::Num(check_value(c.metric, c.stable)),
                Cell::Html(result),
            ]
        })
        .collect();
    if rows.is_empty() {
        html.push_str(&para("No check was taken."));
    } else {
        html.push_str(&table("checks", &["at s", "weight", "check", "canary", "stable", "result"], &rows));
    }
    html.push_str(&figure(
        svg_of(charts, "rollout.svg"),
        "rollout.svg: the canary's weight, canary against stable goodput, success rate and p99, \
         each check (dot pass, cross fail, triangle inconclusive) and the decision",
    ));
    html
}

/// The page of a rollout over many seeds, with `scenario`'s topology (the canary drawn
/// beside the service it is a version of); `charts` holds `rollout-seeds`, drawn.
pub fn rollout_page(report: &RolloutReport, scenario: &Scenario, charts: &[OutputFile]) -> Result<String, ChartError> {
    let r = report;
    let mut verdict = format!("<p class=\"verdict\">{} {}</p>", verdict_badge(r.verdict), escape(&r.verdict_reason));
    verdict.push_str(&expect_table(r));
    let last = r.first_seed + r.seeds.saturating_sub(1);
    let sections = vec![
        Section::new("verdict", "Verdict and expectations", verdict),
        Section::new("shares", "Outcomes with intervals", shares_table(r) + &loads_table(r)),
        Section::new("topology", "Topology", topology_figure(scenario, &[])?),
        Section::new(
            "seeds",
            "Seeds",
            figure(
                svg_of(charts, "rollout-seeds.svg"),
                "rollout-seeds.svg: the shares with their 95% intervals and expectations, and each seed's decision time",
            ),
        ),
        Section::new("timing", "Detection, promotion and exposure", spread_table(r)),
        Section::new("per-seed", "Every seed", per_seed_table(r)),
        Section::new("replay", "Replay", replay_list(r)),
    ];
    let page = Page {
        kind: "rollout-seeds",
        title: format!("stormcast rollout: {}", r.scenario),
        subtitle: format!(
            "{} rolled out as {} ({} style, {}) from {} s; {} seeds ({}..{}); stormcast {}, scenario hash {}",
            r.service,
            r.canary,
            r.style,
            r.strategy,
            r.start_s,
            r.seeds,
            r.first_seed,
            last,
            r.stormcast_version,
            r.scenario_hash
        ),
        sections,
        data: crate::report::json::to_json(r),
        panels: Vec::new(),
    };
    Ok(render(&page))
}

fn expect_table(r: &RolloutReport) -> String {
    if r.expect.is_empty() {
        return para("Nothing was asserted: the strategy has no [rollout.expect].");
    }
    let rows: Vec<Vec<Cell>> = r
        .expect
        .iter()
        .map(|e| {
            vec![
                Cell::Text(e.key.clone()),
                Cell::Text(e.load.clone().unwrap_or_default()),
                Cell::Num(format!("{}", e.threshold)),
                Cell::Num(percent_interval(e.measured.p, e.measured.low, e.measured.high)),
                Cell::Html(verdict_badge(e.verdict)),
                Cell::Text(e.reason.clone()),
            ]
        })
        .collect();
    table("expect", &["expectation", "load", "threshold", "measured [95% CI]", "verdict", "why"], &rows)
}

fn shares_table(r: &RolloutReport) -> String {
    let rows: Vec<Vec<Cell>> =
        [("rolled back", &r.rolled_back), ("promoted", &r.promoted), ("unfinished", &r.unfinished)]
            .into_iter()
            .map(|(what, p)| vec![Cell::Text(what.to_string()), Cell::Num(percent_interval(p.p, p.low, p.high))])
            .collect();
    table("shares", &["outcome", "share of seeds [95% CI]"], &rows)
}

fn loads_table(r: &RolloutReport) -> String {
    if r.loads.is_empty() {
        return para("No load has an SLO, so no breach was looked for.");
    }
    let rows: Vec<Vec<Cell>> = r
        .loads
        .iter()
        .map(|(name, l)| {
            let share = |p: &crate::stats::Proportion| Cell::Num(percent_interval(p.p, p.low, p.high));
            vec![Cell::Text(name.clone()), share(&l.slo_breached), share(&l.caught_before_breach)]
        })
        .collect();
    table("loads", &["load", "SLO breached [95% CI]", "caught before breach [95% CI]"], &rows)
}

fn spread_table(r: &RolloutReport) -> String {
    let rows: Vec<Vec<Cell>> = [
        ("rolled back after (s)", &r.detection_s),
        ("promoted after (s)", &r.promotion_s),
        ("requests served by the canary", &r.exposed_requests),
    ]
    .into_iter()
    .map(|(what, s): (&str, &Option<Distribution>)| {
        let mut row = vec![Cell::Text(what.to_string())];
        match s {
            Some(s) => {
                row.push(Cell::Num(s.n.to_string()));
                row.extend([s.min, s.median, s.p95, s.max, s.mean].map(|v| Cell::Num(decimals_by_size(v))));
            }
            None => {
                row.push(Cell::Num("0".to_string()));
                row.extend((0..5).map(|_| Cell::Num("-".to_string())));
            }
        }
        row
    })
    .collect();
    table("spread", &["", "seeds", "min", "median", "p95", "max", "mean"], &rows)
}

fn per_seed_table(r: &RolloutReport) -> String {
    let rows: Vec<Vec<Cell>> = r
        .per_seed
        .iter()
        .map(|s| {
            vec![
                Cell::Num(s.seed.to_string()),
                Cell::Html(outcome_badge(s.outcome)),
                Cell::Num(s.decided_s.map_or("-".to_string(), |d| format!("{d}"))),
                Cell::Num(thousands(s.exposed_requests)),
                Cell::Text(s.reason.clone()),
            ]
        })
        .collect();
    format!(
        "<details><summary>{} seeds, one row each</summary>{}</details>",
        r.per_seed.len(),
        table("per-seed", &["seed", "outcome", "decided at s", "canary requests", "why"], &rows)
    )
}

fn replay_list(r: &RolloutReport) -> String {
    if r.replay.is_empty() {
        return para("Every seed went the same way: no seed stands out.");
    }
    let items: Vec<(String, String)> = r
        .replay
        .iter()
        .map(|x| (x.command.clone(), format!("seed {}, {}: {}", x.seed, x.outcome.label().replace('_', " "), x.why)))
        .collect();
    commands(&items)
}

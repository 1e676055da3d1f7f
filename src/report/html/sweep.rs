//! The pages of `stormcast sweep` (many seeds of one scenario) and `sweep --vary` (a
//! sweep per value of one or two keys).

use super::page::{Cell, Page, Section, Tone, badge, commands, figure, para, render, table};
use super::series::{Axis, Panel, panels_html};
use super::{svg_of, topology::topology_figure};
use crate::format::{decimals_by_size, percent_interval};
use crate::model::Scenario;
use crate::report::chart::ChartError;
use crate::report::output::OutputFile;
use crate::stats::Proportion;
use crate::sweep::{RiskKind, SweepResult, VaryResult, tipping_point};

/// The page of a sweep; `charts` holds its fan, risk and recovery charts.
pub fn sweep_page(result: &SweepResult, scenario: &Scenario, charts: &[OutputFile]) -> Result<String, ChartError> {
    let worst = result.risks.iter().map(|r| r.slo_risk.low).fold(0.0_f64, f64::max);
    let tone = if worst > 0.0 { Tone::Bad } else { Tone::Good };
    let head = if worst > 0.0 { "SLO RISK" } else { "NO SLO RISK SEEN" };
    let mut verdict = format!(
        "<p class=\"verdict\">{} risks across {} seeds, with 95% Wilson intervals.</p>",
        badge(tone, head),
        result.seeds
    );
    verdict.push_str(&risks_table(result));
    let sections = vec![
        Section::new("verdict", "Risks", verdict),
        Section::new("topology", "Topology", topology_figure(scenario, &unhealthy_shares(result))?),
        Section::new("timeseries", "Over time, across seeds", panels_html(&panels(result, "p"))),
        Section::new(
            "fan",
            "Fan chart",
            figure(svg_of(charts, "fan.svg"), "goodput and p99 over time: median and the 5-95% band of the seeds"),
        ),
        Section::new(
            "risk",
            "Risks with intervals",
            figure(svg_of(charts, "risk.svg"), "each risk with its 95% interval"),
        ),
        Section::new(
            "recovery",
            "Recovery",
            figure(svg_of(charts, "recovery.svg"), "time to recover after each disturbance, across seeds")
                + &distributions_table(result),
        ),
        Section::new("replay", "Replay", replay_list(result)),
    ];
    let page = Page {
        kind: "sweep",
        title: format!("stormcast sweep: {}", result.scenario),
        subtitle: format!(
            "seeds {}..{} ({} runs of {} s); stormcast {}, scenario hash {}",
            result.first_seed,
            result.first_seed + result.seeds - 1,
            result.seeds,
            result.simulated_s,
            result.stormcast_version,
            result.scenario_hash
        ),
        sections,
        data: crate::report::json::to_json(result),
        panels: panels(result, "p"),
    };
    Ok(render(&page))
}

fn interval(p: &Proportion) -> String {
    percent_interval(p.p, p.low, p.high)
}

fn risks_table(r: &SweepResult) -> String {
    let rows: Vec<Vec<Cell>> = r
        .risks
        .iter()
        .map(|l| {
            vec![
                Cell::Text(l.name.clone()),
                Cell::Num(interval(&l.slo_risk)),
                Cell::Num(interval(&l.metastable_risk)),
                Cell::Num(interval(&l.cascade_risk)),
            ]
        })
        .collect();
    table("risks", &["load", "SLO violated", "never recovered", "cascade"], &rows)
}

fn distributions_table(r: &SweepResult) -> String {
    let rows: Vec<Vec<Cell>> = r
        .loads
        .iter()
        .map(|l| {
            let tri = |d: &Option<crate::stats::Distribution>, scale: f64| {
                d.as_ref().map_or("-".to_string(), |d| {
                    format!(
                        "{} / {} / {}",
                        decimals_by_size(d.p5 * scale),
                        decimals_by_size(d.median * scale),
                        decimals_by_size(d.p95 * scale)
                    )
                })
            };
            let recovery = match &l.recovery_s {
                Some(d) => format!("{:.0} s ({}/{} recovered)", d.median, l.recovered_seeds, r.seeds),
                None => format!("never (0/{})", r.seeds),
            };
            vec![
                Cell::Text(l.name.clone()),
                Cell::Num(tri(&l.p99_ms, 1.0)),
                Cell::Num(tri(&l.success_rate, 100.0)),
                Cell::Num(recovery),
            ]
        })
        .collect();
    table(
        "across",
        &["load", "p99 ms (p5 / median / p95)", "success % (p5 / median / p95)", "recovery (median)"],
        &rows,
    )
}

/// Services unhealthy in some seed, with the share of seeds.
fn unhealthy_shares(r: &SweepResult) -> Vec<(String, String)> {
    r.services
        .iter()
        .filter(|s| s.unhealthy.p > 0.0)
        .map(|s| (s.name.clone(), format!("unhealthy in {} of seeds", interval(&s.unhealthy))))
        .collect()
}

/// The median goodput and p99 of each load over time, with the 5% and 95% lines.
pub(super) fn panels(r: &SweepResult, prefix: &str) -> Vec<Panel> {
    let mut goodput = Vec::new();
    let mut p99 = Vec::new();
    for b in &r.bands {
        goodput.push((format!("{} median", b.name), b.goodput.median.clone()));
        goodput.push((format!("{} p5", b.name), b.goodput.p5.clone()));
        goodput.push((format!("{} p95", b.name), b.goodput.p95.clone()));
        p99.push((format!("{} median", b.name), b.p99_ms.median.clone()));
        p99.push((format!("{} p95", b.name), b.p99_ms.p95.clone()));
    }
    let axis = Axis { bucket_s: r.bucket_s, end_s: r.simulated_s, warmup_s: r.warmup_s, windows: &r.disturbances };
    let mut out = vec![
        Panel::new(0, "Goodput (ok/s) across seeds: median, 5% and 95%", "ok/s", &axis, goodput),
        Panel::new(1, "p99 latency (ms) across seeds: median and 95%", "ms", &axis, p99),
    ];
    for p in &mut out {
        p.id = format!("{prefix}{}", p.id);
    }
    out
}

/// The seeds worth replaying, one line per seed with every load's reasons, the most
/// informative first (`sweep::replay::informative_seeds`), as the terminal lists them.
fn replay_list(r: &SweepResult) -> String {
    let items: Vec<(String, String)> =
        crate::sweep::replay::informative_seeds(r).into_iter().map(|s| (s.command, s.reasons.join("; "))).collect();
    if items.is_empty() {
        return para("No seed stood out: none violated its SLO, failed to recover or cascaded.");
    }
    commands(&items)
}

/// The page of a `sweep --vary`; `charts` holds its vary chart, `threshold` the risk a
/// tipping point must stay under, `scenario` the base (drawn as the topology).
pub fn vary_page(
    result: &VaryResult,
    scenario: &Scenario,
    charts: &[OutputFile],
    threshold: Option<f64>,
) -> Result<String, ChartError> {
    let loads: Vec<&str> =
        result.points.first().map_or(Vec::new(), |p| p.risks.iter().map(|l| l.name.as_str()).collect());
    let mut verdict = String::new();
    if let Some(threshold) = threshold {
        for load in &loads {
            for kind in [RiskKind::Slo, RiskKind::Metastable] {
                let tip = tipping_point(result, load, kind, threshold);
                let text = format!(
                    "{load}: tipping point ({} below {:.1}% with 95% confidence): {}",
                    kind.label(),
                    100.0 * threshold,
                    tip.as_deref().unwrap_or("none in this range")
                );
                let tone = if tip.is_some() { Tone::Good } else { Tone::Warn };
                verdict.push_str(&format!(
                    "<p class=\"verdict\">{} {}</p>",
                    badge(tone, kind.label()),
                    super::page::escape(&text)
                ));
            }
        }
    }
    let mut rows = Vec::new();
    for p in &result.points {
        for l in &p.risks {
            let mut row = vec![Cell::Text(l.name.clone())];
            row.extend(
                result.keys.iter().map(|k| {
                    Cell::Text(p.params.iter().find(|v| v.key == *k).map_or(String::new(), |v| v.value.clone()))
                }),
            );
            row.extend([
                Cell::Num(interval(&l.slo_risk)),
                Cell::Num(interval(&l.metastable_risk)),
                Cell::Num(interval(&l.cascade_risk)),
            ]);
            rows.push(row);
        }
    }
    let mut headers = vec!["load"];
    headers.extend(result.keys.iter().map(String::as_str));
    headers.extend(["SLO violated", "never recovered", "cascade"]);
    verdict.push_str(&table("vary", &headers, &rows));
    let sections = vec![
        Section::new("verdict", "Tipping points", verdict),
        Section::new("topology", "Topology (base)", topology_figure(scenario, &[])?),
        Section::new(
            "vary",
            "Risk by value",
            figure(svg_of(charts, "vary.svg"), "each point's risk with its 95% interval"),
        ),
    ];
    let page = Page {
        kind: "vary",
        title: format!("stormcast sweep --vary: {} over {}", scenario.source, result.keys.join(" x ")),
        subtitle: format!(
            "{} points, seeds {}..{} each; stormcast {}",
            result.points.len(),
            result.first_seed,
            result.first_seed + result.seeds - 1,
            result.stormcast_version
        ),
        sections,
        data: crate::report::json::to_json(result),
        panels: Vec::new(),
    };
    Ok(render(&page))
}

//! The page of `stormcast compare`: a base and a proposed config on the same seeds.

use super::page::{Cell, Page, Section, Tone, badge, commands, escape, figure, para, render, table};
use super::series::{Axis, Panel, panels_html};
use super::{svg_of, topology::topology_figure};
use crate::compare::{CompareResult, GateVerdict};
use crate::format::{percent_interval, signed_pp};
use crate::model::Scenario;
use crate::report::chart::ChartError;
use crate::report::output::OutputFile;

fn tone(v: GateVerdict) -> Tone {
    match v {
        GateVerdict::Pass | GateVerdict::Unchanged => Tone::Good,
        GateVerdict::Fail => Tone::Bad,
        GateVerdict::Inconclusive | GateVerdict::Ungated => Tone::Warn,
    }
}

/// The page of a compare; `charts` holds its fan and risk charts, `proposed` is the
/// proposed scenario (drawn as the topology) and the labels name both configs.
pub fn compare_page(
    result: &CompareResult,
    proposed: &Scenario,
    charts: &[OutputFile],
    base_label: &str,
    proposed_label: &str,
) -> Result<String, ChartError> {
    let mut verdict = format!(
        "<p class=\"verdict\">{} {}</p><p>base: <code>{}</code><br>proposed: <code>{}</code></p>",
        badge(tone(result.verdict), &result.verdict.label().to_uppercase()),
        escape(&result.message),
        escape(base_label),
        escape(proposed_label)
    );
    verdict.push_str(&gates_table(result));
    let marked: Vec<(String, String)> = result
        .proposed
        .services
        .iter()
        .filter(|s| s.unhealthy.p > 0.0)
        .map(|s| {
            let share = percent_interval(s.unhealthy.p, s.unhealthy.low, s.unhealthy.high);
            (s.name.clone(), format!("unhealthy in {share} of the proposed config's seeds"))
        })
        .collect();
    let sections = vec![
        Section::new("verdict", "Verdict and gates", verdict),
        Section::new("topology", "Topology (proposed)", topology_figure(proposed, &marked)?),
        Section::new("timeseries", "Over time: base and proposed medians", panels_html(&panels(result))),
        Section::new(
            "fan",
            "Fan charts",
            figure(
                svg_of(charts, "compare-fan.svg"),
                "goodput and p99 over time, base and proposed: median and 5-95% band",
            ),
        ),
        Section::new(
            "risk",
            "Risks with intervals",
            figure(svg_of(charts, "compare-risk.svg"), "each risk, base and proposed, and the paired difference")
                + &risk_table(result),
        ),
        Section::new("metrics", "Paired metrics", metrics_table(result)),
        Section::new("replay", "Replay", replay_list(result)),
    ];
    let page = Page {
        kind: "compare",
        title: format!("stormcast compare: {base_label} vs {proposed_label}"),
        subtitle: format!(
            "{} seeds ({}..{}) per config, paired; stormcast {}",
            result.seeds,
            result.first_seed,
            result.first_seed + result.seeds - 1,
            result.stormcast_version
        ),
        sections,
        data: crate::report::json::to_json(result),
        panels: panels(result),
    };
    Ok(render(&page))
}

fn gates_table(r: &CompareResult) -> String {
    if r.gates.is_empty() {
        return para("No gate was set ([gates] in the proposed scenario, or --max-... options).");
    }
    let rows: Vec<Vec<Cell>> = r
        .gates
        .iter()
        .map(|g| {
            let gate = serde_json::to_value(g.gate).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
            let estimate = match (g.value, g.low, g.high) {
                (Some(v), Some(lo), Some(hi)) => format!("{v:.4} [{lo:.4}, {hi:.4}]"),
                (Some(v), _, _) => format!("{v:.4}"),
                _ => "-".to_string(),
            };
            vec![
                Cell::Text(gate),
                Cell::Text(g.load.clone()),
                Cell::Num(format!("{}", g.limit)),
                Cell::Num(estimate),
                Cell::Html(badge(tone(g.verdict), g.verdict.label())),
                Cell::Text(g.reason.clone()),
            ]
        })
        .collect();
    table("gates", &["gate", "load", "limit", "estimate [95% CI]", "verdict", "why"], &rows)
}

fn risk_table(r: &CompareResult) -> String {
    let mut rows = Vec::new();
    for l in &r.risk_differences {
        for (what, d) in
            [("SLO violated", &l.slo_risk), ("never recovered", &l.metastable_risk), ("cascade", &l.cascade_risk)]
        {
            rows.push(vec![
                Cell::Text(l.name.clone()),
                Cell::Text(what.to_string()),
                Cell::Num(percent_interval(d.base.p, d.base.low, d.base.high)),
                Cell::Num(percent_interval(d.proposed.p, d.proposed.low, d.proposed.high)),
                Cell::Num(format!("{} [{}, {}]", signed_pp(d.diff), signed_pp(d.low), signed_pp(d.high))),
            ]);
        }
    }
    table("risk-diff", &["load", "risk", "base", "proposed", "difference [95% CI]"], &rows)
}

fn metrics_table(r: &CompareResult) -> String {
    let mut rows = Vec::new();
    for p in &r.paired {
        for (label, m) in p.metrics() {
            let value = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
            let diff = match (m.mean_diff, m.low, m.high) {
                (Some(d), Some(lo), Some(hi)) => format!("{d:+.4} [{lo:+.4}, {hi:+.4}]"),
                _ => "-".to_string(),
            };
            let verdict_tone = match m.verdict.label() {
                "better" => Tone::Good,
                "worse" => Tone::Bad,
                _ => Tone::Plain,
            };
            rows.push(vec![
                Cell::Text(p.name.clone()),
                Cell::Text(label.to_string()),
                Cell::Num(value(m.base_mean)),
                Cell::Num(value(m.proposed_mean)),
                Cell::Num(diff),
                Cell::Html(badge(verdict_tone, m.verdict.label())),
            ]);
        }
    }
    table("metrics", &["load", "metric", "base", "proposed", "difference [95% CI]", "verdict"], &rows)
}

/// Base and proposed medians of goodput and p99, per load.
fn panels(r: &CompareResult) -> Vec<Panel> {
    let mut goodput = Vec::new();
    let mut p99 = Vec::new();
    for (which, sweep) in [("base", &r.base), ("proposed", &r.proposed)] {
        for b in &sweep.bands {
            goodput.push((format!("{} {which}", b.name), b.goodput.median.clone()));
            p99.push((format!("{} {which}", b.name), b.p99_ms.median.clone()));
        }
    }
    let s = &r.proposed;
    let axis = Axis { bucket_s: s.bucket_s, end_s: s.simulated_s, warmup_s: s.warmup_s, windows: &s.disturbances };
    vec![
        Panel::new(0, "Goodput (ok/s), median over seeds", "ok/s", &axis, goodput),
        Panel::new(1, "p99 latency (ms), median over seeds", "ms", &axis, p99),
    ]
}

fn replay_list(r: &CompareResult) -> String {
    if r.replay.is_empty() {
        return para("No seed stood out.");
    }
    let mut items = Vec::new();
    for replay in &r.replay {
        let why = format!("seed {}, {}: {}", replay.seed, replay.load, replay.why.join(", "));
        items.push((replay.command.clone(), format!("proposed; {why}")));
        items.push((replay.base_command.clone(), "base, same seed".to_string()));
    }
    commands(&items)
}

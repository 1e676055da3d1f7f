//! The page of `stormcast run`: one seed of one scenario.

use super::page::{Cell, Page, Section, Tone, badge, commands, escape, figure, para, render, table};
use super::series::{Axis, Line, Panel, panels_html};
use super::{svg_of, topology::topology_figure};
use crate::format::{decimals_by_size, percent, thousands};
use crate::model::Scenario;
use crate::report::chart::ChartError;
use crate::report::output::OutputFile;
use crate::stats::RunResult;

/// The page of one run. `charts` holds the run chart already drawn (its SVG is shown);
/// `replay` is the command that runs it again.
pub fn run_page(
    result: &RunResult,
    scenario: &Scenario,
    charts: &[OutputFile],
    replay: &str,
) -> Result<String, ChartError> {
    Ok(render(&run_page_parts(result, scenario, charts, replay)?))
}

/// [`run_page`] before rendering, for a page that adds sections to it (a rollout's).
pub(super) fn run_page_parts(
    result: &RunResult,
    scenario: &Scenario,
    charts: &[OutputFile],
    replay: &str,
) -> Result<Page, ChartError> {
    let violated: Vec<&str> = result.loads.iter().filter(|l| l.slo_violated).map(|l| l.name.as_str()).collect();
    let mut verdict = if violated.is_empty() {
        format!("<p class=\"verdict\">{} every load met its SLO.</p>", badge(Tone::Good, "OK"))
    } else {
        format!(
            "<p class=\"verdict\">{} SLO violated for {}.</p>",
            badge(Tone::Bad, "VIOLATED"),
            escape(&violated.join(", "))
        )
    };
    verdict.push_str(&para(&cascade_sentence(result)));
    verdict.push_str(&loads_table(result));
    let marked: Vec<(String, String)> = result
        .services
        .iter()
        .filter(|s| s.health.is_unhealthy())
        .map(|s| {
            let label = s.health.label();
            let cause = label.trim_start_matches("UNHEALTHY").trim().trim_start_matches('(').trim_end_matches(')');
            (s.name.clone(), cause.to_string())
        })
        .collect();
    let sections = vec![
        Section::new("verdict", "Verdict", verdict),
        Section::new("topology", "Topology", topology_figure(scenario, &marked)?),
        Section::new("timeseries", "Over time", panels_html(&panels(result))),
        Section::new("services", "Services", services_table(result)),
        Section::new(
            "chart",
            "Run chart",
            format!(
                "<details><summary>Every panel of run.svg</summary>{}</details>",
                figure(svg_of(charts, "run.svg"), "run.svg: the same run, as the --out chart")
            ),
        ),
        Section::new("replay", "Replay", commands(&[(replay.to_string(), "this run, again".to_string())])),
    ];
    Ok(Page {
        kind: "run",
        title: format!("stormcast run: {}", result.scenario),
        subtitle: format!(
            "seed {}, {} s simulated ({} s warmup), {} events; stormcast {}, scenario hash {}",
            result.seed,
            result.simulated_s,
            result.warmup_s,
            thousands(result.events),
            result.stormcast_version,
            result.scenario_hash
        ),
        sections,
        data: crate::report::json::to_json(result),
        panels: panels(result),
    })
}

fn cascade_sentence(r: &RunResult) -> String {
    let c = &r.cascade;
    if c.cascade {
        format!("Cascade: from {} to {}.", c.origin.join(", "), c.blast_radius.join(", "))
    } else if !c.relayed.is_empty() {
        format!("No cascade: {} only relayed failures (own workers and queue stayed free).", c.relayed.join(", "))
    } else {
        "No cascade: no service was unhealthy because of another.".to_string()
    }
}

fn loads_table(r: &RunResult) -> String {
    let rows: Vec<Vec<Cell>> = r
        .loads
        .iter()
        .map(|l| {
            vec![
                Cell::Text(l.name.clone()),
                Cell::Num(thousands(l.requests)),
                Cell::Num(percent(l.success_rate)),
                Cell::Num(decimals_by_size(l.latency_ms.p99)),
                Cell::Num(format!("{:.2}", l.amplification)),
                Cell::Num(l.recovery_s.map_or("never".to_string(), |s| format!("{s:.0} s"))),
                Cell::Html(if l.slo_violated { badge(Tone::Bad, "VIOLATED") } else { badge(Tone::Good, "ok") }),
            ]
        })
        .collect();
    table("loads", &["load", "requests", "success", "p99 ms", "tries/request", "recovery", "SLO"], &rows)
}

fn services_table(r: &RunResult) -> String {
    let rows: Vec<Vec<Cell>> = r
        .services
        .iter()
        .map(|s| {
            let tone = if s.health.is_unhealthy() { Tone::Bad } else { Tone::Good };
            let mut health = badge(tone, &s.health.label());
            if s.faulted {
                health.push(' ');
                health.push_str(&badge(Tone::Plain, "faulted"));
            }
            vec![
                Cell::Text(s.name.clone()),
                Cell::Num(thousands(s.arrivals)),
                Cell::Num(format!("{:.0}%", 100.0 * s.utilization)),
                Cell::Num(thousands(s.queue_max)),
                Cell::Num(decimals_by_size(s.sojourn_ms.p99)),
                Cell::Num(format!("{:.1}", s.wasted_work_s)),
                Cell::Html(health),
            ]
        })
        .collect();
    table("services", &["service", "arrivals", "util", "queue max", "sojourn p99 ms", "wasted s", "health"], &rows)
}

/// The run's interactive panels: per load goodput, failures and p99; per service
/// failed attempts (caller timeouts included), utilization and queue.
fn panels(r: &RunResult) -> Vec<Panel> {
    let per_s = |v: u64| Some(v as f64 / r.bucket_s);
    let loads = |f: &dyn Fn(&crate::stats::summary::LoadBucket) -> Option<f64>| {
        r.loads.iter().map(|l| (l.name.clone(), l.buckets.iter().map(f).collect())).collect::<Vec<_>>()
    };
    let services = |f: &dyn Fn(&crate::stats::summary::ServiceBucket) -> Option<f64>| {
        r.services.iter().map(|s| (s.name.clone(), s.buckets.iter().map(f).collect())).collect::<Vec<_>>()
    };
    let specs: Vec<(&str, &str, Vec<Line>)> = vec![
        ("Goodput: requests that ended ok, per second, by load", "ok/s", loads(&|b| per_s(b.ok))),
        ("Failed requests per second, by load", "failed/s", loads(&|b| per_s(b.failed))),
        ("p99 latency of ok requests, by load", "ms", loads(&|b| b.latency_ms_p99)),
        (
            "Failed attempts per second, by service (errors, refusals and caller timeouts)",
            "failed/s",
            services(&|b| per_s(b.failed + b.timeouts)),
        ),
        ("Utilization, by service", "%", services(&|b| Some(100.0 * b.utilization))),
        ("Mean queue length, by service", "waiting", services(&|b| Some(b.queue))),
    ];
    let axis = Axis { bucket_s: r.bucket_s, end_s: r.simulated_s, warmup_s: r.warmup_s, windows: &r.disturbances };
    specs.into_iter().enumerate().map(|(i, (title, unit, series))| Panel::new(i, title, unit, &axis, series)).collect()
}

//! Terminal tables: what `stormcast run` prints by default.

use super::color::{Tone, paint};
use std::fmt::Write;
use stormcast::compare::GateVerdict;
use stormcast::format::{decimals_by_size, percent_interval, thousands};
use stormcast::stats::RunResult;

pub fn run_table(r: &RunResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  seed {}  {} s simulated ({} s warmup)  {} events\n",
        r.scenario,
        r.seed,
        r.simulated_s,
        r.warmup_s,
        thousands(r.events)
    );
    if !r.overlays.is_empty() {
        out.pop(); // The blank line after the header comes after the overlays.
        let _ = writeln!(out, "{}\n", overlay_line(&r.overlays));
    }
    let _ = writeln!(
        out,
        "{:<16} {:>10} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6} {:>10}  slo",
        "load", "requests", "success", "mean ms", "p50 ms", "p99 ms", "p999 ms", "max ms", "tries", "recovery"
    );
    for l in &r.loads {
        let recovery = match l.recovery_s {
            Some(s) => format!("{s:.0} s"),
            None => "never".to_string(),
        };
        let _ = writeln!(
            out,
            "{:<16} {:>10} {:>7.2}% {:>9} {:>9} {:>9} {:>9} {:>9} {:>6.2} {:>10}  {}",
            l.name,
            thousands(l.requests),
            100.0 * l.success_rate,
            decimals_by_size(l.latency_ms.mean),
            decimals_by_size(l.latency_ms.p50),
            decimals_by_size(l.latency_ms.p99),
            decimals_by_size(l.latency_ms.p999),
            decimals_by_size(l.latency_ms.max),
            l.amplification,
            recovery,
            if l.slo_violated { paint(Tone::Bad, "VIOLATED") } else { "ok".to_string() }
        );
        let failures: Vec<String> = stormcast::model::Outcome::ALL[1..]
            .iter()
            .filter(|&&o| l.outcomes.get(o) > 0)
            .map(|&o| format!("{} {}", o.name(), thousands(l.outcomes.get(o))))
            .collect();
        if !failures.is_empty() || l.in_flight > 0 {
            let mut line = failures.join(", ");
            if l.in_flight > 0 {
                if !line.is_empty() {
                    line.push_str(", ");
                }
                let _ = write!(line, "{} still in flight at the end", thousands(l.in_flight));
            }
            let _ = writeln!(out, "{:<16} {}", "", line);
        }
    }
    let _ = write!(
        out,
        "\n{:<16} {:>10} {:>9} {:>6} {:>9} {:>11}",
        "service", "arrivals", "served ok", "util", "queue max", "sojourn p99"
    );
    // Every counter the run reports has a column (`model::counters`); every service
    // reports the same ones.
    let reported = r.services.first().map(|s| s.counters.clone()).unwrap_or_default();
    for (def, _) in reported.iter() {
        let _ = write!(out, " {:>9}", def.heading);
    }
    let _ = writeln!(out, " {:>9}  health", "wasted s");
    for s in &r.services {
        let served = s.ok + s.errors + s.rejected + s.throttled + s.unavailable;
        let ok_share = if served == 0 { 1.0 } else { s.ok as f64 / served as f64 };
        let mut health = s.health.label();
        if s.faulted && !s.health.is_unhealthy() {
            health.push_str(" (faulted)");
        }
        let _ = write!(
            out,
            "{:<16} {:>10} {:>8.2}% {:>5.0}% {:>9} {:>11}",
            s.name,
            thousands(s.arrivals),
            100.0 * ok_share,
            100.0 * s.utilization,
            thousands(s.queue_max),
            decimals_by_size(s.sojourn_ms.p99),
        );
        for (_, value) in s.counters.iter() {
            let _ = write!(out, " {:>9}", thousands(value));
        }
        let health = if s.health.is_unhealthy() { paint(Tone::Bad, &health) } else { health };
        let _ = writeln!(out, " {:>9.1}  {}", s.wasted_work_s, health);
    }
    let c = &r.cascade;
    if c.cascade {
        let _ = writeln!(
            out,
            "\n{} from {} to {}",
            paint(Tone::Bad, "cascade:"),
            c.origin.join(", "),
            c.blast_radius.join(", ")
        );
    } else if !c.relayed.is_empty() {
        let _ = writeln!(
            out,
            "\nno cascade: {} only relayed failures (own workers and queue stayed free)",
            c.relayed.join(", ")
        );
    } else {
        let _ = writeln!(out, "\nno cascade: no service was unhealthy because of another");
    }
    let _ = writeln!(
        out,
        "success: requests that ended ok / requests started after warmup; served ok: answers ok / attempts \
         that arrived (retries included)"
    );
    out
}

/// `with --change pr.toml (hash 0123456789abcdef), --set services.api.instances=3`.
fn overlay_line(overlays: &[stormcast::model::OverlaySource]) -> String {
    let parts: Vec<String> = overlays
        .iter()
        .map(|o| match o.kind {
            "change" => format!("--change {} (hash {})", o.source, o.hash),
            _ => format!("--{} {}", o.kind, o.source),
        })
        .collect();
    format!("with {}", parts.join(", "))
}

/// What `stormcast sweep` prints: risks with their intervals, distributions across
/// seeds, and the seeds worth replaying.
pub fn sweep_table(r: &stormcast::sweep::SweepResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  seeds {}..{}  ({} runs of {} s)\n",
        r.scenario,
        r.first_seed,
        r.first_seed + r.seeds - 1,
        r.seeds,
        r.simulated_s
    );
    if !r.overlays.is_empty() {
        out.pop();
        let _ = writeln!(out, "{}\n", overlay_line(&r.overlays));
    }
    let _ = writeln!(out, "{:<16} {:<24} {:<24} {:<24}", "risk (95% CI)", "SLO violated", "never recovered", "cascade");
    for risk in &r.risks {
        let _ = writeln!(
            out,
            "{:<16} {:<24} {:<24} {:<24}",
            risk.name,
            percent_interval_of(&risk.slo_risk),
            percent_interval_of(&risk.metastable_risk),
            percent_interval_of(&risk.cascade_risk)
        );
    }
    let _ = writeln!(
        out,
        "\n{:<16} {:>22} {:>22} {:>18} {:>14}",
        "across seeds", "p99 ms (p5/med/p95)", "success (p5/med/p95)", "recovery s (med)", "tries (med)"
    );
    for l in &r.loads {
        let tri = |d: &Option<stormcast::stats::Distribution>, scale: f64| {
            d.as_ref().map_or("-".to_string(), |d| {
                format!(
                    "{}/{}/{}",
                    decimals_by_size(d.p5 * scale),
                    decimals_by_size(d.median * scale),
                    decimals_by_size(d.p95 * scale)
                )
            })
        };
        let recovery = match (&l.recovery_s, l.recovered_seeds) {
            (Some(d), n) => format!("{:.0} ({}/{} ok)", d.median, n, r.seeds),
            (None, _) => format!("never (0/{})", r.seeds),
        };
        let tries = l.amplification.as_ref().map_or("-".to_string(), |d| format!("{:.2}", d.median));
        let _ = writeln!(
            out,
            "{:<16} {:>22} {:>22} {:>18} {:>14}",
            l.name,
            tri(&l.p99_ms, 1.0),
            tri(&l.success_rate, 100.0),
            recovery,
            tries
        );
    }
    if !r.replay.is_empty() {
        // One line per seed, the most informative first: the command, then each load's reasons.
        let seeds = stormcast::sweep::replay::informative_seeds(r);
        let _ = writeln!(out, "\n{} seeds to look at (sweep.json lists every one):", seeds.len());
        for s in seeds.iter().take(10) {
            let _ = writeln!(out, "  {}    # {}", s.command, s.reasons.join("; "));
        }
        if seeds.len() > 10 {
            let _ = writeln!(out, "  ... and {} more", seeds.len() - 10);
        }
    }
    out
}

/// What `stormcast sweep --vary` prints: each point's risks (a `✓` where the whole
/// interval is below the threshold, as the chart marks it), and the tipping points:
/// along the only key, or with two keys along the second for each value of the first.
pub fn vary_table(r: &stormcast::sweep::VaryResult, threshold: f64) -> String {
    use stormcast::sweep::RiskKind;
    let mut out = String::new();
    let _ = writeln!(out, "{} seeds per point ({}..{})\n", r.seeds, r.first_seed, r.first_seed + r.seeds - 1);
    let loads: Vec<&str> = r.points.first().map_or(Vec::new(), |p| p.risks.iter().map(|l| l.name.as_str()).collect());
    // Every label fits its column, however many keys it names.
    let width = r.points.iter().map(|p| p.label.chars().count()).max().unwrap_or(0).max("point".len());
    let cell = |p: &stormcast::stats::Proportion| {
        let mark = if p.high < threshold { " ✓" } else { "" };
        format!("{}{mark}", percent_interval_of(p))
    };
    for load in &loads {
        let _ = writeln!(
            out,
            "{load:<16} {:<width$} {:<26} {:<26} {:<26}",
            "point", "SLO violated", "never recovered", "cascade"
        );
        for p in &r.points {
            if let Some(risk) = p.risks.iter().find(|l| l.name == *load) {
                let _ = writeln!(
                    out,
                    "{:<16} {:<width$} {:<26} {:<26} {:<26}",
                    "",
                    p.label,
                    cell(&risk.slo_risk),
                    cell(&risk.metastable_risk),
                    cell(&risk.cascade_risk)
                );
            }
        }
        for kind in [RiskKind::Slo, RiskKind::Metastable] {
            let head = format!("tipping point ({} below {:.1}% with 95% confidence)", kind.label(), 100.0 * threshold);
            for (scope, tip) in tipping_points(r, load, kind, threshold) {
                let tip = tip.unwrap_or_else(|| "none in this range".to_string());
                let _ = writeln!(out, "{:<16} {head}{scope}: {tip}", "");
            }
        }
        out.push('\n');
    }
    out
}

/// The tipping points of `load`: one over all points for one key; with two keys, one
/// per value of the first key (`", at KEY=V"`), the second key's first safe value.
fn tipping_points(
    r: &stormcast::sweep::VaryResult,
    load: &str,
    kind: stormcast::sweep::RiskKind,
    threshold: f64,
) -> Vec<(String, Option<String>)> {
    if r.keys.len() < 2 {
        return vec![(String::new(), stormcast::sweep::tipping_point(r, load, kind, threshold))];
    }
    let mut firsts: Vec<&stormcast::sweep::VaryParam> = Vec::new();
    for p in &r.points {
        if let Some(first) = p.params.first()
            && !firsts.contains(&first)
        {
            firsts.push(first);
        }
    }
    firsts
        .into_iter()
        .map(|first| {
            let tip = r.points.iter().filter(|p| p.params.first() == Some(first)).find_map(|p| {
                let risk = p.risks.iter().find(|l| l.name == load)?.get(kind);
                (risk.high < threshold).then(|| p.params.get(1).map_or(p.label.clone(), |v| v.to_string()))
            });
            (format!(", at {first}"), tip)
        })
        .collect()
}

/// What `stormcast compare` prints: the verdict, each gate, and the paired metrics.
pub fn compare_table(r: &stormcast::compare::CompareResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "verdict: {}  ({}; {} seeds, {}..{})\n",
        paint(
            verdict_tone(r.verdict),
            &serde_json::to_value(r.verdict).ok().and_then(|v| v.as_str().map(str::to_uppercase)).unwrap_or_default()
        ),
        r.message,
        r.seeds,
        r.first_seed,
        r.first_seed + r.seeds - 1
    );
    if !r.gates.is_empty() {
        // A sequential compare judges each gate at its look's level (in its reason).
        let interval = if r.sequential.is_some() { "estimate [look's CI]" } else { "estimate [95% CI]" };
        let _ = writeln!(out, "{:<30} {:<14} {:>10} {interval:>30}  verdict", "gate", "load", "limit");
        for g in &r.gates {
            let estimate = match (g.value, g.low, g.high) {
                (Some(v), Some(lo), Some(hi)) => format!("{v:.4} [{lo:.4}, {hi:.4}]"),
                (Some(v), _, _) => format!("{v:.4}"),
                _ => "-".to_string(),
            };
            let gate = serde_json::to_value(g.gate).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
            let verdict =
                serde_json::to_value(g.verdict).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
            let verdict = paint(verdict_tone(g.verdict), &verdict);
            let _ = writeln!(out, "{gate:<30} {:<14} {:>10} {estimate:>30}  {verdict}", g.load, g.limit);
        }
        out.push('\n');
    }
    for p in &r.paired {
        let _ = writeln!(
            out,
            "{:<16} {:<14} {:>12} {:>12} {:>32}  verdict",
            p.name, "metric", "base", "proposed", "difference [95% CI]"
        );
        for (label, m) in p.metrics() {
            let _ = writeln!(
                out,
                "{:<16} {label:<14} {:>12} {:>12} {:>32}  {}",
                "",
                m.base_mean.map_or("-".to_string(), |v| format!("{v:.4}")),
                m.proposed_mean.map_or("-".to_string(), |v| format!("{v:.4}")),
                match (m.mean_diff, m.low, m.high) {
                    (Some(d), Some(lo), Some(hi)) => format!("{d:+.4} [{lo:+.4}, {hi:+.4}]"),
                    _ => "-".to_string(),
                },
                m.verdict.label()
            );
            if let Some(note) = &m.note {
                let _ = writeln!(out, "{:<16} {:<14} {note}", "", "");
            }
        }
        out.push('\n');
    }
    if !r.replay.is_empty() {
        let _ = writeln!(out, "seeds to look at:");
        for replay in r.replay.iter().take(5) {
            let _ = writeln!(out, "  {}    # {}: {}", replay.command, replay.load, replay.why.join(", "));
        }
    }
    out
}

/// The colour of a gate's or the overall verdict.
fn verdict_tone(v: GateVerdict) -> Tone {
    match v {
        GateVerdict::Pass | GateVerdict::Unchanged => Tone::Good,
        GateVerdict::Fail => Tone::Bad,
        GateVerdict::Inconclusive | GateVerdict::Ungated => Tone::Warn,
    }
}

/// `p` with its interval, in percent (`format::percent_interval`).
fn percent_interval_of(p: &stormcast::stats::Proportion) -> String {
    percent_interval(p.p, p.low, p.high)
}

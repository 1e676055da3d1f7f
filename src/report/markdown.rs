//! `report.md` of `compare`: a Markdown summary fit to paste into a pull request. The
//! verdict comes first, then the gates, the paired metrics per load, the risks side by
//! side, the charts and the commands that replay the seeds worth a look.
//!
//! Deterministic: the text depends only on the [`CompareResult`] and the arguments.

use std::fmt::Write;

use crate::compare::{CompareResult, GateKind, GateVerdict, PairedStat, RiskDifference};
use crate::format::{
    percent, percent_two_decimals, signed_percent_or_zero, signed_pp, signed_significant, significant,
};
use crate::stats::risk::Proportion;

/// At most this many replay commands are listed; the rest are in `compare.json`.
pub const REPLAY_LINES_MAX: usize = 10;

/// The Markdown report of a comparison. `base_label` and `proposed_label` name the two
/// configs (e.g. file names); `charts` are image paths relative to the report.
pub fn compare_report(result: &CompareResult, base_label: &str, proposed_label: &str, charts: &[&str]) -> String {
    report(result, base_label, proposed_label, charts, true)
}

/// `comment.md`: the report for a pull-request comment, where an image or a link with a
/// path relative to the report cannot render (it would resolve against the PR page):
/// the same text without images or links, and a line naming the charts and where they
/// are (the `--out` folder; in CI, the uploaded artifact).
pub fn compare_comment(result: &CompareResult, base_label: &str, proposed_label: &str, charts: &[&str]) -> String {
    report(result, base_label, proposed_label, charts, false)
}

fn report(result: &CompareResult, base_label: &str, proposed_label: &str, charts: &[&str], images: bool) -> String {
    let mut md = String::new();
    let total = result.gates.len();
    let failed = result.gates_with(GateVerdict::Fail);
    let heading = match result.verdict {
        GateVerdict::Unchanged => "## ➖ stormcast: the change alters nothing that is simulated".to_string(),
        GateVerdict::Ungated => "## ⚠️ stormcast: no gates set, nothing was judged".to_string(),
        GateVerdict::Pass => format!("## ✅ stormcast: this change passes all {total} gates"),
        GateVerdict::Fail => format!("## ❌ stormcast: this change fails {failed} of {total} gates"),
        GateVerdict::Inconclusive => match result.seeds_needed {
            Some(n) => format!("## ⚠️ stormcast: inconclusive: run about {n} seeds"),
            None => "## ⚠️ stormcast: inconclusive".to_string(),
        },
    };
    let _ = writeln!(md, "{heading}\n");
    let last = result.first_seed.wrapping_add(result.seeds.saturating_sub(1));
    let _ = writeln!(
        md,
        "Base `{}` vs proposed `{}`, on the same {} seeds ({}–{}): each seed gives both configs the same \
         arrivals, latencies and faults, so the differences below are paired per seed. {}.\n",
        base_label,
        proposed_label,
        result.seeds,
        result.first_seed,
        last,
        capitalise(&result.message),
    );
    if result.verdict == GateVerdict::Inconclusive {
        let _ =
            writeln!(md, "Inconclusive is not a pass: the seeds run could neither show the change safe nor unsafe.\n");
    }

    gates_table(&mut md, result);
    metrics_tables(&mut md, result);
    risks_table(&mut md, result);

    if !result.loads_only_in_base.is_empty() || !result.loads_only_in_proposed.is_empty() {
        let _ = writeln!(md, "### Loads in one config only (not paired)\n");
        for name in &result.loads_only_in_base {
            let _ = writeln!(md, "- `{name}`: base only");
        }
        for name in &result.loads_only_in_proposed {
            let _ = writeln!(md, "- `{name}`: proposed only");
        }
        md.push('\n');
    }

    if !charts.is_empty() && !images {
        let names: Vec<String> = charts.iter().map(|c| format!("`{c}`")).collect();
        let _ = writeln!(
            md,
            "The charts ({}), `report.md` with them and `compare.json` are in the `--out` folder of this \
             compare (in CI, its uploaded artifact).\n",
            names.join(", ")
        );
    }
    if !charts.is_empty() && images {
        let _ = writeln!(md, "### Charts\n");
        for chart in charts {
            let alt = chart.rsplit('/').next().unwrap_or(chart).rsplit_once('.').map_or(*chart, |(stem, _)| stem);
            let _ = writeln!(md, "![{alt}]({chart})");
        }
        md.push('\n');
    }

    replay_section(&mut md, result);

    let _ = writeln!(
        md,
        "<sub>Metrics: mean of per-seed differences (proposed − base), 95% Student t interval. \
         *better*/*worse*: the interval excludes 0; *no detectable difference*: it contains 0 and is narrower \
         than the practical margin (p99 ±2%, success rate ±0.5 pp, goodput ±1%, recovery ±1 bucket, \
         attempts ±0.02); else *inconclusive*. Risks: 95% Wilson intervals; their change: Newcombe's paired \
         method 10. A gate passes when its interval's upper end is within the limit and fails when its lower \
         end is above it. stormcast {}, base scenario {}, proposed scenario {}.</sub>",
        result.stormcast_version, result.base.scenario_hash, result.proposed.scenario_hash
    );
    md
}

fn gates_table(md: &mut String, result: &CompareResult) {
    let _ = writeln!(md, "### Gates\n");
    if result.gates.is_empty() {
        let _ = writeln!(md, "No gates are set (`[gates]` in the proposed scenario, or the command's flags).\n");
        return;
    }
    let _ = writeln!(md, "| gate | load | limit | estimate [95% interval] | verdict |");
    let _ = writeln!(md, "|---|---|---:|---|---|");
    for g in &result.gates {
        let show = |v: f64| match g.gate {
            GateKind::MaxSloRisk | GateKind::MaxMetastableRisk => percent(v),
            GateKind::MaxP99Increase => signed_percent_or_zero(v),
            GateKind::MaxSloRiskIncrease | GateKind::MaxMetastableRiskIncrease => signed_pp(v),
        };
        let estimate = match (g.value, g.low, g.high) {
            (Some(v), Some(l), Some(h)) => format!("{} [{}, {}]", show(v), show(l), show(h)),
            _ => "unknown".to_string(),
        };
        let verdict = match (g.verdict, g.seeds_needed) {
            (GateVerdict::Pass, _) => "✅ pass".to_string(),
            (GateVerdict::Fail, _) => "❌ fail".to_string(),
            (GateVerdict::Inconclusive, Some(n)) => format!("⚠️ inconclusive (~{n} seeds)"),
            (GateVerdict::Inconclusive, None) => "⚠️ inconclusive".to_string(),
            // Overall verdicts only; a gate is never judged so.
            (GateVerdict::Unchanged | GateVerdict::Ungated, _) => g.verdict.label().to_string(),
        };
        let limit = match g.gate {
            GateKind::MaxSloRisk | GateKind::MaxMetastableRisk => percent(g.limit),
            GateKind::MaxP99Increase => signed_percent_or_zero(g.limit),
            _ => signed_pp(g.limit),
        };
        let _ = writeln!(md, "| `{}` | {} | {} | {} | {} |", g.gate.key(), g.load, limit, estimate, verdict);
    }
    md.push('\n');
}

fn metrics_tables(md: &mut String, result: &CompareResult) {
    let _ = writeln!(md, "### Metrics, paired per seed (proposed − base)\n");
    if result.paired.is_empty() {
        let _ = writeln!(md, "No load is in both configs.\n");
        return;
    }
    let _ = writeln!(md, "| load | metric | base | proposed | difference [95% CI] | pairs | verdict |");
    let _ = writeln!(md, "|---|---|---:|---:|---|---:|---|");
    for load in &result.paired {
        let rows: [(&str, &PairedStat, Unit); 6] = [
            ("p99 (ms)", &load.p99_ms, Unit::Plain),
            ("p99 change", &load.p99_relative, Unit::Relative),
            ("success rate", &load.success_rate, Unit::Share),
            ("goodput (ok/s)", &load.goodput, Unit::Plain),
            ("recovery (s)", &load.recovery_s, Unit::Plain),
            ("attempts per request", &load.amplification, Unit::Plain),
        ];
        for (metric, stat, unit) in rows {
            let value = |v: Option<f64>| v.map_or_else(|| "–".to_string(), |v| unit.value(v));
            let diff = match (stat.mean_diff, stat.low, stat.high) {
                (Some(m), Some(l), Some(h)) => format!("{} [{}, {}]", unit.diff(m), unit.diff(l), unit.diff(h)),
                (Some(m), _, _) => format!("{} [no interval]", unit.diff(m)),
                _ => "–".to_string(),
            };
            let pairs =
                if stat.excluded > 0 { format!("{} ({} excluded)", stat.n, stat.excluded) } else { stat.n.to_string() };
            let mut verdict = match stat.seeds_needed {
                Some(n) => format!("{} (~{n} seeds)", stat.verdict.label()),
                None => stat.verdict.label().to_string(),
            };
            if let Some(note) = &stat.note {
                verdict = format!("{verdict}: {note}");
            }
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                load.name,
                metric,
                value(stat.base_mean),
                value(stat.proposed_mean),
                diff,
                pairs,
                verdict
            );
        }
    }
    let _ = writeln!(
        md,
        "\nExcluded pairs: seeds where either config had no ok request (p99) or did not recover (recovery). \
         A seed that never recovers is the worst recovery, not a missing value: when one config never recovers \
         on seeds where the other does, the recovery verdict is decided on those seeds.\n"
    );
}

fn risks_table(md: &mut String, result: &CompareResult) {
    let _ = writeln!(md, "### Risks across seeds\n");
    if result.risk_differences.is_empty() {
        let _ = writeln!(md, "No load is in both configs.\n");
        return;
    }
    let _ = writeln!(md, "| load | risk | base | proposed | change [95% CI] | seeds worse / better |");
    let _ = writeln!(md, "|---|---|---:|---:|---|---:|");
    let n = result.seeds;
    for r in &result.risk_differences {
        let rows: [(&str, &RiskDifference); 4] = [
            ("SLO violated", &r.slo_risk),
            ("never recovered", &r.metastable_risk),
            ("cascade", &r.cascade_risk),
            ("cascade on its call path", &r.path_cascade_risk),
        ];
        for (label, d) in rows {
            if label == "SLO violated" && !r.slo_defined {
                let _ = writeln!(md, "| {} | {} | no SLO | no SLO | – | – |", r.name, label);
                continue;
            }
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} [{}, {}] | {} / {} |",
                r.name,
                label,
                proportion(d.base, n),
                proportion(d.proposed, n),
                signed_pp(d.diff),
                signed_pp(d.low),
                signed_pp(d.high),
                d.proposed_only,
                d.base_only
            );
        }
    }
    md.push('\n');
}

fn replay_section(md: &mut String, result: &CompareResult) {
    if result.replay.is_empty() {
        return;
    }
    let _ = writeln!(md, "### Replay the proposed config on the seeds worth a look\n");
    let _ = writeln!(md, "```sh");
    for r in result.replay.iter().take(REPLAY_LINES_MAX) {
        let why: Vec<&str> = r
            .why
            .iter()
            .map(|w| match *w {
                "largest_p99_increase" => "largest p99 increase",
                "slo_violated_only_in_proposed" => "SLO violated only in proposed",
                "never_recovered_only_in_proposed" => "never recovered only in proposed",
                other => other,
            })
            .collect();
        let _ = writeln!(md, "{}   # {}: {}", r.command, r.load, why.join(", "));
    }
    let _ = writeln!(md, "```");
    if result.replay.len() > REPLAY_LINES_MAX {
        let _ = writeln!(md, "\n{} more in `compare.json`.", result.replay.len() - REPLAY_LINES_MAX);
    }
    let _ = writeln!(md, "\nThe base config on the same seed: `{} --seed N`.\n", result.base_replay_prefix);
}

#[derive(Copy, Clone)]
enum Unit {
    Plain,
    /// A share shown as a percentage, differences in percentage points.
    Share,
    /// A relative change, shown as a signed percentage.
    Relative,
}

impl Unit {
    fn value(self, v: f64) -> String {
        match self {
            Unit::Plain => significant(v),
            Unit::Share => percent_two_decimals(v),
            Unit::Relative => signed_percent_or_zero(v),
        }
    }

    fn diff(self, v: f64) -> String {
        match self {
            Unit::Plain => signed_significant(v),
            Unit::Share => format!("{} pp", signed_significant(v * 100.0)),
            Unit::Relative => signed_percent_or_zero(v),
        }
    }
}

fn proportion(p: Proportion, n: u64) -> String {
    let k = (p.p * n as f64).round() as u64;
    format!("{k}/{n} = {} [{}, {}]", percent(p.p), percent(p.low), percent(p.high))
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(significant(123.456), "123");
        assert_eq!(significant(12.34), "12.3");
        assert_eq!(significant(1.5), "1.5");
        assert_eq!(significant(0.0123), "0.012");
        assert_eq!(significant(0.0), "0");
        assert_eq!(signed_significant(2.0), "+2");
        assert_eq!(signed_significant(-2.0), "-2");
        assert_eq!(signed_pp(0.025), "+2.5 pp");
        assert_eq!(capitalise("fails 2 of 5 gates"), "Fails 2 of 5 gates");
    }
}

//! `rollout`: replay the delivery of a change (see `stormcast::rollout`).

use super::args::{Format, RolloutArgs};
use super::color::{Tone, paint};
use super::{Failure, chart_error, check_out, emit, load, progress_bar, refuse_stopped, table};
use std::fmt::Write as _;
use stormcast::compare::GateVerdict;
use stormcast::engine::SimDuration;
use stormcast::format::{check_value, decimals_by_size, shell_word, thousands};
use stormcast::report::json::to_json;
use stormcast::rollout::controller::{Outcome, Verdict};
use stormcast::rollout::many::RolloutReport;
use stormcast::rollout::summary::RolloutSummary;

pub fn rollout(args: RolloutArgs) -> Result<(), Failure> {
    let base = load(&args.base)?;
    let proposed_path = args.proposed.as_deref().unwrap_or(&args.base);
    let proposed = args.overlay.load(proposed_path)?;
    let mut strategy =
        stormcast::scenario::strategy::load_strategy_file(&args.strategy).map_err(|e| Failure::input(e.to_string()))?;
    if let Some(start) = &args.start {
        strategy.start = SimDuration::parse(start)
            .map_err(|e| Failure::input(format!("error: bad duration `{start}` for --start: {e}")))?;
    }
    let sc = stormcast::rollout::combine(&base, &proposed, &strategy).map_err(|e| Failure::input(e.to_string()))?;
    let estimate = args.limits.check(&sc)?;
    for warning in stormcast::rollout::lint::lint(&sc, sc.rollout.as_deref().expect("combined with a plan")) {
        super::color::eprint_message(&format!("warning: {warning}"));
    }
    let out = check_out(args.out.as_deref())?;
    let prefix = replay_prefix(&args);
    let Some(seeds) = args.seeds else {
        let seed = args.seed.unwrap_or(sc.simulation.seed);
        let result = stormcast::sim::simulate_bounded(&sc, seed, args.limits.cap());
        if let Some(stopped) = &result.stopped {
            return Err(refuse_stopped(&sc.source, seed, stopped));
        }
        if let Some(out) = &out {
            let replay = format!("{prefix} --seed {seed}");
            out.write(&stormcast::report::files::rollout_run_files(&result, &sc, &replay).map_err(chart_error)?)?;
        }
        let rollout = result.rollout.as_ref().expect("a rollout scenario's run has a rollout");
        match args.format {
            Format::Table => emit(&format!("{}\n{}", table::run_table(&result), rollout_table(rollout))),
            Format::Json => emit(&to_json(&result)),
        }
        return Ok(());
    };
    args.limits.check_total(estimate, seeds, "this rollout")?;
    let opts = args.seeding.options(seeds, &sc, &args.limits)?;
    let bar = progress_bar(seeds, args.seeding.quiet, "rollout");
    let plan = sc.rollout.as_deref().expect("combined with a plan");
    let runs =
        stormcast::rollout::many::run_seeds(&sc, opts.first_seed, seeds, opts.jobs, args.limits.cap(), &|| bar.inc(1));
    bar.finish_and_clear();
    let runs = runs.map_err(|(seed, stopped)| refuse_stopped(&sc.source, seed, &stopped))?;
    let report = RolloutReport::new(&sc, plan, opts.first_seed, runs, &prefix);
    if let Some(out) = &out {
        out.write(&stormcast::report::files::rollout_files(&report, &sc).map_err(chart_error)?)?;
    }
    match args.format {
        Format::Table => emit(&report_table(&report)),
        Format::Json => emit(&to_json(&report)),
    }
    match report.exit_code(args.allow_ungated) {
        0 => Ok(()),
        code => Err(Failure { code: code as u8, message: String::new() }),
    }
}

/// `stormcast rollout BASE [PROPOSED] [--change F]... [--set K=V]... --strategy FILE
/// [--start D]`: the command that replays a seed with ` --seed N` appended.
fn replay_prefix(args: &RolloutArgs) -> String {
    let mut words = vec!["stormcast".to_string(), "rollout".to_string(), shell_word(&args.base.display().to_string())];
    if let Some(p) = &args.proposed {
        words.push(shell_word(&p.display().to_string()));
    }
    words.extend(args.overlay.option_words(&[]));
    words.push("--strategy".to_string());
    words.push(shell_word(&args.strategy.display().to_string()));
    if let Some(start) = &args.start {
        words.push("--start".to_string());
        words.push(shell_word(start));
    }
    words.join(" ")
}

fn outcome_text(o: Outcome) -> String {
    match o {
        Outcome::Promoted => paint(Tone::Good, "PROMOTED"),
        Outcome::RolledBack => paint(Tone::Bad, "ROLLED BACK"),
        Outcome::Unfinished => paint(Tone::Warn, "UNFINISHED"),
    }
}

/// One seed's rollout, below the run table: the decision, then every check.
pub fn rollout_table(r: &RolloutSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "rollout of {} ({} style, {}) from {} s: {}{}",
        r.service,
        r.style,
        r.strategy,
        r.start_s,
        outcome_text(r.outcome),
        r.decided_s.map_or(String::new(), |d| format!(" at {d} s"))
    );
    let _ = writeln!(out, "  {}", r.reason);
    let _ = writeln!(out, "  {} requests served by the canary ({})", thousands(r.exposed_requests), r.canary);
    for l in &r.loads {
        let breach =
            l.slo_breached_s.map_or("SLO not breached".to_string(), |s| format!("SLO first breached at {s} s"));
        let caught = if l.caught_before_breach { ", caught before any breach" } else { "" };
        let _ = writeln!(out, "  load {}: {breach}{caught}", l.load);
    }
    if !r.checks.is_empty() {
        let _ =
            writeln!(out, "\n{:>9} {:>6}  {:<24} {:>12} {:>12}  result", "at s", "weight", "check", "canary", "stable");
        for c in &r.checks {
            let name = match &c.analysis {
                Some(a) => format!("{a}/{}", c.check),
                None => c.check.clone(),
            };
            let show = |v: Option<f64>| check_value(c.metric, v);
            let result = match c.result {
                Verdict::Pass => paint(Tone::Good, "pass"),
                Verdict::Fail => paint(Tone::Bad, "FAIL"),
                Verdict::Inconclusive => paint(Tone::Warn, "inconclusive"),
            };
            let _ = writeln!(
                out,
                "{:>9} {:>5}%  {:<24} {:>12} {:>12}  {result}",
                c.at_s,
                c.weight,
                name,
                show(c.value),
                show(c.stable)
            );
        }
    }
    out
}

/// The rollout over seeds: shares, per-load SLO protection, timing, expectations.
pub fn report_table(r: &RolloutReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "rollout of {} ({} style, {}) from {} s, {} seeds from {}\n",
        r.service, r.style, r.strategy, r.start_s, r.seeds, r.first_seed
    );
    let share = |p: &stormcast::stats::Proportion| {
        format!("{:>6.1}%  [{:.1}%, {:.1}%]", p.p * 100.0, p.low * 100.0, p.high * 100.0)
    };
    let _ = writeln!(out, "  rolled back  {}", share(&r.rolled_back));
    let _ = writeln!(out, "  promoted     {}", share(&r.promoted));
    let _ = writeln!(out, "  unfinished   {}", share(&r.unfinished));
    for (name, l) in &r.loads {
        let _ = writeln!(
            out,
            "  load {name}: SLO breached in {}, caught before a breach in {}",
            share(&l.slo_breached).trim_start(),
            share(&l.caught_before_breach).trim_start()
        );
    }
    let spread = |label: &str, s: &Option<stormcast::stats::Distribution>, unit: &str| match s {
        Some(s) => {
            let v = |x: f64| format!("{}{unit}", decimals_by_size(x));
            format!(
                "  {label}: median {}, p95 {}, {} to {} ({} seeds)\n",
                v(s.median),
                v(s.p95),
                v(s.min),
                v(s.max),
                s.n
            )
        }
        None => String::new(),
    };
    out.push_str(&spread("rolled back after", &r.detection_s, " s"));
    out.push_str(&spread("promoted after", &r.promotion_s, " s"));
    out.push_str(&spread("requests served by the canary", &r.exposed_requests, ""));
    if !r.expect.is_empty() {
        let _ = writeln!(out, "\nexpectations:");
        for e in &r.expect {
            let verdict = verdict_text(e.verdict);
            let load = e.load.as_ref().map_or(String::new(), |l| format!(" ({l})"));
            let _ = writeln!(out, "  {verdict:<12} {} = {}{load}: {}", e.key, e.threshold, e.reason);
        }
    }
    let _ = writeln!(out, "\nverdict: {}: {}", verdict_text(r.verdict), r.verdict_reason);
    if !r.replay.is_empty() {
        let _ = writeln!(out, "\nseeds worth a look:");
        for x in &r.replay {
            let _ = writeln!(out, "  {}  # {}", x.command, x.why);
        }
    }
    out
}

fn verdict_text(v: GateVerdict) -> String {
    match v {
        GateVerdict::Pass => paint(Tone::Good, "PASS"),
        GateVerdict::Fail => paint(Tone::Bad, "FAIL"),
        GateVerdict::Inconclusive => paint(Tone::Warn, "INCONCLUSIVE"),
        GateVerdict::Ungated => paint(Tone::Warn, "UNASSERTED"),
        GateVerdict::Unchanged => "UNCHANGED".to_string(),
    }
}

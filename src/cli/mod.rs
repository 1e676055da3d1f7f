//! Command-line interface: clap commands, terminal tables and progress bars. Only the
//! binary uses this module; the library never prints.

mod output;
mod table;

use clap::{Parser, Subcommand, ValueEnum};
use output::OutDir;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use stormcast::format::{bytes, shell_word};
use stormcast::model::Scenario;
use stormcast::sweep::VaryParam;

const AFTER_HELP: &str = "\
Examples:
  stormcast run scenarios/checkout.toml --out out/checkout     table on stdout; JSON, CSV and charts in out/
  stormcast sweep scenarios/retry-storm.toml --seeds 200      risks across seeds with 95% intervals
  stormcast check scenarios/checkout.toml                     validate (located errors, exit 2 if invalid)
  stormcast graph scenarios/checkout.toml --format png > g.png   (or: | dot -Tpng > g.png)

Exit codes: 0 success; 1 compare: a gate failed or was undecided, or no gate was set; 2 bad input or usage.
Same scenario and seed give byte-identical output on any machine and thread count.
Concepts (load, attempt, call, goodput, recovery, metastable, health, cascade): docs/concepts.md;
scenario keys: docs/scenario-format.md; output fields: docs/outputs.md.";

/// Predicts whether a change to a microservice platform makes an outage spread.
///
/// stormcast replays a service topology and its resilience config (timeouts, retries,
/// budgets, circuit breakers, bulkheads) described in TOML, under load spikes and
/// faults, deterministically: the same scenario and seed give byte-identical output.
#[derive(Parser, Debug)]
#[command(name = "stormcast", version, propagate_version = true, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Simulate a scenario once, at one seed, and report per load and per service.
    Run(RunArgs),
    /// Run many seeds in parallel and report the risks: SLO violated, never recovered
    /// (metastable), cascade, each with a 95% Wilson interval.
    Sweep(SweepArgs),
    /// Run a base and a proposed config on the same seeds, pair them, and gate: exit 0
    /// if every gate passes (or the configs simulate alike), 1 if one fails, the seeds
    /// cannot decide, or no gate is set, 2 on bad input.
    Compare(CompareArgs),
    /// Validate a scenario (exit 0 if valid, 2 with located errors if not) and warn
    /// about static risks: retry amplification, retries at several layers, timeouts
    /// that grow down the stack, retries without a budget or with one that cannot
    /// bind, unbounded backoff, breakers that cannot open. With --expect, also run the
    /// scenario's [[expect]] claims.
    Check {
        /// The scenario file (TOML).
        scenario: PathBuf,
        #[command(flatten)]
        overlay: Overlay,
        /// Also run the scenario's `[[expect]]` claims and check each against the output
        /// it names (exit 1 if one does not hold).
        #[arg(long)]
        expect: bool,
        /// Print every warning; by default at most 5 of each kind, then a count.
        #[arg(long)]
        all_warnings: bool,
        #[command(flatten)]
        limits: Limits,
    },
    /// Print the topology: Graphviz DOT (pipe into `dot -Tpng`), or a picture drawn
    /// without Graphviz (`--format svg` or `png`, the bytes on stdout: redirect them
    /// into a file).
    Graph {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// dot: Graphviz source (the default, as before); svg, png: a layered picture of
        /// the call graph (loads on the left, services by call depth, faults in red).
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
}

/// Default `--max-events`: a few minutes of CPU per run at the engine's ~8 million
/// events per second.
const DEFAULT_MAX_EVENTS: f64 = 2e9;
/// Default `--max-total-events`: every run of one command together, about three hours
/// of CPU on one core.
const DEFAULT_MAX_TOTAL_EVENTS: f64 = 1e11;
/// Default `--max-memory`: bytes one run may be estimated to need (a sweep runs one
/// per thread at a time; the examples need a few megabytes).
const DEFAULT_MAX_MEMORY: f64 = 2e9;
/// `--vary` points (all combinations of its values) one command may run.
const MAX_VARY_POINTS: u64 = 10_000;

/// A limit given on the command line: a finite number, at least 1.
fn positive_limit(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 1.0 => Ok(v),
        _ => Err(format!("`{text}` is not a limit: give a finite number >= 1, e.g. 2e9")),
    }
}

/// Guards against scenarios that would run for hours (or forever), or take gigabytes,
/// because of a typo: each run's estimate before anything runs, the whole command's
/// total, and each run itself (stopped where it passes the limit).
#[derive(clap::Args, Debug)]
struct Limits {
    /// Refuse a run whose estimated events exceed this (per seed), and stop a run that
    /// gets there. The default is a few minutes of CPU; raise it for long studies.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_EVENTS, value_parser = positive_limit)]
    max_events: f64,
    /// Refuse a command whose runs together (seeds x --vary points x configs) are
    /// estimated above this many events (default: about three hours of CPU).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_TOTAL_EVENTS, value_parser = positive_limit)]
    max_total_events: f64,
    /// Refuse a run whose memory is estimated above this many bytes (per run; a sweep
    /// runs one per thread at a time).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_MEMORY, value_parser = positive_limit)]
    max_memory: f64,
}

impl Limits {
    /// Refuses, before any work, a scenario whose estimated events or memory exceed the
    /// limits; returns the event estimate.
    fn check(&self, scenario: &Scenario) -> Result<f64, Failure> {
        self.estimates(scenario).map(|(events, _)| events)
    }

    /// [`Limits::check`], returning both estimates: one run's events and memory bytes.
    fn estimates(&self, scenario: &Scenario) -> Result<(f64, f64), Failure> {
        let estimate = stormcast::sim::estimate::estimated_events(scenario);
        if estimate.is_nan() || estimate > self.max_events {
            let what = if estimate.is_finite() {
                format!("about {estimate:.2e} events")
            } else if estimated_open_loop_overflows(scenario) {
                "more events than can be counted (a load's rate times the duration overflows)".to_string()
            } else {
                "an unbounded number of events (closed-loop users who send again at once, while their requests can fail at once, loop at one instant)".to_string()
            };
            let anyway = if estimate.is_finite() {
                format!("to run it anyway, pass --max-events {:.0e}", (estimate * 1.5).max(self.max_events))
            } else {
                "no --max-events can run it".to_string()
            };
            return Err(Failure::input(format!(
                "error: {}: one run would take {what}, above --max-events {:.2e} (a few minutes of CPU at ~8 million events/s)\n  = help: check rates, users, think times and durations for a typo; {anyway}",
                scenario.source, self.max_events,
            )));
        }
        let memory = stormcast::sim::estimate::estimated_memory_bytes(scenario);
        if memory.is_nan() || memory > self.max_memory {
            return Err(Failure::input(format!(
                "error: {}: one run would need about {} of memory, above --max-memory {} (time buckets, instances, client state and queued requests)\n  = help: check the bucket size, instance counts, breaker windows and unbounded queues under heavy load; to run it anyway, pass --max-memory {:.0e}",
                scenario.source,
                bytes(memory),
                bytes(self.max_memory),
                (memory * 1.5).max(self.max_memory),
            )));
        }
        Ok((estimate, memory))
    }

    /// Refuses a command whose runs together are estimated above `--max-total-events`:
    /// `per_seed` is the sum of one seed's estimates over its points and configs.
    fn check_total(&self, per_seed: f64, seeds: u64, what: &str) -> Result<(), Failure> {
        let total = per_seed * seeds as f64;
        if total.is_nan() || total > self.max_total_events {
            return Err(Failure::input(format!(
                "error: {what} would take about {total:.2e} events in all ({seeds} seeds), above --max-total-events {:.2e} (about {:.0} hours of CPU at ~8 million events/s)\n  = help: fewer seeds or --vary values; to run it anyway, pass --max-total-events {:.0e}",
                self.max_total_events,
                total / 8e6 / 3600.0,
                total * 1.5,
            )));
        }
        Ok(())
    }

    /// The event budget a run is stopped at.
    fn cap(&self) -> u64 {
        self.max_events as u64
    }
}

/// Some open-loop load's requests (rate x duration, at any step of its profile) are
/// beyond an `f64`: the cause of an infinite estimate other than a closed loop.
fn estimated_open_loop_overflows(scenario: &Scenario) -> bool {
    let duration_s = scenario.simulation.duration.as_secs_f64();
    scenario.loads.iter().any(|l| match &l.kind {
        stormcast::model::LoadKind::Open { rate, profile, .. } => {
            profile.iter().map(|&(_, r)| r).chain([*rate]).any(|r| !(r * duration_s).is_finite())
        }
        stormcast::model::LoadKind::Closed { .. } => false,
    })
}

/// A run stopped before its end is not a result: exit 2 with where and why.
fn refuse_stopped(source: &str, seed: u64, stopped: &stormcast::stats::summary::Stopped) -> Failure {
    Failure::input(format!(
        "error: {source}: the run of seed {seed} was stopped after {} events at {} s of simulated time: {}\n  = help: nothing was written; look for closed-loop users with no think time, or raise --max-events",
        stopped.events, stopped.at_s, stopped.reason
    ))
}

/// Writes to stdout; a reader that went away (`stormcast graph big.toml | head -1`)
/// ends the program quietly with success, as Unix tools do, instead of a panic.
fn emit(text: &str) {
    emit_bytes(text.as_bytes());
}

/// `emit` for bytes that need not be text (a PNG).
fn emit_bytes(bytes: &[u8]) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(2);
    }
}

/// A proposed change, expressed over the base scenario.
#[derive(clap::Args, Debug, Default)]
struct Overlay {
    /// A partial scenario merged over the base (tables key by key; scalars and arrays
    /// replaced; `[[append.fault]]` etc. add to arrays). Repeatable, applied in order.
    #[arg(long = "change", value_name = "FILE")]
    changes: Vec<PathBuf>,
    /// Set one key, e.g. `--set services.payment.instances=6` or
    /// `--set policies.p.timeout=300ms`. Repeatable, applied after the changes.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
}

impl Overlay {
    fn load(&self, path: &Path) -> Result<Scenario, Failure> {
        self.load_with(path, &[])
    }

    fn load_with(&self, path: &Path, extra_sets: &[String]) -> Result<Scenario, Failure> {
        let sets: Vec<String> = self.sets.iter().chain(extra_sets).cloned().collect();
        stormcast::scenario::load_with_changes(path, &self.changes, &sets).map_err(|e| Failure::input(e.to_string()))
    }

    /// The command line that replays one seed of this configuration.
    fn replay_prefix(&self, path: &Path, extra_sets: &[String]) -> String {
        let mut words = vec!["stormcast".to_string(), "run".to_string(), shell_word(&path.display().to_string())];
        for change in &self.changes {
            words.push("--change".to_string());
            words.push(shell_word(&change.display().to_string()));
        }
        for set in self.sets.iter().chain(extra_sets) {
            words.push("--set".to_string());
            words.push(shell_word(set));
        }
        words.join(" ")
    }
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    #[command(flatten)]
    overlay: Overlay,
    /// Seed of the random streams (default: `[simulation] seed`, else 1).
    #[arg(long)]
    seed: Option<u64>,
    /// Write summary.json, timeseries.csv and charts (run.png, run.svg) into DIR.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    #[command(flatten)]
    limits: Limits,
}

#[derive(clap::Args, Debug)]
struct SweepArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    #[command(flatten)]
    overlay: Overlay,
    /// Capacity planning: repeat the sweep for each value of a key, e.g.
    /// `--vary services.api.instances=2..6` or `--vary load.0.rate=500..2000:250`
    /// (START..END inclusive, STEP default 1). At most two; with two, every pair.
    #[arg(long, value_name = "KEY=START..END[:STEP]")]
    vary: Vec<String>,
    /// With --vary: the risk threshold for the tipping point (the first value whose
    /// risk interval lies entirely below it).
    #[arg(long, default_value_t = 0.05, value_name = "P")]
    threshold: f64,
    /// How many seeds to run.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    seeds: u64,
    #[command(flatten)]
    seeding: Seeding,
    /// Write sweep.json and charts (fan, risk, recovery; PNG and SVG) into DIR.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    limits: Limits,
}

/// How many-seed commands pick and spread their seeds.
#[derive(clap::Args, Debug)]
struct Seeding {
    /// The first seed (default: the (base) scenario's `[simulation] seed`); seeds are
    /// consecutive.
    #[arg(long)]
    first_seed: Option<u64>,
    /// Worker threads (default: one per core). The results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

impl Seeding {
    /// The sweep options; seeds past `u64::MAX` are refused rather than wrapped.
    fn options(
        &self,
        seeds: u64,
        scenario: &Scenario,
        limits: &Limits,
    ) -> Result<stormcast::sweep::SweepOptions, Failure> {
        let first = self.first_seed.unwrap_or(scenario.simulation.seed);
        if first.checked_add(seeds - 1).is_none() {
            return Err(Failure::input(format!(
                "error: seeds {first} .. {first} + {seeds} - 1 run past the largest seed ({}); pass a smaller --first-seed",
                u64::MAX
            )));
        }
        let mut opts = stormcast::sweep::SweepOptions::new(seeds, first);
        opts.jobs = self.jobs.map(|j| j as usize);
        opts.max_events = Some(limits.cap());
        Ok(opts)
    }
}

#[derive(clap::Args, Debug)]
struct CompareArgs {
    /// The base scenario (what is deployed today).
    base: PathBuf,
    /// The proposed scenario; without it, the base with --change/--set applied.
    proposed: Option<PathBuf>,
    /// Changes applied to the proposed config (to PROPOSED if given, else to BASE).
    #[command(flatten)]
    overlay: Overlay,
    /// How many seeds each config runs (the same seeds for both).
    #[arg(long, value_parser = clap::value_parser!(u64).range(2..=1_000_000))]
    seeds: u64,
    #[command(flatten)]
    seeding: Seeding,
    /// Write compare.json, report.md and charts into DIR.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Gate: the proposed config's P(SLO violated) must be at most this (overrides [gates]).
    #[arg(long, value_name = "P")]
    max_slo_risk: Option<f64>,
    /// Gate: proposed minus base P(SLO violated), paired over seeds.
    #[arg(long, value_name = "P")]
    max_slo_risk_increase: Option<f64>,
    /// Gate: relative p99 increase, paired over seeds (0.10 = +10%).
    #[arg(long, value_name = "R")]
    max_p99_increase: Option<f64>,
    /// Gate: the proposed config's P(never recovers).
    #[arg(long, value_name = "P")]
    max_metastable_risk: Option<f64>,
    /// Gate: proposed minus base P(never recovers), paired over seeds.
    #[arg(long, value_name = "P")]
    max_metastable_risk_increase: Option<f64>,
    /// Exit 0 when no gate is set (the verdict stays `ungated`, never `pass`). Without
    /// it, a compare with no gates exits 1: it judged nothing.
    #[arg(long)]
    allow_ungated: bool,
    #[command(flatten)]
    limits: Limits,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// A readable table per load and per service.
    Table,
    /// summary.json on stdout.
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum GraphFormat {
    /// Graphviz DOT source.
    Dot,
    /// An SVG picture, drawn by stormcast.
    Svg,
    /// A PNG picture, drawn by stormcast.
    Png,
}

/// A failure with its exit code. Messages are complete; main prints them as they are.
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn input(message: impl Into<String>) -> Failure {
        Failure { code: 2, message: message.into() }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Ctrl-C stops at once, except while outputs are being written: see output::on_interrupt.
    let _ = ctrlc::set_handler(output::on_interrupt);
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Sweep(args) => sweep(args),
        Command::Compare(args) => compare(args),
        Command::Check { scenario, overlay, expect, all_warnings, limits } => {
            check(&scenario, &overlay, &limits, expect, all_warnings)
        }
        Command::Graph { scenario, format } => graph(&scenario, format),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if !f.message.is_empty() {
                eprintln!("{}", f.message.trim_end());
            }
            ExitCode::from(f.code)
        }
    }
}

fn load(path: &Path) -> Result<Scenario, Failure> {
    stormcast::scenario::load_file(path).map_err(|e| Failure::input(e.to_string()))
}

fn run(args: RunArgs) -> Result<(), Failure> {
    let scenario = args.overlay.load(&args.scenario)?;
    args.limits.check(&scenario)?;
    let out = check_out(args.out.as_deref())?;
    let seed = args.seed.unwrap_or(scenario.simulation.seed);
    let result = stormcast::sim::simulate_bounded(&scenario, seed, args.limits.cap());
    if let Some(stopped) = &result.stopped {
        return Err(refuse_stopped(&scenario.source, seed, stopped));
    }
    if let Some(out) = &out {
        out.write(&stormcast::report::files::run_files(&result).map_err(chart_error)?)?;
    }
    match args.format {
        Format::Table => emit(&table::run_table(&result)),
        Format::Json => emit(&stormcast::report::json::to_json(&result)),
    }
    Ok(())
}

fn chart_error(e: stormcast::report::chart::ChartError) -> Failure {
    Failure::input(format!("error: chart: {e}"))
}

/// A progress bar on stderr with an ETA; hidden under `--quiet` and when stderr is not
/// a terminal (indicatif checks), so pipes and CI logs stay clean.
fn progress_bar(len: u64, quiet: bool, what: &str) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    let style = indicatif::ProgressStyle::with_template(
        "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} seeds ({per_sec}, ETA {eta})",
    )
    .expect("valid template");
    bar.set_style(style);
    bar.set_prefix(what.to_string());
    bar
}

fn sweep(args: SweepArgs) -> Result<(), Failure> {
    if !args.vary.is_empty() {
        return vary(args);
    }
    let scenario = args.overlay.load(&args.scenario)?;
    let estimate = args.limits.check(&scenario)?;
    args.limits.check_total(estimate, args.seeds, "this sweep")?;
    let out = check_out(args.out.as_deref())?;
    let mut opts = args.seeding.options(args.seeds, &scenario, &args.limits)?;
    opts.replay_prefix = Some(args.overlay.replay_prefix(&args.scenario, &[]));
    let bar = progress_bar(args.seeds, args.seeding.quiet, "sweep");
    let result = stormcast::sweep::run_sweep(&scenario, &opts, &|| bar.inc(1));
    bar.finish_and_clear();
    if let Some(s) = result.stopped.first() {
        return Err(refuse_stopped(&scenario.source, s.seed, &s.stopped));
    }
    if let Some(out) = &out {
        out.write(&stormcast::report::files::sweep_files(&result).map_err(chart_error)?)?;
    }
    emit(&table::sweep_table(&result));
    Ok(())
}

/// One `--vary KEY=START..END[:STEP]`: the key and its values, as `--set` strings.
fn parse_vary(spec: &str) -> Result<(String, Vec<String>), Failure> {
    let usage = || {
        Failure::input(format!(
            "error: --vary {spec}: expected KEY=START..END[:STEP], e.g. services.api.instances=2..6 or load.0.rate=500..2000:250"
        ))
    };
    let (key, range) = spec.split_once('=').ok_or_else(usage)?;
    let (range, step) = match range.split_once(':') {
        Some((r, s)) => (r, Some(s)),
        None => (range, None),
    };
    let (start, end) = range.split_once("..").ok_or_else(usage)?;
    let integers = [Some(start), Some(end), step].iter().flatten().all(|v| v.trim().parse::<i64>().is_ok());
    let number = |v: &str| v.trim().parse::<f64>().ok().filter(|x| x.is_finite());
    let (a, b) = (number(start).ok_or_else(usage)?, number(end).ok_or_else(usage)?);
    let step = match step {
        Some(s) => number(s).ok_or_else(usage)?,
        None => 1.0,
    };
    if step <= 0.0 || b < a {
        return Err(Failure::input(format!("error: --vary {spec}: END must be >= START and STEP > 0")));
    }
    // Counted as a float first: a tiny step or a huge range must not overflow.
    let count = ((b - a) / step + 1e-9).floor() + 1.0;
    if count.is_nan() || count > 1000.0 {
        return Err(Failure::input(format!("error: --vary {spec}: {count:.3e} values; at most 1000")));
    }
    let count = count as u64;
    let values = (0..count)
        .map(|i| {
            let v = a + step * i as f64;
            if integers { format!("{}", v.round() as i64) } else { format!("{}", (v * 1e9).round() / 1e9) }
        })
        .collect();
    Ok((key.trim().to_string(), values))
}

fn vary(args: SweepArgs) -> Result<(), Failure> {
    if args.vary.len() > 2 {
        return Err(Failure::input("error: --vary takes one or two keys"));
    }
    let axes: Vec<(String, Vec<String>)> = args.vary.iter().map(|v| parse_vary(v)).collect::<Result<_, _>>()?;
    let points: u64 = axes.iter().map(|(_, values)| values.len() as u64).product();
    if points > MAX_VARY_POINTS {
        return Err(Failure::input(format!(
            "error: --vary: {points} points ({}); at most {MAX_VARY_POINTS} in one command\n  = help: use a coarser STEP, or split the range over several commands",
            axes.iter().map(|(k, v)| format!("{} values of {k}", v.len())).collect::<Vec<_>>().join(" x ")
        )));
    }
    // Every combination, the first key varying slowest.
    let mut combos: Vec<Vec<VaryParam>> = vec![Vec::new()];
    for (key, values) in &axes {
        combos = combos
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut c = prefix.clone();
                    c.push(VaryParam { key: key.clone(), value: v.clone() });
                    c
                })
            })
            .collect();
    }
    // Each point is its parameters (its label is derived from them), made by their
    // `key=value` as `--set` options.
    let points: Vec<(Vec<VaryParam>, Scenario)> = combos
        .into_iter()
        .map(|params| {
            let sets: Vec<String> = params.iter().map(VaryParam::to_string).collect();
            let scenario = args.overlay.load_with(&args.scenario, &sets)?;
            Ok((params, scenario))
        })
        .collect::<Result<_, Failure>>()?;
    let mut per_seed = 0.0;
    for (_, scenario) in &points {
        per_seed += args.limits.check(scenario)?;
    }
    args.limits.check_total(per_seed, args.seeds, &format!("this --vary over {} points", points.len()))?;
    let out = check_out(args.out.as_deref())?;
    let opts = args.seeding.options(args.seeds, &points[0].1, &args.limits)?;
    let bar = progress_bar(args.seeds * points.len() as u64, args.seeding.quiet, "vary");
    let result = stormcast::sweep::run_vary(&points, &opts, &|| bar.inc(1));
    bar.finish_and_clear();
    for (point, (_, scenario)) in result.points.iter().zip(&points) {
        if let Some(s) = point.stopped.first() {
            return Err(refuse_stopped(&format!("{} ({})", scenario.source, point.label), s.seed, &s.stopped));
        }
    }
    if let Some(out) = &out {
        out.write(&stormcast::report::files::vary_files(&result, Some(args.threshold)).map_err(chart_error)?)?;
    }
    emit(&table::vary_table(&result, args.threshold));
    Ok(())
}

fn compare(args: CompareArgs) -> Result<(), Failure> {
    let base = load(&args.base)?;
    let proposed_path = args.proposed.as_deref().unwrap_or(&args.base);
    let proposed = args.overlay.load(proposed_path)?;
    let per_seed = args.limits.check(&base)? + args.limits.check(&proposed)?;
    args.limits.check_total(per_seed, args.seeds, "this compare (both configs)")?;
    let out = check_out(args.out.as_deref())?;
    let mut gates = stormcast::compare::proposed_gates(&proposed);
    let overrides = [
        (&mut gates.max_slo_risk, args.max_slo_risk, "--max-slo-risk"),
        (&mut gates.max_slo_risk_increase, args.max_slo_risk_increase, "--max-slo-risk-increase"),
        (&mut gates.max_p99_increase, args.max_p99_increase, "--max-p99-increase"),
        (&mut gates.max_metastable_risk, args.max_metastable_risk, "--max-metastable-risk"),
        (&mut gates.max_metastable_risk_increase, args.max_metastable_risk_increase, "--max-metastable-risk-increase"),
    ];
    for (gate, value, flag) in overrides {
        if let Some(v) = value {
            if !v.is_finite() || v < 0.0 {
                return Err(Failure::input(format!("error: {flag} must be a finite number >= 0, got {v}")));
            }
            *gate = Some(v);
        }
    }
    let mut opts = args.seeding.options(args.seeds, &base, &args.limits)?;
    let base_prefix = Overlay::default().replay_prefix(&args.base, &[]);
    let proposed_prefix = args.overlay.replay_prefix(proposed_path, &[]);
    opts.replay_prefix = Some(proposed_prefix.clone());
    let bar = progress_bar(2 * args.seeds, args.seeding.quiet, "compare");
    let mut result = stormcast::compare::run_compare(&base, &proposed, &opts, &gates, &|| bar.inc(1));
    bar.finish_and_clear();
    for (sweep, source) in [(&result.base, &base.source), (&result.proposed, &proposed.source)] {
        if let Some(s) = sweep.stopped.first() {
            return Err(refuse_stopped(source, s.seed, &s.stopped));
        }
    }
    result.set_replay_prefixes(&base_prefix, &proposed_prefix);
    let base_label = args.base.display().to_string();
    let proposed_label = match (&args.proposed, args.overlay.changes.is_empty() && args.overlay.sets.is_empty()) {
        (Some(p), true) => p.display().to_string(),
        _ => proposed_prefix.trim_start_matches("stormcast run ").to_string(),
    };
    if let Some(out) = &out {
        let files =
            stormcast::report::files::compare_files(&result, &base_label, &proposed_label).map_err(chart_error)?;
        out.write(&files)?;
    }
    emit(&table::compare_table(&result));
    match result.exit_code(args.allow_ungated) {
        0 => Ok(()),
        code => Err(Failure { code: code as u8, message: String::new() }),
    }
}

/// Refuses an `--out` that cannot be written or that another command is writing into,
/// before any simulation: after the scenario is validated and its size accepted (so bad
/// input creates no folder), and before the work whose results would otherwise be lost
/// at the end. The folder stays locked until the command exits.
fn check_out(out: Option<&Path>) -> Result<Option<OutDir>, Failure> {
    out.map(OutDir::open).transpose()
}

/// Warnings of one kind printed before the rest are counted instead.
const WARNINGS_PER_KIND: usize = 5;

fn check(path: &Path, overlay: &Overlay, limits: &Limits, expect: bool, all_warnings: bool) -> Result<(), Failure> {
    let s = overlay.load(path)?;
    // What `run` would refuse, `check` refuses too, with the same message.
    let (events, memory) = limits.estimates(&s)?;
    let endpoints: usize = s.services.iter().map(|s| s.endpoints.len()).sum();
    emit(&format!(
        "ok: {}: {} services, {} endpoints, {} policies, {} loads, {} faults; one run: about {events:.2e} events, {}\n",
        path.display(),
        s.services.len(),
        endpoints,
        s.policies.len(),
        s.loads.len(),
        s.faults.len(),
        bytes(memory),
    ));
    // With a change, say which warnings it brings in and which the base had already.
    let changed = !(overlay.changes.is_empty() && overlay.sets.is_empty());
    let base_lints: Vec<String> = if changed {
        stormcast::model::lint::lint(&load(path)?).iter().map(|l| l.to_string()).collect()
    } else {
        Vec::new()
    };
    let lints = stormcast::model::lint::lint(&s);
    let mut shown: Vec<(stormcast::model::lint::LintKind, usize)> = Vec::new();
    for l in &lints {
        let seen = match shown.iter_mut().find(|(k, _)| *k == l.kind) {
            Some((_, n)) => n,
            None => {
                shown.push((l.kind, 0));
                &mut shown.last_mut().expect("just pushed").1
            }
        };
        *seen += 1;
        if !all_warnings && *seen > WARNINGS_PER_KIND {
            continue;
        }
        let text = l.to_string();
        match (changed, base_lints.contains(&text)) {
            (false, _) => emit(&format!("{text}\n")),
            (true, true) => emit(&format!("{text} (also in the base)\n")),
            (true, false) => emit(&format!("{text} (new in this change)\n")),
        }
    }
    for (kind, n) in shown.iter().filter(|(_, n)| !all_warnings && *n > WARNINGS_PER_KIND) {
        emit(&format!(
            "warning: ... and {} more `{}` warnings (--all-warnings prints them all)\n",
            n - WARNINGS_PER_KIND,
            kind.name()
        ));
    }
    if expect {
        return check_expectations(path, &s);
    }
    Ok(())
}

/// Runs the `[[expect]]` claims; one line each, exit 1 if any fails.
fn check_expectations(path: &Path, s: &Scenario) -> Result<(), Failure> {
    if s.expect.is_empty() {
        emit(&format!("expect: {} has no [[expect]] claims\n", path.display()));
        return Ok(());
    }
    let outcomes = stormcast::expect::check_expectations(path, s, None).map_err(|e| Failure::input(e.to_string()))?;
    let failed = outcomes.iter().filter(|o| !o.ok).count();
    for o in &outcomes {
        let actual = o.actual.as_ref().map_or("missing".to_string(), |v| v.to_string());
        let mark = if o.ok { "ok  " } else { "FAIL" };
        emit(&format!("expect {mark} {}\n            {} {} = {actual}, wanted {}\n", o.claim, o.how, o.path, o.detail));
    }
    if failed == 0 {
        emit(&format!("expect: all {} claims hold\n", outcomes.len()));
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            message: format!("error: {failed} of {} [[expect]] claims do not hold", outcomes.len()),
        })
    }
}

fn graph(path: &Path, format: GraphFormat) -> Result<(), Failure> {
    use stormcast::report::topology;
    let s = load(path)?;
    match format {
        GraphFormat::Dot => emit(&stormcast::report::dot::to_dot(&s)),
        GraphFormat::Svg => emit_bytes(&topology::topology_svg(&s).map_err(chart_error)?),
        GraphFormat::Png => emit_bytes(&topology::topology_png(&s).map_err(chart_error)?),
    }
    Ok(())
}

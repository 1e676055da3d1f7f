//! Command-line interface: clap commands, terminal tables and progress bars. Only the
//! binary uses this module; the library never prints.

mod table;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use stormcast::model::Scenario;
use stormcast::report::output::write_atomic;
use stormcast::stats::RunResult;

const AFTER_HELP: &str = "\
Examples:
  stormcast run scenarios/checkout.toml --out out/checkout     table on stdout; JSON, CSV and charts in out/
  stormcast sweep scenarios/retry-storm.toml --seeds 200      risks across seeds with 95% intervals
  stormcast check scenarios/checkout.toml                     validate (located errors, exit 2 if invalid)
  stormcast graph scenarios/checkout.toml | dot -Tpng > g.png

Exit codes: 0 success; 1 a gate failed (compare); 2 bad input or usage.
Same scenario and seed give byte-identical output on any machine and thread count.";

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
    /// Validate a scenario (exit 0 if valid, 2 with located errors if not).
    Check {
        /// The scenario file (TOML).
        scenario: PathBuf,
    },
    /// Print the topology as Graphviz DOT (pipe into `dot -Tpng`).
    Graph {
        /// The scenario file (TOML).
        scenario: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// Seed of the random streams (default: `[simulation] seed`, else 1).
    #[arg(long)]
    seed: Option<u64>,
    /// Write summary.json, timeseries.csv and charts (run.png, run.svg) into DIR.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(clap::Args, Debug)]
struct SweepArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// How many seeds to run.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    seeds: u64,
    /// The first seed (default: `[simulation] seed`, else 1); seeds are consecutive.
    #[arg(long)]
    first_seed: Option<u64>,
    /// Worker threads (default: one per core). The results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
    /// Write sweep.json and charts (fan, risk, recovery; PNG and SVG) into DIR.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// A readable table per load and per service.
    Table,
    /// summary.json on stdout.
    Json,
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
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Sweep(args) => sweep(args),
        Command::Check { scenario } => check(&scenario),
        Command::Graph { scenario } => graph(&scenario),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("{}", f.message.trim_end());
            ExitCode::from(f.code)
        }
    }
}

fn load(path: &Path) -> Result<Scenario, Failure> {
    stormcast::scenario::load_file(path).map_err(|e| Failure::input(e.to_string()))
}

fn run(args: RunArgs) -> Result<(), Failure> {
    let scenario = load(&args.scenario)?;
    let seed = args.seed.unwrap_or(scenario.simulation.seed);
    let result = stormcast::sim::simulate(&scenario, seed);
    if let Some(dir) = &args.out {
        write_run_outputs(&result, dir)?;
    }
    match args.format {
        Format::Table => print!("{}", table::run_table(&result)),
        Format::Json => println!("{}", summary_json(&result)),
    }
    Ok(())
}

fn summary_json(result: &RunResult) -> String {
    serde_json::to_string_pretty(result).expect("run results serialize")
}

fn write_run_outputs(result: &RunResult, dir: &Path) -> Result<(), Failure> {
    let io = |what: &str, e: std::io::Error| Failure::input(format!("error: cannot write {what}: {e}"));
    std::fs::create_dir_all(dir).map_err(|e| io(&dir.display().to_string(), e))?;
    let summary = dir.join("summary.json");
    write_atomic(&summary, (summary_json(result) + "\n").as_bytes()).map_err(|e| io("summary.json", e))?;
    let csv = stormcast::report::csv::timeseries_csv(result);
    write_atomic(&dir.join("timeseries.csv"), csv.as_bytes()).map_err(|e| io("timeseries.csv", e))?;
    let chart_error = |e: stormcast::report::chart::ChartError| Failure::input(format!("error: chart: {e}"));
    stormcast::report::chart::run_chart_png(result, &dir.join("run.png")).map_err(chart_error)?;
    stormcast::report::chart::run_chart_svg(result, &dir.join("run.svg")).map_err(chart_error)?;
    Ok(())
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
    let scenario = load(&args.scenario)?;
    let mut opts = stormcast::sweep::SweepOptions::new(args.seeds, args.first_seed.unwrap_or(scenario.simulation.seed));
    opts.jobs = args.jobs.map(|j| j as usize);
    let bar = progress_bar(args.seeds, args.quiet, "sweep");
    let result = stormcast::sweep::run_sweep(&scenario, &opts, &|| bar.inc(1));
    bar.finish_and_clear();
    if let Some(dir) = &args.out {
        let io = |what: &str, e: std::io::Error| Failure::input(format!("error: cannot write {what}: {e}"));
        std::fs::create_dir_all(dir).map_err(|e| io(&dir.display().to_string(), e))?;
        let json = serde_json::to_string_pretty(&result).expect("sweep results serialize") + "\n";
        write_atomic(&dir.join("sweep.json"), json.as_bytes()).map_err(|e| io("sweep.json", e))?;
        stormcast::report::sweep_chart::sweep_charts(&result, dir)
            .map_err(|e| Failure::input(format!("error: chart: {e}")))?;
    }
    print!("{}", table::sweep_table(&result));
    Ok(())
}

fn check(path: &Path) -> Result<(), Failure> {
    let s = load(path)?;
    let endpoints: usize = s.services.iter().map(|s| s.endpoints.len()).sum();
    println!(
        "ok: {}: {} services, {} endpoints, {} policies, {} loads, {} faults",
        path.display(),
        s.services.len(),
        endpoints,
        s.policies.len(),
        s.loads.len(),
        s.faults.len()
    );
    Ok(())
}

fn graph(path: &Path) -> Result<(), Failure> {
    let s = load(path)?;
    print!("{}", stormcast::report::dot::to_dot(&s));
    Ok(())
}

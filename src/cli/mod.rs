//! Command-line interface: clap commands, terminal tables, colours and progress bars.
//! Only the binary uses this module; the library never prints.

mod args;
mod cache;
mod check;
mod color;
mod commands;
mod init;
mod input;
mod meta;
mod output;
mod rollout;
mod shard;
mod table;
mod vary;

use args::{CheckArgs, CompareArgs, GraphFormat, RolloutArgs, RunArgs, SweepArgs};
use clap::{Parser, Subcommand};
use output::OutDir;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Examples:
  stormcast init my.toml --template web-app                   a commented starter scenario
  stormcast run scenarios/checkout.toml --out out/checkout     table on stdout; report.html, JSON, CSV and charts in out/
  stormcast sweep scenarios/retry-storm.toml --seeds 200      risks across seeds with 95% intervals
  stormcast check scenarios/checkout.toml                     validate (located errors, exit 2 if invalid)
  stormcast graph scenarios/checkout.toml --format png > g.png   (or: | dot -Tpng > g.png)
  stormcast completions bash > ~/.local/share/bash-completion/completions/stormcast

A scenario given as `-` is read from standard input.
Exit codes: 0 success; 1 compare: a gate failed or was undecided, or no gate was set; 2 bad input or usage.
Same scenario and seed give byte-identical output on any machine and thread count.
Colour: on terminals only; NO_COLOR or --color never turns it off, --color always forces it.
Concepts (load, attempt, call, goodput, recovery, metastable, health, cascade): docs/concepts.md;
command line: docs/cli.md; scenario keys: docs/scenario-format.md; output fields: docs/outputs.md.";

/// Predicts whether a change to a microservice platform makes an outage spread.
///
/// stormcast replays a service topology and its resilience config (timeouts, retries,
/// budgets, circuit breakers, bulkheads) described in TOML, under load spikes and
/// faults, deterministically: the same scenario and seed give byte-identical output.
#[derive(Parser, Debug)]
#[command(name = "stormcast", version, propagate_version = true, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// When to colour the terminal output: auto (on a terminal, unless NO_COLOR is set),
    /// always, never.
    #[arg(long, global = true, value_enum, default_value_t = color::When::Auto, value_name = "WHEN")]
    color: color::When,
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
    /// Replay the delivery of a change: the proposed version of one service runs as a
    /// canary whose traffic weight a Flagger- or Argo-style analysis raises step by
    /// step, then promotes or rolls back. One seed: its course; --seeds N: how often it
    /// is rolled back, promoted or unfinished; exit 0 when `[rollout.expect]` holds, 1
    /// when not (or nothing is asserted), 2 on bad input.
    Rollout(RolloutArgs),
    /// Validate a scenario (exit 0 if valid, 2 with located errors if not) and warn
    /// about static risks: retry amplification, retries at several layers, timeouts
    /// that grow down the stack, retries without a budget or with one that cannot
    /// bind, unbounded backoff, breakers that cannot open. With --expect, also run the
    /// scenario's [[expect]] claims.
    Check(CheckArgs),
    /// Print the topology: Graphviz DOT (pipe into `dot -Tpng`), or a picture drawn
    /// without Graphviz (`--format svg` or `png`, the bytes on stdout: redirect them
    /// into a file).
    Graph {
        /// The scenario file (TOML), or `-` for standard input.
        scenario: PathBuf,
        /// dot: Graphviz source (the default, as before); svg, png: a layered picture of
        /// the call graph (loads on the left, services by call depth, faults in red).
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Write a commented starter scenario that `check` accepts, to edit from there.
    Init(init::InitArgs),
    /// Print a shell completion script, e.g. `stormcast completions bash >
    /// ~/.local/share/bash-completion/completions/stormcast`.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print a manual page (roff), e.g. `stormcast man > stormcast.1 && man ./stormcast.1`;
    /// `stormcast man run` prints stormcast-run(1), with the command's options.
    Man {
        /// A command (run, sweep, compare, check, graph, init, completions); without
        /// it, the page of stormcast itself.
        command: Option<String>,
    },
    /// Merge the partial results of a sweep, vary sweep or compare run with --shard
    /// into the files, table and exit code of the unsharded command, byte for byte.
    Merge(shard::MergeArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    color::init(cli.color);
    // Ctrl-C stops at once, except while outputs are being written: see output::on_interrupt.
    let _ = ctrlc::set_handler(output::on_interrupt);
    let result = match cli.command {
        Command::Run(args) => commands::run(args),
        Command::Sweep(args) if !args.vary.is_empty() => vary::vary(args),
        Command::Sweep(args) => commands::sweep(args),
        Command::Compare(args) => commands::compare(args),
        Command::Rollout(args) => rollout::rollout(args),
        Command::Check(args) => check::check(&args),
        Command::Graph { scenario, format } => graph(&scenario, format),
        Command::Init(args) => init::init(&args),
        Command::Completions { shell } => {
            emit_bytes(&meta::completions(shell));
            Ok(())
        }
        Command::Man { command } => meta::man_page(command.as_deref()).map(|page| emit_bytes(&page)),
        Command::Merge(args) => shard::merge(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if !f.message.is_empty() {
                color::eprint_message(f.message.trim_end());
            }
            ExitCode::from(f.code)
        }
    }
}

/// Writes to stdout; a reader that went away (`stormcast graph big.toml | head -1`)
/// ends the program quietly with success, as Unix tools do, instead of a panic.
/// Colour codes in `text` (`color::paint`) reach a terminal that wants them and are
/// stripped everywhere else, so a file or a pipe gets plain text.
fn emit(text: &str) {
    write_stdout(&mut anstream::AutoStream::new(std::io::stdout().lock(), color::choice()), text.as_bytes());
}

/// `emit` for bytes that need not be text (a PNG).
fn emit_bytes(bytes: &[u8]) {
    write_stdout(&mut std::io::stdout().lock(), bytes);
}

fn write_stdout(out: &mut impl std::io::Write, bytes: &[u8]) {
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(2);
    }
}

/// A run stopped before its end is not a result: exit 2 with where and why.
fn refuse_stopped(source: &str, seed: u64, stopped: &stormcast::stats::summary::Stopped) -> Failure {
    Failure::input(format!(
        "error: {source}: the run of seed {seed} was stopped after {} events at {} s of simulated time: {}\n  = help: nothing was written; look for closed-loop users with no think time, or raise --max-events",
        stopped.events, stopped.at_s, stopped.reason
    ))
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

fn load(path: &Path) -> Result<stormcast::model::Scenario, Failure> {
    input::load(path, &[], &[])
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

/// Refuses an `--out` that cannot be written or that another command is writing into,
/// before any simulation: after the scenario is validated and its size accepted (so bad
/// input creates no folder), and before the work whose results would otherwise be lost
/// at the end. The folder stays locked until the command exits.
fn check_out(out: Option<&Path>) -> Result<Option<OutDir>, Failure> {
    out.map(OutDir::open).transpose()
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

//! The options the commands share (limits, overlays, seeding) and each command's own.

use super::Failure;
use clap::ValueEnum;
use std::path::{Path, PathBuf};
use stormcast::format::{bytes, shell_word};
use stormcast::model::Scenario;
use stormcast::stats::sequential::{DEFAULT_BATCH, DEFAULT_MAX_SEEDS, Plan};

/// Default `--max-events`: a few minutes of CPU per run at the engine's ~8 million
/// events per second.
pub const DEFAULT_MAX_EVENTS: f64 = 2e9;
/// Default `--max-total-events`: every run of one command together, about three hours
/// of CPU on one core.
pub const DEFAULT_MAX_TOTAL_EVENTS: f64 = 1e11;
/// Default `--max-memory`: bytes one run may be estimated to need (a sweep runs one
/// per thread at a time; the examples need a few megabytes).
pub const DEFAULT_MAX_MEMORY: f64 = 2e9;

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
pub struct Limits {
    /// Refuse a run whose estimated events exceed this (per seed), and stop a run that
    /// gets there. The default is a few minutes of CPU; raise it for long studies.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_EVENTS, value_parser = positive_limit)]
    pub max_events: f64,
    /// Refuse a command whose runs together (seeds x --vary points x configs) are
    /// estimated above this many events (default: about three hours of CPU).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_TOTAL_EVENTS, value_parser = positive_limit)]
    pub max_total_events: f64,
    /// Refuse a run whose memory is estimated above this many bytes (per run; a sweep
    /// runs one per thread at a time).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_MEMORY, value_parser = positive_limit)]
    pub max_memory: f64,
}

impl Limits {
    /// Refuses, before any work, a scenario whose estimated events or memory exceed the
    /// limits; returns the event estimate.
    pub fn check(&self, scenario: &Scenario) -> Result<f64, Failure> {
        self.estimates(scenario).map(|(events, _)| events)
    }

    /// [`Limits::check`], returning both estimates: one run's events and memory bytes.
    pub fn estimates(&self, scenario: &Scenario) -> Result<(f64, f64), Failure> {
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
    pub fn check_total(&self, per_seed: f64, seeds: u64, what: &str) -> Result<(), Failure> {
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
    pub fn cap(&self) -> u64 {
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

/// A proposed change, expressed over the base scenario.
#[derive(clap::Args, Debug, Default)]
pub struct Overlay {
    /// A partial scenario merged over the base (tables key by key; scalars and arrays
    /// replaced; `[[append.fault]]` etc. add to arrays). Repeatable, applied in order.
    #[arg(long = "change", value_name = "FILE")]
    pub changes: Vec<PathBuf>,
    /// Set one key, e.g. `--set services.payment.instances=6` or
    /// `--set policies.p.timeout=300ms`. Repeatable, applied after the changes.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

impl Overlay {
    pub fn load(&self, path: &Path) -> Result<Scenario, Failure> {
        self.load_with(path, &[])
    }

    pub fn load_with(&self, path: &Path, extra_sets: &[String]) -> Result<Scenario, Failure> {
        let sets: Vec<String> = self.sets.iter().chain(extra_sets).cloned().collect();
        super::input::load(path, &self.changes, &sets)
    }

    /// The command line that replays one seed of this configuration.
    pub fn replay_prefix(&self, path: &Path, extra_sets: &[String]) -> String {
        let mut words = vec!["stormcast".to_string(), "run".to_string(), shell_word(&path.display().to_string())];
        words.extend(self.option_words(extra_sets));
        words.join(" ")
    }

    /// The `--change` and `--set` options (then `extra_sets`) as shell words, to replay.
    pub fn option_words(&self, extra_sets: &[String]) -> Vec<String> {
        let mut words = Vec::new();
        for change in &self.changes {
            words.push("--change".to_string());
            words.push(shell_word(&change.display().to_string()));
        }
        for set in self.sets.iter().chain(extra_sets) {
            words.push("--set".to_string());
            words.push(shell_word(set));
        }
        words
    }
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The scenario file (TOML), or `-` for standard input.
    pub scenario: PathBuf,
    #[command(flatten)]
    pub overlay: Overlay,
    /// Seed of the random streams (default: `[simulation] seed`, else 1).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write report.html, summary.json, timeseries.csv and charts (run.png, run.svg)
    /// into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub limits: Limits,
}

#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// The scenario file (TOML), or `-` for standard input.
    pub scenario: PathBuf,
    #[command(flatten)]
    pub overlay: Overlay,
    /// Capacity planning: repeat the sweep for each value of a key: a range
    /// `services.api.instances=2..6` or `load.0.rate=500..2000:250` (START..END
    /// inclusive, STEP default 1), a range of durations
    /// `policies.db.timeout=50ms..400ms:50ms` (STEP required), or a list
    /// `services.api.balancer=round_robin,least_requests`. At most two; with two, every
    /// pair.
    #[arg(long, value_name = "KEY=START..END[:STEP]|KEY=A,B,...")]
    pub vary: Vec<String>,
    /// With --vary: the risk threshold for the tipping point (the first value whose
    /// risk interval lies entirely below it).
    #[arg(long, default_value_t = 0.05, value_name = "P")]
    pub threshold: f64,
    /// How many seeds to run.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub seeds: u64,
    /// What to print on stdout: the table, or sweep.json (vary.json with --vary).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub seeding: Seeding,
    /// Write report.html, sweep.json (vary.json with --vary) and charts (fan, risk,
    /// recovery; PNG and SVG) into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub sharding: super::shard::Sharding,
    #[command(flatten)]
    pub limits: Limits,
}

/// How many-seed commands pick and spread their seeds.
#[derive(clap::Args, Debug)]
pub struct Seeding {
    /// The first seed (default: the (base) scenario's `[simulation] seed`); seeds are
    /// consecutive.
    #[arg(long)]
    pub first_seed: Option<u64>,
    /// Worker threads (default: one per core). The results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub jobs: Option<u64>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

impl CompareArgs {
    /// The seeds to plan for (the budget with `auto`), and the sequential plan if any.
    pub fn plan(&self) -> Result<(u64, Option<Plan>), Failure> {
        match self.seeds {
            CompareSeeds::Fixed(n) => {
                if self.max_seeds.is_some() || self.batch.is_some() {
                    return Err(Failure::input("error: --max-seeds and --batch go with --seeds auto".to_string()));
                }
                Ok((n, None))
            }
            CompareSeeds::Auto => {
                let max_seeds = self.max_seeds.unwrap_or(DEFAULT_MAX_SEEDS);
                let batch = self.batch.unwrap_or(DEFAULT_BATCH.min(max_seeds));
                if batch > max_seeds {
                    return Err(Failure::input(format!(
                        "error: --batch {batch} is more than --max-seeds {max_seeds}: a look would run past the budget"
                    )));
                }
                Ok((max_seeds, Some(Plan::new(max_seeds, batch))))
            }
        }
    }
}

impl Seeding {
    /// The sweep options; seeds past `u64::MAX` are refused rather than wrapped.
    pub fn options(
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

/// `compare --seeds`: a fixed number of seeds, or `auto` (a sequential compare).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CompareSeeds {
    Fixed(u64),
    Auto,
}

fn parse_compare_seeds(text: &str) -> Result<CompareSeeds, String> {
    if text == "auto" {
        return Ok(CompareSeeds::Auto);
    }
    match text.parse::<u64>() {
        Ok(n) if (2..=1_000_000).contains(&n) => Ok(CompareSeeds::Fixed(n)),
        Ok(n) => Err(format!("{n} is not in 2..=1000000")),
        Err(_) => Err("expected a number of seeds (2 to 1000000) or `auto`".to_string()),
    }
}

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// The base scenario (what is deployed today).
    pub base: PathBuf,
    /// The proposed scenario; without it, the base with --change/--set applied.
    pub proposed: Option<PathBuf>,
    /// Changes applied to the proposed config (to PROPOSED if given, else to BASE).
    #[command(flatten)]
    pub overlay: Overlay,
    /// How many seeds each config runs (the same seeds for both), or `auto`: batches of
    /// seeds until every gate is decided or --max-seeds ran (docs/cli.md, "Sequential
    /// compare").
    #[arg(long, value_parser = parse_compare_seeds, value_name = "N|auto")]
    pub seeds: CompareSeeds,
    /// With --seeds auto: the most seeds each config runs [default: 200].
    #[arg(long, value_parser = clap::value_parser!(u64).range(2..=1_000_000), value_name = "N")]
    pub max_seeds: Option<u64>,
    /// With --seeds auto: the seeds run between two looks at the gates [default: 20].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000), value_name = "B")]
    pub batch: Option<u64>,
    #[command(flatten)]
    pub seeding: Seeding,
    /// Write report.html, compare.json, report.md, comment.md and charts into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Neither read nor keep the base config's seeds in the cache (docs/cli.md, "The
    /// base-side cache").
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
    /// The cache's folder [default: $STORMCAST_CACHE_DIR, else $XDG_CACHE_HOME/stormcast,
    /// else ~/.cache/stormcast].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Gate: the proposed config's P(SLO violated) must be at most this (overrides [gates]).
    #[arg(long, value_name = "P")]
    pub max_slo_risk: Option<f64>,
    /// Gate: proposed minus base P(SLO violated), paired over seeds.
    #[arg(long, value_name = "P")]
    pub max_slo_risk_increase: Option<f64>,
    /// Gate: relative p99 increase, paired over seeds (0.10 = +10%).
    #[arg(long, value_name = "R")]
    pub max_p99_increase: Option<f64>,
    /// Gate: the proposed config's P(never recovers).
    #[arg(long, value_name = "P")]
    pub max_metastable_risk: Option<f64>,
    /// Gate: proposed minus base P(never recovers), paired over seeds.
    #[arg(long, value_name = "P")]
    pub max_metastable_risk_increase: Option<f64>,
    /// Exit 0 when no gate is set (the verdict stays `ungated`, never `pass`). Without
    /// it, a compare with no gates exits 1: it judged nothing.
    #[arg(long)]
    pub allow_ungated: bool,
    /// What to print on stdout: the table, or compare.json.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub sharding: super::shard::Sharding,
    #[command(flatten)]
    pub limits: Limits,
}

#[derive(clap::Args, Debug)]
pub struct RolloutArgs {
    /// The base scenario: the stable version of every service (TOML, or `-` for standard
    /// input).
    pub base: PathBuf,
    /// The proposed scenario, of which the rolled-out service's version is the canary;
    /// without it, BASE with the --change and --set options.
    pub proposed: Option<PathBuf>,
    #[command(flatten)]
    pub overlay: Overlay,
    /// How the service is rolled out: a TOML file with `[rollout]` (Flagger or Argo
    /// Rollouts style), or a Flagger `Canary` / Argo `Rollout` + `AnalysisTemplate` YAML
    /// (`.yaml`, `.yml`). See docs/rollout.md.
    #[arg(long, value_name = "FILE")]
    pub strategy: PathBuf,
    /// When the rollout begins, from the start of the run (overrides the strategy's
    /// `start`; YAML strategies start at 0 s without it), e.g. `--start 60s`.
    #[arg(long, value_name = "DURATION")]
    pub start: Option<String>,
    /// Replay the rollout at one seed (the default without --seeds: the scenario's
    /// seed): summary.json gains `rollout`, the charts its course.
    #[arg(long, conflicts_with = "seeds")]
    pub seed: Option<u64>,
    /// Replay it at this many seeds and report the shares rolled back, promoted and
    /// unfinished (rollout.json); exit 0 when `[rollout.expect]` holds, 1 when not.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub seeds: Option<u64>,
    #[command(flatten)]
    pub seeding: Seeding,
    /// Write the outputs (see docs/outputs.md) into DIR, creating it if needed.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Exit 0 even when the strategy has no `[rollout.expect]` (nothing asserted).
    #[arg(long)]
    pub allow_ungated: bool,
    /// table: for people; json: summary.json (one seed) or rollout.json (--seeds) on
    /// standard output.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub limits: Limits,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A readable table.
    Table,
    /// The command's JSON file (summary.json, sweep.json, vary.json, compare.json) on
    /// stdout.
    Json,
}

/// `stormcast check`'s arguments.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The scenario file (TOML), or `-` for standard input.
    pub scenario: PathBuf,
    #[command(flatten)]
    pub overlay: Overlay,
    /// Also run the scenario's `[[expect]]` claims and check each against the output
    /// it names (exit 1 if one does not hold).
    #[arg(long)]
    pub expect: bool,
    /// Print every warning; by default at most 5 of each kind, then a count.
    #[arg(long)]
    pub all_warnings: bool,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    #[command(flatten)]
    pub limits: Limits,
}

/// `check --format`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckFormat {
    /// One line per finding.
    Text,
    /// One JSON document: the scenario's size, its estimates and every warning.
    Json,
    /// SARIF 2.1.0: warnings as code-review annotations (GitHub code scanning).
    Sarif,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    /// Graphviz DOT source.
    Dot,
    /// An SVG picture, drawn by stormcast.
    Svg,
    /// A PNG picture, drawn by stormcast.
    Png,
}

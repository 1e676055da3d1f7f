//! `--shard I/N` on `sweep`, `sweep --vary` and `compare`: run one shard's seeds and
//! write its partial result; and `merge`, which writes the unsharded command's files,
//! table and exit code from the partials (docs/distributed.md). The contract itself is
//! the library's `shard` module; this only reads the options, files and variables.

use std::io::Write;
use std::path::{Path, PathBuf};

use stormcast::model::Scenario;
use stormcast::shard::{Command, CompareCommand, Config, Exact, Inputs, Kind, Merged, Partial, Shard};
use stormcast::sweep::{ShardSweep, SweepOptions, VaryParam, run_shard};

use super::args::{CompareArgs, Format, Overlay, SweepArgs};
use super::{Failure, chart_error, check_out, emit, input, progress_bar, refuse_stopped, table};

/// Which shard of the seeds to run.
#[derive(clap::Args, Debug)]
pub(super) struct Sharding {
    /// Run only shard I of N (0-based; the seeds split into N consecutive, even parts)
    /// and write its partial result, `partial-I-of-N.json`, into --out; `stormcast
    /// merge` turns the N partials into this command's outputs. `auto/N` reads I from
    /// JOB_COMPLETION_INDEX (Kubernetes Indexed Job), else SLURM_ARRAY_TASK_ID (Slurm).
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// With --shard auto/N: read I from this environment variable instead.
    #[arg(long, value_name = "NAME", requires = "shard")]
    shard_index_var: Option<String>,
}

impl Sharding {
    /// The shard to run, if any.
    pub(super) fn shard(&self) -> Result<Option<Shard>, Failure> {
        let Some(spec) = &self.shard else { return Ok(None) };
        let lookup = |name: &str| std::env::var(name).ok();
        Shard::parse(spec, self.shard_index_var.as_deref(), &lookup)
            .map(Some)
            .map_err(|e| Failure::input(format!("error: {e}")))
    }
}

/// `merge`'s arguments.
#[derive(clap::Args, Debug)]
pub(super) struct MergeArgs {
    /// The partial results (partial-I-of-N.json) of one sharded command, in any order;
    /// together they must hold every seed exactly once.
    #[arg(required = true, value_name = "PARTIAL")]
    partials: Vec<PathBuf>,
    /// Write the command's files (report.html, sweep.json, vary.json or compare.json
    /// and their charts and reports) into DIR, as the unsharded command would.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// What to print on stdout: the table, or the command's JSON.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Where a shard's partial goes: a temporary file in `--out`, made before anything
/// runs (so an unwritable folder costs nothing) and renamed over
/// `partial-I-of-N.json` at the end (a reader never sees half a partial). Shards share
/// a folder without a lock: each writes its own name, and a shard run again replaces
/// its partial whole.
struct PartialOut {
    file: tempfile::NamedTempFile,
    path: PathBuf,
}

impl PartialOut {
    fn open(out: Option<&Path>, shard: Shard) -> Result<PartialOut, Failure> {
        let dir = out.ok_or_else(|| {
            Failure::input("error: --shard needs --out DIR: the folder its partial result is written into")
        })?;
        let fail = |e: std::io::Error| Failure::input(format!("error: --out {}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(fail)?;
        let mut builder = tempfile::Builder::new();
        builder.prefix(".partial-");
        // Readable by the merge step, which may run as another user (a shared volume).
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        let file = builder.tempfile_in(dir).map_err(fail)?;
        Ok(PartialOut { file, path: dir.join(shard.file_name()) })
    }

    fn write(mut self, partial: &Partial) -> Result<(), Failure> {
        let fail = |e: std::io::Error| Failure::input(format!("error: {}: {e}", self.path.display()));
        let text = stormcast::report::json::to_json(partial);
        self.file.write_all(text.as_bytes()).and_then(|()| self.file.as_file().sync_all()).map_err(fail)?;
        let path = self.path.clone();
        self.file.persist(&path).map_err(|e| fail(e.error))?;
        emit(&format!(
            "shard {}/{}: seeds {} to {} of {} written to {}\n",
            partial.shard.index,
            partial.shard.count,
            partial.first_seed.wrapping_add(partial.positions[0]),
            partial.first_seed.wrapping_add(partial.positions[1]).wrapping_sub(1),
            partial.seeds,
            path.display()
        ));
        Ok(())
    }
}

/// The texts of a scenario (standard input for `-`), its `--change` files and `--set`
/// options (the command's, then `extra_sets`): what a partial carries so the merge can
/// rebuild it, each labelled as the scenario's messages and outputs label it.
fn inputs(path: &Path, overlay: &Overlay, extra_sets: &[String]) -> Result<Inputs, Failure> {
    let read = |p: &Path| {
        input::text(p).ok_or_else(|| Failure::input(format!("error: {}: cannot be read again", input::label(p))))
    };
    let changes = overlay.changes.iter().map(|c| Ok((input::label(c), read(c)?))).collect::<Result<_, _>>()?;
    Ok(Inputs {
        label: input::label(path),
        text: read(path)?,
        changes,
        sets: overlay.sets.iter().chain(extra_sets).cloned().collect(),
    })
}

/// Runs one configuration's seeds of `shard`; a stopped seed is refused as the
/// unsharded command refuses it (nothing is written).
fn run_config(
    scenario: &Scenario,
    opts: &SweepOptions,
    shard: Shard,
    bar: &indicatif::ProgressBar,
    label: &str,
) -> Result<ShardSweep, Failure> {
    let run = run_shard(scenario, opts, shard.positions(opts.seeds), &|| bar.inc(1));
    match run.stopped.first() {
        Some(s) => Err(refuse_stopped(label, s.seed, &s.stopped)),
        None => Ok(run),
    }
}

/// The seeds of `shard`, for its progress bar.
fn shard_seeds(shard: Shard, opts: &SweepOptions) -> u64 {
    let r = shard.positions(opts.seeds);
    r.end - r.start
}

/// `sweep --shard`.
pub(super) fn sweep(shard: Shard, args: &SweepArgs, scenario: &Scenario, opts: &SweepOptions) -> Result<(), Failure> {
    let out = PartialOut::open(args.out.as_deref(), shard)?;
    let inputs = inputs(&args.scenario, &args.overlay, &[])?;
    let bar = progress_bar(shard_seeds(shard, opts), args.seeding.quiet, "shard");
    let run = run_config(scenario, opts, shard, &bar, &scenario.source)?;
    bar.finish_and_clear();
    let command = Command { replay_prefix: opts.replay_prefix.clone(), threshold: None, compare: None };
    out.write(&Partial::new(Kind::Sweep, shard, opts, command, vec![Config::new(inputs, scenario, Vec::new(), run)]))
}

/// `sweep --vary --shard`: the shard's seeds of every point.
pub(super) fn vary(
    shard: Shard,
    args: &SweepArgs,
    points: &[(Vec<VaryParam>, Scenario)],
    opts: &SweepOptions,
) -> Result<(), Failure> {
    let out = PartialOut::open(args.out.as_deref(), shard)?;
    let bar = progress_bar(shard_seeds(shard, opts) * points.len() as u64, args.seeding.quiet, "shard");
    let mut configs = Vec::new();
    for (params, scenario) in points {
        let sets: Vec<String> = params.iter().map(VaryParam::to_string).collect();
        let inputs = inputs(&args.scenario, &args.overlay, &sets)?;
        let label = format!("{} ({})", scenario.source, sets.join(", "));
        let run = run_config(scenario, opts, shard, &bar, &label)?;
        configs.push(Config::new(inputs, scenario, params.clone(), run));
    }
    bar.finish_and_clear();
    let command =
        Command { replay_prefix: opts.replay_prefix.clone(), threshold: Some(Exact(args.threshold)), compare: None };
    out.write(&Partial::new(Kind::Vary, shard, opts, command, configs))
}

/// `compare --shard`: the shard's seeds of the base, then of the proposed config.
/// `opts.replay_prefix` replays the proposed config; `compare` holds the rest of what
/// the merge needs (its gates are final: the flags over the proposed `[gates]`).
pub(super) fn compare(
    shard: Shard,
    args: &CompareArgs,
    [base, proposed]: [&Scenario; 2],
    opts: &SweepOptions,
    compare: CompareCommand,
) -> Result<(), Failure> {
    let out = PartialOut::open(args.out.as_deref(), shard)?;
    let bar = progress_bar(2 * shard_seeds(shard, opts), args.seeding.quiet, "shard");
    let base_opts = SweepOptions { replay_prefix: None, ..opts.clone() };
    let base_run = run_config(base, &base_opts, shard, &bar, &base.source)?;
    let proposed_run = run_config(proposed, opts, shard, &bar, &proposed.source)?;
    bar.finish_and_clear();
    let proposed_path = args.proposed.as_deref().unwrap_or(&args.base);
    let configs = vec![
        Config::new(inputs(&args.base, &Overlay::default(), &[])?, base, Vec::new(), base_run),
        Config::new(inputs(proposed_path, &args.overlay, &[])?, proposed, Vec::new(), proposed_run),
    ];
    let command = Command { replay_prefix: opts.replay_prefix.clone(), threshold: None, compare: Some(compare) };
    out.write(&Partial::new(Kind::Compare, shard, opts, command, configs))
}

/// `merge`: the partials checked and merged; the files, table and exit code of the
/// command they are shards of.
pub(super) fn merge(args: MergeArgs) -> Result<(), Failure> {
    let partials = args
        .partials
        .iter()
        .map(|path| {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| Failure::input(format!("error: {name}: {e}")))?;
            let partial = serde_json::from_str::<Partial>(&text)
                .map_err(|e| Failure::input(format!("error: {name} is not a stormcast partial result: {e}")))?;
            Ok((name, partial))
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    let merged = stormcast::shard::merge(&partials).map_err(Failure::input)?;
    let out = check_out(args.out.as_deref())?;
    let files = |files: Vec<stormcast::report::output::OutputFile>| match &out {
        Some(out) => out.write(&files),
        None => Ok(()),
    };
    use stormcast::report::files::{compare_files, sweep_files, vary_files};
    use stormcast::report::json::to_json;
    let show = |table: String, json: String| emit(if args.format == Format::Json { &json } else { &table });
    match merged {
        Merged::Sweep { result, scenario } => {
            files(sweep_files(&result, &scenario).map_err(chart_error)?)?;
            show(table::sweep_table(&result), to_json(&result));
        }
        Merged::Vary { result, threshold, base } => {
            files(vary_files(&result, Some(threshold), &base).map_err(chart_error)?)?;
            show(table::vary_table(&result, threshold), to_json(&result));
        }
        Merged::Compare { result, proposed, base_label, proposed_label, exit_code } => {
            files(compare_files(&result, &proposed, &base_label, &proposed_label).map_err(chart_error)?)?;
            show(table::compare_table(&result), to_json(&result));
            if exit_code != 0 {
                return Err(Failure { code: exit_code as u8, message: String::new() });
            }
        }
    }
    Ok(())
}

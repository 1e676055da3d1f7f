//! `run`, `sweep` and `compare`: simulate, write `--out`, print the table or JSON.

use super::args::{CompareArgs, Format, Overlay, RunArgs, SweepArgs};
use super::{Failure, chart_error, check_out, emit, load, progress_bar, refuse_stopped, table};
use stormcast::report::json::to_json;

pub fn run(args: RunArgs) -> Result<(), Failure> {
    let scenario = args.overlay.load(&args.scenario)?;
    args.limits.check(&scenario)?;
    let out = check_out(args.out.as_deref())?;
    let seed = args.seed.unwrap_or(scenario.simulation.seed);
    let result = stormcast::sim::simulate_bounded(&scenario, seed, args.limits.cap());
    if let Some(stopped) = &result.stopped {
        return Err(refuse_stopped(&scenario.source, seed, stopped));
    }
    if let Some(out) = &out {
        let replay = format!("{} --seed {seed}", args.overlay.replay_prefix(&args.scenario, &[]));
        out.write(&stormcast::report::files::run_files(&result, &scenario, &replay).map_err(chart_error)?)?;
    }
    match args.format {
        Format::Table => emit(&table::run_table(&result)),
        Format::Json => emit(&to_json(&result)),
    }
    Ok(())
}

pub fn sweep(args: SweepArgs) -> Result<(), Failure> {
    let scenario = args.overlay.load(&args.scenario)?;
    let estimate = args.limits.check(&scenario)?;
    args.limits.check_total(estimate, args.seeds, "this sweep")?;
    let mut opts = args.seeding.options(args.seeds, &scenario, &args.limits)?;
    opts.replay_prefix = Some(args.overlay.replay_prefix(&args.scenario, &[]));
    if let Some(shard) = args.sharding.shard()? {
        return super::shard::sweep(shard, &args, &scenario, &opts);
    }
    let out = check_out(args.out.as_deref())?;
    let bar = progress_bar(args.seeds, args.seeding.quiet, "sweep");
    let result = stormcast::sweep::run_sweep(&scenario, &opts, &|| bar.inc(1));
    bar.finish_and_clear();
    if let Some(s) = result.stopped.first() {
        return Err(refuse_stopped(&scenario.source, s.seed, &s.stopped));
    }
    if let Some(out) = &out {
        out.write(&stormcast::report::files::sweep_files(&result, &scenario).map_err(chart_error)?)?;
    }
    match args.format {
        Format::Table => emit(&table::sweep_table(&result)),
        Format::Json => emit(&to_json(&result)),
    }
    Ok(())
}

pub fn compare(args: CompareArgs) -> Result<(), Failure> {
    let base = load(&args.base)?;
    let proposed_path = args.proposed.as_deref().unwrap_or(&args.base);
    let proposed = args.overlay.load(proposed_path)?;
    let per_seed = args.limits.check(&base)? + args.limits.check(&proposed)?;
    let (seeds, plan) = args.plan()?;
    args.limits.check_total(per_seed, seeds, "this compare (both configs)")?;
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
    let mut opts = args.seeding.options(seeds, &base, &args.limits)?;
    let base_prefix = Overlay::default().replay_prefix(&args.base, &[]);
    let proposed_prefix = args.overlay.replay_prefix(proposed_path, &[]);
    opts.replay_prefix = Some(proposed_prefix.clone());
    let base_label = args.base.display().to_string();
    let proposed_label = match (&args.proposed, args.overlay.changes.is_empty() && args.overlay.sets.is_empty()) {
        (Some(p), true) => p.display().to_string(),
        _ => proposed_prefix.trim_start_matches("stormcast run ").to_string(),
    };
    if let Some(shard) = args.sharding.shard()? {
        if plan.is_some() {
            return Err(Failure::input(
                "error: --seeds auto cannot be sharded: each look decides whether the next batch runs".to_string(),
            ));
        }
        let command = stormcast::shard::CompareCommand {
            base_replay_prefix: base_prefix,
            base_label,
            proposed_label,
            gates: (&gates).into(),
            allow_ungated: args.allow_ungated,
        };
        return super::shard::compare(shard, &args, [&base, &proposed], &opts, command);
    }
    let out = check_out(args.out.as_deref())?;
    let bar = progress_bar(2 * seeds, args.seeding.quiet, "compare");
    let cache = super::cache::FileStore::chosen(args.no_cache, args.cache_dir.as_deref());
    let store = cache.as_ref().map(|c| c as &dyn stormcast::sweep::SeedStore);
    let progress = || bar.inc(1);
    let mut result = match plan {
        Some(plan) => {
            stormcast::compare::run_compare_sequential(&base, &proposed, &opts, &gates, plan, &progress, store)
        }
        None => stormcast::compare::run_compare_stored(&base, &proposed, &opts, &gates, &progress, store),
    };
    bar.finish_and_clear();
    for (sweep, source) in [(&result.base, &base.source), (&result.proposed, &proposed.source)] {
        if let Some(s) = sweep.stopped.first() {
            return Err(refuse_stopped(source, s.seed, &s.stopped));
        }
    }
    result.set_replay_prefixes(&base_prefix, &proposed_prefix);
    if let Some(out) = &out {
        let files = stormcast::report::files::compare_files(&result, &proposed, &base_label, &proposed_label)
            .map_err(chart_error)?;
        out.write(&files)?;
    }
    match args.format {
        Format::Table => emit(&table::compare_table(&result)),
        Format::Json => emit(&to_json(&result)),
    }
    match result.exit_code(args.allow_ungated) {
        0 => Ok(()),
        code => Err(Failure { code: code as u8, message: String::new() }),
    }
}

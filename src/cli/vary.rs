//! `sweep --vary`: parsing each axis and running every combination of its values.

use super::args::{Format, SweepArgs};
use super::{Failure, check_out, emit, progress_bar, refuse_stopped, table};
use stormcast::model::Scenario;
use stormcast::sweep::VaryParam;

/// `--vary` points (all combinations of its values) one command may run.
const MAX_VARY_POINTS: u64 = 10_000;

/// One `--vary` axis: the key and its values, as `--set` strings. Three forms:
/// `KEY=START..END[:STEP]` over numbers (STEP default 1), the same over durations
/// (`50ms..400ms:50ms`, STEP required, the values written in START's unit), and a list
/// `KEY=A,B,...` of values taken as written.
pub fn parse_vary(spec: &str) -> Result<(String, Vec<String>), Failure> {
    let usage = || {
        Failure::input(format!(
            "error: --vary {spec}: expected KEY=START..END[:STEP] or KEY=A,B,..., e.g. services.api.instances=2..6, \
             policies.db.timeout=50ms..400ms:50ms or services.api.balancer=round_robin,least_requests"
        ))
    };
    let (key, values) = spec.split_once('=').ok_or_else(usage)?;
    let key = key.trim().to_string();
    if key.is_empty() {
        return Err(usage());
    }
    let values =
        if values.contains("..") { range_values(spec, values).ok_or_else(usage)?? } else { list_values(spec, values)? };
    if values.len() > MAX_VALUES {
        return Err(Failure::input(format!("error: --vary {spec}: {} values; at most {MAX_VALUES}", values.len())));
    }
    Ok((key, values))
}

/// Values one `--vary` axis may take.
const MAX_VALUES: usize = 1000;

/// `A,B,...`: at least two values, none empty, none twice.
fn list_values(spec: &str, text: &str) -> Result<Vec<String>, Failure> {
    let values: Vec<String> = text.split(',').map(|v| v.trim().to_string()).collect();
    if values.len() < 2 || values.iter().any(String::is_empty) {
        return Err(Failure::input(format!(
            "error: --vary {spec}: a list needs two or more values separated by commas, none empty"
        )));
    }
    if let Some(v) = values.iter().enumerate().find_map(|(i, v)| values[..i].contains(v).then_some(v)) {
        return Err(Failure::input(format!("error: --vary {spec}: `{v}` is listed twice")));
    }
    Ok(values)
}

/// `START..END[:STEP]` over numbers or durations; `None` when it does not parse.
fn range_values(spec: &str, text: &str) -> Option<Result<Vec<String>, Failure>> {
    let (range, step) = match text.split_once(':') {
        Some((r, s)) => (r, Some(s.trim())),
        None => (text, None),
    };
    let (start, end) = range.split_once("..")?;
    let (start, end) = (start.trim(), end.trim());
    let ends_in_unit = |v: &str| v.ends_with(|c: char| c.is_alphabetic());
    if ends_in_unit(start) || ends_in_unit(end) {
        return Some(duration_range(spec, start, end, step));
    }
    let integers = [Some(start), Some(end), step].iter().flatten().all(|v| v.parse::<i64>().is_ok());
    let number = |v: &str| v.parse::<f64>().ok().filter(|x| x.is_finite());
    let (a, b) = (number(start)?, number(end)?);
    let step = match step {
        Some(s) => number(s)?,
        None => 1.0,
    };
    Some(steps(spec, a, b, step).map(|xs| {
        xs.into_iter()
            .map(|v| if integers { format!("{}", v.round() as i64) } else { format!("{}", (v * 1e9).round() / 1e9) })
            .collect()
    }))
}

/// A range of durations, each value written in START's unit (`50ms`, `100ms`, ...).
fn duration_range(spec: &str, start: &str, end: &str, step: Option<&str>) -> Result<Vec<String>, Failure> {
    use stormcast::engine::time::SimDuration;
    let parse = |v: &str| {
        SimDuration::parse(v)
            .map(|d| d.as_nanos() as f64)
            .map_err(|e| Failure::input(format!("error: --vary {spec}: `{v}`: {e}")))
    };
    let step = step.ok_or_else(|| {
        Failure::input(format!("error: --vary {spec}: a range of durations needs a STEP, e.g. 50ms..400ms:50ms"))
    })?;
    let (a, b, step_ns) = (parse(start)?, parse(end)?, parse(step)?);
    let unit = start.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '_');
    let scale = parse(&format!("1{unit}"))?;
    let values = steps(spec, a, b, step_ns)?;
    Ok(values.into_iter().map(|ns| format!("{}{unit}", (ns / scale * 1e9).round() / 1e9)).collect())
}

/// `a, a + step, ...` up to `b` inclusive, at most [`MAX_VALUES`] of them.
fn steps(spec: &str, a: f64, b: f64, step: f64) -> Result<Vec<f64>, Failure> {
    if step <= 0.0 || b < a {
        return Err(Failure::input(format!("error: --vary {spec}: END must be >= START and STEP > 0")));
    }
    // Counted as a float first: a tiny step or a huge range must not overflow.
    let count = ((b - a) / step + 1e-9).floor() + 1.0;
    if count.is_nan() || count > MAX_VALUES as f64 {
        return Err(Failure::input(format!("error: --vary {spec}: {count:.3e} values; at most {MAX_VALUES}")));
    }
    Ok((0..count as u64).map(|i| a + step * i as f64).collect())
}

pub fn vary(args: SweepArgs) -> Result<(), Failure> {
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
    let opts = args.seeding.options(args.seeds, &points[0].1, &args.limits)?;
    if let Some(shard) = args.sharding.shard()? {
        return super::shard::vary(shard, &args, &points, &opts);
    }
    let out = check_out(args.out.as_deref())?;
    let base = args.overlay.load(&args.scenario)?;
    let bar = progress_bar(args.seeds * points.len() as u64, args.seeding.quiet, "vary");
    let result = stormcast::sweep::run_vary(&points, &opts, &|| bar.inc(1));
    bar.finish_and_clear();
    for (point, (_, scenario)) in result.points.iter().zip(&points) {
        if let Some(s) = point.stopped.first() {
            return Err(refuse_stopped(&format!("{} ({})", scenario.source, point.label), s.seed, &s.stopped));
        }
    }
    if let Some(out) = &out {
        out.write(
            &stormcast::report::files::vary_files(&result, Some(args.threshold), &base).map_err(super::chart_error)?,
        )?;
    }
    match args.format {
        Format::Table => emit(&table::vary_table(&result, args.threshold)),
        Format::Json => emit(&stormcast::report::json::to_json(&result)),
    }
    Ok(())
}

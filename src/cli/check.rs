//! `stormcast check`: validation, lints and `[[expect]]` claims, as text, JSON or SARIF.

use super::args::{CheckArgs, CheckFormat};
use super::color::{Tone, paint, paint_prefix};
use super::{Failure, emit, input};
use serde::Serialize;
use std::path::Path;
use stormcast::format::{bytes, count_of};
use stormcast::model::Scenario;
use stormcast::model::lint::Lint;
use stormcast::report::json::to_json;
use stormcast::report::sarif::{Finding, Level, sarif_log};
use stormcast::scenario::LoadError;

/// Warnings of one kind printed before the rest are counted instead.
const WARNINGS_PER_KIND: usize = 5;

/// The rule of every error that makes a scenario invalid, in SARIF.
const INVALID_RULE: &str = "invalid-scenario";

pub fn check(args: &CheckArgs) -> Result<(), Failure> {
    let path = &args.scenario;
    if args.expect && input::is_stdin(path) {
        return Err(Failure::input("error: --expect reruns the scenario from its file; it cannot read standard input"));
    }
    if args.expect && args.format == CheckFormat::Sarif {
        return Err(Failure::input("error: --expect prints text or JSON, not SARIF (claims are not annotations)"));
    }
    let s = match input::try_load(path, &args.overlay.changes, &args.overlay.sets)? {
        Ok(s) => s,
        Err(e) => return Err(invalid(args, &e)),
    };
    // What `run` would refuse, `check` refuses too, with the same message.
    let (events, memory) = args.limits.estimates(&s)?;
    let lints = stormcast::model::lint::lint(&s);
    // With a change, say which warnings it brings in and which the base had already.
    let changed = !(args.overlay.changes.is_empty() && args.overlay.sets.is_empty());
    let base_lints: Option<Vec<String>> = if changed {
        Some(stormcast::model::lint::lint(&super::load(path)?).iter().map(|l| l.to_string()).collect())
    } else {
        None
    };
    let new_in_change = |l: &Lint| base_lints.as_ref().map(|base| !base.contains(&l.to_string()));
    match args.format {
        CheckFormat::Text => {
            emit(&format!(
                "{} {}: {}; one run: about {events:.2e} events, {}\n",
                paint(Tone::Good, "ok:"),
                path.display(),
                sizes(&s),
                bytes(memory)
            ));
            print_lints(&lints, args.all_warnings, &new_in_change);
            if args.expect {
                return check_expectations(path, &s);
            }
        }
        CheckFormat::Json => {
            let warnings = lints.iter().map(|l| warning(args, l, new_in_change(l))).collect();
            let expect = if args.expect { Some(expectations(path, &s)?) } else { None };
            let failed = expect.iter().flatten().filter(|o| !o.ok).count();
            let report = CheckReport::of(path, &s, events, memory, warnings, expect);
            emit(&to_json(&report));
            if failed > 0 {
                return Err(Failure { code: 1, message: String::new() });
            }
        }
        CheckFormat::Sarif => {
            let findings: Vec<Finding> = lints.iter().map(|l| finding(args, l)).collect();
            emit(&sarif_log(env!("CARGO_PKG_VERSION"), &findings));
        }
    }
    Ok(())
}

/// "4 services, 5 endpoints, 1 policy, 1 load, 2 faults".
fn sizes(s: &Scenario) -> String {
    let endpoints: usize = s.services.iter().map(|s| s.endpoints.len()).sum();
    [
        count_of(s.services.len(), "service"),
        count_of(endpoints, "endpoint"),
        count_of(s.policies.len(), "policy"),
        count_of(s.loads.len(), "load"),
        count_of(s.faults.len(), "fault"),
    ]
    .join(", ")
}

/// Text: each warning (at most [`WARNINGS_PER_KIND`] of a kind unless `all`), marked new
/// or not when a change is checked, then the counts of those left out.
fn print_lints(lints: &[Lint], all: bool, new_in_change: &dyn Fn(&Lint) -> Option<bool>) {
    let mut shown: Vec<(stormcast::model::lint::LintKind, usize)> = Vec::new();
    for l in lints {
        let seen = match shown.iter_mut().find(|(k, _)| *k == l.kind) {
            Some((_, n)) => n,
            None => {
                shown.push((l.kind, 0));
                &mut shown.last_mut().expect("just pushed").1
            }
        };
        *seen += 1;
        if !all && *seen > WARNINGS_PER_KIND {
            continue;
        }
        let text = paint_prefix(&l.to_string());
        match new_in_change(l) {
            None => emit(&format!("{text}\n")),
            Some(false) => emit(&format!("{text} (also in the base)\n")),
            Some(true) => emit(&format!("{text} (new in this change)\n")),
        }
    }
    for (kind, n) in shown.iter().filter(|(_, n)| !all && *n > WARNINGS_PER_KIND) {
        emit(&format!(
            "{} ... and {} more `{}` warnings (--all-warnings prints them all)\n",
            paint(Tone::Warn, "warning:"),
            n - WARNINGS_PER_KIND,
            kind.name()
        ));
    }
}

/// An invalid scenario: the errors on stderr (exit 2), and as JSON or SARIF on stdout
/// when asked.
fn invalid(args: &CheckArgs, e: &LoadError) -> Failure {
    let fallback = args.scenario.display().to_string();
    let errors: Vec<ErrorItem> = e
        .diagnostics()
        .iter()
        .map(|d| ErrorItem {
            file: d.file.clone(),
            line: d.location.as_ref().map(|l| l.line),
            column: d.location.as_ref().map(|l| l.column),
            message: d.message.clone(),
            help: d.help.clone(),
        })
        .collect();
    let errors = if errors.is_empty() {
        vec![ErrorItem { file: fallback.clone(), line: None, column: None, message: e.to_string(), help: None }]
    } else {
        errors
    };
    match args.format {
        CheckFormat::Text => {}
        CheckFormat::Json => emit(&to_json(&InvalidReport { scenario: fallback, valid: false, errors })),
        CheckFormat::Sarif => {
            let findings: Vec<Finding> = errors
                .into_iter()
                .map(|e| Finding {
                    rule: INVALID_RULE.to_string(),
                    rule_description: "the scenario does not load: stormcast refuses to run it".to_string(),
                    level: Level::Error,
                    message: e.help.map_or(e.message.clone(), |h| format!("{}; {h}", e.message)),
                    file: e.file,
                    position: e.line.zip(e.column),
                })
                .collect();
            emit(&sarif_log(env!("CARGO_PKG_VERSION"), &findings));
        }
    }
    Failure::input(e.to_string())
}

/// Where a lint's first locatable key is written: the base file, else a change file.
fn lint_location(args: &CheckArgs, l: &Lint) -> Option<(String, usize, usize)> {
    let files = std::iter::once(&args.scenario).chain(&args.overlay.changes);
    for file in files {
        let Some(text) = input::text(file) else { continue };
        for key in &l.keys {
            if let Some(at) = stormcast::scenario::locate::key_location(&text, key) {
                return Some((input::label(file), at.line, at.column));
            }
        }
    }
    None
}

fn finding(args: &CheckArgs, l: &Lint) -> Finding {
    let location = lint_location(args, l);
    let mut message = l.message.clone();
    if !l.keys.is_empty() {
        message.push_str(&format!(" (keys: {})", l.keys.join(", ")));
    }
    Finding {
        rule: l.kind.name().to_string(),
        rule_description: format!("stormcast lint: {}", l.kind.name().replace('-', " ")),
        level: Level::Warning,
        message,
        file: location.as_ref().map_or_else(|| input::label(&args.scenario), |(f, _, _)| f.clone()),
        position: location.map(|(_, line, column)| (line, column)),
    }
}

fn warning(args: &CheckArgs, l: &Lint, new_in_change: Option<bool>) -> Warning {
    let location = lint_location(args, l);
    Warning {
        kind: l.kind.name(),
        message: l.message.clone(),
        keys: l.keys.clone(),
        path: l.path.clone(),
        new_in_change,
        file: location.as_ref().map(|(f, _, _)| f.clone()),
        line: location.as_ref().map(|(_, line, _)| *line),
        column: location.as_ref().map(|(_, _, column)| *column),
    }
}

/// `check --format json` of a valid scenario (schemas/check.schema.json).
#[derive(Serialize)]
struct CheckReport {
    scenario: String,
    valid: bool,
    services: usize,
    endpoints: usize,
    policies: usize,
    loads: usize,
    faults: usize,
    estimated_events: f64,
    estimated_memory_bytes: f64,
    warnings: Vec<Warning>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expect: Option<Vec<ExpectItem>>,
}

impl CheckReport {
    fn of(
        path: &Path,
        s: &Scenario,
        events: f64,
        memory: f64,
        warnings: Vec<Warning>,
        expect: Option<Vec<ExpectItem>>,
    ) -> CheckReport {
        CheckReport {
            scenario: input::label(path),
            valid: true,
            services: s.services.len(),
            endpoints: s.services.iter().map(|s| s.endpoints.len()).sum(),
            policies: s.policies.len(),
            loads: s.loads.len(),
            faults: s.faults.len(),
            estimated_events: events,
            estimated_memory_bytes: memory,
            warnings,
            expect,
        }
    }
}

#[derive(Serialize)]
struct Warning {
    kind: &'static str,
    message: String,
    keys: Vec<String>,
    path: Vec<String>,
    /// With `--change`/`--set`: whether the base lacks this warning; else `null`.
    new_in_change: Option<bool>,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
}

/// `check --format json` of an invalid scenario.
#[derive(Serialize)]
struct InvalidReport {
    scenario: String,
    valid: bool,
    errors: Vec<ErrorItem>,
}

#[derive(Serialize)]
struct ErrorItem {
    file: String,
    line: Option<usize>,
    column: Option<usize>,
    message: String,
    help: Option<String>,
}

#[derive(Serialize)]
struct ExpectItem {
    claim: String,
    how: String,
    path: String,
    actual: Option<serde_json::Value>,
    ok: bool,
    detail: String,
}

fn expectations(path: &Path, s: &Scenario) -> Result<Vec<ExpectItem>, Failure> {
    let outcomes = stormcast::expect::check_expectations(path, s, None).map_err(|e| Failure::input(e.to_string()))?;
    Ok(outcomes
        .into_iter()
        .map(|o| ExpectItem { claim: o.claim, how: o.how, path: o.path, actual: o.actual, ok: o.ok, detail: o.detail })
        .collect())
}

/// Runs the `[[expect]]` claims; one line each, exit 1 if any fails.
fn check_expectations(path: &Path, s: &Scenario) -> Result<(), Failure> {
    if s.expect.is_empty() {
        emit(&format!("expect: {} has no [[expect]] claims\n", path.display()));
        return Ok(());
    }
    let outcomes = expectations(path, s)?;
    let failed = outcomes.iter().filter(|o| !o.ok).count();
    for o in &outcomes {
        let actual = o.actual.as_ref().map_or("missing".to_string(), |v| v.to_string());
        let mark = if o.ok { paint(Tone::Good, "ok  ") } else { paint(Tone::Bad, "FAIL") };
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

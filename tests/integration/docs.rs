//! `docs/scenario-format.md`, the user reference of the scenario format, checked against
//! the code: every key the loader accepts is documented (the keys are asked of the
//! loader, not listed by hand), every `stormcast` command it shows parses with the real
//! binary and works on the files it names, and its worked example is the file it says.

use assert_cmd::Command;
use std::path::PathBuf;

const DOC: &str = "docs/scenario-format.md";
const EXAMPLE: &str = "docs/examples/three-services.toml";
const SUBCOMMANDS: [&str; 10] =
    ["run", "sweep", "check", "graph", "compare", "rollout", "init", "completions", "man", "merge"];
/// Commands that read a scenario (the others write one, or print about the binary).
const WITH_INPUTS: [&str; 6] = ["run", "sweep", "check", "graph", "compare", "rollout"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn doc() -> String {
    std::fs::read_to_string(root().join(DOC)).expect("docs/scenario-format.md exists")
}

/// A small valid scenario with `extra` text placed in one table: `top` before
/// `[simulation]`, `sim` in it, `service` in `[services.a]`, `endpoint` in its endpoint
/// (replacing its `latency` when it starts with `latency`), `tail` at the end.
fn scenario(place: &str, extra: &str) -> String {
    let pick = |p: &str| if p == place { extra } else { "" };
    let latency = if place == "endpoint" && extra.starts_with("latency") { "" } else { "latency = \"1ms\"" };
    format!(
        "{}\n[simulation]\nduration = \"10s\"\n{}\n[services.a]\n{}\n[services.a.endpoints.x]\n{latency}\n{}\n{}\n",
        pick("top"),
        pick("sim"),
        pick("service"),
        pick("endpoint"),
        pick("tail"),
    )
}

/// Every kind of table the loader reads, as (what, where, text with an unknown key).
fn tables() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("top level", "top", "zzz_unknown = 1"),
        ("[simulation]", "sim", "zzz_unknown = 1"),
        ("a service", "service", "zzz_unknown = 1"),
        ("rate_limit", "service", "rate_limit = { rate = 1, zzz_unknown = 1 }"),
        ("autoscaling", "service", "autoscaling = { zzz_unknown = 1 }"),
        ("autoscaling behavior", "service", "autoscaling = { behavior = { zzz_unknown = 1 } }"),
        ("scaling rules", "service", "autoscaling = { behavior = { scale_up = { zzz_unknown = 1 } } }"),
        (
            "a scaling policy",
            "service",
            "autoscaling = { behavior = { scale_up = { policies = [{ zzz_unknown = 1 }] } } }",
        ),
        ("a service's inline client policy", "service", "client = { zzz_unknown = 1 }"),
        ("an endpoint", "endpoint", "zzz_unknown = 1"),
        ("a distribution (latency)", "endpoint", "latency = { dist = \"constant\", zzz_unknown = 1 }"),
        ("a call", "endpoint", "calls = [ { to = \"a/x\", zzz_unknown = 1 } ]"),
        ("a parallel member", "endpoint", "calls = [ { parallel = [ { zzz_unknown = 1 } ] } ]"),
        ("a call's inline policy", "endpoint", "calls = [ { to = \"a/x\", policy = { zzz_unknown = 1 } } ]"),
        ("a distribution (network)", "sim", "network = { zzz_unknown = 1 }"),
        ("a policy", "tail", "[policies.p]\nzzz_unknown = 1"),
        ("retry", "tail", "[policies.p]\nretry = { zzz_unknown = 1 }"),
        ("retry_budget", "tail", "[policies.p]\nretry_budget = { zzz_unknown = 1 }"),
        ("circuit_breaker", "tail", "[policies.p]\ncircuit_breaker = { zzz_unknown = 1 }"),
        ("bulkhead", "tail", "[policies.p]\nbulkhead = { zzz_unknown = 1 }"),
        ("a load", "tail", "[[load]]\nzzz_unknown = 1"),
        ("a profile step", "tail", "[[load]]\nprofile = [ { zzz_unknown = 1 } ]"),
        ("a distribution (think_time)", "tail", "[[load]]\nthink_time = { zzz_unknown = 1 }"),
        ("a fault", "tail", "[[fault]]\nzzz_unknown = 1"),
        ("an slo", "tail", "[slo.l]\nzzz_unknown = 1"),
        ("gates", "tail", "[gates]\nzzz_unknown = 1"),
        ("expect", "tail", "[[expect]]\nzzz_unknown = 1"),
    ]
}

/// The keys the loader accepts in one table, from the help of its unknown-key error
/// ("valid keys are: a, b, c").
fn valid_keys(what: &str, text: &str) -> Vec<String> {
    let err = match stormcast::scenario::load_str("keys.toml", text) {
        Ok(_) => panic!("{what}: an unknown key was accepted:\n{text}"),
        Err(e) => e,
    };
    let d = err.diagnostics().first().unwrap_or_else(|| panic!("{what}: no diagnostic: {err}"));
    assert!(d.message.contains("unknown key `zzz_unknown`"), "{what}: unexpected error `{}`:\n{text}", d.message);
    let help = d.help.as_deref().unwrap_or_default();
    let list = help.split_once("valid keys are: ").map(|(_, l)| l).unwrap_or_else(|| panic!("{what}: help `{help}`"));
    list.split(", ").map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect()
}

#[test]
fn every_key_the_loader_accepts_is_documented() {
    let doc = doc();
    let mut missing = Vec::new();
    let mut seen = 0;
    for (what, place, extra) in tables() {
        let keys = valid_keys(what, &scenario(place, extra));
        assert!(!keys.is_empty(), "{what}: no keys found");
        for key in keys {
            seen += 1;
            if !doc.contains(&format!("`{key}`")) {
                missing.push(format!("`{key}` ({what})"));
            }
        }
    }
    // The loader's tables hold well over a hundred keys in all: a parse that silently
    // found none would not pass.
    assert!(seen > 100, "only {seen} keys found");
    assert!(missing.is_empty(), "keys the loader accepts but {DOC} does not mention:\n{}", missing.join("\n"));
}

#[test]
fn the_key_lists_come_from_the_loader() {
    // Spot checks that the lists are the loader's own, table by table.
    let keys = |what: &str, place: &str, extra: &str| valid_keys(what, &scenario(place, extra));
    assert!(keys("top", "top", "zzz_unknown = 1").contains(&"simulation".to_string()));
    let budget = keys("budget", "tail", "[policies.p]\nretry_budget = { zzz_unknown = 1 }");
    assert!(budget.contains(&"token_ratio".to_string()), "{budget:?}");
    let dist = keys("dist", "endpoint", "latency = { dist = \"constant\", zzz_unknown = 1 }");
    assert!(dist.contains(&"quantiles".to_string()) && dist.contains(&"alpha".to_string()), "{dist:?}");
}

/// Splits a shell command line into words: single and double quotes group, a `#`
/// outside quotes starts a comment, and a pipe or redirection ends the command.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    in_word = true;
                }
                '#' | '|' | '>' | '<' if !in_word || c != '#' => break,
                c if c.is_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                c => {
                    word.push(c);
                    in_word = true;
                }
            },
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Every `stormcast ...` line of the doc's `sh` code blocks, as words after `stormcast`.
fn doc_commands(doc: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in doc.lines() {
        let t = line.trim();
        if let Some(lang) = t.strip_prefix("```") {
            in_sh = !in_sh && (lang == "sh" || lang == "bash" || lang == "console");
            continue;
        }
        let t = t.strip_prefix("$ ").unwrap_or(t);
        if in_sh && let Some(rest) = t.strip_prefix("stormcast ") {
            // The command itself: up to a pipe, a redirection or a comment.
            let rest =
                rest.split([' ']).take_while(|w| !["|", ">", "#", "\\"].contains(w)).collect::<Vec<_>>().join(" ");
            out.push((t.to_string(), shell_words(&rest)));
        }
    }
    out
}

/// The scenario, `--change` and `--set` arguments of a command (what `check` takes).
fn inputs(words: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 1;
    let mut positional = 0;
    while i < words.len() {
        let w = &words[i];
        if w == "--change" || w == "--set" {
            out.extend([w.clone(), words[i + 1].clone()]);
            i += 2;
            continue;
        }
        if w.starts_with("--") {
            // An option with a value, unless it is a known flag.
            let flag = ["--expect", "--quiet", "--all-warnings", "--allow-ungated"].contains(&w.as_str());
            i += if flag || w.contains('=') { 1 } else { 2 };
            continue;
        }
        if positional == 0 {
            out.insert(0, w.clone());
        }
        positional += 1;
        i += 1;
    }
    out
}

/// Every `stormcast` command the README and docs show in `sh` blocks parses, and its
/// scenario and overlays load (the scenario reference's own, and the others').
#[test]
fn every_command_in_the_doc_parses_and_its_inputs_load() {
    let doc = doc();
    let mut commands = doc_commands(&doc);
    assert!(commands.len() >= 4, "expected the doc's commands, found {commands:?}");
    for other in
        ["README.md", "docs/outputs.md", "docs/performance.md", "docs/concepts.md", "docs/cli.md", "docs/rollout.md"]
    {
        let text = std::fs::read_to_string(root().join(other)).unwrap();
        let found = doc_commands(&text);
        assert!(!found.is_empty() || other != "README.md", "README shows stormcast commands");
        commands.extend(found);
    }
    for (line, words) in &commands {
        let sub = words.first().map(String::as_str).unwrap_or_default();
        assert!(SUBCOMMANDS.contains(&sub), "`{line}`: unknown subcommand `{sub}`");
        // The command line parses: clap refuses unknown options and bad values before
        // it looks at `--help`, and `--help` makes it do nothing else.
        Command::new(env!("CARGO_BIN_EXE_stormcast")).current_dir(root()).args(words).arg("--help").assert().success();
        // `merge` reads partial results, not scenarios (tests/integration/shard.rs runs it).
        if !WITH_INPUTS.contains(&sub) {
            continue;
        }
        // Its inputs load: a `check` is run as written (claims included); any other
        // command's scenario and overlays are checked.
        let check: Vec<String> =
            if sub == "check" { words.clone() } else { [vec!["check".to_string()], inputs(words)].concat() };
        let out = Command::new(env!("CARGO_BIN_EXE_stormcast")).current_dir(root()).args(&check).output().unwrap();
        assert!(
            out.status.success(),
            "`{line}`: `stormcast {}` failed:\n{}{}",
            check.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_worked_example_is_the_file_it_names_and_its_claims_hold() {
    let doc = doc();
    let file = std::fs::read_to_string(root().join(EXAMPLE)).unwrap();
    assert!(doc.contains(&format!("```toml\n{file}```")), "the worked example in {DOC} differs from {EXAMPLE}");
    Command::new(env!("CARGO_BIN_EXE_stormcast"))
        .current_dir(root())
        .args(["check", EXAMPLE, "--expect"])
        .assert()
        .success();
}

#[test]
fn shell_words_split_like_a_shell() {
    let w = shell_words("check a.toml --set 'p.x={ kind = \"t\" }' # comment");
    assert_eq!(w, ["check", "a.toml", "--set", "p.x={ kind = \"t\" }"]);
    assert_eq!(shell_words("graph a.toml | dot -Tpng > g.png"), ["graph", "a.toml"]);
    let cmd = ["run", "s.toml", "--seed", "7", "--change", "c.toml", "--set", "k=v", "--out", "o"].map(String::from);
    assert_eq!(inputs(&cmd), ["s.toml", "--change", "c.toml", "--set", "k=v"]);
}

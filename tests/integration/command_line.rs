//! The command line's conveniences (docs/cli.md): colour, completions, man pages,
//! `--format json` and SARIF, `init` and its templates, `-` for standard input, and
//! `--vary` over durations and lists; the sequential compare's options.

use assert_cmd::Command;
use serde_json::Value;

fn stormcast() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stormcast"));
    c.current_dir(env!("CARGO_MANIFEST_DIR")).env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
    c
}

fn stdout_of(args: &[&str]) -> String {
    let out = stormcast().args(args).output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

const ESC: &str = "\u{1b}[";

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let args = ["run", "scenarios/checkout.toml"];
    let plain = stdout_of(&args);
    assert!(plain.contains("VIOLATED") && !plain.contains(ESC), "a pipe gets no colour");
    let always = stdout_of(&["--color", "always", "run", "scenarios/checkout.toml"]);
    assert!(always.contains(&format!("{ESC}1m{ESC}31mVIOLATED")) || always.contains("31mVIOLATED"), "{always}");
    assert!(always.contains("31mUNHEALTHY"), "unhealthy services are red");
    // Stripped of its codes, the coloured table is the plain one: colour never moves a column.
    let stripped = always.split(ESC).enumerate().fold(String::new(), |mut s, (i, part)| {
        s.push_str(if i == 0 { part } else { part.split_once('m').map_or(part, |(_, rest)| rest) });
        s
    });
    assert_eq!(stripped, plain);
    let never = stormcast().args(["--color", "never", "run", "scenarios/checkout.toml"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&never.stdout).contains(ESC));
    // NO_COLOR wins over auto, not over always.
    let out = stormcast().env("NO_COLOR", "1").args(["check", "missing.toml"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains(ESC));
    let out = stormcast().args(["--color", "always", "check", "missing.toml"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).starts_with(ESC), "errors are red");
    let compare = stdout_of(&[
        "--color",
        "always",
        "compare",
        "scenarios/checkout.toml",
        "--set",
        "services.payment.instances=4",
        "--seeds",
        "2",
        "-q",
        "--max-p99-increase",
        "10",
    ]);
    // A failed gate and verdict are red, a passed gate green.
    assert!(compare.contains("31mFAIL") && compare.contains("31mfail") && compare.contains("32mpass"), "{compare}");
}

#[test]
fn completions_for_every_shell_name_every_command() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let text = stdout_of(&["completions", shell]);
        for command in ["run", "sweep", "compare", "check", "graph", "init"] {
            assert!(text.contains(command), "{shell}: no `{command}`");
        }
        assert!(text.contains("--vary"), "{shell}: options are completed too");
    }
    stormcast().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn man_pages_come_from_the_clap_definitions() {
    let top = stdout_of(&["man"]);
    assert!(top.starts_with(".ie") || top.contains(".TH stormcast 1"), "{}", &top[..200.min(top.len())]);
    assert!(top.contains("completions") && top.contains("\\-\\-color"));
    let run = stdout_of(&["man", "run"]);
    assert!(run.contains(".TH stormcast\\-run 1") || run.contains("stormcast\\-run"), "{run}");
    assert!(run.contains("\\-\\-seed") && run.contains("\\-\\-max\\-events"));
    stormcast().args(["man", "nope"]).assert().code(2);
}

fn json_of(args: &[&str]) -> Value {
    let text = stdout_of(args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}\n{text}"))
}

#[test]
fn json_formats_print_the_files_the_out_folder_gets() {
    let sweep = json_of(&["sweep", "scenarios/retry-storm.toml", "--seeds", "3", "-q", "--format", "json"]);
    assert_eq!(sweep["seeds"], 3);
    assert!(sweep["risks"]["users"]["slo_risk"]["p"].is_number());
    let vary = json_of(&[
        "sweep",
        "scenarios/capacity.toml",
        "--seeds",
        "2",
        "-q",
        "--vary",
        "services.api.instances=2..3",
        "--format",
        "json",
    ]);
    assert_eq!(vary["points"].as_array().unwrap().len(), 2);
    let compare = json_of(&[
        "compare",
        "scenarios/checkout.toml",
        "--set",
        "services.payment.instances=4",
        "--seeds",
        "2",
        "-q",
        "--format",
        "json",
    ]);
    assert!(compare["verdict"].is_string() && compare["paired"].is_object());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    stormcast()
        .args(["sweep", "scenarios/retry-storm.toml", "--seeds", "3", "-q", "--out", out.to_str().unwrap()])
        .assert()
        .success();
    let written: Value = serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(written, sweep, "--format json prints sweep.json");
}

#[test]
fn check_json_counts_estimates_and_locates_warnings() {
    let report = json_of(&["check", "scenarios/retry-storm.toml", "--format", "json"]);
    assert_eq!(report["valid"], true);
    assert!(report["estimated_events"].as_f64().unwrap() > 0.0);
    let warnings = report["warnings"].as_array().unwrap();
    assert!(!warnings.is_empty(), "retry-storm has retry warnings");
    let located = warnings.iter().find(|w| w["line"].is_number()).expect("a warning with a line");
    assert_eq!(located["file"], "scenarios/retry-storm.toml");
    let stdin = "[simulation]\nduration = 3\n";
    let out = stormcast().args(["check", "-", "--format", "json"]).write_stdin(stdin).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let invalid: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(invalid["valid"], false);
    assert_eq!(invalid["errors"][0]["file"], "<stdin>");
    assert_eq!(invalid["errors"][0]["line"], 2);
}

/// The parts of the SARIF 2.1.0 schema (OASIS) a code-review tool reads, written as a
/// JSON Schema: the official schema file is not vendored here.
fn sarif_subset_schema() -> Value {
    serde_json::from_str(SARIF_SUBSET).unwrap()
}

const SARIF_SUBSET: &str = r##"{
 "$schema": "https://json-schema.org/draft/2020-12/schema",
 "type": "object",
 "required": [
  "version",
  "runs"
 ],
 "properties": {
  "$schema": {
   "type": "string",
   "format": "uri"
  },
  "version": {
   "const": "2.1.0"
  },
  "runs": {
   "type": "array",
   "minItems": 1,
   "items": {
    "$ref": "#/$defs/run"
   }
  }
 },
 "$defs": {
  "message": {
   "type": "object",
   "required": [
    "text"
   ],
   "properties": {
    "text": {
     "type": "string"
    }
   }
  },
  "run": {
   "type": "object",
   "required": [
    "tool"
   ],
   "additionalProperties": false,
   "properties": {
    "tool": {
     "type": "object",
     "required": [
      "driver"
     ],
     "additionalProperties": false,
     "properties": {
      "driver": {
       "$ref": "#/$defs/driver"
      }
     }
    },
    "results": {
     "type": "array",
     "items": {
      "$ref": "#/$defs/result"
     }
    }
   }
  },
  "driver": {
   "type": "object",
   "required": [
    "name"
   ],
   "additionalProperties": false,
   "properties": {
    "name": {
     "type": "string"
    },
    "version": {
     "type": "string"
    },
    "rules": {
     "type": "array",
     "items": {
      "type": "object",
      "required": [
       "id"
      ],
      "additionalProperties": false,
      "properties": {
       "id": {
        "type": "string"
       },
       "shortDescription": {
        "$ref": "#/$defs/message"
       }
      }
     }
    }
   }
  },
  "result": {
   "type": "object",
   "required": [
    "message"
   ],
   "additionalProperties": false,
   "properties": {
    "ruleId": {
     "type": "string"
    },
    "ruleIndex": {
     "type": "integer",
     "minimum": 0
    },
    "level": {
     "enum": [
      "none",
      "note",
      "warning",
      "error"
     ]
    },
    "message": {
     "$ref": "#/$defs/message"
    },
    "locations": {
     "type": "array",
     "items": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
       "physicalLocation": {
        "$ref": "#/$defs/physicalLocation"
       }
      }
     }
    }
   }
  },
  "physicalLocation": {
   "type": "object",
   "additionalProperties": false,
   "properties": {
    "artifactLocation": {
     "type": "object",
     "additionalProperties": false,
     "properties": {
      "uri": {
       "type": "string",
       "format": "uri-reference"
      }
     }
    },
    "region": {
     "type": "object",
     "additionalProperties": false,
     "properties": {
      "startLine": {
       "type": "integer",
       "minimum": 1
      },
      "startColumn": {
       "type": "integer",
       "minimum": 1
      }
     }
    }
   }
  }
 }
}"##;

#[test]
fn check_sarif_annotates_warnings_and_errors_at_their_lines() {
    let validator = jsonschema::draft202012::new(&sarif_subset_schema()).unwrap();
    let log = json_of(&["check", "scenarios/retry-storm.toml", "--format", "sarif"]);
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    let r = &results[0];
    assert_eq!(r["level"], "warning");
    let place = &r["locations"][0]["physicalLocation"];
    assert_eq!(place["artifactLocation"]["uri"], "scenarios/retry-storm.toml");
    let line = place["region"]["startLine"].as_u64().expect("a located warning") as usize;
    // The line named holds one of the keys the warning names.
    let text = std::fs::read_to_string("scenarios/retry-storm.toml").unwrap();
    let written = text.lines().nth(line - 1).unwrap();
    let message = r["message"]["text"].as_str().unwrap();
    let keys = message.rsplit_once("(keys: ").map(|(_, k)| k.trim_end_matches(')')).unwrap_or_default();
    assert!(
        keys.split(", ").any(|k| k.split('.').any(|part| written.contains(part))),
        "line {line} `{written}` for keys {keys}"
    );
    // An invalid scenario: its errors, located, at level error; exit 2.
    let stdin = "[simulation]\nduraton = \"1s\"\n";
    let out = stormcast().args(["check", "-", "--format", "sarif"]).write_stdin(stdin).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(validator.iter_errors(&log).next().is_none());
    let r = &log["runs"][0]["results"][0];
    assert_eq!((r["level"].as_str(), r["ruleId"].as_str()), (Some("error"), Some("invalid-scenario")));
    assert_eq!(r["locations"][0]["physicalLocation"]["region"]["startLine"], 2);
}

#[test]
fn init_writes_templates_that_check_accepts_and_keeps_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    for template in ["web-app", "queue-worker", "fan-out"] {
        let file = dir.path().join(format!("{template}.toml"));
        let f = file.to_str().unwrap();
        stormcast().args(["init", f, "--template", template]).assert().success();
        let out = stormcast().args(["check", f]).output().unwrap();
        assert!(out.status.success(), "{template}: {}", String::from_utf8_lossy(&out.stderr));
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.lines().filter(|l| l.trim_start().starts_with('#')).count() >= 8, "{template} is commented");
        // The template runs, and does what its comments say it shows: a fault.
        stormcast().args(["run", f]).assert().success();
        let again = stormcast().args(["init", f, "--template", template]).output().unwrap();
        assert_eq!(again.status.code(), Some(2), "an existing file is kept");
        stormcast().args(["init", f, "--template", template, "--force"]).assert().success();
    }
    let printed = stdout_of(&["init", "-"]);
    assert!(printed.contains("[simulation]"));
}

#[test]
fn a_scenario_from_stdin_runs_like_its_file() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/checkout.toml")).unwrap();
    let piped = stormcast().args(["run", "-", "--format", "json"]).write_stdin(text.clone()).output().unwrap();
    assert!(piped.status.success());
    let from_file = json_of(&["run", "scenarios/checkout.toml", "--format", "json"]);
    let mut piped: Value = serde_json::from_slice(&piped.stdout).unwrap();
    assert_eq!(piped["scenario"], "<stdin>");
    piped["scenario"] = from_file["scenario"].clone();
    assert_eq!(piped, from_file);
    // A --vary reads standard input once and loads it for every point.
    let out = stormcast()
        .args(["sweep", "-", "--seeds", "1", "-q", "--vary", "services.payment.instances=3..4", "--format", "json"])
        .write_stdin(text)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn vary_takes_durations_and_lists() {
    let labels = |vary: &[&str]| -> Vec<String> {
        let mut args = vec!["sweep", "scenarios/capacity.toml", "--seeds", "1", "-q", "--format", "json"];
        for v in vary {
            args.extend(["--vary", v]);
        }
        let result = json_of(&args);
        result["points"].as_array().unwrap().iter().map(|p| p["label"].as_str().unwrap().to_string()).collect()
    };
    // START's unit names every value, whatever unit END and STEP are written in.
    let timeouts = labels(&["policies.db-client.timeout=100ms..0.4s:100ms"]);
    assert_eq!(timeouts, ["100ms", "200ms", "300ms", "400ms"].map(|v| format!("policies.db-client.timeout={v}")));
    let balancers = labels(&["services.api.balancer=round_robin,least_requests"]);
    assert_eq!(balancers, ["services.api.balancer=round_robin", "services.api.balancer=least_requests"]);
    let pairs = labels(&["services.api.balancer=round_robin,least_requests", "services.api.instances=2..3"]);
    assert_eq!(pairs.len(), 4);
    for bad in ["k=1ms..2ms", "k=a,,b", "k=a,a", "k=only", "k=5ms..1ms:1ms"] {
        let out = stormcast().args(["sweep", "scenarios/capacity.toml", "--seeds", "1", "--vary", bad]).output();
        assert_eq!(out.unwrap().status.code(), Some(2), "--vary {bad} is refused");
    }
}

/// `compare --seeds auto` (docs/cli.md, "Sequential compare"): the table says how many
/// seeds ran and why the run stopped; --max-seeds and --batch go with auto only, a batch
/// may not exceed the budget, and a sequential compare is not sharded (exit 2 each).
#[test]
fn a_sequential_compare_says_how_many_seeds_ran_and_why_it_stopped() {
    let base = ["compare", "scenarios/retry-storm-budget.toml", "scenarios/retry-storm.toml", "--quiet"];
    let out = stormcast()
        .args(base)
        .args(["--seeds", "auto", "--max-seeds", "20", "--batch", "5", "--max-metastable-risk-increase", "0.02"])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{table}");
    assert!(table.contains("stopped after 5 of at most 20 seeds (1 of 4 looks): a gate failed"), "{table}");
    assert!(table.contains("estimate [look's CI]"), "{table}");
    for (args, message) in [
        (&["--seeds", "10", "--max-seeds", "20"][..], "--max-seeds and --batch go with --seeds auto"),
        (&["--seeds", "auto", "--max-seeds", "20", "--batch", "30"], "--batch 30 is more than --max-seeds 20"),
        (&["--seeds", "auto", "--shard", "0/2"], "--seeds auto cannot be sharded"),
    ] {
        let out = stormcast().args(base).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let out = stormcast().args(base).args(["--seeds", "often"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("or `auto`"));
}

/// The base-side cache (docs/cli.md, "The base-side cache"): a second compare reads the
/// base seeds the first kept under --cache-dir, a third finds every entry corrupt and
/// simulates again, and all three write the very files of a --no-cache compare.
#[test]
fn the_base_side_cache_writes_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let compare = |out: &str, extra: &[&str]| {
        let output = stormcast()
            .args(["compare", "scenarios/retry-storm-budget.toml", "scenarios/retry-storm.toml", "--seeds", "4"])
            .args(["--quiet", "--max-metastable-risk-increase", "0.02", "--out"])
            .arg(dir.path().join(out))
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{out}: {}", String::from_utf8_lossy(&output.stderr));
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path().join(out))
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
            .collect();
        files.sort();
        files
    };
    let cache_dir = cache.to_str().unwrap();
    let plain = compare("plain", &["--no-cache"]);
    assert!(!cache.exists(), "--no-cache wrote a cache");
    assert!(plain == compare("first", &["--cache-dir", cache_dir]), "keeping the base seeds changed a file");
    let entries: Vec<std::path::PathBuf> = walk(&cache);
    assert_eq!(entries.len(), 4, "one entry per base seed: {entries:?}");
    assert!(plain == compare("second", &["--cache-dir", cache_dir]), "reading the base seeds changed a file");
    for entry in &entries {
        std::fs::write(entry, b"{\"format\": \"not a record\"").unwrap();
    }
    assert!(plain == compare("third", &["--cache-dir", cache_dir]), "corrupt entries changed a file");
    assert!(entries.iter().all(|e| std::fs::read(e).unwrap().starts_with(b"{\"format\":\"stormcast seed record")));
}

/// Every file under `dir`, at any depth.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

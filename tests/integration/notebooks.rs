//! The teaching notebooks (`notebooks/*.ipynb`), checked without Python or network.
//!
//! Convention (see `notebooks/make_notebooks.py`): every stormcast invocation goes
//! through the helper `stormcast(...)` defined in the first code cell, or through a
//! wrapper `def NAME(*args ...)` that forwards `stormcast(*args, ...)`. The first
//! argument of each call is the subcommand as a string literal; scenario and change
//! files are string literals relative to the repository root (`"scenarios/x.toml"`).
//! The test checks the subcommands, that every `scenarios/...toml` a code cell names
//! exists, and that outputs are stripped.

use std::path::{Path, PathBuf};

const SUBCOMMANDS: [&str; 6] = ["run", "sweep", "check", "graph", "compare", "rollout"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The string literals of Python source (plain and r-prefixed; f-strings are skipped
/// since their value is not known), as (byte offset, value).
fn string_literals(src: &str) -> Vec<(usize, String)> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            q @ (b'"' | b'\'') => {
                let prefix = if i > 0 { b[i - 1].to_ascii_lowercase() } else { b' ' };
                let formatted = prefix == b'f';
                let start = i;
                let triple = b[i..].starts_with(&[q, q, q]);
                let delim = if triple { 3 } else { 1 };
                i += delim;
                let body = i;
                while i < b.len() && !(b[i..].starts_with(&[q; 3][..delim])) {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                let value = src[body..i.min(b.len())].to_string();
                i += delim;
                if !formatted {
                    out.push((start, value));
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// The first argument of every call `name(` in `src` (not its definition), as written.
fn first_args(src: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let pat = format!("{name}(");
    let mut from = 0;
    while let Some(pos) = src[from..].find(&pat) {
        let at = from + pos;
        from = at + pat.len();
        let before = src[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') || src[..at].ends_with("def ") {
            continue;
        }
        let rest = &src[from..];
        let mut depth = 0i32;
        let mut end = rest.len();
        for (k, c) in rest.char_indices() {
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' if depth == 0 => {
                    end = k;
                    break;
                }
                ')' | ']' | '}' => depth -= 1,
                ',' if depth == 0 => {
                    end = k;
                    break;
                }
                _ => {}
            }
        }
        out.push(rest[..end].trim().to_string());
    }
    out
}

/// Problems found in one notebook's JSON text; `root` resolves scenario paths.
fn check_notebook(name: &str, text: &str, root: &Path) -> (Vec<String>, usize) {
    let mut problems = Vec::new();
    let book: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return (vec![format!("{name}: not JSON: {e}")], 0),
    };
    let cells = book["cells"].as_array().cloned().unwrap_or_default();
    let mut code = String::new();
    for (k, cell) in cells.iter().enumerate() {
        if cell["cell_type"] != "code" {
            continue;
        }
        if cell["outputs"].as_array().is_some_and(|o| !o.is_empty()) {
            problems.push(format!("{name}: cell {k} has outputs (strip them)"));
        }
        if !cell["execution_count"].is_null() {
            problems.push(format!("{name}: cell {k} has an execution_count (strip it)"));
        }
        let src = match &cell["source"] {
            serde_json::Value::Array(lines) => lines.iter().filter_map(|l| l.as_str()).collect::<String>(),
            v => v.as_str().unwrap_or_default().to_string(),
        };
        code.push_str(&src);
        code.push('\n');
    }
    // The helper and the wrappers that forward to it.
    let mut callers = vec!["stormcast".to_string()];
    for line in code.lines() {
        let t = line.trim_start();
        if let Some(def) = t.strip_prefix("def ")
            && let Some((fname, params)) = def.split_once('(')
            && params.starts_with("*args")
            && fname != "stormcast"
        {
            callers.push(fname.to_string());
        }
    }
    let mut invocations = 0;
    for caller in &callers {
        for arg in first_args(&code, caller) {
            if arg.starts_with("*args") {
                continue; // a wrapper forwarding its arguments, checked at its own calls
            }
            let lit = string_literals(&arg);
            match lit.as_slice() {
                [(0, sub)] if arg.len() == sub.len() + 2 && SUBCOMMANDS.contains(&sub.as_str()) => invocations += 1,
                _ => problems.push(format!(
                    "{name}: `{caller}({arg}, ...)`: the first argument must be one of {SUBCOMMANDS:?} as a string literal"
                )),
            }
        }
    }
    for (_, s) in string_literals(&code) {
        if s.starts_with("scenarios/") && s.ends_with(".toml") && !root.join(&s).is_file() {
            problems.push(format!("{name}: names `{s}`, which does not exist"));
        }
    }
    if invocations == 0 {
        problems.push(format!("{name}: no `stormcast(\"SUBCOMMAND\", ...)` call found"));
    }
    (problems, invocations)
}

fn notebooks() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("notebooks"))
        .expect("notebooks/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
        .collect();
    v.sort();
    v
}

#[test]
fn notebooks_call_valid_subcommands_on_existing_scenarios_with_outputs_stripped() {
    let books = notebooks();
    assert!(books.len() >= 5, "expected at least 5 notebooks, found {}", books.len());
    let mut problems = Vec::new();
    for path in &books {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let (p, n) = check_notebook(&name, &text, &root());
        assert!(n > 0 || !p.is_empty(), "{name}: no invocations");
        problems.extend(p);
    }
    assert!(problems.is_empty(), "notebook problems:\n{}", problems.join("\n"));
}

fn tiny_notebook(code: &str, outputs: &str) -> String {
    serde_json::json!({
        "cells": [{ "cell_type": "code", "execution_count": null, "metadata": {},
                    "outputs": serde_json::from_str::<serde_json::Value>(outputs).unwrap(),
                    "source": code }],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 4
    })
    .to_string()
}

#[test]
fn the_notebook_check_catches_missing_scenarios_bad_subcommands_and_outputs() {
    let ok = tiny_notebook(
        "def run_ts(*args):\n    stormcast(*args, '--out', 'x')\nrun_ts(\"run\", \"scenarios/breaker.toml\")\nstormcast('sweep', 'scenarios/shop.toml', '--change', 'scenarios/changes/extra-replica.toml')\n",
        "[]",
    );
    let (p, n) = check_notebook("ok", &ok, &root());
    assert!(p.is_empty(), "{p:?}");
    assert_eq!(n, 2);

    let missing = tiny_notebook("stormcast(\"run\", \"scenarios/no-such.toml\")\n", "[]");
    let (p, _) = check_notebook("missing", &missing, &root());
    assert!(p.iter().any(|m| m.contains("scenarios/no-such.toml")), "{p:?}");

    let change = tiny_notebook(
        "stormcast(\"run\", \"scenarios/shop.toml\", \"--change\", \"scenarios/changes/nope.toml\")\n",
        "[]",
    );
    assert!(check_notebook("change", &change, &root()).0.iter().any(|m| m.contains("nope.toml")));

    let bad = tiny_notebook("stormcast(\"simulate\", \"scenarios/shop.toml\")\n", "[]");
    assert!(check_notebook("bad", &bad, &root()).0.iter().any(|m| m.contains("first argument")));

    let wrapped = tiny_notebook("def go(*args):\n    stormcast(*args)\ngo('explode')\n", "[]");
    assert!(check_notebook("wrapped", &wrapped, &root()).0.iter().any(|m| m.contains("go('explode'")));

    let dirty = tiny_notebook(
        "stormcast('check', 'scenarios/shop.toml')\n",
        r#"[{"output_type": "stream", "name": "stdout", "text": "ok"}]"#,
    );
    assert!(check_notebook("dirty", &dirty, &root()).0.iter().any(|m| m.contains("outputs")));
}

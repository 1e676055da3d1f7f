//! Sharded commands (`--shard I/N`) merged with `stormcast merge`: the same files,
//! stdout and exit code as the unsharded command, for several N; and the refusals
//! (docs/distributed.md).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn stormcast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stormcast")).current_dir(root()).args(args).output().unwrap()
}

/// Every file of `dir` but the lock, by name, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != ".stormcast.lock")
        .map(|p| (p.file_name().unwrap().to_string_lossy().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

/// Runs `args` whole into `--out`, then split into each of `counts` shards and merged,
/// and asserts the merged files, stdout and exit code are the whole command's.
fn assert_shards_merge_exactly(name: &str, args: &[&str], counts: &[u64]) {
    let tmp = tempfile::tempdir().unwrap();
    let whole_dir = tmp.path().join("whole");
    let whole = stormcast(&[args, &["--out", whole_dir.to_str().unwrap(), "-q"]].concat());
    assert!(whole.status.code().unwrap() < 2, "{name}: {}", String::from_utf8_lossy(&whole.stderr));
    let expected = files(&whole_dir);
    assert!(expected.len() >= 3, "{name}: {expected:?}");
    for &n in counts {
        let parts = tmp.path().join(format!("parts-{n}"));
        // Shards in reverse order: the merge sorts them.
        for i in (0..n).rev() {
            let shard = format!("{i}/{n}");
            let out = stormcast(&[args, &["--shard", &shard, "--out", parts.to_str().unwrap(), "-q"]].concat());
            assert!(out.status.success(), "{name} {shard}: {}", String::from_utf8_lossy(&out.stderr));
        }
        let partials: Vec<String> =
            (0..n).map(|i| parts.join(format!("partial-{i}-of-{n}.json")).display().to_string()).collect();
        let merged_dir = tmp.path().join(format!("merged-{n}"));
        let mut merge = vec!["merge"];
        merge.extend(partials.iter().map(String::as_str));
        merge.extend(["--out", merged_dir.to_str().unwrap()]);
        let merged = stormcast(&merge);
        assert_eq!(merged.status.code(), whole.status.code(), "{name}, {n} shards: exit code");
        assert_eq!(merged.stdout, whole.stdout, "{name}, {n} shards: stdout");
        let got = files(&merged_dir);
        assert_eq!(got.iter().map(|f| &f.0).collect::<Vec<_>>(), expected.iter().map(|f| &f.0).collect::<Vec<_>>());
        for ((file, bytes), (_, want)) in got.iter().zip(&expected) {
            assert!(bytes == want, "{name}, {n} shards: {file} differs");
        }
    }
}

#[test]
fn sharded_sweeps_merge_to_the_sweep() {
    // 7 shards of 6 seeds: one shard is empty, and merges all the same.
    assert_shards_merge_exactly("sweep", &["sweep", "scenarios/retry-storm.toml", "--seeds", "6"], &[1, 2, 4, 7]);
    assert_shards_merge_exactly(
        "sweep with overlays",
        &[
            "sweep",
            "scenarios/shop.toml",
            "--change",
            "scenarios/changes/extra-replica.toml",
            "--set",
            "services.web.workers=12",
            "--seeds",
            "5",
            "--first-seed",
            "40",
        ],
        &[3],
    );
}

#[test]
fn sharded_vary_sweeps_merge_to_the_vary_sweep() {
    let args = [
        "sweep",
        "scenarios/capacity.toml",
        "--seeds",
        "5",
        "--threshold",
        "0.1",
        "--vary",
        "services.api.instances=2..4",
    ];
    assert_shards_merge_exactly("vary", &args, &[2, 3]);
}

#[test]
fn sharded_compares_merge_to_the_compare_with_its_exit_code() {
    let failing =
        ["compare", "scenarios/shop.toml", "--change", "scenarios/changes/remove-retry-budget.toml", "--seeds", "8"];
    assert_eq!(stormcast(&[&failing[..], &["-q"]].concat()).status.code(), Some(1));
    assert_shards_merge_exactly("compare (exit 1)", &failing, &[3]);
    let passing = [
        "compare",
        "scenarios/checkout.toml",
        "--set",
        "services.payment.instances=4",
        "--seeds",
        "6",
        "--max-slo-risk",
        "1.01",
        "--max-slo-risk-increase",
        "1.01",
        "--max-p99-increase",
        "10",
    ];
    assert_eq!(stormcast(&[&passing[..], &["-q"]].concat()).status.code(), Some(0));
    assert_shards_merge_exactly("compare (exit 0)", &passing, &[2]);
}

/// Writes shards `indices` of `n` of a 6-seed sweep of `scenario` into `dir`.
fn shards(scenario: &str, dir: &Path, n: u64, indices: &[u64]) -> Vec<String> {
    indices
        .iter()
        .map(|i| {
            let shard = format!("{i}/{n}");
            let out =
                stormcast(&["sweep", scenario, "--seeds", "6", "--shard", &shard, "--out", dir.to_str().unwrap()]);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            dir.join(format!("partial-{i}-of-{n}.json")).display().to_string()
        })
        .collect()
}

fn merge_error(partials: &[String]) -> String {
    let mut args = vec!["merge"];
    args.extend(partials.iter().map(String::as_str));
    let out = stormcast(&args);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn mismatched_missing_and_overlapping_partials_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let thirds = shards("scenarios/retry-storm.toml", tmp.path(), 3, &[0, 1, 2]);
    let missing = merge_error(&[thirds[0].clone(), thirds[2].clone()]);
    assert!(missing.contains("seeds 3 to 4 are in no partial given"), "{missing}");
    assert!(missing.contains("run the missing shards again (--shard 1/3)"), "{missing}");
    let halves = shards("scenarios/retry-storm.toml", tmp.path(), 2, &[0]);
    let overlap = merge_error(&[thirds[1].clone(), thirds[2].clone(), halves[0].clone()]);
    assert!(overlap.contains("overlap: both hold seeds 3 to 3"), "{overlap}");
    let twice = merge_error(&[thirds[0].clone(), thirds[0].clone(), thirds[1].clone(), thirds[2].clone()]);
    assert!(twice.contains("overlap: both hold seeds 1 to 2"), "{twice}");
    let other_dir = tmp.path().join("other");
    let other = shards("scenarios/shop.toml", &other_dir, 3, &[1]);
    let foreign = merge_error(&[thirds[0].clone(), other[0].clone(), thirds[2].clone()]);
    assert!(
        foreign.contains("is not a shard of the same command as") && foreign.contains("scenario hashes differ"),
        "{foreign}"
    );
    // A partial of another format version.
    let text =
        std::fs::read_to_string(&thirds[1]).unwrap().replacen("\"partial_format\": 1", "\"partial_format\": 2", 1);
    let future = tmp.path().join("future.json");
    std::fs::write(&future, text).unwrap();
    let message = merge_error(&[future.display().to_string()]);
    assert!(message.contains("partial format 2 is not the format 1 this stormcast reads"), "{message}");
    let message = merge_error(&["scenarios/shop.toml".to_string()]);
    assert!(message.contains("scenarios/shop.toml is not a stormcast partial result"), "{message}");
}

#[test]
fn a_missing_shard_run_again_completes_the_merge() {
    // Resumption: only the shard that is missing runs again; the others are kept.
    let tmp = tempfile::tempdir().unwrap();
    let mut partials = shards("scenarios/retry-storm.toml", tmp.path(), 3, &[0, 2]);
    partials.extend(shards("scenarios/retry-storm.toml", tmp.path(), 3, &[1]));
    let mut args = vec!["merge"];
    args.extend(partials.iter().map(String::as_str));
    let merged = stormcast(&args);
    let whole = stormcast(&["sweep", "scenarios/retry-storm.toml", "--seeds", "6", "-q"]);
    assert!(merged.status.success());
    assert_eq!(merged.stdout, whole.stdout);
    // `--format json` prints sweep.json, as the sweep's does.
    let merged = stormcast(&[&args[..], &["--format", "json"]].concat());
    let whole = stormcast(&["sweep", "scenarios/retry-storm.toml", "--seeds", "6", "-q", "--format", "json"]);
    assert!(merged.status.success());
    assert_eq!(merged.stdout, whole.stdout);
}

#[test]
fn shard_options_are_checked() {
    let bad = stormcast(&["sweep", "scenarios/shop.toml", "--seeds", "4", "--shard", "3/3", "--out", "/tmp/x"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("index 3 is not below the shard count 3"));
    let no_out = stormcast(&["sweep", "scenarios/shop.toml", "--seeds", "4", "--shard", "0/3"]);
    assert_eq!(no_out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_out.stderr).contains("--shard needs --out DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stormcast"))
        .current_dir(root())
        .args(["sweep", "scenarios/shop.toml", "--seeds", "4", "--shard", "auto/2", "--out"])
        .arg(tmp.path())
        .env("JOB_COMPLETION_INDEX", "1")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(tmp.path().join("partial-1-of-2.json").exists());
    let out = Command::new(env!("CARGO_BIN_EXE_stormcast"))
        .current_dir(root())
        .args([
            "sweep",
            "scenarios/shop.toml",
            "--seeds",
            "4",
            "--shard",
            "auto/2",
            "--shard-index-var",
            "MY_SHARD",
            "--out",
        ])
        .arg(tmp.path())
        .env("MY_SHARD", "0")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(tmp.path().join("partial-0-of-2.json").exists());
}

/// The `sh` blocks of `doc` that run stormcast alone (not Dask: that is
/// `.ci/distributed.sh`'s) and shard, with `--seeds N` lowered to 6.
fn doc_blocks(doc: &str) -> Vec<String> {
    let doc = std::fs::read_to_string(root().join(doc)).unwrap();
    let blocks: Vec<String> =
        doc.split("```sh\n").skip(1).map(|b| b.split("```").next().unwrap().to_string()).collect();
    blocks.into_iter().filter(|b| b.contains("--shard") && !b.contains("dask")).map(|b| lower_seeds(&b)).collect()
}

/// `--seeds N` replaced by `--seeds 6` (without a regex crate).
fn lower_seeds(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("--seeds ") {
        out.push_str(&rest[..at + "--seeds ".len()]);
        rest = rest[at + "--seeds ".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('6');
    }
    out.push_str(rest);
    out
}

/// Runs `script` with `sh -e` in a fresh folder that has this repository's
/// `scenarios/` and `stormcast` on its PATH; returns the folder.
fn run_doc_block(script: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root().join("scenarios"), tmp.path().join("scenarios")).unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_stormcast"), bin.join("stormcast")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("sh").arg("-ec").arg(script).current_dir(tmp.path()).env("PATH", path).output().unwrap();
    assert!(out.status.success(), "{script}\n{}", String::from_utf8_lossy(&out.stderr));
    tmp
}

#[test]
fn the_docs_commands_merge_to_the_unsharded_sweep() {
    let blocks = doc_blocks("docs/distributed.md");
    assert_eq!(blocks.len(), 2, "the contract and the worked example: {blocks:?}");
    // The contract: 8 shards of 6 seeds (two of them empty), merged.
    let contract = run_doc_block(&blocks[0]);
    let whole = tempfile::tempdir().unwrap();
    let out =
        stormcast(&["sweep", "scenarios/shop.toml", "--seeds", "6", "-q", "--out", whole.path().to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(files(&contract.path().join("results")), files(whole.path()));
    // The worked example compares its own folders (`cmp` under `sh -e`); all files too.
    let example = run_doc_block(&blocks[1]);
    assert_eq!(files(&example.path().join("out/shop-merged")), files(&example.path().join("out/shop")));
    // The README's: 4 shards of a retry storm.
    let readme = doc_blocks("README.md");
    assert_eq!(readme.len(), 1, "{readme:?}");
    let merged = run_doc_block(&readme[0]);
    let whole = tempfile::tempdir().unwrap();
    let args = ["sweep", "scenarios/retry-storm.toml", "--seeds", "6", "-q", "--out", whole.path().to_str().unwrap()];
    assert!(stormcast(&args).status.success());
    assert_eq!(files(&merged.path().join("results")), files(whole.path()));
}

/// Every key of a JSON value, recursively.
fn keys(value: &serde_json::Value, into: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                into.push(k.clone());
                keys(v, into);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| keys(v, into)),
        _ => {}
    }
}

#[test]
fn every_field_of_a_partial_is_documented() {
    let doc = std::fs::read_to_string(root().join("docs/outputs.md")).unwrap();
    let section = doc.split("## partial-I-of-N.json").nth(1).unwrap().split("\n## ").next().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let vary = ["sweep", "scenarios/capacity.toml", "--seeds", "2", "--vary", "services.api.instances=2..3"];
    let compare =
        ["compare", "scenarios/checkout.toml", "--change", "scenarios/changes/extra-replica.toml", "--seeds", "2"];
    let mut found = Vec::new();
    for (args, name) in [(&vary[..], "vary"), (&compare[..], "compare")] {
        let out_dir = format!("{dir}/{name}");
        let out = stormcast(&[args, &["--shard", "0/1", "--out", &out_dir]].concat());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = std::fs::read_to_string(format!("{out_dir}/partial-0-of-1.json")).unwrap();
        keys(&serde_json::from_str(&text).unwrap(), &mut found);
    }
    found.sort();
    found.dedup();
    let named = |k: &String| section.contains(&format!("`{k}`")) || section.contains(&format!("`configs[].{k}`"));
    let missing: Vec<&String> = found.iter().filter(|k| !named(k)).collect();
    assert!(found.len() > 40, "{found:?}");
    assert!(missing.is_empty(), "fields of a partial docs/outputs.md does not name: {missing:?}");
}

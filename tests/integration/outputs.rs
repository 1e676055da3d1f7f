//! What `--out` ends up holding, through the real binary: one command's whole set of
//! files or the folder as it was, one command at a time, and nothing written through a
//! link found there.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn stormcast() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stormcast"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stormcast-outputs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Each command with `--out`, with quick arguments, and the files it writes.
const COMMANDS: [(&[&str], &[&str]); 4] = [
    (&["run", "scenarios/checkout.toml"], &["summary.json", "timeseries.csv", "run.png", "run.svg", "report.html"]),
    (
        &["sweep", "scenarios/checkout.toml", "--seeds", "2", "--quiet"],
        &["sweep.json", "fan.png", "fan.svg", "risk.png", "risk.svg", "recovery.png", "recovery.svg", "report.html"],
    ),
    (
        &["sweep", "scenarios/retry-storm.toml", "--seeds", "2", "--quiet", "--vary", "services.db.workers=3..4"],
        &["vary.json", "vary.png", "vary.svg", "report.html"],
    ),
    (
        &["compare", "scenarios/retry-storm-budget.toml", "--set", "services.db.workers=5", "--seeds", "2"],
        &[
            "compare.json",
            "compare-fan.png",
            "compare-fan.svg",
            "compare-risk.png",
            "compare-risk.svg",
            "report.md",
            "comment.md",
            "report.html",
        ],
    ),
];

fn run_into(args: &[&str], out: &Path) -> Output {
    let mut command = stormcast();
    command.args(args).arg("--out").arg(out);
    if args[0] == "compare" {
        command.args(["--quiet", "--allow-ungated"]);
    }
    command.output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The names in `dir` other than the lock file, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".stormcast.lock")
        .collect();
    names.sort();
    names
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    names.sort();
    names
}

/// Links planted in `--out` under the names of outputs (a chart, the JSON, the report)
/// are replaced by regular files, never written through: the files they point to stay
/// as they were. For `run`, links are also planted under the temporary names the
/// writer used to derive from the process id, as soon as the process exists.
#[test]
#[cfg(unix)]
fn links_planted_in_out_are_replaced_not_followed() {
    let root = temp_dir("links");
    let plant = |out: &Path, name: &str| {
        let victim = root.join(format!("victim-{}-{name}", out.file_name().unwrap().to_string_lossy()));
        std::fs::write(&victim, "victim").unwrap();
        std::os::unix::fs::symlink(&victim, out.join(name)).unwrap();
        victim
    };
    for (i, (args, files)) in COMMANDS.iter().enumerate() {
        let out = root.join(format!("out{i}"));
        std::fs::create_dir_all(&out).unwrap();
        let mut victims: Vec<PathBuf> = files.iter().map(|name| plant(&out, name)).collect();
        let output = if i == 0 {
            let mut command = stormcast();
            command.args(*args).args(["--set", "simulation.duration=600s", "--out"]).arg(&out);
            let child =
                command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap();
            for name in ["summary.json", "timeseries.csv"] {
                victims.push(plant(&out, &format!(".{name}.tmp-{}", child.id())));
            }
            child.wait_with_output().unwrap()
        } else {
            run_into(args, &out)
        };
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        for victim in &victims {
            let untouched = std::fs::read(victim).unwrap() == b"victim";
            assert!(untouched, "{args:?} wrote through a link to {}", victim.display());
        }
        for name in *files {
            let meta = std::fs::symlink_metadata(out.join(name)).unwrap();
            assert!(meta.is_file() && meta.len() > 0, "{args:?}: {name} is not a regular file with content");
        }
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// A command refuses a folder another stormcast command holds (here the test holds its
/// lock): exit 2 before simulating, the folder untouched.
#[test]
fn a_folder_in_use_is_refused_before_simulating() {
    let out = temp_dir("in-use");
    let lock = std::fs::File::create(out.join(".stormcast.lock")).unwrap();
    lock.try_lock().unwrap();
    for (args, _) in COMMANDS {
        let output = run_into(args, &out);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        let message = stderr(&output);
        assert!(
            message.starts_with(&format!(
                "error: --out {}: another stormcast command is writing into this folder",
                out.display()
            )),
            "{args:?}: {message}"
        );
        assert!(output.stdout.is_empty(), "{args:?}: refused before simulating, no table");
        assert!(listing(&out).is_empty(), "{args:?} wrote {:?}", listing(&out));
    }
    drop(lock);
    let _ = std::fs::remove_dir_all(&out);
}

/// Three runs with different seeds started together into one folder: the first to lock
/// it writes, the others are refused (exit 2), and the folder holds one run's files,
/// byte for byte the files of that seed run alone (it used to mix one seed's summary
/// with another's time series, and leave a torn run.png).
#[test]
fn concurrent_commands_into_one_folder_leave_one_whole_set() {
    let root = temp_dir("concurrent");
    let out = root.join("out");
    // Long enough (a second or two) that all three are running at once.
    let args = ["run", "scenarios/checkout.toml", "--set", "simulation.duration=1800s"];
    let children: Vec<_> = ["1", "2", "3"]
        .iter()
        .map(|seed| {
            stormcast()
                .args(args)
                .args(["--seed", seed, "--out"])
                .arg(&out)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let refused = outputs.iter().filter(|o| o.status.code() == Some(2)).count();
    for o in &outputs {
        match o.status.code() {
            Some(0) => {}
            Some(2) => {
                assert!(stderr(o).contains("another stormcast command is writing into this folder"), "{}", stderr(o))
            }
            code => panic!("exit {code:?}: {}", stderr(o)),
        }
    }
    assert!((1..3).contains(&refused), "{refused} of 3 refused");
    let names = ["summary.json", "timeseries.csv", "run.png", "run.svg", "report.html"];
    assert_eq!(listing(&out), sorted(&names));
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let seed = summary["seed"].as_u64().unwrap().to_string();
    let alone = root.join("alone");
    let output = stormcast().args(args).args(["--seed", &seed, "--out"]).arg(&alone).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    for name in names {
        let (got, want) = (std::fs::read(out.join(name)).unwrap(), std::fs::read(alone.join(name)).unwrap());
        assert!(got == want, "{name} is not seed {seed}'s");
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// A destination that cannot be replaced (a folder named like one of the files) fails
/// the command with exit 2 naming it, and no file of the set appears: not the ones
/// renamed before it, nor any temporary file.
#[test]
fn a_failed_write_adds_no_file() {
    let root = temp_dir("blocked");
    for (i, (args, files)) in COMMANDS.iter().enumerate() {
        let out = root.join(format!("out{i}"));
        // The first chart: every command writes its JSON before it.
        let blocked = files.iter().find(|n| n.ends_with(".png")).unwrap();
        std::fs::create_dir_all(out.join(blocked)).unwrap();
        let output = run_into(args, &out);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(&format!("cannot write {blocked}")), "{args:?}: {}", stderr(&output));
        assert_eq!(listing(&out), [blocked.to_string()], "{args:?}");
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// A failed write into a folder that holds an earlier run's files leaves all of them as
/// they were: the files renamed before the failure are put back.
#[test]
fn a_failed_write_keeps_the_previous_set() {
    let out = temp_dir("previous");
    let args = ["run", "scenarios/checkout.toml"];
    assert!(run_into(&[&args[..], &["--seed", "1"]].concat(), &out).status.success());
    let before: Vec<(String, Vec<u8>)> =
        listing(&out).into_iter().map(|n| (n.clone(), std::fs::read(out.join(&n)).unwrap())).collect();
    // The last file of the set cannot be replaced.
    std::fs::remove_file(out.join("report.html")).unwrap();
    std::fs::create_dir(out.join("report.html")).unwrap();
    let output = run_into(&[&args[..], &["--seed", "2"]].concat(), &out);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(listing(&out), sorted(&["summary.json", "timeseries.csv", "run.png", "run.svg", "report.html"]));
    for (name, bytes) in before.iter().filter(|(n, _)| n != "report.html") {
        assert!(std::fs::read(out.join(name)).unwrap() == *bytes, "{name} changed");
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// Ctrl-C while simulating stops at once, says so, and leaves no output (only the
/// folder and its lock file).
#[test]
#[cfg(unix)]
fn ctrl_c_before_writing_leaves_no_output() {
    let root = temp_dir("ctrl-c");
    let scenario = root.join("endless.toml");
    std::fs::write(
        &scenario,
        "[simulation]\nduration = \"1h\"\n\n[services.s]\nworkers = 1000000000\n[services.s.endpoints.e]\nlatency = \"1us\"\n\n[[load]]\nname = \"users\"\ntarget = \"s/e\"\nrate = 1e8\n",
    )
    .unwrap();
    let out = root.join("out");
    let child = stormcast()
        .arg("run")
        .arg(&scenario)
        .args(["--max-events", "1e18", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The lock file appears once the folder is checked, just before simulating (a
    // minute at most, then the test goes on and fails if it was not).
    for _ in 0..6000 {
        if out.join(".stormcast.lock").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert!(stderr(&output).contains("interrupted: stopped before writing any output"), "{}", stderr(&output));
    assert!(listing(&out).is_empty(), "{:?}", listing(&out));
    let _ = std::fs::remove_dir_all(&root);
}

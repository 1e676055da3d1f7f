"""The recipes in deploy/ (run by .ci/distributed.sh): each one is checked for syntax,
against its engine's schema where there is one, and for the commands it runs.

- Kubernetes: both Jobs validate (strict) against the batch/v1 Job schema of
  kubernetes-validate; the shards Job is Indexed with as many completions as shards.
- Slurm: the scripts pass `bash -n`; the array is 0..N-1 for `--shard auto/N`; the
  merge is queued with `--dependency=afterok` on the array.
- GitHub Actions: the workflow validates against the github-workflows schema
  (check-jsonschema's copy of SchemaStore's); the matrix is 0..N-1 and the merge job
  needs the shard jobs.

Then each recipe's own commands run, as its engine would run them (the index in
JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or the matrix value), with --seeds 1000
lowered to 6, and the merged sweep.json must be the one-machine sweep's.
"""

import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
STORMCAST = os.environ.get("STORMCAST", str(ROOT / "target/release/stormcast"))
SEEDS = "6"
SHARDS = 4


def small(command):
    return command.replace("--seeds 1000", f"--seeds {SEEDS}").replace("\"1000\"", f"\"{SEEDS}\"")


def workspace():
    """A folder laid out like the image's /stormcast (scenarios/), with `stormcast` on PATH."""
    tmp = Path(tempfile.mkdtemp(prefix="stormcast-recipes-"))
    (tmp / "scenarios").symlink_to(ROOT / "scenarios")
    (tmp / "bin").mkdir()
    (tmp / "bin" / "stormcast").symlink_to(STORMCAST)
    env = dict(os.environ, PATH=f"{tmp / 'bin'}:{os.environ['PATH']}")
    for var in ("JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"):
        env.pop(var, None)
    return tmp, env


def sh(command, cwd, env):
    done = subprocess.run(["sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{command}\n{done.stderr}"


def expected_sweep():
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run([STORMCAST, "sweep", "scenarios/retry-storm.toml", "--seeds", SEEDS, "--out", out, "-q"],
                              cwd=ROOT, capture_output=True)
        assert done.returncode == 0, done.stderr
        return Path(out, "sweep.json").read_bytes()


def check_kubernetes(expected):
    files = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
    assert [f.name for f in files] == ["sweep-merge.yaml", "sweep-shards.yaml"], files
    done = subprocess.run([Path(sys.executable).with_name("kubernetes-validate"), "--strict", "--quiet",
                           *map(str, files)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    # The validator does refuse a Job that is not one.
    broken = yaml.safe_load((DEPLOY / "kubernetes/sweep-shards.yaml").read_text())
    broken["spec"]["completionMod"] = "Indexed"
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(broken, f)
        f.flush()
        done = subprocess.run([Path(sys.executable).with_name("kubernetes-validate"), "--strict", "--quiet", f.name],
                              capture_output=True, text=True)
        assert done.returncode != 0, "an unknown Job field passed validation"
    shards = yaml.safe_load((DEPLOY / "kubernetes/sweep-shards.yaml").read_text())
    merge = yaml.safe_load((DEPLOY / "kubernetes/sweep-merge.yaml").read_text())
    spec = shards["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == SHARDS == spec["parallelism"], spec
    (container,) = spec["template"]["spec"]["containers"]
    command = container["command"]
    assert command[command.index("--shard") + 1] == f"auto/{SHARDS}", command
    (merge_container,) = merge["spec"]["template"]["spec"]["containers"]
    tmp, env = workspace()
    results = str(tmp / "results")
    for index in range(SHARDS):
        words = [SEEDS if w == "1000" else w.replace("/results", results) for w in command]
        sh(shlex.join(words), tmp, dict(env, JOB_COMPLETION_INDEX=str(index)))
    merge_command = merge_container["command"]
    assert merge_command[:2] == ["sh", "-c"], merge_command
    sh(merge_command[2].replace("/results", results), tmp, env)
    assert Path(results, "retry-storm/merged/sweep.json").read_bytes() == expected, "kubernetes: merged sweep differs"
    print("ok   kubernetes: Job schema (strict), Indexed Job of 4 shards, merge Job; merged sweep identical")


def commands(script):
    """The stormcast lines of a shell script."""
    return [line.strip() for line in script.splitlines() if line.strip().startswith("stormcast ")]


def check_slurm(expected):
    scripts = sorted((DEPLOY / "slurm").iterdir())
    for path in scripts:
        done = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, f"{path}: {done.stderr}"
    shards = (DEPLOY / "slurm/sweep-shards.sbatch").read_text()
    merge = (DEPLOY / "slurm/sweep-merge.sbatch").read_text()
    submit = (DEPLOY / "slurm/submit.sh").read_text()
    assert re.search(rf"^#SBATCH --array=0-{SHARDS - 1}$", shards, re.M), "the array is not 0..N-1"
    assert "sbatch --parsable deploy/slurm/sweep-shards.sbatch" in submit
    assert 'sbatch --dependency="afterok:${shards}" deploy/slurm/sweep-merge.sbatch' in submit
    (shard_command,) = commands(shards)
    (merge_command,) = commands(merge)
    assert f"--shard auto/{SHARDS}" in shard_command, shard_command
    tmp, env = workspace()
    for index in range(SHARDS):
        sh(small(shard_command), tmp, dict(env, SLURM_ARRAY_TASK_ID=str(index), SLURM_CPUS_PER_TASK="2"))
    sh(merge_command, tmp, env)
    assert (tmp / "results/retry-storm/merged/sweep.json").read_bytes() == expected, "slurm: merged sweep differs"
    print("ok   slurm: bash -n, array 0-3 for auto/4, merge after afterok; merged sweep identical")


def check_github_actions(expected):
    path = DEPLOY / "github-actions/sharded-sweep.yml"
    done = subprocess.run([Path(sys.executable).with_name("check-jsonschema"), "--builtin-schema",
                           "vendor.github-workflows", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    workflow = yaml.safe_load(path.read_text())
    shard_job, merge_job = workflow["jobs"]["shard"], workflow["jobs"]["merge"]
    matrix = shard_job["strategy"]["matrix"]["shard"]
    assert matrix == list(range(SHARDS)), matrix
    assert merge_job["needs"] == "shard"
    runs = lambda job: [s["run"] for s in job["steps"] if "run" in s and s["run"].startswith("stormcast ")]  # noqa: E731
    (shard_command,) = runs(shard_job)
    (merge_command,) = runs(merge_job)
    tmp, env = workspace()
    for index in matrix:
        sh(small(shard_command.replace("${{ matrix.shard }}", str(index))), tmp, env)
    sh(merge_command, tmp, env)
    assert (tmp / "out/merged/sweep.json").read_bytes() == expected, "github actions: merged sweep differs"
    print("ok   github actions: workflow schema, matrix 0-3, merge needs shard; merged sweep identical")


def main():
    expected = expected_sweep()
    check_kubernetes(expected)
    check_slurm(expected)
    check_github_actions(expected)


if __name__ == "__main__":
    main()

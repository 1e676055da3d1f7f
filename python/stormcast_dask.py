"""Run a stormcast sweep, vary sweep or compare as shards on a Dask cluster, then merge.

Each shard is one task: a `stormcast ... --shard I/N` subprocess on a worker, which
writes its partial result into a temporary folder there and returns its bytes, so the
workers need the binary and the scenario files but no shared file system. The driver
saves each partial as it arrives into the parts folder, then runs `stormcast merge`
locally and exits with its exit code (a compare's gates decide it, as unsharded).

A worker that dies mid-shard loses nothing but that shard's time: the scheduler gives
the task to another worker (Dask reschedules the tasks of a lost worker). With
`--resume`, shards whose partial is already in the parts folder are not run again.

    python python/stormcast_dask.py --scheduler tcp://127.0.0.1:8786 --shards 8 \\
        --out out/storm -- sweep scenarios/retry-storm.toml --seeds 400

Paths in the command are read by the workers from `--cwd` (default: this directory).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path


def run_shard(stormcast, cwd, args, index, count):
    """On a worker: run shard `index` of `count` of `args`; its partial's bytes."""
    with tempfile.TemporaryDirectory(prefix="stormcast-shard-") as tmp:
        command = [stormcast, *args, "--shard", f"{index}/{count}", "--out", tmp, "--quiet"]
        done = subprocess.run(command, cwd=cwd, capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(
                f"shard {index}/{count} exited {done.returncode}: {done.stderr.decode(errors='replace')}"
            )
        return Path(tmp, f"partial-{index}-of-{count}.json").read_bytes()


def partial_path(parts, index, count):
    return Path(parts) / f"partial-{index}-of-{count}.json"


def run(client, args, shards, out, parts, stormcast="stormcast", cwd=None, resume=False, log=print):
    """Runs the shards of `args` on `client`'s cluster, saves the partials into `parts`
    and merges them into `out`; returns the merge's exit code."""
    from distributed import as_completed

    # This module, to the scheduler and the workers (also those that join later): they
    # need stormcast on their machines, not this file.
    client.upload_file(__file__)
    cwd = str(Path(cwd or os.getcwd()).resolve())
    Path(parts).mkdir(parents=True, exist_ok=True)
    todo = [i for i in range(shards) if not (resume and partial_path(parts, i, shards).exists())]
    if len(todo) < shards:
        log(f"resume: {shards - len(todo)} of {shards} partials already in {parts}")
    run_id = uuid.uuid4().hex[:8]
    futures = {
        client.submit(run_shard, stormcast, cwd, list(args), i, shards, key=f"stormcast-{run_id}-{i}", pure=False): i
        for i in todo
    }
    for future, data in as_completed(futures, with_results=True):
        index = futures[future]
        path = partial_path(parts, index, shards)
        tmp = path.with_name(f".{path.name}.{run_id}")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # a partial is there whole, or not at all
        log(f"shard {index}/{shards} done")
    partials = [str(partial_path(parts, i, shards)) for i in range(shards)]
    return subprocess.run([stormcast, "merge", *partials, "--out", str(out)], cwd=cwd).returncode


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scheduler", required=True, help="the Dask scheduler, e.g. tcp://127.0.0.1:8786")
    parser.add_argument("--shards", type=int, required=True, help="how many shards (tasks) to split the seeds into")
    parser.add_argument("--out", required=True, help="the merged outputs' folder (as the command's --out)")
    parser.add_argument("--parts", help="where the partials are kept (default: OUT.parts)")
    parser.add_argument("--stormcast", default="stormcast", help="the binary, on the workers and here")
    parser.add_argument("--cwd", help="the folder the command's paths are relative to, on the workers")
    parser.add_argument("--resume", action="store_true", help="run only the shards with no partial in --parts yet")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the stormcast command, without --out")
    ns = parser.parse_args(argv)
    command = ns.command[1:] if ns.command[:1] == ["--"] else ns.command
    if not command or command[0] not in ("sweep", "compare"):
        parser.error("give the command after --: sweep ... or compare ...")
    from distributed import Client

    with Client(ns.scheduler) as client:
        return run(client, command, ns.shards, ns.out, ns.parts or f"{ns.out}.parts", ns.stormcast, ns.cwd, ns.resume)


if __name__ == "__main__":
    sys.exit(main())

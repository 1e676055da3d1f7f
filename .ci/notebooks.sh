#!/usr/bin/env bash
# CI: execute every teaching notebook (notebooks/*.ipynb) headless, top to bottom.
# Creates a venv with pinned packages, builds the release binary, runs each notebook
# with nbclient (cwd = notebooks/, outputs are NOT written back), and fails if a cell
# fails. A notebook whose metadata lists `stormcast.requires` subcommands the binary
# does not have (e.g. `compare` before it lands) is skipped with a notice.
# Runnable from any cwd. Env: NOTEBOOK_VENV (default target/notebook-venv),
# STORMCAST (binary to use; default target/release/stormcast, built here).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VENV="${NOTEBOOK_VENV:-$ROOT/target/notebook-venv}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "== python3 -m venv $VENV"
  python3 -m venv "$VENV"
fi
echo "== pip install (pinned)"
"$VENV/bin/pip" install --quiet --disable-pip-version-check \
  nbclient==0.11.0 ipykernel==7.4.0 nbformat==5.11.1 pandas==3.1.1 matplotlib==3.11.2 numpy==2.4.6
"$VENV/bin/python" -m ipykernel install --prefix "$VENV" --name python3 >/dev/null

if [ -z "${STORMCAST:-}" ]; then
  echo "== cargo build --release"
  cargo build --release --locked
  export STORMCAST="$ROOT/target/release/stormcast"
fi

echo "== execute notebooks"
export MPLBACKEND=Agg
export JUPYTER_PATH="$VENV/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
"$VENV/bin/python" - "$@" <<'PY'
import subprocess, sys, time, os
from pathlib import Path
import nbformat
from nbclient import NotebookClient

root = Path.cwd()
nbdir = root / "notebooks"
only = sys.argv[1:]
books = sorted(p for p in nbdir.glob("*.ipynb") if not only or any(o in p.name for o in only))
failed, skipped = [], []
for path in books:
    book = nbformat.read(path, as_version=4)
    missing = [cmd for cmd in book.metadata.get("stormcast", {}).get("requires", [])
               if subprocess.run([os.environ["STORMCAST"], cmd, "--help"], capture_output=True).returncode != 0]
    if missing:
        print(f"SKIP {path.name}: this stormcast has no {', '.join(missing)} subcommand", flush=True)
        skipped.append(path.name)
        continue
    start = time.monotonic()
    client = NotebookClient(book, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(nbdir)}})
    try:
        client.execute()  # executes in memory; the file on disk is left as it is
        print(f"ok   {path.name}  {time.monotonic() - start:.1f} s", flush=True)
    except Exception as e:  # CellExecutionError, timeouts, dead kernels
        print(f"FAIL {path.name}  {time.monotonic() - start:.1f} s\n{e}", flush=True)
        failed.append(path.name)
print(f"{len(books) - len(failed) - len(skipped)} passed, {len(failed)} failed, {len(skipped)} skipped")
sys.exit(1 if failed else 0)
PY

#!/usr/bin/env bash
# CI: sharded runs on real engines (docs/distributed.md). In a venv with the pinned
# packages of python/requirements.txt:
# - python/test_dask.py: the Dask driver (python/stormcast_dask.py) on a local
#   cluster, a scheduler and two workers on 127.0.0.1: a sharded sweep merged byte
#   for byte as the one-machine sweep, again with a worker killed mid-run, and the
#   speed-up of two workers over one;
# - python/test_recipes.py: the Kubernetes, Slurm and GitHub Actions recipes in
#   deploy/ against their schemas, and their commands run as their engines would.
# Env: DISTRIBUTED_VENV (default target/distributed-venv), STORMCAST (binary; default
# target/release/stormcast, built here).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VENV="${DISTRIBUTED_VENV:-$ROOT/target/distributed-venv}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "== python3 -m venv $VENV"
  python3 -m venv "$VENV"
fi
echo "== pip install (pinned: python/requirements.txt)"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r python/requirements.txt

if [ -z "${STORMCAST:-}" ]; then
  echo "== cargo build --release"
  cargo build --release --locked
  export STORMCAST="$ROOT/target/release/stormcast"
fi

echo "== python/test_recipes.py"
"$VENV/bin/python" python/test_recipes.py
echo "== python/test_dask.py"
"$VENV/bin/python" python/test_dask.py

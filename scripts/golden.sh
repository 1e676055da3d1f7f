#!/usr/bin/env bash
# Runs every example scenario through run, sweep, sweep --vary, compare, check and graph,
# and prints one sha256 line per output file. Two builds whose listings are equal write
# byte-identical outputs (the redesign's acceptance check, ARCHITECTURE.md).
# Usage: scripts/golden.sh BINARY OUTDIR > listing
set -uo pipefail
bin=$(realpath "$1"); out=$2
cd "$(dirname "$0")/.."
rm -rf "$out"; mkdir -p "$out"
# compare's base-side cache: a fresh one, outside the listed outputs and the user's cache.
export STORMCAST_CACHE_DIR="$out.cache"; rm -rf "$STORMCAST_CACHE_DIR"
for s in scenarios/*.toml scenarios/bench/tandem-200k.toml docs/examples/*.toml; do
  n=$(basename "$s" .toml)
  "$bin" run "$s" --seed 3 --out "$out/run-$n" >"$out/run-$n.stdout" 2>&1; echo "rc $?" >>"$out/run-$n.stdout"
  "$bin" run "$s" --seed 3 --format json >"$out/run-$n.json" 2>&1
  "$bin" check "$s" >"$out/check-$n.txt" 2>&1; echo "rc $?" >>"$out/check-$n.txt"
  "$bin" graph "$s" >"$out/graph-$n.dot" 2>&1
  "$bin" graph "$s" --format svg >"$out/graph-$n.svg" 2>&1
  case $n in tandem-200k) continue;; esac
  "$bin" sweep "$s" --seeds 6 --jobs 2 --out "$out/sweep-$n" >"$out/sweep-$n.stdout" 2>&1; echo "rc $?" >>"$out/sweep-$n.stdout"
done
"$bin" sweep scenarios/capacity.toml --seeds 6 --threshold 0.1 --vary services.api.instances=2..5 --out "$out/vary" >"$out/vary.stdout" 2>&1; echo "rc $?" >>"$out/vary.stdout"
for c in scenarios/changes/*.toml; do
  n=$(basename "$c" .toml)
  "$bin" compare scenarios/shop.toml --change "$c" --seeds 8 --out "$out/compare-$n" >"$out/compare-$n.stdout" 2>&1; echo "rc $?" >>"$out/compare-$n.stdout"
done
"$bin" compare scenarios/checkout.toml --set services.payment.instances=4 --seeds 8 --out "$out/compare-checkout" >"$out/compare-checkout.stdout" 2>&1; echo "rc $?" >>"$out/compare-checkout.stdout"
"$bin" check scenarios/retry-storm.toml --expect >"$out/expect.txt" 2>&1; echo "rc $?" >>"$out/expect.txt"
(cd "$out" && find . -type f ! -name '.stormcast.lock' | sort | xargs sha256sum)

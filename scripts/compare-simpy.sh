#!/usr/bin/env bash
# Compares stormcast with the SimPy baselines on the same work, as whole processes.
#
# Builds the release binary, then runs, alternately for ROUNDS rounds (default 3):
#   - the tandem (3 x M/M/4): stormcast on scenarios/bench/tandem-200k.toml (about
#     200,000 requests) and mmc_tandem_simpy.py -n 200000;
#   - the microservice model: stormcast on scenarios/microservice.toml and
#     microservice_simpy.py with its defaults (the same model, 120 s).
# Prints the median wall and CPU (user + sys) seconds of each, the ratios, and
# stormcast's tandem throughput counted as the baseline counts it (7 events per
# completed request, per CPU second of the whole process).
#
# Environment: STORMCAST_BASELINES (default: ../shared/baselines from the repo root, or
# ../../shared/baselines for a worktree),
# SIMPY_PYTHON (default: ~/.venvs/baselines/bin/python), ROUNDS, SEED (default 1).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# ../shared/baselines from the repo root; from a worktree under <repo>/wt/NAME, two up.
baselines="${STORMCAST_BASELINES:-$root/../shared/baselines}"
if [[ -z "${STORMCAST_BASELINES:-}" && ! -d "$baselines" && -d "$root/../../shared/baselines" ]]; then
    baselines="$root/../../shared/baselines"
fi
python="${SIMPY_PYTHON:-$HOME/.venvs/baselines/bin/python}"
rounds="${ROUNDS:-3}"
seed="${SEED:-1}"
requests=200000

[[ -f "$baselines/mmc_tandem_simpy.py" ]] || { echo "error: no baselines in $baselines (set STORMCAST_BASELINES)" >&2; exit 2; }
[[ -x "$python" ]] || { echo "error: no python at $python (set SIMPY_PYTHON)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "error: /usr/bin/time is needed (apt-get install time)" >&2; exit 2; }

cd "$root"
cargo build --release --quiet
bin="$root/target/release/stormcast"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# run NAME DIR CMD...: appends "wall cpu" to $tmp/NAME.times, keeps stdout in $tmp/NAME.out.
run() {
    local name="$1" dir="$2"
    shift 2
    (cd "$dir" && /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$@" >"$tmp/$name.out")
    awk '{ printf "%s %.3f\n", $1, $2 + $3 }' "$tmp/time" >>"$tmp/$name.times"
}

for ((r = 1; r <= rounds; r++)); do
    echo "round $r/$rounds" >&2
    run st_tandem "$root" "$bin" run scenarios/bench/tandem-200k.toml --seed "$seed" --format json
    run py_tandem "$baselines" "$python" mmc_tandem_simpy.py -n "$requests" -s "$seed"
    run st_micro "$root" "$bin" run scenarios/microservice.toml --seed "$seed" --format json
    run py_micro "$baselines" "$python" microservice_simpy.py --seed "$seed"
done

# median FILE COLUMN
median() { cut -d' ' -f"$2" "$1" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

completed="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["loads"]["users"]["ok"])' "$tmp/st_tandem.out")"
events="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["events"])' "$tmp/st_tandem.out")"

echo
echo "medians of $rounds alternating runs, whole processes (seconds)"
printf '%-34s %8s %8s\n' "" wall cpu
for name in st_tandem py_tandem st_micro py_micro; do
    printf '%-34s %8s %8s\n' "$name" "$(median "$tmp/$name.times" 1)" "$(median "$tmp/$name.times" 2)"
done
awk -v sw="$(median "$tmp/st_tandem.times" 1)" -v pw="$(median "$tmp/py_tandem.times" 1)" \
    -v sc="$(median "$tmp/st_tandem.times" 2)" -v pc="$(median "$tmp/py_tandem.times" 2)" \
    -v mw="$(median "$tmp/st_micro.times" 1)" -v qw="$(median "$tmp/py_micro.times" 1)" \
    -v mc="$(median "$tmp/st_micro.times" 2)" -v qc="$(median "$tmp/py_micro.times" 2)" \
    -v n="$completed" -v ev="$events" 'BEGIN {
    m = 0.001  # /usr/bin/time resolution: avoid dividing by zero
    printf "\n"
    printf "tandem       SimPy / stormcast: %6.1fx wall, %6.1fx cpu\n", pw / (sw > m ? sw : m), pc / (sc > m ? sc : m)
    printf "microservice SimPy / stormcast: %6.1fx wall, %6.1fx cpu\n", qw / (mw > m ? mw : m), qc / (mc > m ? mc : m)
    printf "stormcast tandem: %d requests completed, %d engine events\n", n, ev
    printf "stormcast tandem: %.2f million events/s (7 per completed request, per CPU second of the process)\n", n * 7 / (sc > m ? sc : m) / 1e6
    printf "stormcast tandem: %.2f million engine events/s (per CPU second of the process)\n", ev / (sc > m ? sc : m) / 1e6
}'
echo
echo "SimPy tandem's own report (last round):"
grep -E 'completed|mean response|events' "$tmp/py_tandem.out" || true
echo "SimPy microservice's own report (last round):"
grep -E 'client requests|model events|CPU' "$tmp/py_micro.out" || true

"""Generates the teaching notebooks (outputs stripped). Run: python notebooks/make_notebooks.py

Convention (checked by tests/integration/notebooks.rs): every stormcast invocation goes
through the helper `stormcast(...)` defined in the first code cell, and its first
argument is the subcommand as a literal string; scenario and change files are literal
strings relative to the repository root ("scenarios/...").
"""
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = '''import json, os, subprocess, tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import matplotlib
import matplotlib.pyplot as plt

# Notebooks run with cwd = notebooks/: the repository root is its parent.
ROOT = Path.cwd().resolve().parent
BIN = os.environ.get("STORMCAST") or str(ROOT / "target" / "release" / "stormcast")
SCENARIOS = ROOT / "scenarios"
OUT = Path(tempfile.mkdtemp(prefix="stormcast-nb-"))
assert Path(BIN).exists(), f"build the binary first (cargo build --release) or set STORMCAST; not found: {BIN}"


def stormcast(*args, ok=(0,)):
    """Run `stormcast ARGS...` from the repository root and return its stdout.

    Every stormcast call in these notebooks goes through here (a test checks the
    subcommands and scenario files they name). `ok` lists the accepted exit codes.
    """
    cmd = [BIN, *map(str, args)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=ok == (0,))
    if r.returncode not in ok:
        raise subprocess.CalledProcessError(r.returncode, cmd, r.stdout, r.stderr)
    return r.stdout


print("stormcast:", BIN)
print("outputs go to", OUT)'''


def nb(cells, name):
    book = new_notebook()
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    book.metadata["language_info"] = {"name": "python"}
    out = []
    for kind, text in cells:
        text = text.strip("\n")
        out.append(new_markdown_cell(text) if kind == "md" else new_code_cell(text))
    book.cells = out
    for c in book.cells:  # stable ids keep diffs small
        c.pop("id", None)
    book.nbformat, book.nbformat_minor = 4, 4
    nbformat.write(book, HERE / name)


M, C = "md", "code"

# ---------------------------------------------------------------------------------
nb([
(M, """# 1. Queueing basics: the utilization knee

**What you will learn:** why latency does not grow in proportion to load. A station with
`c` workers is fine at 50% utilization, noticeably slower at 80%, and falls off a cliff
as utilization approaches 100%. You will sweep the arrival rate of one M/M/4 station
(`scenarios/mmc-queue.toml`: 4 workers, exponential 10 ms service, Poisson arrivals),
plot mean and p99 *sojourn* time (queueing + service) against utilization, and put the
Erlang C formula next to the simulation."""),
(C, SETUP),
(M, """## Run the station at increasing arrival rates

Each worker serves 100 requests/s (mean 10 ms), so 4 workers serve 400/s and the
utilization is `rho = rate / 400`. `--set load.0.rate=...` overrides the rate of the
first (and only) load; `--format json` prints `summary.json` on stdout."""),
(C, '''RATES = [120, 200, 260, 300, 320, 340, 360, 372, 380]
rows = []
for rate in RATES:
    s = json.loads(stormcast("run", "scenarios/mmc-queue.toml", "--seed", 1,
                             "--set", f"load.0.rate={rate}", "--format", "json"))
    st = s["services"]["station"]
    rows.append({"rate": rate, "utilization": st["utilization"],
                 "mean_ms": st["sojourn_ms"]["mean"], "p99_ms": st["sojourn_ms"]["p99"]})
sim = pd.DataFrame(rows)
sim'''),
(M, """## Erlang C, computed here

For an M/M/c queue with arrival rate `lam`, service rate `mu` per worker and offered
load `a = lam/mu`, the probability that an arrival has to wait is Erlang C:

`P(wait) = (a^c/c!) / ((1-rho) * sum_{k<c} a^k/k! + a^c/c!)`, with `rho = a/c`.

A waiting customer waits an exponential time with rate `theta = c*mu - lam`, then is
served (rate `mu`), so the sojourn time T is a mixture and
`P(T > t) = (1-P(wait)) e^(-mu t) + P(wait) (theta e^(-mu t) - mu e^(-theta t)) / (theta - mu)`.
The mean is `P(wait)/theta + 1/mu`; the p99 is where `P(T > t) = 0.01` (solved by bisection)."""),
(C, '''from math import exp, factorial

def erlang_c(lam, mu, c):
    a = lam / mu
    rho = a / c
    top = a**c / factorial(c)
    return top / ((1 - rho) * sum(a**k / factorial(k) for k in range(c)) + top)

def sojourn_tail(t, lam, mu, c):
    pw, theta = erlang_c(lam, mu, c), c * mu - lam
    if abs(theta - mu) < 1e-9:
        mix = (1 + mu * t) * exp(-mu * t)
    else:
        mix = (theta * exp(-mu * t) - mu * exp(-theta * t)) / (theta - mu)
    return (1 - pw) * exp(-mu * t) + pw * mix

def sojourn_quantile(q, lam, mu, c):
    lo, hi = 0.0, 1.0
    while sojourn_tail(hi, lam, mu, c) > 1 - q:
        hi *= 2
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if sojourn_tail(mid, lam, mu, c) > 1 - q else (lo, mid)
    return hi

MU, C_WORKERS = 100.0, 4
sim["erlang_mean_ms"] = [1000 * (erlang_c(r, MU, C_WORKERS) / (C_WORKERS * MU - r) + 1 / MU) for r in sim.rate]
sim["erlang_p99_ms"] = [1000 * sojourn_quantile(0.99, r, MU, C_WORKERS) for r in sim.rate]
# The scenario's own comment: at 320/s, mean 17.45 ms and p99 68.9 ms.
at320 = sim.loc[sim.rate == 320].iloc[0]
print(sim.loc[sim.rate == 320, ["erlang_mean_ms", "erlang_p99_ms"]].round(2).to_string(index=False))
assert abs(at320.erlang_mean_ms - 17.45) < 0.01, "the scenario's comment: Erlang C at 320/s gives a mean of 17.45 ms"
assert abs(at320.erlang_p99_ms - 68.9) < 0.05, "the scenario's comment: Erlang C at 320/s gives a p99 of 68.9 ms"
sim.round(2)'''),
(C, '''rho = np.linspace(0.05, 0.975, 200)
fig, ax = plt.subplots(figsize=(8, 4.5))
ax.plot(rho, [1000 * (erlang_c(r * 400, MU, 4) / (400 - r * 400) + 0.01) for r in rho], color="C0", label="Erlang C mean")
ax.plot(rho, [1000 * sojourn_quantile(0.99, r * 400, MU, 4) for r in rho], color="C1", label="Erlang C p99")
ax.scatter(sim.utilization, sim.mean_ms, color="C0", marker="o", zorder=3, label="stormcast mean")
ax.scatter(sim.utilization, sim.p99_ms, color="C1", marker="s", zorder=3, label="stormcast p99")
ax.set_yscale("log")
ax.set_xlabel("utilization (busy worker time / total worker time)")
ax.set_ylabel("sojourn time, ms (log scale)")
ax.set_title("M/M/4, 10 ms service: latency against utilization")
ax.axvline(0.8, color="grey", lw=0.8, ls=":")
ax.legend()
plt.show()'''),
(C, '''# The claims of "What you see" below, checked: CI executes this notebook, so the text
# cannot drift from the numbers (seed 1, deterministic).
SERVICE_MS = 10.0
low, at50, at80 = sim.iloc[0], sim.loc[sim.rate == 200].iloc[0], sim.loc[sim.rate == 320].iloc[0]
at90, top = sim.loc[sim.rate == 360].iloc[0], sim.iloc[-1]
assert (sim[sim.utilization <= 0.6].mean_ms < 1.15 * SERVICE_MS).all(), \\
    "up to about 60% utilization the mean sojourn stays close to the 10 ms service time"
assert at80.mean_ms > 1.5 * SERVICE_MS, "noticeably slower at 80% (the introduction)"
slope_below = (at80.mean_ms - at50.mean_ms) / (at80.utilization - at50.utilization)
slope_above = (at90.mean_ms - at80.mean_ms) / (at90.utilization - at80.utilization)
assert slope_above > 3 * slope_below, "past 80% the mean bends upward"
assert top.utilization > 0.93 and top.mean_ms > 3 * SERVICE_MS, "near 95% the mean is many times the service time"
wait_ratio = (top.mean_ms - SERVICE_MS) / (at90.mean_ms - SERVICE_MS)
assert 1.6 <= wait_ratio <= 2.5, f"from 90% to 95% the spare capacity halves and the wait doubles (x{wait_ratio:.2f})"
assert 40 <= low.p99_ms <= 52 and 170 <= top.p99_ms <= 210, "p99 goes from about 46 ms at 30% to about 190 ms at 95%"
assert 9.5 <= low.mean_ms <= 11 and 44 <= top.mean_ms <= 55, "the mean goes from 10 ms to about 49 ms"
assert top.p99_ms - low.p99_ms > 3 * (top.mean_ms - low.mean_ms), "p99 climbs by many more milliseconds than the mean"
for col in ["mean_ms", "p99_ms"]:
    assert 3.8 <= top[col] / low[col] <= 5.4, f"on the log scale both curves rise by a similar factor, 4 to 5 ({col})"
err_mean = (sim.mean_ms / sim.erlang_mean_ms - 1).abs()
err_p99 = (sim.p99_ms / sim.erlang_p99_ms - 1).abs()
calm = sim.utilization <= 0.9
assert err_mean[calm].max() < 0.05 and err_p99[calm].max() < 0.05, \\
    "up to 90% utilization the simulation is within 5% of Erlang C"
assert max(err_mean[~calm].max(), err_p99[~calm].max()) > max(err_mean[calm].max(), err_p99[calm].max()), \\
    "at high utilization the points scatter more"
assert 0.12 <= 1 - top.p99_ms / top.erlang_p99_ms <= 0.28, "the p99 at 95% is about 20% below Erlang C"
in_system = top.rate * top.mean_ms / 1000
assert 15 <= in_system <= 23, f"Little's law at 95%: about 19 requests in the system at once ({in_system:.1f})"
print("checked: the knee, the tail, the fit to Erlang C and Little's law")'''),
(M, """## What you see

- **The knee.** Up to about 60% utilization, the mean sojourn stays close to the 10 ms
  service time: an arrival usually finds a free worker. Past 80% it bends upward, and
  near 95% it is many times the service time. The waiting term is `P(wait)/(c*mu - lam)`,
  and `c*mu - lam` (the spare capacity) goes to zero: latency grows like `1/(1 - rho)`.
  From 90% to 95% utilization the spare capacity halves, and the wait doubles.
- **The tail pays in milliseconds.** p99 climbs by many more milliseconds than the mean:
  from about 46 ms at 30% utilization to about 190 ms at 95%, while the mean goes from
  10 ms to about 49 ms. (On the log scale both rise by a similar factor, 4 to 5: near
  saturation both are mostly waiting.) The unlucky 1% arrive when a burst has already
  filled the queue. SLOs are written on tails, so the p99 curve is the one to read for
  capacity planning.
- **The simulation sits on the formula** (each point is one 600 s run): within 5% of
  Erlang C up to 90% utilization. Above it the points scatter more (here the p99 at 95% is
  about 20% below the formula) because long busy periods make the estimate noisy: one run
  is an anecdote, lesson 4 sweeps seeds.
- **Little's law** ties it together: the number in the system is `lam * W`. At 95%
  utilization, 380/s x 49 ms is about 19 requests in the system at once for 4 workers:
  most of them wait in the queue, and a bounded queue would start rejecting here (see
  `scenarios/load-shedding.toml`).

Try: raise the number of workers with `--set services.station.workers=8` and double the
rate: the same utilization gives a *lower* wait (economies of scale in pooling). The
next cell does it."""),
(C, '''pooled = json.loads(stormcast("run", "scenarios/mmc-queue.toml", "--seed", 1,
                              "--set", "services.station.workers=8", "--set", "load.0.rate=760",
                              "--format", "json"))["services"]["station"]
print(f"4 workers at 380/s: utilization {top.utilization:.3f}, mean sojourn {top.mean_ms:.1f} ms")
print(f"8 workers at 760/s: utilization {pooled['utilization']:.3f}, mean sojourn {pooled['sojourn_ms']['mean']:.1f} ms")
assert abs(pooled["utilization"] - top.utilization) < 0.01, "8 workers at twice the rate: the same utilization"
assert pooled["sojourn_ms"]["mean"] - SERVICE_MS < 0.8 * (top.mean_ms - SERVICE_MS), \\
    "the same utilization with 8 workers gives a lower wait"'''),
], "01-queueing-basics.ipynb")

# ---------------------------------------------------------------------------------
nb([
(M, """# 2. Retries and metastability

**What you will learn:** how a short load spike turns into an outage that outlives it (a
*metastable failure*), why a retry budget prevents it, and how to see retry
amplification in `timeseries.csv`. `scenarios/retry-storm.toml`: clients time out
after 20 ms and retry at once, up to 4 attempts, no budget; the database serves about
2000 requests/s and normally gets 1000/s. `scenarios/retry-storm-budget.toml` is the
same with a token-bucket retry budget (10% of first tries)."""),
(C, SETUP),
(M, """## Spike size against recovery

The spike lasts 5 s (20 s to 25 s). We vary its height with
`--set load.0.profile.0.rate=...` and read the users' `recovery_s` from `summary.json`:
seconds from the end of the spike until goodput is back to 95% of its level, or `null`
if it never comes back. The table also shows the attempts per request that reached the
database over the run (`db arrivals / users requests`): the users do not retry, the api
does, so the load's own `amplification` in `summary.json` stays at 1."""),
(C, '''SPIKES = [1500, 1800, 1950, 2100, 2300, 2500, 3000]
rows = []
for spike in SPIKES:
    for label, runner in [
        ("no budget", lambda: stormcast("run", "scenarios/retry-storm.toml", "--seed", 1,
                                         "--set", f"load.0.profile.0.rate={spike}", "--format", "json")),
        ("token budget 10%", lambda: stormcast("run", "scenarios/retry-storm-budget.toml", "--seed", 1,
                                               "--set", f"load.0.profile.0.rate={spike}", "--format", "json")),
    ]:
        s = json.loads(runner())
        u, db, api = s["loads"]["users"], s["services"]["db"]["health"], s["services"]["api"]["health"]
        rows.append({"spike_rate": spike, "config": label, "recovery_s": u["recovery_s"],
                     "success": u["success_rate"], "db_attempts_per_request": s["services"]["db"]["arrivals"] / u["requests"],
                     "cascade": s["cascade"]["cascade"], "db_cause": db["cause"],
                     "api_cause": api["cause"], "api_impaired": api["impaired"]})
rec = pd.DataFrame(rows)
rec.pivot(index="spike_rate", columns="config", values=["recovery_s", "db_attempts_per_request"]).round(3)'''),
(C, '''NEVER = 60  # plotted height for "never recovered" (the run ends 55 s after the spike)
fig, ax = plt.subplots(figsize=(8, 4))
for (label, g), m in zip(rec.groupby("config"), ["o", "s"]):
    y = g.recovery_s.fillna(NEVER)
    ax.plot(g.spike_rate, y, marker=m, label=label)
ax.axhline(NEVER, color="red", ls=":", lw=1)
ax.text(SPIKES[0], NEVER - 4, "never recovers", color="red")
ax.axvline(2000, color="grey", ls="--", lw=0.8)
ax.text(2010, 20, "db capacity ~2000/s", color="grey")
ax.set_xlabel("spike rate during [20 s, 25 s), requests/s (base 1000/s)")
ax.set_ylabel("recovery after the spike, s")
ax.set_title("retry-storm.toml: spike size against recovery")
ax.legend()
plt.show()'''),
(C, '''# The claims of "What you see" below, checked: CI executes this notebook (seed 1, deterministic).
by = rec.set_index(["config", "spike_rate"])
NO, BUDGET = "no budget", "token budget 10%"
assert by.loc[(NO, 1500), "recovery_s"] == 0 and by.loc[(BUDGET, 1500), "recovery_s"] == 0, \\
    "a 1500/s spike leaves both configurations unharmed"
storms = [s for s in SPIKES if s >= 1800]
assert all(pd.isna(by.loc[(NO, s), "recovery_s"]) for s in storms), \\
    "without a budget, every spike from 1800/s on (below the db's capacity too) never recovers"
assert 0.95 < by.loc[(BUDGET, 1800), "success"] < 0.995, \\
    "with the budget, a 1800/s spike still costs 1-2% of the run's requests (timeouts below capacity)"
budget_rec = [by.loc[(BUDGET, s), "recovery_s"] for s in SPIKES]
assert all(pd.notna(r) and r <= 10 for r in budget_rec), "with the budget, every spike costs a few seconds at most"
assert 5 <= budget_rec[-1] <= 9 and budget_rec == sorted(budget_rec), \\
    "recovery grows with the spike, up to about 7 s at 3000/s"
assert all(3.2 <= by.loc[(NO, s), "db_attempts_per_request"] <= 3.6 for s in storms), \\
    "without a budget the database sees about 3.4 attempts per request over the run"
assert all(by.loc[(BUDGET, s), "db_attempts_per_request"] <= 1.05 for s in SPIKES), \\
    "with the budget the database sees about 1.0 attempts per request"
for s in storms:
    r = by.loc[(NO, s)]
    assert not r.cascade and r.db_cause == "overload" and r.api_cause == "dependency" and not r.api_impaired, \\
        "the storm is an overload, not a cascade: db unhealthy by overload, the api only relays"
print("checked: recovery against spike size, attempts per request, health")'''),
(M, """**What you see:** only the smallest spike (1500/s) leaves both configurations unharmed.
Without a budget, every larger spike starts a storm that never ends, even 1800/s, below
the database's capacity (about 2000/s), although the spike lasted only 5 s and the load
afterwards is back to half the capacity: near capacity some requests already wait longer
than the 20 ms timeout (with the budget you can see them: a 1800/s spike still costs 1-2%
of the run's requests), and without a budget their retries push the load over the edge.
With the budget, every spike costs a few seconds at most: recovery grows with the spike,
up to about 7 s at 3000/s. Over the run the database sees about 3.4 attempts per request
without the budget and about 1.0 with it.

The mechanism: during the spike the queue at `db` grows, waits exceed the 20 ms
timeout, and the client gives up and retries, but **the server is not told**: it still
serves the abandoned request (*zombie work*). Each timed-out request now costs up to 4
units of work, so the offered load becomes ~4000/s against a capacity of 2000/s; the
queue cannot drain, every request keeps timing out, and the storm sustains itself
without the trigger. That is a metastable state: two stable states (healthy and
storm) for the same offered load, and a temporary push moves the system from one to the
other. The budget caps retries at 10% of first tries, so the load can never exceed
1.1x the offered load, and the backlog drains.

stormcast's health verdict calls the storm an overload, not a cascade (README, "Health
and cascades"): the database is unhealthy by `overload`, and the api, unhealthy because
of it (`dependency`) but with its own workers free (not impaired), only relays its
failures."""),
(M, """## Attempts per request over time

`timeseries.csv` has one row per bucket (1 s) per load and per service. For a load,
`arrivals` counts first tries; for a service, `arrivals` counts every attempt that
reached it. So `db arrivals / users arrivals` is the number of attempts per request in
that second, and `retries` (on `api`, the caller) the retries it sent."""),
(C, '''def timeseries(*args):
    out = OUT / f"ts-{len(list(OUT.iterdir()))}"
    stormcast(*args, "--out", out)
    return pd.read_csv(out / "timeseries.csv")

series = {
    "no budget": timeseries("run", "scenarios/retry-storm.toml", "--seed", 1),
    "token budget 10%": timeseries("run", "scenarios/retry-storm-budget.toml", "--seed", 1),
}
per_second = {}
fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
for label, ts in series.items():
    users = ts[(ts.scope == "load") & (ts.name == "users")].set_index("time_s")
    db = ts[(ts.scope == "service") & (ts.name == "db")].set_index("time_s")
    per_second[label] = pd.DataFrame({"ok": users.ok, "db_arrivals": db.arrivals, "db_utilization": db.utilization,
                                      "attempts": db.arrivals / users.arrivals.clip(lower=1)})
    axes[0].plot(users.index, users.ok, label=f"{label}: users ok/s")
    axes[1].plot(db.index, db.arrivals / users.arrivals.clip(lower=1), label=label)
for ax in axes:
    ax.axvspan(20, 25, color="orange", alpha=0.2)
axes[0].set_ylabel("goodput, ok/s")
axes[1].set_ylabel("attempts per request")
axes[1].set_xlabel("simulated time, s (spike shaded)")
axes[0].legend(); axes[1].legend()
axes[0].set_title("goodput and retry amplification, seed 1")
plt.show()'''),
(C, '''# The claims below and in the mechanism above, checked.
storm, budget = per_second["no budget"], per_second["token budget 10%"]
assert storm.ok.loc[21:].max() < 10, "without a budget, goodput drops to zero at the spike and stays there"
after = storm.loc[26:]
assert 3.7 <= after.attempts.mean() <= 4.1 and after.attempts.min() >= 3.5, \\
    "without a budget, attempts per request jump to about 4 (max_attempts) and stay there"
assert 3600 <= after.db_arrivals.mean() <= 4400, "the offered load at the db becomes ~4000/s"
assert storm.db_utilization.loc[21:].min() >= 0.99, "the database is busy 100% of the time"
assert budget.attempts.max() <= 1.11, "with the budget, attempts per request never exceed 1.1"
assert budget.ok.loc[21:24].max() < 10, "with the budget, goodput drops to zero during the spike as well"
back = budget.index[(budget.index >= 25) & (budget.ok >= 0.95 * budget.ok.loc[10:19].mean())].min()
assert 2 <= back - 25 <= 6, f"with the budget, goodput is back about 4 s after the spike ({back - 25} s)"
print("checked: goodput and attempts per request over time")'''),
(M, """**What you see:** without a budget, goodput drops to zero at the spike and stays
there, while attempts per request jump to about 4 (`max_attempts`) and stay there: the
database is busy 100% of the time serving requests whose clients already left. With the
budget, goodput drops to zero during the spike as well (the queue is full of requests
that will time out), but attempts per request never exceed 1.1 (the budget's 10%), and
goodput is back about 4 s after the spike, once the backlog has drained.

Things to try: `--set policies.db-client.retry.backoff=exponential` with
`--set policies.db-client.retry.base=50ms` (backoff alone delays the retries but does
not cap them: the storm still never ends), or
`--set policies.db-client.deadline_propagation=true` (the server skips queued work whose
caller gave up: most of the zombie work disappears, and the storm ends with the spike).
The next cell runs both."""),
(C, '''tries = {
    "as written": stormcast("run", "scenarios/retry-storm.toml", "--seed", 1, "--format", "json"),
    "exponential backoff, base 50ms": stormcast("run", "scenarios/retry-storm.toml", "--seed", 1,
                                                "--set", "policies.db-client.retry.backoff=exponential",
                                                "--set", "policies.db-client.retry.base=50ms", "--format", "json"),
    "deadline propagation": stormcast("run", "scenarios/retry-storm.toml", "--seed", 1,
                                      "--set", "policies.db-client.deadline_propagation=true", "--format", "json"),
}
tried = pd.DataFrame({label: {"recovery_s": s["loads"]["users"]["recovery_s"],
                              "success": s["loads"]["users"]["success_rate"],
                              "db attempts per request": s["services"]["db"]["arrivals"] / s["loads"]["users"]["requests"],
                              "db wasted work s": s["services"]["db"]["wasted_work_s"],
                              "db skipped": s["services"]["db"]["skipped"]}
                      for label, s in ((k, json.loads(v)) for k, v in tries.items())}).T
backoff, deadline = tried.loc["exponential backoff, base 50ms"], tried.loc["deadline propagation"]
assert pd.isna(backoff.recovery_s) and backoff["db attempts per request"] >= 3, \\
    "backoff alone delays the retries but does not cap them: the storm still never ends"
assert pd.notna(deadline.recovery_s) and deadline.recovery_s <= 1, "with deadline propagation the storm ends with the spike"
assert deadline["db skipped"] > 0 and deadline["db wasted work s"] < 0.15 * tried.loc["as written", "db wasted work s"], \\
    "with deadline propagation most of the zombie work disappears"
tried'''),
], "02-retries-and-metastability.ipynb")

# ---------------------------------------------------------------------------------
nb([
(M, """# 3. Timeouts and circuit breakers

**What you will learn:** why timeouts must shrink down the stack, what a circuit
breaker buys you on an optional dependency (goodput and latency during a partial
outage), and how a breaker with the wrong scope turns a partial outage into a full one.
Scenarios: `timeout-cascade.toml`, `breaker.toml`, `sharded-breaker.toml`; every
"what if" is a `--set` on the command line, the files are not edited."""),
(C, SETUP + '''


def run_ts(*args):
    """Run with --out into a fresh directory; return (summary, timeseries)."""
    out = OUT / f"run-{len(list(OUT.iterdir()))}"
    stormcast(*args, "--out", out)
    return json.loads((out / "summary.json").read_text()), pd.read_csv(out / "timeseries.csv")


def series(ts, scope, name, column):
    rows = ts[(ts.scope == scope) & (ts.name == name)]
    return rows.time_s.to_numpy(), rows[column].to_numpy()'''),
(M, """## A timeout cascade

The edge gives up on the api after 1 s, but the api waits up to 3 s (twice) for the
database. The database is 20x slower in [30 s, 50 s). Four variants: the file as
written; a db timeout of 300 ms (shorter than the caller's) with its retry; the same
timeout without the retry; and `deadline_propagation = true` (the database skips
queued work whose caller gave up)."""),
(C, '''variants = {
    "as written (db timeout 3s)": run_ts("run", "scenarios/timeout-cascade.toml", "--seed", 1),
    "db timeout 300ms, 2 attempts": run_ts("run", "scenarios/timeout-cascade.toml", "--seed", 1,
                                           "--set", "policies.db-client.timeout=300ms"),
    "db timeout 300ms, 1 attempt": run_ts("run", "scenarios/timeout-cascade.toml", "--seed", 1,
                                          "--set", "policies.db-client.timeout=300ms",
                                          "--set", "policies.db-client.retry.max_attempts=1"),
    "deadline propagation": run_ts("run", "scenarios/timeout-cascade.toml", "--seed", 1,
                                   "--set", "policies.db-client.deadline_propagation=true"),
}
fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
for label, (summary, ts) in variants.items():
    t, ok = series(ts, "load", "users", "ok")
    axes[0].plot(t, ok, label=label)
    t, util = series(ts, "service", "api", "utilization")
    axes[1].plot(t, util, label=label)
for ax in axes:
    ax.axvspan(30, 50, color="orange", alpha=0.2)
axes[0].set_ylabel("users ok/s"); axes[1].set_ylabel("api utilization")
axes[1].set_xlabel("simulated time, s (db fault shaded)"); axes[0].legend(fontsize=8)
plt.show()
pd.DataFrame({label: {"success": s["loads"]["users"]["success_rate"],
                      "api wasted work s": s["services"]["api"]["wasted_work_s"],
                      "db wasted work s": s["services"]["db"]["wasted_work_s"],
                      "db skipped": s["services"]["db"]["skipped"],
                      "api rejected": s["services"]["api"]["rejected"]}
              for label, (s, _) in variants.items()}).T'''),
(C, '''# The claims of "What you see" below, checked: CI executes this notebook (seed 1, deterministic).
written, ts_written = variants["as written (db timeout 3s)"]
t, api_util = series(ts_written, "service", "api", "utilization")
t, ok = series(ts_written, "load", "users", "ok")
fault = (t >= 31) & (t < 50)
assert api_util[fault].min() >= 0.95, "as written, the api's workers are pinned at 100% during the fault"
assert 100 <= written["services"]["api"]["wasted_work_s"] < 1000, "hundreds of worker-seconds of wasted work at the api"
assert 1000 <= written["services"]["api"]["rejected"] < 10000, "the api rejects thousands of pages"
assert ok[fault].mean() < 0.5 * ok[(t >= 10) & (t < 30)].mean(), "goodput falls by more than half"
assert written["cascade"] == {"cascade": True, "origin": ["db"], "blast_radius": ["api"], "relayed": ["edge"]}, \\
    "a cascade from the db (its fault) to the api (impaired); the edge only relays"
success = {label: s["loads"]["users"]["success_rate"] for label, (s, _) in variants.items()}
retry2, _ = variants["db timeout 300ms, 2 attempts"]
single, _ = variants["db timeout 300ms, 1 attempt"]
assert 0 < success["as written (db timeout 3s)"] - success["db timeout 300ms, 2 attempts"] < 0.05, \\
    "a 300 ms db timeout with the retry does not help; it is slightly worse"
assert retry2["services"]["api"]["retries_sent"] > 500, "with the retry, slow queries are sent twice"
assert 100 <= retry2["services"]["db"]["wasted_work_s"] < 1000, "the database does hundreds of seconds of work nobody reads"
assert max(success, key=success.get) == "db timeout 300ms, 1 attempt", "the same timeout without the retry is the best of the four"
assert single["services"]["api"]["wasted_work_s"] == 0, "without the retry: no wasted work at the api"
assert 100 <= single["services"]["db"]["wasted_work_s"] < 1000, \\
    "without the retry the database's wasted work stays in the hundreds of seconds"
assert single["services"]["api"]["rejected"] == min(s["services"]["api"]["rejected"] for s, _ in variants.values()), \\
    "without the retry: fewer rejections"
deadline, ts_deadline = variants["deadline propagation"]
assert ts_deadline.equals(ts_written) and success["deadline propagation"] == success["as written (db timeout 3s)"], \\
    "deadline propagation changes nothing here (its line covers the first one)"
assert deadline["services"]["db"]["skipped"] == 0 and deadline["services"]["db"]["queue_max"] == 0, \\
    "db skipped is 0: nothing ever queues at the database for it to skip"
print("checked: the timeout cascade and its variants")'''),
(M, """**What you see:** as written, the api's workers are pinned at 100% during the fault,
many of them holding calls to the database for pages nobody waits for any more (the
edge left after 1 s: hundreds of worker-seconds of wasted work at the api). The api's
queue fills and it rejects thousands of pages, even those whose cache call would be
instant: goodput falls by more than half. stormcast's health verdict calls it a cascade
(`summary.json` `cascade`): the database is unhealthy by its fault (the origin), the api
is unhealthy because of it *and* impaired (its workers are all busy: the blast radius),
and the edge only relays the failures.

A 300 ms db timeout *with the retry* does not help; it is slightly worse. Every slow
query is sent twice, the database does hundreds of seconds of work nobody reads, and an
api worker is still held for up to 300 + 100 + 300 ms. The same timeout *without* the
retry is the best of the four: no wasted work at the api, fewer rejections, higher
success (the database still finishes every query the api gave up on, so its wasted work
stays in the hundreds of seconds: a timeout frees the caller, not the callee).
Deadline propagation changes nothing here (its line covers the first one, and
`db skipped` is 0): the api's 60 workers are fewer than the database's 80, so every
query is served at once and nothing ever queues at the database for it to skip. It pays
off where the callee queues.

**Rules:** each layer's timeout shorter than its caller's (`stormcast check` warns when
it is not), and no retry that multiplies the load on the dependency that is already
slow. Measure each fix: the obvious one (a shorter timeout) made this worse until its
retry went."""),
(M, """## A breaker on an optional dependency

`breaker.toml`: recommendations are optional on the page, but each call waits up to
500 ms. In [30 s, 50 s) recs answers 2 s late. To see the page *without* a breaker, we
point the call at a new policy `recs-plain` (same timeout, no breaker) with two `--set`s."""),
(C, '''with_breaker = run_ts("run", "scenarios/breaker.toml", "--seed", 1)
without = run_ts("run", "scenarios/breaker.toml", "--seed", 1,
                 "--set", 'services.frontend.endpoints.page.calls=[{ to = "catalog/list" }, '
                          '{ to = "recs/top", policy = "recs-plain", optional = true }]',
                 "--set", "policies.recs-plain.timeout=500ms")
fig, axes = plt.subplots(3, 1, figsize=(9, 7.5), sharex=True)
for label, (s, ts) in {"with breaker": with_breaker, "without breaker": without}.items():
    t, p99 = series(ts, "load", "users", "latency_ms_p99"); axes[0].plot(t, p99, label=label)
    t, ok = series(ts, "load", "users", "ok"); axes[1].plot(t, ok, label=label)
    t, br = series(ts, "service", "frontend", "breakers_open"); axes[2].plot(t, br, label=label)
for ax in axes:
    ax.axvspan(30, 50, color="orange", alpha=0.2)
axes[0].set_ylabel("users p99, ms"); axes[1].set_ylabel("users ok/s")
axes[2].set_ylabel("share of breakers\\nnot closed"); axes[2].set_xlabel("simulated time, s (recs fault shaded)")
axes[0].legend(); plt.show()
for label, (s, _) in {"with breaker": with_breaker, "without breaker": without}.items():
    u = s["loads"]["users"]
    print(f"{label:16s} p99 {u['latency_ms']['p99']:7.1f} ms  success {u['success_rate']:.4f}  "
          f"breaker opens {s['services']['frontend']['breaker_opens']}")'''),
(C, '''# The claims of "What you see" below, checked.
import tomllib
frontend = tomllib.loads((SCENARIOS / "breaker.toml").read_text())["services"]["frontend"]
(s_with, ts_with), (s_without, ts_without) = with_breaker, without
t, p99_without = series(ts_without, "load", "users", "latency_ms_p99")
in_fault = (t >= 30) & (t < 50)
assert 450 <= np.median(p99_without[in_fault]) <= 600 and (p99_without[in_fault] > 200).all(), \\
    "without the breaker, p99 sits at ~500 ms (over the 200 ms SLO) for 20 s"
t, util_without = series(ts_without, "service", "frontend", "utilization")
workers = frontend["instances"] * frontend["workers"]
busy_fault = workers * util_without[(t >= 31) & (t < 50)].mean()
busy_before = workers * util_without[(t >= 10) & (t < 30)].mean()
assert 120 <= busy_fault <= 180, f"300/s x 0.5 s = 150 busy workers during the fault ({busy_fault:.0f})"
assert 4 <= busy_before <= 11, f"instead of about 7 before it ({busy_before:.1f})"
t, p99_with = series(ts_with, "load", "users", "latency_ms_p99")
t, open_with = series(ts_with, "service", "frontend", "breakers_open")
t, recs_calls = series(ts_with, "service", "recs", "arrivals")
assert (open_with[(t >= 31) & (t < 50)] == 1).all(), "with the breaker, it opens during the fault"
assert recs_calls[(t >= 32) & (t < 50)].mean() < 0.1 * recs_calls[(t >= 10) & (t < 30)].mean(), \\
    "the open breaker refuses recs calls at once"
back = t[(t >= 30) & (p99_with < 200)].min()
assert back - 30 <= 2, f"p99 drops back within two seconds ({back - 30:.0f} s)"
bumps = ((p99_with > 200) & (t >= 33) & (t < 52)).sum()
assert bumps >= 2, "during the fault the probes fail and it re-opens (the short bumps in p99)"
assert s_with["services"]["frontend"]["breaker_opens"] >= 2 * frontend["instances"], "it re-opens: more than one open per instance"
assert (open_with[t >= 55] == 0).all(), "after the fault the probes succeed and it closes"
assert abs(s_with["loads"]["users"]["success_rate"] - s_without["loads"]["users"]["success_rate"]) < 0.001, \\
    "goodput hardly differs"
print("checked: the breaker on an optional dependency")'''),
(M, """**What you see:** without the breaker, every page waits the full 500 ms for recs during
the fault: p99 sits at ~500 ms (over the 200 ms SLO) for 20 s, and the frontend holds a
worker per waiting page (Little's law: 300/s x 0.5 s = 150 busy workers instead of about
7 before the fault). With the breaker, after 10 failures in the window it **opens** and
refuses recs calls at once (`short_circuited`): the page renders without
recommendations and p99 drops back within two seconds (pages already waiting on recs
when it opens still finish late). Every 5 s it goes **half-open** and lets 5 probes
through; during the fault they fail and it re-opens (the short bumps in p99), after the
fault they succeed and it **closes**. Goodput hardly differs: recs is optional, so the breaker buys
*latency* (and worker headroom), not success rate here."""),
(M, """## A breaker with the wrong scope

`sharded-breaker.toml`: one of 4 profile shards crashes for 20 s, so 25% of calls fail.
The frontend has *one* breaker for the whole profiles service with a 20% failure
threshold. We compare it with a 50% threshold (`--set`)."""),
(C, '''shard = {
    "breaker at 20% failures": run_ts("run", "scenarios/sharded-breaker.toml", "--seed", 1),
    "breaker at 50% failures": run_ts("run", "scenarios/sharded-breaker.toml", "--seed", 1,
                                      "--set", "policies.profiles-client.circuit_breaker.failure_rate=0.5"),
}
fig, ax = plt.subplots(figsize=(9, 3.8))
for label, (s, ts) in shard.items():
    t, ok = series(ts, "load", "users", "ok")
    t, arr = series(ts, "load", "users", "arrivals")
    ax.plot(t, ok / np.maximum(arr, 1), label=f"{label}: success {s['loads']['users']['success_rate']:.1%}")
ax.axhline(0.75, color="grey", ls=":", lw=1); ax.text(2, 0.77, "75%: what a 1-of-4 shard outage should cost", color="grey")
ax.axvspan(30, 50, color="orange", alpha=0.2)
ax.set_ylim(-0.05, 1.05); ax.set_ylabel("users ok / arrivals per second"); ax.set_xlabel("simulated time, s (crash shaded)")
ax.legend(loc="lower left"); plt.show()'''),
(C, '''# The claims of "What you see" below, checked.
sharded_frontend = tomllib.loads((SCENARIOS / "sharded-breaker.toml").read_text())["services"]["frontend"]
(s20, ts20), (s50, ts50) = shard["breaker at 20% failures"], shard["breaker at 50% failures"]

def success_during_crash(ts):
    t, ok = series(ts, "load", "users", "ok")
    t, arr = series(ts, "load", "users", "arrivals")
    crash = (t >= 31) & (t < 50)
    return ok[crash].sum() / arr[crash].sum()

assert success_during_crash(ts20) < 0.05, "with the 20% threshold, success drops to about zero during the crash"
assert s20["services"]["frontend"]["breaker_opens"] > sharded_frontend["instances"], \\
    "each half-open probe window sees the dead shard again and re-opens it"
assert s50["services"]["frontend"]["breaker_opens"] == 0, "with a 50% threshold the breaker stays closed"
assert 0.70 <= success_during_crash(ts50) <= 0.80, "with a 50% threshold the outage costs what it should (25%)"
print(f"success during the crash: {success_during_crash(ts20):.1%} (20% threshold), "
      f"{success_during_crash(ts50):.1%} (50% threshold)")'''),
(M, """**What you see:** with the 20% threshold, the 25% failure rate opens the breaker, which
then refuses calls to the three *healthy* shards too: success drops to about zero during
the crash instead of 75%, and each half-open probe window sees the dead shard again and
re-opens it. With a 50% threshold the breaker stays closed and the outage costs what it
should (25%). A breaker is a per-destination health judgement: scope it per host (like
Envoy's outlier detection) or set its threshold above the failure rate a partial outage
produces."""),
], "03-timeouts-and-breakers.ipynb")

# ---------------------------------------------------------------------------------
nb([
(M, """# 4. Capacity planning with sweeps

**What you will learn:** why one run cannot tell you how many replicas you need, how to
sweep a key over many seeds (`stormcast sweep --vary`), how to read the risks and their
95% intervals from `vary.json`, and how to find the *tipping point*: the smallest
replica count whose risk is confidently below your threshold.
Scenario: `scenarios/capacity.toml` (a flash sale from 600/s to 1500/s for 10 s against
an api of N x 8 workers)."""),
(C, SETUP),
(M, """## Sweep the replica count

40 seeds per value (seeds 1..40, the same seeds for every value: common random numbers),
api instances from 2 to 8. With `n` clean seeds the upper end of a 95% Wilson interval
is `1.96^2 / (n + 1.96^2)`: 3.84/(40 + 3.84) = 8.8% for 40, so we can show a risk below a
10% threshold."""),
(C, '''out = OUT / "capacity"
text = stormcast("sweep", "scenarios/capacity.toml", "--seeds", 40, "--first-seed", 1,
                 "--threshold", 0.1, "--vary", "services.api.instances=2..8",
                 "--out", out, "--quiet")
print(text)
vary = json.loads((out / "vary.json").read_text())
rows = []
for point in vary["points"]:
    replicas = int(point["params"][0]["value"])
    for risk in ["slo_risk", "metastable_risk", "cascade_risk"]:
        r = point["risks"]["shoppers"][risk]
        rows.append({"replicas": replicas, "risk": risk, "p": r["p"], "low": r["low"], "high": r["high"]})
risks = pd.DataFrame(rows)
risks.pivot(index="replicas", columns="risk", values="p")'''),
(C, '''THRESHOLD = 0.10
slo = risks[risks.risk == "slo_risk"].sort_values("replicas")
tipping = next((int(r.replicas) for r in slo.itertuples() if r.high < THRESHOLD), None)

fig, ax = plt.subplots(figsize=(8, 4.2))
for (name, g), off in zip(risks.groupby("risk"), [-0.12, 0.0, 0.12]):
    g = g.sort_values("replicas")
    ax.errorbar(g.replicas + off, g.p, yerr=[g.p - g.low, g.high - g.p], marker="o", capsize=3, label=name)
ax.axhline(THRESHOLD, color="red", ls=":", lw=1, label="threshold 10%")
if tipping is not None:
    ax.axvline(tipping, color="green", ls="--", lw=1)
    ax.text(tipping + 0.05, 0.5, f"tipping point: {tipping} replicas", color="green")
ax.set_xlabel("api instances (8 workers each)")
ax.set_ylabel("risk across 40 seeds (95% Wilson interval)")
ax.set_title("capacity.toml: risk against replicas")
ax.legend(); plt.show()
print("tipping point for the SLO risk:", tipping)'''),
(C, '''# The claims of "What you see" below (and of the introduction), checked: CI executes this
# notebook (seeds 1..40, deterministic).
slo_p = slo.set_index("replicas").p
assert (slo_p[slo_p.index <= 4] == 1).all() and (slo_p[slo_p.index >= 5] == 0).all(), \\
    "up to 4 replicas every seed violates the SLO, from 5 none does: 100% to 0% between adjacent counts"
clean = risks[risks.p == 0]
assert len(clean) > 0 and (abs(clean.high - 0.088) < 0.001).all(), "0 of 40 seeds: the interval still reaches 8.8%"
slo_line = next(line for line in text.splitlines() if "tipping point (SLO violated" in line)
assert tipping is not None and slo_line.rstrip().endswith(f"services.api.instances={tipping}"), \\
    "our tipping point follows the same rule `stormcast sweep` prints"
Z2 = 1.959964 ** 2
clean_seeds_for_5pct = next(n for n in range(1, 1000) if Z2 / (n + Z2) < 0.05)
assert clean_seeds_for_5pct == 73, "to claim a risk below 5% you need 73 clean seeds"
assert (risks[risks.risk == "metastable_risk"].p == 0).all(), "metastable risk stays at zero"
assert (risks[risks.risk == "cascade_risk"].p == 0).all(), "cascade risk stays at zero"
overloaded = json.loads(stormcast("run", "scenarios/capacity.toml", "--seed", 1,
                                  "--set", "services.api.instances=3", "--format", "json"))
api_health = overloaded["services"]["api"]["health"]
print("3 replicas, seed 1: api", api_health["state"], "by", api_health["cause"], "- cascade:", overloaded["cascade"]["cascade"])
assert api_health["state"] == "unhealthy" and api_health["cause"] == "overload" and not overloaded["cascade"]["cascade"], \\
    "an api overloaded by the sale is unhealthy by its own overload: not a cascade"'''),
(M, """## What you see

- **Not a smooth curve but a cliff.** The api serves about `N * 8 / 20 ms = 400 N`
  requests/s. Up to N = 4 (1600/s, barely above the sale's 1500/s: 94% busy) every seed
  violates the SLO; from N = 5 (75% busy) none does: 100% to 0% between adjacent counts,
  with no count in between where some seeds violate and some do not. Here one run per
  count would show the same step; the sweep tells you that it holds on every seed and
  how sure you can be. Where the margin is thinner, such a band can appear (whether a
  10 s burst overflows the 40-slot queues then depends on the luck of the arrivals and
  service times), and there one run would mislead you either way.
- **The interval, not the point, decides.** A value where 0 of 40 seeds failed still
  has a 95% interval up to 8.8%. The tipping point is the first replica count whose
  *upper* end lies below the threshold, the same rule `stormcast sweep` prints. To claim
  a risk below 5% you need 73 clean seeds (the first `n` with `3.84/(n + 3.84)` < 5%).
- **Metastable risk stays at zero here**: the shoppers' retries have a token budget, so
  even the overloaded configurations recover once the sale ends (compare lesson 2).
- **So does the cascade risk**: nothing spreads from one service to another. An api
  overloaded by the sale is unhealthy by its own `overload` (the cell above shows it for
  3 replicas), which is not a cascade; lesson 3's timeout cascade is one.

Try: add a second key, `--vary load.0.profile.0.rate=1000..2000:500`, for a grid of
replicas against spike size (`vary.png` shows it as a heat map)."""),
], "04-capacity-planning.ipynb")

# ---------------------------------------------------------------------------------
nb([
(M, """# 5. Pre-merge what-if: `stormcast compare`

**What you will learn:** how to judge a proposed config change before merging it: run the
base and the proposed configuration on the same seeds, pair them seed by seed, and let
the `[gates]` of the scenario decide. Scenario: `scenarios/shop.toml`, a 13-service
shop with a flash sale and a slow payment provider. Two proposed changes:

- `scenarios/changes/remove-retry-budget.toml`: "payments are slow, fail fast and retry
  harder" (300 ms per try instead of 500 ms, 5 attempts, retry budget made ineffective);
- `scenarios/changes/extra-replica.toml`: one more payment replica.

`stormcast compare BASE --change FILE --seeds N --out DIR` writes `compare.json` and
`report.md`. Its verdict is `pass` (exit 0) when every gate passes, `fail` or
`inconclusive` (exit 1) when a gate fails or cannot be decided with these seeds, and
`unchanged` (exit 0) when the change alters nothing that is simulated. This notebook
meets all four."""),
(C, SETUP),
(M, """## The harmful change"""),
(C, '''def compare(change, *options, seeds=30, exit_code=(0, 1)):
    """Compare shop.toml with CHANGE applied; `exit_code` lists the exit codes expected."""
    out = OUT / f"{Path(change).stem}-{len(list(OUT.iterdir()))}"
    # exit 1 means "a gate failed or is inconclusive": a result, not an error
    stormcast("compare", "scenarios/shop.toml", "--change", change, "--seeds", seeds, *options,
              "--out", out, ok=exit_code)
    return json.loads((out / "compare.json").read_text()), (out / "report.md").read_text()


harmful, harmful_report = compare("scenarios/changes/remove-retry-budget.toml", exit_code=(1,))
print("verdict:", harmful["verdict"], "-", harmful["message"])
assert harmful["verdict"] == "fail", "the harmful change fails its gates (exit 1)"


def gates_table(result):
    return pd.DataFrame([{"gate": g["gate"], "load": g["load"], "limit": g["limit"],
                          "value": g["value"], "low": g["low"], "high": g["high"],
                          "verdict": g["verdict"]} for g in result["gates"]])


gates_table(harmful).round(3)'''),
(C, '''def risk_table(result):
    rows = []
    for load, risks in result["risk_differences"].items():
        for name in ["slo_risk", "metastable_risk", "cascade_risk", "path_cascade_risk"]:
            r = risks[name]
            rows.append({"load": load, "risk": name, "base": r["base"]["p"], "proposed": r["proposed"]["p"],
                         "diff": r["diff"], "diff low": r["low"], "diff high": r["high"],
                         "seeds worse": r["proposed_only"], "seeds better": r["base_only"]})
    return pd.DataFrame(rows)


risk_table(harmful).round(3)'''),
(M, """## Paired p99 differences

Seed `s` of the base and seed `s` of the proposed config share their arrivals, latencies
and fault (every component draws from its own random stream), so the per-seed
difference removes much of the seed-to-seed noise (the harmless change below measures
how much). `paired.LOAD.per_seed` holds each seed's pair."""),
(C, '''def plot_pairs(result, title):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, load in zip(axes, ["shoppers", "browsers"]):
        per_seed = pd.DataFrame(result["paired"][load]["per_seed"])
        diff = per_seed.p99_ms_diff
        ax.bar(per_seed.seed, diff, color=np.where(diff > 0, "C3", "C2"))
        stat = result["paired"][load]["p99_ms"]
        if stat["mean_diff"] is not None:
            ax.axhline(stat["mean_diff"], color="k", lw=1, label=f"mean {stat['mean_diff']:+.1f} ms")
            ax.axhspan(stat["low"], stat["high"], color="grey", alpha=0.3, label="95% interval")
        ax.set_title(f"{load}: p99 proposed - base ({stat['verdict']})")
        ax.set_xlabel("seed"); ax.set_ylabel("ms"); ax.legend(fontsize=8)
    fig.suptitle(title); fig.tight_layout(); plt.show()


plot_pairs(harmful, "remove-retry-budget.toml")
pd.DataFrame(harmful["paired"]["shoppers"]["per_seed"])[
    ["seed", "base_success_rate", "proposed_success_rate", "base_recovery_s", "proposed_recovery_s",
     "base_amplification", "proposed_amplification"]].head(8)'''),
(C, '''# The claims of "What you see" below, checked: CI executes this notebook (seeds 1..30, deterministic).
rt = risk_table(harmful).set_index(["load", "risk"])
gate = gates_table(harmful).set_index(["gate", "load"])
for risk in ["slo_risk", "metastable_risk"]:
    r = rt.loc[("shoppers", risk)]
    assert r.base == 0 and r["seeds worse"] >= 27 and r["seeds better"] == 0, \\
        "the proposed config violates the SLO and never recovers on (nearly) every seed where the base was clean"
for g in ["max_slo_risk_increase", "max_metastable_risk_increase"]:
    row = gate.loc[(g, "shoppers")]
    assert row.verdict == "fail" and row.low > 5 * row.limit, \\
        "the SLO-risk and never-recovered-risk increases are far above their limits, with intervals that exclude zero"
paired = harmful["paired"]["shoppers"]
assert paired["amplification"]["proposed_mean"] > 1.3, "attempts per request rise well above 1"
band_t = np.array(harmful["proposed"]["bands"]["shoppers"]["time_s"])
goodput_proposed = np.array(harmful["proposed"]["bands"]["shoppers"]["goodput"]["median"])
goodput_base = np.array(harmful["base"]["bands"]["shoppers"]["goodput"]["median"])
calm = (band_t >= 10) & (band_t < 30)
assert abs(goodput_proposed[calm].mean() / goodput_base[calm].mean() - 1) < 0.05, \\
    "before the provider's slowdown (30 s) the proposed config serves like the base"
collapse = band_t[(band_t >= 30) & (goodput_proposed < 1)].min()
assert collapse < 45 and (goodput_proposed[band_t >= collapse] < 1).all(), \\
    "the success rate collapses during the provider's slowdown and the median goodput stays at zero to the end"
browsers = harmful["paired"]["browsers"]["p99_ms"]
assert 60 <= browsers["base_mean"] <= 100 and 800 <= browsers["proposed_mean"] <= 1300, \\
    "browsers are hurt too: their p99 goes from about 80 ms to about 1 s"
assert rt.loc[("browsers", "slo_risk")].base == 0 and rt.loc[("browsers", "slo_risk")].proposed == 1, \\
    "every seed violates the browsers' SLO"
services = harmful["proposed"]["services"]
assert services["payment"]["origin"]["p"] == 1 and services["payment"]["causes"]["fault"] == harmful["seeds"], \\
    "on every seed payment, unhealthy by its fault, is the origin of the cascade"
assert {name for name, v in services.items() if v["in_blast_radius"]["p"] > 0} == {"web", "edge"} \\
    and all(services[name]["in_blast_radius"]["p"] == 1 for name in ["web", "edge"]), \\
    "on every seed the blast radius is web and edge"
assert all(rt.loc[(load, "cascade_risk")].base == 0 and rt.loc[(load, "cascade_risk")].proposed == 1
           for load in ["shoppers", "browsers", "batch"]), "cascade_risk jumps from 0 to 100% on every load, batch included"
assert rt.loc[("batch", "path_cascade_risk")].proposed == 0, "path_cascade_risk stays 0 for batch"
p99 = paired["p99_ms"]
assert 100 <= p99["mean_diff"] <= 200, "the shoppers' p99 rises by about 150 ms"
assert 0.18 <= paired["p99_relative"]["mean_diff"] <= 0.25, "the shoppers' p99 rises by +21%"
median_base = harmful["base"]["loads"]["shoppers"]["p99_ms"]["median"]
median_proposed = harmful["proposed"]["loads"]["shoppers"]["p99_ms"]["median"]
assert 725 <= median_base <= 735 and 860 <= median_proposed <= 920, \\
    "the median p99 goes from 730 ms to about 890 ms over 30 seeds"
assert gate.loc[("max_p99_increase", "shoppers")].verdict == "fail", "enough to fail the 10% p99 gate"
assert 0.15 <= paired["success_rate"]["proposed_mean"] / paired["success_rate"]["base_mean"] <= 0.25, \\
    "the success rate falls to a fifth"
print("checked: the harmful change")'''),
(M, """**What you see:** the change fails its gates. On the shoppers' load the proposed config
violates the SLO and never recovers on (nearly) every seed where the base was clean:
the SLO-risk and never-recovered-risk increases are far above their limits, with
intervals that exclude zero. Attempts per request rise well above 1 and the success
rate collapses during the provider's slowdown (30 s to 45 s) and never comes back: the
median goodput across seeds stays at zero to the end of the run. The mechanism is lesson
2's at scale: the shorter per-try timeout turns slow-but-successful payments into
timeouts, the provider keeps working on the abandoned tries (zombie work), each timeout
is retried with no budget to cap it, and payment's queue never drains. Browsers, which
never call payment, are hurt too (their p99 goes from about 80 ms to about 1 s, and
every seed violates their SLO): the web tier's workers are held by checkouts waiting on
payment.

The health verdicts name it: on every seed payment, unhealthy by its fault, is the
origin of a cascade whose blast radius is web and edge, unhealthy because of it *and*
impaired. `cascade_risk` counts a cascade anywhere in the run, so it jumps from 0 to 100%
on every load, batch included; `path_cascade_risk`, a cascade among the services the
load reaches, stays 0 for batch, which never touches them.

Note how little p99 alone says: the shoppers' p99 of *successful* requests rises by
about 150 ms (+21%: the median goes from 730 ms to about 890 ms over 30 seeds), enough
to fail the 10% p99 gate but a modest-looking number, while the success rate falls to a
fifth: most slow requests fail instead of being counted. Always read p99 with the
success rate and the risks; the gates do.

`report.md` is the text to paste into the pull request:"""),
(C, '''print(harmful_report[:3000])'''),
(M, """## The harmless change"""),
(C, '''harmless, _ = compare("scenarios/changes/extra-replica.toml", exit_code=(0,))
print("verdict:", harmless["verdict"], "-", harmless["message"])
plot_pairs(harmless, "extra-replica.toml")
gates_table(harmless).round(3)'''),
(C, '''# The claims of "What you see" below, checked.
assert harmless["verdict"] == "pass", "every gate passes (exit 0)"
outcomes = risk_table(harmless).query("risk in ['slo_risk', 'metastable_risk']")
assert (outcomes["diff"] == 0).all() and (outcomes["seeds worse"] == 0).all() and (outcomes["seeds better"] == 0).all(), \\
    "no seed changes its SLO or recovery outcome: the paired risk differences are exactly zero, no discordant seeds"
shoppers_diff = pd.DataFrame(harmless["paired"]["shoppers"]["per_seed"]).p99_ms_diff
assert (shoppers_diff < 0).mean() > 0.5 and abs(harmless["paired"]["shoppers"]["p99_relative"]["mean_diff"]) < 0.02, \\
    "the shoppers' p99 differences are small and mostly negative"
browsers_diff = pd.DataFrame(harmless["paired"]["browsers"]["per_seed"]).p99_ms_diff
assert browsers_diff.abs().max() < 1.5, "the browsers' per-seed differences are at or near zero (within about 1 ms)"
for load in ["shoppers", "browsers"]:
    pairs = pd.DataFrame(harmless["paired"][load]["per_seed"])
    mismatched = pairs.proposed_p99_ms.shift(-1) - pairs.base_p99_ms  # seed s+1 against seed s
    ratio = mismatched.std() / pairs.p99_ms_diff.std()
    assert 1.3 <= ratio <= 2.8, f"seed s against seed s+1 varies 1.5 to 2.5 times as much as the pairs ({load}: x{ratio:.2f})"
slo_gates = gates_table(harmless).query("gate == 'max_slo_risk'")
assert (slo_gates.value == 0).all() and ((slo_gates.high - 0.114).abs() < 0.001).all(), \\
    "with 30 seeds and no violation the 95% Wilson interval still reaches 11.4%"
print("checked: the harmless change")'''),
(M, """**What you see:** every gate passes. No seed changes its SLO or recovery outcome (the
paired risk differences are exactly zero, with no discordant seeds), and the shoppers'
p99 differences are small and mostly negative: a fourth replica means less queueing at
payment during the fault and the sale. The browsers do not call payment, so their
per-seed differences are at or near zero (within about 1 ms): common random numbers at
work. Pairing is what keeps these differences small: seed `s` of one config against seed
`s+1` of the other varies 1.5 to 2.5 times as much, on both loads.

Why `max_slo_risk` is 0.15 in `shop.toml` and not 0.05: with 30 seeds and no violation
the 95% Wilson interval still reaches 11.4%, so a 5% gate would be *inconclusive*
however good the config is. Gate at 5% and you must run at least 73 seeds (0 of 73 has
an upper end of 5.0%, 0 of 72 does not). The next cell asks `compare` itself, with
`--max-slo-risk 0.05`:"""),
(C, '''strict, _ = compare("scenarios/changes/extra-replica.toml", "--max-slo-risk", 0.05, exit_code=(1,))
print("verdict:", strict["verdict"], "-", strict["message"])
assert strict["verdict"] == "inconclusive" and strict["seeds_needed"] == 73, \\
    "a 5% gate is inconclusive with 30 clean seeds; it takes 73"
Z2 = 1.959964 ** 2
assert round(100 * Z2 / (73 + Z2), 1) == 5.0 and Z2 / (72 + Z2) > 0.05, "0 of 73 has an upper end of 5.0%, 0 of 72 does not"'''),
(M, """## A change that changes nothing

A proposed config can look different and simulate exactly like the base: here the
"change" sets payment to the 3 instances it already has. `compare` says so with the
verdict `unchanged` (exit 0): every paired difference is exactly zero, and the verdict
does not depend on the gates (with 5 seeds the `max_slo_risk` gates cannot be decided)."""),
(C, '''out = OUT / "unchanged"
stormcast("compare", "scenarios/shop.toml", "--set", "services.payment.instances=3", "--seeds", 5, "--out", out)
same = json.loads((out / "compare.json").read_text())
print("verdict:", same["verdict"], "-", same["message"])
assert same["verdict"] == "unchanged", "a change that alters nothing simulated: verdict unchanged, exit 0"
assert all(pair["p99_ms_diff"] == 0 and pair["success_rate_diff"] == 0
           for load in same["paired"].values() for pair in load["per_seed"]), "every paired difference is exactly zero"
assert all(g["verdict"] == "inconclusive" for g in same["gates"] if g["gate"] == "max_slo_risk"), \\
    "with 5 seeds the max_slo_risk gates cannot be decided"'''),
], "05-pre-merge-what-if.ipynb")

# ---------------------------------------------------------------------------------
nb([
(M, """# 6. Canary rollouts: will the analysis catch a bad release?

**What you will learn:** how an automated canary analysis decides to promote or roll back
a release, why *what* it checks and *over how many requests* decide whether it protects
your users, and how to test a rollout strategy before you trust it:
`stormcast rollout` replays the delivery of a change, not only the change, on many seeds.

## Canary analysis in one paragraph

A canary release runs the new version of one service beside the stable one and sends it
a small share of that service's traffic, the *weight*. A controller such as Flagger
watches it: from `start`, every `interval` it runs its checks over the canary's traffic
in a window (by default the last interval), such as "success rate at least 99%" and
"p99 at most 150 ms". When every check passes, the weight goes up one step
(`step_weight`, up to `max_weight`); a passing round at the maximum promotes the release
(the stable deployment gets the new version, and the next tick routes all traffic to
it). A failing check adds one to a count of failed checks, and the weight stays; when
the count has reached `threshold`, the next tick rolls back: the weight goes to 0. So a
release that passes everything is promoted `interval x (max_weight / step_weight + 1)`
after the start, and one that fails everything is rolled back
`interval x (threshold + 1)` after the start.

This is what makes delivery *decision-safe*: a change is judged by how the whole system
behaves while only a few users meet it, and reversed automatically before it reaches
everyone. But the analysis is itself configuration, and rarely tested. It can fail in
two ways: it **misses a bad release** (it checks the wrong thing), or it **rolls back a
good one** (its windows hold too few requests, so its verdict is noise; a canary that
cries wolf teaches a team to ignore it, or to turn it off). This notebook shows both.

## The scenario

`scenarios/canary.toml`: shoppers send 200 checkouts/s to `frontend`, and each checkout
calls `payment/charge` (timeout 1 s, one retry under a budget). Payment (4 x 16 workers,
median 30 ms, p99 120 ms, 0.1% errors) runs at about 11% utilization. The shoppers' SLO:
p99 at most 400 ms and a success rate of at least 99%. Releases of payment
(`scenarios/changes/`): `payment-slow.toml` makes every charge about four times slower
(median 120 ms, p99 450 ms) without failing any; `payment-harmless.toml` is a
refactoring, a touch faster (median 28 ms). Three analyses (`scenarios/rollouts/`), all
Flagger style, from 60 s, in steps of 10% up to 50%, with `threshold = 1` (the first
failed check rolls back):

| strategy | interval (and window) | checks |
|---|---|---|
| `strict.toml` | 60 s | success rate at least 99%, p99 at most 150 ms |
| `lax.toml` | 60 s | success rate at least 99% |
| `hasty.toml` | 5 s | the strict checks |

`stormcast rollout BASE --change FILE --strategy FILE --seeds N --format json` prints
`rollout.json`: the share of seeds rolled back, promoted and unfinished (each with a 95%
Wilson interval), per load the share whose SLO was breached and whose rollout was
*caught before the breach*, when it was decided, and each seed's outcome. The strategies
have no `[rollout.expect]` (nothing asserted), so `--allow-ungated` lets the command exit 0
rather than 1."""),
(C, SETUP + '''
import math
import tomllib


def strategy(path):
    """The `[rollout]` table of a strategy file."""
    return tomllib.loads((ROOT / path).read_text())["rollout"]


def seconds(text):
    """A duration as written in the files ("60s", "150ms"), in seconds."""
    return float(text[:-2]) / 1000 if text.endswith("ms") else float(text[:-1])


def shares(r):
    """The headline of a rollout.json, as a one-row table."""
    s = r["loads"]["shoppers"]
    spread = lambda x: None if x is None else x["median"]
    return pd.DataFrame([{"rolled back": r["rolled_back"]["p"], "promoted": r["promoted"]["p"],
                          "unfinished": r["unfinished"]["p"], "SLO breached": s["slo_breached"]["p"],
                          "caught before breach": s["caught_before_breach"]["p"],
                          "median s to rollback": spread(r["detection_s"]),
                          "median s to promotion": spread(r["promotion_s"]),
                          "median requests to canary": spread(r["exposed_requests"])}])'''),
(M, """## When the rules say it should decide

From the strategy files, Flagger's rule gives the times to promotion and to rollback,
counted from the rollout's start (60 s into the run):"""),
(C, '''plans = {}
for name in ["strict", "lax", "hasty"]:
    s = strategy(f"scenarios/rollouts/{name}.toml")
    interval, steps = seconds(s["interval"]), s["max_weight"] // s["step_weight"]
    plans[name] = {"start s": seconds(s["start"]), "interval s": interval, "steps": steps,
                   "threshold": s["threshold"], "promoted after s": interval * (steps + 1),
                   "rolled back after s": interval * (s["threshold"] + 1),
                   "checks": ", ".join(c["metric"] for c in s["check"])}
plans = pd.DataFrame(plans).T
assert plans.loc["strict", "promoted after s"] == 360 and plans.loc["strict", "rolled back after s"] == 120
assert plans.loc["hasty", "promoted after s"] == 30 and plans.loc["hasty", "rolled back after s"] == 10
plans'''),
(M, """## 1. A slow release meets the strict analysis"""),
(C, '''slow_strict = json.loads(stormcast("rollout", "scenarios/canary.toml", "--change", "scenarios/changes/payment-slow.toml",
                                   "--strategy", "scenarios/rollouts/strict.toml", "--seeds", 40,
                                   "--format", "json", "-q", "--allow-ungated", ok=(0, 1)))
shares(slow_strict)'''),
(C, '''# The claims of "What you see" below, checked: CI executes this notebook (seeds 1..40, deterministic).
r = slow_strict
assert r["rolled_back"]["p"] == 1.0, "rolled back on every seed"
assert round(r["rolled_back"]["low"], 3) == 0.912, "40 of 40 seeds: the 95% interval starts at 91.2%"
assert r["detection_s"]["min"] == r["detection_s"]["max"] == 120, "120 s after the rollout's start, on every seed"
assert all(s["decided_s"] == 180 for s in r["per_seed"]), "180 s into the run"
assert r["loads"]["shoppers"]["caught_before_breach"]["p"] == 1.0, "caught before the shoppers' SLO was breached, every seed"
assert r["loads"]["shoppers"]["slo_breached"]["p"] == 0, "the shoppers' SLO was never breached at all"
assert abs(r["exposed_requests"]["median"] - 200 * 0.10 * 120) < 100, "about 2,400 charges met the slow release"
# At 10% the shoppers' p99 is about the slow release's p90 (the slowest 1% of all
# checkouts are the slowest 10% of the canary's): lognormal, median 120 ms, p99 450 ms.
slow_p90 = 120 * (450 / 120) ** (1.2816 / 2.3263)
assert 240 < slow_p90 < 260, "about 250 ms, under the SLO's 400 ms"
print("checked: the slow release, strict analysis")'''),
(M, """**What you see:** the strict analysis rolls the slow release back on every seed (40 of 40:
the 95% interval of the share runs from 91.2% to 100%), 120 s after the rollout began
(180 s into the run), exactly when the rule predicts: the first check, at 10% weight,
fails (seed 1's course, at the end, shows it is the p99), and the next tick rolls back. So the release never got past 10%:
about 2,400 charges met it (10% of 200/s for 120 s). It was caught before the shoppers'
SLO was breached on every seed; in fact the SLO was never breached at all. At 10% the
slow charges are the slowest 10% of the checkouts, so the shoppers' p99 is about the
slow release's p90, about 250 ms: under 400 ms. The canary's own p99 is what gave it
away, long before the users' p99 could."""),
(M, """## 2. The same release meets the lax analysis (success rate only)"""),
(C, '''slow_lax = json.loads(stormcast("rollout", "scenarios/canary.toml", "--change", "scenarios/changes/payment-slow.toml",
                                "--strategy", "scenarios/rollouts/lax.toml", "--seeds", 40,
                                "--format", "json", "-q", "--allow-ungated", ok=(0, 1)))
breaches = pd.Series([s["loads"][0]["slo_breached_s"] for s in slow_lax["per_seed"]], name="first SLO breach, s")
display(shares(slow_lax))
breaches.describe()'''),
(C, '''# The claims of "What you see" below, checked.
r = slow_lax
assert r["promoted"]["p"] == 1.0, "promoted on every seed"
assert all(s["decided_s"] == 420 for s in r["per_seed"]) and r["promotion_s"]["max"] == 360, \\
    "360 s after the start, as a harmless release would be"
assert r["loads"]["shoppers"]["slo_breached"]["p"] == 1.0, "the shoppers' SLO was breached on every seed"
assert r["loads"]["shoppers"]["caught_before_breach"]["p"] == 0, "caught before the breach on no seed"
assert breaches.notna().all() and breaches.min() >= 195 and breaches.max() < 360, \\
    "first breached between 200 s and 335 s (5 s buckets), while the canary had 30% to 50% of the traffic"
assert breaches.min() == 200 and breaches.max() == 335
analysis_share = 200 * 60 * (0.1 + 0.2 + 0.3 + 0.4 + 0.5)
assert analysis_share == 18000 and abs(r["exposed_requests"]["median"] - (analysis_share + 200 * (600 - 360))) < 1000, \\
    "about 66,000 charges met the slow release: 18,000 during the analysis, then every charge"
print("checked: the slow release, lax analysis")'''),
(M, """**What you see:** the lax analysis promotes the slow release on every seed, 360 s after
the start, just as it would a harmless one: its only check, the canary's success rate,
passes every time, because the slow release fails nothing (a 450 ms p99 is well inside
the 1 s timeout). And the shoppers' SLO is breached on every seed, caught on none.
Not only after the promotion: the first breach comes between 200 s and 335 s, while the
canary had 30% to 50% of payment's traffic (the weight was 30% from 180 s, 50% from
300 s), and the analysis went on raising the weight through it. About 66,000 charges
met the slow release: 18,000 during the analysis (200/s x 60 s x (10% + ... + 50%)),
then every charge from 360 s to the end of the run. Latency is what broke, and nothing
looked at it: an analysis has to check what breaks quietly, not only what breaks
loudly."""),
(M, """## 3. A harmless release: promoted by the strict analysis, rolled back by the hasty one"""),
(C, '''harmless_strict = json.loads(stormcast("rollout", "scenarios/canary.toml", "--change", "scenarios/changes/payment-harmless.toml",
                                       "--strategy", "scenarios/rollouts/strict.toml", "--seeds", 40,
                                       "--format", "json", "-q", "--allow-ungated", ok=(0, 1)))
harmless_hasty = json.loads(stormcast("rollout", "scenarios/canary.toml", "--change", "scenarios/changes/payment-harmless.toml",
                                      "--strategy", "scenarios/rollouts/hasty.toml", "--seeds", 40,
                                      "--format", "json", "-q", "--allow-ungated", ok=(0, 1)))
pd.concat([shares(harmless_strict), shares(harmless_hasty)], keys=["strict", "hasty"]).droplevel(1)'''),
(C, '''# The claims of "What you see" below, checked.
assert harmless_strict["promoted"]["p"] == 1.0, "the strict analysis promotes the harmless release on every seed"
assert all(s["decided_s"] == 420 for s in harmless_strict["per_seed"]), "360 s after the start, as predicted"
assert harmless_strict["loads"]["shoppers"]["slo_breached"]["p"] == 0
r = harmless_hasty
assert 0.3 <= r["rolled_back"]["p"] <= 0.7, f"the hasty one rolls it back on about half of the seeds ({r['rolled_back']['p']:.0%})"
assert r["unfinished"]["p"] == 0 and r["promotion_s"]["min"] == r["promotion_s"]["max"] == 30, \\
    "the other seeds are promoted, 30 s after the start"
assert r["detection_s"]["max"] <= 30, "the wrong rollbacks come within 30 s"
assert r["loads"]["shoppers"]["slo_breached"]["p"] == 0, "the SLO is never in danger"
at_first = sum(s["outcome"] == "rolled_back" and s["decided_s"] == 70 for s in r["per_seed"])
rolled = sum(s["outcome"] == "rolled_back" for s in r["per_seed"])
assert at_first > rolled / 2, f"more than half of the wrong rollbacks follow the very first check ({at_first} of {rolled})"
print(f"hasty: {rolled} of 40 seeds rolled back, {at_first} of them after the first check (decided at 70 s)")
# The hasty analysis is fast at catching the bad releases, though.
for bad in ["scenarios/changes/payment-slow.toml", "scenarios/changes/payment-errors.toml"]:
    b = json.loads(stormcast("rollout", "scenarios/canary.toml", "--change", bad, "--strategy", "scenarios/rollouts/hasty.toml",
                             "--seeds", 20, "--format", "json", "-q", "--allow-ungated", ok=(0, 1)))
    assert b["rolled_back"]["p"] == 1.0 and b["detection_s"]["max"] <= 10, "it catches both bad releases within 10 s"
print("checked: the harmless release, strict and hasty")'''),
(M, """**What you see:** the strict analysis promotes the harmless release on every seed, 360 s
after the start, as predicted. The hasty analysis, with the *same* checks every 5 s over
the last 5 s, wrongly rolls it back on about half of the seeds, within 30 s, and more
than half of those wrong rollbacks follow its very first check. Meanwhile the shoppers'
SLO is never in danger. (The hasty analysis is not useless: it catches the slow release
and one that fails 20% of its charges within 10 s, on every seed. It is just as quick to
condemn a good one.)

## Why: too few requests for a p99

At 10% of 200 checkouts/s, the canary serves about `200 x 0.10 x 5 = 100` requests in a
5 s window. stormcast computes the p99 by nearest rank, as the `ceil(0.99 n)`-th smallest
of the `n` values: for any `n` below 100 that is the *largest* (at exactly 100, the
second-largest). So at 10% the hasty p99 check asks, more or less, whether *every one* of
about 100 charges took less than 150 ms. A healthy payment's charge (lognormal, median
28 ms, p99 120 ms) takes longer than that about once in 270, so among 100 charges at
least one does about one time in three. The success-rate check
has the same problem: with fewer than 100 requests, a single failed charge (0.1% of them
fail) is already below 99%. The strict analysis measures 60 s: about 1,200 requests at
10%, whose p99 is their 13th-largest value, and for 13 of 1,200 healthy charges to exceed
150 ms takes a near-impossible run of bad luck. The next cell replays each of the 40
seeds of the hasty rollout (`--seed N` replays seed N of the `--seeds` run) and counts
the false alarms by weight and check."""),
(C, '''def course(change, strategy_file, seed=1):
    """summary.json's `rollout` for one seed."""
    return json.loads(stormcast("rollout", "scenarios/canary.toml", "--change", change, "--strategy", strategy_file,
                                "--seed", seed, "--format", "json"))["rollout"]


rows = []
for seed in range(1, 41):
    one = course("scenarios/changes/payment-harmless.toml", "scenarios/rollouts/hasty.toml", seed)
    assert (one["outcome"], one["decided_s"]) == (harmless_hasty["per_seed"][seed - 1]["outcome"],
                                                  harmless_hasty["per_seed"][seed - 1]["decided_s"]), "--seed N replays seed N"
    rows += [{"seed": seed, **c} for c in one["checks"]]
checks = pd.DataFrame(rows)
alarms = checks.assign(failed=checks.result == "fail").pivot_table(
    index="weight", columns="check", values="failed", aggfunc=["sum", "count"])
alarms'''),
(C, '''# The claims above, checked.
assert (checks.result != "inconclusive").all()
by_weight = checks.assign(failed=checks.result == "fail").groupby("weight").failed.mean()
assert by_weight.idxmax() == 10, "false alarms are most frequent at 10%, where the windows are smallest"
sr_fails = checks[(checks.check == "success_rate") & (checks.result == "fail")]
assert len(sr_fails) > 0 and (sr_fails.weight == 10).all(), "every success-rate false alarm is at 10%"
n_window = 1 / (1 - sr_fails.value)
assert (abs(n_window - n_window.round()) < 1e-6).all() and (n_window < 100).all(), \\
    "each was a single failure among fewer than 100 requests"
assert 200 * 0.10 * 5 == 100 and all(math.ceil(0.99 * n) == n for n in range(1, 100)) and math.ceil(0.99 * 100) == 99, \\
    "about 100 requests per window; below 100 the nearest-rank p99 is the largest, at 100 the second-largest"
sigma = math.log(120 / 28) / 2.3263
p_over = 0.5 * math.erfc(math.log(150 / 28) / sigma / math.sqrt(2))
assert 250 <= 1 / p_over <= 290, f"a healthy charge exceeds 150 ms about once in 270 (1 in {1 / p_over:.0f})"
assert 0.25 <= 1 - (1 - p_over) ** 100 <= 0.35, "among 100 charges at least one does, about one time in three"
n = 1200
rank = math.ceil(0.99 * n)
assert n - rank + 1 == 13, "at 1,200 requests the p99 is the 13th-largest value"
p_13 = 1 - sum(math.comb(n, k) * p_over**k * (1 - p_over) ** (n - k) for k in range(13))
assert p_13 < 0.001, f"13 of 1,200 healthy charges over 150 ms: a near-impossible run of bad luck ({p_13:.1e})"
print(f"P(healthy charge > 150 ms) = 1 in {1 / p_over:.0f}; max of 100 over 150 ms: {1 - (1 - p_over) ** 100:.0%}; "
      f"13 of 1200: {p_13:.1e}")'''),
(M, """**The lesson:** a percentile needs samples. A p99 over fewer than 100 requests is their
maximum, and the maximum of a healthy service's latency is noise. Give each check enough
requests: a longer window (Flagger's `interval`, or a check's own `window`), a larger first
weight, or a lower percentile over short windows. The strict analysis is slower (6 minutes
to promote instead of 30 s) and right on every seed; the hasty one is fast and right on
half of them.

## One seed's course

`--seed 1 --format json` prints `summary.json`, whose `rollout` holds the course of the
rollout: the canary's weight from each time on, and every check (time, weight, the
canary's value and the stable version's over the same window, result). Below, seed 1 of
three rollouts: the weight (top), and the checks against their thresholds (filled: the
canary, green when it passed and red when it failed; hollow: the stable version)."""),
(C, '''COURSES = {
    "slow release, strict": ("scenarios/changes/payment-slow.toml", "scenarios/rollouts/strict.toml"),
    "slow release, lax": ("scenarios/changes/payment-slow.toml", "scenarios/rollouts/lax.toml"),
    "harmless release, hasty": ("scenarios/changes/payment-harmless.toml", "scenarios/rollouts/hasty.toml"),
}
seed1 = {label: course(change, strat) for label, (change, strat) in COURSES.items()}

fig, axes = plt.subplots(3, 3, figsize=(13, 8), sharex="col")
for col, (label, r) in enumerate(seed1.items()):
    plan = strategy(COURSES[label][1])
    interval = seconds(plan["interval"])
    end = r["decided_s"] + interval
    w = r["weights"]
    ax = axes[0, col]
    ax.step([x["at_s"] for x in w] + [end], [x["weight"] for x in w] + [w[-1]["weight"]], where="post", color="C0")
    ax.axvline(r["decided_s"], color="k", ls="--", lw=1)
    ax.text(r["decided_s"], 55, f" {r['outcome'].replace('_', ' ')}", fontsize=9)
    breach = r["loads"][0]["slo_breached_s"]
    if breach is not None:
        ax.axvline(breach, color="red", ls=":", lw=1.5)
        ax.text(breach, 80, "SLO breached ", color="red", fontsize=9, ha="right")
    ax.set_ylim(-5, 105)
    ax.set_title(f"{label} (seed 1)")
    limits = {c["metric"]: c for c in plan["check"]}
    for row, metric, scale, unit in [(1, "success_rate", 100, "%"), (2, "p99", 1, "ms")]:
        ax = axes[row, col]
        cs = [c for c in r["checks"] if c["metric"] == metric and c["value"] is not None]
        if metric not in limits:
            ax.text(0.5, 0.5, "not checked", transform=ax.transAxes, ha="center", va="center", color="grey")
            ax.set_yticks([])
        else:
            lim = limits[metric]
            bound = lim.get("min", lim.get("max"))
            bound = bound * scale if metric == "success_rate" else seconds(bound) * 1000
            ax.axhline(bound, color="grey", ls="--", lw=1, label=("min " if "min" in lim else "max ") + f"{bound:g} {unit}")
            ax.scatter([c["at_s"] for c in cs], [c["stable"] * scale for c in cs], facecolors="none",
                       edgecolors="grey", label="stable", zorder=3)
            ax.scatter([c["at_s"] for c in cs], [c["value"] * scale for c in cs], zorder=4,
                       c=["C2" if c["result"] == "pass" else "C3" for c in cs], label="canary")
            ax.legend(fontsize=7, loc="best")
        ax.set_xlim(seconds(plan["start"]) - interval, end)
    axes[2, col].set_xlabel("simulated time, s")
axes[0, 0].set_ylabel("canary weight, %")
axes[1, 0].set_ylabel("success rate, %")
axes[2, 0].set_ylabel("p99, ms")
fig.tight_layout()
plt.show()'''),
(C, '''# The claims of "What you see" below, checked (seed 1).
a, b, c = seed1.values()
assert [(x["at_s"], x["weight"]) for x in a["weights"]] == [(0, 0), (60, 10), (180, 0)], "10% at 60 s, back to 0 at 180 s"
p99_a = [x for x in a["checks"] if x["metric"] == "p99"]
assert len(p99_a) == 1 and p99_a[0]["at_s"] == 120 and p99_a[0]["result"] == "fail"
assert 400 <= p99_a[0]["value"] <= 550 and 100 <= p99_a[0]["stable"] <= 140, \\
    "the canary's p99 about 470 ms against the stable version's 120 ms"
assert all(x["result"] == "pass" for x in a["checks"] if x["metric"] == "success_rate"), "the success rates are alike"
assert [(x["at_s"], x["weight"]) for x in b["weights"]][1:] == [(60, 10), (120, 20), (180, 30), (240, 40), (300, 50), (360, 100)], \\
    "the lax staircase: 10% more every minute, then 100% at 360 s"
assert all(x["result"] == "pass" for x in b["checks"]) and b["decided_s"] == 420
assert 240 <= b["loads"][0]["slo_breached_s"] < 300, "seed 1 breaches the SLO at 40%"
assert [(x["at_s"], x["weight"]) for x in c["weights"]] == [(0, 0), (60, 10), (70, 0)], "hasty: rolled back at 70 s"
first = [x for x in c["checks"] if x["at_s"] == 65]
assert {x["metric"]: x["result"] for x in first} == {"success_rate": "pass", "p99": "fail"}
p99_c = next(x for x in first if x["metric"] == "p99")
assert 150 < p99_c["value"] < 200 and p99_c["stable"] < 150, \\
    "the healthy canary's p99 just over 150 ms, the stable version's (nine times as many requests) under it"
print("checked: seed 1")'''),
(M, """**What you see:**

- **Slow release, strict:** the weight goes to 10% at 60 s; the check at 120 s measures
  the canary's p99 at about 470 ms against the stable version's 120 ms over the same
  minute (the success rates are alike); the weight holds, and the next tick (180 s)
  rolls back. The SLO line never appears.
- **Slow release, lax:** the staircase: 10% more every minute while every success-rate
  check passes (the p99 is not checked), 100% at 360 s when the spec is copied to the
  stable deployment, promoted at 420 s. On seed 1 the shoppers' SLO is breached at 40%,
  and the analysis goes on.
- **Harmless release, hasty:** the first check (65 s, 10%) finds the canary's p99 just
  over 150 ms: the largest of about 100 charges. Over the same 5 s the stable version,
  with nine times as many requests, has its p99 below 150 ms. The release is as good as
  the stable one; the rollback at 70 s is noise.

## Your turn: Argo Rollouts style

Argo Rollouts writes the rollout as explicit steps, and the analysis as named templates
that take `count` measurements every `interval` and fail when failed measurements exceed
`failure_limit`; `stormcast rollout` reads that style from the same TOML file,
`steps = [...]` under `[rollout]` with `[rollout.analysis.NAME]` tables (see
docs/rollout.md). The next cell writes one (20%, wait a minute, three measurements 30 s
apart, 50%, wait, measure again) and replays both releases against it. Things to try:
shorten the analysis `interval` to `"5s"` and watch the harmless release's fate; add
`[rollout.expect]` with `rolled_back_at_least = 0.9` (for the slow release) and see the
exit code and the verdict; replace the p99 check with a `p90` one and compare."""),
(C, '''argo = OUT / "argo.toml"
argo.write_text("""
[rollout]
service = "payment"
start   = "60s"
steps   = [ { set_weight = 20 }, { pause = "60s" }, { analysis = "health" },
            { set_weight = 50 }, { pause = "60s" }, { analysis = "health" } ]

[rollout.analysis.health]
interval      = "30s"
count         = 3
failure_limit = 0

[[rollout.analysis.health.metric]]
metric = "success_rate"
min    = 0.99

[[rollout.analysis.health.metric]]
metric = "p99"
max    = "150ms"
""")
for change in ["scenarios/changes/payment-slow.toml", "scenarios/changes/payment-harmless.toml"]:
    print(stormcast("rollout", "scenarios/canary.toml", "--change", change, "--strategy", argo,
                    "--seeds", 20, "-q", "--allow-ungated", ok=(0, 1)))'''),
], "06-canary-rollouts.ipynb")

# ---------------------------------------------------------------------------------
# Notebooks 05 and 06 need `stormcast compare` and `stormcast rollout`; .ci/notebooks.sh
# skips a notebook whose required subcommands the binary does not have.
for name, requires in [("05-pre-merge-what-if.ipynb", ["compare"]), ("06-canary-rollouts.ipynb", ["rollout"])]:
    p = HERE / name
    book = nbformat.read(p, as_version=4)
    book.metadata["stormcast"] = {"requires": requires}
    nbformat.write(book, p)
print("wrote", sorted(x.name for x in HERE.glob("*.ipynb")))

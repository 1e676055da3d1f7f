//! The engine against queueing theory and closed forms.
//!
//! Each test runs independent replications (one per seed) and compares the mean of the
//! per-seed estimates with the exact value, within 4 standard errors of that mean (for
//! 10 replications, a t(9) false alarm has probability below 0.3%; seeds are fixed, so
//! a pass is reproducible). Each test also checks that its standard error is small, so
//! it has the power to catch a real error of a few percent.

use crate::support::*;
use stormcast::engine::SimDuration;
use stormcast::model::*;
use stormcast::sim::simulate;

const SEEDS: std::ops::Range<u64> = 1..11;

/// Erlang C: probability that an arrival waits in M/M/c with offered load a = lambda/mu.
fn erlang_c(c: u32, a: f64) -> f64 {
    let rho = a / c as f64;
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / (k + 1) as f64;
    }
    let top = term / (1.0 - rho);
    top / (sum + top)
}

/// Mean sojourn (wait + service) in M/M/c.
fn mmc_mean_sojourn(lambda: f64, mu: f64, c: u32) -> f64 {
    erlang_c(c, lambda / mu) / (c as f64 * mu - lambda) + 1.0 / mu
}

/// The q-quantile of the M/M/c FIFO sojourn time: P(T > t) = e^{-mu t} + C mu /
/// (c mu - lambda - mu) (e^{-mu t} - e^{-(c mu - lambda) t}), solved by bisection.
fn mmc_sojourn_quantile(lambda: f64, mu: f64, c: u32, q: f64) -> f64 {
    let cc = erlang_c(c, lambda / mu);
    let d = c as f64 * mu - lambda;
    let tail = |t: f64| {
        if (d - mu).abs() < 1e-12 {
            (-mu * t).exp() * (1.0 + cc * mu * t)
        } else {
            (-mu * t).exp() + cc * mu / (d - mu) * ((-mu * t).exp() - (-d * t).exp())
        }
    };
    let (mut lo, mut hi) = (0.0, 100.0 / mu.min(d));
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if tail(mid) > 1.0 - q { lo = mid } else { hi = mid }
    }
    (lo + hi) / 2.0
}

fn exp_ms(mean_ms: f64) -> Dist {
    Dist::exponential(SimDuration::from_secs_f64(mean_ms / 1e3)).unwrap()
}

/// M/M/1 at rho = 0.8: mean sojourn 1/(mu - lambda) and p99 ln(100)/(mu - lambda).
#[test]
fn mm1_mean_and_p99_sojourn() {
    let (lambda, mu) = (80.0, 100.0);
    let sc = scenario(
        simulation(2_000.0, 50.0),
        vec![service("s", 1, 1, None, exp_ms(10.0))],
        vec![open_load("l", 0, lambda, Arrival::Poisson)],
    );
    let runs: Vec<_> = SEEDS.map(|seed| simulate(&sc, seed)).collect();
    let means: Vec<f64> = runs.iter().map(|r| r.loads[0].latency_ms.mean / 1e3).collect();
    let p99s: Vec<f64> = runs.iter().map(|r| r.loads[0].latency_ms.p99 / 1e3).collect();
    assert_agrees("M/M/1 mean sojourn", &means, 1.0 / (mu - lambda), 4.0, 0.03);
    assert_agrees("M/M/1 p99 sojourn", &p99s, 100f64.ln() / (mu - lambda), 4.0, 0.03);
}

/// M/M/4 at rho = 0.8 (Erlang C): mean and p99 sojourn, and utilization lambda/(c mu).
#[test]
fn mmc_erlang_c_mean_p99_and_utilization() {
    let (lambda, mu, c) = (320.0, 100.0, 4);
    let sc = scenario(
        simulation(1_000.0, 50.0),
        vec![service("s", 1, c as u64, None, exp_ms(10.0))],
        vec![open_load("l", 0, lambda, Arrival::Poisson)],
    );
    let runs: Vec<_> = SEEDS.map(|seed| simulate(&sc, seed)).collect();
    let means: Vec<f64> = runs.iter().map(|r| r.loads[0].latency_ms.mean / 1e3).collect();
    let p99s: Vec<f64> = runs.iter().map(|r| r.loads[0].latency_ms.p99 / 1e3).collect();
    let utils: Vec<f64> = runs.iter().map(|r| r.services[0].utilization).collect();
    assert_agrees("M/M/4 mean sojourn", &means, mmc_mean_sojourn(lambda, mu, c), 4.0, 0.02);
    assert_agrees("M/M/4 p99 sojourn", &p99s, mmc_sojourn_quantile(lambda, mu, c, 0.99), 4.0, 0.02);
    assert_agrees("M/M/4 utilization", &utils, lambda / (c as f64 * mu), 4.0, 0.01);
}

/// M/M/c/K: the probability that an arrival finds the system full, from the
/// birth-death chain: p_n proportional to a^n/n! for n <= c and a^c/c! rho^(n-c) above.
#[test]
fn mmck_blocking_probability() {
    let (lambda, mu, c, k) = (250.0, 100.0, 2u32, 5u32);
    let a = lambda / mu;
    let mut p = Vec::new();
    let mut term = 1.0;
    for n in 0..=k {
        p.push(term);
        term *= a / (n + 1).min(c) as f64;
    }
    let blocking = p[k as usize] / p.iter().sum::<f64>();
    let sc = scenario(
        simulation(500.0, 20.0),
        vec![service("s", 1, c as u64, Some((k - c) as u64), exp_ms(10.0))],
        vec![open_load("l", 0, lambda, Arrival::Poisson)],
    );
    let per_seed: Vec<f64> = SEEDS
        .map(|seed| {
            let r = simulate(&sc, seed);
            r.services[0].rejected as f64 / r.services[0].arrivals as f64
        })
        .collect();
    assert_agrees("M/M/2/5 blocking", &per_seed, blocking, 4.0, 0.02);
}

/// M/D/1 (Pollaczek-Khinchine): W = D + rho D / (2 (1 - rho)).
#[test]
fn md1_mean_sojourn_pollaczek_khinchine() {
    let (lambda, d) = (80.0, 0.010);
    let rho = lambda * d;
    let sc = scenario(
        simulation(1_000.0, 50.0),
        vec![service("s", 1, 1, None, Dist::constant(SimDuration::from_millis(10)))],
        vec![open_load("l", 0, lambda, Arrival::Poisson)],
    );
    let means: Vec<f64> = SEEDS.map(|seed| simulate(&sc, seed).loads[0].latency_ms.mean / 1e3).collect();
    assert_agrees("M/D/1 mean sojourn", &means, d + rho * d / (2.0 * (1.0 - rho)), 4.0, 0.02);
}

/// Three M/M/4 stations in tandem behind a pass-through (Burke): departures of an
/// M/M/c queue are Poisson, so each station is M/M/4 and the end-to-end mean is the sum.
#[test]
fn tandem_of_mmc_stations_burke() {
    let (lambda, mu, c) = (320.0, 100.0, 4);
    let mut entry = service("entry", 1, 1_000_000_000_000, None, Dist::constant(SimDuration::ZERO));
    entry.endpoints[0].steps = (1..=3).map(|s| Step::Call(call(s))).collect();
    let stations = (1..=3).map(|i| service(&format!("s{i}"), 1, c as u64, None, exp_ms(10.0)));
    let sc = scenario(
        simulation(500.0, 20.0),
        std::iter::once(entry).chain(stations).collect(),
        vec![open_load("l", 0, lambda, Arrival::Poisson)],
    );
    let means: Vec<f64> = SEEDS.map(|seed| simulate(&sc, seed).loads[0].latency_ms.mean / 1e3).collect();
    assert_agrees("tandem mean", &means, 3.0 * mmc_mean_sojourn(lambda, mu, c), 4.0, 0.02);
}

/// A closed loop of N users with exponential think time Z in front of one M/M/1
/// station: exact mean value analysis gives throughput and response time; the
/// interactive response time law R = N/X - Z must also hold.
#[test]
fn closed_loop_matches_mean_value_analysis() {
    let (n_users, think_s, service_s) = (10u32, 0.1, 0.010);
    // MVA for one queueing station plus a delay (think) station.
    let (mut r, mut x, mut q) = (0.0, 0.0, 0.0);
    for n in 1..=n_users {
        r = service_s * (1.0 + q);
        x = n as f64 / (r + think_s);
        q = x * r;
    }
    let mut load = open_load("users", 0, 0.0, Arrival::Poisson);
    load.kind = LoadKind::Closed { users: n_users, think_time: exp_ms(think_s * 1e3) };
    let sc = scenario(simulation(500.0, 20.0), vec![service("s", 1, 1, None, exp_ms(10.0))], vec![load]);
    let runs: Vec<_> = SEEDS.map(|seed| simulate(&sc, seed)).collect();
    let measured = 480.0;
    let xs: Vec<f64> = runs.iter().map(|r| r.loads[0].requests as f64 / measured).collect();
    let rs: Vec<f64> = runs.iter().map(|r| r.loads[0].latency_ms.mean / 1e3).collect();
    assert_agrees("closed-loop throughput", &xs, x, 4.0, 0.01);
    assert_agrees("closed-loop response time", &rs, r, 4.0, 0.02);
    // The law with the measured means: its error propagates from X (dR = N/X^2 dX) and R.
    let ((x_mean, x_se), (r_mean, r_se)) = (mean_and_se(&xs), mean_and_se(&rs));
    let law = n_users as f64 / x_mean - think_s;
    let se = ((n_users as f64 / (x_mean * x_mean) * x_se).powi(2) + r_se.powi(2)).sqrt();
    assert!((law - r_mean).abs() <= 4.0 * se, "response time law: N/X - Z = {law}, R = {r_mean} (se {se})");
}

/// D/D/1 with a known busy time: one arrival per second from t = 0, 0.5 s of work each.
/// The warmup (0.25 s) and the end of the run (10.5 s) both fall inside a 1 s bucket, so
/// the bucket holding each is split exactly: busy after warmup is 0.25 s (the first job's
/// rest) + 10 x 0.5 s = 5.25 s over 10.25 s measured, and the last job is still working
/// at the end (its part up to the end counts).
#[test]
fn utilization_is_exact_across_bucket_boundaries() {
    let sc = scenario(
        simulation(10.5, 0.25),
        vec![service("s", 1, 1, None, Dist::Constant(secs(0.5)))],
        vec![open_load("users", 0, 1.0, Arrival::Constant)],
    );
    let r = simulate(&sc, 1);
    let u = r.services[0].utilization;
    assert!((u - 5.25 / 10.25).abs() < 1e-12, "utilization {u}, expected {}", 5.25 / 10.25);
    // Per bucket: half of every whole bucket is busy.
    let b = &r.services[0].buckets;
    assert_eq!(b.len(), 10);
    assert!(
        b.iter().all(|b| (b.utilization - 0.5).abs() < 1e-12),
        "{:?}",
        b.iter().map(|b| b.utilization).collect::<Vec<_>>()
    );
}

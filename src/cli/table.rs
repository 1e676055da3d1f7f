//! Terminal tables: what `stormcast run` prints by default.

use std::fmt::Write;
use stormcast::stats::RunResult;

/// Thousands separators for counts, so 1234567 reads as 1,234,567.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

pub fn run_table(r: &RunResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  seed {}  {} s simulated ({} s warmup)  {} events\n",
        r.scenario,
        r.seed,
        r.simulated_s,
        r.warmup_s,
        count(r.events)
    );
    let _ = writeln!(
        out,
        "{:<16} {:>10} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6} {:>10}  slo",
        "load", "requests", "success", "mean ms", "p50 ms", "p99 ms", "p999 ms", "max ms", "tries", "recovery"
    );
    for l in &r.loads {
        let recovery = match l.recovery_s {
            Some(s) => format!("{s:.0} s"),
            None => "never".to_string(),
        };
        let _ = writeln!(
            out,
            "{:<16} {:>10} {:>7.2}% {:>9} {:>9} {:>9} {:>9} {:>9} {:>6.2} {:>10}  {}",
            l.name,
            count(l.requests),
            100.0 * l.success_rate,
            ms(l.latency_ms.mean),
            ms(l.latency_ms.p50),
            ms(l.latency_ms.p99),
            ms(l.latency_ms.p999),
            ms(l.latency_ms.max),
            l.amplification,
            recovery,
            if l.slo_violated { "VIOLATED" } else { "ok" }
        );
        let failures: Vec<String> = stormcast::model::Outcome::ALL[1..]
            .iter()
            .filter(|&&o| l.outcomes.get(o) > 0)
            .map(|&o| format!("{} {}", o.name(), count(l.outcomes.get(o))))
            .collect();
        if !failures.is_empty() || l.in_flight > 0 {
            let mut line = failures.join(", ");
            if l.in_flight > 0 {
                if !line.is_empty() {
                    line.push_str(", ");
                }
                let _ = write!(line, "{} still in flight at the end", count(l.in_flight));
            }
            let _ = writeln!(out, "{:<16} {}", "", line);
        }
    }
    let _ = writeln!(
        out,
        "\n{:<16} {:>10} {:>8} {:>6} {:>9} {:>11} {:>9} {:>9} {:>9}  health",
        "service", "arrivals", "ok", "util", "queue max", "sojourn p99", "retries", "breakers", "wasted s"
    );
    for s in &r.services {
        let served = s.ok + s.errors + s.rejected + s.throttled + s.unavailable;
        let ok_share = if served == 0 { 1.0 } else { s.ok as f64 / served as f64 };
        let health = match (s.unhealthy, s.faulted) {
            (true, true) => "unhealthy (faulted)",
            (true, false) => "UNHEALTHY (cascade)",
            (false, true) => "ok (faulted)",
            (false, false) => "ok",
        };
        let _ = writeln!(
            out,
            "{:<16} {:>10} {:>7.2}% {:>5.0}% {:>9} {:>11} {:>9} {:>9} {:>9.1}  {}",
            s.name,
            count(s.arrivals),
            100.0 * ok_share,
            100.0 * s.utilization,
            count(s.queue_max),
            ms(s.sojourn_ms.p99),
            count(s.retries_sent),
            count(s.breaker_opens),
            s.wasted_work_s,
            health
        );
    }
    out
}

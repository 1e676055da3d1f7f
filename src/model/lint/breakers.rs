//! Lint 5: circuit breakers that cannot open (a time window the traffic cannot fill
//! with `min_calls`) or whose `min_calls` Resilience4j caps at a count window's size.

use super::{Anchor, Context, Lint, LintKind};
use crate::format::two_decimals;
use crate::model::graph::Rates;
use crate::model::policy::{BreakerWindow, PolicyId};

impl Context<'_> {
    pub(super) fn breaker_lints(&self, out: &mut Vec<(Anchor, Lint)>) {
        let (rate, closed) = self.rates(Rates::Start);
        let mut capped_seen: Vec<PolicyId> = Vec::new();
        for (from, c) in self.call_sites() {
            let Some(pid) = c.policy else { continue };
            let Some(cb) = &self.s.policies[pid].circuit_breaker else { continue };
            let path = vec![self.endpoint(from), self.endpoint(c.to)];
            let shown = path.join(" -> ");
            let label = self.policy_label(pid);
            let anchor = Anchor::Endpoint(from);
            match cb.window {
                BreakerWindow::Count(size) => {
                    if cb.min_calls > size && !capped_seen.contains(&pid) {
                        capped_seen.push(pid);
                        out.push((
                            anchor,
                            Lint {
                                kind: LintKind::BreakerMinCallsCapped,
                                path,
                                keys: vec![
                                    self.key(pid, "circuit_breaker.min_calls"),
                                    self.key(pid, "circuit_breaker.size"),
                                ],
                                message: format!(
                                    "the circuit breaker of {label} (on {shown}) has min_calls = {} but a \
                                     count window of {size} calls: Resilience4j caps min_calls at the window \
                                     size, so it may open after only {size} calls, not {}",
                                    cb.min_calls, cb.min_calls
                                ),
                            },
                        ));
                    }
                }
                BreakerWindow::Time(seconds) => {
                    let instances = f64::from(self.s.services[from.service].instances.max(1));
                    let total = rate[from.service][from.endpoint] * c.probability;
                    let per_instance = total / instances;
                    let per_window = per_instance * f64::from(seconds);
                    // No traffic at all (an unused endpoint) is not this lint's business.
                    if total <= 0.0 || !per_window.is_finite() || per_window >= f64::from(cb.min_calls) {
                        continue;
                    }
                    let bound = if closed[from.service][from.endpoint] { "at most " } else { "" };
                    let attempts = self.attempts(c.policy);
                    let retries = if attempts > 1 {
                        let with = per_window * f64::from(attempts);
                        if with >= f64::from(cb.min_calls) {
                            format!("; only retries of failing calls ({attempts} attempts) could fill it")
                        } else {
                            format!("; even with every call retried ({attempts} attempts) it is {}", two_decimals(with))
                        }
                    } else {
                        String::new()
                    };
                    out.push((
                        anchor,
                        Lint {
                            kind: LintKind::BreakerCannotOpen,
                            path,
                            keys: vec![
                                self.key(pid, "circuit_breaker.min_calls"),
                                self.key(pid, "circuit_breaker.size"),
                            ],
                            message: format!(
                                "the circuit breaker of {label} on {shown} counts calls per {} instance: at the \
                                 starting load that is {bound}{}/s ({}/s over {} instances), {bound}{} calls in \
                                 its {seconds}s window, fewer than min_calls = {}{retries}; it cannot open, so \
                                 it will not protect {} when {} fails",
                                self.s.services[from.service].name,
                                two_decimals(per_instance),
                                two_decimals(total),
                                two_decimals(instances),
                                two_decimals(per_window),
                                cb.min_calls,
                                self.endpoint(from),
                                self.endpoint(c.to),
                            ),
                        },
                    ));
                }
            }
        }
    }
}

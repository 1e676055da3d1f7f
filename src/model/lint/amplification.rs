//! Lints 1 and 2: retries along call paths. The attempts multiply down a path (retry
//! amplification), and more than one service-to-service layer retries.

use super::{Anchor, Caller, Context, Lint, LintKind, MAX_PATHS_PER_LOAD, RETRY_AMPLIFICATION_THRESHOLD};
use crate::model::policy::PolicyId;
use crate::model::service::EndpointRef;

/// One hop of a call path: the call into `to`, under `policy`.
#[derive(Copy, Clone)]
struct Hop {
    to: EndpointRef,
    policy: Option<PolicyId>,
    /// False for the first hop, from the load.
    between_services: bool,
}

impl Context<'_> {
    pub(super) fn path_lints(&self, load: usize, out: &mut Vec<(Anchor, Lint)>) {
        let l = &self.s.loads[load];
        let mut stack = vec![Hop { to: l.target, policy: l.policy, between_services: false }];
        let mut budget = MAX_PATHS_PER_LOAD;
        self.walk(load, &mut stack, &mut budget, out);
    }

    /// Depth-first over the paths below the top of `stack`. Returns whether any hop
    /// below the top retries; a path is reported only at its deepest retrying hop, so
    /// three retrying layers give one warning, not one per prefix.
    fn walk(&self, load: usize, stack: &mut Vec<Hop>, budget: &mut usize, out: &mut Vec<(Anchor, Lint)>) -> bool {
        if *budget == 0 {
            return true;
        }
        *budget -= 1;
        let top = *stack.last().expect("a path has a first hop");
        let mut retries_below = false;
        for step in &self.s.services[top.to.service].endpoints[top.to.endpoint].steps {
            for c in step.calls() {
                stack.push(Hop { to: c.to, policy: c.policy, between_services: true });
                let below = self.walk(load, stack, budget, out);
                stack.pop();
                retries_below |= below || self.attempts(c.policy) > 1;
            }
        }
        if !retries_below && self.attempts(top.policy) > 1 {
            self.report_path(load, stack, out);
        }
        retries_below
    }

    fn report_path(&self, load: usize, stack: &[Hop], out: &mut Vec<(Anchor, Lint)>) {
        let mut path = vec![format!("load:{}", self.s.loads[load].name)];
        path.extend(stack.iter().map(|h| self.endpoint(h.to)));
        let shown = path.join(" -> ");
        let retrying: Vec<&Hop> = stack.iter().filter(|h| self.attempts(h.policy) > 1).collect();
        let keys = |hops: &[&Hop]| {
            let mut keys: Vec<String> = Vec::new();
            for h in hops {
                let key = self.key(h.policy.expect("a retrying hop has a policy"), "retry.max_attempts");
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            keys
        };
        let factors: Vec<String> = retrying.iter().map(|h| self.attempts(h.policy).to_string()).collect();
        // Exact while it fits in a u64 (max_attempts goes up to 2^32 - 1, so three layers
        // can overflow); beyond, a float in scientific notation rather than u64::MAX.
        let exact = retrying.iter().try_fold(1u64, |p, h| p.checked_mul(u64::from(self.attempts(h.policy))));
        let amplifies = exact.is_none_or(|p| p >= RETRY_AMPLIFICATION_THRESHOLD);
        let product = match exact {
            Some(p) => p.to_string(),
            None => format!("{:.2e}", retrying.iter().map(|h| f64::from(self.attempts(h.policy))).product::<f64>()),
        };
        let leaf = self.endpoint(stack.last().expect("non-empty").to);
        let anchor = Anchor::Load(load);
        if amplifies {
            out.push((
                anchor,
                Lint {
                    kind: LintKind::RetryAmplification,
                    path: path.clone(),
                    keys: keys(&retrying),
                    message: format!(
                        "retry amplification {product}x along {shown} ({} attempts): when {leaf} fails, \
                         each request of the load reaches it up to {product} times, so an outage there \
                         multiplies its load {product}-fold (threshold {RETRY_AMPLIFICATION_THRESHOLD}x)",
                        factors.join(" x ")
                    ),
                },
            ));
        }
        let layers: Vec<&Hop> = retrying.iter().copied().filter(|h| h.between_services).collect();
        if layers.len() >= 2 {
            let who: Vec<String> = layers
                .iter()
                .map(|h| {
                    let caller = stack
                        .iter()
                        .position(|x| std::ptr::eq(x, *h))
                        .and_then(|i| i.checked_sub(1))
                        .map_or_else(|| self.caller_name(Caller::Load(load)), |i| self.endpoint(stack[i].to));
                    format!("{caller} -> {} ({}x)", self.endpoint(h.to), self.attempts(h.policy))
                })
                .collect();
            out.push((
                anchor,
                Lint {
                    kind: LintKind::RetryLayers,
                    path,
                    keys: keys(&layers),
                    message: format!(
                        "retries at {} layers along {shown}: {}; retries at every layer multiply, and the \
                         SRE book's advice is to decide which layer retries (usually the one right above \
                         the failure) and make the others fail fast",
                        layers.len(),
                        who.join(", ")
                    ),
                },
            ));
        }
    }
}

//! Definitions nothing uses: a service no load or call reaches, an endpoint nobody
//! calls, a named policy nobody uses, a fault that cannot change anything.

use super::{Anchor, Context, Lint, LintKind};
use crate::model::fault::FaultTarget;

impl Context<'_> {
    /// Definitions nothing uses (the same reachability validation uses for overlays).
    pub(super) fn unused_lints(&self, out: &mut Vec<(Anchor, Lint)>) {
        let (s, g) = (self.s, &self.graph);
        let mut add = |message: String, key: String| {
            out.push((Anchor::Scenario, Lint { kind: LintKind::Unused, path: Vec::new(), keys: vec![key], message }));
        };
        for (i, sv) in s.services.iter().enumerate() {
            if !g.service_reached[i] {
                add(
                    format!("service `{}` is used by nothing: no load targets it and no call reaches it", sv.name),
                    format!("services.{}", sv.name),
                );
                continue;
            }
            for (_, ep) in sv.endpoints.iter().enumerate().filter(|(e, _)| !g.endpoint_called[i][*e]) {
                add(
                    format!(
                        "endpoint `{}/{}` is used by nothing: no load targets it and no call names it",
                        sv.name, ep.name
                    ),
                    format!("services.{}.endpoints.{}", sv.name, ep.name),
                );
            }
        }
        // Inline policies carry generated names with `/` or `#` and belong to their call.
        for p in g.unused_policies().filter(|&p| !s.policies[p].name.contains(['/', '#'])) {
            let name = &s.policies[p].name;
            add(
                format!("policy `{name}` is used by nothing: no load, call or calling service's `client` names it"),
                format!("policies.{name}"),
            );
        }
        for (i, f) in s.faults.iter().enumerate().filter(|(_, f)| !g.fault_target_reachable(f.target)) {
            let target = match f.target {
                FaultTarget::Service(t) => s.services[t].name.clone(),
                FaultTarget::Endpoint(e) => s.endpoint_name(e),
                FaultTarget::Edge { from, to } => format!("{}->{}", s.services[from].name, s.services[to].name),
            };
            add(
                format!("fault #{} on `{target}` can change nothing: no load's requests go there", i + 1),
                format!("fault.{i}.target"),
            );
        }
    }
}

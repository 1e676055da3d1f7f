//! What an overlay defines that nothing uses: a service no load or call reaches, an
//! endpoint nobody calls, a policy nobody uses (`policies.rs`), a fault on an edge no
//! call takes. Each is an error in a `--change` or `--set` (ARCHITECTURE.md, "Overlays
//! must be used").

use super::{Span, Validator};
use crate::model::graph::CallGraph;
use crate::model::{FaultTarget, Scenario};
use crate::scenario::error::suggest;
use crate::scenario::raw::RawScenario;

impl Validator {
    /// Errors for what an overlay (spans from `from` on) defines and nothing uses.
    pub(super) fn unused_in_overlays(&mut self, raw: &RawScenario, s: &Scenario, from: usize) {
        let graph = CallGraph::new(s);
        let in_overlay = |span: &Span| span.start >= from;
        let reached: Vec<&str> = s
            .services
            .iter()
            .zip(&graph.service_reached)
            .filter(|(_, r)| **r)
            .map(|(sv, _)| sv.name.as_str())
            .collect();
        for (i, (name, _)) in raw.services.iter().enumerate() {
            if !graph.service_reached[i] && in_overlay(&name.span()) {
                let got = name.get_ref();
                self.error_help(
                    name.span(),
                    format!(
                        "service `{got}` is used by nothing: no load targets it and no call reaches it, so this \
                         change would not alter the simulation"
                    ),
                    format!(
                        "{}; a new service needs a call to it in the same change",
                        suggest(got, &reached, "services in use")
                    ),
                );
            }
        }
        for (si, (_, svc)) in raw.services.iter().enumerate() {
            if !graph.service_reached[si] {
                continue; // Reported above, or a base service (a lint warning).
            }
            let called: Vec<&str> = s.services[si]
                .endpoints
                .iter()
                .zip(&graph.endpoint_called[si])
                .filter(|(_, c)| **c)
                .map(|(e, _)| e.name.as_str())
                .collect();
            for (ei, (name, _)) in svc.get_ref().endpoints.iter().enumerate() {
                if !graph.endpoint_called[si][ei] && in_overlay(&name.span()) {
                    let got = name.get_ref();
                    self.error_help(
                        name.span(),
                        format!(
                            "endpoint `{}/{got}` is used by nothing: no load targets it and no call names it",
                            s.services[si].name
                        ),
                        format!(
                            "{}; a new endpoint needs a call to it in the same change",
                            suggest(got, &called, "endpoints in use")
                        ),
                    );
                }
            }
        }
        self.unused_policies(raw, &graph, from);
        for (f, fault) in s.faults.iter().enumerate() {
            let Some(target) = raw.fault[f].get_ref().target.as_ref() else { continue };
            if !graph.fault_target_reachable(fault.target) && in_overlay(&target.span()) {
                let why = match fault.target {
                    FaultTarget::Edge { from, to } if graph.service_reached[from] => {
                        format!("no call goes from `{}` to `{}`", s.services[from].name, s.services[to].name)
                    }
                    _ => "no load or call reaches it".to_string(),
                };
                let edges: Vec<String> = (0..s.services.len())
                    .filter(|&a| graph.service_reached[a])
                    .flat_map(|a| graph.callees[a].iter().map(move |&b| (a, b)))
                    .map(|(a, b)| format!("{}->{}", s.services[a].name, s.services[b].name))
                    .collect();
                self.error_help(
                    target.span(),
                    format!("fault target `{}` changes nothing: {why}", target.get_ref()),
                    format!("edges in use: {}", if edges.is_empty() { "(none)".to_string() } else { edges.join(", ") }),
                );
            }
        }
    }
}

//! Call cycles: an endpoint that calls itself, directly or through others.

use super::{Names, Span, Validator};
use crate::model::EndpointRef;
use crate::scenario::error::Issue;
use petgraph::graph::{DiGraph, NodeIndex};

/// A call from one endpoint to another, for cycle detection, with the span of its `to`.
pub(super) struct Edge {
    pub(super) from: EndpointRef,
    pub(super) to: EndpointRef,
    pub(super) span: Span,
}

impl Validator {
    /// Finds every call cycle with Tarjan's strongly connected components on the
    /// endpoint call graph, and names one cycle through each component.
    pub(super) fn cycles(&mut self, names: &Names, edges: &[Edge]) {
        let mut graph: DiGraph<EndpointRef, usize> = DiGraph::new();
        let mut first_node = Vec::new();
        for (sid, (_, eps)) in names.services.iter().enumerate() {
            first_node.push(graph.node_count());
            for eid in 0..eps.len() {
                graph.add_node(EndpointRef { service: sid, endpoint: eid });
            }
        }
        let node = |e: EndpointRef| NodeIndex::new(first_node[e.service] + e.endpoint);
        for (i, e) in edges.iter().enumerate() {
            graph.add_edge(node(e.from), node(e.to), i);
        }
        let mut cycles: Vec<Vec<NodeIndex>> = Vec::new();
        for scc in petgraph::algo::tarjan_scc(&graph) {
            let Some(&start) = scc.iter().min() else { continue };
            if scc.len() == 1 && graph.find_edge(start, start).is_none() {
                continue;
            }
            cycles.push(shortest_cycle(&graph, start, &scc));
        }
        cycles.sort();
        for cycle in cycles {
            let path: Vec<String> = cycle.iter().map(|&n| names.endpoint_name(graph[n])).collect();
            // Point at the call that leaves the first endpoint of the cycle.
            let issue = Issue {
                span: graph.find_edge(cycle[0], cycle[1]).map(|e| edges[graph[e]].span.clone()),
                message: format!("call cycle: {}", path.join(" -> ")),
                help: None,
            };
            self.issues.push(issue.with_help(
                "an endpoint must not call itself, directly or through other endpoints: each request would recurse forever",
            ));
        }
    }
}

/// The shortest path from `start` back to itself inside one strongly connected
/// component, as a node list that begins and ends with `start`. Breadth-first, visiting
/// neighbours in edge order, so the answer is deterministic.
fn shortest_cycle(graph: &DiGraph<EndpointRef, usize>, start: NodeIndex, scc: &[NodeIndex]) -> Vec<NodeIndex> {
    let mut parent: Vec<Option<NodeIndex>> = vec![None; graph.node_count()];
    let mut seen = vec![false; graph.node_count()];
    seen[start.index()] = true;
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        let mut next: Vec<NodeIndex> = graph.neighbors(n).collect();
        // petgraph lists the newest edge first; file order reads better.
        next.reverse();
        for m in next {
            if m == start {
                // Walk back from `n` to `start` (which has no parent), then close the loop.
                let mut path = vec![n];
                let mut cur = n;
                while let Some(p) = parent[cur.index()] {
                    path.push(p);
                    cur = p;
                }
                path.reverse();
                path.push(start);
                return path;
            }
            if !seen[m.index()] && scc.contains(&m) {
                seen[m.index()] = true;
                parent[m.index()] = Some(n);
                queue.push_back(m);
            }
        }
    }
    vec![start, start]
}

//! A picture of a scenario's call graph (`stormcast graph --format svg|png`), laid out
//! and drawn here, without Graphviz: loads on the left, then services in columns by
//! their longest call depth from the loads, each call an arrow to the right.
//!
//! The layout is Sugiyama's layered scheme, kept small: (1) cycles between services
//! (possible through different endpoints; the endpoint graph itself is acyclic) are
//! broken by reversing the edges a depth-first walk finds going back; (2) layers by
//! longest path (a load is layer 0, a service one past its deepest caller); (3) an edge
//! spanning several layers gets a dummy node in each layer it crosses, so it is routed
//! between boxes, never through one; (4) the order inside each layer is improved by
//! barycenter sweeps, keeping the order with the fewest crossings; (5) coordinates:
//! columns as wide as their widest box, gaps as wide as their widest edge label, and
//! each node pulled towards the mean height of its neighbours while keeping its order
//! and a fixed gap. Every number is computed from the scenario alone, in file order,
//! so the same scenario gives the same bytes.
//!
//! Why not a crate: `layout-rs` 0.1.3 draws its own SVG only (no PNG, and its text
//! metrics are not those of the bundled font), and `rust-sugiyama` 0.4 places nodes of
//! one size only (a service box grows with its endpoints). Both PNG and SVG here come
//! from one drawing function through plotters, like every chart (the chart toolkit, `report::chart`).

use super::chart::style::{self, FAULT_TEXT, SUBTLE_TEXT, series_colour, text_coloured};
use super::chart::{ChartError, ensure_font, render};
use super::output::OutputFile;
use crate::format::count_of;
use crate::model::{FaultKind, FaultTarget, LoadKind, Policy, Scenario};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use std::collections::BTreeMap;

/// Size of a service's or load's name.
const NAME_SIZE: u32 = 17;
/// Size of every other line in a box, and of edge labels.
const TEXT_SIZE: u32 = 14;
const TITLE_SIZE: u32 = 18;
const LINE_GAP: f64 = 5.0;
const BOX_PAD: f64 = 10.0;
/// Space above and below boxes in one column.
const NODE_GAP: f64 = 30.0;
/// The height a dummy node (an edge passing through a column) takes in its column.
const DUMMY_H: f64 = 12.0;
const MIN_COLUMN_GAP: f64 = 110.0;
const LABEL_PAD: f64 = 4.0;
const MARGIN: f64 = 24.0;
const TITLE_H: f64 = 40.0;
/// Horizontal run of an edge out of and into a box, so arrowheads stay apart.
const STUB: f64 = 14.0;
const ARROW_LEN: f64 = 10.0;
const ARROW_HALF_W: f64 = 4.5;
const SWEEPS: usize = 8;
/// Vertical room per arrow at a box's side.
const PORT_SPACING: f64 = 12.0;
/// The widest a gap grows for the number of arrows through it.
const MAX_FAN_GAP: f64 = 420.0;
const ALIGN_PASSES: usize = 6;

/// What a node of the picture stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// `[[load]]`: where requests enter.
    Load,
    /// A service box.
    Service,
    /// A point where a long edge crosses a column (not drawn).
    Dummy,
}

/// How a line of text in a box is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineStyle {
    Name,
    Plain,
    Subtle,
    Fault,
}

/// One node, placed: `x`, `y` are its top-left corner in pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeBox {
    pub kind: NodeKind,
    pub name: String,
    pub lines: Vec<(String, LineStyle)>,
    pub layer: usize,
    pub faulted: bool,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl NodeBox {
    fn centre_y(&self) -> f64 {
        self.y + self.height / 2.0
    }
}

/// One arrow between two drawn nodes (a load or a service), through the dummies of the
/// columns it crosses. `from` and `to` index `TopologyLayout::nodes` and follow the
/// call: `from` calls `to`.
#[derive(Clone, Debug, PartialEq)]
pub struct EdgePath {
    pub from: usize,
    pub to: usize,
    /// From the caller's side to the callee's, the last point at the arrowhead.
    pub points: Vec<(f64, f64)>,
    /// Policy lines (timeout, attempts), probability, faults on this edge.
    pub label: Vec<(String, LineStyle)>,
    /// Top-left corner and size of the label's box, if there is a label.
    pub label_box: Option<(f64, f64, f64, f64)>,
    /// Every call along it is optional.
    pub optional: bool,
    /// Drawn against the layers (a cycle between services was broken here).
    pub reversed: bool,
}

/// The placed picture: what the tests check and what `draw` draws.
#[derive(Clone, Debug, PartialEq)]
pub struct TopologyLayout {
    pub title: String,
    pub width: u32,
    pub height: u32,
    pub nodes: Vec<NodeBox>,
    pub edges: Vec<EdgePath>,
}

/// The topology as `topology.png` and `topology.svg`, from one drawing.
pub fn topology_files(s: &Scenario) -> Result<Vec<OutputFile>, ChartError> {
    ensure_font()?;
    let layout = layout(s)?;
    let mut files = Vec::new();
    let size = (layout.width, layout.height);
    render("topology", size, &mut files, |r| draw(r, &layout), |r| draw(r, &layout))?;
    Ok(files)
}

/// The topology as a PNG image.
pub fn topology_png(s: &Scenario) -> Result<Vec<u8>, ChartError> {
    pick(topology_files(s)?, "topology.png")
}

/// The topology as an SVG document.
pub fn topology_svg(s: &Scenario) -> Result<Vec<u8>, ChartError> {
    pick(topology_files(s)?, "topology.svg")
}

fn pick(files: Vec<OutputFile>, name: &str) -> Result<Vec<u8>, ChartError> {
    files
        .into_iter()
        .find(|f| f.name == name)
        .map(|f| f.bytes)
        .ok_or_else(|| ChartError::Draw { chart: name.to_string(), message: "not rendered".to_string() })
}

// ---------------------------------------------------------------------------------
// Content: what each box and each arrow says.

fn text_width(text: &str, px: u32) -> Result<f64, ChartError> {
    let (w, _) = style::text(px)
        .font
        .box_size(text)
        .map_err(|e| ChartError::Draw { chart: "topology".to_string(), message: e.to_string() })?;
    Ok(f64::from(w))
}

fn line_size(style: LineStyle) -> u32 {
    if style == LineStyle::Name { NAME_SIZE } else { TEXT_SIZE }
}

fn line_height(style: LineStyle) -> f64 {
    f64::from(line_size(style)) + LINE_GAP
}

fn lines_size(lines: &[(String, LineStyle)]) -> Result<(f64, f64), ChartError> {
    let mut width: f64 = 0.0;
    let mut height = 0.0;
    for (text, style) in lines {
        width = width.max(text_width(text, line_size(*style))?);
        height += line_height(*style);
    }
    Ok((width, height - LINE_GAP))
}

fn fault_text(kind: &FaultKind) -> String {
    match kind {
        FaultKind::Latency { factor, add } if add.0 == 0 => format!("latency x{factor}"),
        FaultKind::Latency { factor, add } if *factor == 1.0 => format!("latency +{add}"),
        FaultKind::Latency { factor, add } => format!("latency x{factor} +{add}"),
        FaultKind::Errors { rate } => format!("errors {}%", rate * 100.0),
        FaultKind::Crash { instances } => format!("crash {instances} instances"),
        FaultKind::Partition => "partition".to_string(),
        FaultKind::Pause { instances } => format!("pause {instances} instances"),
        FaultKind::RollingRestart { max_unavailable } => format!("rolling restart, {max_unavailable} at a time"),
    }
}

fn fault_window(f: &crate::model::Fault) -> String {
    format!("{}-{}", crate::engine::SimDuration(f.at.0), crate::engine::SimDuration(f.end().0))
}

/// The policy figures that decide how a call behaves under a slow callee.
fn policy_text(p: &Policy) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(t) = p.timeout {
        parts.push(format!("timeout {t}"));
    }
    if let Some(r) = &p.retry {
        parts.push(format!("{} attempts", r.max_attempts));
    }
    if p.retry_budget.is_some() {
        parts.push("budget".to_string());
    }
    if p.circuit_breaker.is_some() {
        parts.push("breaker".to_string());
    }
    if parts.is_empty() { None } else { Some(parts.join(", ")) }
}

fn push_unique(lines: &mut Vec<(String, LineStyle)>, text: String, style: LineStyle) {
    if !lines.iter().any(|(t, _)| *t == text) {
        lines.push((text, style));
    }
}

/// Nodes (loads, then services, in file order) and the edges between them, before
/// placement: `(from, to, label, optional)`.
type RawEdge = (usize, usize, Vec<(String, LineStyle)>, bool);

fn content(s: &Scenario) -> (Vec<NodeBox>, Vec<RawEdge>) {
    let node = |kind, name: &str, lines, faulted| NodeBox {
        kind,
        name: name.to_string(),
        lines,
        layer: 0,
        faulted,
        x: 0.0,
        y: 0.0,
        width: 0.0,
        height: 0.0,
    };
    let mut nodes = Vec::new();
    for load in &s.loads {
        let kind = match &load.kind {
            LoadKind::Open { rate, .. } => format!("open, {rate} req/s"),
            LoadKind::Closed { users, .. } => format!("closed, {users} users"),
        };
        let lines = vec![(load.name.clone(), LineStyle::Name), (kind, LineStyle::Subtle)];
        nodes.push(node(NodeKind::Load, &load.name, lines, false));
    }
    let first_service = nodes.len();
    for (id, service) in s.services.iter().enumerate() {
        let queue = service.queue.map_or("unbounded".to_string(), |q| q.to_string());
        let mut lines = vec![
            (service.name.clone(), LineStyle::Name),
            (format!("{} x {} workers, queue {queue}", service.instances, service.workers), LineStyle::Subtle),
        ];
        for endpoint in &service.endpoints {
            lines.push((format!("/{}", endpoint.name), LineStyle::Plain));
        }
        let mut faulted = false;
        for f in &s.faults {
            let on = match f.target {
                FaultTarget::Service(t) if t == id => Some(String::new()),
                FaultTarget::Endpoint(e) if e.service == id => {
                    Some(format!(" on /{}", service.endpoints[e.endpoint].name))
                }
                _ => None,
            };
            if let Some(on) = on {
                faulted = true;
                lines.push((format!("fault: {}{on}, {}", fault_text(&f.kind), fault_window(f)), LineStyle::Fault));
            }
        }
        nodes.push(node(NodeKind::Service, &service.name, lines, faulted));
    }

    // One edge per (caller, callee) pair, first seen first; a BTreeMap finds the pair.
    let mut edges: Vec<RawEdge> = Vec::new();
    let mut index: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    let mut add = |edges: &mut Vec<RawEdge>, from: usize, to: usize, line: Option<String>, optional: bool| {
        let i = *index.entry((from, to)).or_insert_with(|| {
            edges.push((from, to, Vec::new(), true));
            edges.len() - 1
        });
        edges[i].3 &= optional;
        if let Some(line) = line {
            push_unique(&mut edges[i].2, line, LineStyle::Plain);
        }
    };
    for (l, load) in s.loads.iter().enumerate() {
        let policy = load.policy.and_then(|p| policy_text(&s.policies[p]));
        add(&mut edges, l, first_service + load.target.service, policy, false);
    }
    for (from, service) in s.services.iter().enumerate() {
        for endpoint in &service.endpoints {
            for step in &endpoint.steps {
                for call in step.calls() {
                    let mut parts: Vec<String> =
                        call.policy.and_then(|p| policy_text(&s.policies[p])).into_iter().collect();
                    if call.probability < 1.0 {
                        parts.push(format!("p = {}", call.probability));
                    }
                    if call.optional {
                        parts.push("optional".to_string());
                    }
                    let line = if parts.is_empty() { None } else { Some(parts.join(", ")) };
                    add(&mut edges, first_service + from, first_service + call.to.service, line, call.optional);
                }
            }
        }
    }
    for f in &s.faults {
        if let FaultTarget::Edge { from, to } = f.target
            && let Some(i) = index.get(&(first_service + from, first_service + to))
        {
            let text = format!("fault: {}, {}", fault_text(&f.kind), fault_window(f));
            push_unique(&mut edges[*i].2, text, LineStyle::Fault);
        }
    }
    (nodes, edges)
}

// ---------------------------------------------------------------------------------
// Layout.

/// Lays out the scenario's topology (see the module docs for the method).
pub fn layout(s: &Scenario) -> Result<TopologyLayout, ChartError> {
    ensure_font()?;
    let (mut nodes, raw_edges) = content(s);
    for n in &mut nodes {
        let (w, h) = lines_size(&n.lines)?;
        n.width = (w + 2.0 * BOX_PAD).ceil();
        n.height = (h + 2.0 * BOX_PAD).ceil();
    }
    let drawn = nodes.len();

    // (1) Break cycles: a depth-first walk from the loads, then from every service in
    // file order; an edge to a node still on the walk's stack is reversed.
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); drawn];
    for (i, e) in raw_edges.iter().enumerate() {
        if e.0 != e.1 {
            succ[e.0].push(i);
        }
    }
    let mut reversed = vec![false; raw_edges.len()];
    let mut state = vec![0u8; drawn]; // 0 unseen, 1 on the stack, 2 done
    for root in 0..drawn {
        if state[root] != 0 {
            continue;
        }
        let mut stack = vec![(root, 0usize)];
        state[root] = 1;
        while let Some(&mut (n, ref mut next)) = stack.last_mut() {
            if let Some(&e) = succ[n].get(*next) {
                *next += 1;
                let to = raw_edges[e].1;
                match state[to] {
                    0 => {
                        state[to] = 1;
                        stack.push((to, 0));
                    }
                    1 => reversed[e] = true,
                    _ => {}
                }
            } else {
                state[n] = 2;
                stack.pop();
            }
        }
    }
    // Edges as laid out, lower layer first; self-calls are left out of the picture's
    // arrows (the box lists the endpoints).
    let oriented: Vec<(usize, usize, usize)> = raw_edges
        .iter()
        .enumerate()
        .filter(|(_, e)| e.0 != e.1)
        .map(|(i, e)| if reversed[i] { (e.1, e.0, i) } else { (e.0, e.1, i) })
        .collect();

    // (2) Longest-path layers: loads at 0, a service one past its deepest caller (a
    // service nobody calls at 1). Relaxed in topological order (Kahn, smallest index first).
    let mut indegree = vec![0usize; drawn];
    for &(_, b, _) in &oriented {
        indegree[b] += 1;
    }
    let mut layer = vec![0usize; drawn];
    for (n, node) in nodes.iter().enumerate() {
        if node.kind == NodeKind::Service {
            layer[n] = 1;
        }
    }
    let mut ready: std::collections::BTreeSet<usize> = (0..drawn).filter(|&n| indegree[n] == 0).collect();
    while let Some(n) = ready.pop_first() {
        for &(a, b, _) in &oriented {
            if a == n {
                layer[b] = layer[b].max(layer[a] + 1);
                indegree[b] -= 1;
                if indegree[b] == 0 {
                    ready.insert(b);
                }
            }
        }
    }
    for (n, node) in nodes.iter_mut().enumerate() {
        node.layer = layer[n];
    }

    // (3) Dummies where an edge crosses a column; each edge becomes a chain of nodes.
    let mut chains: Vec<Vec<usize>> = Vec::new();
    for &(a, b, _) in &oriented {
        let mut chain = vec![a];
        for l in layer[a] + 1..layer[b] {
            nodes.push(NodeBox {
                kind: NodeKind::Dummy,
                name: String::new(),
                lines: Vec::new(),
                layer: l,
                faulted: false,
                x: 0.0,
                y: 0.0,
                width: 0.0,
                height: DUMMY_H,
            });
            chain.push(nodes.len() - 1);
        }
        chain.push(b);
        chains.push(chain);
    }
    // A box is tall enough to keep the arrows at its sides apart.
    for chain in &chains {
        for &end in [chain[0], chain[chain.len() - 1]].iter() {
            if nodes[end].kind != NodeKind::Dummy {
                let ports = chains.iter().filter(|c| c[0] == end || c[c.len() - 1] == end).count() as f64;
                nodes[end].height = nodes[end].height.max((PORT_SPACING * ports + 2.0 * BOX_PAD).ceil());
            }
        }
    }
    let layers_n = nodes.iter().map(|n| n.layer).max().unwrap_or(0) + 1;
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for chain in &chains {
        for pair in chain.windows(2) {
            down[pair[0]].push(pair[1]);
            up[pair[1]].push(pair[0]);
        }
    }

    // (4) Order within layers: barycenter sweeps, down then up, keeping the best.
    let mut order: Vec<Vec<usize>> = vec![Vec::new(); layers_n];
    for (n, node) in nodes.iter().enumerate() {
        order[node.layer].push(n);
    }
    let mut best = order.clone();
    let mut best_crossings = crossings(&order, &down, nodes.len());
    for sweep in 0..SWEEPS {
        let downward = sweep % 2 == 0;
        let layers: Vec<usize> =
            if downward { (1..layers_n).collect() } else { (0..layers_n.saturating_sub(1)).rev().collect() };
        for l in layers {
            let position = positions(&order, nodes.len());
            let neighbours = if downward { &up } else { &down };
            let mut keyed: Vec<(f64, usize)> = order[l]
                .iter()
                .enumerate()
                .map(|(i, &n)| {
                    let ns = &neighbours[n];
                    let key = if ns.is_empty() {
                        i as f64
                    } else {
                        ns.iter().map(|&m| position[m] as f64).sum::<f64>() / ns.len() as f64
                    };
                    (key, n)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            order[l] = keyed.into_iter().map(|(_, n)| n).collect();
        }
        let c = crossings(&order, &down, nodes.len());
        if c < best_crossings {
            best_crossings = c;
            best = order.clone();
        }
    }
    let order = best;

    // (5) Coordinates. Columns: as wide as their widest box; gaps: as wide as the widest
    // label of an edge leaving the column.
    let mut label_sizes = Vec::with_capacity(chains.len());
    for &(_, _, e) in &oriented {
        let label = &raw_edges[e].2;
        label_sizes.push(if label.is_empty() { None } else { Some(lines_size(label)?) });
    }
    let mut column_w = vec![0.0f64; layers_n];
    for n in &nodes {
        column_w[n.layer] = column_w[n.layer].max(n.width);
    }
    let mut gap_w = vec![MIN_COLUMN_GAP; layers_n];
    for (chain, size) in chains.iter().zip(&label_sizes) {
        if let Some((w, _)) = size {
            let l = nodes[chain[0]].layer;
            gap_w[l] = gap_w[l].max(w + 2.0 * LABEL_PAD + 2.0 * STUB + 2.0 * ARROW_LEN + 20.0);
        }
    }
    // Many arrows through one gap: a wider gap keeps them from running steep and close.
    for (l, gap) in gap_w.iter_mut().enumerate() {
        let segments = chains.iter().flat_map(|c| c.windows(2)).filter(|p| nodes[p[0]].layer == l).count() as f64;
        *gap = gap.max((40.0 + 30.0 * segments).min(MAX_FAN_GAP));
    }
    let mut column_x = vec![MARGIN; layers_n];
    for l in 1..layers_n {
        column_x[l] = column_x[l - 1] + column_w[l - 1] + gap_w[l - 1];
    }
    for n in &mut nodes {
        if n.kind == NodeKind::Dummy {
            n.x = column_x[n.layer];
            n.width = column_w[n.layer];
        } else {
            n.x = (column_x[n.layer] + (column_w[n.layer] - n.width) / 2.0).round();
        }
    }
    // Heights: stacked, then pulled towards the neighbours' mean centre.
    for column in &order {
        let mut y = 0.0;
        for &n in column {
            nodes[n].y = y;
            y += nodes[n].height + NODE_GAP;
        }
    }
    let tallest =
        order.iter().map(|c| c.iter().map(|&n| nodes[n].height + NODE_GAP).sum::<f64>()).fold(0.0f64, f64::max);
    for column in &order {
        let total: f64 = column.iter().map(|&n| nodes[n].height + NODE_GAP).sum();
        for &n in column {
            nodes[n].y += (tallest - total) / 2.0;
        }
    }
    for pass in 0..ALIGN_PASSES {
        let downward = pass % 2 == 0;
        let layers: Vec<usize> =
            if downward { (1..layers_n).collect() } else { (0..layers_n.saturating_sub(1)).rev().collect() };
        for l in layers {
            let neighbours = if downward { &up } else { &down };
            let desired: Vec<f64> = order[l]
                .iter()
                .map(|&n| {
                    let ns = &neighbours[n];
                    if ns.is_empty() {
                        nodes[n].centre_y()
                    } else {
                        ns.iter().map(|&m| nodes[m].centre_y()).sum::<f64>() / ns.len() as f64
                    }
                })
                .collect();
            place_column(&mut nodes, &order[l], &desired);
        }
    }
    let top = nodes.iter().map(|n| n.y).fold(f64::INFINITY, f64::min);
    for n in &mut nodes {
        n.y = (n.y - top + MARGIN + TITLE_H).round();
    }

    // Routes: ports spread along the sides, a stub out and in, straight through dummies.
    let mut out_port = vec![Vec::new(); nodes.len()];
    let mut in_port = vec![Vec::new(); nodes.len()];
    for (c, chain) in chains.iter().enumerate() {
        for (k, pair) in chain.windows(2).enumerate() {
            out_port[pair[0]].push((nodes[pair[1]].centre_y(), c, k));
            in_port[pair[1]].push((nodes[pair[0]].centre_y(), c, k));
        }
    }
    let mut starts = BTreeMap::new();
    let mut ends = BTreeMap::new();
    for (n, node) in nodes.iter().enumerate() {
        for (ports, into) in [(&mut out_port[n], &mut starts), (&mut in_port[n], &mut ends)] {
            ports.sort_by(|a, b| a.0.total_cmp(&b.0).then((a.1, a.2).cmp(&(b.1, b.2))));
            let k = ports.len() as f64;
            for (i, &(_, c, seg)) in ports.iter().enumerate() {
                let y = if node.kind == NodeKind::Dummy {
                    node.centre_y()
                } else {
                    // Spread over the middle of the side, away from the corners.
                    let span = (node.height - 2.0 * BOX_PAD).max(0.0).min(2.0 * PORT_SPACING * k);
                    node.centre_y() - span / 2.0 + span * (i as f64 + 0.5) / k
                };
                into.insert((c, seg), y.round());
            }
        }
    }
    let mut edges = Vec::with_capacity(chains.len());
    let mut taken: Vec<(f64, f64, f64, f64)> =
        nodes.iter().filter(|n| n.kind != NodeKind::Dummy).map(|n| (n.x, n.y, n.width, n.height)).collect();
    for (c, chain) in chains.iter().enumerate() {
        let mut points = Vec::new();
        for (k, pair) in chain.windows(2).enumerate() {
            let (a, b) = (&nodes[pair[0]], &nodes[pair[1]]);
            let (ya, yb) = (starts[&(c, k)], ends[&(c, k)]);
            let xa = a.x + a.width;
            if a.kind == NodeKind::Dummy {
                points.push((xa, ya));
            } else {
                points.push((xa, ya));
                points.push((xa + STUB, ya));
            }
            if b.kind == NodeKind::Dummy {
                points.push((b.x, yb));
            } else {
                points.push((b.x - STUB - ARROW_LEN, yb));
                points.push((b.x, yb));
            }
        }
        let (_, _, e) = oriented[c];
        let (from, to, label, optional) = &raw_edges[e];
        // The label sits on the first run between columns, where it collides least.
        let label_box = label_sizes[c].map(|(w, h)| {
            let (w, h) = (w + 2.0 * LABEL_PAD, h + 2.0 * LABEL_PAD);
            let (p, q) = (points[1], points[2]);
            let mut chosen = None;
            // Near the end where the arrows fan out, they are far apart: a caller with
            // many callees gets its labels near the callees, and the other way round.
            let fan_out = chains.iter().filter(|other| other[0] == chain[0]).count();
            let fan_in = chains.iter().filter(|other| other[1] == chain[1]).count();
            let near_callee = [0.7, 0.55, 0.85, 0.4, 0.25];
            let near_caller = [0.3, 0.45, 0.15, 0.6, 0.75];
            for t in if fan_out >= fan_in { near_callee } else { near_caller } {
                let (cx, cy) = (p.0 + (q.0 - p.0) * t, p.1 + (q.1 - p.1) * t);
                let candidate = ((cx - w / 2.0).round(), (cy - h / 2.0).round(), w.ceil(), h.ceil());
                if !taken.iter().any(|r| overlaps(*r, candidate)) {
                    chosen = Some(candidate);
                    break;
                }
            }
            let (cx, cy) = ((p.0 + q.0) / 2.0, (p.1 + q.1) / 2.0);
            let chosen = chosen.unwrap_or(((cx - w / 2.0).round(), (cy - h / 2.0).round(), w.ceil(), h.ceil()));
            taken.push(chosen);
            chosen
        });
        let reversed = reversed[e];
        if reversed {
            points.reverse();
        }
        edges.push(EdgePath {
            from: *from,
            to: *to,
            points,
            label: label.clone(),
            label_box,
            optional: *optional,
            reversed,
        });
    }

    let right = nodes.iter().map(|n| n.x + n.width).fold(0.0f64, f64::max);
    let bottom = nodes.iter().map(|n| n.y + n.height).fold(0.0f64, f64::max);
    let title = format!("{}: {}, {}", s.source, count_of(s.services.len(), "service"), count_of(s.loads.len(), "load"));
    let width = (right + MARGIN).max(text_width(&title, TITLE_SIZE)? + 2.0 * MARGIN);
    Ok(TopologyLayout { title, width: width.ceil() as u32, height: (bottom + MARGIN).ceil() as u32, nodes, edges })
}

/// Places one column's nodes, in their order, each as near its desired centre as a gap
/// of `NODE_GAP` allows: greedily from the top, then the whole column shifted so that
/// on average the nodes sit where they want to.
fn place_column(nodes: &mut [NodeBox], column: &[usize], desired: &[f64]) {
    let mut bottom = f64::NEG_INFINITY;
    for (&n, &centre) in column.iter().zip(desired) {
        let y = (centre - nodes[n].height / 2.0).max(bottom + NODE_GAP);
        nodes[n].y = y;
        bottom = y + nodes[n].height;
    }
    if column.is_empty() {
        return;
    }
    let shift = column.iter().zip(desired).map(|(&n, &d)| d - nodes[n].centre_y()).sum::<f64>() / column.len() as f64;
    for &n in column {
        nodes[n].y += shift;
    }
}

fn positions(order: &[Vec<usize>], n: usize) -> Vec<usize> {
    let mut position = vec![0; n];
    for column in order {
        for (i, &node) in column.iter().enumerate() {
            position[node] = i;
        }
    }
    position
}

/// Pairs of segments between adjacent layers that cross.
fn crossings(order: &[Vec<usize>], down: &[Vec<usize>], n: usize) -> usize {
    let position = positions(order, n);
    let mut count = 0;
    for column in order {
        let segments: Vec<(usize, usize)> = column
            .iter()
            .flat_map(|&a| down[a].iter().map(move |&b| (a, b)))
            .map(|(a, b)| (position[a], position[b]))
            .collect();
        for (i, s) in segments.iter().enumerate() {
            for t in &segments[i + 1..] {
                if (s.0 < t.0 && s.1 > t.1) || (s.0 > t.0 && s.1 < t.1) {
                    count += 1;
                }
            }
        }
    }
    count
}

/// Whether two rectangles `(x, y, w, h)` share any area.
pub fn overlaps(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> bool {
    a.0 < b.0 + b.2 && b.0 < a.0 + a.2 && a.1 < b.1 + b.3 && b.1 < a.1 + a.3
}

// ---------------------------------------------------------------------------------
// Drawing.

const BOX_BORDER: RGBColor = RGBColor(0x44, 0x4c, 0x5c);
const SERVICE_FILL: RGBColor = RGBColor(0xf3, 0xf6, 0xfb);
const LOAD_FILL: RGBColor = RGBColor(0xe3, 0xee, 0xfa);
const FAULT_FILL: RGBColor = RGBColor(0xfd, 0xee, 0xee);
const FAULT_BORDER: RGBColor = RGBColor(0xc0, 0x20, 0x20);

fn px(v: f64) -> i32 {
    v.round() as i32
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    layout: &TopologyLayout,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    root.draw(&Text::new(layout.title.clone(), (px(MARGIN), px(MARGIN / 2.0)), style::text(TITLE_SIZE)))?;
    for (i, edge) in layout.edges.iter().enumerate() {
        let colour = series_colour(i);
        let style = ShapeStyle::from(&colour).stroke_width(2);
        let points: Vec<(i32, i32)> = edge.points.iter().map(|&(x, y)| (px(x), px(y))).collect();
        if edge.optional {
            root.draw(&DashedPathElement::new(points.clone(), 8, 5, style))?;
        } else {
            root.draw(&PathElement::new(points.clone(), style))?;
        }
        // The arrowhead at the callee, pointing along the last segment.
        let (tip, before) = (edge.points[edge.points.len() - 1], edge.points[edge.points.len() - 2]);
        let (dx, dy) = (tip.0 - before.0, tip.1 - before.1);
        let len = (dx * dx + dy * dy).sqrt().max(1e-9);
        let (ux, uy) = (dx / len, dy / len);
        let base = (tip.0 - ux * ARROW_LEN, tip.1 - uy * ARROW_LEN);
        let head = vec![
            (px(tip.0), px(tip.1)),
            (px(base.0 - uy * ARROW_HALF_W), px(base.1 + ux * ARROW_HALF_W)),
            (px(base.0 + uy * ARROW_HALF_W), px(base.1 - ux * ARROW_HALF_W)),
        ];
        root.draw(&Polygon::new(head, colour.filled()))?;
    }
    for (i, edge) in layout.edges.iter().enumerate() {
        let Some((x, y, w, h)) = edge.label_box else { continue };
        let colour = series_colour(i);
        root.draw(&Rectangle::new([(px(x), px(y)), (px(x + w), px(y + h))], WHITE.filled()))?;
        root.draw(&Rectangle::new([(px(x), px(y)), (px(x + w), px(y + h))], colour.stroke_width(1)))?;
        draw_lines(root, &edge.label, x + LABEL_PAD, y + LABEL_PAD)?;
    }
    for node in &layout.nodes {
        if node.kind == NodeKind::Dummy {
            continue;
        }
        let (fill, border, width) = match (node.kind, node.faulted) {
            (_, true) => (FAULT_FILL, FAULT_BORDER, 3),
            (NodeKind::Load, _) => (LOAD_FILL, BOX_BORDER, 1),
            _ => (SERVICE_FILL, BOX_BORDER, 1),
        };
        let corners = [(px(node.x), px(node.y)), (px(node.x + node.width), px(node.y + node.height))];
        root.draw(&Rectangle::new(corners, fill.filled()))?;
        root.draw(&Rectangle::new(corners, border.stroke_width(width)))?;
        draw_lines(root, &node.lines, node.x + BOX_PAD, node.y + BOX_PAD)?;
    }
    Ok(())
}

fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    lines: &[(String, LineStyle)],
    x: f64,
    mut y: f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    for (text, style) in lines {
        let font = match style {
            LineStyle::Name | LineStyle::Plain => style::text(line_size(*style)),
            LineStyle::Subtle => text_coloured(TEXT_SIZE, SUBTLE_TEXT),
            LineStyle::Fault => text_coloured(TEXT_SIZE, FAULT_TEXT),
        };
        root.draw(&Text::new(text.clone(), (px(x), px(y)), font))?;
        y += line_height(*style);
    }
    Ok(())
}

#[cfg(test)]
#[path = "topology_tests.rs"]
mod tests;

//! The topology on a page: the chart toolkit's drawing of the call graph (fault targets
//! in red), with the services that were unhealthy ringed, from the same layout.

use super::page::{escape, strip_prolog};
use crate::model::Scenario;
use crate::report::chart::ChartError;
use crate::report::topology::{NodeKind, layout, topology_svg};
use std::fmt::Write;

/// Space around the picture for the rings, in pixels.
const RING_MARGIN: u32 = 8;

/// The figure: `marked` holds `(service, why)` for each service to ring.
pub fn topology_figure(s: &Scenario, marked: &[(String, String)]) -> Result<String, ChartError> {
    let svg = topology_svg(s)?;
    let svg = String::from_utf8_lossy(&svg);
    let placed = layout(s)?;
    let mut rings = String::new();
    for node in placed.nodes.iter().filter(|n| n.kind == NodeKind::Service) {
        if let Some((_, why)) = marked.iter().find(|(name, _)| *name == node.name) {
            let _ = write!(
                rings,
                "<rect class=\"mark\" data-service=\"{}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"6\">\
                 <title>{}: {}</title></rect>",
                escape(&node.name),
                node.x - 5.0,
                node.y - 5.0,
                node.width + 10.0,
                node.height + 10.0,
                escape(&node.name),
                escape(why)
            );
        }
    }
    let faulted = placed.nodes.iter().any(|n| n.faulted);
    let mut note = String::from("<p class=\"legend-note\">");
    if faulted {
        note.push_str("<span class=\"fault\">red box: a fault's target</span>");
    }
    if !marked.is_empty() {
        let names: Vec<String> = marked.iter().map(|(n, why)| format!("{n} ({why})")).collect();
        let _ =
            write!(note, "<span class=\"unhealthy\">dashed red ring: unhealthy</span>{}", escape(&names.join("; ")));
    } else {
        note.push_str("<span>no service was unhealthy</span>");
    }
    note.push_str("</p>");
    // The rings reach past the picture's edge: a margin of `RING_MARGIN` all round.
    Ok(format!(
        "<figure class=\"chart topology\"><svg viewBox=\"-{m} -{m} {w} {h}\" width=\"{w}\" role=\"img\" \
         aria-label=\"call graph\">{}{rings}</svg>{note}</figure>",
        strip_prolog(&svg),
        m = RING_MARGIN,
        w = placed.width + 2 * RING_MARGIN,
        h = placed.height + 2 * RING_MARGIN,
    ))
}

//! Tests of the call graph picture: layers, order, no overlaps, cycles, both formats.

use super::*;
use crate::scenario::load_str;

fn scenario(name: &str) -> Scenario {
    let path = format!("{}/scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("scenario file");
    load_str(&path, &text).expect("valid")
}

#[test]
fn the_same_scenario_gives_the_same_bytes() {
    let s = scenario("checkout.toml");
    assert_eq!(topology_files(&s).unwrap(), topology_files(&s).unwrap());
}

#[test]
fn every_service_is_named_in_the_svg() {
    for name in ["checkout.toml", "shop.toml"] {
        let s = scenario(name);
        let svg = String::from_utf8(topology_svg(&s).unwrap()).unwrap();
        for service in &s.services {
            // plotters writes each text element's content on its own line.
            assert!(svg.contains(&format!(">\n{}\n</text>", service.name)), "{name}: {} missing", service.name);
        }
        for load in &s.loads {
            assert!(svg.contains(&format!(">\n{}\n</text>", load.name)), "{name}: load {} missing", load.name);
        }
    }
}

#[test]
fn boxes_and_labels_do_not_overlap() {
    for name in ["checkout.toml", "shop.toml", "microservice.toml", "thread-pool-exhaustion.toml"] {
        let layout = layout(&scenario(name)).unwrap();
        let mut rects: Vec<(f64, f64, f64, f64)> =
            layout.nodes.iter().filter(|n| n.kind != NodeKind::Dummy).map(|n| (n.x, n.y, n.width, n.height)).collect();
        let boxes = rects.len();
        rects.extend(layout.edges.iter().filter_map(|e| e.label_box));
        for i in 0..rects.len() {
            for j in i + 1..rects.len() {
                // Labels may touch each other only if no place on their edge was free;
                // boxes never overlap boxes or labels.
                if i < boxes || j < boxes {
                    assert!(!overlaps(rects[i], rects[j]), "{name}: {:?} overlaps {:?}", rects[i], rects[j]);
                }
            }
        }
        for r in &rects {
            assert!(r.0 >= 0.0 && r.1 >= 0.0, "{name}: inside the picture");
            assert!(r.0 + r.2 <= f64::from(layout.width) && r.1 + r.3 <= f64::from(layout.height), "{name}: {r:?}");
        }
    }
}

/// Services may call each other both ways through different endpoints (the endpoint
/// graph stays acyclic): the cycle is broken by drawing one edge backwards, and
/// every other rule still holds.
#[test]
fn a_cycle_between_services_is_drawn_with_one_edge_reversed() {
    let text = r#"
[simulation]
duration = "10s"
[services.a]
workers = 4
[services.a.endpoints.x]
latency = "1ms"
calls = [ { to = "b/y" } ]
[services.a.endpoints.w]
latency = "1ms"
[services.b]
workers = 4
[services.b.endpoints.y]
latency = "1ms"
calls = [ { to = "a/w" } ]
[[load]]
name   = "users"
target = "a/x"
rate   = 10
"#;
    let s = load_str("cycle.toml", text).expect("valid: no endpoint cycle");
    let layout = layout(&s).unwrap();
    let reversed: Vec<_> = layout.edges.iter().filter(|e| e.reversed).collect();
    assert_eq!(reversed.len(), 1);
    let back = reversed[0];
    assert_eq!((layout.nodes[back.from].name.as_str(), layout.nodes[back.to].name.as_str()), ("b", "a"));
    assert!(layout.nodes[back.from].layer > layout.nodes[back.to].layer);
    assert_eq!(layout, super::layout(&s).unwrap(), "deterministic");
    assert!(topology_png(&s).unwrap().starts_with(b"\x89PNG"));
}

#[test]
fn layers_follow_the_calls() {
    for name in ["checkout.toml", "shop.toml", "microservice.toml"] {
        let s = scenario(name);
        let layout = layout(&s).unwrap();
        let loads = s.loads.len();
        for n in &layout.nodes[..loads] {
            assert_eq!((n.kind, n.layer), (NodeKind::Load, 0));
        }
        for e in &layout.edges {
            assert!(!e.reversed, "{name}: these scenarios have no cycle between services");
            let (a, b) = (&layout.nodes[e.from], &layout.nodes[e.to]);
            assert!(a.layer < b.layer, "{name}: {} calls {} but is not left of it", a.name, b.name);
            assert!(a.x + a.width < b.x, "{name}: columns in call order");
            assert!(e.points.windows(2).all(|p| p[0].0 <= p[1].0), "{name}: arrows run left to right");
        }
        // Longest path: a service sits one past its deepest caller.
        for (i, n) in layout.nodes.iter().enumerate().filter(|(_, n)| n.kind == NodeKind::Service) {
            let deepest = layout.edges.iter().filter(|e| e.to == i).map(|e| layout.nodes[e.from].layer).max();
            assert_eq!(n.layer, deepest.map_or(1, |d| d + 1), "{name}: {}", n.name);
        }
    }
}

//! Tests of the run chart: it renders, the same bytes twice, the bytes plotters' own
//! file backends wrote, and its edge cases.

use super::*;
use crate::model::OutcomeCounts;
use crate::model::counters::series_index;
use crate::model::resilience::breaker::OPEN_SHARE;
use crate::report::chart::render;
use crate::stats::summary::SojournSummary;
use crate::stats::{DisturbanceKind, LatencySummary, LoadBucket, LoadResult, ServiceBucket, ServiceResult};
use hdrhistogram::Histogram;

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// The run chart of `result` as (PNG bytes, SVG text). With `STORMCAST_KEEP_CHARTS`
/// set, also writes them into a folder named after the test under the system's
/// temporary folder, so the images can be looked at.
fn rendered(test: &str, result: &RunResult) -> (Vec<u8>, String) {
    let files = run_charts(result).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["run.png", "run.svg"]);
    if std::env::var_os("STORMCAST_KEEP_CHARTS").is_some() {
        let dir = std::env::temp_dir().join(format!("stormcast-chart-{test}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in &files {
            std::fs::write(dir.join(&f.name), &f.bytes).unwrap();
        }
    }
    let [png, svg] = <[OutputFile; 2]>::try_from(files).unwrap();
    (png.bytes, String::from_utf8(svg.bytes).unwrap())
}

fn load(name: &str, buckets: Vec<LoadBucket>) -> LoadResult {
    LoadResult {
        name: name.to_string(),
        requests: 0,
        ok: 0,
        success_rate: 0.0,
        in_flight: 0,
        outcomes: OutcomeCounts::default(),
        latency_ms: LatencySummary::default(),
        slo_violated: false,
        recovery_s: None,
        attempts: 0,
        amplification: 1.0,
        buckets,
        histogram: Histogram::new(3).unwrap(),
    }
}

fn service(name: &str, buckets: Vec<ServiceBucket>) -> ServiceResult {
    ServiceResult {
        name: name.to_string(),
        arrivals: 0,
        ok: 0,
        errors: 0,
        rejected: 0,
        throttled: 0,
        unavailable: 0,
        utilization: 0.0,
        queue_max: 0,
        sojourn_ms: SojournSummary::default(),
        counters: Default::default(),
        wasted_work_s: 0.0,
        skipped: 0,
        in_flight: 0,
        faulted: false,
        health: Default::default(),
        autoscaling: None,
        buckets,
        histogram: Histogram::new(3).unwrap(),
    }
}

/// A hand-made cascade: `payment` slows down from 40 s to 70 s, `checkout` saturates
/// behind it and its breakers open, and a load spike hits `browse` from 85 s to 95 s.
fn synthetic(loads: &[&str], services: &[&str]) -> RunResult {
    const N: usize = 120;
    let bucket_s = 1.0;
    let fault = |i: usize| (40..70).contains(&i);
    let spike = |i: usize| (85..95).contains(&i);
    let mut load_results = Vec::new();
    for (l, name) in loads.iter().enumerate() {
        let base = 200 + 150 * l as u64;
        let buckets = (0..N)
            .map(|i| {
                let wobble = (i as u64 * 7 + l as u64 * 3) % 11;
                let arrivals = if spike(i) && l == 1 { base * 3 } else { base } + wobble;
                let (ok, p99) = if fault(i) {
                    let ok = arrivals / (4 + (i as u64 % 3));
                    // Some buckets have no successful request at all.
                    if (52..56).contains(&i) && l == 0 {
                        (0, None)
                    } else {
                        (ok, Some((800.0 + 300.0 * ((i % 5) as f64)) * (1.0 + 0.6 * l as f64)))
                    }
                } else if spike(i) && l == 1 {
                    (arrivals * 2 / 3, Some(120.0 + i as f64))
                } else {
                    (arrivals - wobble / 3, Some(4.0 + (wobble as f64) / 2.0))
                };
                LoadBucket {
                    arrivals,
                    ok,
                    failed: arrivals - ok,
                    latency_ms_p99: p99,
                    retries: if fault(i) { arrivals / 2 } else { 0 },
                }
            })
            .collect();
        load_results.push(load(name, buckets));
    }
    let mut service_results = Vec::new();
    for (s, name) in services.iter().enumerate() {
        let buckets = (0..N)
            .map(|i| {
                let wobble = ((i * 13 + s * 5) % 17) as f64 / 100.0;
                let hot = fault(i) && s % 3 != 2;
                let utilization = if hot {
                    0.97
                } else if spike(i) {
                    0.7 + wobble
                } else {
                    0.2 + 0.15 * (s % 4) as f64 + wobble
                };
                let failed = if hot { 150 + 40 * (s as u64 % 5) } else { 0 };
                let breakers_open = if fault(i) && i > 45 && s % 3 == 0 { 0.25 + 0.25 * ((i % 4) as f64) } else { 0.0 };
                let mut b = ServiceBucket {
                    arrivals: 400,
                    ok: 400 - failed.min(400),
                    failed,
                    latency_ms_p99: Some(5.0),
                    queue: 0.0,
                    queue_max: 0,
                    utilization,
                    ..ServiceBucket::default()
                };
                b.series[series_index(&OPEN_SHARE)] = breakers_open;
                b
            })
            .collect();
        service_results.push(service(name, buckets));
    }
    RunResult {
        format_version: crate::stats::summary::FormatVersion,
        seed: 42,
        stormcast_version: "0.1.0".to_string(),
        scenario: "checkout-cascade".to_string(),
        scenario_hash: "3f2a9c0d1e7b44aa".to_string(),
        overlays: Vec::new(),
        simulated_s: N as f64 * bucket_s,
        warmup_s: 10.0,
        bucket_s,
        events: 0,
        loads: load_results,
        services: service_results,
        cascade: Default::default(),
        stopped: None,
        rollout: None,
        series: Default::default(),
        disturbances: vec![
            DisturbanceWindow {
                kind: DisturbanceKind::Fault,
                label: "latency x20 on payment".to_string(),
                start_s: 40.0,
                end_s: 70.0,
            },
            DisturbanceWindow {
                kind: DisturbanceKind::Spike,
                label: "browse x3".to_string(),
                start_s: 85.0,
                end_s: 95.0,
            },
        ],
    }
}

/// The contents of the SVG's `<text>` elements, trimmed.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

/// What a blank white chart of the same size compresses to: a rendered chart must
/// be clearly larger, which proves something (lines, text) was drawn.
fn blank_png_len() -> usize {
    let mut files = Vec::new();
    render("blank", (RUN_FRAME.width, BASE_HEIGHT), &mut files, |r| r.fill(&WHITE), |r| r.fill(&WHITE)).unwrap();
    files[0].bytes.len()
}

#[test]
fn renders_png_and_svg_with_text_and_byte_identical_twice() {
    let result = synthetic(&["shoppers", "browse"], &["checkout", "payment", "catalog"]);

    let (png, svg) = rendered("basic", &result);
    let (png_again, svg_again) = rendered("basic", &result);
    assert_eq!(png[..8], PNG_SIGNATURE);
    let blank = blank_png_len();
    assert!(png.len() > 4 * blank, "chart PNG is {} bytes, a blank one {blank}", png.len());
    assert!(png == png_again, "PNG renders differ");

    assert!(svg.starts_with("<svg"));
    let texts = svg_texts(&svg);
    for name in ["shoppers", "browse", "checkout", "payment", "catalog"] {
        assert!(texts.iter().any(|t| t == name), "SVG lacks the text {name}");
    }
    assert!(texts.iter().any(|t| t.contains("checkout-cascade")));
    assert!(texts.iter().any(|t| t.contains("latency x20 on payment")));
    assert!(svg == svg_again, "SVG renders differ");
}

/// Drawing into memory gives the bytes plotters' file backends wrote: the same PNG
/// encoder settings, the same SVG text.
#[test]
fn in_memory_charts_match_plotters_files() {
    let result = synthetic(&["shoppers", "browse"], &["checkout", "payment", "catalog"]);
    let (png, svg) = rendered("files", &result);
    let dir = tempfile::tempdir().unwrap();
    let (png_path, svg_path) = (dir.path().join("run.png"), dir.path().join("run.svg"));
    {
        let root = BitMapBackend::new(&png_path, figure_size(&result)).into_drawing_area();
        draw_run_chart(&root, &result).and_then(|()| root.present()).unwrap();
        let root = SVGBackend::new(&svg_path, figure_size(&result)).into_drawing_area();
        draw_run_chart(&root, &result).and_then(|()| root.present()).unwrap();
    }
    assert!(png == std::fs::read(&png_path).unwrap(), "PNG bytes differ from plotters' own file");
    assert!(svg == std::fs::read_to_string(&svg_path).unwrap(), "SVG differs from plotters' own file");
}

#[test]
fn renders_twelve_services_and_long_names() {
    let services = [
        "edge-gateway",
        "auth",
        "checkout-orchestrator-v2",
        "payment",
        "inventory",
        "pricing",
        "catalog",
        "search",
        "recommendations",
        "cart",
        "shipping-quotes",
        "notifications",
    ];
    let mut result = synthetic(&["shoppers", "browse", "mobile-app-background-sync"], &services);
    // Every service's breakers open at some point: twelve rows in the breaker timeline.
    for (s, service) in result.services.iter_mut().enumerate() {
        for b in &mut service.buckets[50 + s..60 + 2 * s] {
            b.series[series_index(&OPEN_SHARE)] = 0.5;
        }
    }
    assert_eq!(figure_size(&result), (RUN_FRAME.width, BASE_HEIGHT + 8 * BREAKER_ROW_H));
    let (png, svg) = rendered("many", &result);
    assert!(png.len() > blank_png_len());
    assert!(svg_texts(&svg).iter().any(|t| t == "notifications"));
}

#[test]
fn edge_cases_render_without_error() {
    // No loads, no services, no disturbances.
    let mut empty = synthetic(&[], &[]);
    empty.disturbances.clear();
    rendered("empty", &empty);
    // All latencies missing, and a window reaching past the end of the run.
    let mut gaps = synthetic(&["only"], &["one"]);
    for b in &mut gaps.loads[0].buckets {
        b.latency_ms_p99 = None;
    }
    gaps.disturbances[1].end_s = 500.0;
    rendered("gaps", &gaps);
    // A bucket width of zero cannot be drawn.
    let mut bad = synthetic(&["only"], &["one"]);
    bad.bucket_s = 0.0;
    assert!(matches!(run_charts(&bad), Err(ChartError::InvalidResult(_))));
}

#[test]
fn latency_switches_to_log_scale_beyond_two_decades() {
    let result = synthetic(&["shoppers", "browse"], &["checkout", "payment", "catalog"]);
    let (_, svg) = rendered("log", &result);
    // Synthetic p99s range from 4 ms to 2 s: more than two decades.
    assert!(svg.contains("(log scale)"));
}

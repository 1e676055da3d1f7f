//! `report.html` in a real browser: headless Chromium opens each page kind (run, sweep,
//! `sweep --vary`, compare, rollout with one seed and with many), which must load without a script error or a console
//! error, hold its main elements, answer the pointer (hover values, drag to zoom,
//! double-click to zoom out, legend toggles) and paint a screenshot that is not blank.
//!
//! Ignored by a plain `cargo test` (a browser is not a build dependency); `.ci/run`
//! installs Chromium and runs it with `--ignored`, failing if Chromium is missing.
//! The screenshots are kept in `target/report-screenshots/` to look at.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// The Chromium binary: `$STORMCAST_CHROMIUM`, else the first of the usual names on
/// the PATH.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("STORMCAST_CHROMIUM") {
        return PathBuf::from(path);
    }
    let names = ["chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"];
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in names {
            if dir.join(name).is_file() {
                return dir.join(name);
            }
        }
    }
    panic!(
        "no Chromium found (tried {names:?} on the PATH, and $STORMCAST_CHROMIUM): install it, e.g. apt-get install chromium-headless-shell"
    );
}

/// Runs before the page's own script: records script errors and console errors.
const CATCH: &str = "<script>window.__errors=[];addEventListener('error',function(e){__errors.push('error: '+e.message)});\
var __ce=console.error;console.error=function(){__errors.push('console: '+Array.prototype.join.call(arguments,' '));__ce.apply(console,arguments)};</script>";

/// Runs after the page's script: drives the first panel with the pointer and writes
/// what happened, and the errors, into attributes of `<body>` for `--dump-dom`.
const PROBE: &str = r#"<script>(function(){var b=document.body,r={};try{
var panel=document.querySelector('.panel');if(panel){var hit=panel.querySelector('.hit'),box=hit.getBoundingClientRect(),y=box.top+box.height/2;
function ev(t,x){hit.dispatchEvent(new PointerEvent(t,{clientX:box.left+box.width*x,clientY:y,bubbles:true,pointerId:1}));}
ev('pointermove',0.5);var hover=panel.querySelector('.hover');r.hover=!hover.hidden&&hover.textContent.indexOf(' s')>0;
ev('pointerdown',0.2);ev('pointermove',0.45);ev('pointerup',0.45);var zoom=panel.querySelector('.zoom').getAttribute('transform');
r.zoomed=panel.classList.contains('zoomed')&&/scale\((?!1 )/.test(zoom);
hit.dispatchEvent(new MouseEvent('dblclick',{bubbles:true}));r.unzoomed=!panel.classList.contains('zoomed');
var key=panel.querySelector('button.key');key.click();r.toggled=panel.querySelector('.series[data-series="0"]').style.display==='none'&&key.getAttribute('aria-pressed')==='false';}
}catch(e){__errors.push('probe: '+e.message);}b.setAttribute('data-probe',JSON.stringify(r));b.setAttribute('data-errors',JSON.stringify(__errors));})();</script>"#;

fn instrumented(html: &str) -> String {
    let html = html.replacen("<head>", &format!("<head>\n{CATCH}"), 1);
    let at = html.rfind("</body>").expect("a </body>");
    format!("{}{PROBE}\n{}", &html[..at], &html[at..])
}

fn chromium_run(args: &[&str], page: &Path) -> std::process::Output {
    let out = std::process::Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--virtual-time-budget=3000"])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("Chromium starts");
    assert!(out.status.success(), "Chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// The attribute `name` of the first element that has it, as text.
fn attribute<'a>(dom: &'a str, name: &str) -> Option<&'a str> {
    let start = dom.find(&format!("{name}=\""))? + name.len() + 2;
    dom[start..].split('"').next()
}

/// Share of the screenshot's pixels that are not (near) white, and distinct colours.
fn ink(png: &Path) -> (f64, usize) {
    let image = image::open(png).expect("a PNG screenshot").to_rgb8();
    let mut colours = std::collections::BTreeSet::new();
    let mut inked = 0usize;
    for p in image.pixels() {
        colours.insert(p.0);
        if p.0.iter().any(|&c| c < 235) {
            inked += 1;
        }
    }
    (inked as f64 / (image.width() * image.height()) as f64, colours.len())
}

#[test]
#[ignore = "needs Chromium: .ci/run installs it and runs this test with --ignored"]
fn every_report_kind_loads_cleanly_and_renders_in_chromium() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../report-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rollout = ["rollout", "scenarios/canary.toml", "--change", "scenarios/changes/payment-errors.toml"];
    let strategy = ["--strategy", "scenarios/rollouts/strict.toml"];
    let rollout_one = [&rollout[..], &strategy[..]].concat();
    let rollout_seeds = [&rollout[..], &strategy[..], &["--seeds", "4", "-q"][..]].concat();
    let kinds: [(&str, &[&str], &[&str]); 6] = [
        ("run", &["run", "scenarios/checkout.toml"], &["verdict", "topology", "timeseries", "services", "replay"]),
        (
            "sweep",
            &["sweep", "scenarios/retry-storm.toml", "--seeds", "8", "-q"],
            &["verdict", "topology", "timeseries", "fan", "risk", "recovery", "replay"],
        ),
        (
            "vary",
            &["sweep", "scenarios/capacity.toml", "--seeds", "4", "-q", "--vary", "services.api.instances=2..4"],
            &["verdict", "topology", "vary"],
        ),
        (
            "compare",
            &[
                "compare",
                "scenarios/shop.toml",
                "--change",
                "scenarios/changes/extra-replica.toml",
                "--seeds",
                "4",
                "-q",
            ],
            &["verdict", "topology", "timeseries", "fan", "risk", "metrics", "replay"],
        ),
        ("rollout", &rollout_one, &["rollout", "verdict", "topology", "timeseries", "services", "replay"]),
        ("rollout-seeds", &rollout_seeds, &["verdict", "shares", "seeds", "timing", "replay"]),
    ];
    for (kind, args, sections) in kinds {
        let out = dir.path().join(kind);
        let status = Command::new(env!("CARGO_BIN_EXE_stormcast"))
            .current_dir(&root)
            .args(args)
            .args(["--out", out.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(status.status.code().is_some_and(|c| c <= 1), "{kind}: {}", String::from_utf8_lossy(&status.stderr));
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        let page = dir.path().join(format!("{kind}-probe.html"));
        std::fs::write(&page, instrumented(&html)).unwrap();
        let dump = chromium_run(&["--dump-dom"], &page);
        let dom = String::from_utf8_lossy(&dump.stdout);
        assert_eq!(attribute(&dom, "data-kind"), Some(kind));
        assert_eq!(attribute(&dom, "data-ready"), Some("true"), "{kind}: the page's script did not finish");
        assert_eq!(attribute(&dom, "data-errors"), Some("[]"), "{kind}: errors in the page");
        for id in sections {
            assert!(dom.contains(&format!("<section id=\"{id}\">")), "{kind}: no section `{id}`");
        }
        assert!(dom.contains("<svg"), "{kind}: no chart");
        if sections.contains(&"timeseries") {
            let probe = attribute(&dom, "data-probe").unwrap().replace("&quot;", "\"");
            assert_eq!(probe, r#"{"hover":true,"zoomed":true,"unzoomed":true,"toggled":true}"#, "{kind}");
            let ticks = dom.matches("class=\"xtick\"").count();
            assert!(ticks >= 4, "{kind}: the script drew {ticks} time ticks");
        }
        let shot = shots.join(format!("{kind}.png"));
        let page = out.join("report.html");
        chromium_run(&["--window-size=1280,2200", &format!("--screenshot={}", shot.display())], &page);
        let (share, colours) = ink(&shot);
        assert!(
            share > 0.01 && colours > 50,
            "{kind}: the screenshot looks blank ({share:.3} inked, {colours} colours)"
        );
    }
}

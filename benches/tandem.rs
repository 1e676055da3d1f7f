//! Benchmark of a whole tandem run (three M/M/4 stations behind a pass-through, the
//! SimPy baseline's model): the engine, the call path and the metrics.
//!
//! The work is `scenarios/bench/tandem-200k.toml`, the baseline's default (about 200,000
//! requests). Throughput is counted as the issue and the baseline count events: 7 per
//! completed request (one arrival, and a request and a release at each station), so
//! criterion's `elem/s` reads directly against the 15 M events/s target. The engine
//! itself handles fewer (about 4.4 per request: an arrival, a completion per station,
//! and the pass-through's instant work, handled in place).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

fn tandem(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench/tandem-200k.toml");
    let scenario = stormcast::scenario::load_file(&path).expect("scenarios/bench/tandem-200k.toml loads");
    let completed = stormcast::sim::simulate(&scenario, 1).loads[0].ok;
    let mut group = c.benchmark_group("tandem");
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(7 * completed));
    group.bench_function("200k_requests", |b| b.iter(|| stormcast::sim::simulate(black_box(&scenario), 1)));
    group.finish();
}

criterion_group!(benches, tandem);
criterion_main!(benches);

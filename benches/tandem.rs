//! Benchmark of a whole tandem run (three M/M/4 stations behind a pass-through, the
//! SimPy baseline's model): the engine, the call path and the metrics, per event.
//! A shorter run than `scenarios/bench/tandem-200k.toml` (20,000 simulated seconds,
//! about 64,000 requests), to keep `cargo bench` short.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

fn tandem(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/tandem.toml");
    let scenario = stormcast::scenario::load_file(&path).expect("scenarios/tandem.toml loads");
    let events = stormcast::sim::simulate(&scenario, 1).events;
    let mut group = c.benchmark_group("tandem");
    group.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(events));
    group.bench_function("run_20000s", |b| b.iter(|| stormcast::sim::simulate(black_box(&scenario), 1)));
    group.finish();
}

criterion_group!(benches, tandem);
criterion_main!(benches);

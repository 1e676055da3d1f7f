//! Benchmark of a whole run of the SimPy microservice model (frontend, backend, per-try
//! timeout, retries with full-jitter backoff, a 3x spike): timers, retries and the
//! zombie work of timed-out attempts.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

fn microservice(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/microservice.toml");
    let scenario = stormcast::scenario::load_file(&path).expect("scenarios/microservice.toml loads");
    let events = stormcast::sim::simulate(&scenario, 1).events;
    let mut group = c.benchmark_group("microservice");
    group.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(events));
    group.bench_function("run_120s", |b| b.iter(|| stormcast::sim::simulate(black_box(&scenario), 1)));
    group.finish();
}

criterion_group!(benches, microservice);
criterion_main!(benches);

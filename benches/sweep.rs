//! Benchmark of sweep scaling: the same 16 seeds of the retry-storm scenario with one
//! and with two worker threads. The ratio of the two times is the speed-up from a
//! second core (target: at least 1.8x); seeds are independent, so only the sequential
//! fold and the chunk barriers keep it below 2x.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;
use stormcast::sweep::{SweepOptions, run_sweep};

fn sweep(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/retry-storm-budget.toml");
    let scenario = stormcast::scenario::load_file(&path).expect("scenario loads");
    let seeds = 16;
    let mut group = c.benchmark_group("sweep");
    group.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(seeds));
    for jobs in [1usize, 2] {
        let mut opts = SweepOptions::new(seeds, 1);
        opts.jobs = Some(jobs);
        group.bench_function(format!("16_seeds_jobs_{jobs}"), |b| {
            b.iter(|| run_sweep(black_box(&scenario), &opts, &|| ()))
        });
    }
    group.finish();
}

criterion_group!(benches, sweep);
criterion_main!(benches);
